/**
 * Shared f32x4 helpers for the kernels. The one source is compiled twice (asconfig.json targets):
 * `simd` and `relaxed` (also --enable relaxed-simd). `ASC_FEATURE_RELAXED_SIMD` is a compile-time
 * constant, so each build keeps only its branch.
 *
 * Memory convention (see src/backends/wasm/memory.ts): JavaScript owns the heap above `heapBase()`
 * and passes raw byte offsets; kernels never allocate. Pointers need not be 16-byte aligned
 * (v128 loads/stores accept any address; the allocator's alignment only makes them faster).
 *
 * Performance note for future kernels (measured, Node 20 / V8 11, x64): a non-zero `v128.const`
 * in a loop body is re-materialised on every iteration (~5 instructions), and binaryen propagates
 * constants back into loops. An exp loop with 13 constants ran 1.7x faster when the constants were
 * loaded from static data (`memory.data`) into locals before the loop, 1.4x with
 * `v128.load32_splat` from static data inside the loop. Worth doing for constant-heavy loops.
 */

/** a·b + c: one fused multiply-add in the relaxed build (where the CPU has FMA), else mul then add. */
// @ts-ignore: decorator
@inline export function madd(a: v128, b: v128, c: v128): v128 {
  if (ASC_FEATURE_RELAXED_SIMD) return f32x4.relaxed_madd(a, b, c);
  else return f32x4.add(f32x4.mul(a, b), c);
}

// @ts-ignore: decorator
@inline export function splat(x: f32): v128 {
  return f32x4.splat(x);
}

/** Loads k = 1..3 floats into the low lanes (zeros above): the scalar tail of a main loop. */
// @ts-ignore: decorator
@inline export function loadPartial(p: usize, k: usize): v128 {
  if (k == 1) return v128.load32_zero(p);
  const v = v128.load64_zero(p);
  if (k == 2) return v;
  return f32x4.replace_lane(v, 2, load<f32>(p, 8));
}

/** Stores the low k = 1..3 lanes of v. */
// @ts-ignore: decorator
@inline export function storePartial(p: usize, v: v128, k: usize): void {
  if (k == 1) {
    v128.store32_lane(p, v, 0);
  } else {
    v128.store64_lane(p, v, 0);
    if (k == 3) v128.store32_lane(p, v, 2, 8);
  }
}

/** 1.0 where the mask lane is all ones, else 0.0. */
// @ts-ignore: decorator
@inline export function maskToOne(m: v128): v128 {
  return v128.and(m, f32x4.splat(1.0));
}
