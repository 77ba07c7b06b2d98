/** Batches (ginjax testGetBatches) and time-series windows (testTimeSeriesIdxs*, testTimeSeriesToMultiImages, testBatchTimeSeries). */
import { describe, expect, it } from 'vitest';
import { memory, random, tensor, type Tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { batchTimeSeries, getBatches, timeSeriesIdxs, timeSeriesToMultiImages } from '../../../src/train/data.js';
import { values } from '../../util.js';

const D = 2;

/** A scalar MultiImage of `n` samples, sample i filled with the value i. */
function indexed(n: number, channels = 1, spatial = [2, 2], offset = 0): MultiImage {
  const P = spatial[0]! * spatial[1]!;
  const data = Float64Array.from({ length: n * P * channels }, (_, i) => Math.floor(i / (P * channels)) + offset);
  return new MultiImage(tensor(data, [n, ...spatial, channels]), [{ k: 0, parity: 0, channels }], D);
}

const sampleIds = (m: MultiImage) => {
  const v = values(m.data);
  const per = m.data.size / m.batch;
  return Array.from({ length: m.batch }, (_, b) => v[b * per]!);
};

describe('getBatches', () => {
  it('floor(L / batch) batches: 10/2 → 5, 20/5 → 4, 11/2 → 5 (remainder dropped)', () => {
    for (const [L, b, want] of [
      [10, 2, 5],
      [20, 5, 4],
      [11, 2, 5],
    ] as const) {
      const x = indexed(L);
      const [batches] = getBatches([x], b, random.key(L));
      expect(batches!.length).toBe(want);
      for (const m of batches!) {
        expect(m.data.shape).toEqual([b, 2, 2, 1]);
        m.dispose();
      }
      x.dispose();
    }
  });

  it('one permutation for every input; every sample at most once; null key keeps the order', () => {
    const x = indexed(12);
    const y = indexed(12, 3, [2, 2], 100);
    const [xb, yb] = getBatches([x, y], 4, random.key(7));
    const xs = xb!.flatMap(sampleIds);
    const ys = yb!.flatMap(sampleIds);
    expect(ys).toEqual(xs.map((i) => i + 100));
    expect([...xs].sort((a, b) => a - b)).toEqual(Array.from({ length: 12 }, (_, i) => i));
    expect(xs).not.toEqual(Array.from({ length: 12 }, (_, i) => i)); // permuted
    const [inOrder] = getBatches([x], 5, null);
    expect(inOrder!.flatMap(sampleIds)).toEqual([0, 1, 2, 3, 4, 5, 6, 7, 8, 9]);
    for (const m of [...xb!, ...yb!, ...inOrder!, x, y]) m.dispose();
  });

  it('rejects mismatched inputs and oversized batches', () => {
    const x = indexed(4);
    const y = indexed(5);
    expect(() => getBatches([x, y], 2, null)).toThrow(/xs\[1\]\.batch must be 4/);
    expect(() => getBatches([x], 5, null)).toThrow(/batchSize must be at most the number of samples \(4\)/);
    x.dispose();
    y.dispose();
  });
});

describe('timeSeriesIdxs', () => {
  it('ginjax hard-coded values', () => {
    expect(timeSeriesIdxs(2, 1, 1, 5)).toEqual({
      input: [
        [0, 1],
        [1, 2],
        [2, 3],
      ],
      output: [[2], [3], [4]],
    });
    const a = timeSeriesIdxs(2, 1, 2, 10);
    expect(a.input.length).toBe(6);
    expect(a.input[0]).toEqual([0, 2]);
    expect(a.output[0]).toEqual([4]);
    expect(a.input[5]).toEqual([5, 7]);
    expect(a.output[5]).toEqual([9]);
    const b = timeSeriesIdxs(2, 2, 2, 10);
    expect(b.input.length).toBe(4);
    expect(b.input[0]).toEqual([0, 2]);
    expect(b.output[0]).toEqual([4, 6]);
    expect(b.output[3]).toEqual([7, 9]);
  });

  it('slice equivalence: window i = i + dt·[0, past), then past·dt + dt·[0, future)', () => {
    for (const [past, future, dt, total] of [
      [1, 1, 1, 3],
      [3, 2, 1, 9],
      [2, 3, 3, 20],
    ] as const) {
      const { input, output } = timeSeriesIdxs(past, future, dt, total);
      expect(input.length).toBe(total - future * dt - (past - 1) * dt);
      input.forEach((w, i) => {
        const all = Array.from({ length: (past + future - 1) * dt + 1 }, (_, s) => i + s).filter((_, s) => s % dt === 0);
        expect([...w, ...output[i]!]).toEqual(all);
      });
    }
    expect(() => timeSeriesIdxs(3, 2, 2, 6)).toThrow(/total must be at least/);
  });
});

describe('time series to MultiImages', () => {
  const T = 5;
  const P = 4;
  /** Dynamic data of one trajectory: scalar c=2 (100·ch + 10·t + p), vector c=1 (500 + 10·t + 2p + j). */
  function dynamic(offset = 0, batch = 1): MultiImage {
    const s = Float64Array.from({ length: batch * 2 * T * P }, (_, i) => {
      const b = Math.floor(i / (2 * T * P));
      const ch = Math.floor(i / (T * P)) % 2;
      const t = Math.floor(i / P) % T;
      return offset * b + 100 * ch + 10 * t + (i % P);
    });
    const v = Float64Array.from({ length: batch * T * P * D }, (_, i) => {
      const b = Math.floor(i / (T * P * D));
      const t = Math.floor(i / (P * D)) % T;
      return offset * b + 500 + 10 * t + (i % (P * D));
    });
    return MultiImage.fromBlocks({ '0,0': tensor(s, [batch, 2 * T, 2, 2]), '1,0': tensor(v, [batch, T, 2, 2, D]) }, D);
  }
  /** Constant fields: a scalar (1000 + p) for the existing key, a new pseudovector key (2000 + …). */
  function constant(offset = 0, batch = 1): MultiImage {
    const s = Float64Array.from({ length: batch * P }, (_, i) => offset * Math.floor(i / P) + 1000 + (i % P));
    const pv = Float64Array.from({ length: batch * P * D }, (_, i) => offset * Math.floor(i / (P * D)) + 2000 + (i % (P * D)));
    return MultiImage.fromBlocks({ '0,0': tensor(s, [batch, 1, 2, 2]), '1,1': tensor(pv, [batch, 1, 2, 2, D]) }, D);
  }
  const blockVals = (m: MultiImage, k: number, p: 0 | 1): number[] => {
    const b = m.block(k, p);
    const v = Array.from(values(b));
    b.dispose();
    return v;
  };

  it('X: c·past channels per key (channel-major), constants after, new keys; Y: c·future', () => {
    const dyn = dynamic();
    const con = constant();
    const { x, y } = timeSeriesToMultiImages(dyn, con, { totalSteps: T, pastSteps: 2, futureSteps: 1 });
    expect(x.batch).toBe(3); // total − future·dt − (past − 1)·dt = 5 − 1 − 1 windows
    expect(x.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 0, 5],
      [1, 0, 2],
      [1, 1, 1],
    ]);
    expect(y.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 0, 2],
      [1, 0, 1],
    ]);
    const xs = blockVals(x, 0, 0); // [window, 5, 2, 2]
    for (let w = 0; w < 3; w++) {
      const ch = (q: number) => xs.slice((w * 5 + q) * P, (w * 5 + q + 1) * P);
      expect(ch(0)).toEqual([0, 1, 2, 3].map((p) => 10 * w + p)); // channel 0, step w
      expect(ch(1)).toEqual([0, 1, 2, 3].map((p) => 10 * (w + 1) + p)); // channel 0, step w+1
      expect(ch(2)).toEqual([0, 1, 2, 3].map((p) => 100 + 10 * w + p)); // channel 1, step w
      expect(ch(3)).toEqual([0, 1, 2, 3].map((p) => 100 + 10 * (w + 1) + p));
      expect(ch(4)).toEqual([1000, 1001, 1002, 1003]); // the constant field, last
    }
    const xv = blockVals(x, 1, 0); // [window, 2, 2, 2, D]
    expect(xv.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => 500 + i));
    expect(xv.slice(8, 16)).toEqual(Array.from({ length: 8 }, (_, i) => 510 + i));
    const xp = blockVals(x, 1, 1);
    expect(xp.slice(2 * 8, 3 * 8)).toEqual(Array.from({ length: 8 }, (_, i) => 2000 + i));
    const ys = blockVals(y, 0, 0); // [window, 2, 2, 2]
    expect(ys.slice(2 * 8, 3 * 8)).toEqual([40, 41, 42, 43, 140, 141, 142, 143]); // window 2 → step 4
    const yv = blockVals(y, 1, 0);
    expect(yv.slice(0, 8)).toEqual(Array.from({ length: 8 }, (_, i) => 520 + i));
    for (const m of [dyn, con, x, y]) m.dispose();
  });

  it('skipInitial, deltaT and futureSteps > 1', () => {
    const dyn = dynamic();
    const { x, y } = timeSeriesToMultiImages(dyn, null, { totalSteps: T, pastSteps: 1, futureSteps: 2, skipInitial: 1, deltaT: 1 });
    expect(x.batch).toBe(2); // steps 1..4: windows [1]→[2,3], [2]→[3,4]
    expect(blockVals(x, 0, 0).slice(0, 4)).toEqual([10, 11, 12, 13]);
    expect(blockVals(y, 0, 0).slice(0, 16)).toEqual([20, 21, 22, 23, 30, 31, 32, 33, 120, 121, 122, 123, 130, 131, 132, 133]);
    for (const m of [dyn, x, y]) m.dispose();
  });

  it('batchTimeSeries: trajectory-major windows; per-trajectory or shared constants', () => {
    const dyn = dynamic(10000, 2);
    const con = constant(10000, 2);
    const { x, y } = batchTimeSeries(dyn, con, { totalSteps: T, pastSteps: 2, futureSteps: 1 });
    expect(x.batch).toBe(6);
    const xs = blockVals(x, 0, 0);
    expect(xs[4 * 5 * P]).toBe(10000 + 10); // sample 4 = trajectory 1, window 1, channel 0 step 1
    expect(xs[(4 * 5 + 4) * P]).toBe(11000); // its constant
    const shared = batchTimeSeries(dyn, constant(), { totalSteps: T, pastSteps: 2, futureSteps: 1 });
    expect(blockVals(shared.x, 0, 0)[(4 * 5 + 4) * P]).toBe(1000);
    const one = timeSeriesToMultiImages(dynamic(), constant(), { totalSteps: T, pastSteps: 2, futureSteps: 1 });
    expect(blockVals(one.x, 0, 0)).toEqual(xs.slice(0, 3 * 5 * P));
    for (const m of [dyn, con, x, y, shared.x, shared.y, one.x, one.y]) m.dispose();
  });

  it('downsample averages 2×2 patches; errors name the problem', () => {
    const n = 4 * 4;
    const s = Float64Array.from({ length: 3 * n }, (_, i) => i);
    const dyn = MultiImage.fromBlocks({ '0,0': tensor(s, [1, 3, 4, 4]) }, D);
    const { x, y } = timeSeriesToMultiImages(dyn, null, { totalSteps: 3, pastSteps: 1, futureSteps: 1, downsample: 1 });
    expect(x.spatial).toEqual([2, 2]);
    expect(blockVals(x, 0, 0).slice(0, 4)).toEqual([2.5, 4.5, 10.5, 12.5]);
    expect(blockVals(y, 0, 0).slice(0, 1)).toEqual([18.5]);
    expect(() => timeSeriesToMultiImages(dyn, null, { totalSteps: 2, pastSteps: 1, futureSteps: 1 })).toThrow(/a multiple of totalSteps = 2/);
    for (const m of [dyn, x, y]) m.dispose();
  });

  it('leaves nothing behind', () => {
    const dyn = dynamic();
    const con = constant();
    const before = memory().tensors;
    const { x, y } = timeSeriesToMultiImages(dyn, con, { totalSteps: T, pastSteps: 2, futureSteps: 2 });
    x.dispose();
    y.dispose();
    expect(memory().tensors).toBe(before);
    dyn.dispose();
    con.dispose();
  });
});

export type { Tensor };
