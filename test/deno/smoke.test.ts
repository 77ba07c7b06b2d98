/**
 * Deno smoke test of the BUILT ESM bundle (dist/index.js; `npm run build` first):
 * the embedded wasm kernels (Deno runs relaxed SIMD with no flag) against ref on a small torus
 * convolution, and the WebGPU backend through Deno's own navigator.gpu.
 * Run: npx deno test --no-check --allow-read test/deno/
 */
// deno-lint-ignore-file no-explicit-any
import * as gc from '../../dist/index.js';
import { releaseGpu } from './release-gpu.ts';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

function assertClose(got: ArrayLike<number>, want: ArrayLike<number>, tol: number, what: string): void {
  assert(got.length === want.length, `${what}: length ${got.length}, expected ${want.length}`);
  let worst = 0;
  let at = -1;
  for (let i = 0; i < want.length; i++) {
    const d = Math.abs(got[i] - want[i]);
    if (!(d <= worst)) {
      worst = d;
      at = i;
    }
  }
  assert(worst <= tol, `${what}: max |difference| ${worst} at ${at} (got ${got[at]}, expected ${want[at]}) > ${tol}`);
}

/** x: 1×5×5×2 → 3 channels, 3×3 kernel, torus. */
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
  assert(y.shape.join() === '1,5,5,3', `conv output shape ${y.shape}`);
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

Deno.test('dist bundle: wasm conv matches ref', async () => {
  assert(typeof gc.version === 'string', 'version export');
  assert((await gc.init({ backend: 'ref' })) === 'ref', 'init ref');
  const ref = await smallConv();
  assert((await gc.init({ backend: 'wasm' })) === 'wasm', 'init wasm');
  const wasm = await smallConv();
  assertClose(wasm, ref, 1e-5, 'wasm vs ref conv');
  gc.setBackend('ref');
});

// The WebGPU backend keeps its device for the life of the process: not a leak.
const gpuTest = { sanitizeResources: false, sanitizeOps: false };

Deno.test('navigator.gpu has an adapter', gpuTest, async () => {
  const gpu = (navigator as any).gpu;
  assert(gpu, 'navigator.gpu is undefined in Deno');
  const adapter = await gpu.requestAdapter();
  assert(adapter, 'navigator.gpu.requestAdapter() returned null');
});

Deno.test('webgpu backend: elementwise add matches ref', gpuTest, async () => {
  assert((await gc.init({ backend: 'ref' })) === 'ref', 'init ref');
  const ref = await elementwiseAdd();
  assert((await gc.init({ backend: 'webgpu' })) === 'webgpu', 'init webgpu');
  const gpu = await elementwiseAdd();
  assertClose(gpu, ref, 1e-5, 'webgpu vs ref add');
  await releaseGpu(gc);
});
