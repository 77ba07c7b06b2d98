/** Parity cases of matmul (src/ops/matmul.ts); see test/shared/op-cases.ts. */
import { matmul } from '../../../src/index.js';
import type { OpCase } from '../op-cases.js';

// [a, b, transA, transB]: tiles and their tails, k = 1, transposes, broadcast batch axes, k = 0.
const SHAPES: [number[], number[], boolean, boolean][] = [
  [[1, 1], [1, 1], false, false],
  [[5, 1], [1, 7], false, false],
  [[13, 19], [19, 21], false, false],
  [[19, 13], [19, 21], true, false],
  [[13, 19], [21, 19], false, true],
  [[19, 13], [21, 19], true, true],
  [[2, 1, 9, 6], [3, 6, 5], false, false],
  [[4, 3, 17], [17, 6], false, false],
  [[70, 33], [33, 90], false, false],
  [[2, 0], [0, 3], false, false],
];

export const cases: OpCase[] = SHAPES.map(([a, b, ta, tb]) => ({
  op: 'matmul',
  name: `matmul [${a}]${ta ? 'ᵀ' : ''} · [${b}]${tb ? 'ᵀ' : ''}`,
  inputs: [a, b],
  run: ([x, y]) => matmul(x!, y!, ta, tb),
  check: { depth: Math.max(1, ta ? a.at(-2)! : a.at(-1)!) },
}));
