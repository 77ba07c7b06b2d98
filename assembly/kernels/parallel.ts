/**
 * Splitting elementwise work between threads: part tid of nt of n floats is a contiguous run of
 * whole 4-float groups (the last part also takes the partial group at the end), so every element
 * goes through the same SIMD or tail code as on one thread and the result is bit-identical.
 */

/** First element of part tid of nt over n floats (part nt ends at n). */
// @ts-ignore: decorator
@inline export function partStart(n: usize, tid: i32, nt: i32): usize {
  const groups = (n + 3) >> 2;
  return min(n, ((groups * <usize>tid) / <usize>nt) << 2);
}
