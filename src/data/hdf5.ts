/**
 * A thin typed layer over h5wasm (the HDF5 C library compiled to wasm), loaded lazily: nothing here
 * runs until a file is opened, so the core library never loads HDF5.
 *
 * - Node and Deno use `h5wasm/node`, whose file system is the host's (Emscripten NODERAWFS): a path
 *   is opened in place and a hyperslab reads only the bytes (chunks) it needs, so a slice of a file
 *   of tens of GB costs the slice. Bytes are written to a private temporary file first.
 * - Browsers use the ESM build of `h5wasm` (its wasm is embedded); bytes go into its in-memory file
 *   system and are removed on close.
 *
 * HDF5 reports errors through a handler that h5wasm can make throw; we switch it on only around our
 * own calls (other users of h5wasm in the process keep theirs) and turn HDF5's error stacks into
 * one-line messages that name the file and dataset.
 */
import type * as H5 from 'h5wasm';
import { check, checkInt, show } from '../core/errors.js';
import { SimulationFileError, summarizeHdf5Error } from './errors.js';
import { allBytes, hasNodeFs, loadNodeFs, resolveSource, type FileSource, type Resolved } from './source.js';

type Lib = typeof H5;
interface Loaded {
  readonly lib: Lib;
  readonly module: Awaited<Lib['ready']>;
  /** True for the Node build (host file system). */
  readonly host: boolean;
}

let loading: Promise<Loaded> | undefined;

/** Loads h5wasm once (the Node build under Node/Deno, the ESM build in browsers). */
export function loadH5wasm(): Promise<Loaded> {
  return (loading ??= (async () => {
    let lib: Lib;
    let host = false;
    if (hasNodeFs() && envAllowed()) {
      const spec = 'h5wasm/node';
      lib = (await import(/* @vite-ignore */ /* webpackIgnore: true */ spec)) as Lib;
      host = true;
    } else {
      lib = await import('h5wasm');
    }
    const module = await lib.ready;
    return { lib, module, host };
  })().catch((e) => {
    loading = undefined;
    throw new Error(`geoconv: cannot load h5wasm (the HDF5 reader): ${e instanceof Error ? e.message : String(e)}`, { cause: e });
  }));
}

/**
 * h5wasm's Node build reads the environment when it starts; Deno asks for --allow-env for that.
 * Without it we use the ESM build over an in-memory file system (whole files are read into memory).
 */
function envAllowed(): boolean {
  const deno = (globalThis as { Deno?: { permissions?: { querySync?: (d: { name: string }) => { state: string } } } }).Deno;
  if (!deno?.permissions?.querySync) return true;
  try {
    return deno.permissions.querySync({ name: 'env' }).state === 'granted';
  } catch {
    return false;
  }
}

/** Runs `fn` with h5wasm's throwing HDF5 error handler, restoring the default one after. */
function guarded<T>(m: Loaded, fn: () => T): T {
  m.module.activate_throwing_error_handler();
  try {
    return fn();
  } finally {
    m.module.deactivate_throwing_error_handler();
  }
}

/** Element type of an HDF5 dataset as the reader reports it (`other` for compound, enum, …). */
export type Dtype = 'float16' | 'float32' | 'float64' | 'int8' | 'int16' | 'int32' | 'int64' | 'uint8' | 'uint16' | 'uint32' | 'uint64' | 'string' | 'other';

/** What `Hdf5File.info` reports about one dataset: name, shape, element type, attributes. */
export interface DatasetInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
  /** Chunk shape, or null for contiguous/compact storage. */
  readonly chunks: readonly number[] | null;
  /** Filter names in pipeline order (e.g. ["deflate"] for gzip). */
  readonly filters: readonly string[];
}

/** An HDF5 attribute value as read or written. */
export type AttrValue = number | string | boolean | readonly number[] | readonly string[];

/** A [start, end) range along one axis; null means the whole axis. */
export type AxisRange = readonly [number, number] | null;

function dtypeOf(meta: H5.Metadata): Dtype {
  if (meta.type === 1) return meta.size === 4 ? 'float32' : meta.size === 8 ? 'float64' : meta.size === 2 ? 'float16' : 'other';
  if (meta.type === 0) {
    const bits = meta.size * 8;
    return ([8, 16, 32, 64].includes(bits) ? `${meta.signed ? 'int' : 'uint'}${bits}` : 'other') as Dtype;
  }
  if (meta.type === 3) return 'string';
  return 'other';
}

export const isFloat = (d: Dtype) => d === 'float32' || d === 'float64';
export const isNumeric = (d: Dtype) => d !== 'string' && d !== 'other' && d !== 'float16';

function toAttr(v: unknown): AttrValue | undefined {
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  if (typeof v === 'bigint') return Number(v);
  if (ArrayBuffer.isView(v) && !(v instanceof DataView)) {
    const arr = Array.from(v as unknown as ArrayLike<number | bigint>, Number);
    return arr.length === 1 ? arr[0]! : arr;
  }
  if (Array.isArray(v) && v.every((x) => typeof x === 'string')) return v.length === 1 ? v[0] : v;
  if (Array.isArray(v) && v.every((x) => typeof x === 'number')) return v.length === 1 ? v[0] : v;
  return undefined;
}

/** Options of `Hdf5File.open`. */
export interface OpenOptions {
  /** Labels bytes in error messages (default: "<N bytes>"). */
  readonly name?: string;
}

/**
 * An open HDF5 file (or NetCDF-4 file, which is HDF5). Close it: it holds wasm memory and a file handle.
 * @example
 * const file = await Hdf5File.open('run.h5');
 * console.log(file.datasets(), file.info('density').shape);
 * const rho = file.read('density', [[0, 1]]); // the first entry of axis 0
 * await file.close();
 */
export class Hdf5File {
  readonly file: string;
  #m: Loaded;
  #f: H5.File | null;
  #cleanup: () => Promise<void> | void;

  private constructor(label: string, m: Loaded, f: H5.File, cleanup: () => Promise<void> | void) {
    this.file = label;
    this.#m = m;
    this.#f = f;
    this.#cleanup = cleanup;
  }

  /** Opens a source read-only. Errors (missing, not HDF5, truncated) name the file. */
  static async open(source: FileSource, { name }: OpenOptions = {}): Promise<Hdf5File> {
    const r = await resolveSource('Hdf5File.open', source, name);
    return Hdf5File.openResolved(r);
  }

  /** @internal Opens an already resolved source (used by openSimulationFile). */
  static async openResolved(r: Resolved): Promise<Hdf5File> {
    const fn = 'Hdf5File.open';
    const m = await loadH5wasm();
    let path: string;
    let cleanup: () => Promise<void> | void = () => undefined;
    if (r.path !== undefined && !m.host) {
      return Hdf5File.openResolved({ label: r.label, bytes: await allBytes(fn, r) });
    }
    if (r.path !== undefined) {
      path = r.path;
      const fs = await loadNodeFs();
      try {
        const st = await fs.stat(path);
        if (!st.isFile()) throw new SimulationFileError(fn, r.label, undefined, 'not a regular file');
      } catch (e) {
        if (e instanceof SimulationFileError) throw e;
        const code = (e as { code?: string }).code;
        throw new SimulationFileError(fn, r.label, undefined, code === 'ENOENT' ? 'no such file' : `cannot read the file (${code ?? String(e)})`, e);
      }
    } else if (m.host) {
      const fs = await loadNodeFs();
      path = await fs.writeTemp(r.bytes!);
      cleanup = () => fs.removeQuietly(path);
    } else {
      path = `/geoconv-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}.h5`;
      m.lib.FS!.writeFile(path, r.bytes!);
      cleanup = () => m.lib.FS!.unlink(path);
    }
    let f: H5.File;
    try {
      f = guarded(m, () => new m.lib.File(path, 'r'));
    } catch (e) {
      await cleanup();
      throw new SimulationFileError(fn, r.label, undefined, `cannot open as HDF5 (${summarizeHdf5Error(e)})`, e);
    }
    return new Hdf5File(r.label, m, f, cleanup);
  }

  #file(fn: string): H5.File {
    if (!this.#f) throw new SimulationFileError(fn, this.file, undefined, 'the file is closed');
    return this.#f;
  }

  /** Paths of every dataset, depth first ("group/name" for nested ones, no leading slash). */
  datasets(): string[] {
    const f = this.#file('Hdf5File.datasets');
    const out: string[] = [];
    const walk = (g: H5.Group, prefix: string) => {
      for (const key of guarded(this.#m, () => g.keys())) {
        const e = guarded(this.#m, () => g.get(key));
        if (e instanceof this.#m.lib.Dataset) out.push(prefix + key);
        else if (e instanceof this.#m.lib.Group) walk(e, `${prefix}${key}/`);
      }
    };
    walk(f, '');
    return out;
  }

  has(name: string): boolean {
    const f = this.#file('Hdf5File.has');
    try {
      return guarded(this.#m, () => f.get(name)) instanceof this.#m.lib.Dataset;
    } catch {
      return false;
    }
  }

  #dataset(fn: string, name: string): H5.Dataset {
    const f = this.#file(fn);
    let e: unknown;
    try {
      e = guarded(this.#m, () => f.get(name));
    } catch (err) {
      throw new SimulationFileError(fn, this.file, name, `cannot open the dataset (${summarizeHdf5Error(err)})`, err);
    }
    if (!(e instanceof this.#m.lib.Dataset)) {
      const have = this.datasets();
      throw new SimulationFileError(
        fn,
        this.file,
        name,
        `${e ? 'is not a dataset' : 'not found'} (the file has ${have.length ? have.map((s) => JSON.stringify(s)).join(', ') : 'no datasets'})`,
      );
    }
    return e;
  }

  info(name: string): DatasetInfo {
    const fn = 'Hdf5File.info';
    const d = this.#dataset(fn, name);
    try {
      const meta = guarded(this.#m, () => d.metadata);
      const filters = guarded(this.#m, () => d.filters).map((x) => x.name);
      return {
        name,
        shape: Object.freeze([...(meta.shape ?? [])]),
        dtype: dtypeOf(meta),
        chunks: meta.chunks ? Object.freeze([...meta.chunks]) : null,
        filters: Object.freeze(filters),
      };
    } catch (err) {
      throw new SimulationFileError(fn, this.file, name, `cannot read the dataset's metadata (${summarizeHdf5Error(err)})`, err);
    }
  }

  /** Attributes of a dataset or group (the root by default), as numbers, strings or arrays; other types are left out. */
  attrs(name = '/'): Record<string, AttrValue> {
    const fn = 'Hdf5File.attrs';
    const f = this.#file(fn);
    try {
      const obj = name === '/' ? f : guarded(this.#m, () => f.get(name));
      if (!obj || !('attrs' in obj)) throw new SimulationFileError(fn, this.file, name, 'not found');
      const out: Record<string, AttrValue> = {};
      const attrs = guarded(this.#m, () => (obj as H5.Group).attrs);
      for (const [k, a] of Object.entries(attrs)) {
        let v: AttrValue | undefined;
        try {
          v = toAttr(guarded(this.#m, () => a.value));
        } catch {
          v = undefined; // references, compounds: not needed here
        }
        if (v !== undefined) out[k] = v;
      }
      return out;
    } catch (err) {
      if (err instanceof SimulationFileError) throw err;
      throw new SimulationFileError(fn, this.file, name, `cannot read attributes (${summarizeHdf5Error(err)})`, err);
    }
  }

  /**
   * Reads a hyperslab (`ranges[i]` = [start, end) along axis i, null or missing = whole axis) of a
   * numeric dataset, row-major, as Float32Array — or Float64Array for float64/int data when
   * `float64` is set. Only the chunks that intersect the slab are read from disk.
   */
  read(
    name: string,
    ranges: readonly AxisRange[] = [],
    { float64 = false, floatOnly = true }: { float64?: boolean; floatOnly?: boolean } = {},
  ): Float32Array | Float64Array {
    const fn = 'Hdf5File.read';
    const d = this.#dataset(fn, name);
    const info = this.info(name);
    if (floatOnly ? !isFloat(info.dtype) : !isNumeric(info.dtype)) {
      throw new SimulationFileError(fn, this.file, name, `has dtype ${info.dtype}; expected ${floatOnly ? 'float32 or float64' : 'a numeric type'}`);
    }
    check(
      ranges.length <= info.shape.length,
      fn,
      `ranges of ${JSON.stringify(name)}`,
      `at most ${info.shape.length} ranges (its shape is ${show(info.shape)})`,
      ranges.length,
    );
    const sel = info.shape.map((n, i) => {
      const r = ranges[i] ?? null;
      if (r === null) return [0, n] as const;
      checkInt(fn, `ranges[${i}][0]`, r[0]);
      checkInt(fn, `ranges[${i}][1]`, r[1]);
      if (!(r[0] < r[1] && r[1] <= n)) {
        throw new SimulationFileError(fn, this.file, name, `range [${r[0]}, ${r[1]}) of axis ${i} is outside its size ${n} (shape ${show(info.shape)})`);
      }
      return [r[0], r[1]] as const;
    });
    let out: unknown;
    try {
      const whole = sel.every(([a, b], i) => a === 0 && b === info.shape[i]);
      out = guarded(this.#m, () => (whole ? d.value : d.slice(sel.map(([a, b]) => [a, b] as [number, number]))));
    } catch (err) {
      throw new SimulationFileError(fn, this.file, name, `cannot read the data: the file may be truncated or corrupt (${summarizeHdf5Error(err)})`, err);
    }
    const count = sel.reduce((p, [a, b]) => p * (b - a), 1);
    if (!ArrayBuffer.isView(out) || (out as unknown as ArrayLike<number>).length !== count) {
      throw new SimulationFileError(
        fn,
        this.file,
        name,
        `h5wasm returned ${ArrayBuffer.isView(out) ? `${(out as unknown as ArrayLike<number>).length} values` : typeof out}, expected ${count} numbers`,
      );
    }
    if (out instanceof Float32Array && !float64) return out;
    if (out instanceof Float64Array && float64) return out;
    const src = out as unknown as ArrayLike<number | bigint>;
    const dst = float64 ? new Float64Array(count) : new Float32Array(count);
    for (let i = 0; i < count; i++) dst[i] = Number(src[i]);
    return dst;
  }

  /** Frees the HDF5 handle and any temporary/in-memory copy of the bytes. Safe to call twice. */
  async close(): Promise<void> {
    const f = this.#f;
    if (!f) return;
    this.#f = null;
    try {
      guarded(this.#m, () => f.close());
    } finally {
      await this.#cleanup();
    }
  }
}

/** One dataset to write. */
export interface Hdf5DatasetSpec {
  /** Path inside the file ("a" or "group/a"; groups are created). */
  readonly name: string;
  readonly data: Float32Array | Float64Array | Int32Array;
  readonly shape: readonly number[];
  /** Chunk shape (needed for compression). */
  readonly chunks?: readonly number[];
  /** gzip level 1..9 (requires chunks). */
  readonly gzip?: number;
  readonly attrs?: Readonly<Record<string, number | string>>;
}

/**
 * Writes an HDF5 file. With a path (Node/Deno) the file appears atomically: it is written to a
 * temporary file beside the target, flushed and renamed over it, so a reader never sees half a file.
 * Without a path the file is built in memory (a temporary file under Node/Deno) and its bytes returned.
 * @example
 * await writeHdf5('fields.h5', [
 *   { name: 'density', data: new Float32Array(4 * 64 * 64), shape: [4, 64, 64], chunks: [1, 64, 64], gzip: 4 },
 *   { name: 'coords/x', data: new Float64Array(64), shape: [64] },
 * ], { source: 'my simulator' });
 * const bytes = await writeHdf5(undefined, [{ name: 'a', data: new Float32Array([1, 2, 3]), shape: [3] }]); // in memory
 */
export async function writeHdf5(
  path: string | undefined,
  datasets: readonly Hdf5DatasetSpec[],
  attrs: Readonly<Record<string, number | string | readonly number[]>> = {},
): Promise<Uint8Array | undefined> {
  const fn = 'writeHdf5';
  check(path === undefined || (typeof path === 'string' && path.length > 0), fn, 'path', 'a non-empty string or undefined', path);
  check(Array.isArray(datasets), fn, 'datasets', 'an array', datasets);
  const seen = new Set<string>();
  for (const [i, d] of datasets.entries()) {
    check(typeof d?.name === 'string' && /^[^/]+(\/[^/]+)*$/.test(d.name), fn, `datasets[${i}].name`, 'a path like "a" or "group/a"', d?.name);
    check(!seen.has(d.name), fn, `datasets[${i}].name`, 'unique', d.name);
    seen.add(d.name);
    check(
      d.data instanceof Float32Array || d.data instanceof Float64Array || d.data instanceof Int32Array,
      fn,
      `datasets[${i}].data`,
      'a Float32Array, Float64Array or Int32Array',
      d.data?.constructor?.name,
    );
    check(Array.isArray(d.shape) && d.shape.every((n: number) => Number.isInteger(n) && n >= 1), fn, `datasets[${i}].shape`, 'positive integers', d.shape);
    const size = d.shape.reduce((a: number, b: number) => a * b, 1);
    check(size === d.data.length, fn, `datasets[${i}].data length`, `${size} (shape ${show(d.shape)})`, d.data.length);
    if (d.chunks !== undefined) {
      check(
        Array.isArray(d.chunks) &&
          d.chunks.length === d.shape.length &&
          d.chunks.every((c: number, j: number) => Number.isInteger(c) && c >= 1 && c <= d.shape[j]!),
        fn,
        `datasets[${i}].chunks`,
        `${d.shape.length} integers within the shape ${show(d.shape)}`,
        d.chunks,
      );
    }
    if (d.gzip !== undefined) {
      check(Number.isInteger(d.gzip) && d.gzip >= 1 && d.gzip <= 9, fn, `datasets[${i}].gzip`, 'an integer level 1..9', d.gzip);
      check(d.chunks !== undefined, fn, `datasets[${i}].chunks`, 'given when gzip is (HDF5 compresses chunks)', d.chunks);
    }
  }
  const m = await loadH5wasm();
  if (path !== undefined && !hasNodeFs()) argErrorPath(fn, path);
  // The Node build writes the host file system; the ESM build (browsers; Deno without --allow-env)
  // builds the file in memory, whose bytes then go to the path, if any, atomically.
  const fs = m.host ? await loadNodeFs() : undefined;
  const tmp = fs
    ? path !== undefined
      ? fs.tempBeside(path)
      : fs.tempPath()
    : `/geoconv-out-${Date.now().toString(36)}-${Math.random().toString(36).slice(2, 10)}.h5`;
  let f: H5.File | null = null;
  const label = path ?? '<in memory>';
  try {
    f = guarded(m, () => new m.lib.File(tmp, 'w'));
    const file = f;
    guarded(m, () => {
      for (const [k, v] of Object.entries(attrs))
        file.create_attribute(k, (typeof v === 'string' || typeof v === 'number' ? v : Float64Array.from(v as readonly number[])) as H5.GuessableDataTypes);
      const groups = new Set<string>();
      for (const d of datasets) {
        const parts = d.name.split('/');
        for (let j = 1; j < parts.length; j++) {
          const g = parts.slice(0, j).join('/');
          if (!groups.has(g)) {
            file.create_group(g);
            groups.add(g);
          }
        }
        const ds = file.create_dataset({
          name: d.name,
          data: d.data,
          shape: [...d.shape],
          ...(d.chunks ? { chunks: [...d.chunks] } : {}),
          ...(d.gzip ? { compression: 'gzip' as const, compression_opts: d.gzip } : {}),
        });
        for (const [k, v] of Object.entries(d.attrs ?? {})) ds.create_attribute(k, v as number | string);
      }
    });
    guarded(m, () => file.close());
    f = null;
    if (fs) {
      if (path !== undefined) {
        await fs.commit(tmp, path);
        return undefined;
      }
      const bytes = new Uint8Array(await fs.readFile(tmp));
      await fs.removeQuietly(tmp);
      return bytes;
    }
    const bytes = m.lib.FS!.readFile(tmp) as Uint8Array;
    m.lib.FS!.unlink(tmp);
    if (path === undefined) return bytes;
    const nfs = await loadNodeFs();
    const side = nfs.tempBeside(path);
    try {
      await nfs.writeTempAt(side, bytes);
      await nfs.commit(side, path);
    } catch (e) {
      await nfs.removeQuietly(side);
      throw e;
    }
    return undefined;
  } catch (e) {
    if (f) {
      const open = f;
      try {
        guarded(m, () => open.close());
      } catch {
        // already failing
      }
    }
    if (fs) await fs.removeQuietly(tmp);
    else {
      try {
        m.lib.FS!.unlink(tmp);
      } catch {
        // never created
      }
    }
    if (e instanceof SimulationFileError) throw e;
    const code = (e as { code?: string }).code;
    throw new SimulationFileError(
      fn,
      label,
      undefined,
      `cannot write the file${code ? ` (${code})` : ''}: ${summarizeHdf5Error(e)}${path !== undefined ? '; any previous file there is unchanged' : ''}`,
      e,
    );
  }
}

function argErrorPath(fn: string, path: string): never {
  throw new SimulationFileError(fn, path, undefined, 'writing to a path needs Node or Deno; in a browser pass undefined to get the bytes');
}
