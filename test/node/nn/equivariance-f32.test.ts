/**
 * Equivariance in float32 (the wasm backend) of every model class and of the ConvContract → VN →
 * LayerNorm → MaxNormPool chain, for signatures with pseudoscalar keys and one channel per key, under
 * every group element of B_2 (8) and B_3 (48), several seeds. These are the cases where ginjax's
 * vector-neuron formula is pure cancellation (q ∥ x) and where max-norm pools meet near-ties; in
 * float64 every model is equivariant to ~1e-12, and float32 must stay within 1e-4 relative.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  getBackend,
  init,
  memory,
  MultiImage,
  operators,
  random,
  setBackend,
  signatureWidth,
  tensor,
  tidy,
  type SignatureLike,
  type Tensor,
} from '../../../src/index.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { LayerNorm, MaxNormPool, Sequential, VectorNeuronNonlinear } from '../../../src/nn/layers/index.js';
import { ConvBlock, DilResNet, GroupAverage, ResNet, UNet } from '../../../src/nn/models.js';
import type { Module } from '../../../src/nn/module.js';
import { values } from '../../util.js';

const TOL = 1e-4;
const SEEDS = [1, 2, 3, 4, 5, 6];
const S = (k: number, parity: 0 | 1, channels = 1) => ({ k, parity, channels });

/** A float32 image of standard normal entries (built on the current backend: wasm). */
function randomImage(sig: SignatureLike, D: number, N: number, seed: number, batch = 1): MultiImage {
  const shape = [batch, ...new Array<number>(D).fill(N), signatureWidth(sig as never, D)];
  return new MultiImage(
    tensor(
      random.normal(
        random.key(seed),
        shape.reduce((a, b) => a * b),
      ),
      shape,
    ),
    sig,
    D,
    true,
  );
}

/** max over every group element g of max|m(g·x) − g·m(x)| / max|g·m(x)|. */
async function equivarianceError(model: Module, x: MultiImage): Promise<number> {
  const y = model.call(x);
  let worst = 0;
  for (const g of operators(x.D)) {
    const [a, b] = tidy(() => [model.call(x.timesGroupElement(g)).data, y.timesGroupElement(g).data]);
    const [av, bv] = await Promise.all([a!.data(), b!.data()]);
    a!.dispose();
    b!.dispose();
    const scale = Math.max(1e-30, ...Array.from(bv, Math.abs));
    for (let i = 0; i < av.length; i++) worst = Math.max(worst, Math.abs(av[i]! - bv[i]!) / scale);
  }
  y.dispose();
  return worst;
}

interface Case {
  readonly name: string;
  readonly D: 2 | 3;
  readonly sig: SignatureLike;
  readonly N: number;
  readonly make: (key: random.Key) => Module;
}

/** Pseudoscalar-only and mixed signatures, one channel per key. */
const PSEUDO = [S(0, 1)];
const MIXED = [S(0, 0), S(0, 1), S(1, 0), S(1, 1)];

function cases(D: 2 | 3): Case[] {
  const N = D === 2 ? 8 : 4;
  const chain = (sig: SignatureLike) => (key: random.Key) => {
    const [k1, k2] = random.split(key) as [random.Key, random.Key];
    return new Sequential([
      new ConvContract({ D, input: sig, output: sig, M: 3 }, k1),
      new VectorNeuronNonlinear({ D, input: sig, activation: 'relu' }, k2),
      new LayerNorm({ D, input: sig }),
      new MaxNormPool(2),
    ]);
  };
  // VN right before the pool: a closed relu gate leaves every pixel at a norm of about 2ε/|w| (the
  // VN of a parallel q), so the pool compares norms that differ only in their 5th digit.
  const chainVnLast = (sig: SignatureLike) => (key: random.Key) => {
    const [k1, k2] = random.split(key) as [random.Key, random.Key];
    return new Sequential([
      new ConvContract({ D, input: sig, output: sig, M: 3 }, k1),
      new LayerNorm({ D, input: sig }),
      new VectorNeuronNonlinear({ D, input: sig, activation: 'relu' }, k2),
      new MaxNormPool(2),
    ]);
  };
  return [
    { name: 'ConvContract → VN → LayerNorm → MaxNormPool, pseudoscalar', D, sig: PSEUDO, N, make: chain(PSEUDO) },
    { name: 'ConvContract → VN → LayerNorm → MaxNormPool, mixed keys', D, sig: MIXED, N, make: chain(MIXED) },
    { name: 'ConvContract → LayerNorm → VN → MaxNormPool, pseudoscalar', D, sig: PSEUDO, N, make: chainVnLast(PSEUDO) },
    { name: 'ConvContract → LayerNorm → VN → MaxNormPool, mixed keys', D, sig: MIXED, N, make: chainVnLast(MIXED) },
    {
      name: 'ConvBlock (layer norm, relu VN), mixed keys',
      D,
      sig: MIXED,
      N,
      make: (key) => new ConvBlock({ D, input: MIXED, output: MIXED, useGroupNorm: true, activation: 'relu' }, key),
    },
    {
      name: 'UNet, pseudoscalar in and out',
      D,
      sig: PSEUDO,
      N,
      make: (key) => new UNet({ D, input: PSEUDO, output: PSEUDO, depth: 1, numDownsamples: 1, numConv: 1, useGroupNorm: true }, key),
    },
    {
      name: 'UNet, pseudoscalar in and out, relu VN',
      D,
      sig: PSEUDO,
      N,
      make: (key) => new UNet({ D, input: PSEUDO, output: PSEUDO, depth: 2, numDownsamples: 1, numConv: 1, activation: 'relu' }, key),
    },
    {
      name: 'UNet, mixed keys, relu VN',
      D,
      sig: MIXED,
      N,
      make: (key) => new UNet({ D, input: MIXED, output: [S(0, 1), S(1, 0)], depth: 1, numDownsamples: 1, numConv: 1, activation: 'relu' }, key),
    },
    {
      name: "UNet, mixed keys, norm nonlinearity (the emulation job's)",
      D,
      sig: MIXED,
      N,
      make: (key) => new UNet({ D, input: MIXED, output: [S(0, 1), S(1, 0)], depth: 2, numDownsamples: 1, numConv: 1, nonlinearity: 'norm' }, key),
    },
    {
      name: 'ResNet, pseudoscalar and pseudovector',
      D,
      sig: [S(0, 1), S(1, 1)],
      N,
      make: (key) => new ResNet({ D, input: [S(0, 1), S(1, 1)], output: [S(0, 1), S(1, 1)], depth: 1, numBlocks: 1, useGroupNorm: true }, key),
    },
    {
      name: 'DilResNet, pseudoscalar',
      D,
      sig: PSEUDO,
      N: D === 2 ? 17 : 9,
      make: (key) => new DilResNet({ D, input: PSEUDO, output: PSEUDO, depth: 1, numBlocks: 1 }, key),
    },
    {
      name: 'GroupAverage of a baseline ConvBlock-sized ResNet, pseudoscalar',
      D,
      sig: PSEUDO,
      N: D === 2 ? 8 : 4,
      make: (key) => new GroupAverage({ model: new ResNet({ D, input: PSEUDO, output: PSEUDO, depth: 2, numBlocks: 1, numConv: 1, equivariant: false }, key) }),
    },
  ];
}

describe('float32 (wasm) equivariance with pseudoscalar keys and one channel per key', { timeout: 300_000 }, () => {
  let previous: Parameters<typeof setBackend>[0];
  beforeAll(async () => {
    previous = getBackend().name as typeof previous;
    await init({ backend: 'wasm' });
  });
  afterAll(() => setBackend(previous));

  for (const D of [2, 3] as const) {
    for (const c of cases(D)) {
      it(`D=${D}: ${c.name}, seeds ${SEEDS.join(',')}, every group element`, async () => {
        expect(getBackend().name).toBe('wasm');
        const before = memory().tensors;
        const errors: number[] = [];
        for (const seed of SEEDS) {
          const model = c.make(random.key(100 + seed));
          const x = randomImage(c.sig, D, c.N, 1000 + seed);
          errors.push(await equivarianceError(model, x));
          x.dispose();
          model.dispose();
        }
        expect(memory().tensors).toBe(before);
        expect(Math.max(...errors), `relative errors per seed: ${errors.map((e) => e.toExponential(1)).join(', ')}`).toBeLessThanOrEqual(TOL);
      });
    }
  }
});

describe('VectorNeuronNonlinear when q ∥ x (k = 0 or one channel)', () => {
  /** ginjax's formula for one pixel of one channel, in float64. */
  function ginjaxVN(xs: number[][], Wm: number[], i: number, eps: number, sigma: (v: number) => number): number[] {
    const c = xs.length;
    const T = xs[0]!.length;
    const q = Array.from({ length: T }, (_, t) => xs.reduce((s, xj, j) => s + Wm[i * c + j]! * xj[t]!, 0));
    const qn = Math.hypot(...q);
    const qh = q.map((v) => v / (qn + eps));
    const s = xs[i]!.reduce((acc, v, t) => acc + v * qh[t]!, 0);
    const gate = sigma(s) / (Math.abs(s) + eps);
    return xs[i]!.map((v, t) => gate * s * qh[t]! + (v - s * qh[t]!));
  }

  it.each([2, 3])("float64 (ref): equal to ginjax's formula for one channel per key and for pseudoscalars, W = 0 gives x (D=%i)", async (D) => {
    setBackend('ref');
    const eps = 1e-5;
    const sig = [S(0, 1, 3), S(1, 0), S(1, 1), S(2, 0)];
    const layer = new VectorNeuronNonlinear({ D, input: sig, activation: 'relu', eps }, random.key(5));
    const x = randomImage(sig, D, 2, 11);
    for (const zeroW of [false, true]) {
      const weights: Record<string, Tensor> = {};
      for (const [k, w] of Object.entries(layer.params.weights as Record<string, Tensor>)) {
        // |W| >= 0.3 with both signs (open and closed relu gates), or all zero (q = 0)
        weights[k] = tensor(
          Array.from(values(w), (v, j) => (zeroW ? 0 : (j % 2 ? -1 : 1) * (0.3 + Math.abs(v)))),
          w.shape,
        );
      }
      const params = { weights };
      const y = layer.apply(params, x);
      const xv = values(x.data);
      const yv = values(y.data);
      let off = 0;
      for (const e of sig) {
        const T = D ** e.k;
        const Wm = Array.from(values(params.weights[`${e.k},${e.parity}`]!));
        for (let px = 0; px < xv.length / x.width; px++) {
          const xs = Array.from({ length: e.channels }, (_, j) => Array.from({ length: T }, (_, t) => xv[px * x.width + off + j * T + t]!));
          for (let i = 0; i < e.channels; i++) {
            const want = zeroW ? xs[i]! : ginjaxVN(xs, Wm, i, eps, (v) => Math.max(v, 0));
            const got = Array.from({ length: T }, (_, t) => yv[px * x.width + off + i * T + t]!);
            // ginjax's own float64 difference loses digits (the remainder is ~ε·x): the allowance is 1e-11·|x|,
            // a million times below the ε-size terms a wrong formula would change.
            for (let t = 0; t < T; t++) expect(Math.abs(got[t]! - want[t]!)).toBeLessThanOrEqual(1e-11 * Math.max(1, Math.abs(xs[i]![t]!)));
          }
        }
        off += e.channels * T;
      }
      y.dispose();
      for (const w of Object.values(params.weights)) w.dispose();
    }
    x.dispose();
    layer.dispose();
    await init({ backend: 'wasm' });
  });

  it("float32 (wasm): a closed relu gate keeps x·ε(2‖q‖+ε)/(‖q‖+ε)² to float32 precision (ginjax's difference kept ~3 digits)", async () => {
    await init({ backend: 'wasm' });
    const eps = 1e-5;
    const D = 2;
    const vals = [0.3, -1.7, 2.5, -0.05, 4];
    for (const [sig, T] of [
      [[S(0, 1)], 1],
      [[S(1, 1)], 2],
    ] as const) {
      const layer = new VectorNeuronNonlinear({ D, input: sig, activation: 'relu', eps }, random.key(1));
      const w = -0.9; // s < 0: the gate is relu(s)/(|s|+ε) = 0 and the output is the perpendicular remainder alone
      const params = { weights: { [`${sig[0]!.k},${sig[0]!.parity}`]: tensor([w], [1, 1]) } };
      const data = Array.from({ length: 4 * T }, (_, i) => vals[i % vals.length]! * (1 + i / 7));
      const x = new MultiImage(tensor(data, [1, 2, 2, T]), sig, D, true);
      const y = layer.apply(params, x);
      const got = y.data.dataSync();
      for (let p = 0; p < 4; p++) {
        const xs = data.slice(p * T, (p + 1) * T);
        const qn = Math.abs(w) * Math.hypot(...xs.map((v) => Math.fround(v)));
        const f = (eps * (2 * qn + eps)) / (qn + eps) ** 2;
        for (let t = 0; t < T; t++) {
          const want = Math.fround(xs[t]!) * f;
          expect(Math.abs(got[p * T + t]! - want) / Math.abs(want), `pixel ${p}, component ${t}`).toBeLessThan(2e-6);
        }
      }
      x.dispose();
      y.dispose();
      layer.dispose();
      params.weights[`${sig[0]!.k},${sig[0]!.parity}`]!.dispose();
    }
  });
});

describe('MaxNormPool ties', () => {
  beforeAll(async () => {
    await init({ backend: 'wasm' });
  });

  /** Windows whose pixels have exactly equal norms: ±a scalars / pseudoscalars and a vector with its 90° rotations. */
  function tiedImage(): MultiImage {
    const sig = [S(0, 0), S(0, 1), S(1, 0)];
    const rows: number[] = [];
    const vecs = [
      [0.6, 0.8],
      [-0.8, 0.6],
      [-0.6, -0.8],
      [0.8, -0.6],
    ];
    for (let i = 0; i < 4; i++) {
      for (let j = 0; j < 4; j++) {
        const w = (i % 2) * 2 + (j % 2);
        const sgn = w === 0 || w === 3 ? 1 : -1;
        rows.push(sgn * 1.5, -sgn * 0.5 * (1 + (i >> 1)), ...vecs[(w + i + j) % 4]!);
      }
    }
    return new MultiImage(tensor(rows, [1, 4, 4, 4]), sig, 2, true);
  }

  it('exact ties are shared (the average of the tied tensors): equivariant under every element of B_2, where the first maximum is not', async () => {
    const x = tiedImage();
    const shared = await equivarianceError(new MaxNormPool(2), x);
    expect(shared).toBeLessThanOrEqual(1e-6);
    // ginjax's rule (MultiImage.maxPool: the first maximum in row-major window order) is not.
    const hard = { call: (m: MultiImage) => m.maxPool(2, true), dispose: () => {} } as unknown as Module;
    expect(await equivarianceError(hard, x)).toBeGreaterThan(0.5);
    // The shared value: ±1.5 scalars average to 0, the vectors' four rotations to 0.
    const y = new MaxNormPool(2).call(x);
    expect(Math.max(...Array.from(y.data.dataSync(), Math.abs))).toBeLessThanOrEqual(1e-6);
    y.dispose();
    x.dispose();
  });

  it("without ties it is ginjax's max-norm pool bit for bit; tieTolerance > 0 shares near ties continuously", async () => {
    const sig = [S(0, 1), S(1, 0), S(2, 1)];
    const x = randomImage(sig, 2, 8, 77, 2);
    const a = new MaxNormPool(2).call(x);
    const b = x.maxPool(2, true);
    expect(Array.from(a.data.dataSync())).toEqual(Array.from(b.data.dataSync()));
    // Two pixels of one window whose norms differ by 1e-7 relative (rounding size): the hard rule
    // jumps between them; with τ = 1e-2 the output moves by ~1.5·δ/τ of their gap at most.
    const made: MultiImage[] = [];
    const near = (d: number) => made[made.push(new MultiImage(tensor([1, 0, 0, -(1 + d)], [1, 2, 2, 1]), [S(0, 1)], 2, true)) - 1]!;
    const band = new MaxNormPool({ patch: 2, tieTolerance: 1e-2 });
    const [p0, p1] = [band.call(near(1e-7)), band.call(near(-1e-7))];
    expect(Math.abs(p0.data.dataSync()[0]! - p1.data.dataSync()[0]!)).toBeLessThan(1e-4);
    expect(Math.abs(p0.data.dataSync()[0]!)).toBeLessThan(1e-4); // nearly tied ±1: shared, about 0
    const [h0, h1] = [new MaxNormPool(2).call(near(1e-6)), new MaxNormPool(2).call(near(-1e-6))];
    expect(Math.abs(h0.data.dataSync()[0]! - h1.data.dataSync()[0]!)).toBeGreaterThan(1.9);
    // A clear winner (gap 5%) is ginjax's output with the band as well.
    const clear = band.call(near(0.05));
    expect(clear.data.dataSync()[0]).toBeCloseTo(-1.05, 6);
    expect(new MaxNormPool({ patch: 2, tieTolerance: 1e-2 }).config).toEqual({ type: 'MaxNormPool', patch: 2, useNorm: true, tieTolerance: 1e-2 });
    expect(new MaxNormPool(2).config).toEqual({ type: 'MaxNormPool', patch: 2, useNorm: true });
    expect(() => new MaxNormPool({ patch: 2, tieTolerance: -1 })).toThrow(/MaxNormPool: tieTolerance must be a number in \[0, 1\) \(got -1\)/);
    for (const t of [x, a, b, p0, p1, h0, h1, clear, ...made]) t.dispose();
  });
});
