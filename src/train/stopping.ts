/**
 * Stopping conditions (ginjax ml/stopping_conditions.py). `train` calls `stop(...)` once before the
 * first epoch (epoch 0, losses null) and after every epoch; `true` ends training. Each condition
 * keeps a copy of the best parameters it has seen (new handles on the same immutable storage, so a
 * copy costs no memory until the trainer drops its own handles), handed over by `takeBest()`.
 *
 * ginjax's TrainLoss and ValLoss never fire: they act only when the loss `isinstance(float)`, and
 * train passes JAX arrays (inventory §5.3). Here the losses are plain numbers and the conditions
 * work: an improvement is loss < best − minDelta; training stops once more than `patience` epochs
 * in a row brought none.
 */
import { check } from '../core/errors.js';
import type { Params } from '../nn/module.js';
import { keep } from '../tensor.js';
import { copyTree, disposeTree, leavesWithPaths } from './tree.js';

/** When `train` stops and which parameters it keeps (EpochStop, ValLoss, …). */
export interface StopCondition {
  /** Called with epoch 0 and null losses before training, then after every epoch. */
  stop(epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, epochSeconds?: number): boolean;
  /** The best parameters so far (owned by the condition), or null before any were recorded. */
  readonly best: Params | null;
  /** The epoch at which `best` was recorded (−1 before). */
  readonly bestEpoch: number;
  /** True when the condition reads the validation loss (train then requires validation data). */
  readonly requiresValidation: boolean;
  /** A known upper bound on the number of epochs (for progress ETAs), if any. */
  readonly maxEpochs?: number;
  /** Hands `best` to the caller (who must dispose it) and forgets it. */
  takeBest(): Params | null;
  /** Releases `best`. */
  dispose(): void;
}

/** Options of the stop conditions: patience, minimum improvement, verbosity. */
export interface StopOptions {
  /** 0: silent; 1: log improvements (EpochStop: every epochs/min(10, epochs) epochs); 2: log every epoch. */
  readonly verbose?: 0 | 1 | 2;
  /** Where log lines go (default console.log). */
  readonly log?: (line: string) => void;
}

const fmt = (v: number | null) => (v === null ? '—' : v.toPrecision(7));

abstract class BaseStop implements StopCondition {
  #best: Params | null = null;
  #bestEpoch = -1;
  readonly verbose: 0 | 1 | 2;
  readonly #log: (line: string) => void;
  abstract readonly requiresValidation: boolean;

  constructor(fn: string, { verbose = 0, log = (line: string) => console.log(line) }: StopOptions) {
    check(verbose === 0 || verbose === 1 || verbose === 2, fn, 'verbose', '0, 1 or 2', verbose);
    this.verbose = verbose;
    this.#log = log;
  }

  abstract stop(epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, epochSeconds?: number): boolean;

  get best(): Params | null {
    return this.#best;
  }

  get bestEpoch(): number {
    return this.#bestEpoch;
  }

  protected record(params: Params, epoch: number): void {
    const copy = copyTree(params);
    for (const [, t] of leavesWithPaths(copy)) keep(t); // owned here, not by any enclosing tidy
    if (this.#best) disposeTree(this.#best);
    this.#best = copy;
    this.#bestEpoch = epoch;
  }

  protected logStatus(epoch: number, trainLoss: number | null, valLoss: number | null, seconds?: number): void {
    const parts = [`Epoch ${epoch}`, `Train: ${fmt(trainLoss)}`];
    if (valLoss !== null) parts.push(`Val: ${fmt(valLoss)}`);
    if (seconds !== undefined) parts.push(`Epoch time: ${seconds.toFixed(3)} s`);
    this.#log(parts.join(' '));
  }

  takeBest(): Params | null {
    const b = this.#best;
    this.#best = null;
    return b;
  }

  dispose(): void {
    if (this.#best) disposeTree(this.#best);
    this.#best = null;
  }
}

/**
 * Stops once `epochs` epochs have run; the best parameters are always the latest.
 * @example
 * const result = await train({ model, x, y, optimizer: optim.adam({ learningRate: 1e-3 }), batchSize: 8, key: random.key(0), stop: new EpochStop(20) });
 */
export class EpochStop extends BaseStop {
  readonly epochs: number;
  readonly requiresValidation = false;

  constructor(epochs: number, verbose: 0 | 1 | 2 = 0, options: Omit<StopOptions, 'verbose'> = {}) {
    super('EpochStop', { ...options, verbose });
    check(Number.isInteger(epochs) && epochs >= 0, 'EpochStop', 'epochs', 'an integer >= 0', epochs);
    this.epochs = epochs;
  }

  get maxEpochs(): number {
    return this.epochs;
  }

  stop(epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, epochSeconds?: number): boolean {
    this.record(params, epoch);
    const every = Math.max(1, Math.floor(this.epochs / Math.max(1, Math.min(10, this.epochs))));
    if (this.verbose === 2 || (this.verbose === 1 && epoch % every === 0)) this.logStatus(epoch, trainLoss, valLoss, epochSeconds);
    return epoch >= this.epochs;
  }
}

abstract class PatienceStop extends BaseStop {
  readonly patience: number;
  readonly minDelta: number;
  bestLoss = Infinity;
  epochsSinceBest = 0;

  constructor(fn: string, patience: number, minDelta: number, options: StopOptions) {
    super(fn, options);
    check(Number.isInteger(patience) && patience >= 0, fn, 'patience', 'an integer >= 0', patience);
    check(typeof minDelta === 'number' && minDelta >= 0, fn, 'minDelta', 'a number >= 0', minDelta);
    this.patience = patience;
    this.minDelta = minDelta;
  }

  protected step(loss: number | null, epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, seconds?: number): boolean {
    if (loss === null) return false; // before the first epoch
    if (loss < this.bestLoss - this.minDelta) {
      this.bestLoss = loss;
      this.epochsSinceBest = 0;
      this.record(params, epoch);
      if (this.verbose >= 1) this.logStatus(epoch, trainLoss, valLoss, seconds);
    } else {
      this.epochsSinceBest++;
      if (this.verbose === 2) this.logStatus(epoch, trainLoss, valLoss, seconds);
    }
    return this.epochsSinceBest > this.patience;
  }
}

/**
 * Stops when the training loss has not improved by more than minDelta for more than `patience` epochs.
 * @example
 * const stop = new TrainLoss(5); // stop after 5 epochs without a lower training loss
 */
export class TrainLoss extends PatienceStop {
  readonly requiresValidation = false;

  constructor(patience = 0, minDelta = 0, options: StopOptions = {}) {
    super('TrainLoss', patience, minDelta, options);
  }

  stop(epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, epochSeconds?: number): boolean {
    return this.step(trainLoss, epoch, trainLoss, valLoss, params, epochSeconds);
  }
}

/**
 * Stops when the validation loss has not improved by more than minDelta for more than `patience` epochs.
 * @example
 * const stop = new ValLoss(5, 1e-4); // keep the parameters of the best validation loss
 */
export class ValLoss extends PatienceStop {
  readonly requiresValidation = true;

  constructor(patience = 0, minDelta = 0, options: StopOptions = {}) {
    super('ValLoss', patience, minDelta, options);
  }

  stop(epoch: number, trainLoss: number | null, valLoss: number | null, params: Params, epochSeconds?: number): boolean {
    if (epoch > 0 && valLoss === null) throw new Error('ValLoss: no validation loss was given (pass valX and valY to train)');
    return this.step(valLoss, epoch, trainLoss, valLoss, params, epochSeconds);
  }
}
