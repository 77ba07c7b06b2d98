/**
 * One small interface over the simulation file formats, chosen by magic bytes (never by extension):
 * - HDF5, and NetCDF-4 (which is HDF5 underneath: variables are datasets, dimension scales such as
 *   `lat`/`lon` are ordinary datasets) → the HDF5 layer (hyperslabs read only what they need);
 * - NetCDF-3 classic / 64-bit offset (`CDF\x01` / `CDF\x02`) → netcdfjs parses the header; the
 *   values of a fixed-size variable are decoded straight from its offset (big-endian), only the
 *   requested leading-axis rows; record variables go through netcdfjs's own reader.
 */
import type { NetCDFReader } from 'netcdfjs';
import { show } from '../core/errors.js';
import { SimulationFileError } from './errors.js';
import { Hdf5File, isFloat, isNumeric, type AttrValue, type AxisRange, type Dtype } from './hdf5.js';
import { allBytes, headBytes, resolveSource, type FileSource } from './source.js';

/** One variable of a simulation file: its name, shape, dimension names and attributes. */
export interface VariableInfo {
  readonly name: string;
  readonly shape: readonly number[];
  readonly dtype: Dtype;
}

/** Options of `SimulationFile.read` (exported as VariableReadOptions). */
export interface ReadOptions {
  /** Return Float64Array (default Float32Array). */
  readonly float64?: boolean;
  /** Refuse non-float variables (default true: simulation fields must be float32/float64). */
  readonly floatOnly?: boolean;
}

/** An open simulation file; close it when done. */
export interface SimulationFile {
  readonly file: string;
  readonly format: 'hdf5' | 'netcdf3';
  /** Dataset/variable names. */
  variables(): string[];
  has(name: string): boolean;
  info(name: string): VariableInfo;
  /** A box of a variable (ranges per axis, [start, end) or null = all), row-major. */
  read(name: string, ranges?: readonly AxisRange[], options?: ReadOptions): Float32Array | Float64Array;
  /** Attributes of a variable, or the global/root ones without a name. */
  attrs(name?: string): Record<string, AttrValue>;
  close(): Promise<void>;
}

const HDF5_MAGIC = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];

/**
 * 'hdf5', 'netcdf3', 'cdf5' or null, from the first bytes (HDF5's superblock may sit at 0, 512, 1024, …).
 * @example
 * const head = new Uint8Array(await (await fetch('data.nc')).arrayBuffer()).subarray(0, 4096);
 * detectFormat(head); // 'netcdf3', 'cdf5', 'hdf5' (NetCDF-4 included) or null
 */
export function detectFormat(head: Uint8Array): 'hdf5' | 'netcdf3' | 'cdf5' | null {
  for (let off = 0; off + 8 <= head.length; off = off === 0 ? 512 : off * 2) {
    if (HDF5_MAGIC.every((b, i) => head[off + i] === b)) return 'hdf5';
  }
  if (head[0] === 0x43 && head[1] === 0x44 && head[2] === 0x46) {
    if (head[3] === 1 || head[3] === 2) return 'netcdf3';
    if (head[3] === 5) return 'cdf5';
  }
  return null;
}

/**
 * Opens an HDF5 / NetCDF-4 / NetCDF-3 file. `name` labels bytes in messages.
 * @example
 * const file = await openSimulationFile('shallow_water.nc');
 * console.log(file.variables(), file.info('u').shape);
 * const u = file.read('u', [[0, 1], [0, 10]]); // trajectory 0, the first 10 time steps
 * await file.close();
 */
export async function openSimulationFile(source: FileSource, { name }: { name?: string } = {}): Promise<SimulationFile> {
  const fn = 'openSimulationFile';
  const r = await resolveSource(fn, source, name);
  const head = await headBytes(fn, r, 4096 + 8);
  if (head.length === 0) throw new SimulationFileError(fn, r.label, undefined, 'the file is empty');
  const fmt = detectFormat(head);
  if (fmt === 'hdf5') return new Hdf5Sim(await Hdf5File.openResolved(r));
  if (fmt === 'netcdf3') return NetCdf3File.fromBytes(r.label, await allBytes(fn, r));
  if (fmt === 'cdf5')
    throw new SimulationFileError(
      fn,
      r.label,
      undefined,
      'a NetCDF-3 CDF-5 (64-bit data) file, which netcdfjs cannot read; convert it to NetCDF-4 (nccopy -k nc4)',
    );
  const first = Array.from(head.subarray(0, 4), (b) => b.toString(16).padStart(2, '0')).join(' ');
  throw new SimulationFileError(
    fn,
    r.label,
    undefined,
    `not an HDF5 or NetCDF file (it starts with bytes ${first}; expected "\\x89HDF" or "CDF\\x01"/"CDF\\x02")`,
  );
}

class Hdf5Sim implements SimulationFile {
  readonly format = 'hdf5' as const;
  constructor(readonly h: Hdf5File) {}
  get file(): string {
    return this.h.file;
  }
  variables(): string[] {
    return this.h.datasets();
  }
  has(name: string): boolean {
    return this.h.has(name);
  }
  info(name: string): VariableInfo {
    const { shape, dtype } = this.h.info(name);
    return { name, shape, dtype };
  }
  read(name: string, ranges: readonly AxisRange[] = [], options: ReadOptions = {}): Float32Array | Float64Array {
    return this.h.read(name, ranges, options);
  }
  attrs(name?: string): Record<string, AttrValue> {
    return this.h.attrs(name);
  }
  close(): Promise<void> {
    return this.h.close();
  }
}

const NC_TYPES: Record<string, { dtype: Dtype; bytes: number }> = {
  byte: { dtype: 'int8', bytes: 1 },
  char: { dtype: 'string', bytes: 1 },
  short: { dtype: 'int16', bytes: 2 },
  int: { dtype: 'int32', bytes: 4 },
  float: { dtype: 'float32', bytes: 4 },
  double: { dtype: 'float64', bytes: 8 },
};

/** Copies the box `ranges` out of a row-major array of `shape`. */
export function selectBox(
  data: ArrayLike<number>,
  shape: readonly number[],
  ranges: readonly (readonly [number, number])[],
  out: Float32Array | Float64Array,
): void {
  const rank = shape.length;
  if (rank === 0) {
    out[0] = data[0]!;
    return;
  }
  const strides = new Array<number>(rank);
  strides[rank - 1] = 1;
  for (let i = rank - 2; i >= 0; i--) strides[i] = strides[i + 1]! * shape[i + 1]!;
  const [l0, l1] = ranges[rank - 1]!;
  const inner = l1 - l0;
  const idx = ranges.map(([a]) => a);
  let o = 0;
  for (;;) {
    let base = 0;
    for (let i = 0; i < rank; i++) base += idx[i]! * strides[i]!;
    for (let j = 0; j < inner; j++) out[o++] = data[base + j]!;
    let ax = rank - 2;
    while (ax >= 0) {
      idx[ax]!++;
      if (idx[ax]! < ranges[ax]![1]) break;
      idx[ax] = ranges[ax]![0];
      ax--;
    }
    if (ax < 0) return;
  }
}

class NetCdf3File implements SimulationFile {
  readonly format = 'netcdf3' as const;
  #reader: NetCDFReader | null;
  #bytes: Uint8Array;

  private constructor(
    readonly file: string,
    reader: NetCDFReader,
    bytes: Uint8Array,
  ) {
    this.#reader = reader;
    this.#bytes = bytes;
  }

  static async fromBytes(label: string, bytes: Uint8Array): Promise<NetCdf3File> {
    const { NetCDFReader } = await import('netcdfjs');
    let reader: NetCDFReader;
    try {
      reader = new NetCDFReader(bytes);
    } catch (e) {
      throw new SimulationFileError(
        'openSimulationFile',
        label,
        undefined,
        `cannot parse the NetCDF-3 header: the file may be truncated or corrupt (netcdfjs: ${e instanceof Error ? e.message : String(e)})`,
        e,
      );
    }
    return new NetCdf3File(label, reader, bytes);
  }

  #r(fn: string): NetCDFReader {
    if (!this.#reader) throw new SimulationFileError(fn, this.file, undefined, 'the file is closed');
    return this.#reader;
  }

  #variable(fn: string, name: string) {
    const r = this.#r(fn);
    const v = r.variables.find((x) => x.name === name);
    if (!v) {
      const have = r.variables.map((x) => JSON.stringify(x.name)).join(', ');
      const dimOnly = r.dimensions.some((d) => d.name === name) ? ' (a dimension without a coordinate variable)' : '';
      throw new SimulationFileError(fn, this.file, name, `not found${dimOnly} (the file has ${have || 'no variables'})`);
    }
    return v;
  }

  variables(): string[] {
    return this.#r('variables').variables.map((v) => v.name);
  }

  has(name: string): boolean {
    return this.#r('has').variables.some((v) => v.name === name);
  }

  info(name: string): VariableInfo {
    const r = this.#r('info');
    const v = this.#variable('info', name);
    const shape = v.dimensions.map((id) => (v.record && id === r.recordDimension.id ? r.recordDimension.length : r.dimensions[id]!.size));
    return { name, shape, dtype: NC_TYPES[v.type]?.dtype ?? 'other' };
  }

  read(name: string, ranges: readonly AxisRange[] = [], { float64 = false, floatOnly = true }: ReadOptions = {}): Float32Array | Float64Array {
    const fn = 'SimulationFile.read';
    const r = this.#r(fn);
    const v = this.#variable(fn, name);
    const { shape, dtype } = this.info(name);
    if (floatOnly ? !isFloat(dtype) : !isNumeric(dtype)) {
      throw new SimulationFileError(
        fn,
        this.file,
        name,
        `has dtype ${dtype} (NetCDF "${v.type}"); expected ${floatOnly ? 'float or double' : 'a numeric type'}`,
      );
    }
    if (ranges.length > shape.length) throw new SimulationFileError(fn, this.file, name, `${ranges.length} ranges for a variable of shape ${show(shape)}`);
    const sel = shape.map((n, i) => {
      const q = ranges[i] ?? null;
      if (q === null) return [0, n] as const;
      if (!(Number.isInteger(q[0]) && Number.isInteger(q[1]) && q[0] >= 0 && q[0] < q[1] && q[1] <= n)) {
        throw new SimulationFileError(fn, this.file, name, `range ${show(q)} of axis ${i} is outside its size ${n} (shape ${show(shape)})`);
      }
      return [q[0], q[1]] as const;
    });
    const count = sel.reduce((p, [a, b]) => p * (b - a), 1);
    const out = float64 ? new Float64Array(count) : new Float32Array(count);
    const { bytes } = NC_TYPES[v.type]!;
    if (!v.record) {
      // Fixed-size variable: rows [a, b) of the leading axis are contiguous from the variable's offset.
      const rest = shape.slice(1).reduce((p, n) => p * n, 1);
      const [a, b] = shape.length ? sel[0]! : [0, 1];
      const start = v.offset + a * rest * bytes;
      const n = (b - a) * rest;
      if (start + n * bytes > this.#bytes.byteLength) {
        throw new SimulationFileError(
          fn,
          this.file,
          name,
          `the file is truncated: the variable needs bytes up to ${start + n * bytes}, the file has ${this.#bytes.byteLength}`,
        );
      }
      const view = new DataView(this.#bytes.buffer, this.#bytes.byteOffset + start, n * bytes);
      const rows = shape.length && sel.slice(1).every(([s, e], i) => s === 0 && e === shape[i + 1]) ? out : new Float64Array(n);
      if (dtype === 'float32') for (let i = 0; i < n; i++) rows[i] = view.getFloat32(i * 4, false);
      else if (dtype === 'float64') for (let i = 0; i < n; i++) rows[i] = view.getFloat64(i * 8, false);
      else if (dtype === 'int32') for (let i = 0; i < n; i++) rows[i] = view.getInt32(i * 4, false);
      else if (dtype === 'int16') for (let i = 0; i < n; i++) rows[i] = view.getInt16(i * 2, false);
      else for (let i = 0; i < n; i++) rows[i] = view.getInt8(i);
      if (rows !== out) selectBox(rows, [b - a, ...shape.slice(1)], [[0, b - a], ...sel.slice(1)], out);
      return out;
    }
    let values: (string | number | number[])[];
    try {
      values = r.getDataVariable(v);
    } catch (e) {
      throw new SimulationFileError(
        fn,
        this.file,
        name,
        `cannot read the data: the file may be truncated or corrupt (netcdfjs: ${e instanceof Error ? e.message : String(e)})`,
        e,
      );
    }
    const flat = values.flat() as number[];
    if (flat.length !== shape.reduce((p, n) => p * n, 1) || flat.some((x) => typeof x !== 'number')) {
      throw new SimulationFileError(fn, this.file, name, `netcdfjs returned ${flat.length} values for shape ${show(shape)}`);
    }
    selectBox(flat, shape, sel, out);
    return out;
  }

  attrs(name?: string): Record<string, AttrValue> {
    const r = this.#r('attrs');
    const list = name === undefined ? r.globalAttributes : (this.#variable('attrs', name).attributes as { name: string; value: number | string }[]);
    const out: Record<string, AttrValue> = {};
    for (const a of list) out[a.name] = a.value;
    return out;
  }

  async close(): Promise<void> {
    this.#reader = null;
    this.#bytes = new Uint8Array(0);
  }
}
