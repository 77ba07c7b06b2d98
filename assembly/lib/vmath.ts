/**
 * f32x4 transcendental functions, accurate to about 1–2 ulp over the whole float32 range
 * (measured against float64 by test/node/wasm.test.ts), with IEEE special values:
 * NaN in → NaN out, exp(±inf) = inf / 0, log(0) = −inf, log(x < 0) = NaN, tanh(±inf) = ±1.
 *
 * exp and log are the Cephes single-precision algorithms (Cody–Waite reduction + minimax
 * polynomial), vectorised branch-free: every lane computes every path and selects.
 * Polynomials use `madd`, so the relaxed build evaluates them with fused multiply-adds (results
 * differ from the plain SIMD build in the last bit, both within the tolerance).
 */
import { madd, splat } from './simd';

const LOG2E: f32 = 1.44269504088896341;
// ln 2 split so that n·LN2_HI is exact for |n| <= 2^15 (LN2_HI has 9 significant bits).
const LN2_HI: f32 = 0.693359375;
const LN2_LO: f32 = -2.12194440e-4;
// exp(x) overflows above ~88.72 and is below half the smallest subnormal under ~-103.97.
const EXP_MAX: f32 = 88.8;
const EXP_MIN: f32 = -104.0;
const FLT_MIN: f32 = 1.17549435e-38;

/**
 * p · 2^n for i32 lanes n in [-150, 128]. The scale is applied as two normal powers of two, so
 * p·2^n is rounded once: exact for normal results, correctly rounded for subnormal ones, inf on
 * overflow.
 */
// @ts-ignore: decorator
@inline function ldexp(p: v128, n: v128): v128 {
  const n1 = i32x4.shr_s(n, 1);
  const n2 = i32x4.sub(n, n1);
  const bias = i32x4.splat(127);
  const s1 = i32x4.shl(i32x4.add(n1, bias), 23);
  const s2 = i32x4.shl(i32x4.add(n2, bias), 23);
  return f32x4.mul(f32x4.mul(p, s1), s2);
}

/** e^r for |r| <= ln2/2 (Cephes expf minimax polynomial, relative error < 1.2e-7). */
// @ts-ignore: decorator
@inline function expPoly(r: v128): v128 {
  let p = splat(1.9875691500e-4);
  p = madd(p, r, splat(1.3981999507e-3));
  p = madd(p, r, splat(8.3334519073e-3));
  p = madd(p, r, splat(4.1665795894e-2));
  p = madd(p, r, splat(1.6666665459e-1));
  p = madd(p, r, splat(5.0000001201e-1));
  return f32x4.add(madd(p, f32x4.mul(r, r), r), splat(1.0));
}

// 1.5·2^23: adding it rounds a float of magnitude < 2^22 to an integer held in the low mantissa
// bits, so one add gives both round(x) (subtract it back) and the integer (subtract its bits) —
// cheaper than f32x4.nearest + i32x4.trunc_sat_f32x4_s.
const ROUND_MAGIC: f32 = 12582912.0;

/** e^x. */
// @ts-ignore: decorator
@inline export function vexp(x: v128): v128 {
  // Clamp with pmin/pmax (single instructions) ordered so that NaN lanes pass through as NaN.
  x = f32x4.pmax(f32x4.pmin(x, splat(EXP_MAX)), splat(EXP_MIN));
  const t = madd(x, splat(LOG2E), splat(ROUND_MAGIC));
  const n = f32x4.sub(t, splat(ROUND_MAGIC)); // round(x·log2 e)
  let r = madd(n, splat(-LN2_HI), x); // exact (Cody–Waite)
  r = madd(n, splat(-LN2_LO), r);
  return ldexp(expPoly(r), i32x4.sub(t, i32x4.splat(0x4b400000)));
}

// @ts-ignore: decorator
@inline function geluArgHalf(xd: v128): v128 {
  // −|v| = −|2c·x·(1 + k·x²)| in float64, clamped to the range where e^(−|v|) is a nonzero float.
  const x2 = f64x2.mul(xd, xd);
  const v = f64x2.mul(f64x2.mul(xd, f64x2.splat(-1.5957691216057308)), f64x2.add(f64x2.splat(1.0), f64x2.mul(x2, f64x2.splat(0.044715))));
  return f64x2.max(f64x2.neg(f64x2.abs(v)), f64x2.splat(-104.0));
}

/**
 * For gelu: returns e^(−|v|) with v = −2u, u = √(2/π)·(x + 0.044715·x³). The argument and its
 * reduction v = n·ln2 + r are computed in float64, then r (|r| <= ln2/2) goes through the float32
 * polynomial: the float32 rounding of v (amplified by |v| in e^v) never happens.
 */
// @ts-ignore: decorator
@inline function expNegAbsGeluArg(x: v128): v128 {
  const lo = geluArgHalf(f64x2.promote_low_f32x4(x));
  const hi = geluArgHalf(f64x2.promote_low_f32x4(f32x4.shuffle(x, x, 2, 3, 2, 3)));
  const nlo = f64x2.nearest(f64x2.mul(lo, f64x2.splat(1.4426950408889634)));
  const nhi = f64x2.nearest(f64x2.mul(hi, f64x2.splat(1.4426950408889634)));
  const LN2 = f64x2.splat(0.6931471805599453);
  const rlo = f64x2.sub(lo, f64x2.mul(nlo, LN2));
  const rhi = f64x2.sub(hi, f64x2.mul(nhi, LN2));
  const r = f32x4.shuffle(f32x4.demote_f64x2_zero(rlo), f32x4.demote_f64x2_zero(rhi), 0, 1, 4, 5);
  const n = i32x4.shuffle(i32x4.trunc_sat_f64x2_s_zero(nlo), i32x4.trunc_sat_f64x2_s_zero(nhi), 0, 1, 4, 5);
  return ldexp(expPoly(r), n);
}

/** ln x (Cephes logf). */
// @ts-ignore: decorator
@inline export function vlog(x: v128): v128 {
  // Subnormals: scale by 2^23 first (zero and negative lanes are overridden at the end).
  const tiny = f32x4.lt(x, splat(FLT_MIN));
  const xs = v128.bitselect(f32x4.mul(x, splat(8388608.0)), x, tiny);
  let e = f32x4.convert_i32x4_s(i32x4.sub(i32x4.shr_u(xs, 23), i32x4.splat(126)));
  e = f32x4.sub(e, v128.and(tiny, splat(23.0)));
  // Mantissa in [0.5, 1), then into [√½, √2) − 1 (both steps exact).
  let m = v128.or(v128.and(xs, i32x4.splat(0x007fffff)), i32x4.splat(0x3f000000));
  const low = f32x4.lt(m, splat(0.707106781186547524));
  e = f32x4.sub(e, v128.and(low, splat(1.0)));
  m = f32x4.sub(f32x4.add(m, v128.and(low, m)), splat(1.0));
  const z = f32x4.mul(m, m);
  let p = splat(7.0376836292e-2);
  p = madd(p, m, splat(-1.1514610310e-1));
  p = madd(p, m, splat(1.1676998740e-1));
  p = madd(p, m, splat(-1.2420140846e-1));
  p = madd(p, m, splat(1.4249322787e-1));
  p = madd(p, m, splat(-1.6668057665e-1));
  p = madd(p, m, splat(2.0000714765e-1));
  p = madd(p, m, splat(-2.4999993993e-1));
  p = madd(p, m, splat(3.3333331174e-1));
  let y = f32x4.mul(f32x4.mul(p, m), z);
  y = madd(e, splat(LN2_LO), y);
  y = madd(z, splat(-0.5), y);
  let r = f32x4.add(m, y);
  r = madd(e, splat(LN2_HI), r);
  // Specials: log(±0) = −inf, log(x < 0) = NaN, log(+inf) = +inf, log(NaN) = NaN.
  r = v128.bitselect(splat(-Infinity), r, f32x4.eq(x, splat(0.0)));
  r = v128.bitselect(splat(NaN), r, f32x4.lt(x, splat(0.0)));
  return v128.bitselect(x, r, v128.or(f32x4.ne(x, x), f32x4.eq(x, splat(Infinity))));
}

/** tanh x (Cephes tanhf): an odd polynomial below 0.625, else (1 − e)/(1 + e), e = e^(−2|x|). */
// @ts-ignore: decorator
@inline export function vtanh(x: v128): v128 {
  const ax = f32x4.abs(x);
  const z = f32x4.mul(x, x);
  let p = splat(-5.70498872745e-3);
  p = madd(p, z, splat(2.06390887954e-2));
  p = madd(p, z, splat(-5.37397155531e-2));
  p = madd(p, z, splat(1.33314422036e-1));
  p = madd(p, z, splat(-3.33332819422e-1));
  let small = madd(f32x4.mul(p, z), x, x);
  small = v128.bitselect(x, small, f32x4.eq(x, splat(0.0))); // tanh(−0) = −0
  const e = vexp(f32x4.mul(ax, splat(-2.0)));
  let big = f32x4.div(f32x4.sub(splat(1.0), e), f32x4.add(splat(1.0), e));
  big = v128.or(big, v128.and(x, i32x4.splat(0x80000000))); // copysign (big >= 0)
  return v128.bitselect(small, big, f32x4.lt(ax, splat(0.625)));
}

/**
 * 1 / (1 + e^(−x)), as 1/(1 + e) for x >= 0 and e/(1 + e) for x < 0 with e = e^(−|x|) ∈ (0, 1]:
 * no overflow of e^(−x), so results down to the subnormal range stay accurate.
 */
// @ts-ignore: decorator
@inline export function vsigmoid(x: v128): v128 {
  const e = vexp(f32x4.neg(f32x4.abs(x)));
  const d = f32x4.add(splat(1.0), e);
  return v128.bitselect(f32x4.div(splat(1.0), d), f32x4.div(e, d), f32x4.ge(x, splat(0.0)));
}

/**
 * gelu (tanh approximation) and its derivative, written without the cancellation of 1 + tanh(u):
 * 1 + tanh(u) = 2s with s = σ(2u), 1 − tanh²(u) = 4s(1 − s), so
 *   gelu(x)  = x·s,
 *   gelu'(x) = s + s(1 − s)·2c·x·(1 + 3k·x²),     c = √(2/π), k = 0.044715.
 * With w = e^(−|2u|) ∈ (0, 1] and d = 1 + w: s = 1/d, 1 − s = w/d for u >= 0, and the other way
 * round for u < 0 — no overflow, no cancellation, relative accuracy ~1 ulp (except near gelu'(x)'s
 * root at x ≈ −0.75, where any float32 result has only absolute accuracy).
 */
// @ts-ignore: decorator
@inline export function vgelu(x: v128): v128 {
  const w = expNegAbsGeluArg(x);
  const d = f32x4.add(splat(1.0), w);
  const s = v128.bitselect(f32x4.div(splat(1.0), d), f32x4.div(w, d), f32x4.ge(x, splat(0.0))); // u has the sign of x
  return f32x4.mul(x, s);
}

// @ts-ignore: decorator
@inline export function vgeluGrad(x: v128): v128 {
  const w = expNegAbsGeluArg(x);
  const d = f32x4.add(splat(1.0), w);
  const inv = f32x4.div(splat(1.0), d);
  const wd = f32x4.div(w, d);
  const pos = f32x4.ge(x, splat(0.0));
  const s = v128.bitselect(inv, wd, pos);
  const q = v128.bitselect(wd, inv, pos); // 1 − s
  // t = 2c·x·(1 + 3k·x²)
  const t = f32x4.mul(f32x4.mul(x, splat(1.5957691216057308)), madd(f32x4.mul(x, x), splat(0.134145), splat(1.0)));
  let g = madd(f32x4.mul(t, q), s, s);
  // Far tails (s·(1 − s) underflows, where t may overflow): gelu' = s. The ref's formula gives
  // NaN at ±inf (inf·0); follow it there.
  g = v128.bitselect(s, g, f32x4.eq(f32x4.mul(s, q), splat(0.0)));
  return v128.bitselect(splat(NaN), g, f32x4.eq(f32x4.abs(x), splat(Infinity)));
}
