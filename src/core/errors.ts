/**
 * Argument errors. Every message names the function, the argument, what was expected and what was
 * given, so that a user can fix the call without reading our source.
 */

/** Formats a value for an error message: arrays as [a,b], strings quoted, the rest as String(). */
export function show(value: unknown): string {
  if (typeof value === 'string') return JSON.stringify(value);
  if (Array.isArray(value) || ArrayBuffer.isView(value)) {
    return `[${Array.from(value as ArrayLike<unknown>, show).join(',')}]`;
  }
  return String(value);
}

/** Throws `RangeError("fn: arg must be expected (got value)")`. */
export function argError(fn: string, arg: string, expected: string, got: unknown): never {
  throw new RangeError(`${fn}: ${arg} must be ${expected} (got ${show(got)})`);
}

/** Checks `cond`, else throws the `argError` message. */
export function check(cond: boolean, fn: string, arg: string, expected: string, got: unknown): asserts cond {
  if (!cond) argError(fn, arg, expected, got);
}

export function checkInt(fn: string, arg: string, value: unknown, min = 0): asserts value is number {
  check(Number.isInteger(value) && (value as number) >= min, fn, arg, `an integer >= ${min}`, value);
}
