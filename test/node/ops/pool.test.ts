import { describe, expect, it } from 'vitest';
import { abs, argmaxPool, argmaxPoolGrad, memory, mul, random, sqrt, square, sum, tidy, type Tensor } from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, arange, closeScalar, dot, expectNoLeak, f64, gradcheck, randomTensor, rng, t, t64 } from '../../util.js';

const exact = { rtol: 0, atol: 0 };
/** §2.10: the tested 4×4 image. */
const IMG = [
  [4, 1, 0, 1],
  [0, 0, -3, 2],
  [1, 0, 1, 0],
  [1, 0, 2, 1],
];
const img = () => t64(IMG.flat(), [1, 4, 4, 1]);

/** Independent reference: the whole T-vector at the first argmax (row-major window order) of c. */
function naivePool(x: Tensor, c: Tensor, patch: number, T: number): number[] {
  const D = x.shape.length - 2;
  const spatial = x.shape.slice(1, 1 + D);
  const C = x.shape.at(-1)! / T;
  const pooled = spatial.map((n) => n / patch);
  const vx = f64(x);
  const vc = f64(c);
  const npix = spatial.reduce((p, n) => p * n, 1);
  const flatPix = (p: number[]) => p.reduce((s, v, d) => s * spatial[d]! + v, 0);
  const grid = (shape: number[]): number[][] => {
    let all: number[][] = [[]];
    for (const n of shape) all = all.flatMap((q) => arange(n).map((i) => [...q, i]));
    return all;
  };
  const out: number[] = [];
  for (let b = 0; b < x.shape[0]!; b++) {
    for (const o of grid(pooled)) {
      for (let ch = 0; ch < C; ch++) {
        let best = -Infinity;
        let arg = -1;
        for (const w of grid(new Array<number>(D).fill(patch))) {
          const pix = b * npix + flatPix(o.map((v, d) => v * patch + w[d]!));
          const v = vc[pix * C + ch]!;
          if (arg < 0 || v > best) {
            best = v;
            arg = pix;
          }
        }
        for (let k = 0; k < T; k++) out.push(vx[arg * C * T + ch * T + k]!);
      }
    }
  }
  return out;
}

describe('argmaxPool: golden values', () => {
  it('§2.10: by |value| gives [[4,−3],[1,2]], by value [[4,2],[1,2]]', () => {
    tidy(() => {
      const x = img();
      allclose(
        argmaxPool(x, abs(x), 2, 1),
        [
          [
            [[4], [-3]],
            [[1], [2]],
          ],
        ],
        exact,
      );
      allclose(
        argmaxPool(x, x, 2, 1),
        [
          [
            [[4], [2]],
            [[1], [2]],
          ],
        ],
        exact,
      );
    });
  });

  it('§7.2: the 4³ arange pooled by value with patch 2', () => {
    tidy(() => {
      const x = t64(arange(64), [1, 4, 4, 4, 1]);
      allclose(
        f64(argmaxPool(x, x, 2, 1)),
        [
          [
            [21, 23],
            [29, 31],
          ],
          [
            [53, 55],
            [61, 63],
          ],
        ].flat(2),
        exact,
      );
    });
  });

  it('ties go to the first maximum in row-major window order', () => {
    tidy(() => {
      const x = t64([10, 20, 30, 40], [1, 2, 2, 1]);
      allclose(f64(argmaxPool(x, t64([7, 7, 7, 7], [1, 2, 2, 1]), 2, 1)), [10], exact);
      // (0,1) and (1,0) tie: row-major order visits (0,1) first.
      allclose(f64(argmaxPool(x, t64([0, 5, 5, 0], [1, 2, 2, 1]), 2, 1)), [20], exact);
      allclose(f64(argmaxPool(x, t64([0, 1, 5, 5], [1, 2, 2, 1]), 2, 1)), [30], exact);
      // All negative comparators still pick their maximum.
      allclose(f64(argmaxPool(x, t64([-4, -3, -9, -3], [1, 2, 2, 1]), 2, 1)), [20], exact);
    });
  });

  it('copies the whole T-vector of each channel at its own argmax (T = 2, 2 channels)', () => {
    tidy(() => {
      // x[1, 2, 2, C*T = 4]: channel 0 = (a, b), channel 1 = (c, d) per pixel.
      const x = t([
        [
          [
            [1, 2, 3, 4],
            [5, 6, 7, 8],
          ],
          [
            [9, 10, 11, 12],
            [13, 14, 15, 16],
          ],
        ],
      ]);
      // Channel 0 wins at pixel (1, 0); channel 1 at pixel (0, 1).
      const c = t([
        [
          [
            [0, 0],
            [1, 9],
          ],
          [
            [5, 2],
            [3, 1],
          ],
        ],
      ]);
      allclose(argmaxPool(x, c, 2, 2), [[[[9, 10, 7, 8]]]], exact);
      // The ginjax comparator: the pixel norm of each T-vector.
      const x2 = t([
        [
          [
            [3, 4],
            [0, -6],
          ],
          [
            [1, 1],
            [-2, 0],
          ],
        ],
      ]); // norms 5, 6, √2, 2
      const norm = sqrt(sum(square(x2), [3])).reshape([1, 2, 2, 1]);
      allclose(argmaxPool(x2, norm, 2, 2), [[[[0, -6]]]], exact);
    });
  });

  it('batch 2, D = 1, non-square D = 2, patch 3 and patch 1', () => {
    tidy(() => {
      const x1 = t64([1, 5, 2, 2, -1, -7, 0, 3], [2, 4, 1]);
      allclose(
        argmaxPool(x1, x1, 2, 1),
        [
          [[5], [2]],
          [[-1], [3]],
        ],
        exact,
      );
      allclose(
        argmaxPool(x1, abs(x1), 2, 1),
        [
          [[5], [2]],
          [[-7], [3]],
        ],
        exact,
      );
      const x2 = t64(arange(12), [1, 2, 6, 1]);
      allclose(f64(argmaxPool(x2, x2, 2, 1)), [7, 9, 11], exact);
      const x3 = t64(
        arange(18).map((v) => (v * 7) % 18),
        [1, 3, 6, 1],
      );
      allclose(f64(argmaxPool(x3, x3, 3, 1)), [14, 17], exact); // rows 0,7,14,3,10,17 | 6,13,2,9,16,5 | 12,1,8,15,4,11
      allclose(argmaxPool(x2, x2, 1, 1), x2, exact);
    });
  });

  it('argmaxPoolGrad routes each cotangent to its window argmax', () => {
    tidy(() => {
      const x = img();
      const dx = argmaxPoolGrad(t64([1, 2, 3, 4], [1, 2, 2, 1]), abs(x), 2, 1, x.shape);
      allclose(
        f64(dx),
        [
          [1, 0, 0, 0],
          [0, 0, 2, 0],
          [3, 0, 0, 0],
          [0, 0, 4, 0],
        ].flat(),
        exact,
      );
    });
  });

  it('matches an independent reference on random geometries', () => {
    const r = rng(5);
    for (let trial = 0; trial < 30; trial++) {
      tidy(() => {
        const D = 1 + (trial % 3);
        const patch = r(1, 3);
        const T = r(1, 3);
        const C = r(1, 2);
        const spatial = arange(D).map(() => patch * r(1, D === 3 ? 2 : 3));
        const x = randomTensor(random.key(2 * trial), [r(1, 2), ...spatial, C * T]);
        const c = randomTensor(random.key(2 * trial + 1), [...x.shape.slice(0, -1), C]);
        allclose(f64(argmaxPool(x, c, patch, T)), naivePool(x, c, patch, T), exact);
      });
    }
  });
});

describe('argmaxPool / argmaxPoolGrad: adjointness <argmaxPool(x), dy> = <x, argmaxPoolGrad(dy)>', () => {
  const r = rng(77);
  for (let trial = 0; trial < 24; trial++) {
    const D = 1 + (trial % 3);
    const patch = r(1, 3);
    const T = r(1, 3);
    const C = r(1, 2);
    const B = r(1, 2);
    const spatial = arange(D).map(() => patch * r(1, D === 3 ? 2 : 3));
    it(`#${trial} D=${D} patch=${patch} T=${T} C=${C} B=${B} spatial=[${spatial}]`, () => {
      tidy(() => {
        const x = randomTensor(random.key(3 * trial), [B, ...spatial, C * T]);
        const c = randomTensor(random.key(3 * trial + 1), [B, ...spatial, C]);
        const y = argmaxPool(x, c, patch, T);
        const dy = randomTensor(random.key(3 * trial + 2), y.shape);
        const dx = argmaxPoolGrad(dy, c, patch, T, x.shape);
        expect(dx.shape).toEqual(x.shape);
        closeScalar(dot(y, dy), dot(x, dx), 1e-12, 'adjointness', 1e-12);
      });
    });
  }
});

describe('argmaxPool: gradients (finite differences, f64 on ref)', () => {
  // Random comparators do not tie, so the argmax is locally constant and the op is linear in x.
  it('argmaxPool in x, with an independent comparator (whose gradient is zero)', () => {
    const x = randomTensor(random.key(1), [2, 4, 2, 4]);
    const c = randomTensor(random.key(2), [2, 4, 2, 2]);
    gradcheck((u, v) => argmaxPool(u, v, 2, 2), [x, c]);
    x.dispose();
    c.dispose();
  });

  it('argmaxPool by the pixel norm of x itself (D = 3)', () => {
    const x = randomTensor(random.key(3), [1, 2, 2, 2, 3]);
    gradcheck((u) => argmaxPool(u, sqrt(sum(square(u), [4])).reshape([1, 2, 2, 2, 1]), 2, 3), [x]);
    x.dispose();
  });

  it('argmaxPoolGrad in dy', () => {
    const c = randomTensor(random.key(4), [1, 6, 1]);
    const dy = randomTensor(random.key(5), [1, 2, 2]);
    gradcheck((u) => argmaxPoolGrad(u, c, 3, 2, [1, 6, 2]), [dy]);
    c.dispose();
    dy.dispose();
  });
});

describe('argmaxPool: bad input', () => {
  it('names argmaxPool / argmaxPoolGrad and the argument', () => {
    tidy(() => {
      const x = img();
      expect(() => argmaxPool(x, x, 0, 1)).toThrow(/argmaxPool: patch must be an integer >= 1 \(got 0\)/);
      expect(() => argmaxPool(x, x, 1.5, 1)).toThrow(/argmaxPool: patch must be an integer >= 1 \(got 1\.5\)/);
      expect(() => argmaxPool(x, x, 2, 0)).toThrow(/argmaxPool: tensorSize must be an integer >= 1 \(got 0\)/);
      expect(() => argmaxPool(x, x, 3, 1)).toThrow(/argmaxPool: spatial size on axis 0 must be divisible by the patch 3 \(got 4\)/);
      expect(() => argmaxPool(t64(arange(6), [1, 6]), t64(arange(6), [1, 6]), 2, 1)).toThrow(
        /argmaxPool: input shape must be \[batch, \.\.\.spatial, channels\] \(got \[1,6\]\)/,
      );
      expect(() => argmaxPool(x, t64(arange(32), [1, 4, 4, 2]), 2, 1)).toThrow(/argmaxPool: comparator shape must be \[1,4,4,1\] \(got \[1,4,4,2\]\)/);
      expect(() => argmaxPool(t64(arange(24), [1, 2, 6, 2]), t64(arange(6), [1, 6, 1]), 2, 2)).toThrow(
        /argmaxPool: comparator shape must be \[1,2,6,1\] \(got \[1,6,1\]\)/,
      );
      expect(() => argmaxPool(t64(arange(10), [1, 5, 2]), t64(arange(10), [1, 5, 2]), 2, 1)).toThrow(
        /argmaxPool: spatial size on axis 0 must be divisible by the patch 2 \(got 5\)/,
      );
      const dy = t64([1, 2, 3, 4], [1, 2, 2, 1]);
      expect(() => argmaxPoolGrad(t64([1, 2], [1, 2, 1, 1]), x, 2, 1, x.shape)).toThrow(/argmaxPoolGrad: dy shape must be \[1,2,2,1\] \(got \[1,2,1,1\]\)/);
      expect(() => argmaxPoolGrad(dy, x, 2, 1, [1, 4, 4, 2])).toThrow(/argmaxPoolGrad: comparator shape must be \[1,4,4,2\] \(got \[1,4,4,1\]\)/);
      expect(() => argmaxPoolGrad(dy, x, 0, 1, x.shape)).toThrow(/argmaxPoolGrad: patch must be an integer >= 1 \(got 0\)/);
    });
  });

  it('channels not divisible by tensorSize are reported as such', () => {
    tidy(() => {
      const x = t64(arange(12), [1, 2, 2, 3]);
      expect(() => argmaxPool(x, t64(arange(4), [1, 2, 2, 1]), 2, 2)).toThrow(/argmaxPool: .*(channels|tensorSize).*divisible.*\(got 3\)/);
    });
  });
});

describe('argmaxPool: memory', () => {
  it('under tidy leaves memory() unchanged', () => {
    const x = randomTensor(random.key(1), [1, 4, 4, 2]);
    expectNoLeak(() =>
      tidy(() => {
        const y = argmaxPool(x, x, 2, 1);
        argmaxPoolGrad(y, x, 2, 1, x.shape);
      }),
    );
    x.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const x = randomTensor(random.key(2), [1, 4, 4, 2]);
    const w = randomTensor(random.key(3), [1, 2, 2, 2]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: Tensor[]) => sum(mul(argmaxPool(p[0]!, abs(p[0]!), 2, 1), p[1]!)))([x, w]);
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.forEach((g) => g.dispose());
    expect(memory()).toEqual(before);
    x.dispose();
    w.dispose();
  });
});
