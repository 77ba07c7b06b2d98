/**
 * Batched matrix product C[b] = op(A[b]) · op(B[b]) (op = optional transpose), semantics of
 * src/backends/ref/matmul.ts, float32 accumulation (one fused multiply-add per term in the relaxed
 * build). The TypeScript side (src/backends/wasm/matmul.ts, `matmulPlan`) folds a B shared by every
 * batch into the rows of A where it can, merges batch axes, and writes block `matmul` of
 * src/backends/kernelParams.ts: m, k, n, transA, transB, KC, MC, NC, scratch, R, shape[R],
 * aStride[R], bStride[R], counters[R] (batch strides in whole matrices, 0 on broadcast axes;
 * counters are kernel scratch; MC a multiple of 4, NC of 8). `scratch` is a byte offset of
 * KC·NC + MC·KC + 32 floats from the allocator: packed B, packed A, an edge tile.
 *
 * GotoBLAS/BLIS structure: for each NC-column block and KC-deep slice, B is packed into panels of 8
 * columns ([KC][8], zero-padded), then for each MC-row block A into panels of 4 rows ([KC][4],
 * zero-padded); the 4×8 micro-kernel keeps C in 8 f32x4 accumulators, broadcasts 4 A values per
 * step (v128.load32_splat) against two B vectors. Edge tiles compute a full 4×8 tile into scratch
 * and copy the valid part. Packing handles both transposes, so the micro-kernel sees one layout.
 *
 * Measured (Node 20, AMD EPYC Zen 4, 256³, one thread, a loaded 2-core machine: best single call):
 * 4×8 with the k loop unrolled twice, simd 28 GFLOP/s, relaxed 26; a 6×8 tile (12 accumulators)
 * gave 27 / 25. Relaxed FMA does not beat mul+add here: Zen issues 2 f32x4 multiplies and 2 adds
 * per cycle, the same throughput as 2 FMAs.
 */
import { madd } from '../lib/simd';
import * as P from './params';
import { partOf } from './parallel';

/** Rows of the micro-tile (A is packed in panels of MATMUL_MR rows); read by the host's plan. */
export const MATMUL_MR: i32 = 4;

/**
 * C tile (4 rows × 8 columns at c, row stride ldc bytes) = (accumulate ? C : 0) + Ap·Bp over kc steps.
 */
function micro(kc: i32, ap: usize, bp: usize, c: usize, ldc: usize, accumulate: bool): void {
  let c00 = f32x4.splat(0);
  let c01 = f32x4.splat(0);
  let c10 = f32x4.splat(0);
  let c11 = f32x4.splat(0);
  let c20 = f32x4.splat(0);
  let c21 = f32x4.splat(0);
  let c30 = f32x4.splat(0);
  let c31 = f32x4.splat(0);
  let p = kc;
  for (; p >= 2; p -= 2) {
    let b0 = v128.load(bp);
    let b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    b0 = v128.load(bp, 32);
    b1 = v128.load(bp, 48);
    a = v128.load32_splat(ap, 16);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 20);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 24);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 28);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
    ap += 32;
    bp += 64;
  }
  if (p) {
    const b0 = v128.load(bp);
    const b1 = v128.load(bp, 16);
    let a = v128.load32_splat(ap);
    c00 = madd(a, b0, c00);
    c01 = madd(a, b1, c01);
    a = v128.load32_splat(ap, 4);
    c10 = madd(a, b0, c10);
    c11 = madd(a, b1, c11);
    a = v128.load32_splat(ap, 8);
    c20 = madd(a, b0, c20);
    c21 = madd(a, b1, c21);
    a = v128.load32_splat(ap, 12);
    c30 = madd(a, b0, c30);
    c31 = madd(a, b1, c31);
  }
  const c1 = c + ldc;
  const c2 = c1 + ldc;
  const c3 = c2 + ldc;
  if (accumulate) {
    c00 = f32x4.add(c00, v128.load(c));
    c01 = f32x4.add(c01, v128.load(c, 16));
    c10 = f32x4.add(c10, v128.load(c1));
    c11 = f32x4.add(c11, v128.load(c1, 16));
    c20 = f32x4.add(c20, v128.load(c2));
    c21 = f32x4.add(c21, v128.load(c2, 16));
    c30 = f32x4.add(c30, v128.load(c3));
    c31 = f32x4.add(c31, v128.load(c3, 16));
  }
  v128.store(c, c00);
  v128.store(c, c01, 16);
  v128.store(c1, c10);
  v128.store(c1, c11, 16);
  v128.store(c2, c20);
  v128.store(c2, c21, 16);
  v128.store(c3, c30);
  v128.store(c3, c31, 16);
}

/**
 * Packs B'[pc..pc+kc, jc..jc+nc] (B' = B or Bᵀ; B is k×n, or n×k when transposed) into panels of
 * 8 columns: dst[panel][p][0..8), zero-padded past nc.
 */
function packB(b: usize, transB: bool, k: usize, n: usize, pc: usize, kc: usize, jc: usize, nc: usize, dst: usize): void {
  const zero = f32x4.splat(0);
  for (let jr: usize = 0; jr < nc; jr += 8) {
    const nr = min<usize>(8, nc - jr);
    if (!transB) {
      let src = b + ((pc * n + jc + jr) << 2);
      const ld = n << 2;
      if (nr == 8) {
        for (let p: usize = 0; p < kc; p++, src += ld, dst += 32) {
          v128.store(dst, v128.load(src));
          v128.store(dst, v128.load(src, 16), 16);
        }
      } else {
        for (let p: usize = 0; p < kc; p++, src += ld, dst += 32) {
          v128.store(dst, zero);
          v128.store(dst, zero, 16);
          for (let j: usize = 0; j < nr; j++) store<f32>(dst + (j << 2), load<f32>(src + (j << 2)));
        }
      }
    } else {
      // B'(p, j) = b[(jc + jr + j)·k + pc + p]: read down each column of the panel.
      if (nr < 8) for (let p: usize = 0; p < kc; p++) {
        v128.store(dst + (p << 5), zero);
        v128.store(dst + (p << 5), zero, 16);
      }
      for (let j: usize = 0; j < nr; j++) {
        const src = b + (((jc + jr + j) * k + pc) << 2);
        const d = dst + (j << 2);
        let p: usize = 0;
        for (; p + 4 <= kc; p += 4) {
          const v = v128.load(src + (p << 2));
          v128.store32_lane(d + (p << 5), v, 0);
          v128.store32_lane(d + (p << 5), v, 1, 32);
          v128.store32_lane(d + (p << 5), v, 2, 64);
          v128.store32_lane(d + (p << 5), v, 3, 96);
        }
        for (; p < kc; p++) store<f32>(d + (p << 5), load<f32>(src + (p << 2)));
      }
      dst += kc << 5;
    }
  }
}

/**
 * Packs A'[ic..ic+mc, pc..pc+kc] (A' = A or Aᵀ; A is m×k, or k×m when transposed) into panels of
 * 4 rows: dst[panel][p][0..4), zero-padded past mc.
 */
function packA(a: usize, transA: bool, m: usize, k: usize, ic: usize, mc: usize, pc: usize, kc: usize, dst: usize): void {
  const zero = f32x4.splat(0);
  for (let ir: usize = 0; ir < mc; ir += 4) {
    const mr = min<usize>(4, mc - ir);
    if (transA) {
      // A'(i, p) = a[(pc + p)·m + ic + i]: 4 contiguous floats per p.
      let src = a + ((pc * m + ic + ir) << 2);
      const ld = m << 2;
      if (mr == 4) {
        for (let p: usize = 0; p < kc; p++, src += ld, dst += 16) v128.store(dst, v128.load(src));
      } else {
        for (let p: usize = 0; p < kc; p++, src += ld, dst += 16) {
          v128.store(dst, zero);
          for (let i: usize = 0; i < mr; i++) store<f32>(dst + (i << 2), load<f32>(src + (i << 2)));
        }
      }
    } else {
      // A'(i, p) = a[(ic + i)·k + pc + p]: 4 rows, transposed 4×4 at a time.
      const ld = k << 2;
      const r0 = a + (((ic + ir) * k + pc) << 2);
      if (mr == 4) {
        const r1 = r0 + ld;
        const r2 = r1 + ld;
        const r3 = r2 + ld;
        let p: usize = 0;
        for (; p + 4 <= kc; p += 4, dst += 64) {
          const o = p << 2;
          const x0 = v128.load(r0 + o);
          const x1 = v128.load(r1 + o);
          const x2 = v128.load(r2 + o);
          const x3 = v128.load(r3 + o);
          const t0 = i32x4.shuffle(x0, x1, 0, 4, 1, 5); // a0 b0 a1 b1
          const t1 = i32x4.shuffle(x2, x3, 0, 4, 1, 5); // c0 d0 c1 d1
          const t2 = i32x4.shuffle(x0, x1, 2, 6, 3, 7); // a2 b2 a3 b3
          const t3 = i32x4.shuffle(x2, x3, 2, 6, 3, 7); // c2 d2 c3 d3
          v128.store(dst, i64x2.shuffle(t0, t1, 0, 2));
          v128.store(dst, i64x2.shuffle(t0, t1, 1, 3), 16);
          v128.store(dst, i64x2.shuffle(t2, t3, 0, 2), 32);
          v128.store(dst, i64x2.shuffle(t2, t3, 1, 3), 48);
        }
        for (; p < kc; p++, dst += 16) {
          const o = p << 2;
          store<f32>(dst, load<f32>(r0 + o));
          store<f32>(dst, load<f32>(r1 + o), 4);
          store<f32>(dst, load<f32>(r2 + o), 8);
          store<f32>(dst, load<f32>(r3 + o), 12);
        }
      } else {
        for (let p: usize = 0; p < kc; p++, dst += 16) {
          v128.store(dst, zero);
          for (let i: usize = 0; i < mr; i++) store<f32>(dst + (i << 2), load<f32>(r0 + i * ld + (p << 2)));
        }
      }
    }
  }
}

/** One matrix product on the packed path: C (m×n, row-major, at c) = A'·B'. */
function gemm(
  a: usize, b: usize, c: usize, m: usize, k: usize, n: usize, transA: bool, transB: bool,
  KC: usize, MC: usize, NC: usize, bp: usize, ap: usize, tile: usize,
  samePackedB: bool, samePackedA: bool, i0: usize, i1: usize,
): void {
  // Rows [i0, i1) only (a thread's part): every output element is computed the same way wherever
  // its row block starts (one lane of the same micro-kernel over the same KC slices), so any row
  // split is bit-identical to the whole.
  const ldc = n << 2;
  for (let jc: usize = 0; jc < n; jc += NC) {
    const nc = min<usize>(NC, n - jc);
    for (let pc: usize = 0; pc < k; pc += KC) {
      const kc = min<usize>(KC, k - pc);
      if (!samePackedB) packB(b, transB, k, n, pc, kc, jc, nc, bp);
      for (let ic: usize = i0; ic < i1; ic += MC) {
        const mc = min<usize>(MC, i1 - ic);
        if (!samePackedA) packA(a, transA, m, k, ic, mc, pc, kc, ap);
        for (let jr: usize = 0; jr < nc; jr += 8) {
          const nr = min<usize>(8, nc - jr);
          const bpanel = bp + ((jr * kc) << 2);
          for (let ir: usize = 0; ir < mc; ir += 4) {
            const mr = min<usize>(4, mc - ir);
            const apanel = ap + ((ir * kc) << 2);
            const cp = c + ((ic + ir) * ldc) + ((jc + jr) << 2);
            if (mr == 4 && nr == 8) {
              micro(<i32>kc, apanel, bpanel, cp, ldc, pc > 0);
            } else {
              micro(<i32>kc, apanel, bpanel, tile, 32, false);
              for (let i: usize = 0; i < mr; i++) {
                const row = cp + i * ldc;
                const t = tile + (i << 5);
                if (pc > 0) for (let j: usize = 0; j < nr; j++) store<f32>(row + (j << 2), load<f32>(row + (j << 2)) + load<f32>(t + (j << 2)));
                else for (let j: usize = 0; j < nr; j++) store<f32>(row + (j << 2), load<f32>(t + (j << 2)));
              }
            }
          }
        }
      }
    }
  }
}

export function matmul(a: usize, b: usize, c: usize, p: usize): void {
  const m = <usize>P.matmul_m(p);
  const k = <usize>P.matmul_k(p);
  const n = <usize>P.matmul_n(p);
  const transA = P.matmul_transA(p) != 0;
  const transB = P.matmul_transB(p) != 0;
  const KC = <usize>P.matmul_KC(p);
  const MC = <usize>P.matmul_MC(p);
  const NC = <usize>P.matmul_NC(p);
  const rank = <usize>P.matmul_R(p);
  const shape = P.matmul_shape(p);
  const sa = P.matmul_aStride(p);
  const sb = P.matmul_bStride(p);
  const ctr = P.matmul_counters(p);
  const bp = P.matmul_scratch(p);
  const ap = bp + ((KC * NC) << 2);
  const tile = ap + ((MC * KC) << 2);
  // When the whole of B' (or A') fits one packed block, a batch that reuses the previous batch's
  // matrix (broadcast) skips re-packing it.
  const oneB = k <= KC && n <= NC;
  const oneA = k <= KC && m <= MC;
  const aBytes = (m * k) << 2;
  const bBytes = (k * n) << 2;
  const cBytes = (m * n) << 2;
  for (let d: usize = 0; d < rank; d++) store<i32>(ctr + (d << 2), 0);
  let lastA: usize = <usize>-1;
  let lastB: usize = <usize>-1;
  while (true) {
    gemm(a, b, c, m, k, n, transA, transB, KC, MC, NC, bp, ap, tile, oneB && b == lastB, oneA && a == lastA, 0, m);
    lastA = a;
    lastB = b;
    c += cBytes;
    let d = <isize>rank - 1;
    for (; d >= 0; d--) {
      const q = <usize>d << 2;
      const cnt = load<i32>(ctr + q) + 1;
      const da = <usize>load<i32>(sa + q) * aBytes;
      const db = <usize>load<i32>(sb + q) * bBytes;
      if (cnt < load<i32>(shape + q)) {
        store<i32>(ctr + q, cnt);
        a += da;
        b += db;
        break;
      }
      store<i32>(ctr + q, 0);
      a -= da * <usize>(cnt - 1);
      b -= db * <usize>(cnt - 1);
    }
    if (d < 0) break;
  }
}

/**
 * Part `tid` of `nt` of a matmul (the worker-thread form, run by the executor): the outputs are
 * split into contiguous ranges of the flattened (batch, 4-row panel) space, so each thread owns
 * whole output rows and every element is the same k-ordered sum as on one thread (bit-identical).
 * Each thread packs into its own scratch (scratch + tid·scratchBytes) and re-packs B for its rows.
 *
 * Parameter block `matmulPart` (src/backends/kernelParams.ts): matmul's, with the operands a, b, c
 * and the per-thread scratchBytes, and no counters (the block is shared by every thread, read only).
 */
export function matmulPart(p: usize, tid: i32, nt: i32): void {
  const m = <usize>P.matmulPart_m(p);
  const k = <usize>P.matmulPart_k(p);
  const n = <usize>P.matmulPart_n(p);
  const transA = P.matmulPart_transA(p) != 0;
  const transB = P.matmulPart_transB(p) != 0;
  const KC = <usize>P.matmulPart_KC(p);
  const MC = <usize>P.matmulPart_MC(p);
  const NC = <usize>P.matmulPart_NC(p);
  const rank = <usize>P.matmulPart_R(p);
  const a0 = P.matmulPart_a(p);
  const b0 = P.matmulPart_b(p);
  const c0 = P.matmulPart_c(p);
  const bp = P.matmulPart_scratch(p) + <usize>tid * <usize>P.matmulPart_scratchBytes(p);
  const shape = P.matmulPart_shape(p);
  const sa = P.matmulPart_aStride(p);
  const sb = P.matmulPart_bStride(p);
  const ap = bp + ((KC * NC) << 2);
  const tile = ap + ((MC * KC) << 2);
  let batches: usize = 1;
  for (let d: usize = 0; d < rank; d++) batches *= <usize>load<i32>(shape + (d << 2));
  const panels = (m + 3) >> 2;
  const units = batches * panels;
  const u0 = partOf(units, tid, nt);
  const u1 = partOf(units, tid + 1, nt);
  if (u0 >= u1) return;
  const oneB = k <= KC && n <= NC;
  const oneA = k <= KC && m <= MC;
  const aBytes = (m * k) << 2;
  const bBytes = (k * n) << 2;
  const cBytes = (m * n) << 2;
  let lastA: usize = <usize>-1;
  let lastB: usize = <usize>-1;
  let lastI0: usize = 0;
  let lastI1: usize = 0;
  let u = u0;
  while (u < u1) {
    const bi = u / panels;
    const i0 = (u - bi * panels) << 2;
    const uEnd = min<usize>(u1, (bi + 1) * panels);
    const i1 = min<usize>(m, (uEnd - bi * panels) << 2);
    // batch index -> matrix offsets (last axis fastest)
    let a = a0;
    let b = b0;
    let rem = bi;
    for (let d = <isize>rank - 1; d >= 0; d--) {
      const q = <usize>d << 2;
      const dim = <usize>load<i32>(shape + q);
      const j = rem % dim;
      rem /= dim;
      a += j * <usize>load<i32>(sa + q) * aBytes;
      b += j * <usize>load<i32>(sb + q) * bBytes;
    }
    gemm(a, b, c0 + bi * cBytes, m, k, n, transA, transB, KC, MC, NC, bp, ap, tile,
      oneB && b == lastB, oneA && a == lastA && i0 == lastI0 && i1 == lastI1, i0, i1);
    lastA = a;
    lastB = b;
    lastI0 = i0;
    lastI1 = i1;
    u = uEnd;
  }
}
