/**
 * Geometric operations on tensors in ginjax's layout `[...lead, ...spatial(D), ...(D,)*k]`, composed
 * from primitives (so every one is differentiable and runs on every backend). GeometricImage and
 * MultiImage are thin, typed wrappers over these.
 */
import { argError, check } from '../core/errors.js';
import { perAxis } from '../core/per-axis.js';
import { sizeOf, stridesOf, type Shape } from '../core/shape.js';
import { mul, scale } from '../ops/binary.js';
import { conv } from '../ops/conv.js';
import { gather, indexMap, memoIndex, permute, slice } from '../ops/gather.js';
import { upsample } from '../ops/strided.js';
import type { ConvAttrs } from '../ops/op.js';
import { argmaxPool } from '../ops/pool.js';
import { sum } from '../ops/reduce.js';
import { abs, sqrt, square } from '../ops/unary.js';
import { concat } from '../ops/concat.js';
import { tensor, tidy, type Tensor } from '../tensor.js';
import { actionMap, leviCivita, type GroupElement } from './group.js';
import { blockOffsets, signatureToString, signatureWidth, type Signature } from './signature.js';

/**
 * Splits a shape into (lead, spatial, tensor) for D and k, validating the tensor axes.
 * @example
 * geometric.splitShape('myFn', [4, 1, 8, 8, 2], 2, 1, 2); // { lead: [4, 1], spatial: [8, 8], tensor: [2] }
 */
export function splitShape(fn: string, shape: Shape, D: number, k: number, nLead?: number): { lead: number[]; spatial: number[]; tensor: number[] } {
  const lead = nLead ?? shape.length - D - k;
  check(
    lead >= 0 && shape.length === lead + D + k,
    fn,
    'data shape',
    `of rank ${nLead === undefined ? `>= ${D + k}` : lead + D + k} (lead + D=${D} spatial + k=${k} tensor axes)`,
    shape,
  );
  const tensorAxes = shape.slice(lead + D);
  if (tensorAxes.some((d) => d !== D)) argError(fn, 'tensor axes', `all of length D=${D}`, shape);
  return { lead: shape.slice(0, lead), spatial: shape.slice(lead, lead + D), tensor: tensorAxes };
}

const tensorShape = (D: number, k: number) => new Array<number>(k).fill(D);

// ---------------------------------------------------------------------------------------------
// Pixelwise tensor algebra

/**
 * Pixelwise tensor (outer) product: a's indices first, then b's. Leading/spatial axes broadcast.
 * @example
 * const vv = geometric.tensorProduct(v, 1, w, 1, 2); // two vector fields [8, 8, 2] → a 2-tensor field [8, 8, 2, 2]
 */
export function tensorProduct(a: Tensor, ka: number, b: Tensor, kb: number, D: number): Tensor {
  return tidy(() => {
    const pa = a.shape.slice(0, a.shape.length - ka);
    const pb = b.shape.slice(0, b.shape.length - kb);
    const out = mul(a.reshape([...pa, D ** ka, 1]), b.reshape([...pb, 1, D ** kb]));
    return out.reshape([...out.shape.slice(0, -2), ...tensorShape(D, ka + kb)]);
  });
}

/**
 * Traces over pairs of tensor indices (ginjax multicontract): the remaining indices keep their
 * order. Implemented as a gather of the diagonals followed by a sum.
 * @example
 * const trace = geometric.multicontract(t, 2, 2, [[0, 1]]); // [8, 8, 2, 2] → [8, 8]
 */
export function multicontract(x: Tensor, D: number, k: number, pairs: readonly (readonly [number, number])[]): Tensor {
  const used = pairs.flat();
  check(
    used.every((i) => Number.isInteger(i) && i >= 0 && i < k) && new Set(used).size === used.length,
    'multicontract',
    'indices',
    `distinct tensor indices in [0, ${k})`,
    pairs.map((p) => `(${p})`),
  );
  const prefix = x.shape.slice(0, x.shape.length - k);
  const rest = [...Array(k).keys()].filter((i) => !used.includes(i));
  const tStrides = stridesOf(tensorShape(D, k));
  const nRest = D ** rest.length;
  const nDiag = D ** pairs.length;
  // pattern[r * nDiag + d]: flat tensor index of rest combo r and diagonal combo d.
  const pattern = memoIndex(`contract ${D} ${k} | ${pairs.map((p) => p.join(' '))}`, () =>
    indexMap([nRest, nDiag], ([r, d]) => {
      let flat = 0;
      rest.forEach((axis, t) => (flat += (Math.floor(r! / D ** (rest.length - 1 - t)) % D) * tStrides[axis]!));
      pairs.forEach(([i, j], t) => {
        const v = Math.floor(d! / D ** (pairs.length - 1 - t)) % D;
        flat += v * (tStrides[i]! + tStrides[j]!);
      });
      return flat;
    }),
  );
  return tidy(() => {
    const g = gather(x, [...prefix, nRest, nDiag], pattern, sizeOf(prefix));
    return sum(g, [g.shape.length - 1]).reshape([...prefix, ...tensorShape(D, rest.length)]);
  });
}

/**
 * Levi-Civita contraction (ginjax): x ⊗ ε_D, then tensor index indices[t] contracted with ε's t-th
 * index. k' = k − D + 2; the caller adds 1 to the parity.
 * @example
 * const perp = geometric.leviCivitaContract(v, 2, 1, [0]); // a vector field → its perpendicular (a pseudovector field)
 */
export function leviCivitaContract(x: Tensor, D: number, k: number, indices: readonly number[]): Tensor {
  check(k >= D - 1, 'leviCivitaContract', 'k', `>= D-1 = ${D - 1}`, k);
  check(indices.length === D - 1, 'leviCivitaContract', 'indices', `${D - 1} tensor indices`, indices);
  return tidy(() => {
    const eps = tensor(leviCivita(D), tensorShape(D, D), x.backend);
    const prod = tensorProduct(x, k, eps, D, D);
    return multicontract(
      prod,
      D,
      k + D,
      indices.map((i, t) => [i, k + t] as const),
    );
  });
}

/**
 * Permutes the k tensor indices only.
 * @example
 * const tT = geometric.transposeTensor(t, 2, [1, 0]); // swaps a 2-tensor's indices
 */
export function transposeTensor(x: Tensor, k: number, perm: readonly number[]): Tensor {
  const n = x.shape.length - k;
  check(perm.length === k && [...perm].sort((a, b) => a - b).every((p, i) => p === i), 'transpose', 'axes', `a permutation of 0..${k - 1}`, perm);
  return permute(x, [...Array(n).keys(), ...perm.map((p) => p + n)]);
}

/**
 * Frobenius norm of each pixel tensor (|x| for scalars); the k tensor axes are dropped.
 * @example
 * const n = geometric.pixelNorm(v, 1); // [8, 8, 2] → [8, 8]
 */
export function pixelNorm(x: Tensor, k: number): Tensor {
  if (k === 0) return abs(x);
  return tidy(() =>
    sqrt(
      sum(
        square(x),
        [...Array(k).keys()].map((i) => x.shape.length - k + i),
      ),
    ),
  );
}

// ---------------------------------------------------------------------------------------------
// Group action

/**
 * g·x for data [...lead, ...spatial, (D,)*k] (one key, one channel): a view of `packedGroupAction`.
 * @example
 * const turned = geometric.groupAction(v, 2, 1, 0, groupElement(2, 'rot90'));
 */
export function groupAction(x: Tensor, D: number, k: number, parity: number, g: GroupElement): Tensor {
  const { lead, spatial } = splitShape('timesGroupElement', x.shape, D, k);
  return tidy(() => {
    const y = packedGroupAction(x.reshape([sizeOf(lead), ...spatial, D ** k]), D, [{ k, parity: parity % 2 ? 1 : 0, channels: 1 }], g);
    return y.reshape([...lead, ...y.shape.slice(1, 1 + D), ...tensorShape(D, k)]);
  });
}

/**
 * g·x on packed data [B, ...spatial, Σ channels·D^k] of signature `sig` (MultiImage's storage; a
 * GeometricImage is the case B = 1, one key, one channel): ONE signed gather over every key. The map
 * and its signs are memoised per (g, spatial shape, signature): GroupAverage applies every element on
 * every call, and the backends' device caches then find the same map again.
 * @example
 * const turned = geometric.packedGroupAction(x.data, 2, x.signature, groupElement(2, 'rot90'));
 */
export function packedGroupAction(x: Tensor, D: number, sig: Signature, g: GroupElement): Tensor {
  check(g.D === D, 'timesGroupElement', 'group element D', `${D}`, g.D);
  const spatial = x.shape.slice(1, 1 + D);
  const W = signatureWidth(sig, D);
  if (x.shape.length !== D + 2 || x.shape[D + 1] !== W)
    argError('timesGroupElement', 'data shape', `[batch, ...${D} spatial, ${W}] for signature ${signatureToString(sig)}`, x.shape);
  const key = `action ${g.D} ${g.index} | ${spatial} | ${signatureToString(sig)}`;
  let built: { pixel: Int32Array; sign: Float32Array } | undefined;
  const build = () => (built ??= packedActionMap(g, spatial, sig));
  const pixel = memoIndex(key, () => build().pixel);
  const sign = memoIndex(`${key} signs`, () => build().sign);
  const outSpatial = actionMap(g, spatial, 0, 0).outSpatial;
  const B = x.shape[0]!;
  return tidy(() => {
    const moved = gather(x, [B, ...outSpatial, W], pixel, B);
    return sign.length === 0 ? moved : mul(moved, tensor(sign, [...outSpatial, W], x.backend));
  });
}

/** The action of g on one packed image [...spatial, W]: source (pixel·W + column) and sign per output; no signs when all are +1. */
function packedActionMap(g: GroupElement, spatial: readonly number[], sig: Signature): { pixel: Int32Array; sign: Float32Array } {
  const D = g.D;
  const P = sizeOf(spatial);
  const W = signatureWidth(sig, D);
  const offsets = blockOffsets(sig, D);
  const pixel = new Int32Array(P * W);
  const sign = new Float32Array(P * W);
  sig.forEach((e, idx) => {
    const T = D ** e.k;
    const map = actionMap(g, spatial, e.k, e.parity);
    for (let p = 0; p < P; p++) {
      for (let t = 0; t < T; t++) {
        const src = map.index[p * T + t]!;
        const sp = Math.floor(src / T);
        const st = src % T;
        for (let c = 0; c < e.channels; c++) {
          const col = offsets[idx]! + c * T;
          pixel[p * W + col + t] = sp * W + col + st;
          sign[p * W + col + t] = map.sign[p * T + t]!;
        }
      }
    }
  });
  return { pixel, sign: sign.every((v) => v === 1) ? new Float32Array(0) : sign };
}

/**
 * The torus flags after g: output axis i walks the input axis j where row i of g's matrix has its
 * nonzero entry (for non-square images the spatial axes permute, and their flags with them).
 * @example
 * geometric.actedTorus([true, false], groupElement(2, 'rot90')); // [false, true]
 */
export function actedTorus(isTorus: readonly boolean[], g: GroupElement): boolean[] {
  const D = g.D;
  check(isTorus.length === D, 'timesGroupElement', 'isTorus', `${D} booleans`, isTorus);
  return isTorus.map((_, i) => isTorus[g.matrix.slice(i * D, (i + 1) * D).findIndex((v) => v !== 0)]!);
}

// ---------------------------------------------------------------------------------------------
// Convolution (ginjax semantics: cross-correlation over centred taps, image indices first)

/**
 * Padding of a convolution: 'TORUS' (periodic), 'SAME' / 'VALID' / a width (zeros), or explicit (before, after) pairs per axis.
 */
export type Padding = 'TORUS' | 'SAME' | 'VALID' | number | readonly (readonly [number, number])[];

/** Options of the geometric convolutions: stride, padding, dilations. */
export interface ConvolveOptions {
  stride?: number | readonly number[];
  /** Default: 'TORUS' if any axis is a torus, else 'SAME' (ginjax). */
  padding?: Padding;
  lhsDilation?: number | readonly number[];
  rhsDilation?: number | readonly number[];
}

/**
 * Resolves ginjax padding modes into conv attributes for filters of side M.
 * @example
 * const attrs = geometric.resolveConv('myFn', 2, 3, [true, true], { padding: 'TORUS' });
 */
export function resolveConv(fn: string, D: number, M: number, isTorus: readonly boolean[], o: ConvolveOptions = {}): ConvAttrs {
  const stride = perAxis(fn, 'stride', o.stride, D, { dflt: 1 });
  const rhsDilation = perAxis(fn, 'rhsDilation', o.rhsDilation, D, { dflt: 1 });
  const lhsDilation = perAxis(fn, 'lhsDilation', o.lhsDilation, D, { dflt: 1 });
  const mode = o.padding ?? (isTorus.some(Boolean) ? 'TORUS' : 'SAME');
  let padding: [number, number][];
  let torus = new Array<boolean>(D).fill(false);
  if (mode === 'TORUS' || mode === 'SAME') {
    if (M % 2 === 0) argError(fn, 'filter side M', `odd with padding ${mode} (use explicit padding for even filters)`, M);
    padding = rhsDilation.map((r) => [((M - 1) / 2) * r, ((M - 1) / 2) * r]);
    if (mode === 'TORUS') torus = [...isTorus];
  } else if (mode === 'VALID') {
    padding = new Array(D).fill(0).map(() => [0, 0]);
  } else if (typeof mode === 'number') {
    check(Number.isInteger(mode) && mode >= 0, fn, 'padding', 'an integer >= 0', mode);
    padding = new Array(D).fill(0).map(() => [mode, mode]);
  } else if (Array.isArray(mode)) {
    const pairs = mode as readonly (readonly number[])[];
    check(
      pairs.length === D && pairs.every((p) => p.length === 2 && p.every((e) => Number.isInteger(e) && e >= 0)),
      fn,
      'padding',
      `${D} pairs [lo, hi]`,
      pairs.map((p) => `[${p}]`),
    );
    padding = pairs.map((p) => [p[0]!, p[1]!]);
  } else {
    return argError(fn, 'padding', '"TORUS", "SAME", "VALID", an integer or [lo, hi] pairs', mode);
  }
  return { kernel: new Array(D).fill(M), stride, padding, torus, rhsDilation, lhsDilation };
}

/**
 * ginjax's layout → packed channels-last: [B, C, ...spatial, (D,)*k] → [B, ...spatial, C·D^k], channel-major
 * then tensor component (a free reshape when C = 1). The one conversion into MultiImage's storage and
 * the convolutions' input layout.
 * @example
 * const p = geometric.toPacked(vectors, 2); // [4, 3, 8, 8, 2] → [4, 8, 8, 6]
 */
export function toPacked(x: Tensor, D: number): Tensor {
  check(x.shape.length >= 2 + D, 'toPacked', 'data shape', `[batch, channels, ...${D} spatial, (D,)*k]`, x.shape);
  const [B, C] = x.shape as [number, number];
  const T = sizeOf(x.shape.slice(2 + D));
  const spatial = x.shape.slice(2, 2 + D);
  if (C === 1) return x.reshape([B, ...spatial, T]);
  return tidy(() => permute(x.reshape([B, C, ...spatial, T]), [0, ...spatial.map((_, i) => i + 2), 1, D + 2]).reshape([B, ...spatial, C * T]));
}

/**
 * Packed channels-last → ginjax's layout: [B, ...spatial, C·D^k] → [B, C, ...spatial, (D,)*k] (the
 * inverse of `toPacked`; a free reshape when C = 1).
 * @example
 * const v = geometric.fromPacked(p, 2, 3, 1); // [4, 8, 8, 6] → [4, 3, 8, 8, 2]
 */
export function fromPacked(y: Tensor, D: number, C: number, k: number): Tensor {
  const T = D ** k;
  if (y.shape.length !== D + 2 || y.shape[D + 1] !== C * T) argError('fromPacked', 'data shape', `[batch, ...${D} spatial, ${C}·${T}]`, y.shape);
  const [B] = y.shape as [number];
  const spatial = y.shape.slice(1, 1 + D);
  const out = [B, C, ...spatial, ...tensorShape(D, k)];
  if (C === 1) return y.reshape(out);
  return tidy(() => permute(y.reshape([B, ...spatial, C, T]), [0, D + 1, ...spatial.map((_, i) => i + 1), D + 2]).reshape(out));
}

interface ConvGeometry {
  B: number;
  C: number;
  O: number;
  M: number;
  taps: number;
  attrs: ConvAttrs;
}

function convGeometry(fn: string, x: Tensor, f: Tensor, D: number, k: number, kf: number, isTorus: readonly boolean[], o: ConvolveOptions): ConvGeometry {
  check(D === 2 || D === 3, fn, 'D', '2 or 3', D);
  const xs = splitShape(fn, x.shape, D, k, 2);
  const fs = splitShape(fn, f.shape, D, kf, 2);
  const M = fs.spatial[0]!;
  if (fs.spatial.some((m) => m !== M)) argError(fn, 'filter spatial shape', 'square (M,)*D', fs.spatial);
  if (fs.lead[1] !== xs.lead[1]) argError(fn, 'filter in-channels', `${xs.lead[1]} (the image channels)`, fs.lead[1]);
  check(isTorus.length === D, fn, 'isTorus', `${D} booleans`, isTorus);
  return { B: xs.lead[0]!, C: xs.lead[1]!, O: fs.lead[0]!, M, taps: M ** D, attrs: resolveConv(fn, D, M, isTorus, o) };
}

/**
 * ginjax convolve: x [B, C, ...spatial, (D,)*k] ⋆ f [O, C, (M,)*D, (D,)*k'] -> [B, O, ...out, (D,)*(k+k')],
 * image indices first. One dense convolution whose filter is δ_{ii'}·f (block-diagonal in the image's
 * tensor components).
 * @example
 * // x [1, 1, 8, 8] scalars, f [1, 1, 3, 3, 2] a vector filter → [1, 1, 8, 8, 2]
 * const y = geometric.convolve(x, f, 2, 0, 1, [true, true]);
 */
export function convolve(x: Tensor, f: Tensor, D: number, k: number, kf: number, isTorus: readonly boolean[], o: ConvolveOptions = {}): Tensor {
  const { C, O, taps, attrs } = convGeometry('convolve', x, f, D, k, kf, isTorus, o);
  const T = D ** k;
  const Tf = D ** kf;
  // dense[a, (c,i), (o,i2,j)] = (i == i2) ? f[o, c, a, j] : 0
  const index = indexMap([taps, C, T, O, T, Tf], ([a, c, i, oc, i2, j]) => (i === i2 ? ((oc! * C + c!) * taps + a!) * Tf + j! : -1));
  return tidy(() => {
    const dense = gather(f, [taps, C * T, O * T * Tf], index);
    return fromPacked(conv(toPacked(x, D), dense, attrs), D, O, k + kf);
  });
}

/**
 * ginjax convolve_contract: x [B, C, ...spatial, (D,)*k] with f [O, C, (M,)*D, (D,)*(k+k')]: image
 * index t is contracted with filter index t -> [B, O, ...out, (D,)*k']. The dense filter is a pure
 * permutation of f.
 * @example
 * // x [1, 1, 8, 8, 2] vectors, f [1, 1, 3, 3, 2] a vector filter → [1, 1, 8, 8] scalars
 * const y = geometric.convolveContract(x, f, 2, 1, 1, [true, true]);
 */
export function convolveContract(x: Tensor, f: Tensor, D: number, k: number, kf: number, isTorus: readonly boolean[], o: ConvolveOptions = {}): Tensor {
  check(kf >= k, 'convolveContract', 'filter order', `>= the image order k=${k}`, kf);
  const { C, O, taps, attrs } = convGeometry('convolveContract', x, f, D, k, kf, isTorus, o);
  const T = D ** k;
  const Tr = D ** (kf - k);
  return tidy(() => {
    const dense = permute(f.reshape([O, C, taps, T, Tr]), [2, 1, 3, 0, 4]).reshape([taps, C * T, O * Tr]);
    return fromPacked(conv(toPacked(x, D), dense, attrs), D, O, kf - k);
  });
}

// ---------------------------------------------------------------------------------------------
// Pooling and upsampling on [...lead, ...spatial, (D,)*k]

/**
 * Validates a pooling patch: an integer >= 1 dividing every spatial size.
 * @example
 * geometric.checkPatch('myPool', [8, 8], 3); // throws: 8 is not a multiple of 3
 */
export function checkPatch(fn: string, spatial: readonly number[], p: number): void {
  check(Number.isInteger(p) && p >= 1, fn, 'patch', 'an integer >= 1', p);
  spatial.forEach((n, i) => {
    if (n % p !== 0) argError(fn, `spatial size on axis ${i}`, `divisible by the patch ${p}`, n);
  });
}

/** [...lead, ...spatial, (D,)*k] viewed as packed [L, ...spatial, D^k] (one key, one channel per lead index). */
function asPacked(fn: string, x: Tensor, D: number, k: number): { lead: number[]; packed: Tensor } {
  const { lead, spatial } = splitShape(fn, x.shape, D, k);
  return { lead, packed: x.reshape([sizeOf(lead), ...spatial, D ** k]) };
}

/** Packed [L, ...spatial', W] back to [...lead, ...spatial', (D,)*k]. */
const fromLead = (y: Tensor, lead: readonly number[], D: number, k: number): Tensor => y.reshape([...lead, ...y.shape.slice(1, 1 + D), ...tensorShape(D, k)]);

/**
 * Mean over non-overlapping p^D patches (ginjax average_pool): a view of `packedAveragePool`.
 * @example
 * const y = geometric.averagePool(v, 2, 1, 2); // [8, 8, 2] → [4, 4, 2]
 */
export function averagePool(x: Tensor, D: number, k: number, p: number): Tensor {
  return tidy(() => {
    const { lead, packed } = asPacked('averagePool', x, D, k);
    return fromLead(packedAveragePool(packed, D, p), lead, D, k);
  });
}

/**
 * Max pool by comparator (ginjax max_pool): in each p^D patch, the whole pixel tensor where the
 * comparator (the pixel norm if useNorm, else the raw value; scalars only) is largest, first maximum
 * in row-major order. A view of `packedMaxPool`.
 * @example
 * const y = geometric.maxPool(v, 2, 1, 2); // each 2×2 window keeps its vector of largest norm
 */
export function maxPool(x: Tensor, D: number, k: number, p: number, useNorm = true): Tensor {
  return tidy(() => {
    const { lead, packed } = asPacked('maxPool', x, D, k);
    return fromLead(packedMaxPool(packed, D, [{ k, parity: 0, channels: 1 }], p, useNorm), lead, D, k);
  });
}

/**
 * Nearest-neighbour upsampling: every pixel becomes a p^D block. A view of `packedUnpool`.
 * @example
 * const y = geometric.unpool(v, 2, 1, 2); // [4, 4, 2] → [8, 8, 2]
 */
export function unpool(x: Tensor, D: number, k: number, p: number): Tensor {
  return tidy(() => {
    const { lead, packed } = asPacked('unpool', x, D, k);
    return fromLead(packedUnpool(packed, D, p), lead, D, k);
  });
}

/** The spatial axes 1..D of packed data [B, ...spatial, W], checked against `patch`. */
function packedSpatial(fn: string, x: Tensor, D: number, patch: number, divisible: boolean): number[] {
  if (x.shape.length !== D + 2) argError(fn, 'data shape', `[batch, ...${D} spatial, width]`, x.shape);
  const spatial = x.shape.slice(1, 1 + D);
  if (divisible) checkPatch(fn, spatial, patch);
  else check(Number.isInteger(patch) && patch >= 1, fn, 'patch', 'an integer >= 1', patch);
  return spatial;
}

/**
 * Mean over non-overlapping p^D patches of packed data [B, ...spatial, W] (every key alike).
 * @example
 * const y = geometric.packedAveragePool(x.data, 2, 2); // [1, 8, 8, 5] → [1, 4, 4, 5]
 */
export function packedAveragePool(x: Tensor, D: number, p: number): Tensor {
  const spatial = packedSpatial('averagePool', x, D, p, true);
  return tidy(() => {
    const r = x.reshape([x.shape[0]!, ...spatial.flatMap((n) => [n / p, p]), x.shape[D + 1]!]);
    return scale(
      sum(
        r,
        spatial.map((_, i) => 2 + 2 * i),
      ),
      1 / p ** D,
    );
  });
}

/**
 * Max-norm pool of packed data [B, ...spatial, Σ channels·D^k] of signature `sig`: per key and
 * channel, the whole tensor at the first largest pixel norm of each p^D window (|x| for scalars), or
 * by raw value when useNorm is false (scalar keys only). A NaN (in any component, so in the norm)
 * wins its window, as with jnp.argmax: NaNs are passed on, never hidden.
 * @example
 * const y = geometric.packedMaxPool(x.data, 2, x.signature, 2); // MultiImage.maxPool's data
 */
export function packedMaxPool(x: Tensor, D: number, sig: Signature, p: number, useNorm = true): Tensor {
  if (!useNorm && sig.some((e) => e.k !== 0)) argError('maxPool', 'useNorm', 'true when the image has non-scalar keys', useNorm);
  const spatial = packedSpatial('maxPool', x, D, p, true);
  const B = x.shape[0]!;
  const W = signatureWidth(sig, D);
  if (x.shape[D + 1] !== W) argError('maxPool', 'data width', `${W} for signature ${signatureToString(sig)}`, x.shape[D + 1]);
  const offsets = blockOffsets(sig, D);
  return tidy(() => {
    const parts = sig.map((e, i) => {
      const T = D ** e.k;
      const b = sig.length === 1 ? x : slice(x, D + 1, offsets[i]!, e.channels * T);
      const byChannel = b.reshape([B, ...spatial, e.channels, T]);
      const c = !useNorm ? b : e.k === 0 ? abs(b) : pixelNorm(byChannel, 1);
      return argmaxPool(b, c.reshape([B, ...spatial, e.channels]), p, T);
    });
    return parts.length === 1 ? parts[0]! : concat(parts, D + 1);
  });
}

/**
 * Nearest-neighbour upsampling of packed data [B, ...spatial, W]: every pixel becomes a p^D block.
 * @example
 * const y = geometric.packedUnpool(x.data, 2, 2); // [1, 4, 4, 5] → [1, 8, 8, 5]
 */
export function packedUnpool(x: Tensor, D: number, p: number): Tensor {
  packedSpatial('unpool', x, D, p, false);
  return upsample(
    x,
    [...Array(D).keys()].map((i) => i + 1),
    p,
  ); // a strided copy: no index map
}

// ---------------------------------------------------------------------------------------------
// Index bookkeeping (ginjax get_contraction_indices, KroneckerDeltaSymbol)

/**
 * Every distinct way to contract a k-tensor down to order `finalK`: lists of (initialK − finalK)/2
 * disjoint index pairs, each pair and each list sorted, lists in lexicographic order (ginjax
 * get_contraction_indices). `swappable` pairs (a, b) mark tensor indices that are interchangeable
 * (e.g. a symmetric filter's): contractions that differ only by exchanging them count once, and are
 * reported with a in place of b unless a is already used.
 * @example
 * geometric.contractionIndices(4, 2); // [[[0, 1]], [[0, 2]], [[0, 3]], [[1, 2]], [[1, 3]], [[2, 3]]]
 */
export function contractionIndices(initialK: number, finalK: number, swappable: readonly (readonly [number, number])[] = []): [number, number][][] {
  check(
    Number.isInteger(initialK) && Number.isInteger(finalK) && finalK >= 0 && initialK >= finalK && (initialK - finalK) % 2 === 0,
    'contractionIndices',
    'initialK, finalK',
    'integers with initialK >= finalK >= 0 and an even difference',
    [initialK, finalK],
  );
  const pairsNeeded = (initialK - finalK) / 2;
  const alias = (i: number) => swappable.find(([, b]) => b === i)?.[0] ?? i;
  const seen = new Map<string, [number, number][]>();
  const choose = (from: number, used: Set<number>, acc: [number, number][]) => {
    if (acc.length === pairsNeeded) {
      // Canonical form under the swaps: b → a, then sorted pairs and rows.
      const canon = acc.map(([i, j]) => [alias(i), alias(j)].sort((x, y) => x - y) as [number, number]).sort((p, q) => p[0] - q[0] || p[1] - q[1]);
      const key = canon.flat().join(',');
      if (!seen.has(key)) seen.set(key, canon);
      return;
    }
    for (let i = from; i < initialK; i++) {
      if (used.has(i)) continue;
      for (let j = i + 1; j < initialK; j++) {
        if (used.has(j)) continue;
        used.add(i).add(j);
        choose(i + 1, used, [...acc, [i, j]]);
        used.delete(i);
        used.delete(j);
      }
    }
  };
  choose(0, new Set(), []);
  const rows = [...seen.values()].sort((p, q) => {
    const a = p.flat(),
      b = q.flat();
    for (let i = 0; i < a.length; i++) if (a[i] !== b[i]) return a[i]! - b[i]!;
    return 0;
  });
  // A canonical row may name an index twice (a for both a and b): give the second one back to b.
  return rows.map((row) => {
    const flat = row.flat();
    for (const [a, b] of swappable) {
      const at = flat.indexOf(a, flat.indexOf(a) + 1);
      if (flat.indexOf(a) >= 0 && at > 0) flat[at] = b;
    }
    return Array.from({ length: row.length }, (_, t) => [flat[2 * t]!, flat[2 * t + 1]!] as [number, number]);
  });
}

/**
 * The k-index Kronecker delta of dimension D: 1 where all k indices are equal (row-major (D,)*k).
 * @example
 * geometric.kroneckerDelta(2, 2); // Float32Array [1, 0, 0, 1]
 */
export function kroneckerDelta(D: number, k: number): Float32Array {
  check(Number.isInteger(D) && D >= 1, 'kroneckerDelta', 'D', 'an integer >= 1', D);
  check(Number.isInteger(k) && k >= 0, 'kroneckerDelta', 'k', 'an integer >= 0', k);
  const out = new Float32Array(D ** k);
  const step = k === 0 ? 0 : (D ** k - 1) / (D - 1 || 1);
  for (let i = 0; i < D; i++) out[k === 0 ? 0 : i * step] = 1;
  return out;
}
