/**
 * The training loop (ginjax ml/training.train and friends). One step = valueAndGrad of the loss +
 * optimizer.update + applyUpdates, inside `tidy`; the previous parameters and optimizer state are
 * disposed right after, so a step leaks nothing. Batches are random (a fresh subkey per epoch),
 * the remainder is dropped. Loss values are read from the device once per epoch (and per batch
 * only when a callback or the progress bar needs them).
 *
 * Cooperation: the loop is async but its steps are synchronous work, so it hands the thread back to
 * the event loop between batches (`yieldEvery`, default every ~20 ms of work) — a page stays
 * responsive and timers keep firing — and it checks `signal` between batches, so an abort stops it
 * within one batch.
 */
import { valueAndGrad } from '../autodiff.js';
import { check } from '../core/errors.js';
import { split, type Key } from '../core/random.js';
import { MultiImage } from '../geometric/multi-image.js';
import type { CallOptions, Module, Params } from '../nn/module.js';
import type { State } from '../nn/layers/common.js';
import { add, scale } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { tidy, type Tensor } from '../tensor.js';
import { batchIndices } from './data.js';
import { smseLoss } from './losses.js';
import { applyUpdates, type GradientTransformation, type OptState } from './optim.js';
import type { StopCondition } from './stopping.js';
import { copyTree, disposeReplaced, disposeTree } from './tree.js';

/** A loss of the model on one batch: a scalar Tensor (or a vector, for evaluation only). */
export type LossFn = (model: Module, params: Params, x: MultiImage, y: MultiImage, options: CallOptions) => Tensor;
/** A loss that also returns the model's output (for mapPlusLossInBatches). */
export type MapAndLossFn = (model: Module, params: Params, x: MultiImage, y: MultiImage, options: CallOptions) => { loss: Tensor; output: MultiImage };

/**
 * smse of model.apply(params, x) against y (ginjax's usual map_and_loss).
 * @example
 * const { loss, output } = mapPlusLossInBatches(model, params, x, y, { batchSize: 8, mapAndLoss: smseMapAndLoss });
 */
export const smseMapAndLoss: MapAndLossFn = (model, params, x, y, options) => {
  const output = model.apply(params, x, options);
  return { loss: tidy(() => smseLoss(output, y)), output };
};

/**
 * The default loss: smseLoss(model.apply(params, x), y).
 * @example
 * const step = makeTrainStep(model, optim.adam({ learningRate: 1e-3 }), defaultLoss); // the default anyway
 */
export const defaultLoss: LossFn = (model, params, x, y, options) => tidy(() => smseLoss(model.apply(params, x, options), y));

/** What a training step returns: the loss, new parameters and optimizer state. */
export interface TrainStepResult {
  readonly loss: Tensor;
  readonly params: Params;
  readonly optState: OptState;
}

/**
 * A training step function: (params, optState, x, y) → the batch loss and the NEW params and state
 * (all fresh tensors; the inputs stay alive — dispose them when no longer needed).
 * @example
 * const opt = optim.adam({ learningRate: 1e-3 });
 * const step = makeTrainStep(model, opt);
 * let params = copyTree(model.params);
 * let optState = opt.init(params);
 * const r = step(params, optState, x, y); // params, optState, x and y stay alive
 * disposeTree(params); disposeTree(optState);
 * ({ params, optState } = r);
 * console.log(await r.loss.values());
 */
export function makeTrainStep(model: Module, optimizer: GradientTransformation, loss: LossFn = defaultLoss, state?: State) {
  const options: CallOptions & { state?: State } = state ? { training: true, state } : { training: true };
  const vg = valueAndGrad((p: Params, x: MultiImage, y: MultiImage) => loss(model, p, x, y, options));
  return (params: Params, optState: OptState, x: MultiImage, y: MultiImage): TrainStepResult =>
    tidy(() => {
      const { value, grads } = vg(params, x, y);
      const { updates, state } = optimizer.update(grads, optState, params);
      return { loss: value, params: applyUpdates(params, updates), optState: state };
    });
}

function checkXY(fn: string, x: MultiImage, y: MultiImage, what: string): void {
  check(x instanceof MultiImage, fn, what === 'train' ? 'x' : 'valX', 'a MultiImage', x);
  check(y instanceof MultiImage, fn, what === 'train' ? 'y' : 'valY', 'a MultiImage', y);
  check(x.batch === y.batch, fn, what === 'train' ? 'y.batch' : 'valY.batch', `the number of samples of x (${x.batch})`, y.batch);
}

/** Options of `mapLossInBatches`: batch size, shuffle key, state. */
export interface BatchesOptions {
  readonly batchSize: number;
  /** Random batch order (null: in order). Either way the remainder is dropped. */
  readonly key?: Key | null;
  /** Batch-norm running statistics to read (inference mode). */
  readonly state?: State;
}

const inference = (state?: State): CallOptions & { state?: State } => (state ? { training: false, state } : { training: false });

/**
 * ginjax map_loss_in_batches: the mean over batches of the loss in inference mode (works for vector
 * losses too, e.g. per-step rollout losses). The remainder is dropped.
 * @example
 * const loss = mapLossInBatches(model, model.params, x, y, { batchSize: 16 });
 * console.log(await loss.values());
 * loss.dispose();
 */
export function mapLossInBatches(
  model: Module,
  params: Params,
  x: MultiImage,
  y: MultiImage,
  { batchSize, key = null, loss = defaultLoss, state }: BatchesOptions & { loss?: LossFn },
): Tensor {
  checkXY('mapLossInBatches', x, y, 'train');
  const batches = batchIndices(x.batch, batchSize, key);
  let total: Tensor | null = null;
  for (const idx of batches) {
    const next: Tensor = tidy(() => {
      const xb = x.getSubset(idx);
      const yb = y.getSubset(idx);
      const l = loss(model, params, xb, yb, inference(state));
      return total ? add(total, l) : l.reshape(l.shape);
    });
    total?.dispose();
    total = next;
  }
  const mean = scale(total!, 1 / batches.length);
  total!.dispose();
  return mean;
}

/**
 * ginjax map_plus_loss_in_batches: the mean batch loss and the model's outputs concatenated along
 * the batch (in batch order: permuted when a key is given; the remainder is dropped).
 * @example
 * const { loss, output } = mapPlusLossInBatches(model, model.params, x, y, { batchSize: 16 });
 * // output: the predictions, batch 16·floor(x.batch / 16), in order (no key)
 * loss.dispose(); output.dispose();
 */
export function mapPlusLossInBatches(
  model: Module,
  params: Params,
  x: MultiImage,
  y: MultiImage,
  { batchSize, key = null, mapAndLoss = smseMapAndLoss, state }: BatchesOptions & { mapAndLoss?: MapAndLossFn },
): { loss: Tensor; output: MultiImage } {
  checkXY('mapPlusLossInBatches', x, y, 'train');
  const batches = batchIndices(x.batch, batchSize, key);
  let total: Tensor | null = null;
  const outputs: MultiImage[] = [];
  for (const idx of batches) {
    const r: { total: Tensor; output: MultiImage } = tidy(() => {
      const { loss, output } = mapAndLoss(model, params, x.getSubset(idx), y.getSubset(idx), inference(state));
      return { total: total ? add(total, loss) : loss.reshape(loss.shape), output };
    });
    total?.dispose();
    total = r.total;
    outputs.push(r.output);
  }
  return tidy(() => {
    const loss = scale(total!, 1 / batches.length);
    const first = outputs[0]!;
    const data =
      outputs.length === 1
        ? first.data.reshape(first.data.shape)
        : concat(
            outputs.map((o) => o.data),
            0,
          );
    const output = new MultiImage(data, first.signature, first.D, first.isTorus);
    total!.dispose();
    outputs.forEach((o) => o.dispose());
    return { loss, output };
  });
}

/**
 * The loss on the whole set in inference mode (ginjax evaluate), optionally in batches of `batchSize`.
 * @example
 * const test = evaluate(model, result.params, testX, testY, { batchSize: 32 });
 * console.log('test loss', (await test.values())[0]);
 * test.dispose();
 */
export function evaluate(
  model: Module,
  params: Params,
  x: MultiImage,
  y: MultiImage,
  { loss = defaultLoss, batchSize, state }: { loss?: LossFn; batchSize?: number; state?: State } = {},
): Tensor {
  checkXY('evaluate', x, y, 'train');
  if (batchSize !== undefined) return mapLossInBatches(model, params, x, y, { batchSize, loss, state });
  return tidy(() => loss(model, params, x, y, inference(state)));
}

// ---------------------------------------------------------------------------------------------
// Progress bar.

/** Where the progress bar writes: process.stderr, or anything with write(). */
export interface ProgressStream {
  write(text: string): unknown;
  readonly isTTY?: boolean;
  readonly columns?: number;
}

function defaultStream(): ProgressStream {
  const proc = (globalThis as { process?: { stderr?: ProgressStream } }).process;
  if (proc?.stderr && typeof proc.stderr.write === 'function') return proc.stderr;
  return { write: (text: string) => console.log(text.replace(/\n$/, '')), isTTY: false };
}

const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

function duration(s: number): string {
  if (!Number.isFinite(s) || s < 0) return '?';
  const t = Math.round(s);
  const h = Math.floor(t / 3600);
  const m = Math.floor((t % 3600) / 60);
  const sec = String(t % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${sec}` : `${m}:${sec}`;
}

const num = (v: number | null | undefined) =>
  v === null || v === undefined ? '—' : Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? v.toPrecision(4) : v.toExponential(3);

/**
 * One-line progress: `\r`-updated on a TTY, otherwise one line per epoch.
 * @example
 * const bar = new ProgressBar(process.stderr, 100); // what train({ progress: true }) uses
 */
export class ProgressBar {
  readonly #stream: ProgressStream;
  readonly #tty: boolean;
  #start = clock();
  #lastDraw = 0;
  #images = 0;
  #steps = 0;
  #open = false;

  constructor(
    stream: ProgressStream,
    readonly maxEpochs?: number,
  ) {
    this.#stream = stream;
    this.#tty = !!stream.isTTY;
  }

  get tty(): boolean {
    return this.#tty;
  }

  /** True when a TTY redraw is due (so that the caller reads the batch loss only then). */
  due(): boolean {
    return this.#tty && clock() - this.#lastDraw >= 0.1;
  }

  #line(epoch: number, batch: number, batches: number, loss: number | null, val?: number | null): string {
    const elapsed = clock() - this.#start;
    const rate = elapsed > 0 ? this.#images / elapsed : 0;
    const stepTime = this.#steps > 0 ? elapsed / this.#steps : NaN;
    const remaining = batches - batch + (this.maxEpochs !== undefined ? Math.max(0, this.maxEpochs - epoch) * batches : 0);
    const parts = [`epoch ${epoch}${this.maxEpochs !== undefined ? `/${this.maxEpochs}` : ''}`, `batch ${batch}/${batches}`, `loss ${num(loss)}`];
    if (val !== undefined && val !== null) parts.push(`val ${num(val)}`);
    parts.push(
      `${rate >= 100 ? Math.round(rate) : rate.toFixed(1)} img/s`,
      `ETA ${duration(remaining * stepTime)}${this.maxEpochs === undefined ? ' (epoch)' : ''}`,
    );
    return parts.join(' · ');
  }

  /** After a batch of `images` samples. */
  batch(epoch: number, batch: number, batches: number, images: number, loss: number | null): void {
    this.#images += images;
    this.#steps++;
    if (!this.#tty || !(clock() - this.#lastDraw >= 0.1 || batch === batches)) return;
    this.#lastDraw = clock();
    this.#draw(this.#line(epoch, batch, batches, loss));
  }

  #draw(text: string): void {
    const width = this.#stream.columns;
    const clipped = width && text.length >= width ? text.slice(0, width - 1) : text;
    this.#stream.write(`\r${clipped}\x1b[K`);
    this.#open = true;
  }

  /** After an epoch: a line of its own when not a TTY. */
  epoch(epoch: number, batches: number, loss: number, val: number | null): void {
    const text = this.#line(epoch, batches, batches, loss, val);
    if (this.#tty) this.#draw(text);
    else this.#stream.write(`${text}\n`);
  }

  finish(): void {
    if (this.#tty && this.#open) this.#stream.write('\n');
    this.#open = false;
  }
}

// ---------------------------------------------------------------------------------------------
// train.

/** Reported after every batch of `train` (the `onBatch` callback). */
export interface BatchInfo {
  readonly epoch: number;
  readonly batch: number;
  readonly batches: number;
  readonly step: number;
  readonly loss: number;
}

/** Reported after every epoch of `train` (the `onEpoch` callback). */
export interface EpochInfo {
  readonly epoch: number;
  readonly trainLoss: number;
  readonly valLoss: number | null;
  readonly seconds: number;
  readonly step: number;
  /** The current parameters (alive until the next step; copy with copyTree to keep them). */
  readonly params: Params;
}

/**
 * Options of `train`: epochs, batch size, optimizer, loss, stop condition, callbacks, yielding and an AbortSignal.
 */
export interface TrainOptions {
  readonly model: Module;
  /** Initial parameters (default model.params); never disposed by train. */
  readonly params?: Params;
  readonly x: MultiImage;
  readonly y: MultiImage;
  readonly valX?: MultiImage;
  readonly valY?: MultiImage;
  readonly loss?: LossFn;
  readonly optimizer: GradientTransformation;
  /** Optimizer state to resume from (default optimizer.init(params)); never disposed by train. */
  readonly optState?: OptState;
  /** Steps already taken (resume; reported in the result). */
  readonly step?: number;
  readonly batchSize: number;
  /** Validation batch size (default min(batchSize, number of validation samples)). */
  readonly valBatchSize?: number;
  readonly key: Key;
  readonly stop: StopCondition;
  readonly onBatchEnd?: (info: BatchInfo) => void | Promise<void>;
  readonly onEpochEnd?: (info: EpochInfo) => void | Promise<void>;
  /** A progress bar on process.stderr (true) or on the given stream. */
  readonly progress?: boolean | ProgressStream;
  /** Batch-norm running statistics: updated by training steps, read by validation (see nn State). */
  readonly state?: State;
  /**
   * Yield to the event loop once this many milliseconds of work have passed since the last yield,
   * checked between batches (default 20; 0: after every batch; Infinity: never — the whole run then
   * blocks its thread, as before).
   */
  readonly yieldEvery?: number;
  /**
   * Stops training between batches (checked before the first batch and after every batch and
   * validation): every tensor train made is disposed and the returned promise rejects with
   * `signal.reason` (a DOMException named "AbortError" unless `abort(reason)` gave another).
   */
  readonly signal?: AbortSignal;
}

/** What `train` returns: the kept parameters, the optimizer state, step, key and loss history. */
export interface TrainResult {
  /** The stop condition's best parameters (the caller owns them). */
  readonly params: Params;
  /** The optimizer state after the last step (the caller owns it; resume from it with the last params, i.e. with EpochStop). */
  readonly optState: OptState;
  /** Total optimizer steps (including options.step). */
  readonly step: number;
  /** The PRNG key after the last epoch: pass it as `key` to resume with the batches an uninterrupted run would draw. */
  readonly key: Key;
  /** The last epoch's mean batch loss (null if no epoch ran). */
  readonly trainLoss: number | null;
  readonly valLoss: number | null;
  /** Epochs run. */
  readonly epochs: number;
  readonly history: { readonly trainLoss: number[]; readonly valLoss: (number | null)[]; readonly seconds: number[] };
}

/** Hands the thread back to the event loop (timers, rendering, messages) and resumes as soon as possible. */
export function yieldToEventLoop(): Promise<void> {
  const g = globalThis as {
    scheduler?: { yield?: () => Promise<void> };
    setImmediate?: (fn: () => void) => unknown;
    MessageChannel?: typeof MessageChannel;
  };
  // scheduler.yield (Chromium) keeps the task's priority; setImmediate (Node, Deno) runs after
  // timers and I/O; a MessageChannel message avoids setTimeout's 4 ms clamp in other browsers.
  if (typeof g.scheduler?.yield === 'function') return g.scheduler.yield();
  if (typeof g.setImmediate === 'function') return new Promise((resolve) => g.setImmediate!(resolve));
  if (typeof g.MessageChannel === 'function') {
    return new Promise((resolve) => {
      const ch = new g.MessageChannel!();
      ch.port1.onmessage = () => {
        ch.port1.close();
        resolve();
      };
      ch.port2.postMessage(null);
    });
  }
  return new Promise((resolve) => setTimeout(resolve, 0));
}

/** The error an aborted signal stands for (its reason, or an AbortError where the engine gives none). */
function abortError(signal: AbortSignal): unknown {
  if (signal.reason !== undefined) return signal.reason;
  const e = new Error('train: aborted');
  e.name = 'AbortError';
  return e;
}

async function scalarValue(t: Tensor): Promise<number> {
  const v = await t.data();
  if (v.length === 1) return v[0]!;
  let s = 0;
  for (const x of v) s += x;
  return s / v.length;
}

/**
 * ginjax train: epochs of random batches until `stop` says so. Validation (if valX/valY are given)
 * uses mapLossInBatches with the epoch's subkey. Returns the stop condition's best parameters.
 * @example
 * const model = new UNet({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], depth: 8 }, random.key(0));
 * const result = await train({
 *   model, x, y, valX, valY, batchSize: 8, key: random.key(1),
 *   optimizer: optim.adam({ learningRate: 1e-3 }), stop: new ValLoss(5),
 *   progress: true,
 * });
 * console.log(result.history.valLoss);
 * disposeTree(result.params); disposeTree(result.optState);
 */
export async function train(o: TrainOptions): Promise<TrainResult> {
  const fn = 'train';
  const { model, x, y, valX, valY, optimizer, stop, batchSize, key } = o;
  check(model !== null && typeof model === 'object' && typeof model.apply === 'function', fn, 'model', 'a Module', model);
  checkXY(fn, x, y, 'train');
  check(optimizer !== null && typeof optimizer?.update === 'function', fn, 'optimizer', 'a GradientTransformation ({ init, update })', optimizer);
  check(stop !== null && typeof stop?.stop === 'function', fn, 'stop', 'a StopCondition (EpochStop, TrainLoss, ValLoss)', stop);
  check(
    Number.isInteger(batchSize) && batchSize >= 1 && batchSize <= x.batch,
    fn,
    'batchSize',
    `an integer in [1, ${x.batch}] (the number of samples)`,
    batchSize,
  );
  if ((valX === undefined) !== (valY === undefined)) throw new RangeError('train: give both valX and valY, or neither');
  if (valX && valY) checkXY(fn, valX, valY, 'val');
  if (stop.requiresValidation && !valX) {
    throw new RangeError('train: the stop condition (ValLoss) needs validation data: pass valX and valY, or use TrainLoss/EpochStop');
  }
  const yieldEvery = o.yieldEvery ?? 20;
  check(
    typeof yieldEvery === 'number' && yieldEvery >= 0 && !Number.isNaN(yieldEvery),
    fn,
    'yieldEvery',
    'a number of milliseconds >= 0 (0: every batch; Infinity: never)',
    yieldEvery,
  );
  const signal = o.signal;
  check(signal === undefined || (signal !== null && typeof signal === 'object' && typeof signal.aborted === 'boolean'), fn, 'signal', 'an AbortSignal', signal);
  if (signal?.aborted) throw abortError(signal);
  const valBatchSize = valX ? (o.valBatchSize ?? Math.min(batchSize, valX.batch)) : 0;
  // Checked now, not after the first epoch: a validation batch larger than the set leaves no batch.
  if (valX)
    check(
      Number.isInteger(valBatchSize) && valBatchSize >= 1 && valBatchSize <= valX.batch,
      fn,
      'valBatchSize',
      `an integer in [1, ${valX.batch}] (the number of validation samples; the remainder is dropped, so a larger batch leaves none)`,
      valBatchSize,
    );
  const loss = o.loss ?? defaultLoss;
  const trainStep = makeTrainStep(model, optimizer, loss, o.state);

  let params = copyTree(o.params ?? model.params);
  let optState: OptState = o.optState !== undefined ? copyTree(o.optState) : optimizer.init(params);
  let step = o.step ?? 0;
  let rngKey = key;
  let epoch = 0;
  let trainLoss: number | null = null;
  let valLoss: number | null = null;
  let seconds: number | undefined;
  const history = { trainLoss: [] as number[], valLoss: [] as (number | null)[], seconds: [] as number[] };
  const stream = o.progress === true ? defaultStream() : o.progress || null;
  const bar = stream ? new ProgressBar(stream, stop.maxEpochs) : null;

  let sum: Tensor | null = null;
  let lastYield = clock();
  /** Between batches: stop if aborted, and yield when `yieldEvery` ms of work have passed. */
  const pause = async (): Promise<void> => {
    if (signal?.aborted) throw abortError(signal);
    if (clock() - lastYield >= yieldEvery / 1000) {
      await yieldToEventLoop();
      lastYield = clock();
      if (signal?.aborted) throw abortError(signal);
    }
  };
  try {
    while (!stop.stop(epoch, trainLoss, valLoss, params, seconds)) {
      const t0 = clock();
      epoch++;
      const [next, sub] = split(rngKey) as [Key, Key];
      rngKey = next;
      const batches = batchIndices(x.batch, batchSize, sub);
      for (let b = 0; b < batches.length; b++) {
        const idx = batches[b]!;
        const xb = x.getSubset(idx);
        const yb = y.getSubset(idx);
        let r: TrainStepResult;
        try {
          r = trainStep(params, optState, xb, yb);
        } finally {
          xb.dispose();
          yb.dispose();
        }
        disposeReplaced(params, r.params, r.optState);
        disposeReplaced(optState, r.params, r.optState);
        params = r.params;
        optState = r.optState;
        step++;
        const batchLoss = r.loss;
        const nextSum: Tensor = sum ? add(sum, batchLoss) : batchLoss.reshape(batchLoss.shape);
        sum?.dispose();
        sum = nextSum;
        let value: number | null = null;
        if (o.onBatchEnd || bar?.due()) value = await scalarValue(batchLoss);
        batchLoss.dispose();
        bar?.batch(epoch, b + 1, batches.length, idx.length, value);
        if (o.onBatchEnd) await o.onBatchEnd({ epoch, batch: b + 1, batches: batches.length, step, loss: value! });
        await pause();
      }
      trainLoss = (await scalarValue(sum!)) / batches.length;
      sum!.dispose();
      sum = null;
      if (valX && valY) {
        const v = mapLossInBatches(model, params, valX, valY, { batchSize: valBatchSize, key: sub, loss, state: o.state });
        valLoss = await scalarValue(v);
        v.dispose();
        await pause();
      }
      seconds = clock() - t0;
      history.trainLoss.push(trainLoss);
      history.valLoss.push(valLoss);
      history.seconds.push(seconds);
      bar?.epoch(epoch, batches.length, trainLoss, valLoss);
      if (o.onEpochEnd) await o.onEpochEnd({ epoch, trainLoss, valLoss, seconds, step, params });
    }
  } catch (e) {
    // An error or an abort: free what train made, including the stop condition's best copy.
    sum?.dispose();
    disposeTree(params);
    disposeTree(optState);
    stop.dispose();
    throw e;
  } finally {
    bar?.finish();
  }
  const best = stop.takeBest();
  if (best) disposeTree(params);
  return { params: best ?? params, optState, step, key: rngKey, trainLoss, valLoss, epochs: epoch, history };
}
