/**
 * Radially averaged power spectra, computed exactly as ginjax's utils.power, and a spectral error
 * between predicted and true fields. Host-side float64 (the data are read once; the FFT is
 * src/core/fft.ts), since a spectrum is an evaluation metric, not part of a differentiated graph.
 */
import { argError, check } from '../core/errors.js';
import { fftFreqInt, fftn } from '../core/fft.js';
import { sameShape } from '../core/shape.js';
import { MultiImage } from '../geometric/multi-image.js';
import { blockOffsets, signatureToString, tensorName } from '../geometric/signature.js';
import { Tensor } from '../tensor.js';

/** One radial spectrum: bins 1 … kmax (bin b holds the modes with b − 1 < |k| ≤ b). */
export interface PowerSpectrum {
  /** Weighted mean |k| of the modes in each bin (integer wavenumbers, not 2π/L). */
  readonly k: Float64Array;
  /** Weighted mean power |FFT|² per bin (batch mean, channel sum). */
  readonly power: Float64Array;
  /** Σ of the mode weights per bin (ginjax's N), rounded. */
  readonly counts: Int32Array;
}

/**
 * ginjax utils.power on scalar images laid out as ginjax does, `shape` = [batch, channels, nx, ny]
 * (row-major `values`): P = |FFT2|², averaged over the batch and summed over the channels; |k| from
 * the integer frequencies (fftfreq·n) of both axes; mode weights 2, except 1 on column 0 (the
 * last axis) and, when that axis is even, on its last column — ginjax's weights for a half-plane
 * (rfft) layout, which it applies to the full FFT; we reproduce that as is. Bins ceil(|k|), weighted
 * bincount means, bins 1 … kmax with kmax = ⌊min(nx, ny)/2⌋.
 *
 * Differences from ginjax, both deliberate: the frequencies are exact integers (ginjax forms
 * fftfreq(n)·n in floating point, which for sizes other than powers of two can land an integer
 * mode just above itself and push it into the next bin); and non-square grids are accepted
 * (ginjax asserts nx = ny): |k| uses each axis's integer frequency, the weights follow the last
 * axis's parity, and kmax the smaller side — integer wavenumbers, i.e. modes per domain length.
 * @example
 * const field = new Float32Array(64 * 64).map((_, i) => Math.sin((2 * Math.PI * 4 * (i % 64)) / 64)); // wavenumber 4 along y
 * const { k, power } = powerSpectrum(field, [1, 1, 64, 64]); // nearly all in power[3], the bin 3 < |k| ≤ 4
 */
export function powerSpectrum(values: ArrayLike<number>, shape: readonly number[]): PowerSpectrum {
  const fn = 'powerSpectrum';
  check(
    Array.isArray(shape) && shape.length === 4 && shape.every((n) => Number.isInteger(n) && n >= 1),
    fn,
    'shape',
    '[batch, channels, nx, ny] of positive integers (2-D scalar images)',
    shape,
  );
  const [B, C, nx, ny] = shape as [number, number, number, number];
  check(nx >= 2 && ny >= 2, fn, 'spatial shape', 'at least 2 × 2 (no wavenumber bin otherwise)', [nx, ny]);
  const P = nx * ny;
  check(values !== null && typeof values === 'object' && values.length === B * C * P, fn, 'values length', `${B * C * P} (= Π shape)`, values?.length);
  const power = new Float64Array(P);
  const re = new Float64Array(P);
  const im = new Float64Array(P);
  for (let b = 0; b < B; b++) {
    for (let c = 0; c < C; c++) {
      const base = (b * C + c) * P;
      for (let i = 0; i < P; i++) re[i] = values[base + i]!;
      im.fill(0);
      fftn(re, im, [nx, ny]);
      for (let i = 0; i < P; i++) power[i]! += (re[i]! * re[i]! + im[i]! * im[i]!) / B;
    }
  }
  return radialBins(power, nx, ny);
}

function radialBins(power: Float64Array, nx: number, ny: number): PowerSpectrum {
  const kmax = Math.floor(Math.min(nx, ny) / 2);
  const fx = fftFreqInt(nx);
  const fy = fftFreqInt(ny);
  const even = ny % 2 === 0;
  const bins = Math.ceil(Math.hypot(Math.floor(nx / 2), Math.floor(ny / 2))) + 1;
  const kSum = new Float64Array(bins);
  const pSum = new Float64Array(bins);
  const wSum = new Float64Array(bins);
  for (let x = 0; x < nx; x++) {
    for (let y = 0; y < ny; y++) {
      const k = Math.sqrt(fx[x]! * fx[x]! + fy[y]! * fy[y]!); // exact for perfect squares, so ceil is exact
      const bin = Math.ceil(k);
      const w = y === 0 || (even && y === ny - 1) ? 1 : 2;
      kSum[bin]! += k * w;
      pSum[bin]! += power[x * ny + y]! * w;
      wSum[bin]! += w;
    }
  }
  const out = { k: new Float64Array(kmax), power: new Float64Array(kmax), counts: new Int32Array(kmax) };
  for (let b = 1; b <= kmax; b++) {
    out.k[b - 1] = kSum[b]! / wSum[b]!;
    out.power[b - 1] = pSum[b]! / wSum[b]!;
    out.counts[b - 1] = Math.round(wSum[b]!);
  }
  return out;
}

/**
 * powerSpectrum of a Tensor [batch, channels, nx, ny] (ginjax layout; read once, asynchronously).
 * @example
 * const spectrum = await tensorPowerSpectrum(prediction.block('0,0')); // [batch, channels, nx, ny]
 */
export async function tensorPowerSpectrum(t: Tensor): Promise<PowerSpectrum> {
  check(t instanceof Tensor, 'tensorPowerSpectrum', 't', 'a Tensor [batch, channels, nx, ny]', t);
  return powerSpectrum(await t.data(), t.shape);
}

/** The spectrum of one field of a MultiImage at one time step. */
export interface FieldSpectrum {
  readonly k: number;
  readonly parity: 0 | 1;
  /** The field's index within its key (channel c of c·steps). */
  readonly field: number;
  readonly step: number;
  /** "scalar 0", "vector 0", … or the given fieldNames entry. */
  readonly name: string;
  readonly spectrum: PowerSpectrum;
}

/** Options of `fieldSpectra`. */
export interface FieldSpectraOptions {
  /** Time steps packed in the channels (c·steps + t, channel-major; default 1). */
  readonly steps?: number;
  /** Samples to average over (default all). */
  readonly samples?: readonly number[];
  /** One name per field, in key order then field order (default "scalar 0", "vector 0", …). */
  readonly fieldNames?: readonly string[];
}

interface FieldColumns {
  readonly k: number;
  readonly parity: 0 | 1;
  readonly field: number;
  readonly step: number;
  readonly name: string;
  /** Packed columns of the field's tensor components. */
  readonly cols: number[];
}

/** The fields (key, channel c of c·steps) and their columns, in key then field then step order. */
export function fieldColumns(fn: string, m: MultiImage, steps: number, fieldNames?: readonly string[]): FieldColumns[] {
  check(Number.isInteger(steps) && steps >= 1, fn, 'steps', 'an integer >= 1', steps);
  const offsets = blockOffsets(m.signature, m.D);
  const out: FieldColumns[] = [];
  let f = 0;
  m.signature.forEach((e, i) => {
    if (e.channels % steps !== 0) argError(fn, `channels of key (${e.k},${e.parity})`, `a multiple of steps = ${steps} (c·steps, channel-major)`, e.channels);
    const T = m.D ** e.k;
    for (let c = 0; c < e.channels / steps; c++, f++) {
      const name = fieldNames?.[f] ?? `${tensorName(e.k, e.parity)} ${c}`;
      for (let t = 0; t < steps; t++) {
        out.push({ k: e.k, parity: e.parity, field: c, step: t, name, cols: Array.from({ length: T }, (_, j) => offsets[i]! + (c * steps + t) * T + j) });
      }
    }
  });
  if (fieldNames) check(fieldNames.length === f, fn, 'fieldNames', `${f} names (one per field)`, fieldNames.length);
  return out;
}

/**
 * The spectrum of every field of `m` (2-D) at every step: scalar and pseudoscalar fields on their
 * own; for a vector (or any k ≥ 1) field, the tensor components are passed to powerSpectrum as its
 * channels, so their power is summed — the spectrum of |v|²/2 up to the factor, a kinetic-energy
 * spectrum for a velocity. (ginjax's column weights single out the last axis, so a 90° rotation of
 * the field can change the binned values slightly; the spectrum of the full grid is reproduced as is.)
 * @example
 * const spectra = await fieldSpectra(rollout, { steps: 10, fieldNames: ['vorticity', 'velocity'] });
 * console.log(spectra.map((s) => `${s.name} step ${s.step}: ${s.spectrum.power[0]}`));
 */
export async function fieldSpectra(m: MultiImage, { steps = 1, samples, fieldNames }: FieldSpectraOptions = {}): Promise<FieldSpectrum[]> {
  const fn = 'fieldSpectra';
  check(m instanceof MultiImage, fn, 'm', 'a MultiImage', m);
  check(m.D === 2, fn, 'm.D', '2 (radial spectra of 2-D images)', m.D);
  const fields = fieldColumns(fn, m, steps, fieldNames);
  const idx = samples ?? Array.from({ length: m.batch }, (_, i) => i);
  check(Array.isArray(idx) && idx.length > 0, fn, 'samples', 'a non-empty list of sample indices', samples);
  idx.forEach((i) => check(Number.isInteger(i) && i >= 0 && i < m.batch, fn, 'samples entry', `an integer in [0, ${m.batch})`, i));
  const data = await m.data.data();
  const [nx, ny] = m.spatial as [number, number];
  const P = nx * ny;
  const W = m.width;
  return fields.map(({ cols, ...rest }) => {
    const T = cols.length;
    const values = new Float64Array(idx.length * T * P);
    idx.forEach((s, b) => {
      for (let p = 0; p < P; p++) for (let j = 0; j < T; j++) values[(b * T + j) * P + p] = data[(s * P + p) * W + cols[j]!]!;
    });
    return { ...rest, spectrum: powerSpectrum(values, [idx.length, T, nx, ny]) };
  });
}

/**
 * Spectral error of a predicted spectrum against the true one: the mean over the bins of
 * |log10 P_pred − log10 P_true|, i.e. the mean number of decades between the two curves of a
 * log–log spectrum plot. Logarithms because spectra span decades: a relative L2 of the spectra would
 * be decided by the few energy-holding low wavenumbers, while emulators fail first at high
 * wavenumbers (blurring removes small scales, instability piles energy there); in log scale each
 * bin counts alike. Zero power is floored at 1e-12 · max P_true (so an all-zero prediction gives a
 * large, finite error). 0 means identical spectra; 0.301 a uniform factor of 2.
 * @example
 * const truth = powerSpectrum(Float32Array.from({ length: 32 * 32 }, () => Math.random() - 0.5), [1, 1, 32, 32]);
 * const doubled = { ...truth, power: truth.power.map((p) => 2 * p) };
 * spectralError(doubled, truth); // log10(2) ≈ 0.301: a factor of 2 at every wavenumber
 */
export function spectralError(pred: PowerSpectrum, truth: PowerSpectrum): number {
  const fn = 'spectralError';
  check(pred?.power instanceof Float64Array && truth?.power instanceof Float64Array, fn, 'arguments', 'two PowerSpectrum objects', [pred, truth]);
  check(
    pred.power.length === truth.power.length && truth.power.length > 0,
    fn,
    'pred bins',
    `truth's ${truth.power.length} bins (spectra of the same grid)`,
    pred.power.length,
  );
  let max = 0;
  for (const v of truth.power) max = Math.max(max, v);
  const floor = max > 0 ? 1e-12 * max : Number.MIN_VALUE;
  let s = 0;
  for (let i = 0; i < truth.power.length; i++) s += Math.abs(Math.log10(Math.max(pred.power[i]!, floor) / Math.max(truth.power[i]!, floor)));
  return s / truth.power.length;
}

/** The spectral error of one field: per wavenumber band and overall. */
export interface FieldSpectralError {
  readonly k: number;
  readonly parity: 0 | 1;
  readonly field: number;
  readonly step: number;
  readonly name: string;
  readonly error: number;
}

/** What `fieldSpectralErrors` returns: one FieldSpectralError per field. */
export interface SpectralErrors {
  /** Per field and step (key, field, step order). */
  readonly fields: FieldSpectralError[];
  /** Mean over the fields, per step. */
  readonly perStep: number[];
  /** Mean over fields and steps. */
  readonly mean: number;
}

/**
 * spectralError of every field of `prediction` against `truth` (same signature; spectra averaged
 * over the same samples) at every step, with the per-step and overall means.
 * @example
 * const { perStep, mean } = await fieldSpectralErrors(rollout, yFuture, { steps: 10 });
 */
export async function fieldSpectralErrors(prediction: MultiImage, truth: MultiImage, o: FieldSpectraOptions = {}): Promise<SpectralErrors> {
  const fn = 'fieldSpectralErrors';
  check(prediction instanceof MultiImage && truth instanceof MultiImage, fn, 'prediction and truth', 'MultiImages', [prediction, truth]);
  check(
    signatureToString(prediction.signature) === signatureToString(truth.signature),
    fn,
    "truth's signature",
    `the prediction's ${signatureToString(prediction.signature)}`,
    signatureToString(truth.signature),
  );
  check(
    truth.batch === prediction.batch && sameShape(truth.spatial, prediction.spatial),
    fn,
    'truth batch and spatial shape',
    `the prediction's ${prediction.batch}, [${prediction.spatial}]`,
    [truth.batch, truth.spatial],
  );
  const sp = await fieldSpectra(prediction, o);
  const st = await fieldSpectra(truth, o);
  const steps = o.steps ?? 1;
  const fields = sp.map(({ spectrum, ...f }, i) => ({ ...f, error: spectralError(spectrum, st[i]!.spectrum) }));
  const perStep = Array.from({ length: steps }, (_, t) => {
    const at = fields.filter((f) => f.step === t);
    return at.reduce((a, f) => a + f.error, 0) / at.length;
  });
  return { fields, perStep, mean: fields.reduce((a, f) => a + f.error, 0) / fields.length };
}
