/**
 * Shared by the gpu suites: the webgpu backend (started once per test file, which is one process
 * under `pool: 'forks'`), running an expression on ref and on webgpu, and error bounds.
 *
 * No silent skip: `startWebGPU` calls `init({ backend: 'webgpu' })`, which throws with the reason on a
 * machine without an adapter, so every test of the file fails.
 *
 * Error bounds for sums (reduce sum, matmul, scatterAdd, the conv family): the GPU accumulates
 * n products in float32 in its own order (tiles, trees, split-K partials); ref accumulates in
 * float64 and rounds once. For any order, |fl32(Σ a_i b_i) − Σ a_i b_i| <= γ_(n+1) · Σ |a_i b_i|
 * with γ_m = m·u/(1 − m·u), u = 2^-24 (Higham, Accuracy and Stability, §3.1; products rounded once,
 * an FMA only tightens it). So each output gets tol = (n + 2)·u·S + ulp(r)/2, where S is the same
 * expression evaluated on ref with |inputs| (the Σ|a_i b_i|), n the number of terms, and ulp(r)/2
 * ref's own rounding to float32; WGSL may flush subnormals, hence the n·2^-126 floor. This is a
 * worst case: typical errors are ~√n·u·S. A wrong or missing term is still caught: it is of the
 * size of one term, S/n on average, while the bound is ~n·u·S (n <= 800 here: 5e-5·S against
 * S/800 = 1.2e-3·S).
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { expect } from 'vitest';
import * as g from '../../src/index.js';
import type { Tensor } from '../../src/index.js';
import type { WebGPUBackend } from '../../src/backends/webgpu/index.js';

// The shaders are embedded by the build; regenerate here too so that a test run always sees the
// current shaders/*.wgsl (idempotent, a few ms). The backend module (which imports the generated
// file) is loaded only by init(), after this.
execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/embed-shaders.mjs', import.meta.url))], { stdio: 'pipe' });

export const U = 2 ** -24;
export const FTZ = 2 ** -126;

/** Starts (once) and returns the webgpu backend; throws without an adapter. */
export async function startWebGPU(): Promise<WebGPUBackend> {
  await g.init({ backend: 'webgpu' });
  return g.getBackend('webgpu') as WebGPUBackend;
}

/** Runs fn on `backend` (inside tidy), returns its result's data. */
export async function on(backend: 'ref' | 'webgpu', fn: () => Tensor): Promise<Float32Array> {
  g.setBackend(backend);
  const t = g.tidy(fn);
  const data = await t.data();
  t.dispose();
  return data;
}

/** float32 spacing at |r|. */
export function ulp(r: number): number {
  const a = Math.abs(r);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

/** Worst error seen per label group as a share of its tolerance (printed by `reportWorst`). */
const worst = new Map<string, number>();

/**
 * Asserts |got − want| <= tol(i) elementwise (NaN must meet NaN, an infinity the same infinity);
 * reports the first 5 offenders. `group` collects the worst share of the tolerance used.
 */
export function expectWithin(label: string, got: Float32Array, want: Float32Array, tol: (i: number) => number, group = label.split(' ')[0]!): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const bad: string[] = [];
  let used = worst.get(group) ?? 0;
  for (let i = 0; i < want.length; i++) {
    const r = want[i]!;
    const v = got[i]!;
    if (!Number.isFinite(r) || !Number.isFinite(v)) {
      if (!(r === v || (Number.isNaN(r) && Number.isNaN(v)))) bad.push(`[${i}]: got ${v}, want ${r}`);
      continue;
    }
    const err = Math.abs(v - r);
    const t = tol(i);
    if (err > 0) used = Math.max(used, t > 0 ? err / t : Infinity);
    if (!(err <= t)) bad.push(`[${i}]: got ${v}, want ${r} (err ${err.toExponential(2)}, tol ${t.toExponential(2)})`);
  }
  worst.set(group, used);
  expect(bad.slice(0, 5), `${label}: ${bad.length} of ${want.length} outside tolerance`).toEqual([]);
}

/** Exact equality (copies, selections, max). */
export function expectExact(label: string, got: Float32Array, want: Float32Array): void {
  expectWithin(label, got, want, () => 0);
}

/**
 * The float32-sum bound above: tol_i = (n + 2)·u·S_i + ulp(want_i)/2 + n·2^-126, with S the
 * absolute-value evaluation (from ref) and n the number of terms per output.
 */
export function sumTol(want: Float32Array, S: Float32Array, n: number): (i: number) => number {
  return (i) => (n + 2) * U * S[i]! + ulp(want[i]!) / 2 + n * FTZ;
}

export function reportWorst(): void {
  const rows = [...worst].filter(([, w]) => w > 0).map(([k, w]) => `${k} ${(100 * w).toFixed(1)} %`);
  console.log(`largest error vs ref as a share of the tolerance (exact elsewhere): ${rows.join('; ') || 'none'}`);
}

/** Seeded normal data. */
export function normalData(seed: number, n: number, std = 1): Float32Array {
  return g.random.normal(g.random.key(seed), n, 0, std);
}

export const abs = (a: Float32Array): Float32Array => a.map(Math.abs);
export const sizeOf = (s: readonly number[]) => s.reduce((p, d) => p * d, 1);
