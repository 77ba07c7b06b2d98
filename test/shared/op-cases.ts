/**
 * Per-op parity cases, declared once per primitive in test/shared/op-cases/<stem>.ts (the stem of its
 * src/ops module) and run by every accelerated suite against ref: test/node/wasm-primitives.test.ts
 * (both wasm builds) and test/gpu/kernels.test.ts (webgpu). Adding a primitive adds one case file;
 * the suites find it by listing the directory, and each fails when an op of the ref kernel table
 * has no case.
 *
 * A case says how its result is judged (`check`):
 *  - `exact`: copies and selections — the float32 result equals ref's (read as float32), NaN equal to
 *    NaN, +0 equal to −0;
 *  - `depth`: sums — |got − ref| ≤ depth · 2^-24 · op(|inputs|) on ref (Higham's bound for a
 *    float32 sum of at most `depth` terms in any order), plus the final rounding and a denormal;
 *  - `rel`: approximated elementwise functions — |got − ref| ≤ rel · (|ref| + 1).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import * as g from '../../src/index.js';
import type { OpName, Tensor } from '../../src/index.js';

export type OpCheck = { readonly exact: true } | { readonly depth: number } | { readonly rel: number };

export interface OpCase {
  /** The primitive this case exercises (the suites check that every op has one). */
  readonly op: OpName;
  readonly name: string;
  /** Input shapes; values are seeded normal unless `values` gives a generator for that input. */
  readonly inputs: readonly (readonly number[])[];
  readonly values?: readonly (((n: number, seed: number) => Float32Array) | undefined)[];
  /** The op applied to the inputs (on the current backend). */
  readonly run: (xs: Tensor[]) => Tensor;
  readonly check: OpCheck;
}

/** Seeded helpers for `values`. */
export const gen = {
  normal: (n: number, seed: number) => g.random.normal(g.random.key(seed), n),
  /** |normal| + lo: inputs of sqrt, log, division. */
  positive: (lo: number) => (n: number, seed: number) => g.random.normal(g.random.key(seed), n).map((v) => Math.abs(v) + lo),
  /** On a coarse grid: many ties (first-maximum rules). */
  quantised: (n: number, seed: number) => g.random.normal(g.random.key(seed), n).map((v) => Math.round(v * 2) / 2),
  /** Fixed values, repeated to length n. */
  of:
    (...v: number[]) =>
    (n: number) =>
      Float32Array.from({ length: n }, (_, i) => v[i % v.length]!),
};

/** Every case of test/shared/op-cases/*.ts, in file order; `file` is the stem that declared it. */
export async function loadOpCases(): Promise<(OpCase & { file: string })[]> {
  const dir = new URL('./op-cases/', import.meta.url);
  const files = readdirSync(fileURLToPath(dir))
    .filter((f) => f.endsWith('.ts'))
    .sort();
  const out: (OpCase & { file: string })[] = [];
  for (const f of files) {
    const mod = (await import(new URL(f, dir).href)) as { cases?: readonly OpCase[] };
    if (!Array.isArray(mod.cases) || mod.cases.length === 0) throw new Error(`test/shared/op-cases/${f}: exports no \`cases\``);
    for (const c of mod.cases) out.push({ ...c, file: f.slice(0, -3) });
  }
  return out;
}

/** The ops (of the ref kernel table, i.e. every op) that no case exercises. */
export function opsWithoutCases(cases: readonly OpCase[]): string[] {
  const covered = new Set(cases.map((c) => c.op));
  return Object.keys(g.getBackend('ref').kernels)
    .filter((op) => !covered.has(op as OpName))
    .sort();
}

async function runOn(backend: g.BackendName, c: OpCase, data: readonly Float32Array[]): Promise<Float32Array> {
  g.setBackend(backend);
  const y = g.tidy(() => c.run(c.inputs.map((s, i) => g.tensor(data[i]!, s))));
  const out = await y.data();
  y.dispose();
  return out;
}

const U = 2 ** -24;

/**
 * Runs case `c` (number `index`, which seeds its inputs) on `backend` and on ref: the mismatches as
 * readable lines (empty when it passes). Leaves ref current.
 */
export async function opCaseFailures(backend: 'wasm' | 'webgpu', c: OpCase, index: number): Promise<string[]> {
  const data = c.inputs.map((s, i) =>
    (c.values?.[i] ?? gen.normal)(
      s.reduce((a, b) => a * b, 1),
      7919 * (index + 1) + i,
    ),
  );
  const want = await runOn('ref', c, data);
  const bound =
    'depth' in c.check
      ? await runOn(
          'ref',
          c,
          data.map((d) => d.map(Math.abs)),
        )
      : null;
  const got = await runOn(backend, c, data);
  g.setBackend('ref');
  if (got.length !== want.length) return [`${c.name}: ${got.length} values, ref has ${want.length}`];
  const bad: string[] = [];
  for (let i = 0; i < got.length && bad.length < 5; i++) {
    const w = want[i]!;
    const x = got[i]!;
    let ok: boolean;
    // +0 and −0 compare equal: WGSL leaves the sign of a zero from max/min unspecified (the wasm
    // suite checks signed zeros against Math.max separately).
    if (!Number.isFinite(w) || 'exact' in c.check) ok = Number.isNaN(w) ? Number.isNaN(x) : x === w;
    else if ('depth' in c.check)
      ok = Math.abs(x - w) <= c.check.depth * U * bound![i]! + Math.abs(w) * U + 2 ** -126; // ref is read as float32: its rounding
    else ok = Math.abs(x - w) <= c.check.rel * (Math.abs(w) + 1);
    if (!ok) bad.push(`${c.name} [${i}]: ${backend} ${x}, ref ${w} (${JSON.stringify(c.check)})`);
  }
  return bad;
}
