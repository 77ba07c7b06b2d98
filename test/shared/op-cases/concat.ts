/** Parity cases of concat (src/ops/concat.ts); see test/shared/op-cases.ts. */
import { concat } from '../../../src/index.js';
import type { OpCase } from '../op-cases.js';

const AXES: [number[][], number][] = [
  [[[3], [4], [1]], 0],
  [
    [
      [2, 3],
      [2, 5],
    ],
    1,
  ],
  [
    [
      [2, 3],
      [4, 3],
    ],
    0,
  ],
  [
    [
      [2, 0, 4],
      [2, 3, 4],
      [2, 1, 4],
    ],
    1,
  ],
  [
    [
      [3, 2, 2],
      [3, 2, 2],
      [3, 2, 2],
      [3, 2, 2],
      [3, 2, 2],
    ],
    2,
  ],
  [[[1, 70000]], 0], // one long input: WebGPU spreads it over a 2D grid of workgroups
];

export const cases: OpCase[] = AXES.map(([shapes, axis]) => ({
  op: 'concat',
  name: `concat ${JSON.stringify(shapes)} along ${axis}`,
  inputs: shapes,
  run: (xs) => concat(xs, axis),
  check: { exact: true },
}));
