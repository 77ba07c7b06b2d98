/**
 * Explicit, splittable, reproducible randomness (JAX style): a key is two 32-bit words; `split`
 * derives independent keys; samplers are pure functions of the key. Values are generated in
 * TypeScript, so the same key gives the same numbers on every backend.
 */
import { check } from './errors.js';

/** A PRNG key (JAX style): two 32-bit words; make one with `key(seed)`, derive more with `split`. */
export type Key = readonly [number, number];

/**
 * The key of an integer seed: the same seed gives the same numbers on every backend.
 * @example
 * const k = random.key(0);
 * const w = random.uniform(k, 4, -1, 1);
 */
export function key(seed: number): Key {
  // Only safe integers: 1.5, NaN or "abc" would otherwise truncate silently onto another seed's key.
  check(Number.isSafeInteger(seed), 'random.key', 'seed', 'a safe integer (|seed| <= 2^53 - 1)', seed);
  // Low and high 32-bit words of the two's-complement seed, so -1 and 2^32 - 1 differ.
  return [mix32(seed >>> 0), mix32((Math.floor(seed / 4294967296) >>> 0) ^ 0x9e3779b9)];
}

/** A 32-bit finaliser (murmur3 fmix32): a bijection with good avalanche. */
function mix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

/** The i-th 32-bit word of the stream of key k (counter-based, so any word is O(1)). */
function word(k: Key, i: number): number {
  return mix32(mix32(k[0] ^ mix32(i)) ^ k[1] ^ Math.imul(i, 0x27d4eb2f));
}

/**
 * `n` independent keys derived from `k` (never reuse a key for two draws).
 * @example
 * const [k1, k2] = random.split(random.key(0));
 */
export function split(k: Key, n = 2): Key[] {
  return Array.from({ length: n }, (_, i) => [word(k, 2 * i + 0x51ed), word(k, 2 * i + 0x51ee)] as const);
}

/**
 * n uniform floats in [lo, hi), 24 random bits each (exact in float32).
 * @example
 * const u = random.uniform(random.key(0), 4, -1, 1); // Float32Array of 4
 */
export function uniform(k: Key, n: number, lo = 0, hi = 1): Float32Array {
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) out[i] = lo + (hi - lo) * ((word(k, i) >>> 8) / 16777216);
  return out;
}

/**
 * n standard normal floats (Box–Muller).
 * @example
 * const z = random.normal(random.key(0), 1000);
 */
export function normal(k: Key, n: number, mean = 0, std = 1): Float32Array {
  const u = uniform(k, 2 * n);
  const out = new Float32Array(n);
  for (let i = 0; i < n; i++) {
    const r = Math.sqrt(-2 * Math.log(1 - u[2 * i]!));
    out[i] = mean + std * r * Math.cos(2 * Math.PI * u[2 * i + 1]!);
  }
  return out;
}

/**
 * A uniformly random permutation of 0..n-1 (Fisher–Yates).
 * @example
 * const order = random.permutation(random.key(0), 10); // 0..9 shuffled
 */
export function permutation(k: Key, n: number): number[] {
  const p = Array.from({ length: n }, (_, i) => i);
  for (let i = n - 1; i > 0; i--) {
    const j = word(k, i) % (i + 1);
    [p[i], p[j]] = [p[j]!, p[i]!];
  }
  return p;
}
