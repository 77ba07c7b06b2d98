/** Parity cases of gather and scatterAdd (src/ops/gather.ts); see test/shared/op-cases.ts. */
import { gather, scatterAdd } from '../../../src/index.js';
import type { OpCase } from '../op-cases.js';

const map = (n: number, f: (i: number) => number) => Int32Array.from({ length: n }, (_, i) => f(i));
const repeats = map(24, (i) => ((i * 5) % 7) - (i % 6 === 0 ? 1 : 0)); // 7 outputs, fan-in up to 4, some −1

export const cases: OpCase[] = [
  {
    op: 'gather',
    name: 'gather: a permutation',
    inputs: [[60]],
    run: ([x]) =>
      gather(
        x!,
        [5, 12],
        map(60, (i) => (i * 7) % 60),
      ),
    check: { exact: true },
  },
  {
    op: 'gather',
    name: 'gather: −1 entries, repeats, every tail length',
    inputs: [[50]],
    run: ([x]) =>
      gather(
        x!,
        [37],
        map(37, (i) => (i % 3 === 0 ? -1 : (i * 11) % 50)),
      ),
    check: { exact: true },
  },
  {
    op: 'gather',
    name: 'gather: 4 blocks',
    inputs: [[4, 5, 3]],
    run: ([x]) => gather(x!, [4, 7], Int32Array.from([14, 0, -1, 7, 7, 3, 12]), 4),
    check: { exact: true },
  },
  {
    op: 'gather',
    name: 'gather: all −1 from an empty source',
    inputs: [[0]],
    run: ([x]) => gather(x!, [3], Int32Array.of(-1, -1, -1)),
    check: { exact: true },
  },
  { op: 'scatterAdd', name: 'scatterAdd: repeated indices and −1', inputs: [[24]], run: ([x]) => scatterAdd(x!, [7], repeats), check: { depth: 4 } },
  {
    op: 'scatterAdd',
    name: 'scatterAdd: an inverse permutation with holes (exact)',
    inputs: [[30]],
    run: ([x]) =>
      scatterAdd(
        x!,
        [40],
        map(30, (i) => (i * 7) % 40),
      ),
    check: { exact: true },
  },
  {
    op: 'scatterAdd',
    name: 'scatterAdd: 4 blocks, repeated indices',
    inputs: [[4, 6]],
    run: ([x]) => scatterAdd(x!, [4, 5], Int32Array.from([4, 0, 4, -1, 2, 4]), 4),
    check: { depth: 3 },
  },
  { op: 'scatterAdd', name: 'scatterAdd: empty map', inputs: [[0]], run: ([x]) => scatterAdd(x!, [5], new Int32Array(0)), check: { exact: true } },
];
