/**
 * Optimizers as init/update pairs over parameter trees (Optax style, DESIGN.md §4). A
 * `GradientTransformation` turns gradients into updates and carries a state tree; `applyUpdates`
 * adds the updates to the parameters. Everything is composed from tensor primitives (the numbers
 * of a state, such as step counts, are plain JS numbers), so it runs on every backend without
 * reading device memory. Formulas follow optax:
 *
 *   sgd    = chain(trace(momentum, nesterov), scaleByLearningRate(lr))
 *   adam   = chain(scaleByAdam(b1, b2, eps, epsRoot), scaleByLearningRate(lr))
 *   adamw  = chain(scaleByAdam(...), addDecayedWeights(weightDecay), scaleByLearningRate(lr))
 *
 * Weight decay and invariant filters: our parameter trees hold only trainable tensors (a module's
 * invariant-filter bases are `buffers()`, never parameters), so adamw decays only the weights and
 * biases. ginjax stores the filters inside the model, where optax's adamw shrinks them every step
 * although their gradient is stopped (inventory §10 item 9); that bug is not reproduced.
 *
 * Memory: `update` returns NEW tensors for the updates and the state (never handles shared with
 * the old state), so the caller may dispose the old state (`disposeTree`) right after.
 */
import type { Tree } from '../autodiff.js';
import { check } from '../core/errors.js';
import type { Params } from '../nn/module.js';
import { add, addScalar, div, maximum, mul, scale as scaleT } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { slice } from '../ops/gather.js';
import { sum } from '../ops/reduce.js';
import { sqrt, square } from '../ops/unary.js';
import { scalar, tidy, zeros, type Tensor } from '../tensor.js';
import { disposeReplaced, isPlainObject, leavesWithPaths, zipMap } from './tree.js';

export { disposeTree, copyTree } from './tree.js';

/** A schedule maps the step count (0 for the first update) to a value. */
export type Schedule = (step: number) => number;
/** A constant or a schedule of the step (learning rates, weight decay). */
export type ScalarOrSchedule = number | Schedule;
/** Optimizer state: a tree of tensors and numbers (dispose with `disposeTree`). */
export type OptState = Tree;

/**
 * An optimizer (Optax style): `init(params)` makes its state, `update(grads, state, params)` returns the updates and the new state.
 */
export interface GradientTransformation {
  init(params: Params): OptState;
  /**
   * Transforms `updates` (gradients, or the output of the previous transformation of a chain).
   * Should return new tensors; a tensor passed through unchanged is detected and not disposed.
   */
  update(updates: Params, state: OptState, params?: Params): { updates: Params; state: OptState };
}

const fail = (fn: string, what: string): never => {
  throw new RangeError(`${fn}: ${what}`);
};

function checkRate(fn: string, name: string, v: ScalarOrSchedule): void {
  if (typeof v === 'function') return;
  check(typeof v === 'number' && Number.isFinite(v), fn, name, 'a finite number or a schedule (step) => number', v);
}

function checkUnit(fn: string, name: string, v: number): void {
  check(typeof v === 'number' && v >= 0 && v < 1, fn, name, 'a number in [0, 1)', v);
}

function stateField<T>(fn: string, state: OptState, field: string): T {
  if (!isPlainObject(state) || !(field in state)) fail(fn, `state must be the object made by init() (missing "${field}")`);
  return (state as Record<string, unknown>)[field] as T;
}

const mapTree = (fn: string, trees: readonly unknown[], f: (l: Tensor[]) => Tensor): Params => zipMap<Params>(fn, trees, f);

/**
 * Does nothing (the updates pass through as new handles).
 * @example
 * const noop = optim.identity(); // updates pass through unchanged
 */
export function identity(): GradientTransformation {
  return {
    init: () => ({}),
    update: (updates) => ({ updates: mapTree('identity', [updates], ([u]) => u!.reshape(u!.shape)), state: {} }),
  };
}

/**
 * Multiplies the updates by a constant.
 * @example
 * const negate = optim.scale(-1);
 */
export function scale(factor: number): GradientTransformation {
  check(Number.isFinite(factor), 'scale', 'factor', 'a finite number', factor);
  return {
    init: () => ({}),
    update: (updates) => ({ updates: tidy(() => mapTree('scale', [updates], ([u]) => scaleT(u!, factor))), state: {} }),
  };
}

/**
 * Momentum (optax.trace): t ← g + decay·t; the update is t, or g + decay·t (the new t) with Nesterov.
 * @example
 * const momentum = optim.trace({ decay: 0.9 });
 */
export function trace({ decay, nesterov = false }: { decay: number; nesterov?: boolean }): GradientTransformation {
  check(typeof decay === 'number' && decay >= 0, 'trace', 'decay', 'a number >= 0', decay);
  return {
    init: (params) => ({ trace: mapTree('trace', [params], ([p]) => zeros(p!.shape, p!.backend)) }),
    update: (updates, state) =>
      tidy(() => {
        const prev = stateField<Params>('trace', state, 'trace');
        const next = mapTree('trace', [updates, prev], ([g, t]) => add(g!, scaleT(t!, decay)));
        const out = nesterov
          ? mapTree('trace', [updates, next], ([g, t]) => add(g!, scaleT(t!, decay)))
          : mapTree('trace', [next], ([t]) => t!.reshape(t!.shape));
        return { updates: out, state: { trace: next } };
      }),
  };
}

/** Options of `adam` (β1, β2, ε). */
export interface AdamOptions {
  readonly b1?: number;
  readonly b2?: number;
  readonly eps?: number;
  readonly epsRoot?: number;
}

/**
 * optax.scale_by_adam: μ ← b1·μ + (1−b1)·g, ν ← b2·ν + (1−b2)·g², n ← n + 1,
 * update = (μ/(1−b1ⁿ)) / (sqrt(ν/(1−b2ⁿ) + epsRoot) + eps).
 * @example
 * const opt = optim.chain(optim.scaleByAdam(), optim.scaleByLearningRate(1e-3)); // = adam(1e-3)
 */
export function scaleByAdam({ b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0 }: AdamOptions = {}): GradientTransformation {
  checkUnit('scaleByAdam', 'b1', b1);
  checkUnit('scaleByAdam', 'b2', b2);
  check(eps >= 0 && epsRoot >= 0, 'scaleByAdam', 'eps and epsRoot', 'numbers >= 0', [eps, epsRoot]);
  return {
    init: (params) => ({
      count: 0,
      mu: mapTree('scaleByAdam', [params], ([p]) => zeros(p!.shape, p!.backend)),
      nu: mapTree('scaleByAdam', [params], ([p]) => zeros(p!.shape, p!.backend)),
    }),
    update: (updates, state) =>
      tidy(() => {
        const count = stateField<number>('scaleByAdam', state, 'count') + 1;
        const mu = mapTree('scaleByAdam', [updates, stateField<Params>('scaleByAdam', state, 'mu')], ([g, m]) => add(scaleT(g!, 1 - b1), scaleT(m!, b1)));
        const nu = mapTree('scaleByAdam', [updates, stateField<Params>('scaleByAdam', state, 'nu')], ([g, v]) =>
          add(scaleT(square(g!), 1 - b2), scaleT(v!, b2)),
        );
        const c1 = 1 / (1 - b1 ** count);
        const c2 = 1 / (1 - b2 ** count);
        const out = mapTree('scaleByAdam', [mu, nu], ([m, v]) => {
          const vHat = scaleT(v!, c2);
          return div(scaleT(m!, c1), addScalar(sqrt(epsRoot ? addScalar(vHat, epsRoot) : vHat), eps));
        });
        return { updates: out, state: { count, mu, nu } };
      }),
  };
}

/**
 * optax.add_decayed_weights: update + weightDecay·param, for the parameters whose path (names
 * joined with '.') `mask` accepts (all by default).
 * @example
 * const opt = optim.chain(optim.scaleByAdam(), optim.addDecayedWeights(1e-4), optim.scaleByLearningRate(1e-3));
 */
export function addDecayedWeights(weightDecay: ScalarOrSchedule, mask?: (path: string) => boolean): GradientTransformation {
  checkRate('addDecayedWeights', 'weightDecay', weightDecay);
  const scheduled = typeof weightDecay === 'function';
  return {
    init: () => (scheduled ? { count: 0 } : {}),
    update: (updates, state, params) => {
      if (!params) fail('addDecayedWeights', 'update needs the current params (update(grads, state, params))');
      const count = scheduled ? stateField<number>('addDecayedWeights', state, 'count') : 0;
      const wd = scheduled ? (weightDecay as Schedule)(count) : (weightDecay as number);
      const out = tidy(() =>
        zipMap<Params>('addDecayedWeights', [updates, params], ([u, p], path) => (!mask || mask(path) ? add(u!, scaleT(p!, wd)) : u!.reshape(u!.shape))),
      );
      return { updates: out, state: scheduled ? { count: count + 1 } : {} };
    },
  };
}

/**
 * Scales by −learningRate (a number, or a schedule of the step count starting at 0).
 * @example
 * const step = optim.scaleByLearningRate(optim.cosineDecay(1e-3, 1000)); // multiplies by −lr
 */
export function scaleByLearningRate(learningRate: ScalarOrSchedule): GradientTransformation {
  checkRate('scaleByLearningRate', 'learningRate', learningRate);
  const scheduled = typeof learningRate === 'function';
  return {
    init: () => (scheduled ? { count: 0 } : {}),
    update: (updates, state) => {
      const count = scheduled ? stateField<number>('scaleByLearningRate', state, 'count') : 0;
      const lr = scheduled ? (learningRate as Schedule)(count) : (learningRate as number);
      if (!Number.isFinite(lr)) fail('scaleByLearningRate', `the schedule gave a non-finite learning rate ${lr} at step ${count}`);
      const out = tidy(() => mapTree('scaleByLearningRate', [updates], ([u]) => scaleT(u!, -lr)));
      return { updates: out, state: scheduled ? { count: count + 1 } : {} };
    },
  };
}

/**
 * optax.clip_by_global_norm: when ‖g‖ (over all leaves) exceeds maxNorm, every leaf is scaled by
 * maxNorm/‖g‖. Computed on the device as g·maxNorm/max(‖g‖, maxNorm).
 * @example
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.adam({ learningRate: 1e-3 }));
 */
export function clipByGlobalNorm(maxNorm: number): GradientTransformation {
  check(typeof maxNorm === 'number' && maxNorm > 0 && Number.isFinite(maxNorm), 'clipByGlobalNorm', 'maxNorm', 'a finite number > 0', maxNorm);
  return {
    init: () => ({}),
    update: (updates) => {
      const leaves = leavesWithPaths(updates).map(([, t]) => t);
      if (leaves.length === 0) return { updates: {}, state: {} };
      const out = tidy(() => {
        const sq = leaves.map((t) => sum(square(t)).reshape([1]));
        let total = sq[0]!;
        for (const s of sq.slice(1)) total = add(total, s);
        const norm = sqrt(total);
        const m = scalar(maxNorm, norm.backend);
        const factor = div(m, maximum(norm, m));
        return mapTree('clipByGlobalNorm', [updates], ([u]) => mul(u!, factor.reshape([])));
      });
      return { updates: out, state: {} };
    },
  };
}

/**
 * Applies transformations in sequence; the state is the array of their states.
 * @example
 * const opt = optim.chain(optim.clipByGlobalNorm(1), optim.sgd({ learningRate: 0.1, momentum: 0.9 }));
 */
export function chain(...transforms: GradientTransformation[]): GradientTransformation {
  check(transforms.length > 0, 'chain', 'transforms', 'at least one transformation', 0);
  return {
    init: (params) => transforms.map((t) => t.init(params)),
    update(updates, state, params) {
      if (!Array.isArray(state) || state.length !== transforms.length) fail('chain', `state must be the array of ${transforms.length} states made by init()`);
      const states: OptState[] = [];
      let u = updates;
      transforms.forEach((t, i) => {
        const r = tidy(() => t.update(u, (state as OptState[])[i], params));
        if (i > 0) disposeReplaced(u, r.updates, r.state, updates, state, params);
        u = r.updates;
        states.push(r.state);
      });
      return { updates: u, state: states };
    },
  };
}

/** Options of `sgd` (momentum, Nesterov). */
export interface SgdOptions {
  readonly learningRate: ScalarOrSchedule;
  /** Momentum decay (none when 0 or absent, as optax's momentum=None). */
  readonly momentum?: number;
  readonly nesterov?: boolean;
}

/**
 * optax.sgd.
 * @example
 * const opt = optim.sgd({ learningRate: 0.1, momentum: 0.9 });
 * let state = opt.init(params);
 * const { updates, state: next } = opt.update(grads, state, params);
 * params = optim.applyUpdates(params, updates);
 */
export function sgd({ learningRate, momentum = 0, nesterov = false }: SgdOptions): GradientTransformation {
  checkRate('sgd', 'learningRate', learningRate);
  return momentum > 0 ? chain(trace({ decay: momentum, nesterov }), scaleByLearningRate(learningRate)) : chain(scaleByLearningRate(learningRate));
}

/** A serialisable adam configuration (for workers and checkpoints). */
export interface AdamConfig extends AdamOptions {
  readonly learningRate: ScalarOrSchedule;
}

/**
 * optax.adam (defaults b1 = 0.9, b2 = 0.999, eps = 1e-8, epsRoot = 0).
 * @example
 * const opt = optim.adam({ learningRate: 1e-3 });
 * const result = await train({ model, x, y, optimizer: opt, batchSize: 8, key: random.key(0), stop: new EpochStop(10) });
 */
export function adam({ learningRate, ...o }: AdamConfig): GradientTransformation {
  checkRate('adam', 'learningRate', learningRate);
  return chain(scaleByAdam(o), scaleByLearningRate(learningRate));
}

/** A serialisable adamw configuration. */
export interface AdamWConfig extends AdamConfig {
  /** Default 1e-4, as optax. */
  readonly weightDecay?: ScalarOrSchedule;
  /** Which parameters (by path) to decay; all by default. */
  readonly mask?: (path: string) => boolean;
}

/**
 * optax.adamw. Only trainable parameters are in our trees, so invariant-filter bases (module
 * buffers) are never decayed — unlike ginjax, where adamw shrinks the stored filters.
 * @example
 * const opt = optim.adamw({ learningRate: optim.warmupCosineDecay(0, 3e-3, 100, 2000), weightDecay: 1e-4 });
 */
export function adamw({ learningRate, weightDecay = 1e-4, mask, ...o }: AdamWConfig): GradientTransformation {
  checkRate('adamw', 'learningRate', learningRate);
  return chain(scaleByAdam(o), addDecayedWeights(weightDecay, mask), scaleByLearningRate(learningRate));
}

/** Every leaf of `tree`, in tree order, as one vector `{ flat }` (`{}` for a tree without leaves). */
function flatTree(tree: Params): Params {
  const leaves = leavesWithPaths(tree).map(([, t]) => t.reshape([t.size]));
  return leaves.length === 0 ? {} : { flat: concat(leaves, 0) };
}

/**
 * optax.flatten: `inner` works on one vector holding every leaf (tree order) instead of leaf by
 * leaf. An Adam update is then about 15 large ops plus a slice per leaf, instead of about 14 small
 * ops per leaf: per-op overhead dominates optimizer time on models with many small leaves, and on
 * WebGPU every op is a dispatch. Measured on the benchmark UNet (85 leaves, 672k parameters), Adam
 * update + apply: wasm 10 → 5 ms (under 1 % of a training step), webgpu on llvmpipe 205 → 122 ms.
 * The state holds flat vectors (checkpoints name them `….flat`), so a state is tied to the
 * parameter tree's structure, as optax's is; a path `mask` (addDecayedWeights, adamw) inside
 * sees the one path `flat`.
 * @example
 * const opt = optim.flatten(optim.adam({ learningRate: 1e-3 })); // one state vector instead of one per tensor
 */
export function flatten(inner: GradientTransformation): GradientTransformation {
  return {
    init: (params) => tidy(() => inner.init(flatTree(params))),
    update: (updates, state, params) =>
      tidy(() => {
        const r = inner.update(flatTree(updates), state, params && flatTree(params));
        const flat = (r.updates as { flat?: Tensor }).flat;
        let offset = 0;
        const out = mapTree('flatten', [updates], ([u]) => {
          const piece = slice(flat!, 0, offset, u!.size).reshape(u!.shape);
          offset += u!.size;
          return piece;
        });
        return { updates: out, state: r.state };
      }),
  };
}

/**
 * params + updates, leaf by leaf: a new tree (the inputs stay alive).
 * @example
 * const next = optim.applyUpdates(params, updates); // params + updates, leaf by leaf (new tensors)
 */
export function applyUpdates(params: Params, updates: Params): Params {
  return tidy(() => mapTree('applyUpdates', [params, updates], ([p, u]) => add(p!, u!)));
}

// ---------------------------------------------------------------------------------------------
// Schedules (optax formulas).

/**
 * optax.constant_schedule.
 * @example
 * const lr = optim.constant(1e-3); // lr(step) = 1e-3
 */
export function constant(value: number): Schedule {
  return () => value;
}

/**
 * optax.exponential_decay: init·rate^((step − begin)/transitionSteps) (the exponent floored when
 * staircase), init for step ≤ begin; clipped at endValue (a lower bound when rate < 1, else an upper
 * bound). transitionSteps ≤ 0 or rate = 0 gives the constant init.
 * @example
 * const lr = optim.exponentialDecay(1e-2, 1000, 0.5); // halves every 1000 steps
 */
export function exponentialDecay(
  init: number,
  transitionSteps: number,
  decayRate: number,
  staircase = false,
  { transitionBegin = 0, endValue }: { transitionBegin?: number; endValue?: number } = {},
): Schedule {
  if (transitionSteps <= 0 || decayRate === 0) return () => init;
  const begin = Math.max(0, transitionBegin);
  return (step) => {
    const n = step - begin;
    let p = n / transitionSteps;
    if (staircase) p = Math.floor(p);
    let v = n <= 0 ? init : init * decayRate ** p;
    if (endValue !== undefined) v = decayRate < 1 ? Math.max(v, endValue) : Math.min(v, endValue);
    return v;
  };
}

/**
 * optax.polynomial_schedule: (init − end)·(1 − clip(step − begin, 0, T)/T)^power + end.
 * @example
 * const lr = optim.polynomialSchedule(1e-2, 1e-4, 2, 5000);
 */
export function polynomialSchedule(init: number, end: number, power: number, transitionSteps: number, transitionBegin = 0): Schedule {
  if (transitionSteps <= 0) return () => init;
  const begin = Math.max(0, transitionBegin);
  return (step) => {
    const c = Math.min(Math.max(step - begin, 0), transitionSteps);
    return (init - end) * (1 - c / transitionSteps) ** power + end;
  };
}

/**
 * optax.linear_schedule.
 * @example
 * const warmup = optim.linearSchedule(0, 1e-3, 100); // 0 → 1e-3 over 100 steps
 */
export function linearSchedule(init: number, end: number, transitionSteps: number, transitionBegin = 0): Schedule {
  return polynomialSchedule(init, end, 1, transitionSteps, transitionBegin);
}

/**
 * optax.cosine_decay_schedule: init·((1 − α)·(½(1 + cos(π·min(step, T)/T)))^exponent + α).
 * @example
 * const lr = optim.cosineDecay(1e-3, 10_000); // 1e-3 → 0 along half a cosine
 */
export function cosineDecay(init: number, decaySteps: number, alpha = 0, exponent = 1): Schedule {
  check(decaySteps > 0, 'cosineDecay', 'decaySteps', 'a number > 0', decaySteps);
  return (step) => {
    const c = Math.min(step, decaySteps);
    const cos = 0.5 * (1 + Math.cos((Math.PI * c) / decaySteps));
    return init * ((1 - alpha) * cos ** exponent + alpha);
  };
}

/**
 * optax.join_schedules: `schedules[i+1](step − boundaries[i])` from `boundaries[i]` on.
 * @example
 * const lr = optim.joinSchedules([optim.linearSchedule(0, 1e-3, 100), optim.cosineDecay(1e-3, 900)], [100]);
 */
export function joinSchedules(schedules: readonly Schedule[], boundaries: readonly number[]): Schedule {
  check(schedules.length === boundaries.length + 1, 'joinSchedules', 'boundaries', `${schedules.length - 1} boundaries`, boundaries.length);
  return (step) => {
    let v = schedules[0]!(step);
    boundaries.forEach((b, i) => {
      if (step >= b) v = schedules[i + 1]!(step - b);
    });
    return v;
  };
}

/**
 * optax.warmup_cosine_decay_schedule: linear from init to peak over warmupSteps, then cosine decay
 * from peak to end over decaySteps − warmupSteps (decaySteps counts the warmup).
 * @example
 * const lr = optim.warmupCosineDecay(0, 3e-3, 100, 2000); // linear warm-up to 3e-3, cosine to 0 at step 2000
 */
export function warmupCosineDecay(init: number, peak: number, warmupSteps: number, decaySteps: number, end = 0, exponent = 1): Schedule {
  check(decaySteps > warmupSteps, 'warmupCosineDecay', 'decaySteps', `a number > warmupSteps (${warmupSteps}); it includes the warmup`, decaySteps);
  const alpha = peak === 0 ? 0 : end / peak;
  return joinSchedules([linearSchedule(init, peak, warmupSteps), cosineDecay(peak, decaySteps - warmupSteps, alpha, exponent)], [warmupSteps]);
}
