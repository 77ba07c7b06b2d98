/**
 * Power spectra as ginjax's utils.power: against a direct O(N⁴) DFT with the binning written out
 * independently (mode by mode, bins by their interval), a single Fourier mode whose power lands
 * in exactly one bin with the known value, batch mean / channel sum, non-square grids, the
 * MultiImage field helper (scalar: per channel; vector: components summed), and the spectral error.
 */
import { describe, expect, it } from 'vitest';
import { MultiImage, random, tensor } from '../../../src/index.js';
import { fieldSpectra, fieldSpectralErrors, powerSpectrum, spectralError, tensorPowerSpectrum } from '../../../src/eval/spectrum.js';
import { values } from '../../util.js';
import { referencePower } from '../../shared/power-oracle.js';

const close = (a: ArrayLike<number>, b: ArrayLike<number>, rtol: number) => {
  expect(a.length).toBe(b.length);
  const scale = Math.max(...Array.from(b, Math.abs));
  for (let i = 0; i < a.length; i++) expect(Math.abs(a[i]! - b[i]!)).toBeLessThanOrEqual(rtol * scale);
};

describe('powerSpectrum (ginjax utils.power)', () => {
  // float64 FFT vs float64 direct sums: agreement to ~1e-12 of the largest bin; 1e-10 leaves margin.
  for (const shape of [
    [2, 3, 8, 8],
    [1, 2, 6, 6],
    [2, 1, 7, 7],
    [2, 2, 8, 6],
    [1, 1, 5, 9],
  ]) {
    it(`equals a direct DFT with the binning written out, shape [${shape}]`, () => {
      const n = shape.reduce((a, b) => a * b, 1);
      const vals = Float64Array.from(random.normal(random.key(shape.join('').length + n), n));
      const got = powerSpectrum(vals, shape);
      const ref = referencePower(vals, shape);
      expect(got.k.length).toBe(Math.floor(Math.min(shape[2]!, shape[3]!) / 2));
      close(got.power, ref.power, 1e-10);
      close(got.k, ref.k, 1e-12);
      expect(Array.from(got.counts)).toEqual(ref.counts);
    });
  }

  it('one Fourier mode (3, 4) on 16²: all its power in bin 5, P·N = A²·N⁴ (two modes of weight 2)', () => {
    const n = 16,
      A = 0.7;
    const vals = new Float64Array(n * n);
    for (let x = 0; x < n; x++) for (let y = 0; y < n; y++) vals[x * n + y] = A * Math.cos((2 * Math.PI * (3 * x + 4 * y)) / n);
    const s = powerSpectrum(vals, [1, 1, n, n]);
    // |F(±(3,4))| = A n²/2 each, both on columns of weight 2: Σ w·P = 4·(A n²/2)² = A² n⁴.
    expect(s.power[4]! * s.counts[4]!).toBeCloseTo(A * A * n ** 4, 6);
    s.power.forEach((p, i) => {
      if (i !== 4) expect(p).toBeLessThan(1e-18 * A * A * n ** 4);
    });
    // Bin 1: (±1, 0) on column 0 (weight 1 each), (0, 1) on column 1 (weight 2), (0, −1) on column
    // 15 — the last column of an even grid, weight 1 in ginjax's rfft-style weights: 1 + 1 + 2 + 1.
    expect(s.counts[0]).toBe(5);
    expect(s.k[0]).toBe(1);
  });

  it('averages over the batch and sums over the channels', () => {
    const a = Float64Array.from(random.normal(random.key(1), 64));
    const b = Float64Array.from(random.normal(random.key(2), 64));
    const sa = powerSpectrum(a, [1, 1, 8, 8]);
    const sb = powerSpectrum(b, [1, 1, 8, 8]);
    const batch = powerSpectrum(Float64Array.from([...a, ...b]), [2, 1, 8, 8]);
    const chans = powerSpectrum(Float64Array.from([...a, ...b]), [1, 2, 8, 8]);
    close(
      batch.power,
      sa.power.map((v, i) => (v + sb.power[i]!) / 2),
      1e-13,
    );
    close(
      chans.power,
      sa.power.map((v, i) => v + sb.power[i]!),
      1e-13,
    );
  });

  it('tensorPowerSpectrum reads a Tensor; bad input is named', async () => {
    const v = random.normal(random.key(3), 2 * 36);
    const t = tensor(v, [2, 1, 6, 6]);
    const s = await tensorPowerSpectrum(t);
    close(s.power, powerSpectrum(Float64Array.from(v), [2, 1, 6, 6]).power, 1e-12);
    t.dispose();
    expect(() => powerSpectrum(new Float64Array(16), [4, 4])).toThrow(/powerSpectrum: shape must be \[batch, channels, nx, ny\]/);
    expect(() => powerSpectrum(new Float64Array(15), [1, 1, 4, 4])).toThrow(/powerSpectrum: values length must be 16/);
    expect(() => powerSpectrum(new Float64Array(4), [1, 1, 1, 4])).toThrow(/at least 2 × 2/);
  });
});

describe('fieldSpectra / spectralError', () => {
  const D = 2,
    n = 8,
    steps = 2;
  // (0,0): 2 fields × 2 steps; (1,0): 1 field × 2 steps.
  const sig = [
    { k: 0, parity: 0 as const, channels: 2 * steps },
    { k: 1, parity: 0 as const, channels: steps },
  ];
  const W = 2 * steps + D * steps;
  const make = (seed: number, B = 3) => new MultiImage(tensor(random.normal(random.key(seed), B * n * n * W), [B, n, n, W]), sig, D);

  it('scalar fields per channel and step; vector fields as the sum over components (ginjax layout blocks)', async () => {
    const m = make(4);
    const spectra = await fieldSpectra(m, { steps });
    expect(spectra.map((s) => `${s.name}@${s.step}`)).toEqual(['scalar 0@0', 'scalar 0@1', 'scalar 1@0', 'scalar 1@1', 'vector 0@0', 'vector 0@1']);
    // Independent extraction through the ginjax-layout blocks.
    const sb = m.block(0, 0); // [3, 4, n, n]
    const vb = m.block(1, 0); // [3, 2, n, n, 2]
    const sv = values(sb),
      vv = values(vb);
    const P = n * n;
    for (const [f, t] of [
      [0, 0],
      [0, 1],
      [1, 0],
      [1, 1],
    ] as const) {
      const ch = f * steps + t;
      const img = new Float64Array(3 * P);
      for (let b = 0; b < 3; b++) for (let p = 0; p < P; p++) img[b * P + p] = sv[(b * 4 + ch) * P + p]!;
      close(spectra[f * 2 + t]!.spectrum.power, powerSpectrum(img, [3, 1, n, n]).power, 1e-12);
    }
    for (const t of [0, 1]) {
      const img = new Float64Array(3 * 2 * P); // components as channels
      for (let b = 0; b < 3; b++) for (let j = 0; j < 2; j++) for (let p = 0; p < P; p++) img[(b * 2 + j) * P + p] = vv[((b * 2 + t) * P + p) * 2 + j]!;
      close(spectra[4 + t]!.spectrum.power, powerSpectrum(img, [3, 2, n, n]).power, 1e-12);
    }
    const one = await fieldSpectra(m, { steps, samples: [1], fieldNames: ['density', 'pressure', 'velocity'] });
    expect(one.map((s) => s.name)).toEqual(['density', 'density', 'pressure', 'pressure', 'velocity', 'velocity']);
    const img1 = new Float64Array(P);
    for (let p = 0; p < P; p++) img1[p] = sv[(1 * 4 + 0) * P + p]!;
    close(one[0]!.spectrum.power, powerSpectrum(img1, [1, 1, n, n]).power, 1e-12);
    await expect(fieldSpectra(m, { steps: 3 })).rejects.toThrow(/fieldSpectra: channels of key \(0,0\) must be a multiple of steps = 3/);
    await expect(fieldSpectra(m, { steps, fieldNames: ['a'] })).rejects.toThrow(/fieldNames must be 3 names/);
    for (const t of [sb, vb]) t.dispose();
    m.dispose();
  });

  it('spectralError: 0 for equal spectra, log10(c) for spectra scaled by c, symmetric', () => {
    const s = powerSpectrum(Float64Array.from(random.normal(random.key(5), 64)), [1, 1, 8, 8]);
    const scaled = (c: number) => ({ ...s, power: s.power.map((v) => v * c) });
    expect(spectralError(s, s)).toBe(0);
    expect(spectralError(scaled(10), s)).toBeCloseTo(1, 12);
    expect(spectralError(s, scaled(2))).toBeCloseTo(Math.log10(2), 12);
    // per-bin mean of |log ratio|: scale only bin 0 by 100 → 2 / (number of bins)
    const one = { ...s, power: s.power.map((v, i) => (i === 0 ? 100 * v : v)) };
    expect(spectralError(one, s)).toBeCloseTo(2 / s.power.length, 12);
    const zero = { ...s, power: new Float64Array(s.power.length) };
    expect(spectralError(zero, s)).toBeCloseTo(12, 0); // floored at 1e-12 · max
    expect(() => spectralError(s, powerSpectrum(new Float64Array(36), [1, 1, 6, 6]))).toThrow(/spectralError: pred bins must be truth's 3 bins/);
  });

  it('fieldSpectralErrors: a prediction scaled by 2 is off by log10(4) in every field and step', async () => {
    const truth = make(6, 2);
    const pred = truth.scale(2);
    const r = await fieldSpectralErrors(pred, truth, { steps });
    expect(r.fields.length).toBe(6);
    r.fields.forEach((f) => expect(f.error).toBeCloseTo(Math.log10(4), 5));
    expect(r.perStep.length).toBe(2);
    expect(r.mean).toBeCloseTo(Math.log10(4), 5);
    const same = await fieldSpectralErrors(truth, truth, { steps });
    expect(same.mean).toBe(0);
    const other = make(7, 2);
    const bad = new MultiImage(other.data, [{ k: 0, parity: 0, channels: W }], D);
    await expect(fieldSpectralErrors(bad, truth, { steps })).rejects.toThrow(/fieldSpectralErrors: truth's signature must be the prediction's/);
    for (const m of [truth, pred, other]) m.dispose();
  });
});
