/**
 * The conv family on webgpu against ref: conv, convInputGrad, convFilterGrad on every geometry the
 * op allows (D = 1, 2, 3; 1-pixel, odd, even and non-square images; stride; filter and input
 * dilation; torus, zero and partial-torus padding, including paddings that wrap the image more than
 * once; batch > 1; 48 channels, i.e. several tiles in every GEMM dimension; a split-K filter
 * gradient), a seeded sweep of random geometries, gradients of composites through autodiff, and
 * equivariance of a ConvContract layer through the public geometric API.
 *
 * Tolerances: each output is a float32 sum of n products, so |got − ref| <= (n + 2)·u·S + ulp/2
 * with S the same op on |inputs| (see helpers.ts); n = taps·Cin (conv), taps·Q·Cout (input
 * gradient, Q = the torus wraps), B·output pixels (filter gradient).
 */
import { abs, expectWithin, normalData, on, reportWorst, sizeOf, startWebGPU, sumTol, U } from './helpers.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { ConvAttrs, ConvAttrsOptions, SignatureLike, Tensor } from '../../src/index.js';
import { convParams } from '../../src/core/kernel-geometry.js';
import { convWraps, filterGradSplit } from '../../src/backends/webgpu/kernels/conv.js';
import { ConvContract } from '../../src/nn/conv-contract.js';
import { MultiImage } from '../../src/geometric/multi-image.js';

beforeAll(async () => {
  await startWebGPU();
});
afterAll(reportWorst);

interface Case {
  name: string;
  B: number;
  spatial: number[];
  cin: number;
  cout: number;
  attrs: ConvAttrs;
}

const mk = (name: string, B: number, spatial: number[], cin: number, cout: number, kernel: number | number[], o: ConvAttrsOptions = {}): Case => ({
  name,
  B,
  spatial,
  cin,
  cout,
  attrs: g.convAttrs(spatial.length, kernel, o),
});

const outSpatial = (c: Case) =>
  Array.from(convParams([c.B, ...c.spatial, c.cin], c.cout, c.attrs).subarray(4))
    .filter((_, i) => i % 8 === 1)
    .slice(0, c.spatial.length);

/** Runs the three ops on ref and webgpu with seeded data and checks each within its bound. */
async function checkConvFamily(c: Case, seed: number): Promise<void> {
  const a = c.attrs;
  const xs = [c.B, ...c.spatial, c.cin];
  const taps = sizeOf(a.kernel);
  const ws = [taps, c.cin, c.cout];
  const ys = [c.B, ...outSpatial(c), c.cout];
  const x = normalData(seed, sizeOf(xs));
  const w = normalData(seed + 1, sizeOf(ws));
  const dy = normalData(seed + 2, sizeOf(ys));
  const T = (d: Float32Array, s: number[]) => g.tensor(d, s);

  const want = await on('ref', () => g.conv(T(x, xs), T(w, ws), a));
  const got = await on('webgpu', () => g.conv(T(x, xs), T(w, ws), a));
  const S = await on('ref', () => g.conv(T(abs(x), xs), T(abs(w), ws), a));
  expectWithin(`conv ${c.name}`, got, want, sumTol(want, S, taps * c.cin));

  const [q0, q1, q2] = convWraps(convParams(xs, c.cout, a));
  const wantI = await on('ref', () => g.convInputGrad(T(dy, ys), T(w, ws), a, xs));
  const gotI = await on('webgpu', () => g.convInputGrad(T(dy, ys), T(w, ws), a, xs));
  const SI = await on('ref', () => g.convInputGrad(T(abs(dy), ys), T(abs(w), ws), a, xs));
  expectWithin(`convInputGrad ${c.name}`, gotI, wantI, sumTol(wantI, SI, taps * q0 * q1 * q2 * c.cout));

  const wantF = await on('ref', () => g.convFilterGrad(T(x, xs), T(dy, ys), a));
  const gotF = await on('webgpu', () => g.convFilterGrad(T(x, xs), T(dy, ys), a));
  const SF = await on('ref', () => g.convFilterGrad(T(abs(x), xs), T(abs(dy), ys), a));
  expectWithin(`convFilterGrad ${c.name}`, gotF, wantF, sumTol(wantF, SF, sizeOf(ys.slice(0, -1))));
}

const CASES: Case[] = [
  // 1-pixel images: torus (every tap wraps onto the pixel) and zero padding (only the centre tap)
  mk('1 pixel, torus', 1, [1, 1], 3, 2, 3, { padding: 1, torus: true }),
  mk('1 pixel, zero padding', 2, [1, 1], 2, 3, 3, { padding: 1 }),
  mk('1 pixel, D=1, dilated torus', 1, [1], 2, 2, 3, { padding: 4, torus: true, rhsDilation: 4 }),
  // odd, even, non-square
  mk('5×4, SAME torus, batch 2', 2, [5, 4], 3, 2, 3, { padding: 1, torus: true }),
  mk('6×8, SAME zero', 1, [6, 8], 2, 3, 3, { padding: 1 }),
  mk('7×6, VALID, 2×3 kernel', 1, [7, 6], 2, 2, [2, 3]),
  // stride, partial torus
  mk('6×8, stride 2, partial torus', 2, [6, 8], 3, 4, 3, { padding: 1, stride: 2, torus: [true, false] }),
  mk('7×5, stride [3, 2], torus on axis 1', 1, [7, 5], 2, 3, 3, {
    padding: [
      [0, 2],
      [1, 1],
    ],
    stride: [3, 2],
    torus: [false, true],
  }),
  // filter dilation, input (lhs) dilation
  mk('6×5, rhs dilation 2, torus', 1, [6, 5], 2, 3, 3, { padding: 2, torus: true, rhsDilation: 2 }),
  mk('5×4, lhs dilation 2 (upsampling)', 2, [5, 4], 3, 2, 2, { padding: 1, lhsDilation: 2 }),
  mk('4×5, lhs [2, 3], rhs [1, 2], stride 2, uneven padding', 1, [4, 5], 2, 3, 3, {
    padding: [
      [1, 2],
      [2, 0],
    ],
    lhsDilation: [2, 3],
    rhsDilation: [1, 2],
    stride: 2,
  }),
  // paddings that wrap a torus more than once (input-gradient wraps Q > 1)
  mk('2×3 torus, kernel 5, padding 3 (Q = 2, 2)', 1, [2, 3], 2, 2, 5, { padding: 3, torus: true }),
  mk('3 torus D=1, padding 4, stride 2 (Q = 3)', 2, [3], 3, 2, 3, { padding: 4, torus: true, stride: 2 }),
  // D = 1 and D = 3
  mk('D=1, N=9, dilation 3, stride 2, torus', 2, [9], 2, 3, 3, { padding: 3, torus: true, rhsDilation: 3, stride: 2 }),
  mk('D=1, N=8, VALID, even kernel', 1, [8], 3, 2, 4),
  mk('D=3, 3×4×5 torus, batch 2', 2, [3, 4, 5], 2, 3, 3, { padding: 1, torus: true }),
  mk('D=3, 4×3×4 zero, stride 2, lhs dilation on axis 2', 1, [4, 3, 4], 2, 2, 3, { padding: 1, stride: 2, lhsDilation: [1, 1, 2] }),
  mk('D=3, 2×2×2 partial torus, kernel [3, 1, 2]', 1, [2, 2, 2], 3, 2, [3, 1, 2], {
    padding: [
      [1, 1],
      [0, 0],
      [0, 1],
    ],
    torus: [true, false, true],
  }),
  // many channels: several tiles along Cout and Cin, 27 reduction steps
  mk('48 → 48 channels, 6×5 torus', 1, [6, 5], 48, 48, 3, { padding: 1, torus: true }),
  mk('48 → 20 channels, 9×9 SAME, batch 2', 2, [9, 9], 48, 20, 3, { padding: 1 }),
  // a filter gradient with split-K (K = B·pixels = 2·400 >= 512): partial tiles summed by reduce
  mk('20×20 torus, batch 2 (split-K filter gradient)', 2, [20, 20], 3, 5, 3, { padding: 1, torus: true }),
];

// The shaders stage runs of 4 channels (one pixel lookup per run) when the channel count along their
// reduction is a multiple of 4 — Cin for conv and the filter gradient, Cout for the input gradient:
// every geometry above again on those paths, with K rarely a multiple of the 16-wide step.
const RUN_CASES: Case[] = CASES.filter((c) => c.cin % 4 !== 0).map((c) => ({ ...c, name: `${c.name}, Cin 4, Cout ${4 * c.cout}`, cin: 4, cout: 4 * c.cout }));

describe('conv, convInputGrad, convFilterGrad vs ref', () => {
  it.each([...CASES, ...RUN_CASES].map((c, i) => [c.name, c, i] as const))('%s', async (_n, c, i) => {
    await checkConvFamily(c, 1000 + 10 * i);
  });

  it('the geometry above covers wraps Q > 1 and a split-K filter gradient', () => {
    const q = (c: Case) => convWraps(convParams([c.B, ...c.spatial, c.cin], c.cout, c.attrs));
    expect(q(CASES.find((c) => c.name.startsWith('2×3 torus'))!)).toEqual([2, 2, 1]);
    expect(q(CASES.find((c) => c.name.startsWith('3 torus D=1'))!)).toEqual([3, 1, 1]);
    expect(filterGradSplit(9 * 3, 5, 800).splits).toBeGreaterThan(1);
  });
});

/** A random geometry (as test/node/ops/conv.test.ts): torus or zero padding per axis, stride 1–3, dilations, kernel 1–4. */
function randomCase(seed: number, D: number): Case {
  let s = seed;
  const r = (lo: number, hi: number) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return lo + (s % (hi - lo + 1));
  };
  const ax = Array.from({ length: D }, (_, i) => i);
  const torus = ax.map(() => r(0, 1) === 1);
  const kernel = ax.map(() => r(1, 4));
  const stride = ax.map(() => r(1, 3));
  const rhsDilation = ax.map(() => r(1, 3));
  const lhsDilation = torus.map((t) => (t ? 1 : r(1, 2)));
  const padding = ax.map(() => [r(0, 3), r(0, 3)] as [number, number]);
  const spatial = ax.map(() => r(1, D === 3 ? 4 : 6));
  for (let d = 0; d < D; d++) {
    const size = () =>
      Math.floor(((spatial[d]! - 1) * lhsDilation[d]! + 1 + padding[d]![0] + padding[d]![1] - (kernel[d]! - 1) * rhsDilation[d]! - 1) / stride[d]!) + 1;
    while (size() < 1) spatial[d]!++;
  }
  const attrs: ConvAttrs = { kernel, stride, padding, torus, rhsDilation, lhsDilation };
  return { name: `random D=${D} #${seed}`, B: r(1, 2), spatial, cin: r(1, 3), cout: r(1, 3), attrs };
}

describe('random geometries vs ref', () => {
  const cases = [1, 2, 3].flatMap((D) => Array.from({ length: 10 }, (_, i) => randomCase(7919 * D + 31 * i + 1, D)));
  it.each(cases.map((c) => [c.name, JSON.stringify(c.attrs), c] as const))('%s %s', async (_n, _a, c) => {
    await checkConvFamily(c, 5000 + cases.indexOf(c) * 10);
  });
});

describe('gradients through autodiff on webgpu equal ref', () => {
  it('valueAndGrad of sum(square(conv(x, w))), torus and strided zero padding, batch 2', async () => {
    for (const [opts, spatial] of [
      [{ padding: 1, torus: true }, [5, 6]],
      [
        {
          padding: [
            [1, 0],
            [2, 1],
          ],
          stride: 2,
          rhsDilation: [1, 2],
        },
        [7, 6],
      ],
    ] as const) {
      const a = g.convAttrs(2, 3, opts as ConvAttrsOptions);
      const xs = [2, ...spatial, 3];
      const ws = [9, 3, 4];
      const x = normalData(71, sizeOf(xs));
      const w = normalData(72, sizeOf(ws));
      const f = (p: { x: Tensor; w: Tensor }) => g.sum(g.square(g.conv(p.x, p.w, a)));
      const run = async (backend: 'ref' | 'webgpu') => {
        g.setBackend(backend);
        const { value, grads } = g.valueAndGrad(f)({ x: g.tensor(x, xs), w: g.tensor(w, ws) });
        const out = { value: await value.data(), dx: await grads.x.data(), dw: await grads.w.data() };
        for (const t of [value, grads.x, grads.w]) t.dispose();
        return out;
      };
      const want = await run('ref');
      const got = await run('webgpu');
      // Bounds by propagation (helpers.ts): y = conv(x, w) is within ey = (n1 + 2)·u·S1; then
      // dx = convInputGrad(2y, w) is within convInputGrad(2·ey, |w|) + (n2 + 2)·u·convInputGrad(2|y|, |w|),
      // dw = convFilterGrad(x, 2y) likewise, and Σ y² within Σ 2|y|·ey + (n + 2)·u·Σ y²; doubled for
      // the second-order terms and ref's own rounding.
      const n1 = 9 * 3;
      const yRef = await on('ref', () => g.conv(g.tensor(x, xs), g.tensor(w, ws), a));
      const yShape = g.tidy(() => g.conv(g.tensor(x, xs, g.getBackend('ref')), g.tensor(w, ws, g.getBackend('ref')), a).shape);
      const S1 = await on('ref', () => g.conv(g.tensor(abs(x), xs), g.tensor(abs(w), ws), a));
      const ey = S1.map((s) => (n1 + 2) * U * s);
      const yAbs = abs(yRef);
      const [q0, q1, q2] = convWraps(convParams(xs, 4, a));
      const n2 = 9 * q0 * q1 * q2 * 4;
      const n3 = sizeOf(yShape.slice(0, -1));
      const bx = await on('ref', () =>
        g.add(
          g.convInputGrad(
            g.tensor(
              ey.map((e) => 2 * e),
              yShape,
            ),
            g.tensor(abs(w), ws),
            a,
            xs,
          ),
          g.scale(
            g.convInputGrad(
              g.tensor(
                yAbs.map((v) => 2 * v),
                yShape,
              ),
              g.tensor(abs(w), ws),
              a,
              xs,
            ),
            (n2 + 2) * U,
          ),
        ),
      );
      const bw = await on('ref', () =>
        g.add(
          g.convFilterGrad(
            g.tensor(abs(x), xs),
            g.tensor(
              ey.map((e) => 2 * e),
              yShape,
            ),
            a,
          ),
          g.scale(
            g.convFilterGrad(
              g.tensor(abs(x), xs),
              g.tensor(
                yAbs.map((v) => 2 * v),
                yShape,
              ),
              a,
            ),
            (n3 + 2) * U,
          ),
        ),
      );
      const bv = yAbs.reduce((s, v, i) => s + 2 * v * ey[i]! + (yAbs.length + 2) * U * v * v, 0);
      expectWithin('grad.value', got.value, want.value, () => 2 * bv);
      expectWithin('grad.dx', got.dx, want.dx, (i) => 2 * bx[i]!);
      expectWithin('grad.dw', got.dw, want.dw, (i) => 2 * bw[i]!);
    }
  });
});

describe('equivariance through the public geometric API on webgpu', () => {
  it('ConvContract (scalar + vector → scalar + vector, mean bias): layer(g·x) = g·layer(x) for all 8 elements of B_2, and = ref', async () => {
    const D = 2;
    const input: SignatureLike = [
      { k: 0, parity: 0, channels: 2 },
      { k: 1, parity: 0, channels: 1 },
    ];
    const output: SignatureLike = [
      { k: 0, parity: 0, channels: 2 },
      { k: 1, parity: 0, channels: 2 },
    ];
    const spatial = [5, 5];
    const width = 2 + 1 * D; // 2 scalars + 1 vector
    const xData = normalData(91, 2 * 25 * width);
    const results: Record<string, Float32Array[]> = {};
    for (const backend of ['ref', 'webgpu'] as const) {
      g.setBackend(backend);
      const layer = new ConvContract({ D, input, output, M: 3, useBias: 'mean' }, g.random.key(5));
      const x = new MultiImage(g.tensor(xData, [2, ...spatial, width]), input, D, true);
      const outs: Float32Array[] = [];
      for (const el of g.operators(D)) {
        const [lhs, rhs] = g.tidy(() => {
          const a = layer.call(x.timesGroupElement(el)).data;
          const b = layer.call(x).timesGroupElement(el).data;
          return [a, b];
        });
        outs.push(await lhs.data(), await rhs.data());
        lhs.dispose();
        rhs.dispose();
      }
      results[backend] = outs;
      x.dispose();
      layer.dispose();
    }
    // Both sides are float32 sums of the same K = taps·width_in = 36 products (plus a bias from a
    // mean over 25 pixels) in different orders (the group action permutes pixels and taps). The
    // entries are O(1) here (inputs N(0,1), weights ~U(±1/√(c·M^D·D^k))): worst case
    // 2·(36 + 2)·u·S with S <= 36·max|x|·max|w|·… is ~1e-5 of max|y|; 1e-5 relative (ginjax's TINY)
    // holds with margin (measured below 1e-6).
    const rel = (a: Float32Array, b: Float32Array) => {
      let num = 0;
      let den = 1e-30;
      for (let i = 0; i < a.length; i++) {
        num = Math.max(num, Math.abs(a[i]! - b[i]!));
        den = Math.max(den, Math.abs(b[i]!));
      }
      return num / den;
    };
    const gpuOuts = results.webgpu!;
    const refOuts = results.ref!;
    for (let e = 0; e < 8; e++) {
      expect(rel(gpuOuts[2 * e]!, gpuOuts[2 * e + 1]!), `webgpu: layer(g·x) vs g·layer(x), element ${e}`).toBeLessThan(1e-5);
      expect(rel(gpuOuts[2 * e]!, refOuts[2 * e]!), `webgpu vs ref, element ${e}`).toBeLessThan(1e-5);
    }
  });
});
