/**
 * Data handling for training (ginjax ml/training.get_batches and data.py): random batches that drop
 * the remainder, and sliding windows over time series with the time steps packed channel-major
 * (channel c, step t → c·T + t) and constant fields appended after the dynamic channels of a key.
 */
import { argError, check } from '../core/errors.js';
import { sameShape, sizeOf } from '../core/shape.js';
import { permutation, type Key } from '../core/random.js';
import { MultiImage } from '../geometric/multi-image.js';
import { blockOffsets, compareKeys, keyName, signatureWidth, type SignatureEntry } from '../geometric/signature.js';
import { broadcastTo } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { gather } from '../ops/gather.js';
import { tidy, type Tensor } from '../tensor.js';

/**
 * The batches' sample indices: a random permutation of 0..n−1 (the identity when key is null) cut
 * into floor(n / batchSize) batches; the remainder is dropped.
 * @example
 * batchIndices(10, 4, random.key(0)); // two shuffled batches of 4; 2 samples dropped
 * batchIndices(10, 4, null);          // [[0, 1, 2, 3], [4, 5, 6, 7]]
 */
export function batchIndices(n: number, batchSize: number, key: Key | null): number[][] {
  check(Number.isInteger(batchSize) && batchSize >= 1, 'getBatches', 'batchSize', 'an integer >= 1', batchSize);
  check(batchSize <= n, 'getBatches', 'batchSize', `at most the number of samples (${n}); the remainder is dropped, so no batch would remain`, batchSize);
  const order = key ? permutation(key, n) : Array.from({ length: n }, (_, i) => i);
  return Array.from({ length: Math.floor(n / batchSize) }, (_, b) => order.slice(b * batchSize, (b + 1) * batchSize));
}

/**
 * ginjax get_batches: for each input MultiImage (all with the same batch size L), the list of its
 * floor(L / batchSize) batches, cut from the SAME random permutation for every input (so x and y
 * batches stay paired). The batches are new MultiImages; dispose them when done.
 * @example
 * const [xBatches, yBatches] = getBatches([x, y], 8, random.key(0)); // x and y cut alike
 * for (const b of [...xBatches, ...yBatches]) b.dispose();
 */
export function getBatches(xs: readonly MultiImage[], batchSize: number, key: Key | null): MultiImage[][] {
  check(Array.isArray(xs) && xs.length > 0, 'getBatches', 'xs', 'a non-empty array of MultiImages', xs);
  xs.forEach((x, i) => check(x instanceof MultiImage, 'getBatches', `xs[${i}]`, 'a MultiImage', x));
  const L = xs[0]!.batch;
  xs.forEach((x, i) => check(x.batch === L, 'getBatches', `xs[${i}].batch`, `${L} (the batch of xs[0])`, x.batch));
  const idx = batchIndices(L, batchSize, key);
  return xs.map((x) => idx.map((b) => x.getSubset(b)));
}

/**
 * ginjax time_series_idxs: window i takes the inputs i + dt·[0, past) and the outputs
 * i + past·dt + dt·[0, future); there are total − future·dt − (past − 1)·dt windows.
 * @example
 * const { input, output } = timeSeriesIdxs(2, 1, 1, 5);
 * // input  [[0, 1], [1, 2], [2, 3]]
 * // output [[2], [3], [4]]
 */
export function timeSeriesIdxs(past: number, future: number, dt: number, total: number): { input: number[][]; output: number[][] } {
  for (const [name, v, min] of [
    ['past', past, 1],
    ['future', future, 1],
    ['dt', dt, 1],
    ['total', total, 1],
  ] as const) {
    check(Number.isInteger(v) && v >= min, 'timeSeriesIdxs', name, `an integer >= ${min}`, v);
  }
  const windows = total - future * dt - (past - 1) * dt;
  check(windows >= 1, 'timeSeriesIdxs', 'total', `at least future·dt + (past − 1)·dt + 1 = ${future * dt + (past - 1) * dt + 1} steps`, total);
  const input = Array.from({ length: windows }, (_, i) => Array.from({ length: past }, (_, s) => i + dt * s));
  const output = Array.from({ length: windows }, (_, i) => Array.from({ length: future }, (_, s) => i + past * dt + dt * s));
  return { input, output };
}

/** Options of `timeSeriesWindows`: past and future steps, stride. */
export interface TimeSeriesOptions {
  /** Number of time steps T in the dynamic fields (each key has c·T channels, channel-major). */
  readonly totalSteps: number;
  readonly pastSteps: number;
  readonly futureSteps: number;
  /** Steps dropped at the start of every trajectory (default 0). */
  readonly skipInitial?: number;
  /** Stride between the steps of a window (default 1). */
  readonly deltaT?: number;
  /** average_pool(2) applied this many times to X and Y (default 0). */
  readonly downsample?: number;
}

/**
 * ginjax batch_time_series: `dynamic` holds B trajectories, each key with c·T channels (c·T + t);
 * `constant` (batch B, or 1 for fields shared by every trajectory) holds per-trajectory constant
 * fields. Returns X (B·windows samples, trajectory-major; per key c·past dynamic channels, then the
 * constant channels of that key; keys only in `constant` are added) and Y (c·future channels).
 * @example
 * // 3 trajectories of 10 steps of 1 scalar field (channels c·T = 1·10)
 * const traj = MultiImage.zeros({ signature: [[[0, 0], 10]], D: 2, spatial: 16, batch: 3 });
 * const { x, y } = batchTimeSeries(traj, null, { totalSteps: 10, pastSteps: 2, futureSteps: 1 });
 * // x: batch 3·8 = 24, 2 channels per sample; y: batch 24, 1 channel
 */
export function batchTimeSeries(dynamic: MultiImage, constant: MultiImage | null, o: TimeSeriesOptions): { x: MultiImage; y: MultiImage } {
  const fn = 'batchTimeSeries';
  check(dynamic instanceof MultiImage, fn, 'dynamic', 'a MultiImage', dynamic);
  const { totalSteps: T, pastSteps: past, futureSteps: future, skipInitial = 0, deltaT = 1, downsample = 0 } = o;
  check(Number.isInteger(T) && T >= 1, fn, 'totalSteps', 'an integer >= 1', T);
  check(Number.isInteger(skipInitial) && skipInitial >= 0 && skipInitial < T, fn, 'skipInitial', `an integer in [0, ${T})`, skipInitial);
  check(Number.isInteger(downsample) && downsample >= 0, fn, 'downsample', 'an integer >= 0', downsample);
  for (const e of dynamic.signature) {
    if (e.channels % T !== 0) argError(fn, `channels of dynamic key (${e.k},${e.parity})`, `a multiple of totalSteps = ${T} (c·T, channel-major)`, e.channels);
  }
  const B = dynamic.batch;
  const D = dynamic.D;
  if (constant) {
    check(constant instanceof MultiImage, fn, 'constant', 'a MultiImage or null', constant);
    check(constant.D === D, fn, 'constant.D', `${D}`, constant.D);
    check(constant.batch === B || constant.batch === 1, fn, 'constant batch', `${B} or 1`, constant.batch);
    if (!sameShape(constant.spatial, dynamic.spatial)) argError(fn, 'constant spatial shape', `${dynamic.spatial}`, constant.spatial);
  }
  const { input, output } = timeSeriesIdxs(past, future, deltaT, T - skipInitial);
  const nw = input.length;
  const P = sizeOf(dynamic.spatial);
  const Wd = dynamic.width;
  const dOff = blockOffsets(dynamic.signature, D);
  const cSig = constant?.signature ?? [];
  const cOff = constant ? blockOffsets(constant.signature, D) : [];

  // Keys of X: the union, canonical order.
  const names = new Map<string, { k: number; parity: 0 | 1 }>();
  for (const e of [...dynamic.signature, ...cSig]) names.set(keyName(e.k, e.parity), { k: e.k, parity: e.parity });
  const keys = [...names.values()].sort(compareKeys);

  const xSig: SignatureEntry[] = [];
  const ySig: SignatureEntry[] = [];
  const xCols: number[][] = Array.from({ length: nw }, () => []);
  const yCols: number[][] = Array.from({ length: nw }, () => []);
  for (const { k, parity } of keys) {
    const Tk = D ** k;
    const di = dynamic.signature.findIndex((e) => e.k === k && e.parity === parity);
    const ci = cSig.findIndex((e) => e.k === k && e.parity === parity);
    const c = di < 0 ? 0 : dynamic.signature[di]!.channels / T;
    const cc = ci < 0 ? 0 : cSig[ci]!.channels;
    xSig.push({ k, parity, channels: c * past + cc });
    if (c > 0) ySig.push({ k, parity, channels: c * future });
    for (let w = 0; w < nw; w++) {
      const col = (ch: number, step: number, j: number) => dOff[di]! + (ch * T + skipInitial + step) * Tk + j;
      for (let ch = 0; ch < c; ch++) for (const s of input[w]!) for (let j = 0; j < Tk; j++) xCols[w]!.push(col(ch, s, j));
      for (let q = 0; q < cc; q++) for (let j = 0; j < Tk; j++) xCols[w]!.push(Wd + cOff[ci]! + q * Tk + j);
      for (let ch = 0; ch < c; ch++) for (const s of output[w]!) for (let j = 0; j < Tk; j++) yCols[w]!.push(col(ch, s, j));
    }
  }

  const windows = (source: Tensor, cols: number[][], width: number) => {
    const Wsrc = source.shape.at(-1)!;
    const index = new Int32Array(B * nw * P * width);
    let i = 0;
    for (let b = 0; b < B; b++)
      for (let w = 0; w < nw; w++)
        for (let p = 0; p < P; p++) {
          const base = (b * P + p) * Wsrc;
          for (const c of cols[w]!) index[i++] = base + c;
        }
    return gather(source, [B * nw, ...dynamic.spatial, width], index);
  };

  return tidy(() => {
    const source = constant
      ? concat([dynamic.data, constant.batch === B ? constant.data : broadcastTo(constant.data, [B, ...constant.data.shape.slice(1)])], D + 1)
      : dynamic.data;
    let x = new MultiImage(windows(source, xCols, signatureWidth(xSig, D)), xSig, D, dynamic.isTorus);
    let y = new MultiImage(windows(dynamic.data, yCols, signatureWidth(ySig, D)), ySig, D, dynamic.isTorus);
    for (let i = 0; i < downsample; i++) {
      x = x.averagePool(2);
      y = y.averagePool(2);
    }
    return { x, y };
  });
}

/**
 * ginjax times_series_to_multi_images for one trajectory: `dynamic` (batch 1, c·T channels per key)
 * and `constant` (batch 1, or null). X has one sample per window. Same as batchTimeSeries with B = 1.
 * @example
 * const traj = MultiImage.zeros({ signature: [[[1, 0], 10]], D: 2, spatial: 16 }); // one trajectory, T = 10
 * const { x, y } = timeSeriesToMultiImages(traj, null, { totalSteps: 10, pastSteps: 4, futureSteps: 1 });
 * // x: 6 windows of 4 vector steps; y: 6 windows of the next step
 */
export function timeSeriesToMultiImages(dynamic: MultiImage, constant: MultiImage | null, o: TimeSeriesOptions): { x: MultiImage; y: MultiImage } {
  check(
    dynamic instanceof MultiImage && dynamic.batch === 1,
    'timeSeriesToMultiImages',
    'dynamic',
    'a MultiImage of batch 1 (one trajectory; use batchTimeSeries for several)',
    dynamic?.batch,
  );
  return batchTimeSeries(dynamic, constant, o);
}
