/** Small helpers of the convolution kernels. */
import { storePartial } from '../lib/simd';

/** Stores the first n lanes of v (all 4 when n >= 4, none when n <= 0). */
// @ts-ignore: decorator
@inline export function storeLanes(p: usize, v: v128, n: i32): void {
  if (n >= 4) v128.store(p, v);
  else if (n > 0) storePartial(p, v, <usize>n);
}
