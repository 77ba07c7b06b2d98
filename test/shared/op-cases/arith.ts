/** Parity cases of unary, binary and reduce (src/ops/arith.ts); see test/shared/op-cases.ts. */
import { binary, reduce, unary, type BinaryOp, type UnaryOp } from '../../../src/index.js';
import { gen, type OpCase } from '../op-cases.js';

// exp, log, tanh, sigmoid, gelu are vectorised approximations on wasm and WGSL builtins on webgpu:
// a few float32 ulps, judged relative to |ref| + 1.
const APPROX = new Set<UnaryOp>(['exp', 'log', 'tanh', 'sigmoid', 'gelu', 'geluGrad', 'sqrt', 'recip']);
const UNARY: UnaryOp[] = ['neg', 'abs', 'sign', 'square', 'sqrt', 'recip', 'exp', 'log', 'relu', 'step', 'tanh', 'sigmoid', 'gelu', 'geluGrad'];
const BINARY: BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'ge', 'eq'];

export const cases: OpCase[] = [
  ...UNARY.map((op): OpCase => ({
    op: 'unary',
    name: `unary ${op} (37 values: SIMD tail)`,
    inputs: [[37]],
    values: [op === 'sqrt' || op === 'log' || op === 'recip' ? gen.positive(0.1) : gen.quantised],
    run: ([x]) => unary(op, x!),
    check: APPROX.has(op) ? { rel: 4e-6 } : { exact: true },
  })),
  ...BINARY.flatMap((op): OpCase[] => {
    const values = [gen.quantised, op === 'div' ? gen.positive(0.5) : gen.quantised];
    const check = op === 'div' ? { rel: 4e-7 } : { exact: true as const }; // WGSL's division is within 2.5 ulp
    return [
      {
        op: 'binary',
        name: `binary ${op} same shape`,
        inputs: [
          [3, 11],
          [3, 11],
        ],
        values,
        run: ([a, b]) => binary(op, a!, b!),
        check,
      },
      { op: 'binary', name: `binary ${op} scalar operand`, inputs: [[], [2, 9]], values, run: ([a, b]) => binary(op, a!, b!), check },
      {
        op: 'binary',
        name: `binary ${op} broadcast both ways`,
        inputs: [
          [4, 1, 9],
          [5, 1],
        ],
        values,
        run: ([a, b]) => binary(op, a!, b!),
        check,
      },
    ];
  }),
  { op: 'reduce', name: 'reduce sum over no axis', inputs: [[3, 4]], run: ([x]) => reduce('sum', x!, []), check: { exact: true } },
  { op: 'reduce', name: 'reduce sum axes 0, 2', inputs: [[6, 5, 33]], run: ([x]) => reduce('sum', x!, [0, 2]), check: { depth: 6 * 33 } },
  { op: 'reduce', name: 'reduce sum of 5000 (long row)', inputs: [[2, 5000]], run: ([x]) => reduce('sum', x!, [1]), check: { depth: 5000 } },
  { op: 'reduce', name: 'reduce sum over an empty axis', inputs: [[3, 0, 2]], run: ([x]) => reduce('sum', x!, [1]), check: { exact: true } },
  {
    op: 'reduce',
    name: 'reduce max axis 1 with ties',
    inputs: [[6, 5, 33]],
    values: [gen.quantised],
    run: ([x]) => reduce('max', x!, [1]),
    check: { exact: true },
  },
  { op: 'reduce', name: 'reduce max alternating axes', inputs: [[2, 3, 4, 5]], run: ([x]) => reduce('max', x!, [1, 3]), check: { exact: true } },
];
