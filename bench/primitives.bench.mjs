#!/usr/bin/env node
/**
 * Timing of the native wasm primitives (not a test; never fails on a timing). Run after `npm run build`:
 *   node bench/primitives.bench.mjs                                   # Node 20: the simd build
 *   node --experimental-wasm-relaxed-simd bench/primitives.bench.mjs  # relaxed SIMD (Node >= 22: always)
 * Prints one JSON object per line: { bench, variant, ms (best of N), gflops | gbps }.
 */
import { getBackend, init, matmul, argmaxPool, reduce, tensor, tidy, gather, concat } from '../dist/index.js';

await init({ backend: 'wasm' });
const variant = getBackend('wasm').variant;
const rand = (n) => Float32Array.from({ length: n }, () => Math.random() - 0.5);

function time(name, fn, { flop, bytes, reps = 30 }) {
  for (let i = 0; i < 3; i++) fn();
  let best = Infinity;
  for (let i = 0; i < reps; i++) {
    const t0 = performance.now();
    fn();
    best = Math.min(best, performance.now() - t0);
  }
  const r = { bench: name, variant, ms: +best.toFixed(4) };
  if (flop) r.gflops = +(flop / best / 1e6).toFixed(2);
  if (bytes) r.gbps = +(bytes / best / 1e6).toFixed(2);
  console.log(JSON.stringify(r));
}

tidy(() => {
  for (const s of [64, 256, 512]) {
    const a = tensor(rand(s * s), [s, s]);
    const b = tensor(rand(s * s), [s, s]);
    time(
      `matmul ${s}³`,
      () =>
        tidy(() => {
          matmul(a, b);
        }),
      { flop: 2 * s ** 3, reps: s > 256 ? 10 : 30 },
    );
  }
  const x = tensor(rand(16 * 64 * 64 * 32), [16, 64, 64, 32]);
  time(
    'matmul [16,64,64,32]·[32,32]',
    () =>
      tidy(() => {
        matmul(x, tensor(rand(32 * 32), [32, 32]));
      }),
    { flop: 2 * 16 * 64 * 64 * 32 * 32 },
  );
  time(
    'reduce sum all (2M)',
    () =>
      tidy(() => {
        reduce('sum', x, [0, 1, 2, 3]);
      }),
    { bytes: 4 * x.size },
  );
  time(
    'reduce sum over spatial [16,64,64,32]',
    () =>
      tidy(() => {
        reduce('sum', x, [1, 2]);
      }),
    { bytes: 4 * x.size },
  );
  time(
    'reduce max last axis [16·64·64, 32]',
    () =>
      tidy(() => {
        reduce('max', x, [3]);
      }),
    { bytes: 4 * x.size },
  );
  const c = tensor(rand(16 * 64 * 64 * 8), [16, 64, 64, 8]);
  time(
    'argmaxPool 2 [16,64,64,8·4]',
    () =>
      tidy(() => {
        argmaxPool(x, c, 2, 4);
      }),
    { bytes: 4 * (x.size + c.size) },
  );
  const index = Int32Array.from({ length: x.size }, (_, i) => x.size - 1 - i);
  time(
    'gather (reversal, 2M)',
    () =>
      tidy(() => {
        gather(x, x.shape, index);
      }),
    { bytes: 8 * x.size },
  );
  time(
    'concat last axis 2×[16,64,64,32]',
    () =>
      tidy(() => {
        concat([x, x], 3);
      }),
    { bytes: 8 * x.size },
  );
});
