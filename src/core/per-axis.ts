/**
 * The one normaliser of per-axis options (sizes, strides, dilations, torus flags): a single value
 * stands for every axis, a list gives one per axis. Convolutions, images and layers all read their
 * per-axis arguments through these, so the accepted forms and the error text are the same everywhere.
 */
import { check } from './errors.js';

/** Options of `perAxis`. */
export interface PerAxisOptions {
  /** Used for every axis when the value is undefined; without it undefined is an error. */
  readonly dflt?: number;
  /** Smallest allowed value (default 1). */
  readonly min?: number;
  /** How one value is described in the error (default `an integer >= min`). */
  readonly what?: string;
}

/**
 * D integers from `v` (one for all axes, or D of them), each an integer >= min.
 * @example
 * perAxis('conv', 'stride', 2, 3); // [2, 2, 2]
 * perAxis('conv', 'stride', undefined, 2, { dflt: 1 }); // [1, 1]
 */
export function perAxis(fn: string, name: string, v: unknown, D: number, o: PerAxisOptions = {}): number[] {
  const min = o.min ?? 1;
  const out =
    v === undefined && o.dflt !== undefined
      ? new Array<number>(D).fill(o.dflt)
      : typeof v === 'number'
        ? new Array<number>(D).fill(v)
        : Array.isArray(v)
          ? [...(v as unknown[])]
          : null;
  check(
    out !== null && out.length === D && out.every((e) => Number.isInteger(e) && (e as number) >= min),
    fn,
    name,
    `${o.what ?? `an integer >= ${min}`} or ${D} of them`,
    v,
  );
  return out as number[];
}

/**
 * D booleans from `v` (one flag for all axes, or D of them); `dflt` when v is undefined and a default is given.
 * @example
 * perAxisFlags('GeometricImage', 'isTorus', true, 2); // [true, true]
 */
export function perAxisFlags(fn: string, name: string, v: unknown, D: number, dflt?: boolean): boolean[] {
  const out =
    v === undefined && dflt !== undefined
      ? new Array<boolean>(D).fill(dflt)
      : typeof v === 'boolean'
        ? new Array<boolean>(D).fill(v)
        : Array.isArray(v)
          ? [...(v as unknown[])]
          : null;
  check(out !== null && out.length === D && out.every((f) => typeof f === 'boolean'), fn, name, `a boolean or ${D} booleans`, v);
  return out as boolean[];
}
