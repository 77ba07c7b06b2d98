/**
 * Reductions (sum, max), semantics of src/backends/ref/reduce.ts. The TypeScript side
 * (src/backends/wasm/reduce.ts, `reducePlan`) drops size-1 axes, merges neighbouring axes that are
 * both reduced or both kept, and then reduces one merged group of reduced axes per call, innermost
 * group first, through one of two loops:
 *
 *   reduceInner(op, x, out, p)    block reduceInner (outer, n):   out[o]    = op_{i<n} x[o·n + i]
 *   reduceMiddle(op, x, out, p)   block reduceMiddle (outer, r, m, scratch):
 *                                                                 out[o, j] = op_{i<r} x[(o·r + i)·m + j]
 *
 * (blocks of src/backends/kernelParams.ts; `scratch`: ≥ 2 KiB of kernel scratch for the pairwise
 * recursion.)
 *
 * Max uses f32x4.max, which is Math.max exactly (NaN propagates, max(−0, +0) = +0), so max is
 * bit-exact in any order. (Never scalar f32.max: V8 compiles it to data-dependent branches, 4×
 * slower on random data.) Sums start from +0 (as ref: 0 + −0 = +0) and accumulate in float32 in a
 * blocked pairwise order:
 *  - reduceInner: a row of n ≤ 8 is summed sequentially (depth ≤ 8); n ≤ 512 by 16 lanes (4 f32x4
 *    accumulators, ≤ 32 sequential terms per lane, tails into one more vector), then the lanes
 *    pairwise; longer rows split in halves recursively. Tree depth ≤ 32 + 6 + ⌈log2(n/512)⌉.
 *  - reduceMiddle: 16 (or 4, or 1–3) columns at a time in registers, blocks of ≤ 32 rows summed
 *    sequentially, blocks combined pairwise (recursively). Tree depth ≤ 32 + ⌈log2(r/32)⌉.
 * So |error| ≤ depth · 2^-24 · Σ|x| (Higham's bound for a summation tree), depth ≈ 40 + log2 n
 * rather than n for a sequential float32 sum.
 */
import { loadPartial, storePartial } from '../lib/simd';
import * as P from './params';

export const REDUCE_sum: i32 = 0;
export const REDUCE_max: i32 = 1;

class RSum {}
class RMax {}

const INNER_BLOCK: usize = 512; // elements summed without recursion (16 lanes × 32)
const ROW_BLOCK: i32 = 32; // rows summed sequentially in reduceMiddle
const LEVEL: usize = 64; // scratch bytes per recursion level (16 floats)

// @ts-ignore: decorator
@inline function comb<Op>(a: v128, b: v128): v128 {
  if (idof<Op>() == idof<RSum>()) return f32x4.add(a, b);
  return f32x4.max(a, b);
}

/** The accumulator started from the first term: a sum starts from +0 as ref does (0 + −0 = +0). */
// @ts-ignore: decorator
@inline function first<Op>(a: v128): v128 {
  if (idof<Op>() == idof<RSum>()) return f32x4.add(a, f32x4.splat(0));
  return a;
}

// ---------------------------------------------------------------------------------------------------
// Contiguous rows

/** Σ of n ≥ 0 contiguous floats, blocked pairwise. */
function sumRow(p: usize, n: usize): f32 {
  if (n > INNER_BLOCK) {
    const h = (n >> 1) & ~(<usize>15);
    return sumRow(p, h) + sumRow(p + (h << 2), n - h);
  }
  let a0 = f32x4.splat(0);
  let a1 = f32x4.splat(0);
  let a2 = f32x4.splat(0);
  let a3 = f32x4.splat(0);
  const end16 = p + ((n & ~(<usize>15)) << 2);
  for (; p < end16; p += 64) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    a2 = f32x4.add(a2, v128.load(p, 32));
    a3 = f32x4.add(a3, v128.load(p, 48));
  }
  let r = n & 15;
  if (r >= 8) {
    a0 = f32x4.add(a0, v128.load(p));
    a1 = f32x4.add(a1, v128.load(p, 16));
    p += 32;
    r -= 8;
  }
  if (r >= 4) {
    a2 = f32x4.add(a2, v128.load(p));
    p += 16;
    r -= 4;
  }
  if (r) a3 = f32x4.add(a3, loadPartial(p, r)); // zeros in the unused lanes
  const s = f32x4.add(f32x4.add(a0, a1), f32x4.add(a2, a3));
  return (f32x4.extract_lane(s, 0) + f32x4.extract_lane(s, 1)) + (f32x4.extract_lane(s, 2) + f32x4.extract_lane(s, 3));
}

/** max of the 4 lanes, all in SIMD (scalar f32.max compiles to branches in V8: slow on random data). */
// @ts-ignore: decorator
@inline function hmax(s: v128): v128 {
  s = f32x4.max(s, i32x4.shuffle(s, s, 2, 3, 0, 1));
  return f32x4.max(s, i32x4.shuffle(s, s, 1, 0, 3, 2));
}

/** max of n ≥ 1 contiguous floats in lane 0 (the tail re-reads an overlapping last vector: max is idempotent). */
function maxRow(p: usize, n: usize): v128 {
  if (n < 4) {
    let m = v128.load32_splat(p);
    for (let i: usize = 1; i < n; i++) m = f32x4.max(m, v128.load32_splat(p + (i << 2)));
    return m;
  }
  let a0 = v128.load(p);
  let a1 = a0;
  let a2 = a0;
  let a3 = a0;
  const end16 = p + ((n & ~(<usize>15)) << 2);
  let q = p;
  for (; q < end16; q += 64) {
    a0 = f32x4.max(a0, v128.load(q));
    a1 = f32x4.max(a1, v128.load(q, 16));
    a2 = f32x4.max(a2, v128.load(q, 32));
    a3 = f32x4.max(a3, v128.load(q, 48));
  }
  const last = p + ((n - 4) << 2);
  for (; q < last; q += 16) a0 = f32x4.max(a0, v128.load(q));
  a1 = f32x4.max(a1, v128.load(last));
  return hmax(f32x4.max(f32x4.max(a0, a1), f32x4.max(a2, a3)));
}

export function reduceInner(op: i32, x: usize, out: usize, p: usize): void {
  const outer = <usize>P.reduceInner_outer(p);
  const n = <usize>P.reduceInner_n(p);
  const row = n << 2;
  if (n <= 8) {
    // Short rows (vector components, small channel groups): a plain sequential loop per row, no call.
    const end = out + (outer << 2);
    if (op == REDUCE_sum) {
      for (; out < end; out += 4) {
        let s: f32 = 0;
        for (let q = x, e = x + row; q < e; q += 4) s += load<f32>(q);
        store<f32>(out, s);
        x += row;
      }
    } else if (n >= 4) {
      // 4..8 elements: the first and the last 4 (overlapping) cover the row.
      for (; out < end; out += 4, x += row) v128.store32_lane(out, hmax(f32x4.max(v128.load(x), v128.load(x + row - 16))), 0);
    } else {
      for (; out < end; out += 4, x += row) {
        let m = v128.load32_splat(x);
        for (let q = x + 4, e = x + row; q < e; q += 4) m = f32x4.max(m, v128.load32_splat(q));
        v128.store32_lane(out, m, 0);
      }
    }
    return;
  }
  if (op == REDUCE_sum) {
    for (let o: usize = 0; o < outer; o++, x += row, out += 4) store<f32>(out, sumRow(x, n));
  } else {
    for (let o: usize = 0; o < outer; o++, x += row, out += 4) v128.store32_lane(out, maxRow(x, n), 0);
  }
}

// ---------------------------------------------------------------------------------------------------
// Rows of m columns reduced over r rows (stride m)

/** dst[0..16) = op over r ≥ 1 rows of src[0..16) (row stride `stride` bytes); tmp: scratch levels. */
function cols16<Op>(src: usize, r: i32, stride: usize, dst: usize, tmp: usize): void {
  if (idof<Op>() == idof<RSum>() && r > ROW_BLOCK) {
    const h = r >> 1;
    cols16<Op>(src, h, stride, dst, tmp);
    cols16<Op>(src + <usize>h * stride, r - h, stride, tmp, tmp + LEVEL);
    v128.store(dst, f32x4.add(v128.load(dst), v128.load(tmp)));
    v128.store(dst, f32x4.add(v128.load(dst, 16), v128.load(tmp, 16)), 16);
    v128.store(dst, f32x4.add(v128.load(dst, 32), v128.load(tmp, 32)), 32);
    v128.store(dst, f32x4.add(v128.load(dst, 48), v128.load(tmp, 48)), 48);
    return;
  }
  let a0 = first<Op>(v128.load(src));
  let a1 = first<Op>(v128.load(src, 16));
  let a2 = first<Op>(v128.load(src, 32));
  let a3 = first<Op>(v128.load(src, 48));
  for (let i = 1; i < r; i++) {
    src += stride;
    a0 = comb<Op>(a0, v128.load(src));
    a1 = comb<Op>(a1, v128.load(src, 16));
    a2 = comb<Op>(a2, v128.load(src, 32));
    a3 = comb<Op>(a3, v128.load(src, 48));
  }
  v128.store(dst, a0);
  v128.store(dst, a1, 16);
  v128.store(dst, a2, 32);
  v128.store(dst, a3, 48);
}

/** Like cols16 for k = 1..4 columns (k < 4: partial vectors; the unused lanes are never stored). */
function colsK<Op>(src: usize, r: i32, stride: usize, dst: usize, tmp: usize, k: usize): void {
  if (idof<Op>() == idof<RSum>() && r > ROW_BLOCK) {
    const h = r >> 1;
    colsK<Op>(src, h, stride, tmp, tmp + LEVEL, k);
    colsK<Op>(src + <usize>h * stride, r - h, stride, tmp + 16, tmp + LEVEL, k);
    const s = f32x4.add(v128.load(tmp), v128.load(tmp, 16));
    if (k == 4) v128.store(dst, s);
    else storePartial(dst, s, k);
    return;
  }
  let a: v128;
  if (k == 4) {
    a = first<Op>(v128.load(src));
    for (let i = 1; i < r; i++) {
      src += stride;
      a = comb<Op>(a, v128.load(src));
    }
    v128.store(dst, a);
  } else {
    a = first<Op>(loadPartial(src, k));
    for (let i = 1; i < r; i++) {
      src += stride;
      a = comb<Op>(a, loadPartial(src, k));
    }
    storePartial(dst, a, k);
  }
}

// @ts-ignore: decorator
@inline function middle<Op>(x: usize, out: usize, p: usize): void {
  const outer = <usize>P.reduceMiddle_outer(p);
  const r = P.reduceMiddle_r(p);
  const m = <usize>P.reduceMiddle_m(p);
  const tmp = P.reduceMiddle_scratch(p);
  const stride = m << 2;
  const block = <usize>r * stride;
  for (let o: usize = 0; o < outer; o++, x += block, out += stride) {
    let j: usize = 0;
    for (; j + 16 <= m; j += 16) cols16<Op>(x + (j << 2), r, stride, out + (j << 2), tmp);
    for (; j + 4 <= m; j += 4) colsK<Op>(x + (j << 2), r, stride, out + (j << 2), tmp, 4);
    if (j < m) colsK<Op>(x + (j << 2), r, stride, out + (j << 2), tmp, m - j);
  }
}

export function reduceMiddle(op: i32, x: usize, out: usize, p: usize): void {
  if (op == REDUCE_sum) middle<RSum>(x, out, p);
  else middle<RMax>(x, out, p);
}
