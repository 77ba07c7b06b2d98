/**
 * The strided copy: one primitive for every data movement that a view describes — permutations,
 * slices, broadcasts, nearest-neighbour repeats. Its parameters are shapes, strides and offsets, so
 * nothing proportional to the tensor is built on the host, cached or uploaded (unlike an index map
 * for `gather`, which stays for the group action and contractions, whose maps are not affine).
 *
 * out = zeros(shape); for each point i of `extents`:
 *   out.flat[dstOffset + Σ i·dstStrides] += x.flat[srcOffset + Σ i·srcStrides]
 * Both views must be provably non-overlapping apart from their stride-0 axes (src stride 0 reads one
 * element many times: a broadcast; dst stride 0 sums many into one: its adjoint). The adjoint of the
 * copy is then the same copy with the two views swapped, so the gradient of a broadcast sums.
 */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { broadcastShapes, broadcastStrides, checkShape, normAxis, sameShape, sizeOf, stridesOf, type Shape } from '../core/shape.js';
import { nestedInjective, viewReach, type StridedView } from '../core/strided.js';
import type { Tensor } from '../tensor.js';
import type { OpAttrs, OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /**
     * Strided copy: out = zeros(shape); for every point i of `extents`,
     * out.flat[dstOffset + Σ i·dstStrides] += x.flat[srcOffset + Σ i·srcStrides]. Permutations,
     * slices, broadcasts (src stride 0) and nearest-neighbour repeats are views of this one form,
     * and its adjoint is the same form with the two views swapped (dst stride 0 sums).
     */
    strided: {
      readonly shape: Shape;
      readonly extents: readonly number[];
      readonly srcOffset: number;
      readonly srcStrides: readonly number[];
      readonly dstOffset: number;
      readonly dstStrides: readonly number[];
    };
  }
}

function checkView(side: 'src' | 'dst', rank: number, offset: number, strides: readonly number[]): void {
  check(Number.isInteger(offset) && offset >= 0, 'strided', `${side}Offset`, 'an integer >= 0', offset);
  check(
    Array.isArray(strides) && strides.length === rank && strides.every((s) => Number.isInteger(s) && s >= 0),
    'strided',
    `${side}Strides`,
    `${rank} integers >= 0 (one per extent)`,
    strides,
  );
}

export const stridedDef: OpDef<'strided'> = {
  name: 'strided',
  outShape([x], { shape, extents, srcOffset, srcStrides, dstOffset, dstStrides }) {
    checkShape('strided', 'shape', shape);
    checkShape('strided', 'extents', extents);
    checkView('src', extents.length, srcOffset, srcStrides);
    checkView('dst', extents.length, dstOffset, dstStrides);
    if (sizeOf(extents) === 0) return shape;
    const nIn = sizeOf(x!);
    const nOut = sizeOf(shape);
    const srcEnd = viewReach(extents, { offset: srcOffset, strides: srcStrides });
    const dstEnd = viewReach(extents, { offset: dstOffset, strides: dstStrides });
    if (srcEnd >= nIn) argError('strided', 'source view', `within the ${nIn} elements of x ${show(x)}`, `offsets up to ${srcEnd}`);
    if (dstEnd >= nOut) argError('strided', 'destination view', `within the ${nOut} elements of shape ${show(shape)}`, `offsets up to ${dstEnd}`);
    // Both views, not only dst: the adjoint writes through src.
    check(nestedInjective(extents, dstStrides), 'strided', 'dstStrides', `non-overlapping over extents ${show(extents)} apart from stride-0 axes`, dstStrides);
    check(
      nestedInjective(extents, srcStrides),
      'strided',
      'srcStrides',
      `non-overlapping over extents ${show(extents)} apart from stride-0 axes (overlapping windows: use gather)`,
      srcStrides,
    );
    return shape;
  },
  vjp: (dy, [x], _y, a, [need]) => [need ? run(stridedDef, [dy], adjointAttrs(a, x!.shape)) : null],
  reads: () => [false, false],
};

/** The adjoint copy: read through dst, write (summing where src repeats) through src into `xShape`. */
function adjointAttrs(a: OpAttrs['strided'], xShape: Shape): OpAttrs['strided'] {
  return {
    shape: xShape,
    extents: a.extents,
    srcOffset: a.dstOffset,
    srcStrides: a.dstStrides,
    dstOffset: a.srcOffset,
    dstStrides: a.srcStrides,
  };
}

/**
 * The strided copy (see the module comment): `extents` points, read from x through `src`, written
 * into a zero tensor of `shape` through `dst` (default: row-major over `extents`, i.e. shape =
 * extents). Views are element offsets and strides over the flat data.
 * @example
 * const x = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * strided(x, [3, 2], [3, 2], { offset: 0, strides: [1, 3] }); // the transpose, [[1, 4], [2, 5], [3, 6]]
 */
export function strided(
  x: Tensor,
  shape: Shape,
  extents: readonly number[],
  src: StridedView,
  dst: StridedView = { offset: 0, strides: stridesOf(extents) },
): Tensor {
  return run(stridedDef, [x], {
    shape,
    extents,
    srcOffset: src.offset,
    srcStrides: src.strides,
    dstOffset: dst.offset,
    dstStrides: dst.strides,
  });
}

/** Reads `shape` (row-major) from x through `src`; a view that is x itself in order becomes a reshape. */
function view(x: Tensor, shape: Shape, src: StridedView): Tensor {
  const n = sizeOf(shape);
  const identity = n === x.size && src.offset === 0 && stridesOf(shape).every((s, d) => shape[d] === 1 || s === src.strides[d]);
  return identity ? x.reshape(shape) : strided(x, shape, shape, src);
}

/**
 * Axis permutation: y.shape[i] = x.shape[perm[i]] (one strided copy; no index map).
 * @example
 * permute(tensor([1, 2, 3, 4, 5, 6], [2, 3]), [1, 0]); // the transpose [[1, 4], [2, 5], [3, 6]]
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const r = x.shape.length;
  check(
    Array.isArray(perm) && perm.length === r && [...perm].sort((a, b) => a - b).every((p, i) => p === i),
    'permute',
    'perm',
    `a permutation of 0..${r - 1}`,
    perm,
  );
  const src = stridesOf(x.shape);
  return view(
    x,
    perm.map((p) => x.shape[p]!),
    { offset: 0, strides: perm.map((p) => src[p]!) },
  );
}

/**
 * x[..., start:start+length, ...] along `axis` (one strided copy; no index map).
 * @example
 * slice(tensor([0, 1, 2, 3, 4, 5], [2, 3]), 1, 1, 2); // columns 1..2: [[1, 2], [4, 5]]
 */
export function slice(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('slice', axis, x.shape.length);
  if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 0 && start + length <= x.shape[a]!)) {
    argError('slice', 'range', `within [0, ${x.shape[a]}] on axis ${a} of ${show(x.shape)}`, [start, start + length]);
  }
  const strides = stridesOf(x.shape);
  return view(
    x,
    x.shape.map((d, i) => (i === a ? length : d)),
    { offset: start * strides[a]!, strides },
  );
}

/**
 * Broadcasts x to `shape` NumPy style, materialised (stride 0 on the repeated axes; its gradient sums).
 * @example
 * broadcastTo(tensor([1, 2, 3]), [2, 3]); // [[1, 2, 3], [1, 2, 3]]
 */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (!sameShape(broadcastShapes('broadcastTo', x.shape, shape), shape)) argError('broadcastTo', 'shape', `a shape that ${show(x.shape)} broadcasts to`, shape);
  return view(x, shape, { offset: 0, strides: broadcastStrides(x.shape, shape) });
}

/**
 * Nearest-neighbour upsampling: every element is repeated `factor` times along each of `axes`
 * (y.shape[a] = factor · x.shape[a]). One strided copy over x's axes split as (n, factor), the
 * factor part of stride 0; its gradient sums each factor^|axes| block.
 * @example
 * upsample(tensor([1, 2], [1, 2]), [1], 2); // [[1, 1, 2, 2]]
 */
export function upsample(x: Tensor, axes: readonly number[], factor: number): Tensor {
  check(Number.isInteger(factor) && factor >= 1, 'upsample', 'factor', 'an integer >= 1', factor);
  const set = new Set(axes.map((a) => normAxis('upsample', a, x.shape.length)));
  check(set.size === axes.length, 'upsample', 'axes', 'distinct axes', axes);
  const src = stridesOf(x.shape);
  const extents: number[] = [];
  const strides: number[] = [];
  x.shape.forEach((n, d) => {
    extents.push(n);
    strides.push(src[d]!);
    if (set.has(d)) {
      extents.push(factor);
      strides.push(0);
    }
  });
  const shape = x.shape.map((n, d) => (set.has(d) ? n * factor : n));
  if (factor === 1) return x.reshape(shape);
  // Row-major over the split extents is row-major over `shape`: the default destination.
  return strided(x, shape, extents, { offset: 0, strides });
}

/**
 * Splits a list of indices into runs of evenly spaced, increasing indices (a range is one run of
 * step 1): `take` and `selectColumns` copy each run with one strided copy.
 */
export function indexRuns(indices: readonly number[]): { start: number; step: number; count: number }[] {
  const runs: { start: number; step: number; count: number }[] = [];
  for (const c of indices) {
    const r = runs.at(-1);
    const last = r ? r.start + r.step * (r.count - 1) : 0;
    if (r && c > last && (r.count === 1 || c - last === r.step)) {
      if (r.count === 1) r.step = c - last;
      r.count++;
    } else runs.push({ start: c, step: 1, count: 1 });
  }
  return runs;
}

/** x[..., start + step·j, ...] for j < count along `axis` (one strided copy). */
export function stepAlong(x: Tensor, axis: number, start: number, step: number, count: number): Tensor {
  const strides = stridesOf(x.shape);
  const offset = start * strides[axis]!;
  strides[axis] = step * strides[axis]!;
  return view(
    x,
    x.shape.map((d, i) => (i === axis ? count : d)),
    { offset, strides },
  );
}
