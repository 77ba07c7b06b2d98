/**
 * MultiImage: a batch of geometric data of several tensor types (ginjax's MultiImage). Stored as ONE
 * packed channels-last tensor [batch, ...spatial, Σ channels·D^k] (DESIGN.md §2), keys in canonical
 * order, each key's block laid out channel-major then tensor component (c·D^k + t) — which is exactly
 * ginjax's to_scalar_multi_image order, so that conversion is free. The user-facing view of a block is
 * ginjax's layout [batch, channels, ...spatial, (D,)*k].
 */
import { argError, check, show } from '../core/errors.js';
import { sameShape, sizeOf } from '../core/shape.js';
import { add as addT, scale as scaleT, sub as subT } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { selectColumns, slice, take } from '../ops/gather.js';
import { sum } from '../ops/reduce.js';
import { sqrt, square } from '../ops/unary.js';
import { formatValues, nest, Tensor, tensor, tidy, type PrintOptions, type NestedNumbers } from '../tensor.js';
import * as F from './functional.js';
import { toElement, type GroupElement } from './group.js';
import { checkSameGrid, GeometricImage, isOptions, readOptions, TINY, valuesClose } from './image.js';
import {
  blockOffsets,
  checkKey,
  checkSignature,
  compareKeys,
  keyName,
  sameSignature,
  signature,
  signatureToString,
  signatureWidth,
  tensorName,
  type Key,
  type Signature,
  type SignatureLike,
} from './signature.js';
import { perAxis, perAxisFlags } from '../core/per-axis.js';

/**
 * A key (k, parity) in any accepted spelling: "1,0", [1, 0] or { k: 1, parity: 0 }.
 * @example
 * x.block('1,0'); x.block([1, 0]); x.block({ k: 1, parity: 0 }); x.block(1, 0); // all the same
 */
export type KeyLike = string | readonly [number, number] | Key;

/**
 * Blocks by key, each in ginjax's layout [batch, channels, ...spatial, (D,)*k]: an object keyed
 * "k,parity", a Map keyed by any KeyLike, or a list of [KeyLike, Tensor] pairs.
 * @example
 * MultiImage.fromBlocks({ '0,0': scalars, '1,0': vectors }, { D: 2 });
 * MultiImage.fromBlocks([[[1, 0], vectors]], { D: 2 });
 */
export type Blocks = Readonly<Record<string, Tensor>> | ReadonlyMap<KeyLike, Tensor> | readonly (readonly [KeyLike, Tensor])[];

/** Options of `MultiImage.fromBlocks`. */
export interface FromBlocksOptions {
  /** 2 or 3. */
  readonly D: number;
  /** Periodic boundary per axis, or one flag for all (default true). */
  readonly isTorus?: boolean | readonly boolean[];
  /** Whether blocks have a leading batch axis (default true); without it the batch is 1. */
  readonly batched?: boolean;
}

/** Options of `MultiImage.zeros`. */
export interface MultiZerosOptions {
  /** Keys and channel counts, e.g. [{ k: 1, parity: 0, channels: 2 }] or [[[1, 0], 2]]. */
  readonly signature: SignatureLike;
  readonly D: number;
  /** Side of every spatial axis, or one per axis (`N` is accepted as well, as for GeometricImage). */
  readonly spatial?: number | readonly number[];
  readonly N?: number | readonly number[];
  /** Default 1. */
  readonly batch?: number;
  readonly isTorus?: boolean | readonly boolean[];
}

const KEY_FORMS = '[k, parity], { k, parity } or "k,parity", e.g. "1,0"';

/** (k, parity) of a KeyLike, validated. */
export function parseKey(fn: string, key: unknown, arg = 'key'): Key {
  let k: unknown;
  let parity: unknown;
  if (typeof key === 'string') {
    const m = /^\s*\(?\s*(\d+)\s*,\s*(\d+)\s*\)?\s*$/.exec(key);
    if (!m) argError(fn, arg, '"k,parity", e.g. "1,0"', key); // a string: its string form
    [k, parity] = [Number(m[1]), Number(m[2])];
  } else if (Array.isArray(key) && key.length === 2) {
    [k, parity] = key;
  } else if (key !== null && typeof key === 'object' && 'k' in key && 'parity' in key) {
    ({ k, parity } = key as Key);
  } else {
    argError(fn, arg, KEY_FORMS, key);
  }
  checkKey(fn, k, parity);
  return { k: k as number, parity: parity as 0 | 1 };
}

/** A key from block(key) or block(k, parity). */
function keyArgs(fn: string, a: KeyLike | number, parity?: number): Key {
  return typeof a === 'number' ? parseKey(fn, [a, parity]) : parseKey(fn, a);
}

/**
 * A batch of geometric data of several tensor types: the input and output of every layer and model (ginjax's MultiImage). Stored packed channels-last [batch, ...spatial, Σ channels·D^k]; `block(key)` gives ginjax's layout. Build with `fromBlocks`, `zeros` or `fromImages`; read with `await x.values(key?)` / `x.array(key?)`.
 * @example
 * const x = MultiImage.zeros({ signature: [{ k: 0, parity: 0, channels: 1 }, { k: 1, parity: 0, channels: 1 }], D: 2, spatial: 16, batch: 4 });
 * const vectors = await x.values('1,0'); // [4, 1, 16, 16, 2], ginjax's layout
 * x.dispose();
 */
export class MultiImage {
  readonly data: Tensor;
  readonly signature: Signature;
  readonly D: number;
  readonly isTorus: readonly boolean[];
  readonly batch: number;
  readonly spatial: readonly number[];

  /** Wraps packed data [batch, ...spatial, Σ channels·D^k] with its signature. */
  constructor(data: Tensor, sig: SignatureLike, D: number, isTorus: boolean | readonly boolean[] = true) {
    check(D === 2 || D === 3, 'MultiImage', 'D', '2 or 3', D);
    this.signature = signature(sig, 'MultiImage');
    const width = signatureWidth(this.signature, D);
    if (data.shape.length !== D + 2 || data.shape.at(-1) !== width) {
      argError('MultiImage', 'data shape', `[batch, ...${D} spatial, ${width}] for signature ${signatureToString(this.signature)}`, data.shape);
    }
    checkNotEmpty('MultiImage', data.shape[0]!, data.shape.slice(1, 1 + D));
    const flags = perAxisFlags('MultiImage', 'isTorus', isTorus, D);
    this.data = data;
    this.D = D;
    this.isTorus = Object.freeze(flags);
    this.batch = data.shape[0]!;
    this.spatial = Object.freeze(data.shape.slice(1, 1 + D));
  }

  /**
   * Builds a MultiImage from blocks (see `Blocks`: keys "1,0", [1, 0] or { k, parity }), each in
   * ginjax's layout [batch, channels, ...spatial, (D,)*k] (or [channels, ...spatial, (D,)*k] with
   * batched = false). Options form `fromBlocks(blocks, { D, isTorus?, batched? })`, or positional
   * `fromBlocks(blocks, D, isTorus?, batched?)`.
   * @example
   * const v = tensor(new Float32Array(2 * 8 * 8 * 2), [1, 2, 8, 8, 2]); // batch 1, 2 vector channels
   * const x = MultiImage.fromBlocks({ '1,0': v }, { D: 2 });
   */
  static fromBlocks(blocks: Blocks, options: FromBlocksOptions): MultiImage;
  static fromBlocks(blocks: Blocks, D: number, isTorus?: boolean | readonly boolean[], batched?: boolean): MultiImage;
  static fromBlocks(blocks: Blocks, Dor: number | FromBlocksOptions, isTorus: boolean | readonly boolean[] = true, batched = true): MultiImage {
    if (isOptions(Dor)) {
      const o = readOptions('MultiImage.fromBlocks', Dor as FromBlocksOptions, ['D', 'isTorus', 'batched'], ['D']);
      return MultiImage.fromBlocks(blocks, o.D, o.isTorus ?? true, o.batched ?? true);
    }
    const D = Dor as number;
    check(D === 2 || D === 3, 'MultiImage.fromBlocks', 'D', '2 or 3', D);
    check(
      blocks !== null && typeof blocks === 'object',
      'MultiImage.fromBlocks',
      'blocks',
      'an object keyed "k,parity", a Map or a list of [key, Tensor] pairs',
      blocks,
    );
    const entries = (blocks instanceof Map ? [...blocks.entries()] : Array.isArray(blocks) ? [...blocks] : Object.entries(blocks)) as [KeyLike, Tensor][];
    check(entries.length > 0, 'MultiImage.fromBlocks', 'blocks', 'at least one block', 0);
    const parsed = entries.map((entry) => {
      check(Array.isArray(entry) && entry.length === 2, 'MultiImage.fromBlocks', 'blocks entry', 'a [key, Tensor] pair', entry);
      const [key, t] = entry;
      const { k, parity } = parseKey('MultiImage.fromBlocks', key, 'block key');
      const name = keyName(k, parity);
      check(t instanceof Tensor, 'MultiImage.fromBlocks', `block (${name})`, 'a Tensor', t);
      const shape = batched ? t.shape : [1, ...t.shape]; // reshaped inside the tidy below, so no handle escapes
      const { lead, spatial } = F.splitShape(`MultiImage.fromBlocks(${name})`, shape, D, k, 2);
      return { k, parity: parity as 0 | 1, channels: lead[1]!, batch: lead[0]!, spatial, t, shape };
    });
    parsed.sort(compareKeys);
    const first = parsed[0]!;
    for (const p of parsed) {
      if (p.batch !== first.batch) argError('MultiImage.fromBlocks', `batch of block (${p.k},${p.parity})`, `${first.batch}`, p.batch);
      if (!sameShape(p.spatial, first.spatial))
        argError('MultiImage.fromBlocks', `spatial shape of block (${p.k},${p.parity})`, show(first.spatial), p.spatial);
    }
    checkNotEmpty('MultiImage.fromBlocks', first.batch, first.spatial);
    const data = tidy(() => {
      const packed = parsed.map((p) => F.toPacked(batched ? p.t : p.t.reshape(p.shape), D));
      return packed.length === 1 ? packed[0]! : concat(packed, D + 1);
    });
    return new MultiImage(data, parsed, D, isTorus);
  }

  /**
   * A MultiImage of zeros. Options `zeros({ signature, D, spatial, batch?, isTorus? })` (batch 1
   * and a torus by default), or positional `zeros(signature, D, spatial, batch?, isTorus?)`.
   * @example
   * const x = MultiImage.zeros({ signature: [{ k: 0, parity: 0, channels: 1 }, { k: 1, parity: 0, channels: 2 }], D: 2, spatial: 16 });
   * const y = MultiImage.zeros([[[0, 0], 1], [[1, 0], 2]], 2, 16); // the same
   */
  static zeros(options: MultiZerosOptions): MultiImage;
  static zeros(sig: SignatureLike, D: number, spatial: number | readonly number[], batch?: number, isTorus?: boolean | readonly boolean[]): MultiImage;
  static zeros(
    sigOr: SignatureLike | MultiZerosOptions,
    Din?: number,
    spatialIn?: number | readonly number[],
    batch = 1,
    isTorus: boolean | readonly boolean[] = true,
  ): MultiImage {
    if (isOptions(sigOr)) {
      const o = readOptions('MultiImage.zeros', sigOr as MultiZerosOptions, ['signature', 'D', 'spatial', 'N', 'batch', 'isTorus'], ['signature', 'D']);
      if ((o.spatial === undefined) === (o.N === undefined))
        argError('MultiImage.zeros', 'options', 'given exactly one of spatial and N', o.spatial === undefined ? 'neither' : 'both');
      return MultiImage.zeros(o.signature, o.D, (o.spatial ?? o.N)!, o.batch ?? 1, o.isTorus ?? true);
    }
    const D = Din!;
    check(D === 2 || D === 3, 'MultiImage.zeros', 'D', '2 or 3', D);
    const s = signature(sigOr as SignatureLike, 'MultiImage.zeros');
    const spatial = spatialIn!;
    const sp = perAxis('MultiImage.zeros', 'spatial', spatial, D, { min: 0, what: 'a side' });
    check(Number.isInteger(batch), 'MultiImage.zeros', 'batch', 'an integer >= 1', batch);
    checkNotEmpty('MultiImage.zeros', batch, sp); // before allocating: a refused image leaks nothing
    const shape = [batch, ...sp, signatureWidth(s, D)];
    return new MultiImage(tensor(new Float32Array(sizeOf(shape)), shape), s, D, isTorus);
  }

  /** One channel per image, grouped by (k, parity) in list order; batch 1 (ginjax from_images). */
  static fromImages(images: readonly GeometricImage[]): MultiImage {
    check(images.length > 0, 'MultiImage.fromImages', 'images', 'a non-empty list', 0);
    const { D, isTorus } = images[0]!;
    for (const im of images) check(im.D === D, 'MultiImage.fromImages', 'image D', `${D}`, im.D);
    return tidy(() => {
      const groups = new Map<string, Tensor[]>();
      for (const im of images) {
        const name = keyName(im.k, im.parity);
        groups.set(name, [...(groups.get(name) ?? []), im.data.reshape([1, 1, ...im.shape])]);
      }
      return MultiImage.fromBlocks(new Map([...groups].map(([n, ts]) => [n, ts.length === 1 ? ts[0]! : concat(ts, 1)])), D, isTorus);
    });
  }

  get width(): number {
    return this.data.shape.at(-1)!;
  }

  keys(): Key[] {
    return this.signature.map(({ k, parity }) => ({ k, parity }));
  }

  /**
   * Whether the image has the key: `has('1,0')`, `has([1, 0])`, `has({ k: 1, parity: 0 })` or `has(1, 0)`.
   * @example
   * x.has('1,0'); // true when x holds vectors
   */
  has(key: KeyLike): boolean;
  has(k: number, parity: number): boolean;
  has(a: KeyLike | number, b?: number): boolean {
    const { k, parity } = keyArgs('has', a, b);
    return this.signature.some((e) => e.k === k && e.parity === parity);
  }

  #entry(fn: string, k: number, parity: number): { index: number; offset: number; channels: number; T: number } {
    const index = this.signature.findIndex((e) => e.k === k && e.parity === parity);
    if (index < 0) argError(fn, 'key', `one of ${signatureToString(this.signature)}`, `(${k},${parity})`);
    const e = this.signature[index]!;
    return { index, offset: blockOffsets(this.signature, this.D)[index]!, channels: e.channels, T: this.D ** e.k };
  }

  /**
   * The channel count of a key (any KeyLike, or k and parity).
   * @example
   * x.channels([1, 0]);
   */
  channels(key: KeyLike): number;
  channels(k: number, parity: number): number;
  channels(a: KeyLike | number, b?: number): number {
    const { k, parity } = keyArgs('channels', a, b);
    return this.#entry('channels', k, parity).channels;
  }

  /**
   * A key's block, packed: [batch, ...spatial, channels·D^k] (a new Tensor handle: dispose it).
   * @example
   * const p = x.packedBlock('1,0');
   */
  packedBlock(key: KeyLike): Tensor;
  packedBlock(k: number, parity: number): Tensor;
  packedBlock(a: KeyLike | number, b?: number): Tensor {
    const { k, parity } = keyArgs('packedBlock', a, b);
    const { offset, channels, T } = this.#entry('packedBlock', k, parity);
    return this.signature.length === 1 ? this.data.reshape(this.data.shape) : slice(this.data, this.D + 1, offset, channels * T);
  }

  /**
   * A key's block in ginjax's layout [batch, channels, ...spatial, (D,)*k] (a new Tensor: dispose
   * it; to read values, `await x.values(key)` does not need that).
   * @example
   * const vectors = x.block('1,0'); // or x.block([1, 0]), x.block({ k: 1, parity: 0 }), x.block(1, 0)
   */
  block(key: KeyLike): Tensor;
  block(k: number, parity: number): Tensor;
  block(a: KeyLike | number, b?: number): Tensor {
    const { k, parity } = keyArgs('block', a, b);
    const { channels } = this.#entry('block', k, parity);
    return tidy(() => F.fromPacked(this.packedBlock(k, parity), this.D, channels, k));
  }

  /**
   * Reads values: without a key the packed data [batch, ...spatial, Σ channels·D^k] as stored;
   * with a key that block in ginjax's layout [batch, channels, ...spatial, (D,)*k]. The one way to
   * read data (as `Tensor.values()`, `GeometricImage.values()`); nothing to dispose.
   * @example
   * const all = await x.values();          // packed
   * const vectors = await x.values('1,0'); // one block, ginjax's layout
   */
  async values(key?: KeyLike): Promise<Float32Array> {
    const packed = await this.data.values();
    if (key === undefined) return packed;
    const { k, parity } = parseKey('values', key);
    return this.#hostBlock(packed, this.#entry('values', k, parity));
  }

  /**
   * Nested arrays: with a key, that block as [batch, channels, ...spatial, (D,)*k]; without, an
   * object of every block keyed "k,parity" in canonical order.
   * @example
   * const { '1,0': vectors } = await x.array();
   * const v = await x.array([1, 0]); // the same block
   */
  async array(key: KeyLike): Promise<NestedNumbers>;
  async array(): Promise<Record<string, NestedNumbers>>;
  async array(key?: KeyLike): Promise<NestedNumbers | Record<string, NestedNumbers>> {
    const packed = await this.data.values();
    const one = (k: number, parity: number) => nest(this.#hostBlock(packed, this.#entry('array', k, parity)), this.#blockShape(k, parity));
    if (key !== undefined) {
      const { k, parity } = parseKey('array', key);
      return one(k, parity);
    }
    return Object.fromEntries(this.signature.map((e) => [keyName(e.k, e.parity), one(e.k, e.parity)]));
  }

  /** [batch, channels, ...spatial, (D,)*k] of a key. */
  #blockShape(k: number, parity: number): number[] {
    return [this.batch, this.channels(k, parity), ...this.spatial, ...new Array<number>(k).fill(this.D)];
  }

  /** One block of packed host values in ginjax's layout (the host-side `block`). */
  #hostBlock(packed: Float32Array, { offset, channels, T }: { offset: number; channels: number; T: number }): Float32Array {
    const P = sizeOf(this.spatial);
    const W = this.width;
    const out = new Float32Array(this.batch * channels * P * T);
    for (let b = 0; b < this.batch; b++) {
      for (let c = 0; c < channels; c++) {
        for (let p = 0; p < P; p++) {
          const src = (b * P + p) * W + offset + c * T;
          out.set(packed.subarray(src, src + T), ((b * channels + c) * P + p) * T);
        }
      }
    }
    return out;
  }

  #text(packed: Float32Array, options: PrintOptions = {}): string {
    const blocks = this.signature.map((e) => {
      const values = this.#hostBlock(packed, this.#entry('toString', e.k, e.parity));
      return `(${e.k},${e.parity}) ${tensorName(e.k, e.parity)} ×${e.channels} [batch, channels, ...spatial${e.k ? `, ${new Array(e.k).fill(this.D).join(', ')}` : ''}]:\n${formatValues(values, this.#blockShape(e.k, e.parity), options)}`;
    });
    return [this.#header(), ...blocks].join('\n');
  }

  /**
   * Logs the image (every block in ginjax's layout, read from any backend) and returns the text.
   * @example
   * await model.predict(x).print();
   */
  async print(options: PrintOptions = {}): Promise<string> {
    const text = this.#text(await this.data.values(), options);
    console.log(text);
    return text;
  }
  #with(data: Tensor, sig: SignatureLike = this.signature): MultiImage {
    return new MultiImage(data, sig, this.D, this.isTorus);
  }

  #checkSame(fn: string, other: MultiImage, sameSignature: boolean): void {
    check(other instanceof MultiImage, fn, 'other', 'a MultiImage', other);
    checkSameGrid(fn, this, other);
    if (sameSignature) checkSignature(fn, 'other signature', this.signature, other.signature);
  }

  add(other: MultiImage): MultiImage {
    this.#checkSame('add', other, true);
    check(other.batch === this.batch, 'add', 'other batch', `${this.batch}`, other.batch);
    return this.#with(addT(this.data, other.data));
  }

  sub(other: MultiImage): MultiImage {
    this.#checkSame('sub', other, true);
    check(other.batch === this.batch, 'sub', 'other batch', `${this.batch}`, other.batch);
    return this.#with(subT(this.data, other.data));
  }

  scale(s: number): MultiImage {
    return this.#with(scaleT(this.data, s));
  }

  /**
   * Concatenation. 'channel': per key, this image's channels then other's (keys of either are kept);
   * 'batch': same signature, batches stacked.
   */
  concat(other: MultiImage, axis: 'channel' | 'batch' = 'channel'): MultiImage {
    this.#checkSame('concat', other, axis === 'batch');
    if (axis === 'batch') return this.#with(concat([this.data, other.data], 0));
    check(other.batch === this.batch, 'concat', 'other batch', `${this.batch}`, other.batch);
    const all = [...this.signature, ...other.signature].map((e) => ({ k: e.k, parity: e.parity }));
    const keys = [...new Map(all.map((e) => [keyName(e.k, e.parity), e])).values()].sort(compareKeys);
    const aOff = blockOffsets(this.signature, this.D);
    const bOff = blockOffsets(other.signature, this.D);
    const columns: number[] = [];
    const sig = keys.map(({ k, parity }) => {
      const T = this.D ** k;
      const ia = this.signature.findIndex((e) => e.k === k && e.parity === parity);
      const ib = other.signature.findIndex((e) => e.k === k && e.parity === parity);
      const ca = ia < 0 ? 0 : this.signature[ia]!.channels;
      const cb = ib < 0 ? 0 : other.signature[ib]!.channels;
      for (let j = 0; j < ca * T; j++) columns.push(aOff[ia]! + j);
      for (let j = 0; j < cb * T; j++) columns.push(this.width + bOff[ib]! + j);
      return { k, parity, channels: ca + cb };
    });
    return this.#with(
      tidy(() => selectColumns(concat([this.data, other.data], this.D + 1), columns)),
      sig,
    );
  }

  /**
   * Only the given keys (any KeyLike spelling), in canonical order.
   * @example
   * const vectorsOnly = x.withKeys(['1,0']);
   */
  withKeys(keys: readonly KeyLike[]): MultiImage {
    check(Array.isArray(keys), 'withKeys', 'keys', 'a list of keys', keys);
    const entries = keys
      .map((key) => parseKey('withKeys', key))
      .map(({ k, parity }) => ({ e: this.#entry('withKeys', k, parity), k, parity }))
      .sort((a, b) => a.e.index - b.e.index);
    const columns = entries.flatMap(({ e }) => Array.from({ length: e.channels * e.T }, (_, j) => e.offset + j));
    return this.#with(
      selectColumns(this.data, columns),
      entries.map(({ k, parity, e }) => ({ k, parity: parity as 0 | 1, channels: e.channels })),
    );
  }

  /** The batch elements at `indices`, in that order (ginjax get_subset). */
  getSubset(indices: readonly number[]): MultiImage {
    check(Array.isArray(indices) && indices.length > 0, 'getSubset', 'indices', 'a non-empty list of batch indices (an empty batch holds no samples)', indices);
    indices.forEach((i) => check(Number.isInteger(i) && i >= 0 && i < this.batch, 'getSubset', 'index', `an integer in [0, ${this.batch})`, i));
    return this.#with(take(this.data, 0, indices)); // strided copies: a fresh batch each step builds no map
  }

  getOne(index = 0): MultiImage {
    return this.getSubset([index]);
  }

  /**
   * The image without `pixels` pixels on each side of every spatial axis (a centred crop, e.g. to
   * compare a prediction with a target that lacks the border, as in ginjax's gradient notebook).
   */
  centerCrop(pixels: number): MultiImage {
    check(Number.isInteger(pixels) && pixels >= 0, 'centerCrop', 'pixels', 'an integer >= 0', pixels);
    this.spatial.forEach((n, i) => check(n > 2 * pixels, 'centerCrop', 'pixels', `less than half of spatial axis ${i} (size ${n})`, pixels));
    if (pixels === 0) return this.#with(this.data.reshape(this.data.shape));
    return this.#with(tidy(() => this.spatial.reduce((t, n, i) => slice(t, i + 1, pixels, n - 2 * pixels), this.data)));
  }

  /**
   * ginjax get_component (as its batch_get_component: our batch axis is always there). Each key's
   * channels are read as fields × futureSteps (channel = field · futureSteps + step); per step the
   * components of every key are numbered in key order, field-major then tensor component — with a
   * density and a pressure scalar and a velocity vector (D = 2): 0 density, 1 pressure, 2 and 3 the
   * velocity's x and y. Returns the chosen components (an index, negative from the end, or a list
   * of them) as a scalar image of n · futureSteps channels (component-major, then step).
   */
  getComponent(component: number | readonly number[], futureSteps = 1): MultiImage {
    check(Number.isInteger(futureSteps) && futureSteps >= 1, 'getComponent', 'futureSteps', 'an integer >= 1', futureSteps);
    const offsets = blockOffsets(this.signature, this.D);
    const perStep = Array.from({ length: futureSteps }, () => [] as number[]);
    this.signature.forEach((e, i) => {
      if (e.channels % futureSteps !== 0) {
        argError('getComponent', `channels of key (${e.k},${e.parity})`, `a multiple of futureSteps (${futureSteps})`, e.channels);
      }
      const T = this.D ** e.k;
      for (let t = 0; t < futureSteps; t++) {
        for (let f = 0; f < e.channels / futureSteps; f++) {
          for (let c = 0; c < T; c++) perStep[t]!.push(offsets[i]! + (f * futureSteps + t) * T + c);
        }
      }
    });
    const n = perStep[0]!.length;
    const chosen = (typeof component === 'number' ? [component] : [...component]).map((j) => {
      check(Number.isInteger(j) && j >= -n && j < n, 'getComponent', 'component', `an integer in [${-n}, ${n})`, j);
      return j < 0 ? j + n : j;
    });
    check(chosen.length > 0, 'getComponent', 'component', 'an index or a non-empty list of indices', component);
    const columns = chosen.flatMap((j) => perStep.map((cols) => cols[j]!));
    return this.#with(selectColumns(this.data, columns), [{ k: 0, parity: 0, channels: columns.length }]);
  }

  /** The blocks ravelled in ginjax's layout, concatenated in key order: [size]. */
  toVector(): Tensor {
    return tidy(() =>
      concat(
        this.signature.map((e) => {
          const b = this.block(e.k, e.parity);
          return b.reshape([b.size]);
        }),
        0,
      ),
    );
  }

  /** Inverse of toVector, shaped like `template`. */
  static fromVector(vector: Tensor, template: MultiImage): MultiImage {
    const n = sizeOf(template.data.shape);
    check(vector.shape.length === 1 && vector.size === n, 'MultiImage.fromVector', 'vector shape', `[${n}]`, vector.shape);
    return tidy(() => {
      let start = 0;
      const blocks = new Map(
        template.signature.map((e) => {
          const len = template.batch * e.channels * sizeOf(template.spatial) * template.D ** e.k;
          const t = slice(vector, 0, start, len).reshape([template.batch, e.channels, ...template.spatial, ...new Array(e.k).fill(template.D)]);
          start += len;
          return [keyName(e.k, e.parity), t] as const;
        }),
      );
      return MultiImage.fromBlocks(blocks, template.D, template.isTorus);
    });
  }

  /** Every tensor component as a scalar channel (ginjax order: per key, channel-major): free. */
  toScalarMultiImage(): MultiImage {
    return this.#with(this.data.reshape(this.data.shape), [{ k: 0, parity: 0, channels: this.width }]);
  }

  /** Inverse of toScalarMultiImage: reads this image's single (0,0) block as `layout`. */
  fromScalarMultiImage(layout: SignatureLike): MultiImage {
    const sig = signature(layout, 'fromScalarMultiImage');
    check(
      this.signature.length === 1 && this.signature[0]!.k === 0 && this.signature[0]!.parity === 0,
      'fromScalarMultiImage',
      'this signature',
      'a single (0,0) key',
      signatureToString(this.signature),
    );
    check(signatureWidth(sig, this.D) === this.width, 'fromScalarMultiImage', 'layout width', `${this.width}`, signatureWidth(sig, this.D));
    return this.#with(this.data.reshape(this.data.shape), sig);
  }

  /**
   * g·x on every key (g an element or its name: `x.timesGroupElement('rot90')`): one signed gather
   * over the packed data (`geometric.packedGroupAction`, which GeometricImage uses too); the torus
   * flags follow the permuted axes.
   */
  timesGroupElement(element: GroupElement | string): MultiImage {
    const g = toElement('timesGroupElement', 'group element', element, this.D);
    return new MultiImage(F.packedGroupAction(this.data, this.D, this.signature, g), this.signature, this.D, F.actedTorus(this.isTorus, g));
  }

  /** Per-channel pixel norms of every key, packed: [batch, ...spatial, Σ channels]. */
  channelNorms(): Tensor {
    return tidy(() => {
      const parts = this.signature.map((e) => {
        const b = this.packedBlock(e.k, e.parity);
        if (e.k === 0) return square(b);
        return sum(square(b.reshape([this.batch, ...this.spatial, e.channels, this.D ** e.k])), [this.D + 2]);
      });
      return sqrt(parts.length === 1 ? parts[0]! : concat(parts, this.D + 1));
    });
  }

  /** ginjax norm(): the pixel norms of every key as one (0,0) block, in key order. */
  norm(): MultiImage {
    const channels = this.signature.reduce((n, e) => n + e.channels, 0);
    return this.#with(this.channelNorms(), [{ k: 0, parity: 0, channels }]);
  }

  /** Mean over non-overlapping patch^D windows, every key (`geometric.packedAveragePool`). */
  averagePool(patch: number): MultiImage {
    return this.#with(F.packedAveragePool(this.data, this.D, patch));
  }

  /**
   * Max-norm pool of every channel (the whole tensor at the first largest norm), or by raw value for
   * scalar-only images with useNorm = false (`geometric.packedMaxPool`, which GeometricImage uses too).
   */
  maxPool(patch: number, useNorm = true): MultiImage {
    return this.#with(F.packedMaxPool(this.data, this.D, this.signature, patch, useNorm));
  }

  /** Nearest-neighbour upsampling by `patch` on every key (`geometric.packedUnpool`). */
  unpool(patch: number): MultiImage {
    return this.#with(F.packedUnpool(this.data, this.D, patch));
  }

  /** One GeometricImage per (key, batch element, channel), in key order (ginjax to_images). */
  toImages(): GeometricImage[] {
    // tidy: the intermediate block / slice handles are released, the images' data kept
    return tidy(() =>
      this.signature.flatMap((e) => {
        const per = sizeOf(this.spatial) * this.D ** e.k;
        const rows = this.block(e.k, e.parity).reshape([this.batch * e.channels, per]);
        const shape = [...this.spatial, ...new Array(e.k).fill(this.D)];
        const out: GeometricImage[] = [];
        for (let i = 0; i < this.batch * e.channels; i++) {
          out.push(new GeometricImage(slice(rows, 0, i, 1).reshape(shape), e.parity, this.D, this.isTorus));
        }
        return out;
      }),
    );
  }

  /** ginjax __eq__: same D, torus flags and signature; allclose. */
  async equals(other: MultiImage, rtol = TINY, atol = TINY): Promise<boolean> {
    if (other.D !== this.D || !sameSignature(other.signature, this.signature)) return false;
    if (!sameShape(other.data.shape, this.data.shape) || !sameShape(other.isTorus.map(Number), this.isTorus.map(Number))) return false;
    return valuesClose(this.data, other.data, rtol, atol);
  }

  dispose(): void {
    this.data.dispose();
  }

  #header(): string {
    return `MultiImage(D=${this.D}, batch=${this.batch}, spatial=${show(this.spatial)}, signature=${signatureToString(this.signature)}, isTorus=${show(this.isTorus)})`;
  }

  /**
   * The type and, on CPU backends, every block's values numpy style (summarised when large).
   * @example
   * console.log(String(MultiImage.zeros({ signature: [[[1, 0], 1]], D: 2, spatial: 3 })));
   */
  toString(): string {
    if (this.data.disposed || !this.data.backend.readSync) return this.#header();
    return this.#text(this.data.dataSync());
  }
}

/**
 * Refuses an empty image: with no samples (batch 0) or no pixels every later step divides by zero or
 * reshapes to NaN sizes, far from the cause, so the mistake is named here.
 */
function checkNotEmpty(fn: string, batch: number, spatial: readonly number[]): void {
  if (batch < 1) argError(fn, 'batch', 'at least 1: an empty batch holds no samples to compute on', batch);
  spatial.forEach((n, i) => {
    if (!(n >= 1)) argError(fn, `spatial axis ${i}`, 'at least 1 pixel long', n);
  });
}
