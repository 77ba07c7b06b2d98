/**
 * Splitting work between threads. Elementwise work: part tid of nt of n floats is a contiguous run
 * of whole 4-float groups (the last part also takes the partial group at the end), so every element
 * goes through the same SIMD or tail code as on one thread and the result is bit-identical.
 */

/** First of `count` items in part tid of nt (part nt starts at count); u64 since count · tid may pass 2^32. */
// @ts-ignore: decorator
@inline export function partOf(count: usize, tid: i32, nt: i32): usize {
  return <usize>((<u64>count * <u64>tid) / <u64>nt);
}

/** First float of part tid of nt over n floats, in whole 4-float groups (part nt starts at n). */
// @ts-ignore: decorator
@inline export function partStart(n: usize, tid: i32, nt: i32): usize {
  return min(n, partOf((n + 3) >> 2, tid, nt) << 2);
}
