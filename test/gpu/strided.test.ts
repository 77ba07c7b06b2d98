/**
 * webgpu `strided` (shaders/strided.wgsl) against ref: random views (permuted sub-boxes, broadcasts,
 * summing and sparse destinations, empty extents), the views built on it (permute, slice,
 * broadcastTo, upsample, selectColumns) and a gradient through them; no index map is uploaded.
 * Copies must be exact; sums get the float32 bound of helpers.ts.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { WebGPUBackend } from '../../src/backends/webgpu/index.js';
import { selectColumns } from '../../src/ops/gather.js';
import { abs, expectExact, expectWithin, normalData, on, reportWorst, sizeOf, startWebGPU, sumTol } from './helpers.js';

let gpu: WebGPUBackend;
beforeAll(async () => {
  gpu = await startWebGPU();
});
afterAll(reportWorst);

/** Seeded integers in [lo, hi]. */
function ints(seed: number): (lo: number, hi: number) => number {
  let s = seed >>> 0;
  return (lo, hi) => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return lo + (s % (hi - lo + 1));
  };
}

function randomView(r: (lo: number, hi: number) => number, extents: number[], zeroPercent: number) {
  const box = extents.map((e) => e + r(0, 2));
  const order = extents.map((_, d) => d);
  for (let i = order.length - 1; i > 0; i--) {
    const j = r(0, i);
    [order[i], order[j]] = [order[j]!, order[i]!];
  }
  const strides = extents.map(() => 0);
  let s = 1;
  for (let k = order.length - 1; k >= 0; k--) {
    strides[order[k]!] = s;
    s *= box[order[k]!]!;
  }
  let offset = 0;
  extents.forEach((e, d) => (offset += r(0, box[d]! - e) * strides[d]!));
  for (let d = 0; d < extents.length; d++) if (extents[d]! > 1 && r(0, 99) < zeroPercent) strides[d] = 0;
  return { view: { offset, strides }, size: s + r(0, 3) };
}

describe('strided vs ref', () => {
  it('150 random views: exact copies, float32 sums within the bound', async () => {
    const r = ints(5);
    for (let trial = 0; trial < 150; trial++) {
      const extents = Array.from({ length: r(0, 5) }, () => (r(0, 30) === 0 ? 0 : r(1, 4)));
      const src = randomView(r, extents, 25);
      const dst = randomView(r, extents, 15);
      const x = normalData(trial, src.size);
      const f = (v: Float32Array) => () => g.strided(g.tensor(v, [src.size]), [dst.size], extents, src.view, dst.view);
      const want = await on('ref', f(x));
      const got = await on('webgpu', f(x));
      const summed = extents.reduce((n, e, d) => (dst.view.strides[d] === 0 ? n * e : n), 1);
      const label = `strided ${JSON.stringify({ extents, src: src.view, dst: dst.view })}`;
      if (summed <= 1) expectExact(label, got, want);
      else expectWithin(label, got, want, sumTol(want, await on('ref', f(abs(x))), summed));
    }
  });

  it('the views built on it, large enough for many workgroups, and a gradient through them', async () => {
    const shape = [3, 40, 40, 7];
    const x = normalData(77, sizeOf(shape));
    const cases: ((t: g.Tensor) => g.Tensor)[] = [
      (t) => g.permute(t, [0, 3, 1, 2]),
      (t) => g.permute(t, [2, 1, 0, 3]),
      (t) => g.slice(t, 2, 5, 30),
      (t) => g.upsample(t, [1, 2], 2),
      (t) => g.broadcastTo(g.slice(t, 0, 0, 1), [5, 40, 40, 7]),
      (t) => selectColumns(t, [0, 2, 4, 6, 1, 3]),
    ];
    for (const [k, f] of cases.entries()) {
      expectExact(`view ${k}`, await on('webgpu', () => f(g.tensor(x, shape))), await on('ref', () => f(g.tensor(x, shape))));
    }
    const uploads = gpu.indexMapStats().uploads;
    const grad = () =>
      g.valueAndGrad((p: { x: g.Tensor }) =>
        g.sum(g.mul(g.upsample(g.permute(g.slice(p.x, 3, 1, 4), [0, 2, 1, 3]), [1, 2], 2), g.broadcastTo(g.tensor([1, 2, 3, 4], [4]), [3, 80, 80, 4]))),
      )({ x: g.tensor(x, shape) }).grads.x;
    const want = await on('ref', grad);
    const got = await on('webgpu', grad);
    // each gradient entry sums 4 products of small integers: exact in float32
    expectExact('gradient through the views', got, want);
    expect(gpu.indexMapStats().uploads).toBe(uploads);
  });
});
