/** Parity cases of the strided copy (src/ops/strided.ts); see test/shared/op-cases.ts. */
import { strided, type Tensor } from '../../../src/index.js';
import type { OpCase } from '../op-cases.js';

const view = (offset: number, strides: number[]) => ({ offset, strides });
const copy =
  (shape: number[], extents: number[], src: [number, number[]], dst: [number, number[]]) =>
  ([x]: Tensor[]) =>
    strided(x!, shape, extents, view(...src), view(...dst));

export const cases: OpCase[] = [
  {
    op: 'strided',
    name: 'strided: a permutation',
    inputs: [[3, 4, 5]],
    run: copy([5, 3, 4], [5, 3, 4], [0, [1, 20, 5]], [0, [12, 4, 1]]),
    check: { exact: true },
  },
  { op: 'strided', name: 'strided: a slice with an offset', inputs: [[6, 7]], run: copy([3, 4], [3, 4], [9, [14, 1]], [0, [4, 1]]), check: { exact: true } },
  { op: 'strided', name: 'strided: a broadcast (source stride 0)', inputs: [[5]], run: copy([4, 5], [4, 5], [0, [0, 1]], [0, [5, 1]]), check: { exact: true } },
  {
    op: 'strided',
    name: 'strided: a summing view (destination stride 0)',
    inputs: [[3, 4, 5]],
    run: copy([4, 5], [3, 4, 5], [0, [20, 5, 1]], [0, [0, 5, 1]]),
    check: { depth: 3 },
  },
  {
    op: 'strided',
    name: 'strided: nearest-neighbour repeat into a larger output',
    inputs: [[2, 3]],
    run: copy([4, 6], [2, 2, 3, 2], [0, [3, 0, 1, 0]], [0, [12, 6, 2, 1]]),
    check: { exact: true },
  },
  { op: 'strided', name: 'strided: nothing copied', inputs: [[4]], run: copy([3], [0], [0, [1]], [0, [1]]), check: { exact: true } },
];
