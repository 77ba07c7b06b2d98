import { describe, expect, it } from 'vitest';
import { concat, memory, mul, random, sum, tensor, tidy, type Tensor } from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, expectNoLeak, gradcheck, randomTensor, t } from '../../util.js';

const exact = { rtol: 0, atol: 0 };

describe('concat: golden values', () => {
  it('along each axis of rank-2 tensors', () => {
    tidy(() => {
      const a = t([
        [1, 2],
        [3, 4],
      ]);
      const b = t([[5, 6]]);
      const c = t([[7], [8]]);
      allclose(
        concat([a, b], 0),
        [
          [1, 2],
          [3, 4],
          [5, 6],
        ],
        exact,
      );
      allclose(
        concat([a, c], 1),
        [
          [1, 2, 7],
          [3, 4, 8],
        ],
        exact,
      );
      allclose(
        concat([c, a, c], -1),
        [
          [7, 1, 2, 7],
          [8, 3, 4, 8],
        ],
        exact,
      );
      allclose(
        concat([b, a], -2),
        [
          [5, 6],
          [1, 2],
          [3, 4],
        ],
        exact,
      );
    });
  });

  it('rank 3, the middle axis, three pieces', () => {
    tidy(() => {
      const a = t([[[1, 2]], [[3, 4]]]); // [2,1,2]
      const b = t([
        [
          [5, 6],
          [7, 8],
        ],
        [
          [9, 10],
          [11, 12],
        ],
      ]); // [2,2,2]
      allclose(
        concat([a, b, a], 1),
        [
          [
            [1, 2],
            [5, 6],
            [7, 8],
            [1, 2],
          ],
          [
            [3, 4],
            [9, 10],
            [11, 12],
            [3, 4],
          ],
        ],
        exact,
      );
    });
  });

  it('a single tensor, rank 1, and zero-size pieces', () => {
    tidy(() => {
      allclose(concat([t([1, 2])], 0), [1, 2], exact);
      allclose(concat([t([1]), t([2, 3]), tensor([], [0])], 0), [1, 2, 3], exact);
      allclose(concat([tensor([], [2, 0]), t([[1], [2]])], 1), [[1], [2]], exact);
      expect(concat([tensor([], [0, 3]), tensor([], [0, 3])], 0).shape).toEqual([0, 3]);
    });
  });
});

describe('concat: gradients (finite differences, f64 on ref)', () => {
  for (const axis of [0, 1, 2]) {
    it(`three pieces along axis ${axis}`, () => {
      const shapes = [
        [2, 3, 2],
        [2, 3, 2],
        [2, 3, 2],
      ].map((s, i) => s.map((d, j) => (j === axis ? i + 1 : d)));
      const xs = shapes.map((s, i) => randomTensor(random.key(10 * axis + i), s));
      gradcheck((...v) => concat(v, axis), xs);
      xs.forEach((x) => x.dispose());
    });
  }

  it('the same tensor twice', () => {
    const x = t([1, 2]);
    const w = t([1, 10, 100, 1000]);
    const { value, grads } = valueAndGrad((p: Tensor) => sum(mul(concat([p, p], 0), w)))(x);
    allclose(grads, [101, 1010], exact);
    value.dispose();
    grads.dispose();
    x.dispose();
    w.dispose();
  });
});

describe('concat: bad input', () => {
  it('names the op, the argument and the expected shape', () => {
    tidy(() => {
      const a = t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(() =>
        concat(
          [
            a,
            t([
              [1, 2, 3],
              [4, 5, 6],
              [7, 8, 9],
            ]),
          ],
          1,
        ),
      ).toThrow(/concat: tensors\[1\]\.shape must be \[2,3\] except on axis 1 \(got \[3,3\]\)/);
      expect(() => concat([a, a, t([1, 2, 3])], 0)).toThrow(/concat: tensors\[2\]\.shape must be \[2,3\] except on axis 0 \(got \[3\]\)/);
      expect(() => concat([a], 2)).toThrow(/concat: axis must be an integer in \[-2, 2\) \(got 2\)/);
      expect(() => concat([a], 0.5)).toThrow(/concat: axis must be an integer in \[-2, 2\) \(got 0\.5\)/);
      expect(() => concat([], 0)).toThrow(/concat: tensors must be a non-empty list \(got 0\)/);
    });
  });
});

describe('concat: memory', () => {
  it('under tidy leaves memory() unchanged', () => {
    const a = randomTensor(random.key(1), [2, 3]);
    const b = randomTensor(random.key(2), [1, 3]);
    expectNoLeak(() =>
      tidy(() => {
        concat([a, b], 0);
        concat([a, a], 1);
        concat([b], -1);
      }),
    );
    a.dispose();
    b.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const a = randomTensor(random.key(3), [2, 3]);
    const b = randomTensor(random.key(4), [2, 1]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: Tensor[]) => sum(mul(concat(p, 1), concat(p, 1))))([a, b]);
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.forEach((g) => g.dispose());
    expect(memory()).toEqual(before);
    a.dispose();
    b.dispose();
  });
});
