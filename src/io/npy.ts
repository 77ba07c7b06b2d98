/**
 * NumPy `.npy` records, as Equinox's `tree_serialise_leaves` writes them back to back (one
 * `numpy.save` per pytree leaf): magic `\x93NUMPY`, version, a little-endian header length, a
 * Python-dict header (`descr`, `fortran_order`, `shape`) padded with spaces to a multiple of 64
 * bytes, then the raw C-order data. Reading is strict (truncation, foreign bytes and layouts we do
 * not handle are refused with the record's index and byte offset); writing reproduces numpy's
 * header byte for byte, so a file written here equals the one Python writes for the same arrays.
 */

/** The dtypes Equinox files hold: float32 arrays, and Python int/float/bool leaves saved as 0-d arrays. */
export type NpyDtype = 'float32' | 'float64' | 'int64' | 'int32' | 'bool';

const DESCR: Record<NpyDtype, string> = { float32: '<f4', float64: '<f8', int64: '<i8', int32: '<i4', bool: '|b1' };
const BYTES: Record<NpyDtype, number> = { float32: 4, float64: 8, int64: 8, int32: 4, bool: 1 };
const FROM_DESCR = new Map(Object.entries(DESCR).map(([k, v]) => [v, k as NpyDtype]));
const MAGIC = [0x93, 0x4e, 0x55, 0x4d, 0x50, 0x59]; // \x93NUMPY

/**
 * A malformed .npy record (its message names what is wrong).
 * @example
 * try { parseNpyRecords(bytes); } catch (e) { if (e instanceof NpyError) console.error(e.message); }
 */
export class NpyError extends Error {
  override name = 'NpyError';
}

/** One array of a .npy stream: dtype, shape and data. */
export interface NpyRecord {
  readonly dtype: NpyDtype;
  readonly shape: readonly number[];
  /** The raw little-endian data (a view into the file's bytes). */
  readonly data: Uint8Array;
  /** Byte offset of the record in the file. */
  readonly offset: number;
}

/** Parses one header dict as numpy writes it (`{'descr': '<f4', 'fortran_order': False, 'shape': (2, 3), }`). */
function parseHeader(text: string, where: string): { dtype: NpyDtype; shape: number[] } {
  const m = /^\{\s*'descr':\s*'([^']*)',\s*'fortran_order':\s*(True|False),\s*'shape':\s*\(([^)]*)\),?\s*\}\s*$/.exec(text);
  if (!m) throw new NpyError(`${where}: not a numpy header dict (${JSON.stringify(text.slice(0, 80))})`);
  const dtype = FROM_DESCR.get(m[1]!);
  if (!dtype) throw new NpyError(`${where}: dtype ${m[1]} is not supported (expected one of ${[...FROM_DESCR.keys()].join(', ')})`);
  if (m[2] === 'True') throw new NpyError(`${where}: Fortran-ordered arrays are not supported`);
  const dims = m[3]!
    .split(',')
    .map((s) => s.trim())
    .filter((s) => s.length > 0);
  const shape = dims.map((s) => {
    if (!/^\d+$/.test(s)) throw new NpyError(`${where}: bad shape entry ${JSON.stringify(s)}`);
    return Number(s);
  });
  return { dtype, shape };
}

/**
 * Every record of a file of back-to-back .npy records; errors name the record and its byte offset.
 * @example
 * for (const r of parseNpyRecords(bytes)) console.log(r.dtype, r.shape, r.offset);
 */
export function parseNpyRecords(bytes: Uint8Array, where = 'parseNpyRecords'): NpyRecord[] {
  const out: NpyRecord[] = [];
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  let pos = 0;
  while (pos < bytes.length) {
    const at = `${where}: record ${out.length} at byte ${pos}`;
    if (bytes.length - pos < 10) throw new NpyError(`${at}: truncated (${bytes.length - pos} bytes left, a record header needs at least 10)`);
    for (let i = 0; i < MAGIC.length; i++) {
      if (bytes[pos + i] !== MAGIC[i])
        throw new NpyError(`${at}: not a .npy record (no \\x93NUMPY magic)${out.length === 0 ? ': this is not an Equinox/ginjax model file' : ''}`);
    }
    const major = bytes[pos + 6]!;
    let hlen: number;
    let start: number;
    if (major === 1) {
      hlen = view.getUint16(pos + 8, true);
      start = pos + 10;
    } else if (major === 2 || major === 3) {
      if (bytes.length - pos < 12) throw new NpyError(`${at}: truncated header`);
      hlen = view.getUint32(pos + 8, true);
      start = pos + 12;
    } else throw new NpyError(`${at}: unknown .npy version ${major}.${bytes[pos + 7]}`);
    if (start + hlen > bytes.length) throw new NpyError(`${at}: truncated header (needs ${hlen} bytes, ${bytes.length - start} left)`);
    let text = '';
    for (let i = 0; i < hlen; i++) text += String.fromCharCode(bytes[start + i]!);
    const { dtype, shape } = parseHeader(text, at);
    const n = shape.reduce((p, d) => p * d, 1) * BYTES[dtype];
    const dataStart = start + hlen;
    if (dataStart + n > bytes.length)
      throw new NpyError(`${at}: truncated data (shape (${shape.join(', ')}) ${dtype} needs ${n} bytes, ${bytes.length - dataStart} left)`);
    out.push({ dtype, shape, data: bytes.subarray(dataStart, dataStart + n), offset: pos });
    pos = dataStart + n;
  }
  return out;
}

/** numpy's repr of a shape tuple: (), (4,), (4, 1, 3). */
const shapeRepr = (shape: readonly number[]): string => (shape.length === 1 ? `(${shape[0]},)` : `(${shape.join(', ')})`);

/**
 * One .npy record exactly as `numpy.save` writes it (format 1.0; numpy leaves room after the dict
 * for the first axis to grow to 21 digits, then pads to 64 bytes and ends with a newline).
 * @example
 * const rec = npyRecord('float32', [2, 3], new Uint8Array(new Float32Array(6).buffer)); // numpy.load reads it
 */
export function npyRecord(dtype: NpyDtype, shape: readonly number[], data: Uint8Array): Uint8Array {
  const n = shape.reduce((p, d) => p * d, 1) * BYTES[dtype];
  if (data.length !== n) throw new NpyError(`npyRecord: ${n} data bytes expected for shape ${shapeRepr(shape)} ${dtype} (got ${data.length})`);
  let header = `{'descr': '${DESCR[dtype]}', 'fortran_order': False, 'shape': ${shapeRepr(shape)}, }`;
  if (shape.length > 0) header += ' '.repeat(Math.max(0, 21 - String(shape[0]).length));
  const pad = 64 - ((10 + header.length + 1) % 64);
  header += `${' '.repeat(pad % 64)}\n`;
  const out = new Uint8Array(10 + header.length + n);
  out.set(MAGIC, 0);
  out[6] = 1;
  out[7] = 0;
  new DataView(out.buffer).setUint16(8, header.length, true);
  for (let i = 0; i < header.length; i++) out[10 + i] = header.charCodeAt(i);
  out.set(data, 10 + header.length);
  return out;
}

/** The values of a record as numbers (float32 arrays as a Float32Array copy). */
export function npyValues(r: NpyRecord): Float32Array | Float64Array | number[] {
  const copy = new Uint8Array(r.data); // a copy (a Node Buffer's slice() would be a view)
  switch (r.dtype) {
    case 'float32':
      return new Float32Array(copy.buffer);
    case 'float64':
      return new Float64Array(copy.buffer);
    case 'int32':
      return Array.from(new Int32Array(copy.buffer));
    case 'int64':
      return Array.from(new BigInt64Array(copy.buffer), (v) => Number(v));
    case 'bool':
      return Array.from(copy, (v) => (v ? 1 : 0));
  }
}

/** The raw bytes of one scalar of `dtype`. */
export function npyScalarBytes(dtype: NpyDtype, value: number): Uint8Array {
  const out = new Uint8Array(BYTES[dtype]);
  const v = new DataView(out.buffer);
  if (dtype === 'float64') v.setFloat64(0, value, true);
  else if (dtype === 'float32') v.setFloat32(0, value, true);
  else if (dtype === 'int64') v.setBigInt64(0, BigInt(value), true);
  else if (dtype === 'int32') v.setInt32(0, value, true);
  else out[0] = value ? 1 : 0;
  return out;
}
