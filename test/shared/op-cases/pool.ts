/** Parity cases of argmaxPool and argmaxPoolGrad (src/ops/pool.ts); see test/shared/op-cases.ts. */
import { argmaxPool, argmaxPoolGrad } from '../../../src/index.js';
import { gen, type OpCase } from '../op-cases.js';

// [x shape, patch, T]: D = 1, 2, 3; patch 1 (identity), 2, 3; T = 1, 2, 4. Comparators on a coarse
// grid (ties: the first maximum wins), plus one with NaN (the first NaN of a window wins).
const SHAPES: [number[], number, number][] = [
  [[1, 4, 1], 2, 1],
  [[2, 6, 4, 2], 2, 2],
  [[1, 6, 6, 8], 3, 4],
  [[2, 4, 4, 4, 3], 2, 1],
  [[1, 3, 3, 2], 1, 2],
  [[1, 1, 1, 1], 1, 1],
];
const comparator = (x: number[], T: number) => [...x.slice(0, -1), x.at(-1)! / T];
const pooled = (x: number[], patch: number) => x.map((d, i) => (i === 0 || i === x.length - 1 ? d : d / patch));

export const cases: OpCase[] = [
  ...SHAPES.flatMap(([x, patch, T]): OpCase[] => [
    {
      op: 'argmaxPool',
      name: `argmaxPool [${x}] patch ${patch} T ${T}`,
      inputs: [x, comparator(x, T)],
      values: [undefined, gen.quantised],
      run: ([a, c]) => argmaxPool(a!, c!, patch, T),
      check: { exact: true },
    },
    {
      op: 'argmaxPoolGrad',
      name: `argmaxPoolGrad [${x}] patch ${patch} T ${T}`,
      inputs: [pooled(x, patch), comparator(x, T)],
      values: [undefined, gen.quantised],
      run: ([dy, c]) => argmaxPoolGrad(dy!, c!, patch, T, x),
      check: { exact: true },
    },
  ]),
  // NaN comparators (the first NaN of a window wins), all-equal windows (the first pixel)
  ...[
    [NaN, 1, 2, 0, 5, NaN, 5, 1],
    [0, 0, 0, 0, -Infinity, -Infinity, -Infinity, -Infinity],
    [1, NaN, NaN, 3, 2, 2, 2, 2],
  ].map((c): OpCase => ({
    op: 'argmaxPool',
    name: `argmaxPool comparators ${c}`,
    inputs: [
      [1, 4, 2, 1],
      [1, 4, 2, 1],
    ],
    values: [undefined, gen.of(...c)],
    run: ([a, cmp]) => argmaxPool(a!, cmp!, 2, 1),
    check: { exact: true },
  })),
];
