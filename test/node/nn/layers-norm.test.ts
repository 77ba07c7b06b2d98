/**
 * (Tolerances ~1e-7: on ref, scalar constants such as 1/n in mean() are rounded to float32 by
 * `scalar()`, so even ref results carry float32-sized relative errors there.)
 *
 * GroupNorm / LayerNorm values: the k = 0 group norm against a direct computation, the k = 1
 * whitening (output mean 0, covariance I; inverse square root against an eigen-decomposition),
 * and the k >= 2 rule (group RMS pixel norm 1).
 */
import { describe, expect, it } from 'vitest';
import { tensor, tidy } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { leaf, subtree } from '../../../src/nn/module.js';
import { GroupNorm, LayerNorm, WHITEN_ITERATIONS, inverseSqrtSym } from '../../../src/nn/layers/index.js';
import { values } from '../../util.js';
import { disposeTree, randomMulti, randomParams, relErr, uniform64 } from './layers-helpers.js';

/** Eigen-decomposition of a symmetric matrix by cyclic Jacobi rotations (float64): { vals, vecs (columns) }. */
function jacobiEigen(A: readonly number[], n: number): { vals: number[]; vecs: number[] } {
  const a = [...A];
  const v: number[] = Array.from({ length: n * n }, (_, i) => (i % (n + 1) === 0 ? 1 : 0));
  for (let sweep = 0; sweep < 100; sweep++) {
    let off = 0;
    for (let p = 0; p < n; p++) for (let q = p + 1; q < n; q++) off += a[p * n + q]! ** 2;
    if (off < 1e-30) break;
    for (let p = 0; p < n; p++)
      for (let q = p + 1; q < n; q++) {
        const apq = a[p * n + q]!;
        if (Math.abs(apq) < 1e-300) continue;
        const theta = (a[q * n + q]! - a[p * n + p]!) / (2 * apq);
        const t = Math.sign(theta || 1) / (Math.abs(theta) + Math.sqrt(theta * theta + 1));
        const c = 1 / Math.sqrt(t * t + 1);
        const s = t * c;
        for (let k = 0; k < n; k++) {
          const akp = a[k * n + p]!;
          const akq = a[k * n + q]!;
          a[k * n + p] = c * akp - s * akq;
          a[k * n + q] = s * akp + c * akq;
        }
        for (let k = 0; k < n; k++) {
          const apk = a[p * n + k]!;
          const aqk = a[q * n + k]!;
          a[p * n + k] = c * apk - s * aqk;
          a[q * n + k] = s * apk + c * aqk;
        }
        for (let k = 0; k < n; k++) {
          const vkp = v[k * n + p]!;
          const vkq = v[k * n + q]!;
          v[k * n + p] = c * vkp - s * vkq;
          v[k * n + q] = s * vkp + c * vkq;
        }
      }
  }
  return { vals: Array.from({ length: n }, (_, i) => a[i * n + i]!), vecs: v };
}

/** U (Λ + eps)^{-1/2} Uᵀ (ginjax's eigh form). */
function eigInverseSqrt(A: readonly number[], n: number, eps: number): number[] {
  const { vals, vecs } = jacobiEigen(A, n);
  const out = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++)
    for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) out[i * n + j]! += (vecs[i * n + k]! * vecs[j * n + k]!) / Math.sqrt(vals[k]! + eps);
  return out;
}

/** A random SPD matrix Q diag(λ) Qᵀ with eigenvalues spread log-uniformly over [scale/cond, scale]. */
function randomSpd(seed: number, n: number, cond: number, scale: number): number[] {
  // Orthogonal Q from Gram–Schmidt of a random matrix.
  const r = Array.from(uniform64(seed, n * n));
  const q: number[][] = [];
  for (let i = 0; i < n; i++) {
    let col = r.slice(i * n, i * n + n);
    for (const prev of q) {
      const d = col.reduce((s, x, k) => s + x * prev[k]!, 0);
      col = col.map((x, k) => x - d * prev[k]!);
    }
    const norm = Math.hypot(...col);
    q.push(col.map((x) => x / norm));
  }
  const lam = Array.from({ length: n }, (_, i) => scale * cond ** -(n === 1 ? 0 : i / (n - 1)));
  const A = new Array<number>(n * n).fill(0);
  for (let i = 0; i < n; i++) for (let j = 0; j < n; j++) for (let k = 0; k < n; k++) A[i * n + j]! += q[k]![i]! * lam[k]! * q[k]![j]!;
  return A;
}

describe('inverseSqrtSym (Newton–Schulz) against an eigen-decomposition', () => {
  it.each([2, 3])('n=%i: condition numbers 1 … 1e7, scales 1e-3 … 1e3, eps 0 and 1e-5; batched', (n) => {
    const cases: { A: number[]; eps: number }[] = [];
    let seed = 1;
    for (const cond of [1, 10, 1e3, 1e5, 1e7])
      for (const scale of [1e-3, 1, 1e3]) for (const eps of [0, 1e-5]) cases.push({ A: randomSpd(seed++, n, cond, scale), eps });
    for (const eps of [0, 1e-5]) {
      const batch = cases.filter((c) => c.eps === eps);
      const got = tidy(() => Array.from(values(inverseSqrtSym(tensor(Float64Array.from(batch.flatMap((c) => c.A)), [batch.length, 1, n, n]), eps))));
      batch.forEach((c, i) => {
        const want = eigInverseSqrt(c.A, n, eps);
        const err = relErr(got.slice(i * n * n, (i + 1) * n * n), want);
        // Relative to the largest entry (the smallest eigenvalue's direction dominates): float32-level accuracy.
        expect(err, `case ${i} (eps ${eps})`).toBeLessThan(1e-6);
      });
    }
  });

  it(`default iterations (${WHITEN_ITERATIONS}) reach float32 accuracy at an eigenvalue ratio of 1e-7; fewer do not`, () => {
    const A = randomSpd(99, 3, 1e7, 1);
    const want = eigInverseSqrt(A, 3, 0);
    const at = (it: number) => tidy(() => relErr(values(inverseSqrtSym(tensor(Float64Array.from(A), [3, 3]), 0, it)), want));
    expect(at(WHITEN_ITERATIONS)).toBeLessThan(1e-7);
    expect(at(12)).toBeGreaterThan(1e-2);
  });

  it('rejects non-square input', () => {
    expect(() => inverseSqrtSym(tensor([1, 2, 3, 4, 5, 6], [2, 3]))).toThrow(/inverseSqrtSym: A shape must be \[\.\.\., n, n\]/);
  });
});

/** Per batch element and group: the mean vector and covariance of the whitened vectors. */
function groupStats(y: MultiImage, key: [number, number], groups: number): { mean: number[]; cov: number[] }[] {
  const D = y.D;
  const T = D ** key[0];
  const c = y.channels(key[0], key[1]);
  const block = tidy(() => Array.from(values(y.packedBlock(key[0], key[1]))));
  const P = y.data.size / (y.batch * y.width);
  const cg = c / groups;
  const out: { mean: number[]; cov: number[] }[] = [];
  for (let b = 0; b < y.batch; b++)
    for (let g = 0; g < groups; g++) {
      const vecs: number[][] = [];
      for (let p = 0; p < P; p++)
        for (let j = 0; j < cg; j++) {
          const base = (b * P + p) * c * T + (g * cg + j) * T;
          vecs.push(block.slice(base, base + T));
        }
      const mean = Array.from({ length: T }, (_, i) => vecs.reduce((s, v) => s + v[i]!, 0) / vecs.length);
      const cov = Array.from(
        { length: T * T },
        (_, ij) => vecs.reduce((s, v) => s + (v[Math.floor(ij / T)]! - mean[Math.floor(ij / T)]!) * (v[ij % T]! - mean[ij % T]!), 0) / vecs.length,
      );
      out.push({ mean, cov });
    }
  return out;
}

describe('GroupNorm k = 1: whitening', () => {
  it.each([
    [2, 1],
    [2, 2],
    [3, 1],
    [3, 3],
  ])('D=%i, %i group(s): anisotropic shifted vectors → mean 0, covariance I (eps 0, init scale/bias)', (D, groups) => {
    // x = M z + m with a fixed skewed M and offset m, so that Σ is far from I.
    const c = groups === 2 ? 4 : 3;
    const z = randomMulti(
      300 + D + groups,
      [
        [[1, 0], c],
        [[1, 1], c],
      ],
      D,
      D === 2 ? 6 : 4,
    );
    const M = D === 2 ? [3, 1, 0, 0.2] : [3, 1, 0.5, 0, 0.3, 0.1, 0, 0, 1.5];
    const zv = values(z.data);
    const xv = new Float64Array(zv.length);
    for (let i = 0; i < zv.length / D; i++)
      for (let a = 0; a < D; a++) {
        let s = 2 + a;
        for (let b = 0; b < D; b++) s += M[a * D + b]! * zv[i * D + b]!;
        xv[i * D + a] = s;
      }
    const x = new MultiImage(tensor(xv, z.data.shape), z.signature, D);
    const layer = groups === 1 ? new LayerNorm({ D, input: x.signature, eps: 0 }) : new GroupNorm({ D, input: x.signature, groups, eps: 0 });
    const y = layer.call(x);
    for (const key of [
      [1, 0],
      [1, 1],
    ] as [number, number][]) {
      for (const { mean, cov } of groupStats(y, key, groups)) {
        mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
        cov.forEach((v, ij) => expect(Math.abs(v - (ij % (D + 1) === 0 ? 1 : 0))).toBeLessThan(1e-5));
      }
    }
    for (const t of [z, x, y, layer]) t.dispose();
  });

  it('scale and bias: out = whitened·scale_c + bias_c·mean_c(x) (mean_c per channel, of the input)', () => {
    const D = 2;
    const sig = [[[1, 0], 2]] as const;
    const x = randomMulti(310, sig, D, 4, 1);
    const layer = new LayerNorm({ D, input: sig });
    const plain = layer.call(x);
    const params = randomParams(layer.params, 311);
    const y = layer.apply(params, x);
    const scale = values(leaf(subtree(params, 'scale'), '1,0'));
    const bias = values(leaf(subtree(params, 'bias'), '1,0'));
    const xv = values(x.data);
    const pv = values(plain.data);
    const yv = values(y.data);
    const P = 16;
    for (let ch = 0; ch < 2; ch++)
      for (let a = 0; a < D; a++) {
        let m = 0;
        for (let p = 0; p < P; p++) m += xv[p * 4 + ch * 2 + a]! / P;
        for (let p = 0; p < P; p++) {
          const i = p * 4 + ch * 2 + a;
          expect(yv[i]).toBeCloseTo(pv[i]! * scale[ch]! + bias[ch]! * m, 7);
        }
      }
    for (const t of [x, plain, y, layer]) t.dispose();
    disposeTree(params);
  });
});

describe('GroupNorm k = 0 and k >= 2', () => {
  it('k = 0 scalars: (x − μ_G)/√(σ²_G + eps)·w_c + b_c, as eqx.nn.GroupNorm', () => {
    const D = 2;
    const c = 4;
    const groups = 2;
    const eps = 1e-5;
    const x = randomMulti(320, [[[0, 0], c]], D, 3, 2);
    const layer = new GroupNorm({ D, input: x.signature, groups, eps });
    const params = randomParams(layer.params, 321);
    const y = layer.apply(params, x);
    const w = values(leaf(subtree(params, 'scale'), '0,0'));
    const bb = values(leaf(subtree(params, 'bias'), '0,0'));
    const xv = values(x.data);
    const want = new Float64Array(xv.length);
    const P = 9;
    for (let b = 0; b < 2; b++)
      for (let g = 0; g < groups; g++) {
        const idx: number[] = [];
        for (let p = 0; p < P; p++) for (let j = 0; j < c / groups; j++) idx.push((b * P + p) * c + g * (c / groups) + j);
        const mu = idx.reduce((s, i) => s + xv[i]!, 0) / idx.length;
        const v = idx.reduce((s, i) => s + (xv[i]! - mu) ** 2, 0) / idx.length;
        for (const i of idx) want[i] = ((xv[i]! - mu) / Math.sqrt(v + eps)) * w[i % c]! + bb[i % c]!;
      }
    expect(relErr(values(y.data), want)).toBeLessThan(1e-7);
    for (const t of [x, y, layer]) t.dispose();
    disposeTree(params);
  });

  it.each([2, 3])('k = 2, D=%i: mean over the group 0 and mean squared pixel norm 1 (init scale/bias, eps 0)', (D) => {
    const x = randomMulti(
      330 + D,
      [
        [[2, 0], 2],
        [[2, 1], 2],
      ],
      D,
      4,
      2,
      true,
      -1,
      3,
    );
    const layer = new LayerNorm({ D, input: x.signature, eps: 0 });
    const y = layer.call(x);
    for (const key of [
      [2, 0],
      [2, 1],
    ] as [number, number][]) {
      for (const { mean, cov } of groupStats(y, key, 1)) {
        mean.forEach((m) => expect(Math.abs(m)).toBeLessThan(1e-5));
        const trace = cov.filter((_, ij) => ij % (D * D + 1) === 0).reduce((s, v) => s + v, 0);
        expect(Math.abs(trace - 1)).toBeLessThan(1e-6);
      }
    }
    for (const t of [x, y, layer]) t.dispose();
  });
});
