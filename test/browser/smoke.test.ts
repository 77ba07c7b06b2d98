/**
 * Browser smoke test (vitest browser mode, Chromium): the BUILT ESM bundle (dist/index.js and its
 * chunks, as a page would load it) runs a small convolution on ref and on the embedded wasm kernels;
 * the page is cross-origin isolated; WebGPU (SwiftShader) has an adapter and the webgpu backend
 * matches ref on an elementwise add.
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';

async function smallConv(): Promise<Float32Array> {
  const x = gc.tensor(
    Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 0.7)),
    [1, 5, 5, 2],
  );
  const w = gc.tensor(
    Float32Array.from({ length: 54 }, (_, i) => Math.cos(i * 0.3) / 4),
    [9, 2, 3],
  );
  const y = gc.conv(x, w, gc.convAttrs(2, 3, { torus: true, padding: 1 }));
  expect(y.shape).toEqual([1, 5, 5, 3]);
  const out = await y.data();
  for (const t of [x, w, y]) t.dispose();
  return out;
}

async function elementwiseAdd(): Promise<Float32Array> {
  const a = gc.tensor(
    Float32Array.from({ length: 1000 }, (_, i) => i * 0.25 - 7),
    [10, 100],
  );
  const b = gc.tensor(
    Float32Array.from({ length: 1000 }, (_, i) => Math.sqrt(i)),
    [10, 100],
  );
  const c = gc.add(a, b);
  const out = await c.data();
  for (const t of [a, b, c]) t.dispose();
  return out;
}

function maxAbsDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let worst = 0;
  for (let i = 0; i < a.length; i++) worst = Math.max(worst, Math.abs(a[i]! - b[i]!));
  return worst;
}

describe('browser', () => {
  it('is cross-origin isolated (SharedArrayBuffer available)', () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    expect(typeof SharedArrayBuffer).toBe('function');
  });

  it('wasm conv matches ref', async () => {
    expect(await gc.init({ backend: 'ref' })).toBe('ref');
    const ref = await smallConv();
    expect(ref.every(Number.isFinite)).toBe(true);
    expect(await gc.init({ backend: 'wasm' })).toBe('wasm');
    const wasm = await smallConv();
    expect(maxAbsDiff(wasm, ref)).toBeLessThanOrEqual(1e-5);
    gc.setBackend('ref');
  });

  it('navigator.gpu has an adapter', async () => {
    expect(navigator.gpu, 'navigator.gpu (needs --enable-unsafe-webgpu, no --disable-gpu)').toBeDefined();
    const adapter = await navigator.gpu.requestAdapter();
    expect(adapter, 'requestAdapter() returned null').not.toBeNull();
  });

  it('webgpu backend: elementwise add matches ref', async () => {
    expect(await gc.init({ backend: 'ref' })).toBe('ref');
    const ref = await elementwiseAdd();
    expect(await gc.init({ backend: 'webgpu' })).toBe('webgpu');
    const gpu = await elementwiseAdd();
    expect(maxAbsDiff(gpu, ref)).toBeLessThanOrEqual(1e-5);
    gc.setBackend('ref');
  });
});
