/**
 * Helpers of the layer suites: random MultiImages and parameters in float64 (ref), the equivariance
 * check over every group element, and a gradcheck over a module's parameter tree.
 */
import { random, tensor, tidy, type Tensor } from '../../../src/index.js';
import { treeLeaves, treeMap } from '../../../src/autodiff.js';
import { operators } from '../../../src/geometric/group.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { signature, signatureWidth, type SignatureLike } from '../../../src/geometric/signature.js';
import type { Module, Params } from '../../../src/nn/module.js';
import { gradcheck, values } from '../../util.js';

/** Uniform [lo, hi) doubles from a seed (not rounded to float32). */
export function uniform64(seed: number, n: number, lo = -1, hi = 1): Float64Array {
  const k = random.key(seed);
  const [a, b] = random.split(k) as [random.Key, random.Key];
  const u = random.uniform(a, n);
  const v = random.uniform(b, n);
  return Float64Array.from(u, (x, i) => lo + (hi - lo) * (x + v[i]! / 16777216));
}

/** A random MultiImage (float64 data on ref). */
export function randomMulti(
  seed: number,
  sig: SignatureLike,
  D: number,
  spatial: number | readonly number[],
  batch = 2,
  isTorus: boolean | readonly boolean[] = true,
  lo = -1,
  hi = 1,
): MultiImage {
  const s = signature(sig);
  const sp = typeof spatial === 'number' ? new Array<number>(D).fill(spatial) : [...spatial];
  const shape = [batch, ...sp, signatureWidth(s, D)];
  return new MultiImage(
    tensor(
      uniform64(
        seed,
        shape.reduce((p, d) => p * d, 1),
        lo,
        hi,
      ),
      shape,
    ),
    s,
    D,
    isTorus,
  );
}

/** A copy of `params` with every leaf replaced by uniform [lo, hi) doubles (a random, non-init point). */
export function randomParams(params: Params, seed: number, lo = -1, hi = 1): Params {
  let i = 0;
  return treeMap(params, (t) => tensor(uniform64(seed + 1000 * i++, t.size, lo, hi), t.shape));
}

export function disposeTree(tree: unknown): void {
  for (const t of treeLeaves(tree)) t.dispose();
}

/** max |a − b| / max |b|. */
export function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  if (a.length !== b.length) throw new Error(`relErr: lengths ${a.length} and ${b.length} differ`);
  let num = 0;
  let den = 1e-300;
  for (let i = 0; i < a.length; i++) {
    num = Math.max(num, Math.abs(a[i]! - b[i]!));
    den = Math.max(den, Math.abs(b[i]!));
  }
  return num / den;
}

/** The largest, over every group element g, relative error between layer(g·x) and g·layer(x). */
export function equivarianceErrors(layer: Module, params: Params, x: MultiImage): number[] {
  return tidy(() => {
    const y = layer.apply(params, x);
    return operators(x.D).map((g) =>
      tidy(() => {
        const a = layer.apply(params, x.timesGroupElement(g));
        const b = y.timesGroupElement(g);
        if (JSON.stringify(a.signature) !== JSON.stringify(b.signature) || JSON.stringify(a.data.shape) !== JSON.stringify(b.data.shape)) {
          throw new Error(`equivariance: layer(g·x) is ${a} but g·layer(x) is ${b}`);
        }
        return relErr(values(a.data), values(b.data));
      }),
    );
  });
}

/** Finite-difference check of d(layer(params, x))/d(params) (every leaf). */
export function gradcheckParams(layer: Module, params: Params, x: MultiImage, options: { rtol?: number; atol?: number; eps?: number } = {}): void {
  const leaves = treeLeaves(params);
  const rebuild = (ls: readonly Tensor[]): Params => {
    let i = 0;
    return treeMap(params, () => ls[i++]!);
  };
  gradcheck((...ls) => layer.apply(rebuild(ls), x).data, leaves, options);
}

/** Finite-difference check of d(layer(params, x))/dx. */
export function gradcheckInput(layer: Module, params: Params, x: MultiImage, options: { rtol?: number; atol?: number; eps?: number } = {}): void {
  gradcheck((d) => layer.apply(params, new MultiImage(d, x.signature, x.D, x.isTorus)).data, [x.data], options);
}

/** Every key type (k ≤ 2, both parities) with `c` channels each. */
export const allKeys = (c: number): SignatureLike => [
  [[0, 0], c],
  [[0, 1], c],
  [[1, 0], c],
  [[1, 1], c],
  [[2, 0], c],
  [[2, 1], c],
];
