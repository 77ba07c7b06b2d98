/**
 * Small helpers shared by the geometric suites: image builders, plain-JS (float64) reference
 * implementations of convolution and contraction, and relative-error checks.
 */
import { expect } from 'vitest';
import { random, tensor } from '../../../src/index.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { invariantFilters } from '../../../src/geometric/filters.js';
import { flat, shapeOf, values, type Nested } from '../../util.js';

export const arange = (n: number, start = 0): number[] => Array.from({ length: n }, (_, i) => start + i);

/** An image from a nested literal. */
export function img(data: Nested, parity: number, D: number, isTorus: boolean | readonly boolean[] = true): GeometricImage {
  return new GeometricImage(tensor(flat(data), shapeOf(data)), parity, D, isTorus);
}

/** An image of arange(prod(shape)) with `shape`. */
export function arangeImg(shape: readonly number[], parity: number, D: number, isTorus: boolean | readonly boolean[] = true): GeometricImage {
  const n = shape.reduce((p, d) => p * d, 1);
  return new GeometricImage(tensor(arange(n), shape), parity, D, isTorus);
}

/** Values of an image as a plain array (float64 on ref; −0 read as 0). */
export const vals = (im: GeometricImage): number[] => Array.from(values(im.data), (v) => v + 0);

/** A random image with entries uniform in [-1, 1). */
export function randImg(
  seed: number,
  spatial: readonly number[],
  k: number,
  parity: number,
  D: number,
  isTorus: boolean | readonly boolean[] = true,
): GeometricImage {
  const shape = [...spatial, ...new Array<number>(k).fill(D)];
  const n = shape.reduce((p, d) => p * d, 1);
  return new GeometricImage(tensor(random.uniform(random.key(seed), n, -1, 1), shape), parity, D, isTorus);
}

/** Asserts the image's metadata (and optionally its data). */
export function expectMeta(im: GeometricImage, m: { D?: number; k?: number; parity?: number; spatial?: number[]; isTorus?: boolean[] }): void {
  if (m.D !== undefined) expect(im.D).toBe(m.D);
  if (m.k !== undefined) expect(im.k).toBe(m.k);
  if (m.parity !== undefined) expect(im.parity).toBe(m.parity);
  if (m.spatial !== undefined) expect([...im.spatial]).toEqual(m.spatial);
  if (m.isTorus !== undefined) expect([...im.isTorus]).toEqual(m.isTorus);
}

/** max |a − b| / max(max |b|, floor): a relative error over the whole array. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>, floor = 1e-12): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = floor;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** Asserts that two images have the same metadata and data within a relative error. */
export function expectSameImage(a: GeometricImage, b: GeometricImage, tol = 1e-5, what = ''): void {
  expect({ D: a.D, k: a.k, parity: a.parity, spatial: [...a.spatial], isTorus: [...a.isTorus] }, what).toEqual({
    D: b.D,
    k: b.k,
    parity: b.parity,
    spatial: [...b.spatial],
    isTorus: [...b.isTorus],
  });
  const e = relErr(vals(a), vals(b));
  if (!(e <= tol)) throw new Error(`${what}: relative error ${e.toExponential(3)} > ${tol}`);
}

/** A random linear combination of all invariant filters of (D, M, k, parity), or null if there are none. */
export function randomInvariantFilter(seed: number, D: number, M: number, k: number, parity: number): GeometricImage | null {
  const set = invariantFilters(D, M, k, parity);
  if (set.count === 0) return null;
  const coef = random.uniform(random.key(seed), set.count, 0.5, 1.5);
  const size = set.filters[0]!.length;
  const out = new Float64Array(size);
  set.filters.forEach((f, i) => {
    for (let j = 0; j < size; j++) out[j]! += coef[i]! * f[j]!;
  });
  return new GeometricImage(tensor(out, set.shape), parity, D);
}

/** The i-th invariant filter as a GeometricImage. */
export function invariantFilterImage(D: number, M: number, k: number, parity: number, i: number): GeometricImage {
  const set = invariantFilters(D, M, k, parity);
  return new GeometricImage(tensor(set.filters[i]!, set.shape), parity, D);
}

const strides = (shape: readonly number[]): number[] => {
  const s = new Array<number>(shape.length);
  let acc = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    s[i] = acc;
    acc *= shape[i]!;
  }
  return s;
};

/** All multi-indices of `shape`, row-major. */
export function* indices(shape: readonly number[]): Generator<number[]> {
  const n = shape.reduce((p, d) => p * d, 1);
  const c = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < n; i++) {
    yield c.slice();
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++c[d]! < shape[d]!) break;
      c[d] = 0;
    }
  }
}

export interface NaiveConvOptions {
  /** 'TORUS' | 'SAME' | 'VALID' or explicit [lo, hi] per axis (zero padding). */
  padding?: 'TORUS' | 'SAME' | 'VALID' | readonly (readonly [number, number])[];
  rhsDilation?: number;
  stride?: number;
}

/**
 * ginjax convolve by its definition (§2.7): out[x]_{i..j..} = Σ_a Ã[s·x + δ·a − lo]_{i..} C[a]_{j..},
 * torus axes wrapped, the rest zero-padded. Plain float64 loops.
 */
export function naiveConvolve(image: GeometricImage, filter: GeometricImage, o: NaiveConvOptions = {}): { data: number[]; shape: number[] } {
  const D = image.D;
  const N = [...image.spatial];
  const M = filter.spatial[0]!;
  const dil = o.rhsDilation ?? 1;
  const s = o.stride ?? 1;
  const mode = o.padding ?? (image.isTorus.some(Boolean) ? 'TORUS' : 'SAME');
  const m = ((M - 1) / 2) * dil;
  const pads: [number, number][] =
    mode === 'TORUS' || mode === 'SAME' ? N.map(() => [m, m]) : mode === 'VALID' ? N.map(() => [0, 0]) : mode.map((p) => [p[0], p[1]]);
  const torus = mode === 'TORUS' ? [...image.isTorus] : N.map(() => false);
  const outSpatial = N.map((n, i) => Math.floor((n + pads[i]![0] + pads[i]![1] - dil * (M - 1) - 1) / s) + 1);
  const T = D ** image.k;
  const Tf = D ** filter.k;
  const A = vals(image);
  const C = vals(filter);
  const aStr = strides(N);
  const fStr = strides(new Array<number>(D).fill(M));
  const out: number[] = [];
  for (const x of indices(outSpatial)) {
    const acc = new Array<number>(T * Tf).fill(0);
    for (const a of indices(new Array<number>(D).fill(M))) {
      let src = 0;
      let inside = true;
      for (let i = 0; i < D; i++) {
        let c = s * x[i]! + dil * a[i]! - pads[i]![0];
        if (torus[i]) c = ((c % N[i]!) + N[i]!) % N[i]!;
        else if (c < 0 || c >= N[i]!) inside = false;
        src += c * aStr[i]!;
      }
      if (!inside) continue;
      let fa = 0;
      for (let i = 0; i < D; i++) fa += a[i]! * fStr[i]!;
      for (let t = 0; t < T; t++) for (let u = 0; u < Tf; u++) acc[t * Tf + u]! += A[src * T + t]! * C[fa * Tf + u]!;
    }
    out.push(...acc);
  }
  return { data: out, shape: [...outSpatial, ...new Array<number>(image.k + filter.k).fill(D)] };
}

/** Trace of one pair (i, j) of tensor axes of flat per-pixel data; remaining axes keep their order. */
export function naiveContract(data: ArrayLike<number>, P: number, D: number, k: number, i: number, j: number): number[] {
  const tShape = new Array<number>(k).fill(D);
  const st = strides(tShape);
  const T = D ** k;
  const rest = arange(k).filter((a) => a !== i && a !== j);
  const out: number[] = [];
  for (let p = 0; p < P; p++) {
    for (const r of indices(new Array<number>(rest.length).fill(D))) {
      let sum = 0;
      for (let d = 0; d < D; d++) {
        let f = d * (st[i]! + st[j]!);
        rest.forEach((axis, t) => (f += r[t]! * st[axis]!));
        sum += data[p * T + f]!;
      }
      out.push(sum);
    }
  }
  return out;
}
