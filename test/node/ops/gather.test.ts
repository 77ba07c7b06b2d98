import { describe, expect, it } from 'vitest';
import { broadcastTo, gather, indexMap, memory, mul, permute, random, scatterAdd, slice, sum, sumTo, tensor, tidy, type Tensor } from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, arange, closeScalar, dot, expectNoLeak, f64, gradcheck, randomTensor, rng, t, t64 } from '../../util.js';

const exact = { rtol: 0, atol: 0 };
const idx = (v: number[]) => Int32Array.from(v);

describe('gather / scatterAdd: golden values', () => {
  it('gather reads x.flat[index] and writes 0 for -1, with repeats', () => {
    tidy(() => {
      allclose(
        gather(t([10, 20, 30]), [2, 2], idx([2, -1, 0, 0])),
        [
          [30, 0],
          [10, 10],
        ],
        exact,
      );
      allclose(
        gather(
          t([
            [1, 2],
            [3, 4],
          ]),
          [3],
          idx([3, 3, 1]),
        ),
        [4, 4, 2],
        exact,
      );
      expect(gather(t([1, 2]), [], idx([1])).shape).toEqual([]);
      expect(gather(t([1, 2]), [0, 4], idx([])).shape).toEqual([0, 4]);
    });
  });

  it('scatterAdd accumulates x.flat[i] into out.flat[index[i]], skipping -1', () => {
    tidy(() => {
      allclose(scatterAdd(t([1, 2, 3, 4]), [3], idx([0, 2, 0, -1])), [4, 0, 2], exact);
      allclose(
        scatterAdd(
          t([
            [1, 2],
            [3, 4],
          ]),
          [2, 2],
          idx([3, 3, 3, 0]),
        ),
        [
          [4, 0],
          [0, 6],
        ],
        exact,
      );
      allclose(scatterAdd(t([5]), [4], idx([-1])), [0, 0, 0, 0], exact);
    });
  });

  it('blocks: the map applies to each of the equal consecutive blocks of x and of the output', () => {
    tidy(() => {
      // x = 3 blocks of 2, out = 3 blocks of 3
      allclose(
        gather(t([1, 2, 3, 4, 5, 6]), [3, 3], idx([1, -1, 0]), 3),
        [
          [2, 0, 1],
          [4, 0, 3],
          [6, 0, 5],
        ],
        exact,
      );
      allclose(
        scatterAdd(t([1, 2, 3, 4, 5, 6]), [2, 2], idx([1, -1, 1]), 2),
        [
          [0, 4],
          [0, 10],
        ],
        exact,
      );
      // blocks = 1 is the plain map; blocks = size makes a one-element map per element
      allclose(gather(t([7, 8]), [2], idx([1, 0]), 1), [8, 7], exact);
      allclose(gather(t([7, 8]), [2], idx([0]), 2), [7, 8], exact);
    });
  });

  it('indexMap enumerates output coordinates in row-major order', () => {
    const seen: string[] = [];
    const m = indexMap([2, 3], (c) => (seen.push(c.join(',')), c[0]! * 10 + c[1]!));
    expect(Array.from(m)).toEqual([0, 1, 2, 10, 11, 12]);
    expect(seen).toEqual(['0,0', '0,1', '0,2', '1,0', '1,1', '1,2']);
  });
});

describe('permute / slice / broadcastTo / sumTo: golden values', () => {
  it('permute: y.shape[i] = x.shape[perm[i]]', () => {
    tidy(() => {
      allclose(
        permute(
          t([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          [1, 0],
        ),
        [
          [1, 4],
          [2, 5],
          [3, 6],
        ],
        exact,
      );
      const x = t64(arange(24), [2, 3, 4]);
      const y = permute(x, [2, 0, 1]);
      expect(y.shape).toEqual([4, 2, 3]);
      const v = f64(y);
      for (let k = 0; k < 4; k++)
        for (let i = 0; i < 2; i++)
          for (let j = 0; j < 3; j++) {
            expect(v[(k * 2 + i) * 3 + j]).toBe(12 * i + 4 * j + k);
          }
      allclose(permute(x, [0, 1, 2]), x, exact);
      allclose(permute(tensor([7], []), []), 7, exact);
    });
  });

  it('permute, slice and broadcastTo of tensors with an empty leading axis', () => {
    tidy(() => {
      const e = tensor([], [0, 2, 3]);
      expect(permute(e, [0, 2, 1]).shape).toEqual([0, 3, 2]);
      expect(slice(e, 2, 1, 2).shape).toEqual([0, 2, 2]);
      expect(broadcastTo(tensor([], [0, 1]), [0, 4]).shape).toEqual([0, 4]);
    });
  });

  it('slice along an axis (including empty and full ranges)', () => {
    tidy(() => {
      const x = t([
        [1, 2, 3, 4],
        [5, 6, 7, 8],
        [9, 10, 11, 12],
      ]);
      allclose(
        slice(x, 1, 1, 2),
        [
          [2, 3],
          [6, 7],
          [10, 11],
        ],
        exact,
      );
      allclose(slice(x, 0, 2, 1), [[9, 10, 11, 12]], exact);
      allclose(slice(x, -1, 3, 1), [[4], [8], [12]], exact);
      allclose(slice(x, 0, 0, 3), x, exact);
      expect(slice(x, 1, 4, 0).shape).toEqual([3, 0]);
    });
  });

  it('broadcastTo materialises NumPy broadcasting', () => {
    tidy(() => {
      allclose(
        broadcastTo(t([1, 2, 3]), [2, 3]),
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
        exact,
      );
      allclose(
        broadcastTo(t([[1], [2]]), [2, 3]),
        [
          [1, 1, 1],
          [2, 2, 2],
        ],
        exact,
      );
      allclose(
        broadcastTo(tensor([5], []), [2, 2]),
        [
          [5, 5],
          [5, 5],
        ],
        exact,
      );
      allclose(
        broadcastTo(t([[1, 2]]), [2, 2, 2]),
        [
          [
            [1, 2],
            [1, 2],
          ],
          [
            [1, 2],
            [1, 2],
          ],
        ],
        exact,
      );
      const same = t([1, 2]);
      const view = broadcastTo(same, [2]);
      expect(view).not.toBe(same);
      allclose(view, [1, 2], exact);
    });
  });

  it('sumTo is the adjoint of broadcasting', () => {
    tidy(() => {
      const x = t64(arange(24), [4, 2, 3]);
      allclose(
        sumTo(x, [2, 3]),
        [
          [36, 40, 44],
          [48, 52, 56],
        ],
        exact,
      );
      allclose(sumTo(x, [2, 1]), [[120], [156]], exact);
      allclose(sumTo(x, [1, 3]), [[84, 92, 100]], exact);
      allclose(sumTo(x, [4, 1, 1]), [[[15]], [[51]], [[87]], [[123]]], exact);
      allclose(sumTo(x, []), 276, exact);
      expect(sumTo(x, [4, 2, 3])).toBe(x);
    });
  });
});

describe('gather / scatterAdd: adjointness <gather(x), y> = <x, scatterAdd(y)>', () => {
  it('for random index maps with repeats and -1', () => {
    const r = rng(99);
    for (let trial = 0; trial < 40; trial++) {
      tidy(() => {
        const src = [r(1, 3), r(1, 4)];
        const out = [r(1, 5), r(1, 3), r(1, 2)].slice(0, r(1, 3));
        const nSrc = src[0]! * src[1]!;
        const nOut = out.reduce((p, d) => p * d, 1);
        const index = Int32Array.from({ length: nOut }, () => r(-1, nSrc - 1));
        const x = randomTensor(random.key(2 * trial), src);
        const y = randomTensor(random.key(2 * trial + 1), out);
        closeScalar(dot(gather(x, out, index), y), dot(x, scatterAdd(y, src, index)), 1e-13, `trial ${trial}`);
        // the same map on 3 blocks
        const xb = randomTensor(random.key(100 + trial), [3, ...src]);
        const yb = randomTensor(random.key(200 + trial), [3, ...out]);
        closeScalar(dot(gather(xb, [3, ...out], index, 3), yb), dot(xb, scatterAdd(yb, [3, ...src], index, 3)), 1e-13, `blocks, trial ${trial}`);
      });
    }
  });
});

describe('index ops: gradients (finite differences, f64 on ref)', () => {
  it('gather', () => {
    const x = randomTensor(random.key(1), [2, 3]);
    gradcheck((v) => gather(v, [4, 2], idx([5, 0, -1, 3, 3, 3, 1, 0])), [x]);
    x.dispose();
  });

  it('scatterAdd', () => {
    const x = randomTensor(random.key(2), [5]);
    gradcheck((v) => scatterAdd(v, [2, 2], idx([3, -1, 0, 3, 1])), [x]);
    x.dispose();
  });

  it('gather and scatterAdd with blocks', () => {
    const x = randomTensor(random.key(4), [3, 4]);
    gradcheck((v) => gather(v, [3, 5], idx([3, 0, -1, 3, 1]), 3), [x]);
    gradcheck((v) => scatterAdd(v, [3, 2], idx([1, -1, 0, 1]), 3), [x]);
    x.dispose();
  });

  it('permute, slice', () => {
    const x = randomTensor(random.key(3), [2, 3, 4]);
    gradcheck((v) => permute(v, [1, 2, 0]), [x]);
    gradcheck((v) => slice(v, 2, 1, 2), [x]);
    x.dispose();
  });

  it('broadcastTo, sumTo', () => {
    const x = randomTensor(random.key(4), [3, 1]);
    gradcheck((v) => broadcastTo(v, [2, 3, 4]), [x]);
    const y = randomTensor(random.key(5), [2, 3, 4]);
    gradcheck((v) => sumTo(v, [3, 1]), [y]);
    gradcheck((v) => sumTo(v, []), [y]);
    x.dispose();
    y.dispose();
  });

  it('a gather whose output is used twice accumulates both cotangents', () => {
    const x = t([1, 2, 3]);
    const { value, grads } = valueAndGrad((p: Tensor) => {
      const g = gather(p, [2], idx([2, 2]));
      return sum(mul(g, g));
    })(x);
    allclose(grads, [0, 0, 12], exact);
    value.dispose();
    grads.dispose();
    x.dispose();
  });
});

describe('index ops: bad input', () => {
  it('gather / scatterAdd validate the index map', () => {
    tidy(() => {
      const x = t([1, 2, 3]);
      expect(() => gather(x, [2], idx([0, 3]))).toThrow(/gather: index\[1\] must be in \[-1, 3\) \(got 3\)/);
      expect(() => gather(x, [2], idx([-2, 0]))).toThrow(/gather: index\[0\] must be in \[-1, 3\) \(got -2\)/);
      expect(() => gather(x, [2, 2], idx([0, 1, 2]))).toThrow(/gather: index length must be 4 \(got 3\)/);
      expect(() => gather(x, [2], [0, 1] as unknown as Int32Array)).toThrow(/gather: index must be an Int32Array/);
      expect(() => gather(x, [2, -1], idx([]))).toThrow(/gather: shape must be an array of non-negative integers \(got \[2,-1\]\)/);
      expect(() => scatterAdd(x, [2], idx([0, 1]))).toThrow(/scatterAdd: index length must be 3 \(got 2\)/);
      expect(() => scatterAdd(x, [2], idx([0, 1, 2]))).toThrow(/scatterAdd: index\[2\] must be in \[-1, 2\) \(got 2\)/);
      expect(() => scatterAdd(x, [1.5], idx([0, 0, 0]))).toThrow(/scatterAdd: shape must be an array of non-negative integers \(got \[1\.5\]\)/);
      expect(() => gather(x, [3], idx([0]), 2)).toThrow(/gather: blocks must be a divisor of both sizes \(3 and 3\) \(got 2\)/);
      expect(() => gather(x, [3], idx([0]), 0)).toThrow(/gather: blocks must be >= 1 for non-empty tensors \(sizes 3 and 3\) \(got 0\)/);
      expect(() => gather(x, [3], idx([0]), 1.5)).toThrow(/gather: blocks must be an integer >= 0 \(got 1\.5\)/);
      expect(gather(t([]), [0, 2], idx([0, 0]), 0).shape).toEqual([0, 2]);
      expect(() => gather(x, [3], idx([1]), 3)).toThrow(/gather: index\[0\] must be in \[-1, 1\) \(got 1\)/);
      expect(() => scatterAdd(x, [6], idx([0, 1]), 3)).toThrow(/scatterAdd: index length must be 1 \(got 2\)/);
    });
  });

  it('permute / slice name their arguments', () => {
    tidy(() => {
      const x = t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      expect(() => permute(x, [0, 0])).toThrow(/permute: perm must be a permutation of 0\.\.1 \(got \[0,0\]\)/);
      expect(() => permute(x, [1, 0, 2])).toThrow(/permute: perm must be a permutation of 0\.\.1 \(got \[1,0,2\]\)/);
      expect(() => slice(x, 1, 2, 2)).toThrow(/slice: range must be within \[0, 3\] on axis 1 of \[2,3\] \(got \[2,4\]\)/);
      expect(() => slice(x, 0, -1, 1)).toThrow(/slice: range must be within \[0, 2\] on axis 0 of \[2,3\] \(got \[-1,0\]\)/);
      expect(() => slice(x, 2, 0, 1)).toThrow(/slice: axis must be an integer in \[-2, 2\) \(got 2\)/);
    });
  });

  it('broadcastTo refuses incompatible shapes', () => {
    tidy(() => {
      expect(() => broadcastTo(t([1, 2, 3]), [2, 2])).toThrow(/broadcastTo: operand shapes must be broadcast-compatible \(got "\[3\] and \[2,2\]"\)/);
    });
  });

  it('broadcastTo refuses a target that x does not broadcast to', () => {
    tidy(() => {
      expect(() => broadcastTo(t([1, 2, 3]), [1])).toThrow(/broadcastTo: .*shape.*\[3\].*\[1\]/);
      expect(() =>
        broadcastTo(
          t([
            [1, 2, 3],
            [4, 5, 6],
          ]),
          [3],
        ),
      ).toThrow(/broadcastTo: .*shape.*\[2,3\].*\[3\]/);
    });
  });
});

describe('index ops: memory', () => {
  it('under tidy leaves memory() unchanged', () => {
    const x = randomTensor(random.key(6), [2, 3]);
    expectNoLeak(() =>
      tidy(() => {
        gather(x, [4], idx([0, -1, 5, 5]));
        scatterAdd(x, [2], idx([0, 1, 0, 1, -1, 1]));
        permute(x, [1, 0]);
        slice(x, 1, 0, 2);
        broadcastTo(x, [4, 2, 3]);
        sumTo(x, [1, 3]);
        broadcastTo(x, [2, 3]);
      }),
    );
    x.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const x = randomTensor(random.key(7), [2, 3]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: Tensor) => sum(mul(slice(permute(p, [1, 0]), 0, 1, 2), broadcastTo(sumTo(p, [2, 1]), [2, 2]))))(x);
    expect(memory().tensors).toBe(before.tensors + 2);
    value.dispose();
    grads.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
  });
});
