/**
 * Index-map primitives. `gather` reads x at a static index per output element; `scatterAdd` is its
 * adjoint. They serve the moves no strided view describes: the group action on pixels and tensor
 * components (flips and rotations with signs) and diagonal extraction for contractions, whose index
 * maps are computed once in TypeScript. Permutations, slices, broadcasts and repeats are strided
 * copies (ops/strided.ts) and build no map.
 *
 * `blocks`: x and the output are read as `blocks` equal consecutive blocks and the map applies to
 * each block alike (out[b, i] = x[b, index[i]]). Maps on trailing axes — a slice of the channels,
 * a permutation after the batch axis — then cover one block, not the whole tensor: their size, and
 * the host and device memory they take, no longer grows with the batch.
 */
import { run } from '../engine.js';
import { argError, check } from '../core/errors.js';
import { checkShape, normAxis, sizeOf, type Shape } from '../core/shape.js';
import { tidy, type Tensor } from '../tensor.js';
import { concat } from './concat.js';
import { indexRuns, stepAlong } from './strided.js';
import type { OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /**
     * out[b, i] = x[b, index[i]] (0 where index[i] = -1) with x and out read as `blocks` equal blocks
     * (blocks = 1: out.flat[i] = x.flat[index[i]]); out has `shape`.
     */
    gather: { readonly shape: Shape; readonly index: Int32Array; readonly blocks: number };
    /** out = zeros(shape); out[b, index[i]] += x[b, i] (skipped where index[i] = -1), per block. */
    scatterAdd: { readonly shape: Shape; readonly index: Int32Array; readonly blocks: number };
  }
}

/**
 * Each index map's source size when it was validated, and a fingerprint of its contents at its first
 * use. Backends keep device copies per Int32Array (wasm, webgpu), so a map edited after use would
 * silently run stale: the fingerprint, re-taken on every call (one pass, like the range check it
 * replaces for known maps), turns that into an error instead.
 */
const checked = new WeakMap<Int32Array, { srcLen: number; hash: number }>();

/** FNV-1a over the 32-bit entries. */
function fingerprint(index: Int32Array): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < index.length; i++) h = Math.imul(h ^ index[i]!, 0x01000193);
  return h >>> 0;
}

function checkIndex(op: string, index: Int32Array, blocks: number, outTotal: number, srcTotal: number): void {
  check(Number.isInteger(blocks) && blocks >= 0, op, 'blocks', 'an integer >= 0', blocks);
  if (blocks === 0) {
    // Leading axes of size 0 (an empty batch): nothing to read or write.
    check(outTotal === 0 && srcTotal === 0, op, 'blocks', `>= 1 for non-empty tensors (sizes ${outTotal} and ${srcTotal})`, blocks);
    return;
  }
  check(outTotal % blocks === 0 && srcTotal % blocks === 0, op, 'blocks', `a divisor of both sizes (${outTotal} and ${srcTotal})`, blocks);
  const outLen = outTotal / blocks;
  const srcLen = srcTotal / blocks;
  check(index instanceof Int32Array, op, 'index', 'an Int32Array', typeof index);
  check(index.length === outLen, op, 'index length', `${outLen}`, index.length);
  const hash = fingerprint(index);
  const seen = checked.get(index);
  if (seen) {
    if (seen.hash !== hash) {
      argError(
        op,
        'index',
        'unchanged after its first use (index maps are immutable: backends cache their copies per array; pass a new Int32Array)',
        'an array modified since',
      );
    }
    if (seen.srcLen === srcLen) return;
  }
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j < -1 || j >= srcLen) argError(op, `index[${i}]`, `in [-1, ${srcLen})`, j);
  }
  checked.set(index, { srcLen, hash });
}

export const gatherDef: OpDef<'gather'> = {
  name: 'gather',
  outShape([x], { shape, index, blocks }) {
    checkShape('gather', 'shape', shape);
    checkIndex('gather', index, blocks, sizeOf(shape), sizeOf(x!));
    return shape;
  },
  vjp: (dy, [x], _y, { index, blocks }, [need]) => [need ? scatterAdd(dy, x!.shape, index, blocks) : null],
  reads: () => [false, false],
};

export const scatterAddDef: OpDef<'scatterAdd'> = {
  name: 'scatterAdd',
  outShape([x], { shape, index, blocks }) {
    checkShape('scatterAdd', 'shape', shape);
    checkIndex('scatterAdd', index, blocks, sizeOf(x!), sizeOf(shape));
    return shape;
  },
  vjp: (dy, [x], _y, { index, blocks }, [need]) => [need ? gather(dy, x!.shape, index, blocks) : null],
  reads: () => [false, false],
};

/**
 * out[i] = x[index[i]] over flat data, giving `shape`; with `blocks` > 1 the map is applied to each of that many equal leading blocks. Index maps are immutable once used (memoised per array).
 * @example
 * gather(tensor([10, 20, 30]), [2], new Int32Array([2, 0])); // [30, 10]
 */
export function gather(x: Tensor, shape: Shape, index: Int32Array, blocks = 1): Tensor {
  return run(gatherDef, [x], { shape, index, blocks });
}

/**
 * The adjoint of gather: out[index[i]] += x[i], out of `shape`.
 * @example
 * scatterAdd(tensor([1, 2]), [3], new Int32Array([2, 2])); // [0, 0, 3]
 */
export function scatterAdd(x: Tensor, shape: Shape, index: Int32Array, blocks = 1): Tensor {
  return run(scatterAddDef, [x], { shape, index, blocks });
}

/**
 * Memoised index maps: layers call the same permutations, slices and broadcasts with the same shapes
 * every step, so each map is built once in TypeScript and then reused — the same Int32Array, which
 * also lets backends cache their device copy. Bounded least-recently-used by bytes. The static data
 * that goes with a map (the signs of a group action) may be memoised beside it.
 */
const memo = new Map<string, Int32Array | Float32Array>();
let memoBytes = 0;
const MEMO_LIMIT = 64 << 20;

export function memoIndex<T extends Int32Array | Float32Array = Int32Array>(key: string, build: () => T): T {
  const hit = memo.get(key) as T | undefined;
  if (hit) {
    memo.delete(key);
    memo.set(key, hit);
    return hit;
  }
  const index = build();
  memo.set(key, index);
  memoBytes += index.byteLength;
  for (const [k, v] of memo) {
    if (memoBytes <= MEMO_LIMIT || memo.size <= 1) break;
    memo.delete(k);
    memoBytes -= v.byteLength;
  }
  return index;
}

/**
 * Index map for y[j...] = x[...] where `source(outCoord)` gives the flat source index or -1.
 * @example
 * const flipRows = indexMap([2, 3], ([i, j]) => (1 - i!) * 3 + j!); // y[i, j] = x[1 − i, j]
 * gather(tensor([1, 2, 3, 4, 5, 6], [2, 3]), [2, 3], flipRows); // [[4, 5, 6], [1, 2, 3]]
 */
export function indexMap(shape: Shape, source: (coord: number[]) => number): Int32Array {
  const index = new Int32Array(sizeOf(shape));
  const coord = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < index.length; i++) {
    index[i] = source(coord);
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++coord[d]! < shape[d]!) break;
      coord[d] = 0;
    }
  }
  return index;
}

// Permutations, slices and column selections are views: strided copies (ops/strided.ts), no map.
export { permute, slice } from './strided.js';

/**
 * The entries at `indices` along `axis`, in that order (NumPy take): one strided copy per run of
 * evenly spaced increasing indices (one copy for a range), concatenated when there are several
 * runs. No index map, so a different list each call (a training batch) leaves nothing behind.
 * @example
 * take(tensor([1, 2, 3, 4, 5, 6], [3, 2]), 0, [2, 0]); // [[5, 6], [1, 2]]
 */
export function take(x: Tensor, axis: number, indices: readonly number[]): Tensor {
  const a = normAxis('take', axis, x.shape.length);
  const n = x.shape[a]!;
  check(Array.isArray(indices) && indices.every((c) => Number.isInteger(c) && c >= 0 && c < n), 'take', 'indices', `integers in [0, ${n})`, indices);
  const runs = indexRuns(indices);
  if (runs.length <= 1) return stepAlong(x, a, runs[0]?.start ?? 0, runs[0]?.step ?? 1, runs[0]?.count ?? 0);
  return tidy(() =>
    concat(
      runs.map((r) => stepAlong(x, a, r.start, r.step, r.count)),
      a,
    ),
  );
}

/** The `columns` of the last axis, in order (`take` on the last axis). */
export function selectColumns(x: Tensor, columns: readonly number[]): Tensor {
  check(x.shape.length > 0, 'selectColumns', 'x', 'a tensor with at least one axis', x.shape);
  return take(x, -1, columns);
}
