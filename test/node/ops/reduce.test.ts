import { describe, expect, it } from 'vitest';
import { max, mean, memory, random, reduce, sum, tensor, tidy, type ReduceOp, type Tensor } from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, arange, expectNoLeak, f64, gradcheck, randomTensor, t, t64 } from '../../util.js';

/** arange(24) as [2,3,4]: x[i,j,k] = 12i + 4j + k. */
const X = () => t64(arange(24), [2, 3, 4]);

describe('reduce: golden values', () => {
  it('sum over every axis set of a [2,3,4] arange', () => {
    tidy(() => {
      const x = X();
      const exact = { rtol: 0, atol: 0 };
      allclose(sum(x), 276, exact);
      allclose(
        sum(x, [0]),
        [
          [12, 14, 16, 18],
          [20, 22, 24, 26],
          [28, 30, 32, 34],
        ],
        exact,
      );
      allclose(
        sum(x, [1]),
        [
          [12, 15, 18, 21],
          [48, 51, 54, 57],
        ],
        exact,
      );
      allclose(
        sum(x, [2]),
        [
          [6, 22, 38],
          [54, 70, 86],
        ],
        exact,
      );
      allclose(sum(x, [0, 2]), [60, 92, 124], exact);
      allclose(sum(x, [2, 0]), [60, 92, 124], exact); // order of axes does not matter
      allclose(
        sum(x, [-1]),
        [
          [6, 22, 38],
          [54, 70, 86],
        ],
        exact,
      ); // negative axes
      allclose(sum(x, [1, 2]), [66, 210], exact);
      allclose(sum(x, []), x, exact); // no axes: the identity
      expect(sum(x).shape).toEqual([]);
    });
  });

  it('max over axes, including negative values', () => {
    tidy(() => {
      const x = t([
        [
          [3, -1],
          [-7, 2],
        ],
        [
          [-5, -6],
          [0, -9],
        ],
      ]);
      const exact = { rtol: 0, atol: 0 };
      allclose(max(x), 3, exact);
      allclose(
        max(x, [0]),
        [
          [3, -1],
          [0, 2],
        ],
        exact,
      );
      allclose(
        max(x, [1]),
        [
          [3, 2],
          [0, -6],
        ],
        exact,
      );
      allclose(
        max(x, [2]),
        [
          [3, 2],
          [-5, 0],
        ],
        exact,
      );
      allclose(max(x, [0, 1]), [3, 2], exact);
      allclose(max(t([-4, -2, -8])), -2, exact);
      allclose(reduce('max', X(), [1, 2]), [11, 23], exact);
    });
  });

  it('mean', () => {
    tidy(() => {
      // mean multiplies by scalar(1/n), and scalar() stores through a Float32Array, so even on ref
      // the factor is 1/n rounded to float32 (relative error up to 2^-24).
      allclose(mean(X()), 11.5, { rtol: 2 ** -24, atol: 0 });
      allclose(mean(X(), [0, 2]), [7.5, 11.5, 15.5], { rtol: 2 ** -24, atol: 0 });
      allclose(mean(X(), [1, 2]), [5.5, 17.5], { rtol: 2 ** -24, atol: 0 });
    });
  });

  it('rank 0 and size-1 axes', () => {
    tidy(() => {
      const s = sum(tensor([5], []));
      expect(s.shape).toEqual([]);
      expect(f64(s)[0]).toBe(5);
      allclose(max(t([[1, 7, 3]]), [0]), [1, 7, 3], { rtol: 0, atol: 0 });
    });
  });

  it('reduces in float64 on ref', () => {
    tidy(() => {
      // 1 + 2^-30 repeated: exact in float64, lost in float32.
      const y = sum(t64(new Array<number>(8).fill(1 + 2 ** -30)));
      expect(f64(y)[0]).toBe(8 + 8 * 2 ** -30);
    });
  });
});

describe('reduce: gradients (finite differences, f64 on ref)', () => {
  const cases: [ReduceOp, number[], number[]][] = [
    ['sum', [2, 3, 4], [0]],
    ['sum', [2, 3, 4], [1, 2]],
    ['sum', [2, 3, 4], [0, 1, 2]],
    ['sum', [3, 2], []],
    ['sum', [], []],
    // Random values do not tie, so max is differentiable at the test point.
    ['max', [2, 3, 4], [0]],
    ['max', [2, 3, 4], [2]],
    ['max', [2, 3, 4], [0, 2]],
    ['max', [5], [0]],
  ];
  for (const [op, shape, axes] of cases) {
    it(`${op} over ${JSON.stringify(axes)} of ${JSON.stringify(shape)}`, () => {
      const x = randomTensor(random.key(11), shape, { lo: -3, hi: 3 });
      gradcheck((v) => reduce(op, v, axes), [x]);
      x.dispose();
    });
  }

  it('max shares the cotangent equally among ties', () => {
    const x = t([
      [1, 3, 3, 2],
      [5, 5, 5, 0],
    ]);
    const { value, grads } = valueAndGrad((p: Tensor) => sum(max(p, [1])))(x);
    allclose(
      grads,
      [
        [0, 0.5, 0.5, 0],
        [1 / 3, 1 / 3, 1 / 3, 0],
      ],
      { rtol: 1e-15, atol: 0 },
    );
    value.dispose();
    grads.dispose();
    x.dispose();
  });

  it('mean', () => {
    const x = randomTensor(random.key(12), [2, 3]);
    try {
      gradcheck((v) => mean(v, [1]), [x]);
    } finally {
      x.dispose();
    }
  });
});

describe('reduce: bad input', () => {
  it('an axis out of range names reduce(op), the axis and the valid range', () => {
    const x = X();
    expect(() => sum(x, [3])).toThrow(/reduce\(sum\): axis must be an integer in \[-3, 3\) \(got 3\)/);
    expect(() => max(x, [-4])).toThrow(/reduce\(max\): axis must be an integer in \[-3, 3\) \(got -4\)/);
    expect(() => sum(x, [0.5])).toThrow(/reduce\(sum\): axis must be an integer in \[-3, 3\) \(got 0\.5\)/);
    expect(() => mean(x, [5])).toThrow(/mean: axis must be an integer in \[-3, 3\) \(got 5\)/);
    x.dispose();
  });

  it('repeated axes are refused (also after normalisation)', () => {
    const x = X();
    expect(() => sum(x, [1, 1])).toThrow(/reduce\(sum\): axes must be distinct axes in \[0, 3\) \(got \[1,1\]\)/);
    expect(() => max(x, [0, -3])).toThrow(/reduce\(max\): axes must be distinct axes in \[0, 3\) \(got \[0,0\]\)/);
    x.dispose();
  });

  it('an unknown op is rejected by name', () => {
    const x = X();
    try {
      expect(() => reduce('min' as ReduceOp, x, [0])).toThrow(/reduce\(min\): op must be one of .*\(got "min"\)/);
    } finally {
      x.dispose();
    }
  });
});

describe('reduce: memory', () => {
  it('every reduction under tidy leaves memory() unchanged', () => {
    const x = X();
    expectNoLeak(() =>
      tidy(() => {
        sum(x);
        sum(x, [1]);
        max(x, [0, 2]);
        mean(x, [2]);
        reduce('max', x, []);
      }),
    );
    expectNoLeak(() => {
      mean(x).dispose();
    });
    x.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const x = randomTensor(random.key(13), [3, 4]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: Tensor[]) => sum(max(p[0]!, [0])))([x]);
    expect(memory().tensors).toBe(before.tensors + 2);
    value.dispose();
    grads[0]!.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
  });
});
