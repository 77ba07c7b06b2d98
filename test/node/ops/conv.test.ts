import { describe, expect, it } from 'vitest';
import {
  conv,
  convAttrs,
  convFilterGrad,
  convInputGrad,
  memory,
  mul,
  random,
  sum,
  tidy,
  type ConvAttrs,
  type ConvAttrsOptions,
  type Tensor,
} from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, arange, closeScalar, dot, expectNoLeak, f64, gradcheck, randomTensor, rng, t, t64 } from '../../util.js';

const exact = { rtol: 0, atol: 0 };
const ones = (n: number) => new Array<number>(n).fill(1);

/** A single-channel D-dim image [1, ...spatial, 1]. */
const image = (data: number[], spatial: number[]) => t64(data, [1, ...spatial, 1]);
/** A single-channel filter [taps, 1, 1]. */
const filter = (taps: number[]) => t64(taps, [taps.length, 1, 1]);
/** y[1, ...out, 1] as a nested literal [...out] for comparisons. */
const squeeze = (y: Tensor) => f64(y);

/**
 * An independent reference from the definition: per axis, build the explicitly lhs-dilated and
 * padded index line (wrapped on torus axes like numpy.pad(mode='wrap'), zeros elsewhere), then
 * cross-correlate with stride and filter dilation.
 */
function naiveConv(x: Tensor, w: Tensor, a: ConvAttrs): { data: number[]; shape: number[] } {
  const D = a.kernel.length;
  const [B, cin] = [x.shape[0]!, x.shape.at(-1)!];
  const cout = w.shape[2]!;
  const spatial = x.shape.slice(1, 1 + D);
  const lines = spatial.map((n, d) => {
    const l = a.lhsDilation[d]!;
    const dilated: number[] = [];
    for (let i = 0; i < n; i++) {
      if (i > 0) for (let z = 1; z < l; z++) dilated.push(-1);
      dilated.push(i);
    }
    const [lo, hi] = a.padding[d]!;
    const padded: number[] = [];
    for (let q = -lo; q < dilated.length + hi; q++) {
      if (q >= 0 && q < dilated.length) padded.push(dilated[q]!);
      else padded.push(a.torus[d] ? dilated[((q % dilated.length) + dilated.length) % dilated.length]! : -1);
    }
    return padded;
  });
  const out = lines.map((line, d) => Math.floor((line.length - ((a.kernel[d]! - 1) * a.rhsDilation[d]! + 1)) / a.stride[d]!) + 1);
  const coords = (shape: readonly number[]): number[][] => {
    let all: number[][] = [[]];
    for (const n of shape) all = all.flatMap((c) => arange(n).map((i) => [...c, i]));
    return all;
  };
  const vx = f64(x);
  const vw = f64(w);
  const data: number[] = [];
  const taps = coords(a.kernel);
  for (let b = 0; b < B; b++) {
    for (const o of coords(out)) {
      for (let co = 0; co < cout; co++) {
        let s = 0;
        taps.forEach((tap, ti) => {
          let flatIn = 0;
          for (let d = 0; d < D; d++) {
            const src = lines[d]![o[d]! * a.stride[d]! + tap[d]! * a.rhsDilation[d]!]!;
            if (src < 0) return;
            flatIn = flatIn * spatial[d]! + src;
          }
          for (let ci = 0; ci < cin; ci++) s += vx[(b * spatial.reduce((p, n) => p * n, 1) + flatIn) * cin + ci]! * vw[(ti * cin + ci) * cout + co]!;
        });
        data.push(s);
      }
    }
  }
  return { data, shape: [B, ...out, cout] };
}

/** A random geometry: per axis torus or zero padding, stride 1–3, rhs dilation 1–3, lhs dilation 1–2 on zero axes, kernel 1–4. */
function randomGeometry(r: (lo: number, hi: number) => number, D: number) {
  const torus = arange(D).map(() => r(0, 1) === 1);
  const kernel = arange(D).map(() => r(1, 4));
  const stride = arange(D).map(() => r(1, 3));
  const rhsDilation = arange(D).map(() => r(1, 3));
  const lhsDilation = torus.map((tt) => (tt ? 1 : r(1, 2)));
  const padding = arange(D).map(() => [r(0, 3), r(0, 3)] as [number, number]);
  const spatial = arange(D).map(() => r(1, D === 3 ? 4 : 6));
  const attrs: ConvAttrs = { kernel, stride, padding, torus, rhsDilation, lhsDilation };
  // Grow the input until every output size is >= 1.
  for (let d = 0; d < D; d++) {
    const size = () =>
      Math.floor(((spatial[d]! - 1) * lhsDilation[d]! + 1 + padding[d]![0] + padding[d]![1] - (kernel[d]! - 1) * rhsDilation[d]! - 1) / stride[d]!) + 1;
    while (size() < 1) spatial[d]!++;
  }
  return { attrs, spatial, B: r(1, 2), cin: r(1, 3), cout: r(1, 3) };
}

describe('conv: ginjax goldens (4×5 arange image, 3×3 ones filter, §7.1 testConvolveNonSquare)', () => {
  const x = () => image(arange(20), [4, 5]);
  const w = () => filter(ones(9));
  const cases: [string, ConvAttrsOptions, number[][]][] = [
    [
      'SAME',
      { padding: 1 },
      [
        [12, 21, 27, 33, 24],
        [33, 54, 63, 72, 51],
        [63, 99, 108, 117, 81],
        [52, 81, 87, 93, 64],
      ],
    ],
    [
      'VALID',
      {},
      [
        [54, 63, 72],
        [99, 108, 117],
      ],
    ],
    [
      'TORUS',
      { padding: 1, torus: true },
      [
        [75, 69, 78, 87, 81],
        [60, 54, 63, 72, 66],
        [105, 99, 108, 117, 111],
        [90, 84, 93, 102, 96],
      ],
    ],
    [
      'TORUS, dilation 2',
      { padding: 2, torus: true, rhsDilation: 2 },
      [
        [75, 84, 78, 72, 81],
        [120, 129, 123, 117, 126],
        [45, 54, 48, 42, 51],
        [90, 99, 93, 87, 96],
      ],
    ],
    // Hand-derived: torus on one axis only (rows wrap, columns zero-padded, and vice versa).
    [
      'partial torus (axis 0)',
      { padding: 1, torus: [true, false] },
      [
        [43, 69, 78, 87, 61],
        [33, 54, 63, 72, 51],
        [63, 99, 108, 117, 81],
        [53, 84, 93, 102, 71],
      ],
    ],
    [
      'partial torus (axis 1)',
      { padding: 1, torus: [false, true] },
      [
        [25, 21, 27, 33, 29],
        [60, 54, 63, 72, 66],
        [105, 99, 108, 117, 111],
        [85, 81, 87, 93, 89],
      ],
    ],
    // Stride 2 samples SAME at rows 0, 2 and columns 0, 2, 4.
    [
      'SAME, stride 2',
      { padding: 1, stride: 2 },
      [
        [12, 27, 24],
        [63, 108, 81],
      ],
    ],
  ];
  for (const [name, opts, expected] of cases) {
    it(name, () => {
      tidy(() => {
        const y = conv(x(), w(), convAttrs(2, 3, opts));
        expect(y.shape).toEqual([1, expected.length, expected[0]!.length, 1]);
        allclose(squeeze(y), expected.flat(), exact);
      });
    });
  }

  it('non-square kernel [1, 3] (a horizontal box)', () => {
    tidy(() => {
      const y = conv(
        x(),
        filter(ones(3)),
        convAttrs(2, [1, 3], {
          padding: [
            [0, 0],
            [1, 1],
          ],
        }),
      );
      allclose(
        squeeze(y),
        [
          [1, 3, 6, 9, 7],
          [11, 18, 21, 24, 17],
          [21, 33, 36, 39, 27],
          [31, 48, 51, 54, 37],
        ].flat(),
        exact,
      );
    });
  });
});

describe('conv: more goldens', () => {
  it('§2.7: a scalar image with the k=1 clockwise edge filter on the torus (no kernel flip)', () => {
    tidy(() => {
      const A = image([2, 1, 0, 0, 0, -3, 2, 0, 1], [3, 3]);
      // w[tap, 1, 2]: the vector at each of the 3×3 taps.
      const vec: Record<string, [number, number]> = { '0,1': [0, 1], '1,0': [-1, 0], '1,2': [1, 0], '2,1': [0, -1] };
      const w = t64(
        arange(9).flatMap((i) => vec[`${Math.floor(i / 3)},${i % 3}`] ?? [0, 0]),
        [9, 1, 2],
      );
      const y = conv(A, w, convAttrs(2, 3, { padding: 1, torus: true }));
      expect(y.shape).toEqual([1, 3, 3, 2]);
      allclose(
        f64(y),
        [
          [
            [1, 2],
            [-2, 0],
            [1, 4],
          ],
          [
            [3, 0],
            [-3, 1],
            [0, -1],
          ],
          [
            [-1, -2],
            [-1, -1],
            [2, -3],
          ],
        ].flat(2),
        exact,
      );
    });
  });

  it('D = 1: taps [1, 10, 100] read x[o-1], x[o], x[o+1]', () => {
    tidy(() => {
      const x = image([1, 2, 3, 4], [4]);
      allclose(squeeze(conv(x, filter([1, 10, 100]), convAttrs(1, 3, { padding: 1 }))), [210, 321, 432, 43], exact);
      allclose(squeeze(conv(x, filter([1, 10, 100]), convAttrs(1, 3, { padding: 1, torus: true }))), [214, 321, 432, 143], exact);
    });
  });

  it('D = 1: filter dilation 3 with stride 2, VALID', () => {
    tidy(() => {
      // out[o] = x[2o]·w0 + x[2o+3]·w1, out size floor((7 − 4)/2) + 1 = 2.
      const y = conv(image([1, 2, 3, 4, 5, 6, 7], [7]), filter([1, 10]), convAttrs(1, 2, { stride: 2, rhsDilation: 3 }));
      allclose(squeeze(y), [41, 63], exact);
    });
  });

  it('lhs dilation 2, 2-tap filter, padding [1,1]: out[2i] = C[1]·x[i], out[2i+1] = C[0]·x[i] (§2.11)', () => {
    tidy(() => {
      // Dilated x̃ = [x0, 0, x1, 0, x2], padded by one zero each side; out[o] = x̃[o−1]·C0 + x̃[o]·C1.
      const y = conv(image([1, 2, 3], [3]), filter([10, 100]), convAttrs(1, 2, { padding: 1, lhsDilation: 2 }));
      expect(y.shape).toEqual([1, 6, 1]);
      allclose(squeeze(y), [100, 10, 200, 20, 300, 30], exact);
    });
  });

  it('unpooling as a transposed convolution: ones p^D filter, padding p−1, lhs dilation p (§2.11)', () => {
    tidy(() => {
      const y2 = conv(image([1, 2, 3, 4], [2, 2]), filter(ones(4)), convAttrs(2, 2, { padding: 1, lhsDilation: 2 }));
      allclose(
        squeeze(y2),
        [
          [1, 1, 2, 2],
          [1, 1, 2, 2],
          [3, 3, 4, 4],
          [3, 3, 4, 4],
        ].flat(),
        exact,
      );
      const y1 = conv(image([1, 2], [2]), filter(ones(3)), convAttrs(1, 3, { padding: 2, lhsDilation: 3 }));
      allclose(squeeze(y1), [1, 1, 1, 2, 2, 2], exact);
    });
  });

  it('batch 2, 2 in-channels, 2 out-channels (D = 1, VALID, kernel 2)', () => {
    tidy(() => {
      const x = t([
        [
          [1, 0],
          [2, 1],
          [3, 0],
        ],
        [
          [-1, 2],
          [0, 2],
          [1, 2],
        ],
      ]); // [2, 3, 2]
      const w = t([
        [
          [1, 0],
          [0, 1],
        ],
        [
          [2, 0],
          [3, -1],
        ],
      ]); // [2 taps, 2 in, 2 out]
      const y = conv(x, w, convAttrs(1, 2));
      allclose(
        y,
        [
          [
            [8, -1],
            [8, 1],
          ],
          [
            [5, 0],
            [8, 0],
          ],
        ],
        exact,
      );
    });
  });

  it('D = 2 even non-square kernel: a delta at tap (0, 1) of a [3, 2] kernel shifts by (−1, +1)', () => {
    tidy(() => {
      const taps = new Array<number>(6).fill(0);
      taps[1] = 1; // tap (0, 1)
      const y = conv(
        image(arange(20), [4, 5]),
        filter(taps),
        convAttrs(2, [3, 2], {
          padding: [
            [1, 1],
            [0, 1],
          ],
        }),
      );
      const expected = arange(20).map((i) => {
        const [r, c] = [Math.floor(i / 5) - 1, (i % 5) + 1];
        return r >= 0 && c < 5 ? 5 * r + c : 0;
      });
      expect(y.shape).toEqual([1, 4, 5, 1]);
      allclose(squeeze(y), expected, exact);
    });
  });

  it('D = 3: ones 3³ filter on a 3³ arange (SAME corners and centre, TORUS everywhere 351)', () => {
    tidy(() => {
      const x = image(arange(27), [3, 3, 3]);
      const same = f64(conv(x, filter(ones(27)), convAttrs(3, 3, { padding: 1 })));
      expect(same[0]).toBe(52); // Σ (9a + 3b + c) over a, b, c ∈ {0, 1}
      expect(same[13]).toBe(351); // the centre sees everything
      expect(same[26]).toBe(4 * (9 + 3 + 1) + 8 * 13); // Σ over a, b, c ∈ {1, 2}
      allclose(conv(x, filter(ones(27)), convAttrs(3, 3, { padding: 1, torus: true })), new Array<number>(27).fill(351), exact);
    });
  });

  it('D = 3: a delta filter at tap (2, 0, 1) reads x[i+1, j−1, k] (torus and zero padding)', () => {
    tidy(() => {
      const spatial = [2, 3, 4];
      const x = image(arange(24), spatial);
      const taps = new Array<number>(27).fill(0);
      taps[2 * 9 + 0 * 3 + 1] = 1;
      const at = (i: number, j: number, k: number) => (i * 3 + j) * 4 + k;
      const torus = f64(conv(x, filter(taps), convAttrs(3, 3, { padding: 1, torus: true })));
      const zero = f64(conv(x, filter(taps), convAttrs(3, 3, { padding: 1 })));
      const partial = f64(conv(x, filter(taps), convAttrs(3, 3, { padding: 1, torus: [false, true, false] })));
      for (let i = 0; i < 2; i++)
        for (let j = 0; j < 3; j++)
          for (let k = 0; k < 4; k++) {
            expect(torus[at(i, j, k)]).toBe(at((i + 1) % 2, (j + 2) % 3, k));
            expect(zero[at(i, j, k)]).toBe(i + 1 < 2 && j - 1 >= 0 ? at(i + 1, j - 1, k) : 0);
            expect(partial[at(i, j, k)]).toBe(i + 1 < 2 ? at(i + 1, (j + 2) % 3, k) : 0);
          }
    });
  });

  it('convInputGrad and convFilterGrad, D = 1 by hand', () => {
    tidy(() => {
      // VALID, taps w = [1, 2]: y[o] = x[o] w0 + x[o+1] w1.
      const dx = convInputGrad(t64([1, 10], [1, 2, 1]), filter([1, 2]), convAttrs(1, 2), [1, 3, 1]);
      allclose(squeeze(dx), [1, 12, 20], exact);
      const dw = convFilterGrad(image([1, 2, 3], [3]), t64([1, 10], [1, 2, 1]), convAttrs(1, 2));
      expect(dw.shape).toEqual([2, 1, 1]);
      allclose(f64(dw), [21, 32], exact);
      // Torus, centred taps [1, 2, 3]: dx[i] = dy[i+1]·w0 + dy[i]·w1 + dy[i−1]·w2.
      const dxt = convInputGrad(t64([1, 0, 0], [1, 3, 1]), filter([1, 2, 3]), convAttrs(1, 3, { padding: 1, torus: true }), [1, 3, 1]);
      allclose(squeeze(dxt), [2, 3, 1], exact);
    });
  });
});

describe('conv: random geometries against an independent reference, and adjointness', () => {
  // <conv(x, w), dy> = <x, convInputGrad(dy, w)> = <w, convFilterGrad(x, dy)>, all in float64.
  const r = rng(2024);
  for (let trial = 0; trial < 72; trial++) {
    const D = 1 + (trial % 3);
    const g = randomGeometry(r, D);
    const name =
      `#${trial} D=${D} n=[${g.spatial}] k=[${g.attrs.kernel}] s=[${g.attrs.stride}] r=[${g.attrs.rhsDilation}] ` +
      `l=[${g.attrs.lhsDilation}] pad=${JSON.stringify(g.attrs.padding)} torus=[${g.attrs.torus.map(Number)}] B=${g.B} ${g.cin}→${g.cout}`;
    it(name, () => {
      tidy(() => {
        const taps = g.attrs.kernel.reduce((p, k) => p * k, 1);
        const x = randomTensor(random.key(3 * trial), [g.B, ...g.spatial, g.cin]);
        const w = randomTensor(random.key(3 * trial + 1), [taps, g.cin, g.cout]);
        const y = conv(x, w, g.attrs);
        const ref = naiveConv(x, w, g.attrs);
        expect(y.shape).toEqual(ref.shape);
        allclose(y, ref.data, { rtol: 1e-12, atol: 1e-12 });
        const dy = randomTensor(random.key(3 * trial + 2), y.shape);
        const dx = convInputGrad(dy, w, g.attrs, x.shape);
        const dw = convFilterGrad(x, dy, g.attrs);
        expect(dx.shape).toEqual(x.shape);
        expect(dw.shape).toEqual(w.shape);
        const lhs = dot(y, dy);
        closeScalar(lhs, dot(x, dx), 1e-10, '<conv(x,w),dy> vs <x,convInputGrad(dy,w)>', 1e-12);
        closeScalar(lhs, dot(w, dw), 1e-10, '<conv(x,w),dy> vs <w,convFilterGrad(x,dy)>', 1e-12);
      });
    });
  }
});

describe('conv: gradients (finite differences, f64 on ref)', () => {
  const geometries: [string, number[], number, number, ConvAttrs][] = [
    [
      'D=1 stride 2, dilation 2, lhs dilation 2, zero',
      [2, 5],
      1,
      2,
      { kernel: [3], stride: [2], padding: [[2, 1]], torus: [false], rhsDilation: [2], lhsDilation: [2] },
    ],
    [
      'D=2 torus × zero, stride (1,2), lhs dilation 2 on the zero axis',
      [1, 3, 4],
      2,
      2,
      {
        kernel: [2, 3],
        stride: [1, 2],
        padding: [
          [1, 0],
          [1, 1],
        ],
        torus: [true, false],
        rhsDilation: [1, 1],
        lhsDilation: [1, 2],
      },
    ],
    [
      'D=2 even kernel, torus, dilation 2',
      [1, 4, 3],
      1,
      2,
      {
        kernel: [2, 2],
        stride: [1, 1],
        padding: [
          [1, 2],
          [2, 1],
        ],
        torus: [true, true],
        rhsDilation: [2, 1],
        lhsDilation: [1, 1],
      },
    ],
    [
      'D=3 mixed torus, stride 3',
      [1, 2, 3, 3],
      2,
      1,
      {
        kernel: [2, 1, 3],
        stride: [1, 3, 1],
        padding: [
          [0, 1],
          [0, 0],
          [1, 1],
        ],
        torus: [false, false, true],
        rhsDilation: [1, 1, 1],
        lhsDilation: [1, 2, 1],
      },
    ],
  ];
  for (const [name, bs, cin, cout, a] of geometries) {
    it(name, () => {
      const taps = a.kernel.reduce((p, k) => p * k, 1);
      const x = randomTensor(random.key(1), [...bs, cin]);
      const w = randomTensor(random.key(2), [taps, cin, cout]);
      const yShape = tidy(() => [...conv(x, w, a).shape]);
      const dy = randomTensor(random.key(3), yShape);
      gradcheck((u, v) => conv(u, v, a), [x, w]);
      gradcheck((u, v) => convInputGrad(u, v, a, x.shape), [dy, w]);
      gradcheck((u, v) => convFilterGrad(u, v, a), [x, dy]);
      x.dispose();
      w.dispose();
      dy.dispose();
    });
  }
});

describe('conv: bad input', () => {
  const x = () => image(arange(20), [4, 5]);
  const w = () => filter(ones(9));
  const a = convAttrs(2, 3, { padding: 1 });

  it('geometry attributes name conv and the argument', () => {
    tidy(() => {
      expect(() => conv(x(), w(), { ...a, kernel: [] })).toThrow(/conv: kernel must be of length 1, 2 or 3 \(one size per spatial axis\) \(got \[\]\)/);
      expect(() => conv(x(), w(), { ...a, kernel: [3, 3, 3, 3] })).toThrow(/conv: kernel must be of length 1, 2 or 3/);
      expect(() => conv(x(), w(), { ...a, kernel: [3, 0] })).toThrow(/conv: kernel must be 2 integers >= 1 \(got \[3,0\]\)/);
      expect(() => conv(x(), w(), { ...a, stride: [0, 1] })).toThrow(/conv: stride must be 2 integers >= 1 \(got \[0,1\]\)/);
      expect(() => conv(x(), w(), { ...a, stride: [1] })).toThrow(/conv: stride must be 2 integers >= 1 \(got \[1\]\)/);
      expect(() => conv(x(), w(), { ...a, rhsDilation: [1, 1.5] })).toThrow(/conv: rhsDilation must be 2 integers >= 1 \(got \[1,1\.5\]\)/);
      expect(() => conv(x(), w(), { ...a, lhsDilation: [0, 1] })).toThrow(/conv: lhsDilation must be 2 integers >= 1 \(got \[0,1\]\)/);
      expect(() => conv(x(), w(), { ...a, torus: [true] })).toThrow(/conv: torus must be 2 booleans \(got \[true\]\)/);
      expect(() =>
        conv(x(), w(), {
          ...a,
          padding: [
            [-1, 0],
            [0, 0],
          ],
        }),
      ).toThrow(/conv: padding must be 2 pairs \[lo, hi\] of integers >= 0 \(got \["\[-1,0\]","\[0,0\]"\]\)/);
      expect(() => conv(x(), w(), { ...a, torus: [false, true], lhsDilation: [1, 2] })).toThrow(
        /conv: lhsDilation\[1\] must be 1 on a torus \(periodic\) axis; use zero padding \(got 2\)/,
      );
    });
  });

  it('shapes name conv and the argument', () => {
    tidy(() => {
      expect(() => conv(t64(arange(20), [4, 5]), w(), a)).toThrow(/conv: input shape must be \[batch, \.\.\.2 spatial, channels\] \(rank 4\) \(got \[4,5\]\)/);
      expect(() => conv(x(), t64(ones(18), [9, 2, 1]), a)).toThrow(
        /conv: filter shape must be \[9 taps, 1 in-channels, Cout out-channels\] \(got "\[9,2,1\]"\)/,
      );
      expect(() => conv(x(), t64(ones(8), [8, 1, 1]), a)).toThrow(/conv: filter shape must be \[9 taps/);
      expect(() => conv(image([1, 2], [2]), filter(ones(3)), convAttrs(1, 3))).toThrow(
        /conv: output size on spatial axis 0 must be >= 1 \(got "0 \(input 2, kernel 3, dilation 1, padding \[0,0\]\)"\)/,
      );
    });
  });

  it('convInputGrad names dy, the filter and the input shape', () => {
    tidy(() => {
      const dy = t64(ones(20), [1, 4, 5, 1]);
      expect(() => convInputGrad(t64(ones(16), [1, 4, 4, 1]), w(), a, [1, 4, 5, 1])).toThrow(/convInputGrad: dy shape must be \[1,4,5,1\] \(got \[1,4,4,1\]\)/);
      expect(() => convInputGrad(dy, t64(ones(18), [9, 1, 2]), a, [1, 4, 5, 1])).toThrow(
        /convInputGrad: filter shape must be \[9 taps, 1 in-channels, 1 out-channels\] \(got "\[9,1,2\]"\)/,
      );
      expect(() => convInputGrad(dy, w(), a, [4, 5])).toThrow(
        /convInputGrad: input shape must be \[batch, \.\.\.2 spatial, channels\] \(rank 4\) \(got \[4,5\]\)/,
      );
      expect(() => convInputGrad(dy, w(), { ...a, stride: [1, 0] }, [1, 4, 5, 1])).toThrow(/convInputGrad: stride must be 2 integers >= 1/);
    });
  });

  it('convFilterGrad names dy and the input shape', () => {
    tidy(() => {
      expect(() => convFilterGrad(x(), t64(ones(16), [1, 4, 4, 1]), a)).toThrow(/convFilterGrad: dy shape must be \[1,4,5\] \+ \[Cout\] \(got \[1,4,4,1\]\)/);
      expect(() => convFilterGrad(x(), t64(ones(20), [1, 4, 5]), a)).toThrow(/convFilterGrad: dy shape must be \[1,4,5\] \+ \[Cout\] \(got \[1,4,5\]\)/);
      expect(() => convFilterGrad(t64(ones(20), [4, 5, 1]), t64(ones(20), [1, 4, 5, 1]), a)).toThrow(
        /convFilterGrad: input shape must be \[batch, \.\.\.2 spatial, channels\] \(rank 4\) \(got \[4,5,1\]\)/,
      );
    });
  });
});

describe('conv: convAttrs', () => {
  it('expands scalars per axis and keeps explicit values', () => {
    expect(convAttrs(2, 3)).toEqual({
      kernel: [3, 3],
      stride: [1, 1],
      padding: [
        [0, 0],
        [0, 0],
      ],
      torus: [false, false],
      rhsDilation: [1, 1],
      lhsDilation: [1, 1],
    });
    expect(
      convAttrs(3, [1, 2, 3], {
        stride: 2,
        padding: [
          [1, 0],
          [0, 1],
          [2, 2],
        ],
        torus: [true, false, true],
        rhsDilation: [1, 2, 3],
        lhsDilation: 1,
      }),
    ).toEqual({
      kernel: [1, 2, 3],
      stride: [2, 2, 2],
      padding: [
        [1, 0],
        [0, 1],
        [2, 2],
      ],
      torus: [true, false, true],
      rhsDilation: [1, 2, 3],
      lhsDilation: [1, 1, 1],
    });
  });
});

describe('conv: memory', () => {
  it('the three ops under tidy leave memory() unchanged', () => {
    const a = convAttrs(2, 3, { padding: 1, torus: [true, false], stride: [1, 2] });
    const x = randomTensor(random.key(1), [2, 4, 5, 2]);
    const w = randomTensor(random.key(2), [9, 2, 3]);
    expectNoLeak(() =>
      tidy(() => {
        const y = conv(x, w, a);
        convInputGrad(y, w, a, x.shape);
        convFilterGrad(x, y, a);
      }),
    );
    x.dispose();
    w.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const a = convAttrs(2, 3, { padding: 1, torus: true });
    const x = randomTensor(random.key(3), [1, 3, 3, 1]);
    const w = randomTensor(random.key(4), [9, 1, 2]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: { x: Tensor; w: Tensor }) => {
      const y = conv(p.x, p.w, a);
      const dx = convInputGrad(y, p.w, a, p.x.shape);
      return sum(mul(convFilterGrad(dx, y, a), p.w));
    })({ x, w });
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.x.dispose();
    grads.w.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
    w.dispose();
  });
});
