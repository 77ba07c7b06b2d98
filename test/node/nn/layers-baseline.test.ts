/**
 * Baseline layers against direct loops: Conv (SAME / CIRCULAR / VALID / explicit padding, stride,
 * dilation), ConvTranspose (scatter form, N → 2N), BatchNorm (batch statistics, running statistics
 * in a State), Identity.
 */
import { describe, expect, it } from 'vitest';
import { memory, random, tidy } from '../../../src/index.js';
import { leaf } from '../../../src/nn/module.js';
import { BatchNorm, Conv, ConvTranspose, Identity, State, type ConvPadding } from '../../../src/nn/layers/index.js';
import { values } from '../../util.js';
import { disposeTree, randomMulti, randomParams, relErr } from './layers-helpers.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';

function* cartesian(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((p, d) => p * d, 1);
  for (let i = 0; i < n; i++) {
    const c: number[] = [];
    for (let d = shape.length - 1, r = i; d >= 0; d--) {
      c[d] = r % shape[d]!;
      r = Math.floor(r / shape[d]!);
    }
    yield c;
  }
}
const flatIndex = (c: readonly number[], shape: readonly number[]) => c.reduce((s, v, i) => s * shape[i]! + v, 0);

/** y[b, o, co] = Σ_{a, ci} x[b, o·s + a·r − lo (wrapped or zero), ci] w[a, ci, co] + bias[co]. */
function directConv(
  x: MultiImage,
  w: ArrayLike<number>,
  bias: ArrayLike<number> | null,
  K: number[],
  s: number[],
  r: number[],
  pad: [number, number][],
  wrap: boolean,
  Cout: number,
): { data: number[]; spatial: number[] } {
  const N = [...x.spatial];
  const Cin = x.width;
  const xv = values(x.data);
  const out = N.map((n, i) => Math.floor((n + pad[i]![0] + pad[i]![1] - r[i]! * (K[i]! - 1) - 1) / s[i]!) + 1);
  const data: number[] = [];
  for (let b = 0; b < x.batch; b++)
    for (const o of cartesian(out))
      for (let co = 0; co < Cout; co++) {
        let acc = bias ? bias[co]! : 0;
        for (const a of cartesian(K)) {
          const src = o.map((oi, i) => oi * s[i]! + a[i]! * r[i]! - pad[i]![0]);
          const pos = src.map((p, i) => (wrap ? ((p % N[i]!) + N[i]!) % N[i]! : p));
          if (pos.some((p, i) => p < 0 || p >= N[i]!)) continue;
          const px = b * N.reduce((p, d) => p * d, 1) + flatIndex(pos, N);
          const tap = flatIndex(a, K);
          for (let ci = 0; ci < Cin; ci++) acc += xv[px * Cin + ci]! * w[(tap * Cin + ci) * Cout + co]!;
        }
        data.push(acc);
      }
  return { data, spatial: out };
}

describe('Conv (eqx.nn.Conv baseline)', () => {
  const cases: { D: number; N: number[]; K: number; stride?: number; dil?: number; padding?: ConvPadding; pad: [number, number][]; wrap?: boolean }[] = [
    {
      D: 2,
      N: [5, 6],
      K: 3,
      pad: [
        [1, 1],
        [1, 1],
      ],
    }, // default SAME, zero padding although the image is a torus
    {
      D: 2,
      N: [5, 6],
      K: 3,
      padding: 'CIRCULAR',
      pad: [
        [1, 1],
        [1, 1],
      ],
      wrap: true,
    },
    {
      D: 2,
      N: [5, 6],
      K: 3,
      padding: 'VALID',
      pad: [
        [0, 0],
        [0, 0],
      ],
    },
    {
      D: 2,
      N: [6, 6],
      K: 2,
      padding: 'SAME',
      pad: [
        [0, 1],
        [0, 1],
      ],
    }, // even kernel: lax splits lo = ⌊total/2⌋
    {
      D: 2,
      N: [7, 6],
      K: 3,
      stride: 2,
      padding: 'SAME',
      pad: [
        [1, 1],
        [0, 1],
      ],
    },
    {
      D: 2,
      N: [6, 6],
      K: 3,
      dil: 2,
      padding: 'SAME',
      pad: [
        [2, 2],
        [2, 2],
      ],
    },
    {
      D: 2,
      N: [5, 5],
      K: 3,
      padding: [
        [2, 0],
        [0, 1],
      ],
      pad: [
        [2, 0],
        [0, 1],
      ],
    },
    {
      D: 3,
      N: [4, 3, 4],
      K: 3,
      pad: [
        [1, 1],
        [1, 1],
        [1, 1],
      ],
    },
    {
      D: 3,
      N: [4, 4, 4],
      K: 1,
      pad: [
        [0, 0],
        [0, 0],
        [0, 0],
      ],
    }, // the 1×1 encoder/decoder convs of the baselines
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i against a direct loop', (i, c) => {
    const layer = new Conv({ D: c.D, inChannels: 2, outChannels: 3, kernel: c.K, stride: c.stride, rhsDilation: c.dil, padding: c.padding }, random.key(i));
    const x = randomMulti(500 + i, [[[0, 0], 2]], c.D, c.N, 2);
    const y = layer.call(x);
    const K = new Array<number>(c.D).fill(c.K);
    const want = directConv(
      x,
      values(leaf(layer.params, 'weight')),
      values(leaf(layer.params, 'bias')),
      K,
      new Array(c.D).fill(c.stride ?? 1),
      new Array(c.D).fill(c.dil ?? 1),
      c.pad,
      c.wrap ?? false,
      3,
    );
    expect([...y.spatial]).toEqual(want.spatial);
    expect(y.signature).toEqual([{ k: 0, parity: 0, channels: 3 }]);
    expect(relErr(values(y.data), want.data)).toBeLessThan(1e-12);
    for (const t of [x, y, layer]) t.dispose();
  });

  it('init U(±1/√(Cin·taps)) for weight and bias; useBias false drops the bias', () => {
    const layer = new Conv({ D: 2, inChannels: 4, outChannels: 3, kernel: 3 }, random.key(1));
    const bound = 1 / Math.sqrt(4 * 9);
    expect([...leaf(layer.params, 'weight').shape]).toEqual([9, 4, 3]);
    for (const name of ['weight', 'bias']) expect(Math.max(...Array.from(values(leaf(layer.params, name)), Math.abs))).toBeLessThanOrEqual(bound);
    expect(layer.config).toEqual({
      type: 'Conv',
      D: 2,
      inChannels: 4,
      outChannels: 3,
      kernel: [3, 3],
      stride: [1, 1],
      padding: 'SAME',
      rhsDilation: [1, 1],
      useBias: true,
    });
    layer.dispose();
    const nb = new Conv({ D: 2, inChannels: 4, outChannels: 3, kernel: 3, useBias: false }, random.key(1));
    expect(Object.keys(nb.params)).toEqual(['weight']);
    nb.dispose();
  });
});

describe('ConvTranspose (eqx.nn.ConvTranspose baseline)', () => {
  /** Scatter form: y[s·i + d·t − lo] += W[t]ᵀ x[i], + b. */
  function directTranspose(
    x: MultiImage,
    w: ArrayLike<number>,
    bias: ArrayLike<number>,
    K: number[],
    s: number[],
    d: number[],
    crop: [number, number][],
    Cout: number,
  ) {
    const N = [...x.spatial];
    const Cin = x.width;
    const xv = values(x.data);
    const out = N.map((n, i) => (n - 1) * s[i]! + d[i]! * (K[i]! - 1) + 1 - crop[i]![0] - crop[i]![1]);
    const P = out.reduce((p, v) => p * v, 1);
    const y = new Float64Array(x.batch * P * Cout);
    for (let b = 0; b < x.batch; b++) {
      for (let p = 0; p < P; p++) for (let co = 0; co < Cout; co++) y[(b * P + p) * Cout + co] = bias[co]!;
      for (const i of cartesian(N))
        for (const t of cartesian(K)) {
          const o = i.map((v, a) => v * s[a]! + d[a]! * t[a]! - crop[a]![0]);
          if (o.some((v, a) => v < 0 || v >= out[a]!)) continue;
          const src = b * N.reduce((q, v) => q * v, 1) + flatIndex(i, N);
          const dst = b * P + flatIndex(o, out);
          const tap = flatIndex(t, K);
          for (let ci = 0; ci < Cin; ci++) for (let co = 0; co < Cout; co++) y[dst * Cout + co]! += xv[src * Cin + ci]! * w[(tap * Cin + ci) * Cout + co]!;
        }
    }
    return { data: y, spatial: out };
  }

  const cases: { D: number; N: number[]; K: number; s?: number; d?: number; padding?: number; out: number[] }[] = [
    { D: 2, N: [3, 4], K: 2, out: [6, 8] }, // ginjax's UNet: kernel 2, stride 2, VALID → 2N
    { D: 3, N: [2, 3, 2], K: 2, out: [4, 6, 4] },
    { D: 2, N: [3, 3], K: 3, s: 2, out: [7, 7] },
    { D: 2, N: [3, 3], K: 3, s: 2, padding: 1, out: [5, 5] },
    { D: 2, N: [3, 3], K: 2, s: 1, d: 2, out: [5, 5] },
  ];
  it.each(cases.map((c, i) => [i, c] as const))('case %i: output size and values against the scatter loop', (i, c) => {
    const layer = new ConvTranspose(
      { D: c.D, inChannels: 2, outChannels: 3, kernel: c.K, stride: c.s, rhsDilation: c.d, padding: c.padding },
      random.key(10 + i),
    );
    const x = randomMulti(520 + i, [[[0, 0], 2]], c.D, c.N, 2);
    const y = layer.call(x);
    const K = new Array<number>(c.D).fill(c.K);
    const want = directTranspose(
      x,
      values(leaf(layer.params, 'weight')),
      values(leaf(layer.params, 'bias')),
      K,
      new Array(c.D).fill(c.s ?? c.K),
      new Array(c.D).fill(c.d ?? 1),
      new Array(c.D).fill(0).map(() => [c.padding ?? 0, c.padding ?? 0]),
      3,
    );
    expect(want.spatial).toEqual(c.out);
    expect([...y.spatial]).toEqual(c.out);
    expect(relErr(values(y.data), want.data)).toBeLessThan(1e-12);
    for (const t of [x, y, layer]) t.dispose();
  });
});

describe('BatchNorm', () => {
  const sig = [[[0, 0], 3]] as const;

  it('training: per channel over batch and space with the biased batch variance, then weight and bias', () => {
    const x = randomMulti(540, sig, 2, 3, 4, true, -2, 5);
    const layer = new BatchNorm({ D: 2, input: sig, eps: 1e-5 });
    const params = randomParams(layer.params, 541);
    const y = layer.apply(params, x, { training: true });
    const xv = values(x.data);
    const w = values(leaf(params, 'weight'));
    const b = values(leaf(params, 'bias'));
    const rows = xv.length / 3;
    const want = new Float64Array(xv.length);
    for (let c = 0; c < 3; c++) {
      let m = 0;
      for (let r = 0; r < rows; r++) m += xv[r * 3 + c]! / rows;
      let v = 0;
      for (let r = 0; r < rows; r++) v += (xv[r * 3 + c]! - m) ** 2 / rows;
      for (let r = 0; r < rows; r++) want[r * 3 + c] = ((xv[r * 3 + c]! - m) / Math.sqrt(v + 1e-5)) * w[c]! + b[c]!;
    }
    expect(relErr(values(y.data), want)).toBeLessThan(1e-7);
    for (const t of [x, y, layer]) t.dispose();
    disposeTree(params);
  });

  it('running statistics: carried in a State (momentum 0.99), used in inference; memory stays flat across steps', () => {
    const layer = new BatchNorm({ D: 2, input: sig });
    const state = new State();
    const xs = [0, 1, 2].map((i) => randomMulti(550 + i, sig, 2, 3, 2, true, 1, 4));
    // Inference before any update: the initial statistics (mean 0, var 1).
    const y0 = layer.call(xs[0]!);
    expect(
      relErr(
        values(y0.data),
        Array.from(values(xs[0]!.data), (v) => v / Math.sqrt(1 + 1e-5)),
      ),
    ).toBeLessThan(1e-7);
    let runMean = [0, 0, 0];
    let runVar = [1, 1, 1];
    let before = memory();
    xs.forEach((x, step) => {
      tidy(() => {
        layer.apply(layer.params, x, { training: true, state });
      });
      const xv = values(x.data);
      const rows = xv.length / 3;
      const m = [0, 1, 2].map((c) => Array.from({ length: rows }, (_, r) => xv[r * 3 + c]!).reduce((s, v) => s + v, 0) / rows);
      const v = [0, 1, 2].map((c) => Array.from({ length: rows }, (_, r) => (xv[r * 3 + c]! - m[c]!) ** 2).reduce((s, q) => s + q, 0) / rows);
      runMean = runMean.map((r, c) => 0.99 * r + 0.01 * m[c]!);
      runVar = runVar.map((r, c) => 0.99 * r + 0.01 * v[c]!);
      const held = state.get(layer)!;
      expect(relErr(values(held.mean!), runMean)).toBeLessThan(1e-7);
      expect(relErr(values(held.var!), runVar)).toBeLessThan(1e-7);
      if (step === 0)
        before = memory(); // the first step adds the state's two tensors
      else expect(memory()).toEqual(before);
    });
    const y = layer.apply(layer.params, xs[0]!, { state });
    const xv = values(xs[0]!.data);
    expect(
      relErr(
        values(y.data),
        Array.from(xv, (v, i) => (v - runMean[i % 3]!) / Math.sqrt(runVar[i % 3]! + 1e-5)),
      ),
    ).toBeLessThan(1e-6);
    for (const t of [...xs, y0, y, layer, state]) t.dispose();
  });
});

describe('Identity', () => {
  it('returns the same values, a new handle', () => {
    const x = randomMulti(560, [[[1, 1], 2]], 3, 2, 1);
    const y = new Identity().call(x);
    expect(y).not.toBe(x);
    expect(Array.from(values(y.data))).toEqual(Array.from(values(x.data)));
    y.dispose();
    expect(x.data.disposed).toBe(false);
    x.dispose();
  });
});
