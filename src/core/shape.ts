/** Shape helpers. Shapes are plain arrays of non-negative integers, row-major (C order). */
import { argError, check, show } from './errors.js';
import { limits, showLimit } from './limits.js';

/** A tensor shape: non-negative integer sizes, row-major (last axis fastest). */
export type Shape = readonly number[];

export function sizeOf(shape: Shape): number {
  let n = 1;
  for (const d of shape) n *= d;
  return n;
}

/** Row-major element strides. */
export function stridesOf(shape: Shape): number[] {
  const strides = new Array<number>(shape.length);
  let s = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    strides[i] = s;
    s *= shape[i]!;
  }
  return strides;
}

export function sameShape(a: Shape, b: Shape): boolean {
  return a.length === b.length && a.every((d, i) => d === b[i]);
}

export function checkShape(fn: string, arg: string, shape: unknown): asserts shape is Shape {
  const ok = Array.isArray(shape) && shape.every((d) => Number.isInteger(d) && d >= 0);
  check(ok, fn, arg, 'an array of non-negative integers', shape);
}

/**
 * Checks that a tensor of `shape` may be made: at most limits.maxRank axes and
 * limits.maxTensorElements elements (a clear error instead of "Invalid typed array length" or an
 * out-of-memory crash). Returns the element count.
 */
export function checkSize(fn: string, shape: Shape): number {
  if (shape.length > limits.maxRank) argError(fn, 'shape', `of rank <= ${limits.maxRank} (limits.maxRank)`, `rank ${shape.length}`);
  const n = sizeOf(shape);
  if (n > limits.maxTensorElements) {
    argError(fn, 'shape', `of at most ${showLimit(limits.maxTensorElements)} elements (limits.maxTensorElements)`, `${show(shape)}, ${n} elements`);
  }
  return n;
}

/** NumPy broadcasting of two shapes (trailing axes aligned). */
export function broadcastShapes(fn: string, a: Shape, b: Shape): number[] {
  const rank = Math.max(a.length, b.length);
  const out = new Array<number>(rank);
  for (let i = 0; i < rank; i++) {
    const da = a[a.length - rank + i] ?? 1;
    const db = b[b.length - rank + i] ?? 1;
    if (da !== db && da !== 1 && db !== 1) {
      argError(fn, 'operand shapes', 'broadcast-compatible', `${show(a)} and ${show(b)}`);
    }
    out[i] = da === 1 ? db : da;
  }
  return out;
}

/** Strides of `shape` read as broadcast into `out` (0 on broadcast axes). */
export function broadcastStrides(shape: Shape, out: Shape): number[] {
  const strides = stridesOf(shape);
  const off = out.length - shape.length;
  return out.map((_, i) => (i < off || shape[i - off] === 1 ? 0 : strides[i - off]!));
}

/** Normalises a possibly negative axis index into [0, rank). */
export function normAxis(fn: string, axis: number, rank: number): number {
  check(Number.isInteger(axis) && axis >= -rank && axis < rank, fn, 'axis', `an integer in [${-rank}, ${rank})`, axis);
  return axis < 0 ? axis + rank : axis;
}
