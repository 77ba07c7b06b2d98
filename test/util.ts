/**
 * Helpers shared by every test suite (node, gpu, browser).
 *
 * - `allclose(actual, expected, { rtol, atol })` asserts |a − e| ≤ atol + rtol·|e| elementwise and, on
 *   failure, throws with the number of differing entries, the max difference and the first few
 *   differing entries (by multi-index).
 * - `randomTensor(key, shape, { lo, hi })`: uniform values generated in TypeScript from a seeded key
 *   (src/core/random.ts), hence identical on every backend.
 * - `f64(t)`: the float64 storage of a ref tensor (full precision; `dataSync()` rounds to float32).
 * - `gradcheck(f, inputs)`: central finite differences in float64 on ref against `valueAndGrad`.
 * - `expectNoLeak(fn)`: `memory()` is the same before and after `fn`.
 * - `withBackend(name, fn)`: runs `fn` with another current backend, then restores the previous one.
 */
import { getBackend, memory, mul, random, setBackend, sum, tensor, tidy, Tensor, type Backend, type BackendName } from '../src/index.js';
import { valueAndGrad } from '../src/autodiff.js';
import type { Shape } from '../src/core/shape.js';

/** A number or nested arrays of numbers (a literal tensor). */
export type Nested = number | readonly Nested[];

export interface Tolerance {
  /** Relative tolerance (default 1e-5, float32-friendly like ginjax's TINY). */
  rtol?: number;
  /** Absolute tolerance (default 1e-6). */
  atol?: number;
}

/** Shape of a nested array literal (a number has shape []). */
export function shapeOf(x: Nested): number[] {
  const shape: number[] = [];
  let v: Nested = x;
  while (Array.isArray(v)) {
    shape.push(v.length);
    v = (v as readonly Nested[])[0] ?? 0;
    if (shape.at(-1) === 0) break;
  }
  return shape;
}

/** Flattens a nested array literal in row-major order (checks that it is rectangular). */
export function flat(x: Nested): number[] {
  const shape = shapeOf(x);
  const out: number[] = [];
  const walk = (v: Nested, depth: number): void => {
    if (depth === shape.length) {
      if (typeof v !== 'number') throw new Error(`flat: ragged nested array (a number expected at depth ${depth})`);
      out.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) throw new Error(`flat: ragged nested array at depth ${depth}`);
    for (const e of v as readonly Nested[]) walk(e, depth + 1);
  };
  walk(x, 0);
  return out;
}

/**
 * A tensor from a nested array literal, on the current backend (or `backend`). The data go in as a
 * Float64Array, so ref keeps them exactly (`tensor()` rounds plain number arrays to float32).
 */
export function t(x: Nested, backend?: Backend): Tensor {
  return tensor(Float64Array.from(flat(x)), shapeOf(x), backend);
}

/** `tensor(data, shape)` keeping float64 precision on ref. */
export function t64(data: ArrayLike<number>, shape: Shape = [data.length], backend?: Backend): Tensor {
  return tensor(Float64Array.from(data), shape, backend);
}

/** 0, 1, …, n − 1. */
export function arange(n: number, start = 0): number[] {
  return Array.from({ length: n }, (_, i) => start + i);
}

/** The float64 storage of a ref tensor (not a copy: do not write to it). */
export function f64(x: Tensor): Float64Array {
  if (x.backend.name !== 'ref') throw new Error(`f64: tensor lives on ${x.backend.name}, not ref`);
  return x.storage() as Float64Array;
}

/** The values of a tensor: float64 on ref, float32 (synchronous read) on other CPU backends. */
export function values(x: Tensor): ArrayLike<number> {
  return x.backend.name === 'ref' ? f64(x) : x.dataSync();
}

/** Σ a·b over all entries, in float64. */
export function dot(a: Tensor | ArrayLike<number>, b: Tensor | ArrayLike<number>): number {
  const va = a instanceof Tensor ? values(a) : a;
  const vb = b instanceof Tensor ? values(b) : b;
  if (va.length !== vb.length) throw new Error(`dot: lengths differ (${va.length} and ${vb.length})`);
  let s = 0;
  for (let i = 0; i < va.length; i++) s += va[i]! * vb[i]!;
  return s;
}

function multiIndex(i: number, shape: readonly number[] | undefined): string {
  if (!shape || shape.length <= 1) return `[${i}]`;
  const c: number[] = [];
  for (let d = shape.length - 1, r = i; d >= 0; d--) {
    c[d] = r % shape[d]!;
    r = Math.floor(r / shape[d]!);
  }
  return `[${c.join(',')}]`;
}

/**
 * Asserts that `actual` and `expected` agree elementwise: |a − e| ≤ atol + rtol·|e| (NaN matches
 * NaN, ±Infinity matches itself). Shapes are compared when both sides carry one (a Tensor or a
 * nested literal of rank ≠ 1); otherwise only the lengths. `what` prefixes the message.
 */
export function allclose(
  actual: Tensor | ArrayLike<number> | Nested,
  expected: Tensor | ArrayLike<number> | Nested,
  { rtol = 1e-5, atol = 1e-6 }: Tolerance = {},
  what = 'allclose',
): void {
  const unpack = (v: Tensor | ArrayLike<number> | Nested): { data: ArrayLike<number>; shape?: readonly number[] } => {
    if (v instanceof Tensor) return { data: values(v), shape: v.shape };
    if (typeof v === 'number') return { data: [v], shape: [] };
    if (ArrayBuffer.isView(v)) return { data: v as ArrayLike<number> };
    const shape = shapeOf(v as Nested);
    return { data: flat(v as Nested), shape: shape.length === 1 ? undefined : shape };
  };
  const a = unpack(actual);
  const e = unpack(expected);
  if (a.shape && e.shape && (a.shape.length !== e.shape.length || a.shape.some((d, i) => d !== e.shape![i]))) {
    throw new Error(`${what}: shape [${a.shape}] differs from the expected [${e.shape}]`);
  }
  if (a.data.length !== e.data.length) {
    throw new Error(`${what}: ${a.data.length} entries, expected ${e.data.length}`);
  }
  const shape = a.shape ?? e.shape;
  const bad: string[] = [];
  let nBad = 0;
  let maxDiff = 0;
  let maxAt = -1;
  for (let i = 0; i < a.data.length; i++) {
    const x = a.data[i]!;
    const y = e.data[i]!;
    const ok = (Number.isNaN(x) && Number.isNaN(y)) || x === y || Math.abs(x - y) <= atol + rtol * Math.abs(y);
    if (ok) continue;
    const diff = Math.abs(x - y);
    if (!(diff <= maxDiff)) {
      maxDiff = diff;
      maxAt = i;
    }
    if (nBad++ < 6) bad.push(`${multiIndex(i, shape)}: ${x} vs ${y} (diff ${diff.toExponential(3)})`);
  }
  if (nBad > 0) {
    throw new Error(
      `${what}: ${nBad} of ${a.data.length} entries differ (rtol ${rtol}, atol ${atol}); ` +
        `max |diff| ${maxDiff.toExponential(3)} at ${multiIndex(maxAt, shape)}; actual vs expected: ${bad.join('; ')}`,
    );
  }
}

/** Asserts a relative agreement of two scalars: |a − b| ≤ rtol·max(|a|, |b|, floor). */
export function closeScalar(a: number, b: number, rtol: number, what = 'closeScalar', floor = 1e-300): void {
  if (!(Math.abs(a - b) <= rtol * Math.max(Math.abs(a), Math.abs(b), floor))) {
    throw new Error(`${what}: ${a} vs ${b} (relative diff ${(Math.abs(a - b) / Math.max(Math.abs(a), Math.abs(b))).toExponential(3)} > ${rtol})`);
  }
}

/** A tensor of uniform values in [lo, hi) drawn from `key` (the same values on every backend). */
export function randomTensor(key: random.Key, shape: Shape, { lo = -1, hi = 1, backend }: { lo?: number; hi?: number; backend?: Backend } = {}): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  return tensor(random.uniform(key, n, lo, hi), shape, backend);
}

/** A deterministic small-integer generator for choosing test geometries. */
export function rng(seed: number): (lo: number, hi: number) => number {
  let k = random.key(seed);
  return (lo, hi) => {
    const [a, b] = random.split(k);
    k = a!;
    return lo + Math.floor(random.uniform(b!, 1)[0]! * (hi - lo + 1));
  };
}

export interface GradcheckOptions extends Tolerance {
  /** Finite-difference step (default 1e-6). */
  eps?: number;
  /** Indices of the inputs to check (default: all). */
  wrt?: readonly number[];
  /** Seed of the random projection used for non-scalar outputs. */
  seed?: number;
}

/**
 * Checks the reverse-mode gradient of f(...inputs) against central finite differences, in float64
 * on the ref backend. A non-scalar output is reduced to the scalar Σ f(...)·r with a fixed random r
 * (a random projection), so that every output entry's cotangent is exercised.
 *
 * Tolerance (defaults rtol 1e-6, atol 1e-7): with eps = 1e-6 the central difference has a truncation
 * error of eps²·|f'''|/6 ≈ 1e-13 for the smooth ops here, and a rounding error of about
 * K·2⁻⁵³·|F|/eps ≈ 1e-10·K·|F| where F is the scalar value and K a small count of roundings; with
 * |F| ≲ 10² that stays well below 1e-7 absolute, while a wrong gradient rule is off by O(1). So
 * rtol 1e-6 plus atol 1e-7 separates "correct" from "wrong" by several orders of magnitude.
 */
export function gradcheck(
  f: (...xs: Tensor[]) => Tensor,
  inputs: readonly Tensor[],
  { eps = 1e-6, rtol = 1e-6, atol = 1e-7, wrt, seed = 12345 }: GradcheckOptions = {},
): { analytic: Float64Array[]; numeric: Float64Array[] } {
  for (const [i, x] of inputs.entries()) {
    if (x.backend.name !== 'ref') throw new Error(`gradcheck: input ${i} lives on ${x.backend.name}; gradcheck runs on ref (float64)`);
  }
  const outShape = tidy(() => [...f(...inputs).shape]);
  const outSize = outShape.reduce((p, d) => p * d, 1);
  const r = outSize === 1 ? null : randomTensor(random.key(seed), outShape);
  const scalarF = (xs: readonly Tensor[]): Tensor => (r ? sum(mul(f(...xs), r)) : f(...xs));
  const evaluate = (xs: readonly Tensor[]): number => tidy(() => f64(scalarF(xs))[0]!);
  const which = wrt ?? inputs.map((_, i) => i);

  const { value, grads } = valueAndGrad((ps: Tensor[]) => scalarF(ps))([...inputs]);
  const analytic = which.map((i) => Float64Array.from(f64(grads[i]!)));
  value.dispose();
  grads.forEach((g) => g.dispose());

  const numeric = which.map((i) => {
    const x = inputs[i]!;
    const base = f64(x);
    const out = new Float64Array(x.size);
    for (let j = 0; j < x.size; j++) {
      const plus = Float64Array.from(base);
      const minus = Float64Array.from(base);
      plus[j] = base[j]! + eps;
      minus[j] = base[j]! - eps;
      const at = (data: Float64Array): number => {
        const xj = tensor(data, x.shape, x.backend);
        try {
          return evaluate(inputs.map((y, k) => (k === i ? xj : y)));
        } finally {
          xj.dispose();
        }
      };
      out[j] = (at(plus) - at(minus)) / (plus[j]! - minus[j]!);
    }
    return out;
  });
  r?.dispose();
  which.forEach((i, n) => {
    allclose(analytic[n]!, numeric[n]!, { rtol, atol }, `gradcheck: d/d(input ${i}) [shape ${inputs[i]!.shape}] reverse-mode vs finite differences`);
  });
  return { analytic, numeric };
}

/** Asserts that `fn` leaves the live tensor count and bytes unchanged; returns fn's result. */
export function expectNoLeak<T>(fn: () => T, what = 'expectNoLeak'): T {
  const before = memory();
  const result = fn();
  const after = memory();
  if (after.tensors !== before.tensors || after.bytes !== before.bytes) {
    throw new Error(`${what}: memory() went from ${before.tensors} tensors / ${before.bytes} bytes to ${after.tensors} / ${after.bytes}`);
  }
  return result;
}

/** Runs `fn` with backend `name` current (it must be initialised), then restores the previous one. */
export function withBackend<T>(name: BackendName, fn: () => T): T {
  const previous = getBackend().name;
  setBackend(name);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    setBackend(previous);
    throw e;
  }
  if (result instanceof Promise) return result.finally(() => setBackend(previous)) as T;
  setBackend(previous);
  return result;
}
