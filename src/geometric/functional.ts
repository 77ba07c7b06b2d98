/**
 * Geometric operations on tensors in ginjax's layout `[...lead, ...spatial(D), ...(D,)*k]`, composed
 * from primitives (so every one is differentiable and runs on every backend). GeometricImage and
 * MultiImage are thin, typed wrappers over these.
 */
import { argError, check } from '../core/errors.js';
import { sizeOf, stridesOf, type Shape } from '../core/shape.js';
import { mul, scale } from '../ops/binary.js';
import { conv } from '../ops/conv.js';
import { gather, indexMap, memoIndex, permute } from '../ops/gather.js';
import type { ConvAttrs } from '../ops/op.js';
import { maxPool as maxPoolOp } from '../ops/pool.js';
import { max as maxReduce, sum } from '../ops/reduce.js';
import { abs, sqrt, square } from '../ops/unary.js';
import { tensor, tidy, type Tensor } from '../tensor.js';
import { actionMap, leviCivita, type GroupElement } from './group.js';

/**
 * Splits a shape into (lead, spatial, tensor) for D and k, validating the tensor axes.
 * @example
 * geometric.splitShape('myFn', [4, 1, 8, 8, 2], 2, 1, 2); // { lead: [4, 1], spatial: [8, 8], tensor: [2] }
 */
export function splitShape(fn: string, shape: Shape, D: number, k: number, nLead?: number): { lead: number[]; spatial: number[]; tensor: number[] } {
  const lead = nLead ?? shape.length - D - k;
  check(lead >= 0 && shape.length === lead + D + k, fn, 'data shape', `of rank ${nLead === undefined ? `>= ${D + k}` : lead + D + k} (lead + D=${D} spatial + k=${k} tensor axes)`, shape);
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
  check(used.every((i) => Number.isInteger(i) && i >= 0 && i < k) && new Set(used).size === used.length,
    'multicontract', 'indices', `distinct tensor indices in [0, ${k})`, pairs.map((p) => `(${p})`));
  const prefix = x.shape.slice(0, x.shape.length - k);
  const rest = [...Array(k).keys()].filter((i) => !used.includes(i));
  const tStrides = stridesOf(tensorShape(D, k));
  const nRest = D ** rest.length;
  const nDiag = D ** pairs.length;
  // pattern[r * nDiag + d]: flat tensor index of rest combo r and diagonal combo d.
  const pattern = memoIndex(`contract ${D} ${k} | ${pairs.map((p) => p.join(' '))}`, () => indexMap([nRest, nDiag], ([r, d]) => {
    let flat = 0;
    rest.forEach((axis, t) => (flat += (Math.floor(r! / D ** (rest.length - 1 - t)) % D) * tStrides[axis]!));
    pairs.forEach(([i, j], t) => {
      const v = Math.floor(d! / D ** (pairs.length - 1 - t)) % D;
      flat += v * (tStrides[i]! + tStrides[j]!);
    });
    return flat;
  }));
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
    return multicontract(prod, D, k + D, indices.map((i, t) => [i, k + t] as const));
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
  return tidy(() => sqrt(sum(square(x), [...Array(k).keys()].map((i) => x.shape.length - k + i))));
}

// ---------------------------------------------------------------------------------------------
// Group action

/**
 * g·x for data [...lead, ...spatial, (D,)*k]: one signed gather.
 * @example
 * const turned = geometric.groupAction(v, 2, 1, 0, groupElement(2, 'rot90'));
 */
export function groupAction(x: Tensor, D: number, k: number, parity: number, g: GroupElement): Tensor {
  check(g.D === D, 'timesGroupElement', 'group element D', `${D}`, g.D);
  const { lead, spatial } = splitShape('timesGroupElement', x.shape, D, k);
  const map = actionMap(g, spatial, k, parity);
  const outShape = [...lead, ...map.outSpatial, ...tensorShape(D, k)];
  return tidy(() => {
    const moved = gather(x, outShape, map.index, sizeOf(lead));
    if (map.sign.every((s) => s === 1)) return moved;
    return mul(moved, tensor(Float32Array.from(map.sign), [...map.outSpatial, ...tensorShape(D, k)], x.backend));
  });
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

const perAxis = (fn: string, name: string, v: number | readonly number[] | undefined, D: number): number[] => {
  const out = v === undefined ? new Array<number>(D).fill(1) : typeof v === 'number' ? new Array<number>(D).fill(v) : [...v];
  check(out.length === D && out.every((e) => Number.isInteger(e) && e >= 1), fn, name, `an integer >= 1 or ${D} of them`, v);
  return out;
};

/**
 * Resolves ginjax padding modes into conv attributes for filters of side M.
 * @example
 * const attrs = geometric.resolveConv('myFn', 2, 3, [true, true], { padding: 'TORUS' });
 */
export function resolveConv(fn: string, D: number, M: number, isTorus: readonly boolean[], o: ConvolveOptions = {}): ConvAttrs {
  const stride = perAxis(fn, 'stride', o.stride, D);
  const rhsDilation = perAxis(fn, 'rhsDilation', o.rhsDilation, D);
  const lhsDilation = perAxis(fn, 'lhsDilation', o.lhsDilation, D);
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
    check(pairs.length === D && pairs.every((p) => p.length === 2 && p.every((e) => Number.isInteger(e) && e >= 0)), fn, 'padding', `${D} pairs [lo, hi]`, pairs.map((p) => `[${p}]`));
    padding = pairs.map((p) => [p[0]!, p[1]!]);
  } else {
    return argError(fn, 'padding', '"TORUS", "SAME", "VALID", an integer or [lo, hi] pairs', mode);
  }
  return { kernel: new Array(D).fill(M), stride, padding, torus, rhsDilation, lhsDilation };
}

/** [B, C, ...spatial, T] -> [B, ...spatial, C*T] (free when C = 1). */
function toChannelsLast(x: Tensor, D: number): Tensor {
  const [B, C] = x.shape as [number, number];
  const T = sizeOf(x.shape.slice(2 + D));
  const spatial = x.shape.slice(2, 2 + D);
  if (C === 1) return x.reshape([B, ...spatial, T]);
  const p = permute(x.reshape([B, C, ...spatial, T]), [0, ...spatial.map((_, i) => i + 2), 1, D + 2]);
  return p.reshape([B, ...spatial, C * T]);
}

/** [B, ...spatial, O*T] -> [B, O, ...spatial, (D,)*k] (free when O = 1). */
function fromChannelsLast(y: Tensor, D: number, O: number, k: number): Tensor {
  const [B] = y.shape as [number];
  const spatial = y.shape.slice(1, 1 + D);
  const out = [B, O, ...spatial, ...tensorShape(D, k)];
  if (O === 1) return y.reshape(out);
  const p = permute(y.reshape([B, ...spatial, O, D ** k]), [0, D + 1, ...spatial.map((_, i) => i + 1), D + 2]);
  return p.reshape(out);
}

interface ConvGeometry { B: number; C: number; O: number; M: number; taps: number; attrs: ConvAttrs }

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
    return fromChannelsLast(conv(toChannelsLast(x, D), dense, attrs), D, O, k + kf);
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
    return fromChannelsLast(conv(toChannelsLast(x, D), dense, attrs), D, O, kf - k);
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

/**
 * Mean over non-overlapping p^D patches.
 * @example
 * const y = geometric.averagePool(v, 2, 1, 2); // [8, 8, 2] → [4, 4, 2]
 */
export function averagePool(x: Tensor, D: number, k: number, p: number): Tensor {
  const { lead, spatial } = splitShape('averagePool', x.shape, D, k);
  checkPatch('averagePool', spatial, p);
  return tidy(() => {
    const split = spatial.flatMap((n) => [n / p, p]);
    const r = x.reshape([...lead, ...split, ...tensorShape(D, k)]);
    const axes = spatial.map((_, i) => lead.length + 2 * i + 1);
    return scale(sum(r, axes), 1 / p ** D);
  });
}

/**
 * Max pool by comparator: in each p^D patch, the whole pixel tensor where the comparator (the pixel
 * norm if useNorm, else the raw value; scalars only) is largest, first maximum in row-major order.
 * @example
 * const y = geometric.maxPool(v, 2, 1, 2); // each 2×2 window keeps its vector of largest norm
 */
export function maxPool(x: Tensor, D: number, k: number, p: number, useNorm = true): Tensor {
  const { lead, spatial } = splitShape('maxPool', x.shape, D, k);
  checkPatch('maxPool', spatial, p);
  if (!useNorm && k !== 0) argError('maxPool', 'useNorm', 'true for k > 0 (raw values compare scalars only)', useNorm);
  return tidy(() => {
    const L = sizeOf(lead);
    const T = D ** k;
    const xs = x.reshape([L, ...spatial, T]);
    const c = useNorm ? pixelNorm(x, k).reshape([L, ...spatial, 1]) : x.reshape([L, ...spatial, 1]);
    const y = maxPoolOp(xs, c, p, T);
    return y.reshape([...lead, ...spatial.map((n) => n / p), ...tensorShape(D, k)]);
  });
}

/**
 * Nearest-neighbour upsampling: every pixel becomes a p^D block.
 * @example
 * const y = geometric.unpool(v, 2, 1, 2); // [4, 4, 2] → [8, 8, 2]
 */
export function unpool(x: Tensor, D: number, k: number, p: number): Tensor {
  const { lead, spatial } = splitShape('unpool', x.shape, D, k);
  check(Number.isInteger(p) && p >= 1, 'unpool', 'patch', 'an integer >= 1', p);
  const inner = [...spatial.map((n) => n * p), ...tensorShape(D, k)];
  const src = stridesOf([...spatial, ...tensorShape(D, k)]);
  const index = memoIndex(`unpool ${spatial} | ${D} ${k} ${p}`, () => indexMap(inner, (c) => c.reduce((s, v, i) => s + (i < D ? Math.floor(v / p) : v) * src[i]!, 0)));
  return gather(x, [...lead, ...inner], index, sizeOf(lead));
}

/**
 * Largest pixel norm (a 0-d tensor).
 * @example
 * const m = geometric.maxPixelNorm(v, 1); // shape []
 */
export function maxPixelNorm(x: Tensor, k: number): Tensor {
  return tidy(() => maxReduce(pixelNorm(x, k)));
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
  check(Number.isInteger(initialK) && Number.isInteger(finalK) && finalK >= 0 && initialK >= finalK && (initialK - finalK) % 2 === 0,
    'contractionIndices', 'initialK, finalK', 'integers with initialK >= finalK >= 0 and an even difference', [initialK, finalK]);
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
    const a = p.flat(), b = q.flat();
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
