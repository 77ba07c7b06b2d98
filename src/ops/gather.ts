/**
 * Index-map primitives. `gather` reads x at a static index per output element; `scatterAdd` is its
 * adjoint. Permutations, flips, slices, broadcasts, the group action on pixels and tensor
 * components, and diagonal extraction for contractions are all gathers whose index maps are
 * computed once in TypeScript.
 *
 * `blocks`: x and the output are read as `blocks` equal consecutive blocks and the map applies to
 * each block alike (out[b, i] = x[b, index[i]]). Maps on trailing axes — a slice of the channels,
 * a permutation after the batch axis — then cover one block, not the whole tensor: their size, and
 * the host and device memory they take, no longer grows with the batch.
 */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { checkShape, normAxis, sizeOf, stridesOf, type Shape } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import type { OpDef } from './op.js';

/** Source sizes each index map was already checked against (memoised maps are checked once). */
const checked = new WeakMap<Int32Array, number>();

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
  if (checked.get(index) === srcLen) return;
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j < -1 || j >= srcLen) argError(op, `index[${i}]`, `in [-1, ${srcLen})`, j);
  }
  checked.set(index, srcLen);
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

/**
 * Axis permutation: y.shape[i] = x.shape[perm[i]]. Leading axes left in place are blocks.
 * @example
 * permute(tensor([1, 2, 3, 4, 5, 6], [2, 3]), [1, 0]); // the transpose [[1, 4], [2, 5], [3, 6]]
 */
export function permute(x: Tensor, perm: readonly number[]): Tensor {
  const r = x.shape.length;
  check(perm.length === r && [...perm].sort((a, b) => a - b).every((p, i) => p === i), 'permute', 'perm', `a permutation of 0..${r - 1}`, perm);
  const shape = perm.map((p) => x.shape[p]!);
  let lead = 0;
  while (lead < r && perm[lead] === lead) lead++;
  if (lead === r) return x.reshape(shape);
  const inner = x.shape.slice(lead);
  const innerPerm = perm.slice(lead).map((p) => p - lead);
  const src = stridesOf(inner);
  const index = memoIndex(`permute ${inner} | ${innerPerm}`, () => indexMap(innerPerm.map((p) => inner[p]!), (c) => c.reduce((s, v, i) => s + v * src[innerPerm[i]!]!, 0)));
  return gather(x, shape, index, sizeOf(x.shape.slice(0, lead)));
}

/**
 * The `columns` of the last axis, in order: one memoised map of one row applied to every row
 * (blocks), so it neither grows with the batch nor is rebuilt per call.
 */
export function selectColumns(x: Tensor, columns: readonly number[]): Tensor {
  const W = x.shape.at(-1)!;
  const index = memoIndex(`columns ${W} | ${columns}`, () => Int32Array.from(columns));
  return gather(x, [...x.shape.slice(0, -1), columns.length], index, W === 0 ? 0 : x.size / W);
}

/**
 * x[..., start:start+length, ...] along `axis` (the axes before it are blocks).
 * @example
 * slice(tensor([0, 1, 2, 3, 4, 5], [2, 3]), 1, 1, 2); // columns 1..2: [[1, 2], [4, 5]]
 */
export function slice(x: Tensor, axis: number, start: number, length: number): Tensor {
  const a = normAxis('slice', axis, x.shape.length);
  if (!(Number.isInteger(start) && Number.isInteger(length) && start >= 0 && length >= 0 && start + length <= x.shape[a]!)) {
    argError('slice', 'range', `within [0, ${x.shape[a]}] on axis ${a} of ${show(x.shape)}`, [start, start + length]);
  }
  const shape = x.shape.map((d, i) => (i === a ? length : d));
  const rest = sizeOf(x.shape.slice(a + 1));
  const index = memoIndex(`slice ${x.shape[a]} ${rest} | ${start} ${length}`, () => indexMap([length, rest], ([i, j]) => (i! + start) * rest + j!));
  return gather(x, shape, index, sizeOf(x.shape.slice(0, a)));
}
