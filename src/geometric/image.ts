/**
 * GeometricImage: one image whose pixels are k-tensors of parity p in D dimensions, on a grid that is
 * periodic (torus) or not per axis; data in ginjax's layout [...spatial, (D,)*k]. Immutable: every
 * operation returns a new image (ginjax's functional GeometricImage API).
 */
import { argError, check, checkInt, show } from '../core/errors.js';
import { sameShape, sizeOf, type Shape } from '../core/shape.js';
import { add as addT, addScalar, div, mul as mulT, scale as scaleT, sub as subT } from '../ops/binary.js';
import { max as maxReduce } from '../ops/reduce.js';
import { step } from '../ops/unary.js';
import { formatValues, tensor, tidy, type PrintOptions, type NestedNumbers, type Tensor } from '../tensor.js';
import { perAxis, perAxisFlags } from '../core/per-axis.js';
import * as F from './functional.js';
import { toElement, type GroupElement } from './group.js';
import { plotImage, type PlotOptions } from './plot.js';

/**
 * ginjax's TINY: the tolerance of equality checks and of normalize.
 * @example
 * await a.equals(b, TINY, TINY); // ginjax's default tolerances
 */
export const TINY = 1e-5;

/** Nested arrays of numbers (data of `GeometricImage.from`, pixels of `fill`). */
export type NestedArray = number | readonly NestedArray[];

function flatten(value: NestedArray): { shape: number[]; data: number[] } {
  const shape: number[] = [];
  for (let v: NestedArray = value; Array.isArray(v); v = (v as readonly NestedArray[])[0]!) shape.push((v as readonly NestedArray[]).length);
  const data: number[] = [];
  const walk = (v: NestedArray, depth: number) => {
    if (depth === shape.length) {
      if (typeof v !== 'number') argError('GeometricImage', 'data', 'a rectangular nested array of numbers', 'a ragged array');
      data.push(v);
      return;
    }
    if (!Array.isArray(v) || v.length !== shape[depth]) argError('GeometricImage', 'data', 'a rectangular nested array of numbers', 'a ragged array');
    for (const e of v as readonly NestedArray[]) walk(e, depth + 1);
  };
  walk(value, 0);
  return { shape, data };
}

const spatialShape = (fn: string, N: number | readonly number[], D: number): number[] => perAxis(fn, 'N', N, D, { what: 'a positive integer' });

/** Options of `GeometricImage.from`. */
export interface ImageFromOptions {
  /** 2 or 3. */
  readonly D: number;
  /** 0 (default) or 1 (pseudo-tensors). */
  readonly parity?: number;
  /** Periodic boundary per axis, or one flag for all (default true). */
  readonly isTorus?: boolean | readonly boolean[];
  /** [...spatial, (D,)*k] when `data` is flat. */
  readonly shape?: Shape;
}

/** Options of `GeometricImage.zeros`. */
export interface ImageZerosOptions {
  /** The side of every axis, or one side per axis. */
  readonly N: number | readonly number[];
  readonly D: number;
  /** Tensor order (default 0: scalars). */
  readonly k?: number;
  readonly parity?: number;
  readonly isTorus?: boolean | readonly boolean[];
}

/** Options of `GeometricImage.fill`. */
export interface ImageFillOptions {
  readonly N: number | readonly number[];
  readonly D: number;
  /** The pixel: a number (k = 0) or a nested (D,)*k array. */
  readonly fill: NestedArray;
  readonly parity?: number;
  readonly isTorus?: boolean | readonly boolean[];
}

/** The grid check of GeometricImage and MultiImage binary operations: same D, spatial shape and torus flags. */
export function checkSameGrid(
  fn: string,
  a: { D: number; spatial: readonly number[]; isTorus: readonly boolean[] },
  b: { D: number; spatial: readonly number[]; isTorus: readonly boolean[] },
): void {
  check(b.D === a.D, fn, 'other.D', `${a.D}`, b.D);
  if (!sameShape(b.spatial, a.spatial)) argError(fn, 'other spatial shape', show(a.spatial), b.spatial);
  if (!sameShape(b.isTorus.map(Number), a.isTorus.map(Number))) argError(fn, 'other.isTorus', show(a.isTorus), b.isTorus);
}

/** ginjax allclose on two images' values (|a − b| <= atol + rtol·|b| everywhere); the shapes are equal. */
export async function valuesClose(a: Tensor, b: Tensor, rtol: number, atol: number): Promise<boolean> {
  const [x, y] = await Promise.all([a.data(), b.data()]);
  return x.every((v, i) => Math.abs(v - y[i]!) <= atol + rtol * Math.abs(y[i]!));
}

/** A plain options object (not an array, number, typed array or Tensor). */
export function isOptions(v: unknown): boolean {
  if (v === null || typeof v !== 'object' || Array.isArray(v) || ArrayBuffer.isView(v)) return false;
  const proto = Object.getPrototypeOf(v);
  return proto === Object.prototype || proto === null;
}

/** Checks an options object: required fields present, no unknown (misspelt) field. */
export function readOptions<T extends object>(fn: string, o: T, allowed: readonly string[], required: readonly string[]): T {
  for (const key of Object.keys(o)) {
    if (!allowed.includes(key)) argError(fn, `option ${show(key)}`, `one of ${allowed.join(', ')}`, key);
  }
  for (const key of required) {
    if ((o as Record<string, unknown>)[key] === undefined) argError(fn, `option ${key}`, 'given', 'undefined');
  }
  return o;
}

/**
 * One geometric image: pixels that are k-tensors of parity p on a D-dimensional grid (ginjax's GeometricImage); immutable, every operation returns a new image. Build one with `from`, `zeros` or `fill` (options objects or ginjax's positional orders), read it with `await image.values()`.
 * @example
 * const f = GeometricImage.fill({ N: 8, D: 2, fill: [1, 0] }); // a constant vector field
 * const g = f.timesGroupElement('rot90');
 * console.log(await g.pixel([0, 0])); // Float32Array [0, 1]
 * f.dispose(); g.dispose();
 */
export class GeometricImage {
  readonly data: Tensor;
  readonly D: number;
  readonly k: number;
  readonly parity: 0 | 1;
  readonly isTorus: readonly boolean[];
  readonly spatial: readonly number[];

  /** Wraps `data` of shape [...spatial, (D,)*k] (k = rank − D). */
  constructor(data: Tensor, parity: number, D: number, isTorus: boolean | readonly boolean[] = true) {
    check(D === 2 || D === 3, 'GeometricImage', 'D', '2 or 3', D);
    check(Number.isInteger(parity), 'GeometricImage', 'parity', 'an integer', parity);
    check(data.shape.length >= D, 'GeometricImage', 'data shape', `of rank >= D=${D}`, data.shape);
    const k = data.shape.length - D;
    F.splitShape('GeometricImage', data.shape, D, k, 0);
    this.data = data;
    this.D = D;
    this.k = k;
    this.parity = (((parity % 2) + 2) % 2) as 0 | 1;
    this.isTorus = Object.freeze(perAxisFlags('GeometricImage', 'isTorus', isTorus, D));
    this.spatial = Object.freeze(data.shape.slice(0, D));
  }

  /**
   * An image from nested arrays (shape inferred) or flat data with an explicit shape. Two forms:
   * options `from(data, { D, parity?, isTorus?, shape? })` (parity 0 and a torus by default), or
   * ginjax's positional order `from(data, parity, D, isTorus?, shape?)`.
   * @example
   * const v = GeometricImage.from([[[1, 0], [0, 1]], [[0, 0], [1, 1]]], { D: 2 }); // 2×2 vectors
   * const same = GeometricImage.from([1, 0, 0, 1, 0, 0, 1, 1], 0, 2, true, [2, 2, 2]);
   */
  static from(data: NestedArray | ArrayLike<number>, options: ImageFromOptions): GeometricImage;
  static from(data: NestedArray | ArrayLike<number>, parity: number, D: number, isTorus?: boolean | readonly boolean[], shape?: Shape): GeometricImage;
  static from(
    data: NestedArray | ArrayLike<number>,
    parityOrOptions: number | ImageFromOptions,
    D?: number,
    isTorus: boolean | readonly boolean[] = true,
    shape?: Shape,
  ): GeometricImage {
    if (isOptions(parityOrOptions)) {
      const o = readOptions('GeometricImage.from', parityOrOptions as ImageFromOptions, ['D', 'parity', 'isTorus', 'shape'], ['D']);
      return GeometricImage.from(data, o.parity ?? 0, o.D, o.isTorus ?? true, o.shape);
    }
    const parity = parityOrOptions as number;
    if (shape) return new GeometricImage(tensor(data as ArrayLike<number>, shape), parity, D!, isTorus);
    const flat = flatten(data as NestedArray);
    return new GeometricImage(tensor(flat.data, flat.shape), parity, D!, isTorus);
  }

  /**
   * An image of zeros. Options `zeros({ N, D, k?, parity?, isTorus? })` (k 0, parity 0, torus by
   * default; N is the side, or one side per axis), or positional `zeros(N, k, parity, D, isTorus?)`.
   * @example
   * const f = GeometricImage.zeros({ N: 8, D: 2, k: 1 }); // an 8×8 vector field
   * const g = GeometricImage.zeros(8, 1, 0, 2);         // the same, ginjax's order
   */
  static zeros(options: ImageZerosOptions): GeometricImage;
  static zeros(N: number | readonly number[], k: number, parity: number, D: number, isTorus?: boolean | readonly boolean[]): GeometricImage;
  static zeros(
    N: number | readonly number[] | ImageZerosOptions,
    k?: number,
    parity?: number,
    D?: number,
    isTorus: boolean | readonly boolean[] = true,
  ): GeometricImage {
    if (isOptions(N)) {
      const o = readOptions('GeometricImage.zeros', N as ImageZerosOptions, ['N', 'D', 'k', 'parity', 'isTorus'], ['N', 'D']);
      return GeometricImage.zeros(o.N, o.k ?? 0, o.parity ?? 0, o.D, o.isTorus ?? true);
    }
    checkInt('GeometricImage.zeros', 'k', k);
    check(D === 2 || D === 3, 'GeometricImage.zeros', 'D', '2 or 3', D);
    const spatial = spatialShape('GeometricImage.zeros', N as number | readonly number[], D);
    return new GeometricImage(tensor(new Float32Array(sizeOf(spatial) * D ** k), [...spatial, ...new Array(k).fill(D)]), parity!, D, isTorus);
  }

  /**
   * Every pixel equals `fill` (a number, or a nested (D,)*k array, which sets k). Options
   * `fill({ N, D, fill, parity?, isTorus? })`, or ginjax's order `fill(N, parity, D, fill, isTorus?)`.
   * @example
   * const up = GeometricImage.fill({ N: 4, D: 2, fill: [0, 1] }); // every pixel the vector (0, 1)
   * const ones = GeometricImage.fill(4, 0, 2, 1);                 // scalar ones, ginjax's order
   */
  static fill(options: ImageFillOptions): GeometricImage;
  static fill(N: number | readonly number[], parity: number, D: number, fill: NestedArray, isTorus?: boolean | readonly boolean[]): GeometricImage;
  static fill(
    N: number | readonly number[] | ImageFillOptions,
    parity?: number,
    D?: number,
    fill?: NestedArray,
    isTorus: boolean | readonly boolean[] = true,
  ): GeometricImage {
    if (isOptions(N)) {
      const o = readOptions('GeometricImage.fill', N as ImageFillOptions, ['N', 'D', 'fill', 'parity', 'isTorus'], ['N', 'D', 'fill']);
      return GeometricImage.fill(o.N, o.parity ?? 0, o.D, o.fill, o.isTorus ?? true);
    }
    check(D === 2 || D === 3, 'GeometricImage.fill', 'D', '2 or 3', D);
    const spatial = spatialShape('GeometricImage.fill', N as number | readonly number[], D);
    const pixel = flatten(fill!);
    if (pixel.shape.some((d) => d !== D)) argError('GeometricImage.fill', 'fill', `a (D,)*k nested array with D=${D}`, `shape ${show(pixel.shape)}`);
    const data = new Float32Array(sizeOf(spatial) * pixel.data.length);
    for (let i = 0; i < data.length; i++) data[i] = pixel.data[i % pixel.data.length]!;
    return new GeometricImage(tensor(data, [...spatial, ...pixel.shape]), parity!, D, isTorus);
  }

  /** ginjax get_kronecker_delta_image: the k-index Kronecker delta in every pixel, parity 0. */
  static kroneckerDelta(N: number | readonly number[], D: number, k: number, isTorus: boolean | readonly boolean[] = true): GeometricImage {
    const spatial = spatialShape('GeometricImage.kroneckerDelta', N, D);
    const pixel = F.kroneckerDelta(D, k);
    const data = new Float32Array(sizeOf(spatial) * pixel.length);
    for (let p = 0; p < sizeOf(spatial); p++) data.set(pixel, p * pixel.length);
    return new GeometricImage(tensor(data, [...spatial, ...new Array(k).fill(D)]), 0, D, isTorus);
  }

  get shape(): Shape {
    return this.data.shape;
  }

  /** (D,)*k */
  get pixelShape(): Shape {
    return this.data.shape.slice(this.D);
  }

  get pixelSize(): number {
    return this.D ** this.k;
  }

  #with(data: Tensor, parity: number = this.parity, isTorus = this.isTorus): GeometricImage {
    return new GeometricImage(data, parity, this.D, isTorus);
  }

  #checkCompatible(fn: string, other: GeometricImage, sameType: boolean): void {
    check(other instanceof GeometricImage, fn, 'other', 'a GeometricImage', other);
    checkSameGrid(fn, this, other);
    if (sameType) {
      check(other.k === this.k, fn, 'other.k', `${this.k}`, other.k);
      check(other.parity === this.parity, fn, 'other.parity', `${this.parity}`, other.parity);
    }
  }

  add(other: GeometricImage): GeometricImage {
    this.#checkCompatible('add', other, true);
    return this.#with(addT(this.data, other.data));
  }

  sub(other: GeometricImage): GeometricImage {
    this.#checkCompatible('sub', other, true);
    return this.#with(subT(this.data, other.data));
  }

  timesScalar(s: number): GeometricImage {
    return this.#with(scaleT(this.data, s));
  }

  /** Pixelwise tensor product (k = k1 + k2, parities add), or scaling by a number. */
  mul(other: GeometricImage | number): GeometricImage {
    if (typeof other === 'number') return this.timesScalar(other);
    this.#checkCompatible('mul', other, false);
    return this.#with(F.tensorProduct(this.data, this.k, other.data, other.k, this.D), this.parity + other.parity);
  }

  /** Permutes the tensor axes. */
  transpose(axes: readonly number[]): GeometricImage {
    return this.#with(F.transposeTensor(this.data, this.k, axes));
  }

  #filterData(fn: string, filter: GeometricImage): Tensor {
    check(filter instanceof GeometricImage, fn, 'filter', 'a GeometricImage', filter);
    check(filter.D === this.D, fn, 'filter.D', `${this.D}`, filter.D);
    return filter.data.reshape([1, 1, ...filter.shape]);
  }

  /** ginjax convolve_with: output k = k + filter.k (image indices first), parities add. */
  convolveWith(filter: GeometricImage, options: F.ConvolveOptions = {}): GeometricImage {
    const y = tidy(() => {
      const r = F.convolve(this.data.reshape([1, 1, ...this.shape]), this.#filterData('convolveWith', filter), this.D, this.k, filter.k, this.isTorus, options);
      return r.reshape(r.shape.slice(2)); // inside the scope, so that r's handle is released
    });
    return this.#with(y, this.parity + filter.parity);
  }

  /** Convolution contracting the image's k indices with the filter's first k: output k = filter.k − k. */
  convolveContract(filter: GeometricImage, options: F.ConvolveOptions = {}): GeometricImage {
    const y = tidy(() => {
      const r = F.convolveContract(
        this.data.reshape([1, 1, ...this.shape]),
        this.#filterData('convolveContract', filter),
        this.D,
        this.k,
        filter.k,
        this.isTorus,
        options,
      );
      return r.reshape(r.shape.slice(2));
    });
    return this.#with(y, this.parity + filter.parity);
  }

  contract(i: number, j: number): GeometricImage {
    return this.multicontract([[i, j]]);
  }

  multicontract(pairs: readonly (readonly [number, number])[]): GeometricImage {
    check(this.k >= 2, 'contract', 'k', '>= 2', this.k);
    return this.#with(F.multicontract(this.data, this.D, this.k, pairs));
  }

  /** Contracts `indices` (D−1 of them) with the Levi-Civita symbol: k' = k − D + 2, parity + 1. */
  leviCivitaContract(indices: readonly number[]): GeometricImage {
    return this.#with(F.leviCivitaContract(this.data, this.D, this.k, indices), this.parity + 1);
  }

  /** Pixel Frobenius norms: a scalar image of parity 0. */
  norm(): GeometricImage {
    return this.#with(F.pixelNorm(this.data, this.k), 0);
  }

  /** Divides by the largest pixel norm when it exceeds TINY (no host read: stays asynchronous). */
  normalize(): GeometricImage {
    const y = tidy(() => {
      const m = maxReduce(F.pixelNorm(this.data, this.k));
      const big = step(addScalar(m, -TINY));
      const denom = addScalar(mulT(big, addScalar(m, -1)), 1); // m if m > TINY else 1
      return div(this.data, denom);
    });
    return this.#with(y);
  }

  /** Applies an elementwise function of Tensors to a scalar image (k = 0 only). */
  activation(f: (x: Tensor) => Tensor): GeometricImage {
    check(this.k === 0, 'activation', 'k', '0 (scalar images only)', this.k);
    return this.#with(f(this.data));
  }

  /**
   * g·x (g a group element or its name, see `groupElement`); for non-square images the spatial
   * axes permute, and the torus flags permute with them.
   * @example
   * const turned = image.timesGroupElement('rot90'); // or operators(2)[5]
   */
  timesGroupElement(element: GroupElement | string): GeometricImage {
    const g = toElement('timesGroupElement', 'group element', element, this.D);
    return this.#with(F.groupAction(this.data, this.D, this.k, this.parity, g), this.parity, F.actedTorus(this.isTorus, g));
  }

  /** ginjax max_pool: MultiImage's max-norm pool (`geometric.packedMaxPool`) on this one-channel image. */
  maxPool(patch: number, useNorm = true): GeometricImage {
    return this.#with(F.maxPool(this.data, this.D, this.k, patch, useNorm));
  }

  /** ginjax average_pool (`geometric.packedAveragePool`, as MultiImage). */
  averagePool(patch: number): GeometricImage {
    return this.#with(F.averagePool(this.data, this.D, this.k, patch));
  }

  /** Nearest-neighbour upsampling (`geometric.packedUnpool`, as MultiImage). */
  unpool(patch: number): GeometricImage {
    return this.#with(F.unpool(this.data, this.D, this.k, patch));
  }

  /**
   * The tensor at a pixel (D integer indices; taken modulo the spatial sizes, as ginjax's torus
   * `hash`), flat row-major over (D,)*k.
   */
  async pixel(index: readonly number[]): Promise<Float32Array> {
    check(index.length === this.D && index.every(Number.isInteger), 'pixel', 'index', `${this.D} integers`, index);
    const flat = index.reduce((acc, v, i) => acc * this.spatial[i]! + (((v % this.spatial[i]!) + this.spatial[i]!) % this.spatial[i]!), 0);
    const T = this.pixelSize;
    return (await this.data.data()).slice(flat * T, flat * T + T);
  }

  /**
   * The data, flat, row-major over [...spatial, (D,)*k]: the one way to read values (as on Tensor
   * and MultiImage). `image.data` is the underlying Tensor, not a read.
   * @example
   * const img = GeometricImage.fill({ N: 2, D: 2, fill: [1, 2] });
   * await img.values(); // Float32Array [1, 2, 1, 2, 1, 2, 1, 2]
   */
  values(): Promise<Float32Array> {
    return this.data.values();
  }

  /**
   * The data as nested arrays [...spatial, (D,)*k].
   * @example
   * await GeometricImage.fill({ N: 2, D: 2, fill: 3 }).array(); // [[3, 3], [3, 3]]
   */
  async array(): Promise<NestedNumbers> {
    return this.data.array();
  }

  /**
   * Logs the image (`toString()`'s text, read from any backend) and returns the text.
   * @example
   * await GeometricImage.zeros({ N: 2, D: 2, k: 1 }).print();
   */
  async print(options: PrintOptions = {}): Promise<string> {
    const text = `${this.#header()}\n${formatValues(await this.values(), this.shape, options)}`;
    console.log(text);
    return text;
  }

  /**
   * An SVG picture of the image (plotImage: heat map, arrows or tensor glyphs with axes and a colour
   * bar; D = 3 as z slices). k ≤ 2.
   * @example await writeFile('grad.svg', await image.plot({ title: '∇f' }))
   */
  async plot(options: PlotOptions = {}): Promise<string> {
    return plotImage(await this.data.data(), this.spatial, this.k, options);
  }

  /** ginjax __eq__: same D, spatial shape, k, parity, torus flags, and allclose(rtol, atol). */
  async equals(other: GeometricImage, rtol = TINY, atol = TINY): Promise<boolean> {
    if (other.D !== this.D || other.k !== this.k || other.parity !== this.parity) return false;
    if (!sameShape(other.shape, this.shape) || !sameShape(other.isTorus.map(Number), this.isTorus.map(Number))) return false;
    return valuesClose(this.data, other.data, rtol, atol);
  }

  dispose(): void {
    this.data.dispose();
  }

  #header(): string {
    return `GeometricImage(D=${this.D}, spatial=${show(this.spatial)}, k=${this.k}, parity=${this.parity}, isTorus=${show(this.isTorus)})`;
  }

  /**
   * The type (D, spatial shape, k, parity, torus flags) and, on CPU backends, the values numpy
   * style over [...spatial, (D,)*k] (summarised when large).
   * @example
   * console.log(String(GeometricImage.fill({ N: 2, D: 2, fill: 1 })));
   */
  toString(): string {
    if (this.data.disposed || !this.data.backend.readSync) return this.#header();
    return `${this.#header()}\n${formatValues(this.data.dataSync(), this.shape)}`;
  }
}
