/**
 * Autoregressive rollouts (ginjax ml/training.autoregressive_step / autoregressive_map). The input of
 * a one-step model holds, per key, c·pastSteps dynamic channels (channel-major: c·pastSteps + s,
 * oldest step first) followed by that key's constant fields; the prediction has c channels per
 * dynamic key. One step drops every channel's oldest step, appends the prediction, keeps the
 * constant fields at the end of their key, carries keys with no prediction (entirely constant)
 * over, and appends the prediction to the output, stacked channel-major (c·t + step).
 * Everything is one gather per image, so a rollout is differentiable end to end.
 */
import { argError, check } from '../core/errors.js';
import { MultiImage } from '../geometric/multi-image.js';
import { blockOffsets, keyName, signature, signatureToString, type SignatureEntry, type SignatureLike } from '../geometric/signature.js';
import { concat } from '../ops/concat.js';
import { selectColumns } from '../ops/gather.js';
import type { Module, Params } from '../nn/module.js';
import { State, type LayerCallOptions } from '../nn/layers/common.js';
import { tidy } from '../tensor.js';

/** Constant channels per key: {"k,parity": n} (ginjax's constant_fields dict) or signature entries. */
export type ConstantFields = Readonly<Record<string, number>> | SignatureLike;

function constantCounts(fn: string, c: ConstantFields | undefined): Map<string, number> {
  const out = new Map<string, number>();
  if (!c) return out;
  if (Array.isArray(c)) {
    for (const e of c as SignatureLike) {
      const [k, p, n] = Array.isArray(e) ? [e[0][0], e[0][1], e[1]] : [(e as SignatureEntry).k, (e as SignatureEntry).parity, (e as SignatureEntry).channels];
      out.set(keyName(k, p), n);
    }
  } else {
    for (const [name, n] of Object.entries(c as Record<string, number>)) {
      const m = /^\s*(\d+)\s*,\s*(\d+)\s*$/.exec(name);
      if (!m) argError(fn, 'constantFields key', '"k,parity", e.g. "0,0"', name);
      out.set(keyName(Number(m[1]), Number(m[2])), n);
    }
  }
  for (const [name, n] of out) check(Number.isInteger(n) && n >= 0, fn, `constantFields["${name}"]`, 'an integer >= 0', n);
  return out;
}

/**
 * One autoregressive step. `input`: the model's last input; `prediction`: its output (c channels
 * per dynamic key); `output`: the predictions so far (c·t channels per key) or null. Returns the next
 * input (same signature as `input`) and the output grown by one step (c·(t+1) channels per key).
 * Only futureSteps = 1 is supported, as in ginjax.
 * @example
 * // one-step model on 2 past steps of 1 vector channel
 * let input = x;
 * let output: MultiImage | null = null;
 * for (let s = 0; s < 3; s++) {
 *   const next = autoregressiveStep(input, model.apply(params, input), output, 2);
 *   if (input !== x) input.dispose();
 *   output?.dispose();
 *   ({ input, output } = next);
 * }
 */
export function autoregressiveStep(
  input: MultiImage,
  prediction: MultiImage,
  output: MultiImage | null,
  pastSteps: number,
  constantFields?: ConstantFields,
  futureSteps = 1,
): { input: MultiImage; output: MultiImage } {
  const fn = 'autoregressiveStep';
  check(futureSteps === 1, fn, 'futureSteps', '1 (as in ginjax)', futureSteps);
  check(Number.isInteger(pastSteps) && pastSteps >= 1, fn, 'pastSteps', 'an integer >= 1', pastSteps);
  check(input instanceof MultiImage && prediction instanceof MultiImage, fn, 'input and prediction', 'MultiImages', [input, prediction]);
  check(
    prediction.D === input.D && prediction.batch === input.batch,
    fn,
    'prediction',
    `of input's D ${input.D} and batch ${input.batch}`,
    `D ${prediction.D}, batch ${prediction.batch}`,
  );
  const consts = constantCounts(fn, constantFields);
  const D = input.D;
  const Win = input.width;
  const inOff = blockOffsets(input.signature, D);
  const pOff = blockOffsets(prediction.signature, D);

  const inCols: number[] = [];
  input.signature.forEach((e, i) => {
    const T = D ** e.k;
    const pi = prediction.signature.findIndex((p) => p.k === e.k && p.parity === e.parity);
    const nConst = consts.get(keyName(e.k, e.parity)) ?? 0;
    if (pi < 0) {
      // entirely constant: carried over
      for (let j = 0; j < e.channels * T; j++) inCols.push(inOff[i]! + j);
      return;
    }
    const c = prediction.signature[pi]!.channels;
    if (e.channels !== c * pastSteps + nConst) {
      argError(
        fn,
        `input channels of key (${e.k},${e.parity})`,
        `prediction channels × pastSteps + constant fields = ${c}·${pastSteps} + ${nConst}`,
        e.channels,
      );
    }
    for (let ch = 0; ch < c; ch++) {
      for (let s = 0; s < pastSteps; s++) {
        for (let j = 0; j < T; j++) {
          inCols.push(s < pastSteps - 1 ? inOff[i]! + (ch * pastSteps + s + 1) * T + j : Win + pOff[pi]! + ch * T + j);
        }
      }
    }
    for (let q = 0; q < nConst; q++) for (let j = 0; j < T; j++) inCols.push(inOff[i]! + (c * pastSteps + q) * T + j);
  });
  for (const p of prediction.signature) {
    if (!input.has(p.k, p.parity))
      argError(
        fn,
        `prediction key (${p.k},${p.parity})`,
        `one of the input's keys ${signatureToString(input.signature)}`,
        signatureToString(prediction.signature),
      );
  }

  return tidy(() => {
    const nextInput = new MultiImage(selectColumns(concat([input.data, prediction.data], D + 1), inCols), input.signature, D, input.isTorus);
    if (!output)
      return { input: nextInput, output: new MultiImage(prediction.data.reshape(prediction.data.shape), prediction.signature, D, prediction.isTorus) };
    check(output.D === D && output.batch === input.batch, fn, 'output', `of D ${D} and batch ${input.batch}`, `D ${output.D}, batch ${output.batch}`);
    const Wout = output.width;
    const oOff = blockOffsets(output.signature, D);
    const outCols: number[] = [];
    const sig: SignatureEntry[] = prediction.signature.map((p, pi) => {
      const T = D ** p.k;
      const oi = output.signature.findIndex((e) => e.k === p.k && e.parity === p.parity);
      if (oi < 0 || output.signature[oi]!.channels % p.channels !== 0) {
        argError(
          fn,
          `output key (${p.k},${p.parity})`,
          `present with a multiple of the prediction's ${p.channels} channels`,
          signatureToString(output.signature),
        );
      }
      const t = output.signature[oi]!.channels / p.channels;
      for (let ch = 0; ch < p.channels; ch++) {
        for (let s = 0; s <= t; s++) {
          for (let j = 0; j < T; j++) outCols.push(s < t ? oOff[oi]! + (ch * t + s) * T + j : Wout + pOff[pi]! + ch * T + j);
        }
      }
      return { k: p.k, parity: p.parity, channels: p.channels * (t + 1) };
    });
    if (output.signature.length !== prediction.signature.length) {
      argError(fn, 'output keys', `the prediction's keys ${signatureToString(prediction.signature)}`, signatureToString(output.signature));
    }
    const grown = new MultiImage(selectColumns(concat([output.data, prediction.data], D + 1), outCols), sig, D, output.isTorus);
    return { input: nextInput, output: grown };
  });
}

/**
 * The newest of the pastSteps input steps of every key of `output` (c channels each): what
 * persistence predicts, and what a residual emulator adds its output to.
 * @example
 * // persistence baseline: predict the newest of the 4 past steps of every vector channel
 * const persistence = lastInputStep(x, [[[1, 0], 1]], 4);
 */
export function lastInputStep(input: MultiImage, output: SignatureLike, pastSteps: number): MultiImage {
  const fn = 'lastInputStep';
  check(Number.isInteger(pastSteps) && pastSteps >= 1, fn, 'pastSteps', 'an integer >= 1', pastSteps);
  const sig = signature(output);
  const offsets = blockOffsets(input.signature, input.D);
  const cols: number[] = [];
  for (const e of sig) {
    const i = input.signature.findIndex((f) => f.k === e.k && f.parity === e.parity);
    if (i < 0 || input.signature[i]!.channels < e.channels * pastSteps) {
      argError(
        fn,
        `input key (${e.k},${e.parity})`,
        `present with at least ${e.channels}·${pastSteps} channels (c·pastSteps past steps)`,
        signatureToString(input.signature),
      );
    }
    const T = input.D ** e.k;
    for (let ch = 0; ch < e.channels; ch++) for (let j = 0; j < T; j++) cols.push(offsets[i]! + (ch * pastSteps + pastSteps - 1) * T + j);
  }
  return new MultiImage(selectColumns(input.data, cols), sig, input.D, input.isTorus);
}

/** Options of the autoregressive (rollout) losses: steps, past steps, weights. */
export interface AutoregressiveOptions {
  readonly pastSteps?: number;
  /** Number of rollout steps (default 1). */
  readonly futureSteps?: number;
  readonly constantFields?: ConstantFields;
  /** Passed to model.apply (default inference: { training: false }). */
  readonly training?: boolean;
  /**
   * Batch-norm running statistics, passed to every model.apply of the rollout. In inference (the
   * default) batch norms read their statistics from it; without it they fall back to their initial
   * statistics (mean 0, variance 1), which is wrong for any trained baseline with batch norm.
   * With `training: true` every step updates it, as a training step would.
   */
  readonly state?: State;
}

/**
 * ginjax autoregressive_map: `futureSteps` rollout steps of the one-step `model` from `x`; returns the
 * predictions stacked channel-major (c·futureSteps + step per key). `x` stays alive. The same call
 * options (training flag, `state`) reach every step, like ginjax's aux_data (batch stats).
 * @example
 * const rollout = autoregressiveMap(model, params, x, { pastSteps: 4, futureSteps: 10 });
 * const perStep = timestepSmseLoss(rollout, y, 10); // y: the 10 true next steps
 */
export function autoregressiveMap(
  model: Module,
  params: Params,
  x: MultiImage,
  { pastSteps = 1, futureSteps = 1, constantFields, training = false, state }: AutoregressiveOptions = {},
): MultiImage {
  const fn = 'autoregressiveMap';
  check(Number.isInteger(futureSteps) && futureSteps >= 1, fn, 'futureSteps', 'an integer >= 1', futureSteps);
  check(x instanceof MultiImage, fn, 'x', 'a MultiImage', x);
  check(state === undefined || state instanceof State, fn, 'state', 'a State (batch-norm statistics) or undefined', state);
  const options: LayerCallOptions = state ? { training, state } : { training };
  let input = x;
  let output: MultiImage | null = null;
  for (let s = 0; s < futureSteps; s++) {
    const r: { input: MultiImage; output: MultiImage } = tidy(() =>
      autoregressiveStep(input, model.apply(params, input, options), output, pastSteps, constantFields),
    );
    if (input !== x) input.dispose();
    output?.dispose();
    input = r.input;
    output = r.output;
  }
  if (input !== x) input.dispose();
  return output!;
}
