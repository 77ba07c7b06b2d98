/**
 * Tensor: float32 data with a shape, stored by one backend. Storage is reference-counted so that
 * reshapes share it; `dispose()` releases this handle, and `tidy(fn)` disposes every tensor made
 * inside `fn` that `fn` does not return.
 */
import { getBackend, registerBackend, type Backend } from './backends/backend.js';
import { refBackend } from './backends/ref/index.js';
import { checkShape, checkSize, sizeOf, type Shape } from './core/shape.js';
import { argError, show } from './core/errors.js';
import { record } from './tape.js';

// `ref` is always available (ops before `init` fall back to it): registered where tensors are made,
// so that the backend registry itself imports no backend.
registerBackend(refBackend());

interface Storage {
  /** Mutable only so that `moveStorages` can move live data to a backend that replaces this one. */
  backend: Backend;
  data: unknown;
  readonly size: number;
  refs: number;
}

const live = { tensors: 0, bytes: 0 };
/** Every storage with live handles (for moving them when a backend is replaced by a re-init). */
const storages = new Set<Storage>();
const scopes: Set<Tensor>[] = [];

/**
 * float32 data with a shape, stored by one backend (wasm memory or a GPU buffer). Make one with `tensor()`, read it with `await t.values()` (or `array()`, `print()`); free it with `dispose()` or a `tidy` scope.
 * @example
 * const t = tensor([1, 2, 3, 4], [2, 2]);
 * console.log(await t.array()); // [[1, 2], [3, 4]]
 * t.dispose();
 */
export class Tensor {
  readonly shape: Shape;
  readonly size: number;
  #storage: Storage | null;

  /** @internal Use `tensor()`, `zeros()` or an op to make tensors. */
  constructor(shape: Shape, storage: Storage, scoped = true) {
    this.shape = Object.freeze([...shape]);
    this.size = storage.size;
    this.#storage = storage;
    storage.refs++;
    live.tensors++;
    if (scoped) scopes[scopes.length - 1]?.add(this);
  }

  /** @internal Another handle on the same storage, outside every tidy scope (the tape's). */
  hold(): Tensor {
    return new Tensor(this.shape, this.#live('hold'), false);
  }

  get backend(): Backend {
    return this.#live('backend').backend;
  }

  get disposed(): boolean {
    return this.#storage === null;
  }

  /** @internal The backend storage. */
  storage(): unknown {
    return this.#live('storage').data;
  }

  #live(what: string): Storage {
    if (!this.#storage) throw new Error(`Tensor.${what}: tensor of shape ${show(this.shape)} was disposed`);
    return this.#storage;
  }

  /**
   * Reads the data as a flat row-major Float32Array (waits for pending GPU work): THE way to read
   * a tensor, a GeometricImage or a MultiImage (`await x.values()`). The copy is the caller's.
   * @example
   * const t = tensor([1, 2, 3, 4], [2, 2]);
   * await t.values(); // Float32Array [1, 2, 3, 4]
   */
  values(): Promise<Float32Array> {
    const s = this.#live('values');
    return s.backend.read(s.data, s.size);
  }

  /**
   * The same as `values()` (its older name, kept for DESIGN.md's `await t.data()` and existing
   * code).
   * @example
   * const v = await tensor([1, 2]).data(); // Float32Array [1, 2]
   */
  data(): Promise<Float32Array> {
    const s = this.#live('data');
    return s.backend.read(s.data, s.size);
  }

  /**
   * The data as nested JS arrays following the shape (a number for shape []).
   * @example
   * await tensor([1, 2, 3, 4], [2, 2]).array(); // [[1, 2], [3, 4]]
   */
  async array(): Promise<NestedNumbers> {
    return nest(await this.values(), this.shape);
  }

  /**
   * Synchronous `values()`; CPU backends (ref, wasm) only (WebGPU reads are asynchronous).
   * @example
   * tensor([1, 2]).dataSync(); // Float32Array [1, 2]
   */
  dataSync(): Float32Array {
    const s = this.#live('dataSync');
    if (!s.backend.readSync) {
      throw new Error(`Tensor.dataSync: the ${s.backend.name} backend reads asynchronously; use await tensor.data()`);
    }
    return s.backend.readSync(s.data, s.size);
  }

  /** The same data with another shape of equal size; shares storage. */
  reshape(shape: Shape): Tensor {
    checkShape('reshape', 'shape', shape);
    if (sizeOf(shape) !== this.size) argError('reshape', 'shape', `of size ${this.size} (from ${show(this.shape)})`, shape);
    const y = new Tensor(shape, this.#live('reshape'));
    const from = this.shape;
    record([this], y, (dy) => [dy.reshape(from)]);
    return y;
  }

  dispose(): void {
    const s = this.#storage;
    if (!s) return;
    this.#storage = null;
    live.tensors--;
    if (--s.refs === 0) {
      live.bytes -= 4 * s.size;
      storages.delete(s);
      s.backend.free(s.data);
    }
  }

  [Symbol.dispose](): void {
    this.dispose();
  }

  /**
   * The shape, backend and the values, numpy style (large tensors summarised with "..."); the
   * values only where they can be read synchronously (ref, wasm; `print()` reads any backend).
   * @example
   * String(tensor([1, 2, 3, 4], [2, 2])); // 'Tensor([2,2], wasm)\n[[1, 2],\n [3, 4]]'
   */
  toString(): string {
    const head = `Tensor(${show(this.shape)}, ${this.#storage?.backend.name ?? 'disposed'})`;
    if (!this.#storage) return head;
    if (!this.#storage.backend.readSync) return `${head} (values on the device: await t.print())`;
    return `${head}\n${formatValues(this.dataSync(), this.shape)}`;
  }

  /**
   * Reads the values (any backend), logs the tensor as `toString()` does, and returns that text.
   * @example
   * await tensor([0.5, 1e-3]).print(); // logs 'Tensor([2], wasm)\n[0.5, 0.001]'
   */
  async print(options: PrintOptions = {}): Promise<string> {
    const head = `Tensor(${show(this.shape)}, ${this.#live('print').backend.name})`;
    const text = `${head}\n${formatValues(await this.values(), this.shape, options)}`;
    console.log(text);
    return text;
  }
}

/** Nested arrays of numbers, as `array()` returns them. */
export type NestedNumbers = number | NestedNumbers[];

/** Row-major flat values → nested arrays of `shape`. */
export function nest(values: ArrayLike<number>, shape: readonly number[]): NestedNumbers {
  const walk = (axis: number, offset: number, stride: number): NestedNumbers => {
    if (axis === shape.length) return values[offset]!;
    const n = shape[axis]!;
    const inner = stride / n;
    return Array.from({ length: n }, (_, i) => walk(axis + 1, offset + i * inner, inner));
  };
  return walk(
    0,
    0,
    shape.reduce((p, d) => p * d, 1),
  );
}

/** How `print` and `toString` lay values out (numpy's print options). */
export interface PrintOptions {
  /** Above this many elements, every axis longer than 2·edgeItems is cut to its ends (default 1000). */
  readonly threshold?: number;
  /** Entries kept at each end of a cut axis (default 3). */
  readonly edgeItems?: number;
  /** Digits after the decimal point at most (default 4; each value shows the digits it needs, points aligned). */
  readonly precision?: number;
}

/**
 * Formats row-major `values` of `shape` like numpy's array printing: nested brackets, columns of
 * one width with aligned decimal points, one common notation (fixed or exponential), and "..." for
 * the middle of long axes once the array has more than `threshold` elements. Unlike numpy, values
 * that are all whole numbers print without a decimal point ("1", not "1.").
 */
export function formatValues(values: ArrayLike<number>, shape: readonly number[], options: PrintOptions = {}): string {
  const { threshold = 1000, edgeItems = 3, precision = 4 } = options;
  const size = shape.reduce((p, d) => p * d, 1);
  const cut = size > threshold;
  const shown = (n: number): (number | null)[] =>
    cut && n > 2 * edgeItems
      ? [...Array.from({ length: edgeItems }, (_, i) => i), null, ...Array.from({ length: edgeItems }, (_, i) => n - edgeItems + i)]
      : Array.from({ length: n }, (_, i) => i);
  // the values that will be printed decide the number format
  const picked: number[] = [];
  const collect = (axis: number, offset: number, stride: number): void => {
    if (axis === shape.length) {
      picked.push(values[offset]!);
      return;
    }
    const inner = stride / shape[axis]!;
    for (const i of shown(shape[axis]!)) if (i !== null) collect(axis + 1, offset + i * inner, inner);
  };
  collect(0, 0, size);
  const fmt = numberFormat(picked, precision);
  const width = Math.max(1, ...picked.map((v) => fmt(v).length));
  const pad = (t: string) => t.padStart(width);
  const walk = (axis: number, offset: number, stride: number, indent: string): string => {
    if (axis === shape.length) return pad(fmt(values[offset]!));
    const inner = stride / shape[axis]!;
    const parts = shown(shape[axis]!).map((i) =>
      i === null ? (axis === shape.length - 1 ? pad('...') : '...') : walk(axis + 1, offset + i * inner, inner, `${indent} `),
    );
    const rest = shape.length - axis - 1;
    const sep = rest === 0 ? ', ' : `,${'\n'.repeat(rest)}${indent} `;
    return `[${parts.join(sep)}]`;
  };
  return size === 0 ? `[] (shape ${show(shape)})` : walk(0, 0, size, '');
}

/** One format for all `values`: integers plainly, else fixed or exponential notation. */
function numberFormat(values: readonly number[], precision: number): (v: number) => string {
  const special = (v: number) => (Number.isNaN(v) ? 'nan' : v > 0 ? 'inf' : '-inf');
  const finite = values.filter(Number.isFinite);
  if (finite.every(Number.isInteger) && finite.every((v) => Math.abs(v) < 1e16))
    return (v) => (Number.isFinite(v) ? (Object.is(v, -0) ? '-0' : String(v)) : special(v));
  const abs = finite.map(Math.abs).filter((v) => v > 0);
  const big = Math.max(0, ...abs);
  const small = Math.min(Infinity, ...abs);
  if (big >= 1e8 || small < 10 ** -precision || big / small >= 1e6) {
    return (v) => (Number.isFinite(v) ? v.toExponential(precision) : special(v));
  }
  // numpy's style: each value with the digits it needs (at most `precision`), decimal points aligned
  const parts = (v: number): [string, string] => {
    const [int, frac = ''] = v.toFixed(precision).replace(/0+$/, '').split('.');
    return [int!, `.${frac}`];
  };
  const split = finite.map(parts);
  const intWidth = Math.max(...split.map(([i]) => i.length));
  const fracWidth = Math.max(...split.map(([, f]) => f.length));
  return (v) => {
    if (!Number.isFinite(v)) return special(v);
    const [int, frac] = parts(v);
    return `${int.padStart(intWidth)}${frac.padEnd(fracWidth)}`;
  };
}

/** @internal Allocates uninitialised storage of `size` elements on `backend` and wraps it. */
export function allocTensor(shape: Shape, backend: Backend): Tensor {
  const size = checkSize('tensor', shape);
  let data: unknown;
  try {
    data = backend.alloc(size);
  } catch (e) {
    // typed-array, wasm-heap and GPU-buffer failures all become one clear message
    throw new RangeError(
      `tensor: cannot allocate ${size} elements (shape ${show(shape)}, ${((size * 4) / 2 ** 20).toFixed(1)} MiB of float32) on the ${backend.name} backend: ${e instanceof Error ? e.message : String(e)}`,
      { cause: e },
    );
  }
  const storage: Storage = { backend, data, size, refs: 0 };
  storages.add(storage);
  live.bytes += 4 * size;
  return new Tensor(shape, storage);
}

/** The kind of a value, for messages about data that is not numeric (never the whole value). */
function kindOf(v: unknown): string {
  if (v === null || (typeof v !== 'object' && typeof v !== 'function')) return `${show(v)} (${v === null ? 'null' : typeof v})`;
  const name = (v as object).constructor?.name ?? 'null-prototype object';
  return `${/^[AEIOU]/i.test(name) ? 'an' : 'a'} ${name}`;
}

/**
 * Refuses data that would be coerced silently (strings → NaN or a number, booleans → 0/1, holes,
 * BigInts): only an Array of numbers or a numeric typed array makes a tensor.
 */
function checkNumericData(fn: string, data: unknown): asserts data is ArrayLike<number> {
  if (ArrayBuffer.isView(data)) {
    if (data instanceof DataView || data instanceof BigInt64Array || data instanceof BigUint64Array) {
      throw new RangeError(`${fn}: data must be an Array of numbers or a numeric typed array (got ${kindOf(data)})`);
    }
    return;
  }
  if (!Array.isArray(data)) throw new RangeError(`${fn}: data must be an Array of numbers or a numeric typed array (got ${kindOf(data)})`);
  for (let i = 0; i < data.length; i++) {
    const v: unknown = data[i];
    if (typeof v !== 'number') throw new RangeError(`${fn}: data[${i}] must be a number (got ${i in data ? kindOf(v) : 'a hole'})`);
  }
}

/**
 * A tensor from data (copied) on the current backend (or `backend`): an Array of numbers or a
 * numeric typed array, with a shape (default: flat).
 * @example
 * const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
 * console.log(String(t)); // Tensor([2,3], wasm) and the values
 */
export function tensor(data: ArrayLike<number>, shape?: Shape, backend: Backend = getBackend()): Tensor {
  checkNumericData('tensor', data);
  shape ??= [data.length];
  checkShape('tensor', 'shape', shape);
  if (sizeOf(shape) !== data.length) argError('tensor', 'data length', `${sizeOf(shape)} for shape ${show(shape)}`, data.length);
  const t = allocTensor(shape, backend);
  backend.write(t.storage(), data instanceof Float64Array || data instanceof Float32Array ? data : Float32Array.from(data));
  return t;
}

/**
 * A tensor of `shape` with every entry `value`.
 * @example
 * const halves = full([2, 3], 0.5);
 */
export function full(shape: Shape, value: number, backend?: Backend): Tensor {
  checkShape('full', 'shape', shape);
  checkSize('full', shape);
  if (typeof value !== 'number') throw new RangeError(`full: value must be a number (got ${kindOf(value)})`);
  return tensor(new Float64Array(sizeOf(shape)).fill(value), shape, backend); // float64 so that ref keeps exact constants
}

/**
 * A tensor of zeros.
 * @example
 * const z = zeros([4, 4]);
 */
export function zeros(shape: Shape, backend?: Backend): Tensor {
  return full(shape, 0, backend);
}

/**
 * A rank-0 tensor.
 * @example
 * const two = scalar(2); // shape []
 */
export function scalar(value: number, backend?: Backend): Tensor {
  return tensor([value], [], backend);
}

/**
 * @internal Moves the data of every live tensor stored by `from` to `to` (a CPU backend that
 * replaces `from`, as `init` does when the wasm backend restarts with other threads): the tensors
 * keep their identity and handles, only their storage changes. Returns how many storages moved.
 */
export function moveStorages(from: Backend, to: Backend): number {
  if (!from.readSync) throw new Error(`moveStorages: the ${from.name} backend cannot be read synchronously`);
  let moved = 0;
  for (const s of storages) {
    if (s.backend !== from) continue;
    const values = from.readSync(s.data, s.size);
    const data = to.alloc(s.size);
    to.write(data, values);
    from.free(s.data);
    s.backend = to;
    s.data = data;
    moved++;
  }
  return moved;
}

/**
 * Live tensor handles and bytes of live storage, over all backends.
 * @example
 * const before = memory();
 * tidy(() => add(tensor([1]), tensor([2])));
 * memory().tensors === before.tensors; // true: nothing leaked
 */
export function memory(): { tensors: number; bytes: number } {
  return { ...live };
}

/** Every Tensor reachable from `value` through arrays, maps and object fields. */
export function collectTensors(value: unknown, into = new Set<Tensor>(), seen = new Set<object>()): Set<Tensor> {
  if (value instanceof Tensor) into.add(value);
  else if (value !== null && typeof value === 'object' && !seen.has(value) && !ArrayBuffer.isView(value)) {
    seen.add(value);
    const items = value instanceof Map ? value.values() : Object.values(value);
    for (const v of items) collectTensors(v, into, seen);
  }
  return into;
}

/**
 * Runs `fn` and disposes every tensor created during it, except those reachable from its result
 * (and those passed to `keep`). Nested scopes hand surviving tensors to the enclosing scope.
 * @example
 * const y = tidy(() => relu(add(x, scalar(1)))); // the temporaries are freed, y survives
 */
export function tidy<T>(fn: () => T): T {
  // Tensors made after an `await` run outside this scope (it has closed by then), so an async fn
  // cannot be tidied: refused before it runs anything.
  const kind = typeof fn === 'function' ? fn.constructor?.name : undefined;
  if (kind === 'AsyncFunction' || kind === 'AsyncGeneratorFunction') {
    throw new TypeError('tidy: fn must be synchronous (got an async function); tidy the synchronous parts, or dispose what an async function makes yourself');
  }
  if (typeof fn !== 'function') throw new TypeError(`tidy: fn must be a function (got ${kindOf(fn)})`);
  const scope = new Set<Tensor>();
  scopes.push(scope);
  let result: T;
  try {
    result = fn();
  } catch (e) {
    for (const t of scope) if (!keptForever.has(t)) t.dispose();
    throw e;
  } finally {
    scopes.pop();
  }
  if (isThenable(result)) {
    // A plain function that returned a promise (e.g. a transpiled async function): detectable only
    // now. What it made before its first await is disposed; its rejection is left to nobody.
    for (const t of scope) if (!keptForever.has(t)) t.dispose();
    Promise.resolve(result).catch(() => undefined);
    throw new TypeError('tidy: fn must be synchronous (it returned a Promise); the tensors it made before its first await were disposed');
  }
  const kept = collectTensors(result);
  const outer = scopes[scopes.length - 1];
  for (const t of scope) {
    if (kept.has(t) || keptForever.has(t)) outer?.add(t);
    else t.dispose();
  }
  return result;
}

const keptForever = new WeakSet<Tensor>();

function isThenable(v: unknown): v is PromiseLike<unknown> {
  return v instanceof Promise || (v !== null && typeof v === 'object' && typeof (v as { then?: unknown }).then === 'function');
}

/**
 * Runs `fn`; if it throws, disposes every tensor made during it (except those passed to `keep`),
 * so that a half-finished construction leaks nothing. On success everything it made survives and
 * belongs to the enclosing tidy scope, as if `fn` had run there directly.
 */
export function disposeIfThrows<T>(fn: () => T): T {
  const scope = new Set<Tensor>();
  scopes.push(scope);
  try {
    return fn();
  } catch (e) {
    for (const t of scope) if (!keptForever.has(t)) t.dispose();
    scope.clear();
    throw e;
  } finally {
    scopes.pop();
    const outer = scopes[scopes.length - 1];
    if (outer) for (const t of scope) outer.add(t);
  }
}

/**
 * Excludes `t` from disposal by enclosing `tidy` scopes.
 * @example
 * let cache: Tensor;
 * tidy(() => { cache = keep(tensor([1, 2])); }); // survives the scope
 */
export function keep<T extends Tensor>(t: T): T {
  keptForever.add(t);
  return t;
}
