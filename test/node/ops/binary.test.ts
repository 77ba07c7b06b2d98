import { describe, expect, it } from 'vitest';
import {
  add,
  addScalar,
  binary,
  div,
  getBackend,
  maximum,
  memory,
  minimum,
  mul,
  random,
  scale,
  sub,
  sum,
  tensor,
  tidy,
  type Backend,
  type BinaryOp,
  type Tensor,
} from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, expectNoLeak, f64, gradcheck, randomTensor, t, t64 } from '../../util.js';

const A = [-2, -0.5, 0, 1.5, 3, 3];
const B = [1, -0.5, 4, 2, -1, 3];
const GOLDEN: Record<BinaryOp, number[]> = {
  add: [-1, -1, 4, 3.5, 2, 6],
  sub: [-3, 0, -4, -0.5, 4, 0],
  mul: [-2, 0.25, 0, 3, -3, 9],
  div: [-2, 1, 0, 0.75, -3, 1],
  max: [1, -0.5, 4, 2, 3, 3],
  min: [-2, -0.5, 0, 1.5, -1, 3],
  ge: [0, 1, 0, 0, 1, 1],
  eq: [0, 1, 0, 0, 0, 1],
};
const OPS = Object.keys(GOLDEN) as BinaryOp[];
const NAMED: Partial<Record<BinaryOp, (a: Tensor, b: Tensor) => Tensor>> = { add, sub, mul, div, max: maximum, min: minimum };

describe('binary: golden values', () => {
  for (const op of OPS) {
    it(op, () => {
      tidy(() => {
        allclose(binary(op, t64(A, [2, 3]), t64(B, [2, 3])), [GOLDEN[op].slice(0, 3), GOLDEN[op].slice(3)], { rtol: 0, atol: 0 });
        if (NAMED[op]) allclose(NAMED[op]!(t64(A), t64(B)), GOLDEN[op], { rtol: 0, atol: 0 });
      });
    });
  }

  it('broadcasts like NumPy', () => {
    tidy(() => {
      // [2,3] + [3]
      allclose(
        add(
          t([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          t([10, 20, 30]),
        ),
        [
          [11, 22, 33],
          [14, 25, 36],
        ],
        { rtol: 0, atol: 0 },
      );
      // [2,1] * [1,3] -> [2,3] (outer product)
      allclose(
        mul(t([[1], [2]]), t([[1, 10, 100]])),
        [
          [1, 10, 100],
          [2, 20, 200],
        ],
        { rtol: 0, atol: 0 },
      );
      // scalar - [2,2], and [2,2] - scalar
      allclose(
        sub(
          tensor([1], []),
          t([
            [1, 2],
            [3, 4],
          ]),
        ),
        [
          [0, -1],
          [-2, -3],
        ],
        { rtol: 0, atol: 0 },
      );
      allclose(
        sub(
          t([
            [1, 2],
            [3, 4],
          ]),
          tensor([1], []),
        ),
        [
          [0, 1],
          [2, 3],
        ],
        { rtol: 0, atol: 0 },
      );
      // [3,1,2] / [4,1] -> [3,4,2]
      const y = div(t([[[1, 2]], [[3, 4]], [[5, 6]]]), t([[1], [2], [4], [8]]));
      expect(y.shape).toEqual([3, 4, 2]);
      const v = f64(y);
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++)
          for (let k = 0; k < 2; k++) {
            expect(v[(i * 4 + j) * 2 + k]).toBe((2 * i + k + 1) / 2 ** j);
          }
      // rank-0 op rank-0
      const s = maximum(tensor([2], []), tensor([-3], []));
      expect(s.shape).toEqual([]);
      expect(f64(s)[0]).toBe(2);
      // zero-size broadcast
      expect(add(tensor([], [0, 3]), t([1, 2, 3])).shape).toEqual([0, 3]);
    });
  });

  it('scale and addScalar', () => {
    tidy(() => {
      allclose(scale(t([1, -2, 3]), 0.5), [0.5, -1, 1.5], { rtol: 0, atol: 0 });
      allclose(
        addScalar(
          t([
            [1, -2],
            [3, 4],
          ]),
          -1,
        ),
        [
          [0, -3],
          [2, 3],
        ],
        { rtol: 0, atol: 0 },
      );
    });
  });

  it('IEEE special values: x/0, max with NaN follows the a >= b rule', () => {
    tidy(() => {
      allclose(div(t([1, -1, 0]), t([0, 0, 0])), [Infinity, -Infinity, NaN]);
      // max(a, b) = a >= b ? a : b, so a NaN in a gives b and a NaN in b gives NaN.
      allclose(maximum(t([NaN, 1]), t([1, NaN])), [1, NaN]);
    });
  });
});

describe('binary: gradients (finite differences, f64 on ref)', () => {
  const pairs: [number[], number[]][] = [
    [
      [2, 3],
      [2, 3],
    ],
    [[2, 3], [3]],
    [
      [2, 1],
      [1, 3],
    ],
    [[], [2, 2]],
    [
      [3, 1, 2],
      [4, 1],
    ],
  ];
  for (const op of OPS) {
    for (const [sa, sb] of pairs) {
      it(`${op} ${JSON.stringify(sa)} with ${JSON.stringify(sb)}`, () => {
        const a = randomTensor(random.key(1), sa, { lo: -2, hi: 2 });
        // Divisors bounded away from 0; max/min/ge/eq operands never tie (checked below), so all
        // of them are differentiable at the test point.
        const b = op === 'div' ? randomTensor(random.key(2), sb, { lo: 0.5, hi: 2 }) : randomTensor(random.key(2), sb, { lo: -2, hi: 2 });
        const gap = tidy(() => Math.min(...Array.from(f64(sub(a, b)), Math.abs)));
        expect(gap).toBeGreaterThan(1e-6);
        gradcheck((x, y) => binary(op, x, y), [a, b]);
        a.dispose();
        b.dispose();
      });
    }
  }

  it('max/min send the whole cotangent to a on ties', () => {
    const a = t([1, 2, 3]);
    const b = t([1, 0, 5]);
    for (const [f, da, db] of [
      [maximum, [1, 1, 0], [0, 0, 1]],
      [minimum, [1, 0, 1], [0, 1, 0]],
    ] as const) {
      const { value, grads } = valueAndGrad((p: Tensor[]) => sum(f(p[0]!, p[1]!)))([a, b]);
      expect(Array.from(f64(grads[0]!))).toEqual(da);
      expect(Array.from(f64(grads[1]!))).toEqual(db);
      value.dispose();
      grads.forEach((g) => g.dispose());
    }
    a.dispose();
    b.dispose();
  });

  it('a broadcast operand gets its cotangent summed (sumTo)', () => {
    const a = t([
      [1, 2, 3],
      [4, 5, 6],
    ]);
    const b = t([[10], [20]]);
    const { value, grads } = valueAndGrad((p: Tensor[]) => sum(mul(p[0]!, p[1]!)))([a, b]);
    expect(grads[1]!.shape).toEqual([2, 1]);
    allclose(
      grads[0]!,
      [
        [10, 10, 10],
        [20, 20, 20],
      ],
      { rtol: 0, atol: 0 },
    );
    allclose(grads[1]!, [[6], [15]], { rtol: 0, atol: 0 });
    value.dispose();
    grads.forEach((g) => g.dispose());
    a.dispose();
    b.dispose();
  });

  it('scale', () => {
    const x = randomTensor(random.key(3), [2, 3]);
    try {
      gradcheck((v) => scale(v, -1.5), [x]);
    } finally {
      x.dispose();
    }
  });

  it('addScalar', () => {
    const x = randomTensor(random.key(4), [3]);
    try {
      // addScalar disposes its constant too, but add's rule never reads its inputs' data, so it works.
      gradcheck((v) => addScalar(v, 2), [x]);
    } finally {
      x.dispose();
    }
  });
});

describe('binary: bad input', () => {
  it('incompatible shapes name the op and both shapes', () => {
    tidy(() => {
      expect(() =>
        add(
          t([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          t([1, 2, 3, 4]),
        ),
      ).toThrow(/add: operand shapes must be broadcast-compatible \(got "\[2,3\] and \[4\]"\)/);
      expect(() => mul(tensor([0, 0, 0, 0, 0, 0], [3, 2]), tensor([0, 0, 0], [3]))).toThrow(
        /mul: operand shapes must be broadcast-compatible \(got "\[3,2\] and \[3\]"\)/,
      );
    });
  });

  it('inputs on different backends are refused, naming both', () => {
    const other: Backend = { ...getBackend('ref'), name: 'wasm' };
    const a = tensor([1, 2]);
    const b = tensor([3, 4], [2], other);
    expect(() => add(a, b)).toThrow(/binary: inputs live on different backends \(ref and wasm\)/);
    a.dispose();
    b.dispose();
  });

  it('an unknown op is rejected by name', () => {
    const a = tensor([1, 2]);
    try {
      expect(() => binary('pow' as BinaryOp, a, a)).toThrow(/binary: op must be one of .*\(got "pow"\)/);
    } finally {
      a.dispose();
    }
  });

  it('a failed op inside tidy leaves no tensors behind', () => {
    const a = tensor([1, 2]);
    const before = memory();
    try {
      tidy(() => {
        add(a, a);
        add(a, tensor([1, 2, 3]));
      });
    } catch {
      // expected: incompatible shapes
    }
    expect(memory()).toEqual(before);
    a.dispose();
  });
});

describe('binary: memory', () => {
  it('every op under tidy leaves memory() unchanged', () => {
    const a = randomTensor(random.key(5), [2, 3]);
    const b = randomTensor(random.key(6), [3]);
    for (const op of OPS)
      expectNoLeak(
        () =>
          tidy(() => {
            binary(op, a, b);
            binary(op, b, a);
          }),
        op,
      );
    expectNoLeak(
      () =>
        tidy(() => {
          scale(a, 2);
          addScalar(b, 1);
        }),
      'scale/addScalar',
    );
    expectNoLeak(() => {
      scale(a, 3).dispose();
      addScalar(a, 3).dispose();
    }, 'scale/addScalar disposed');
    a.dispose();
    b.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const a = randomTensor(random.key(7), [2, 3]);
    const b = randomTensor(random.key(8), [2, 1]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: { a: Tensor; b: Tensor }) => sum(div(mul(p.a, p.b), maximum(p.a, p.b))))({ a, b });
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.a.dispose();
    grads.b.dispose();
    expect(memory()).toEqual(before);
    a.dispose();
    b.dispose();
  });
});
