/**
 * Elementwise binary kernels with NumPy broadcasting, semantics of src/backends/ref/binary.ts.
 *
 * The TypeScript side (src/backends/wasm/params.ts, `binaryPlan`) drops size-1 axes and merges
 * axes that are contiguous in both operands, then calls one of:
 *   binarySame(op, a, b, out, n)      a, b and out all of n elements
 *   binaryScalarA(op, a, b, out, n)   a is one element, broadcast against n elements of b
 *   binaryScalarB(op, a, b, out, n)   b is one element
 *   binaryStrided(op, a, b, out, p)   general case; p points at block binaryStrided of
 *       src/backends/kernelParams.ts: R, shape[R], aStride[R], bStride[R], counters[R] (kernel scratch)
 *     (strides in elements, 0 on broadcast axes; after merging, the innermost axis has strides
 *      (1,1), (0,1) or (1,0), so each inner row is one of the three fast loops above).
 * All pointers are byte offsets; f32x4 main loops with partial-vector tails.
 */
import { loadPartial, maskToOne, storePartial } from '../lib/simd';
import { partStart } from './parallel';
import * as P from './params';

export const BINARY_add: i32 = 0;
export const BINARY_sub: i32 = 1;
export const BINARY_mul: i32 = 2;
export const BINARY_div: i32 = 3;
export const BINARY_max: i32 = 4;
export const BINARY_min: i32 = 5;
export const BINARY_ge: i32 = 6;
export const BINARY_eq: i32 = 7;

// Type tags: each (op, loop) pair is a separate generic instantiation, so the op test folds away
// at compile time (see unary.ts).
class BAdd {}
class BSub {}
class BMul {}
class BDiv {}
class BMax {}
class BMin {}
class BGe {}
class BEq {}

/** f(a, b) on four lanes for the op tagged Op (resolved at compile time). */
// @ts-ignore: decorator
@inline function apply<Op>(a: v128, b: v128): v128 {
  if (idof<Op>() == idof<BAdd>()) return f32x4.add(a, b);
  if (idof<Op>() == idof<BSub>()) return f32x4.sub(a, b);
  if (idof<Op>() == idof<BMul>()) return f32x4.mul(a, b);
  if (idof<Op>() == idof<BDiv>()) return f32x4.div(a, b);
  // a >= b ? a : b and a <= b ? a : b exactly (not f32x4.max/min, which differ on NaN and ±0)
  if (idof<Op>() == idof<BMax>()) return v128.bitselect(a, b, f32x4.ge(a, b));
  if (idof<Op>() == idof<BMin>()) return v128.bitselect(a, b, f32x4.le(a, b));
  if (idof<Op>() == idof<BGe>()) return maskToOne(f32x4.ge(a, b));
  return maskToOne(f32x4.eq(a, b));
}

// @ts-ignore: decorator
@inline function rowSame<Op>(a: usize, b: usize, o: usize, n: usize): void {
  const vend = a + ((n & ~3) << 2);
  for (; a < vend; a += 16, b += 16, o += 16) v128.store(o, apply<Op>(v128.load(a), v128.load(b)));
  const k = n & 3;
  if (k) storePartial(o, apply<Op>(loadPartial(a, k), loadPartial(b, k)), k);
}

// @ts-ignore: decorator
@inline function rowScalarA<Op>(a: usize, b: usize, o: usize, n: usize): void {
  const va = v128.load32_splat(a);
  const vend = b + ((n & ~3) << 2);
  for (; b < vend; b += 16, o += 16) v128.store(o, apply<Op>(va, v128.load(b)));
  const k = n & 3;
  if (k) storePartial(o, apply<Op>(va, loadPartial(b, k)), k);
}

// @ts-ignore: decorator
@inline function rowScalarB<Op>(a: usize, b: usize, o: usize, n: usize): void {
  const vb = v128.load32_splat(b);
  const vend = a + ((n & ~3) << 2);
  for (; a < vend; a += 16, o += 16) v128.store(o, apply<Op>(v128.load(a), vb));
  const k = n & 3;
  if (k) storePartial(o, apply<Op>(loadPartial(a, k), vb), k);
}

// @ts-ignore: decorator
@inline function strided<Op>(a: usize, b: usize, o: usize, p: usize): void {
  const rank = <usize>P.binaryStrided_R(p);
  const shape = P.binaryStrided_shape(p);
  const sa = P.binaryStrided_aStride(p);
  const sb = P.binaryStrided_bStride(p);
  const ctr = P.binaryStrided_counters(p);
  const inner = rank - 1;
  const n = <usize>load<i32>(shape + (inner << 2));
  const mode = load<i32>(sa + (inner << 2)) == 0 ? 1 : load<i32>(sb + (inner << 2)) == 0 ? 2 : 0;
  for (let d: usize = 0; d < inner; d++) store<i32>(ctr + (d << 2), 0);
  const rowBytes = n << 2;
  while (true) {
    if (mode == 0) rowSame<Op>(a, b, o, n);
    else if (mode == 1) rowScalarA<Op>(a, b, o, n);
    else rowScalarB<Op>(a, b, o, n);
    o += rowBytes;
    // Odometer over the outer axes, moving a and b by their (byte) strides.
    let d = <isize>inner - 1;
    for (; d >= 0; d--) {
      const q = <usize>d << 2;
      const c = load<i32>(ctr + q) + 1;
      const da = <isize>load<i32>(sa + q) << 2;
      const db = <isize>load<i32>(sb + q) << 2;
      if (c < load<i32>(shape + q)) {
        store<i32>(ctr + q, c);
        a += da;
        b += db;
        break;
      }
      store<i32>(ctr + q, 0);
      a -= da * <isize>(c - 1);
      b -= db * <isize>(c - 1);
    }
    if (d < 0) break;
  }
}

export function binarySame(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  switch (op) {
    case BINARY_add: rowSame<BAdd>(a, b, o, n); break;
    case BINARY_sub: rowSame<BSub>(a, b, o, n); break;
    case BINARY_mul: rowSame<BMul>(a, b, o, n); break;
    case BINARY_div: rowSame<BDiv>(a, b, o, n); break;
    case BINARY_max: rowSame<BMax>(a, b, o, n); break;
    case BINARY_min: rowSame<BMin>(a, b, o, n); break;
    case BINARY_ge: rowSame<BGe>(a, b, o, n); break;
    case BINARY_eq: rowSame<BEq>(a, b, o, n); break;
    default: unreachable();
  }
}

/**
 * Part tid of nt of binarySame (run on the worker threads): p = block binarySamePart (op, a, b, o,
 * n) of src/backends/kernelParams.ts, split by partStart.
 */
export function binarySamePart(p: usize, tid: i32, nt: i32): void {
  const n = <usize>P.binarySamePart_n(p);
  const s = partStart(n, tid, nt) << 2;
  const e = partStart(n, tid + 1, nt) << 2;
  if (e > s) binarySame(P.binarySamePart_op(p), P.binarySamePart_a(p) + s, P.binarySamePart_b(p) + s, P.binarySamePart_o(p) + s, (e - s) >> 2);
}

export function binaryScalarA(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  switch (op) {
    case BINARY_add: rowScalarA<BAdd>(a, b, o, n); break;
    case BINARY_sub: rowScalarA<BSub>(a, b, o, n); break;
    case BINARY_mul: rowScalarA<BMul>(a, b, o, n); break;
    case BINARY_div: rowScalarA<BDiv>(a, b, o, n); break;
    case BINARY_max: rowScalarA<BMax>(a, b, o, n); break;
    case BINARY_min: rowScalarA<BMin>(a, b, o, n); break;
    case BINARY_ge: rowScalarA<BGe>(a, b, o, n); break;
    case BINARY_eq: rowScalarA<BEq>(a, b, o, n); break;
    default: unreachable();
  }
}

export function binaryScalarB(op: i32, a: usize, b: usize, o: usize, n: usize): void {
  switch (op) {
    case BINARY_add: rowScalarB<BAdd>(a, b, o, n); break;
    case BINARY_sub: rowScalarB<BSub>(a, b, o, n); break;
    case BINARY_mul: rowScalarB<BMul>(a, b, o, n); break;
    case BINARY_div: rowScalarB<BDiv>(a, b, o, n); break;
    case BINARY_max: rowScalarB<BMax>(a, b, o, n); break;
    case BINARY_min: rowScalarB<BMin>(a, b, o, n); break;
    case BINARY_ge: rowScalarB<BGe>(a, b, o, n); break;
    case BINARY_eq: rowScalarB<BEq>(a, b, o, n); break;
    default: unreachable();
  }
}

export function binaryStrided(op: i32, a: usize, b: usize, o: usize, p: usize): void {
  switch (op) {
    case BINARY_add: strided<BAdd>(a, b, o, p); break;
    case BINARY_sub: strided<BSub>(a, b, o, p); break;
    case BINARY_mul: strided<BMul>(a, b, o, p); break;
    case BINARY_div: strided<BDiv>(a, b, o, p); break;
    case BINARY_max: strided<BMax>(a, b, o, p); break;
    case BINARY_min: strided<BMin>(a, b, o, p); break;
    case BINARY_ge: strided<BGe>(a, b, o, p); break;
    case BINARY_eq: strided<BEq>(a, b, o, p); break;
    default: unreachable();
  }
}
