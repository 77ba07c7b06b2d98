/**
 * Keys and signatures of MultiImages. A key is (k, parity); a signature lists keys with their channel
 * counts, always in the canonical order: sorted by k, then parity (DESIGN.md §1).
 */
import { argError, check } from '../core/errors.js';

/** A key of a MultiImage: tensor order k and parity (exported as ImageKey). */
export interface Key {
  readonly k: number;
  readonly parity: 0 | 1;
}

/** One key of a signature with its channel count. */
export interface SignatureEntry extends Key {
  readonly channels: number;
}

/** A validated signature: keys with channel counts in the canonical order (by k, then parity). */
export type Signature = readonly SignatureEntry[];

/** Accepted signature spellings: entries, or [[k, parity], channels] pairs as in ginjax. */
export type SignatureLike = readonly (SignatureEntry | readonly [readonly [number, number], number])[];

export const keyName = (k: number, parity: number) => `${k},${parity}`;

export function compareKeys(a: Key, b: Key): number {
  return a.k - b.k || a.parity - b.parity;
}

export function checkKey(fn: string, k: unknown, parity: unknown): void {
  check(Number.isInteger(k) && (k as number) >= 0, fn, 'k', 'an integer >= 0', k);
  check(parity === 0 || parity === 1, fn, 'parity', '0 or 1', parity);
}

/**
 * Validates, normalises and sorts a signature; duplicate keys are an error.
 * @example
 * signature([[[1, 0], 2], { k: 0, parity: 0, channels: 1 }]);
 * // [{ k: 0, parity: 0, channels: 1 }, { k: 1, parity: 0, channels: 2 }]
 */
export function signature(entries: SignatureLike, fn = 'signature'): Signature {
  // configs read from files reach here: anything that is not a list of entries is a clear error
  check(Array.isArray(entries), fn, 'signature', 'a list of { k, parity, channels } entries', entries === null ? 'null' : typeof entries);
  const out = entries.map((e, i) => {
    const pair = Array.isArray(e) && e.length === 2 && Array.isArray(e[0]) && e[0].length === 2;
    check(
      pair || (e !== null && typeof e === 'object' && !Array.isArray(e)),
      fn,
      `signature entry ${i}`,
      'an object { k, parity, channels } or a pair [[k, parity], channels]',
      Array.isArray(e) ? `an array of length ${e.length}` : e === null ? 'null' : typeof e,
    );
    const [k, parity, channels] = Array.isArray(e)
      ? [e[0][0], e[0][1], e[1]]
      : [(e as SignatureEntry).k, (e as SignatureEntry).parity, (e as SignatureEntry).channels];
    checkKey(fn, k, parity);
    check(Number.isInteger(channels) && channels >= 1, fn, `channels of key (${k},${parity})`, 'an integer >= 1', channels);
    return Object.freeze({ k, parity: parity as 0 | 1, channels });
  });
  out.sort(compareKeys);
  out.forEach((e, i) => {
    if (i > 0 && compareKeys(e, out[i - 1]!) === 0) argError(fn, 'signature', 'without duplicate keys', `two entries for (${e.k},${e.parity})`);
  });
  return Object.freeze(out);
}

/**
 * Packed width of one pixel: Σ channels·D^k.
 * @example
 * signatureWidth(signature([[[0, 0], 1], [[1, 0], 2]]), 2); // 1 + 2·2 = 5
 */
export function signatureWidth(sig: Signature, D: number): number {
  return sig.reduce((w, e) => w + e.channels * D ** e.k, 0);
}

/** Offset of each key's block inside the packed channel axis. */
export function blockOffsets(sig: Signature, D: number): number[] {
  let off = 0;
  return sig.map((e) => {
    const o = off;
    off += e.channels * D ** e.k;
    return o;
  });
}

export function signatureToString(sig: Signature): string {
  return `{${sig.map((e) => `(${e.k},${e.parity}):${e.channels}`).join(', ')}}`;
}

/**
 * ginjax's tensor_name: scalar, pseudoscalar, vector, pseudovector, or "k-tensor (+/-)".
 * @example
 * tensorName(1, 1); // 'pseudovector'
 */
export function tensorName(k: number, parity: number): string {
  if (k === 0) return parity ? 'pseudoscalar' : 'scalar';
  if (k === 1) return parity ? 'pseudovector' : 'vector';
  return `${k}-tensor (${parity ? '-' : '+'})`;
}

/**
 * Whether two signatures are equal: the same keys with the same channel counts (both canonical).
 * @example
 * sameSignature(x.signature, y.signature);
 */
export function sameSignature(a: Signature, b: Signature): boolean {
  return a.length === b.length && a.every((e, i) => compareKeys(e, b[i]!) === 0 && e.channels === b[i]!.channels);
}

/**
 * The one signature check: throws `fn: arg must be {expected} (got {given})` unless they are equal.
 * @example
 * checkSignature('ConvContract', 'input signature', layer.input, x.signature);
 */
export function checkSignature(fn: string, arg: string, expected: Signature, given: Signature): void {
  if (!sameSignature(expected, given)) argError(fn, arg, signatureToString(expected), signatureToString(given));
}
