/**
 * Rollout evaluation (ginjax map_plus_loss_in_batches with a future-steps map_and_loss and
 * timestep_smse_loss, as its cfd_2d / shallow_water scripts evaluate emulators): autoregressive
 * rollouts of a one-step model in batches, the per-step SMSE against the true future, and
 * optionally the predictions themselves (for pictures and spectra).
 */
import { check } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { MultiImage } from '../geometric/multi-image.js';
import { signatureToString } from '../geometric/signature.js';
import { State } from '../nn/layers/common.js';
import type { Module, Params } from '../nn/module.js';
import { concat } from '../ops/concat.js';
import { tidy, type Tensor } from '../tensor.js';
import { autoregressiveMap, type ConstantFields } from '../train/autoregressive.js';
import { timestepSmseLoss } from '../train/losses.js';

/** Options of `rolloutLoss`: steps, batch size, loss, the model's past-step count. */
export interface RolloutOptions {
  /** Past steps in the model's input (per key, c·pastSteps dynamic channels). */
  readonly pastSteps: number;
  /** Rollout length: yFuture holds c·steps channels per key (channel-major c·steps + t). */
  readonly steps: number;
  readonly constantFields?: ConstantFields;
  /** Batch-norm running statistics for inference (see autoregressiveMap). */
  readonly state?: State;
  /** Samples per batch (bounds memory; default min(16, samples)). */
  readonly batchSize?: number;
  /**
   * Drop the last incomplete batch and average the batch means, as ginjax does (default false: every
   * sample counts once, so the result is the mean over all samples whatever the batch size).
   */
  readonly dropRemainder?: boolean;
  /** Also return the predictions (c·steps channels per key, in sample order). Default false. */
  readonly keepPredictions?: boolean;
}

/** What `rolloutLoss` returns: the loss per step and the predictions when asked for. */
export interface RolloutResult {
  /** SMSE of each rollout step, mean over the samples (ginjax timestep_smse_loss, reduce "mean"). */
  readonly perStep: number[];
  /** Σ over the steps (what ginjax's scripts print as "Sum"). */
  readonly sum: number;
  /** Samples evaluated. */
  readonly samples: number;
  /** The predictions, when keepPredictions was set (the caller disposes them). */
  readonly predictions?: MultiImage;
}

/**
 * Rolls the one-step `model` out for `steps` steps from every sample of `x` (in batches, inference
 * mode) and scores each step against `yFuture` with the step-wise SMSE: for sample b and step t,
 * Σ_keys Σ_(channels, pixels, components) (pred − truth)² / Π spatial. Build x and yFuture with
 * `batchTimeSeries(…, { pastSteps, futureSteps: steps })`. Leaks nothing; `x`, `yFuture` and `state`
 * stay alive.
 * @example
 * const { x, y } = batchTimeSeries(test.dynamic, test.constant, { totalSteps: test.totalSteps, pastSteps: 4, futureSteps: 10 });
 * const { perStep, sum } = await rolloutLoss(model, params, x, y, { pastSteps: 4, steps: 10 });
 */
export async function rolloutLoss(model: Module, params: Params, x: MultiImage, yFuture: MultiImage, o: RolloutOptions): Promise<RolloutResult> {
  const fn = 'rolloutLoss';
  check(model !== null && typeof model === 'object' && typeof (model as Module).apply === 'function', fn, 'model', 'a Module', model);
  check(x instanceof MultiImage, fn, 'x', 'a MultiImage', x);
  check(yFuture instanceof MultiImage, fn, 'yFuture', 'a MultiImage', yFuture);
  check(o !== null && typeof o === 'object', fn, 'options', '{ pastSteps, steps, … }', o);
  const { pastSteps, steps, constantFields, state, dropRemainder = false, keepPredictions = false } = o;
  check(Number.isInteger(pastSteps) && pastSteps >= 1, fn, 'pastSteps', 'an integer >= 1', pastSteps);
  check(Number.isInteger(steps) && steps >= 1, fn, 'steps', 'an integer >= 1', steps);
  check(state === undefined || state instanceof State, fn, 'state', 'a State or undefined', state);
  check(yFuture.batch === x.batch, fn, 'yFuture batch', `x's batch ${x.batch} (one future per sample)`, yFuture.batch);
  check(yFuture.D === x.D && sameShape(yFuture.spatial, x.spatial), fn, 'yFuture spatial shape', `x's [${x.spatial}]`, yFuture.spatial);
  for (const e of yFuture.signature) {
    check(e.channels % steps === 0, fn, `yFuture channels of key (${e.k},${e.parity})`, `a multiple of steps = ${steps} (c·steps, channel-major)`, e.channels);
  }
  const n = x.batch;
  const batchSize = o.batchSize ?? Math.min(16, n);
  check(Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= n, fn, 'batchSize', `an integer in [1, ${n}] (the number of samples)`, batchSize);
  const nBatches = dropRemainder ? Math.floor(n / batchSize) : Math.ceil(n / batchSize);

  const totals = new Float64Array(steps);
  let samples = 0;
  const outputs: MultiImage[] = [];
  try {
    for (let b = 0; b < nBatches; b++) {
      const idx = Array.from({ length: Math.min(batchSize, n - b * batchSize) }, (_, i) => b * batchSize + i);
      const r: { loss: Tensor; pred: MultiImage | null } = tidy(() => {
        const xb = x.getSubset(idx);
        const yb = yFuture.getSubset(idx);
        const pred = autoregressiveMap(model, params, xb, { pastSteps, futureSteps: steps, constantFields, state });
        const got = signatureToString(pred.signature);
        check(
          got === signatureToString(yb.signature),
          fn,
          'yFuture signature',
          `the rollout's ${got} (the model's output keys, c·steps channels each)`,
          signatureToString(yb.signature),
        );
        const loss = timestepSmseLoss(pred, yb, steps, null); // [batch, steps]
        return { loss, pred: keepPredictions ? pred : null };
      });
      if (r.pred) outputs.push(r.pred);
      const v = await r.loss.data();
      r.loss.dispose();
      // ginjax (dropRemainder) averages batch means; otherwise sum per sample and divide once.
      for (let i = 0; i < idx.length; i++) for (let t = 0; t < steps; t++) totals[t]! += dropRemainder ? v[i * steps + t]! / idx.length : v[i * steps + t]!;
      samples += idx.length;
    }
  } catch (e) {
    outputs.forEach((m) => m.dispose());
    throw e;
  }
  const denom = dropRemainder ? nBatches : samples;
  const perStep = Array.from(totals, (s) => s / denom);
  const result: RolloutResult = { perStep, sum: perStep.reduce((a, b) => a + b, 0), samples };
  if (!keepPredictions) return result;
  const predictions = tidy(() => {
    const first = outputs[0]!;
    const data =
      outputs.length === 1
        ? first.data.reshape(first.data.shape)
        : concat(
            outputs.map((m) => m.data),
            0,
          );
    return new MultiImage(data, first.signature, first.D, first.isTorus);
  });
  outputs.forEach((m) => m.dispose());
  return { ...result, predictions };
}
