/**
 * Built-in synthetic tasks (seeded, generated in TypeScript, identical on every backend), after
 * ginjax's examples: the gradient task (gradient_example), scalar filter recovery (scalar_example)
 * and the point-mass gravity field (scripts/gravity_field.py).
 */
import { check } from '../core/errors.js';
import { normal, permutation, split, uniform, type Key } from '../core/random.js';
import { invariantFilters } from '../geometric/filters.js';
import { convolve } from '../geometric/functional.js';
import { MultiImage } from '../geometric/multi-image.js';
import { tensor, tidy } from '../tensor.js';

/** Inputs and targets of one split. */
export interface Split {
  readonly x: MultiImage;
  readonly y: MultiImage;
}

/** A task's data: train/validation/test input and output MultiImages. */
export interface TaskData {
  readonly name: string;
  readonly train: Split;
  readonly val: Split;
  readonly test: Split;
  /**
   * Pixels the targets lack on each side of the input grid (0 or absent: same grid). Predictions
   * are cropped by this much (`MultiImage.centerCrop`) before they are compared with targets.
   */
  readonly crop?: number;
}

/** Options shared by the tasks: split sizes and the spatial side. */
export interface TaskOptions {
  /** Images per split (defaults per task, after ginjax's notebooks). */
  readonly nTrain?: number;
  readonly nVal?: number;
  readonly nTest?: number;
  /** Spatial side. */
  readonly N?: number;
}

function sizes(o: TaskOptions, dflt: [number, number, number], dfltN: number): { n: [number, number, number]; N: number } {
  const n: [number, number, number] = [o.nTrain ?? dflt[0], o.nVal ?? dflt[1], o.nTest ?? dflt[2]];
  n.forEach((v, i) => check(Number.isInteger(v) && v >= 1, 'task', ['nTrain', 'nVal', 'nTest'][i]!, 'an integer >= 1', v));
  const N = o.N ?? dfltN;
  check(Number.isInteger(N) && N >= 2, 'task', 'N', 'an integer >= 2', N);
  return { n, N };
}

/** Monomials x^i y^j with i + j <= 3 (10 of them), and their partial derivatives. */
const CUBIC = [...Array(4).keys()].flatMap((i) => [...Array(4 - i).keys()].map((j) => [i, j] as const));

/** Options of `gradientTask`. */
export interface GradientTaskOptions extends TaskOptions {
  /**
   * 'exact' (default): the target is the gradient at every pixel of the input grid, in per-pixel
   * units. 'notebook': ginjax's gradient_example protocol — the target lacks a 2-pixel border (N×N
   * inputs, (N−4)×(N−4) targets; `crop` tells the trainer to crop predictions the same way), the
   * input is standardised with the training split's mean and std, and the target is divided by the
   * training split's std of its components (no mean shift, which would break equivariance).
   */
  readonly protocol?: 'exact' | 'notebook';
}

/**
 * Gradient task: random cubic polynomials f on [-1.5, 1.5]² (coefficients ~ N(0, 0.4²)) sampled on an
 * N×N grid → their exact gradient vector fields ∇f at the same points. Not periodic. Equivariant by
 * construction: rotating f rotates ∇f.
 * @example
 * const data = gradientTask(random.key(0), { N: 16, nTrain: 128 });
 * const model = new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], M: 3 }, random.key(1));
 * const result = await train({ model, x: data.train.x, y: data.train.y, valX: data.val.x, valY: data.val.y, batchSize: 16, key: random.key(2), optimizer: optim.adam({ learningRate: 1e-2 }), stop: new EpochStop(20) });
 * disposeTask(data);
 */
export function gradientTask(key: Key, o: GradientTaskOptions = {}): TaskData {
  const { n, N } = sizes(o, [128, 32, 128], 32);
  const protocol = o.protocol ?? 'exact';
  check(protocol === 'exact' || protocol === 'notebook', 'gradientTask', 'protocol', '"exact" or "notebook"', protocol);
  const crop = protocol === 'notebook' ? 2 : 0;
  check(N > 2 * crop, 'gradientTask', 'N', `more than ${2 * crop} (the notebook protocol crops 2 pixels per side)`, N);
  const keys = split(key, 3);
  const make = (k: Key, count: number) => {
    const coef = normal(k, count * CUBIC.length, 0, 0.4);
    const xs = new Float32Array(count * N * N);
    const M = N - 2 * crop;
    const ys = new Float32Array(count * M * M * 2);
    const h = 3 / (N - 1);
    for (let b = 0; b < count; b++) {
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const x = -1.5 + i * h; // axis 0 is x
          const y = -1.5 + j * h;
          let f = 0,
            fx = 0,
            fy = 0;
          CUBIC.forEach(([p, q], m) => {
            const c = coef[b * CUBIC.length + m]!;
            f += c * x ** p * y ** q;
            if (p > 0) fx += c * p * x ** (p - 1) * y ** q;
            if (q > 0) fy += c * q * x ** p * y ** (q - 1);
          });
          xs[(b * N + i) * N + j] = f;
          const [ti, tj] = [i - crop, j - crop];
          if (ti < 0 || tj < 0 || ti >= M || tj >= M) continue;
          const pix = (b * M + ti) * M + tj;
          ys[2 * pix] = fx * h; // per-pixel units, so a local stencil can represent it
          ys[2 * pix + 1] = fy * h;
        }
      }
    }
    return { xs, ys, count, M };
  };
  const raw = [make(keys[0]!, n[0]), make(keys[1]!, n[1]), make(keys[2]!, n[2])] as const;
  if (protocol === 'notebook') {
    const { mean, std } = moments(raw[0].xs);
    const yStd = moments(raw[0].ys, 0).std;
    for (const r of raw) {
      r.xs.forEach((v, i) => (r.xs[i] = (v - mean) / std));
      r.ys.forEach((v, i) => (r.ys[i] = v / yStd));
    }
  }
  const toSplit = ({ xs, ys, count, M }: (typeof raw)[number]): Split =>
    tidy(() => ({
      x: MultiImage.fromBlocks({ '0,0': tensor(xs, [count, 1, N, N]) }, 2, false),
      y: MultiImage.fromBlocks({ '1,0': tensor(ys, [count, 1, M, M, 2]) }, 2, false),
    }));
  return { name: 'gradient', train: toSplit(raw[0]), val: toSplit(raw[1]), test: toSplit(raw[2]), crop };
}

/** Mean and standard deviation (float64) of the values; with `about`, the RMS deviation from it. */
function moments(values: Float32Array, about?: number): { mean: number; std: number } {
  let s = 0;
  for (const v of values) s += v;
  const mean = s / values.length;
  const centre = about ?? mean;
  let q = 0;
  for (const v of values) q += (v - centre) ** 2;
  return { mean, std: Math.sqrt(q / values.length) };
}

/**
 * Scalar filter recovery: random N×N torus images x → (x ⋆ f1) ⋆ f2 with f1, f2 the second and third
 * invariant scalar filters of side 3 (edges, corners). A two-layer ConvContract without bias can
 * recover them exactly.
 * @example
 * const { train, val, test } = scalarTask(random.key(0), { N: 16 }); // x → (x ⋆ f1) ⋆ f2
 */
export function scalarTask(key: Key, o: TaskOptions = {}): TaskData {
  const { n, N } = sizes(o, [16, 4, 8], 64);
  const [f1, f2] = invariantFilters(2, 3, 0, 0).filters.slice(1) as [Float32Array, Float32Array];
  const keys = split(key, 3);
  const make = (k: Key, count: number): Split => {
    return tidy(() => {
      const x = tensor(normal(k, count * N * N), [count, 1, N, N]);
      const once = convolve(x, tensor(f1, [1, 1, 3, 3]), 2, 0, 0, [true, true]);
      const y = convolve(once, tensor(f2, [1, 1, 3, 3]), 2, 0, 0, [true, true]);
      return { x: MultiImage.fromBlocks({ '0,0': x }, 2, true), y: MultiImage.fromBlocks({ '0,0': y }, 2, true) };
    });
  };
  return { name: 'scalar', train: make(keys[0]!, n[0]), val: make(keys[1]!, n[1]), test: make(keys[2]!, n[2]) };
}

/**
 * Gravity: 5 point masses (m ~ U(0,1), scaled so the largest is 1) at distinct random pixels of an N×N
 * non-periodic grid → the field Σ m (p − x)/|p − x|³ (0 at the source pixels). Input: the mass image.
 * @example
 * const data = gravityTask(random.key(0), { N: 16, masses: 3 }); // data.train.y: a vector field
 */
export function gravityTask(key: Key, o: TaskOptions & { masses?: number } = {}): TaskData {
  const { n, N } = sizes(o, [6, 6, 10], 16);
  const masses = o.masses ?? 5;
  check(Number.isInteger(masses) && masses >= 1 && masses <= N * N, 'gravityTask', 'masses', `an integer in [1, ${N * N}]`, masses);
  const keys = split(key, 3);
  const make = (k: Key, count: number): Split => {
    const xs = new Float32Array(count * N * N);
    const ys = new Float32Array(count * N * N * 2);
    split(k, count).forEach((kb, b) => {
      const [kp, km] = split(kb, 2) as [Key, Key];
      const where = permutation(kp, N * N).slice(0, masses);
      const m = uniform(km, masses);
      const top = Math.max(...m);
      where.forEach((p, s) => (xs[b * N * N + p] = m[s]! / top));
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          let gx = 0,
            gy = 0;
          where.forEach((p, s) => {
            const dx = Math.floor(p / N) - i;
            const dy = (p % N) - j;
            const r2 = dx * dx + dy * dy;
            if (r2 === 0) return;
            const w = m[s]! / top / (r2 * Math.sqrt(r2));
            gx += w * dx;
            gy += w * dy;
          });
          const pix = (b * N + i) * N + j;
          ys[2 * pix] = gx;
          ys[2 * pix + 1] = gy;
        }
      }
    });
    return tidy(() => ({
      x: MultiImage.fromBlocks({ '0,0': tensor(xs, [count, 1, N, N]) }, 2, false),
      y: MultiImage.fromBlocks({ '1,0': tensor(ys, [count, 1, N, N, 2]) }, 2, false),
    }));
  };
  return { name: 'gravity', train: make(keys[0]!, n[0]), val: make(keys[1]!, n[1]), test: make(keys[2]!, n[2]) };
}

/**
 * The built-in tasks by name (the CLI's `--task`).
 * @example
 * const data = TASKS.gradient(random.key(0), { nTrain: 8, nVal: 2, nTest: 2 });
 */
export const TASKS = { gradient: gradientTask, scalar: scalarTask, gravity: gravityTask } as const;
/** A built-in task name. */
export type TaskName = keyof typeof TASKS;

/**
 * Frees every MultiImage of a task's data.
 * @example
 * disposeTask(data);
 */
export function disposeTask(t: TaskData): void {
  for (const s of [t.train, t.val, t.test]) {
    s.x.dispose();
    s.y.dispose();
  }
}
