/**
 * Elementwise unary kernels: y[i] = f(x[i]) for i < n, with the semantics of
 * src/backends/ref/unary.ts (the spec). f32x4 main loop; the 1–3 element tail goes through the same
 * vector function on a partial vector, so every element gets the bit-identical result wherever it is.
 *
 * Op codes are exported as wasm globals (`UNARY_<op>`); the TypeScript side looks them up by name,
 * so the two sides cannot disagree silently.
 */
import { loadPartial, maskToOne, splat, storePartial } from '../lib/simd';
import { partStart } from './parallel';
import * as P from './params';
import { vexp, vgelu, vgeluGrad, vlog, vsigmoid, vtanh } from '../lib/vmath';

export const UNARY_neg: i32 = 0;
export const UNARY_abs: i32 = 1;
export const UNARY_sign: i32 = 2;
export const UNARY_square: i32 = 3;
export const UNARY_sqrt: i32 = 4;
export const UNARY_recip: i32 = 5;
export const UNARY_exp: i32 = 6;
export const UNARY_log: i32 = 7;
export const UNARY_relu: i32 = 8;
export const UNARY_step: i32 = 9;
export const UNARY_tanh: i32 = 10;
export const UNARY_sigmoid: i32 = 11;
export const UNARY_gelu: i32 = 12;
export const UNARY_geluGrad: i32 = 13;

// Type tags: each op's loop is a separate generic instantiation, so the op test folds away at
// compile time (a runtime op argument to one shared loop gets folded back into the loop by
// binaryen, leaving a branch chain per element).
class UNeg {}
class UAbs {}
class USign {}
class USquare {}
class USqrt {}
class URecip {}
class UExp {}
class ULog {}
class URelu {}
class UStep {}
class UTanh {}
class USigmoid {}
class UGelu {}
class UGeluGrad {}

/** f(x) on four lanes for the op tagged Op (resolved at compile time). */
// @ts-ignore: decorator
@inline function apply<Op>(x: v128): v128 {
  const zero = splat(0.0);
  if (idof<Op>() == idof<UNeg>()) return f32x4.neg(x);
  if (idof<Op>() == idof<UAbs>()) return f32x4.abs(x);
  // x > 0 ? 1 : x < 0 ? −1 : 0, NaN stays NaN with its bits. (x & (sign bit, or all bits where x is
  // NaN)) | 1.0 is ±1, or x itself where x is NaN (1.0's bits lie inside NaN's all-ones exponent);
  // the x ≠ 0 mask (true at NaN) then clears ±0 to +0.
  if (idof<Op>() == idof<USign>()) {
    const keep = v128.or(i32x4.splat(0x80000000), f32x4.ne(x, x));
    return v128.and(v128.or(v128.and(x, keep), splat(1.0)), f32x4.ne(x, zero));
  }
  if (idof<Op>() == idof<USquare>()) return f32x4.mul(x, x);
  if (idof<Op>() == idof<USqrt>()) return f32x4.sqrt(x);
  if (idof<Op>() == idof<URecip>()) return f32x4.div(splat(1.0), x);
  if (idof<Op>() == idof<UExp>()) return vexp(x);
  if (idof<Op>() == idof<ULog>()) return vlog(x);
  // x <= 0 ? 0 : x: NaN fails the comparison, so it passes through with its bits (as jax.nn.relu),
  // −0 gives +0. Two ops, as the old NaN-dropping and(x, x > 0); f32x4.pmax would drop NaN too.
  if (idof<Op>() == idof<URelu>()) return v128.andnot(x, f32x4.le(x, zero));
  if (idof<Op>() == idof<UStep>()) return maskToOne(f32x4.gt(x, zero));
  if (idof<Op>() == idof<UTanh>()) return vtanh(x);
  if (idof<Op>() == idof<USigmoid>()) return vsigmoid(x);
  if (idof<Op>() == idof<UGelu>()) return vgelu(x);
  return vgeluGrad(x);
}

// @ts-ignore: decorator
@inline function map<Op>(x: usize, y: usize, n: usize): void {
  const vend = x + ((n & ~3) << 2);
  for (; x < vend; x += 16, y += 16) v128.store(y, apply<Op>(v128.load(x)));
  const k = n & 3;
  if (k) storePartial(y, apply<Op>(loadPartial(x, k)), k);
}

/** y = op(x) over n floats at byte offsets x and y (x == y is allowed). */
export function unary(op: i32, x: usize, y: usize, n: usize): void {
  switch (op) {
    case UNARY_neg: map<UNeg>(x, y, n); break;
    case UNARY_abs: map<UAbs>(x, y, n); break;
    case UNARY_sign: map<USign>(x, y, n); break;
    case UNARY_square: map<USquare>(x, y, n); break;
    case UNARY_sqrt: map<USqrt>(x, y, n); break;
    case UNARY_recip: map<URecip>(x, y, n); break;
    case UNARY_exp: map<UExp>(x, y, n); break;
    case UNARY_log: map<ULog>(x, y, n); break;
    case UNARY_relu: map<URelu>(x, y, n); break;
    case UNARY_step: map<UStep>(x, y, n); break;
    case UNARY_tanh: map<UTanh>(x, y, n); break;
    case UNARY_sigmoid: map<USigmoid>(x, y, n); break;
    case UNARY_gelu: map<UGelu>(x, y, n); break;
    case UNARY_geluGrad: map<UGeluGrad>(x, y, n); break;
    default: unreachable();
  }
}

/**
 * Part tid of nt of unary (src/backends/wasm/kernels.ts runs it on the worker threads):
 * block unaryPart (op, x, y, n) of src/backends/kernelParams.ts, split by partStart.
 */
export function unaryPart(p: usize, tid: i32, nt: i32): void {
  const n = <usize>P.unaryPart_n(p);
  const s = partStart(n, tid, nt);
  const e = partStart(n, tid + 1, nt);
  if (e > s) unary(P.unaryPart_op(p), P.unaryPart_x(p) + (s << 2), P.unaryPart_y(p) + (s << 2), e - s);
}
