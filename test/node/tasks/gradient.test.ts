import { describe, expect, it } from 'vitest';
import { disposeTask, gradientTask, memory, random, setBackend, MultiImage, tensor } from '../../../src/index.js';

setBackend('ref');

function stats(v: Float32Array): { mean: number; rms: number } {
  let s = 0,
    q = 0;
  for (const x of v) s += x;
  for (const x of v) q += x * x;
  return { mean: s / v.length, rms: Math.sqrt(q / v.length) };
}

describe('gradient task, ginjax notebook protocol', () => {
  it('crops the target by 2 pixels per side and standardises with the training split', async () => {
    const before = memory().tensors;
    const key = random.key(4);
    const exact = gradientTask(key, { nTrain: 6, nVal: 2, nTest: 3, N: 12 });
    const nb = gradientTask(key, { nTrain: 6, nVal: 2, nTest: 3, N: 12, protocol: 'notebook' });
    expect(exact.crop).toBe(0);
    expect(nb.crop).toBe(2);
    expect(nb.train.x.spatial).toEqual([12, 12]);
    expect(nb.train.y.spatial).toEqual([8, 8]);
    const [xe, ye, xn, yn] = await Promise.all([exact.train.x.data.data(), exact.train.y.data.data(), nb.train.x.data.data(), nb.train.y.data.data()]);
    // input: (x − mean)/std of the training split → mean 0, std 1 there
    const sx = stats(xn);
    expect(Math.abs(sx.mean)).toBeLessThan(1e-6);
    expect(sx.rms).toBeCloseTo(1, 5);
    // target: the interior of the exact gradient divided by one positive number (no shift)
    const interior: number[] = [];
    for (let b = 0; b < 6; b++)
      for (let i = 2; i < 10; i++) for (let j = 2; j < 10; j++) for (let c = 0; c < 2; c++) interior.push(ye[((b * 12 + i) * 12 + j) * 2 + c]!);
    const ratio = interior[5]! / yn[5]!;
    expect(ratio).toBeGreaterThan(0);
    interior.forEach((v, i) => expect(yn[i]! * ratio).toBeCloseTo(v, 5));
    expect(stats(yn).rms).toBeCloseTo(1, 5);
    // val/test use the training statistics (not their own), so their std is not exactly 1
    const xt = stats(await nb.test.x.data.data());
    expect(Math.abs(xt.rms - 1)).toBeGreaterThan(1e-4);
    const xeStats = stats(xe);
    expect(xn[0]).toBeCloseTo((xe[0]! - xeStats.mean) / Math.sqrt(xeStats.rms ** 2 - xeStats.mean ** 2), 4);
    disposeTask(exact);
    disposeTask(nb);
    expect(memory().tensors).toBe(before);
  });

  it('refuses a grid too small to crop and an unknown protocol', () => {
    expect(() => gradientTask(random.key(0), { N: 4, protocol: 'notebook' })).toThrow(/gradientTask: N must be more than 4/);
    expect(() => gradientTask(random.key(0), { protocol: 'paper' as 'exact' })).toThrow(/protocol must be "exact" or "notebook"/);
  });
});

describe('MultiImage.centerCrop', () => {
  it('drops the border of every spatial axis, keeps channels, and is differentiable data', async () => {
    const before = memory().tensors;
    const data = Float32Array.from({ length: 2 * 5 * 6 * 3 }, (_, i) => i);
    const img = new MultiImage(
      tensor(data, [2, 5, 6, 3]),
      [
        [[0, 0], 1],
        [[1, 0], 1],
      ],
      2,
      false,
    );
    const c = img.centerCrop(1);
    expect(c.spatial).toEqual([3, 4]);
    const got = await c.data.data();
    for (let b = 0; b < 2; b++)
      for (let i = 0; i < 3; i++)
        for (let j = 0; j < 4; j++)
          for (let w = 0; w < 3; w++) {
            expect(got[((b * 3 + i) * 4 + j) * 3 + w]).toBe(data[((b * 5 + i + 1) * 6 + j + 1) * 3 + w]);
          }
    expect(() => img.centerCrop(3)).toThrow(/centerCrop: pixels must be less than half of spatial axis 0 \(size 5\)/);
    c.dispose();
    img.dispose();
    expect(memory().tensors).toBe(before);
  });
});
