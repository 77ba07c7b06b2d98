/**
 * Documented resource limits, checked up front so that a hostile or mistaken input (a checkpoint
 * claiming `depth: 100000`, `zeros([1e5, 1e5])`, `invariantFilters(2, 3, 40, 0)`) fails at once with
 * a message naming the limit, instead of running for minutes, exhausting memory, or failing deep
 * inside with "Invalid typed array length". The README's "Limits" section lists the same numbers.
 */

/**
 * The limits themselves (frozen; each entry says what it bounds).
 * @example
 * console.log(limits.maxTensorElements); // 2**30: larger tensors are refused up front
 */
export const limits = Object.freeze({
  /** Elements of one tensor: 2^30 (4 GiB of float32; the wasm32 heap cannot hold more than that). */
  maxTensorElements: 2 ** 30,
  /** Axes of one tensor (geoconv's largest are batch + 3 spatial + a few tensor indices). */
  maxRank: 32,
  /** Side M of an invariant filter. */
  maxFilterSide: 65,
  /** Tensor order k of an image or filter (D^k components per pixel). */
  maxTensorOrder: 8,
  /**
   * Work of one invariantFilters(D, M, k, parity) call: filters × entries per filter (M^D·D^k),
   * the floats it materialises. 2^26 takes about two seconds and 0.5 GB; beyond, refused.
   */
  maxFilterWork: 2 ** 26,
  /** Worker threads of the wasm backend, even with `allowOversubscription`. */
  maxThreads: 64,
  /** Threads always allowed without `allowOversubscription`, even on machines with fewer cores. */
  minThreadsAllowed: 4,
  /** Nesting of a model config (objects and arrays inside one another). */
  maxConfigNesting: 64,
  /** Characters of a model config's JSON. */
  maxConfigLength: 1_000_000,
  /** Layers (depth) or blocks of one model, and sub-modules of one Sequential. */
  maxLayers: 1024,
  /** Channels of one signature key. */
  maxChannels: 65_536,
  /** Tensor-name problems listed in one error message (the rest are counted). */
  maxListedProblems: 10,
} as const);

/** The limit's value in a readable form (2^30 rather than 1073741824). */
export function showLimit(n: number): string {
  const e = Math.log2(n);
  return Number.isInteger(e) && e >= 10 ? `2^${e}` : String(n);
}
