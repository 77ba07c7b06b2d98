/**
 * Checkpoints in the safetensors format (https://github.com/huggingface/safetensors), readable from
 * Python (`safetensors.numpy.load_file`, `safe_open`). Browser-safe: bytes in, bytes out, no Node.
 *
 * Layout: an 8-byte little-endian unsigned header length N; N bytes of UTF-8 JSON (padded with
 * spaces so that the data start, 8 + N, is a multiple of 8); then the raw little-endian data. The
 * header maps each tensor name to {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}
 * (byte offsets into the data section, contiguous, covering it exactly) and "__metadata__" to a
 * string → string map. geoconv writes:
 *   format: "geoconv", format_version: "1", geoconv_version: the package version,
 *   config: the model config JSON (buildModule rebuilds the model from it),
 *   and, with optimizer state: optimizer_state (the state tree as JSON, tensors as
 *   {"__tensor__": name}) and optimizer_step;
 *   and, with module state (batch-norm running statistics, a `State`): module_state, the JSON list
 *   of its tensor names.
 * Tensor names are the parameter-tree paths joined with '.' (e.g. "weights.0,0>0,0"); optimizer
 * tensors are prefixed "opt." (e.g. "opt.0.mu.weights.0,0>0,0"), module-state tensors "state."
 * followed by State.named's "<submodule index path>.<entry>" (e.g. "state.1.0.mean").
 */
import type { Tree } from '../autodiff.js';
import type { Backend } from '../backends/backend.js';
import { State } from '../nn/layers/common.js';
import type { Module, ModuleConfig, Params } from '../nn/module.js';
import { tensor, type Tensor } from '../tensor.js';
import { isPlainObject, leavesWithPaths } from '../train/tree.js';
import { version } from '../version.js';
import { limits } from '../core/limits.js';

export const FORMAT = 'geoconv';
export const FORMAT_VERSION = '1';
/** The safetensors reference implementation refuses headers above this size; so do we. */
const MAX_HEADER = 100_000_000;
const OPT_PREFIX = 'opt.';
const STATE_PREFIX = 'state.';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

/** One entry of a safetensors header: dtype, shape and byte range. */
export interface TensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data_offsets: readonly [number, number];
}

/** What `serialize` stores next to the tensors: the model config and metadata. */
export interface SerializeExtra {
  /** Optimizer state to save (tensors under "opt.", structure and numbers in the metadata). */
  readonly optState?: Tree;
  /** Optimizer step count (saved as metadata.optimizer_step). */
  readonly step?: number;
  /** Module state to save (batch-norm running statistics); needs the Module, not just its config. */
  readonly state?: State;
  /** Extra metadata (string → string; geoconv's own keys cannot be overridden). */
  readonly metadata?: Readonly<Record<string, string>>;
}

/** What `deserialize` returns: the tensors by name, the config and metadata. */
export interface Deserialized {
  /** The model config (null for a safetensors file not written by geoconv). */
  readonly config: ModuleConfig | null;
  /** The parameter tensors as a tree (names split at '.'). */
  readonly params: Params;
  readonly metadata: Readonly<Record<string, string>>;
  /** Every non-optimizer tensor by its full name. */
  readonly tensors: ReadonlyMap<string, Tensor>;
  readonly optState?: Tree;
  readonly step?: number;
  /** Module-state tensors by State.named's names (rebuild the State with State.fromNamed(model, …)). */
  readonly stateTensors?: ReadonlyMap<string, Tensor>;
}

/**
 * A safetensors file that breaks the format or the limits (its message names what and where).
 * @example
 * try { deserialize(bytes); } catch (e) { if (e instanceof SafetensorsError) console.error(e.message); }
 */
export class SafetensorsError extends Error {
  override name = 'SafetensorsError';
}

const RESERVED = ['format', 'format_version', 'geoconv_version', 'config', 'optimizer_state', 'optimizer_step', 'module_state'];

interface Entry {
  readonly name: string;
  readonly t: Tensor;
}

function collect(model: Module | ModuleConfig, params: Params, extra: SerializeExtra): { entries: Entry[]; metadata: Record<string, string> } {
  const config: ModuleConfig = 'apply' in model && typeof (model as Module).apply === 'function' ? (model as Module).config : (model as ModuleConfig);
  if (!isPlainObject(config) || typeof config.type !== 'string')
    throw new SafetensorsError('serialize: model must be a Module or a module config with a "type"');
  const entries: Entry[] = [];
  const seen = new Set<string>();
  const add = (name: string, t: Tensor) => {
    if (seen.has(name)) throw new SafetensorsError(`serialize: two tensors would both be named "${name}" (parameter names must not contain '.' ambiguously)`);
    if (t.disposed) throw new SafetensorsError(`serialize: tensor "${name}" was disposed`);
    seen.add(name);
    entries.push({ name, t });
  };
  for (const [path, t] of leavesWithPaths(params)) {
    if (path === '__metadata__' || path.startsWith(OPT_PREFIX) || path.startsWith(STATE_PREFIX))
      throw new SafetensorsError(`serialize: parameter name "${path}" is reserved`);
    add(path, t);
  }
  const metadata: Record<string, string> = {};
  for (const [k, v] of Object.entries(extra.metadata ?? {})) {
    if (RESERVED.includes(k)) throw new SafetensorsError(`serialize: metadata key "${k}" is reserved by geoconv`);
    if (typeof v !== 'string') throw new SafetensorsError(`serialize: metadata["${k}"] must be a string (got ${typeof v})`);
    metadata[k] = v;
  }
  Object.assign(metadata, { format: FORMAT, format_version: FORMAT_VERSION, geoconv_version: version, config: JSON.stringify(config) });
  if (extra.optState !== undefined) {
    const skeleton = (node: unknown, path: string): unknown => {
      if (node !== null && typeof node === 'object' && 'shape' in node && typeof (node as Tensor).dispose === 'function') {
        const name = OPT_PREFIX + path;
        add(name, node as Tensor);
        return { __tensor__: name };
      }
      if (Array.isArray(node)) return node.map((v, i) => skeleton(v, path ? `${path}.${i}` : String(i)));
      if (isPlainObject(node)) return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, skeleton(v, path ? `${path}.${k}` : k)]));
      if (node === undefined) return null;
      if (typeof node === 'number' && !Number.isFinite(node)) throw new SafetensorsError(`serialize: optimizer state "${path}" is ${node}`);
      return node;
    };
    metadata.optimizer_state = JSON.stringify(skeleton(extra.optState, ''));
  }
  if (extra.state !== undefined) {
    if (!(extra.state instanceof State)) throw new SafetensorsError('serialize: state must be a State');
    if (config === model) throw new SafetensorsError('serialize: saving a State needs the Module (its module paths), not only its config');
    let named: Map<string, Tensor>;
    try {
      named = extra.state.named(model as Module);
    } catch (e) {
      throw new SafetensorsError(`serialize: ${e instanceof Error ? e.message : String(e)}`);
    }
    for (const [name, t] of named) add(STATE_PREFIX + name, t);
    metadata.module_state = JSON.stringify([...named.keys()]);
  }
  if (extra.step !== undefined) {
    if (!(Number.isInteger(extra.step) && extra.step >= 0)) throw new SafetensorsError(`serialize: step must be an integer >= 0 (got ${extra.step})`);
    metadata.optimizer_step = String(extra.step);
  }
  return { entries, metadata };
}

function encode(entries: readonly Entry[], datas: readonly Float32Array[], metadata: Record<string, string>): Uint8Array {
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  entries.forEach((e, i) => {
    const bytes = datas[i]!.length * 4;
    header[e.name] = { dtype: 'F32', shape: [...e.t.shape], data_offsets: [offset, offset + bytes] };
    offset += bytes;
  });
  let json = new TextEncoder().encode(JSON.stringify(header));
  const padded = Math.ceil(json.length / 8) * 8;
  if (padded !== json.length) {
    const p = new Uint8Array(padded).fill(0x20);
    p.set(json);
    json = p;
  }
  const out = new Uint8Array(8 + padded + offset);
  const view = new DataView(out.buffer);
  view.setUint32(0, padded % 2 ** 32, true);
  view.setUint32(4, Math.floor(padded / 2 ** 32), true);
  out.set(json, 8);
  let at = 8 + padded;
  for (const d of datas) {
    if (LITTLE_ENDIAN) out.set(new Uint8Array(d.buffer, d.byteOffset, d.byteLength), at);
    else for (let i = 0; i < d.length; i++) view.setFloat32(at + 4 * i, d[i]!, true);
    at += d.byteLength;
  }
  return out;
}

/**
 * The checkpoint of `model` (its config) with `params` (default model.params) as safetensors bytes.
 * Asynchronous because GPU tensors are read asynchronously; see serializeSync for CPU backends.
 * @example
 * const bytes = await serialize(model, result.params, { optState: result.optState, step: result.step });
 * const { model: copy } = checkpointFromBytes(bytes);
 */
export async function serialize(model: Module | ModuleConfig, params?: Params, extra: SerializeExtra = {}): Promise<Uint8Array> {
  const p = params ?? (model as Module).params;
  if (!p) throw new SafetensorsError('serialize: no params given and the model has none');
  const { entries, metadata } = collect(model, p, extra);
  const datas = await Promise.all(entries.map((e) => e.t.data()));
  return encode(entries, datas, metadata);
}

/**
 * serialize for CPU backends (ref, wasm), synchronously.
 * @example
 * const bytes = serializeSync(model); // ref or wasm backend
 */
export function serializeSync(model: Module | ModuleConfig, params?: Params, extra: SerializeExtra = {}): Uint8Array {
  const p = params ?? (model as Module).params;
  if (!p) throw new SafetensorsError('serializeSync: no params given and the model has none');
  const { entries, metadata } = collect(model, p, extra);
  return encode(
    entries,
    entries.map((e) => e.t.dataSync()),
    metadata,
  );
}

/** A validated safetensors header (`parseHeader`): the entries and the metadata. */
export interface ParsedHeader {
  readonly metadata: Readonly<Record<string, string>>;
  /** Tensors in file order (by data offset). */
  readonly tensors: readonly (TensorInfo & { readonly name: string })[];
  /** Absolute byte offset of the data section. */
  readonly dataStart: number;
}

function asBytes(bytes: Uint8Array | ArrayBuffer | ArrayBufferView): Uint8Array {
  if (bytes instanceof Uint8Array) return bytes;
  if (bytes instanceof ArrayBuffer) return new Uint8Array(bytes);
  if (ArrayBuffer.isView(bytes)) return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  throw new SafetensorsError(`expected a Uint8Array or an ArrayBuffer (got ${bytes === null ? 'null' : typeof bytes})`);
}

/** serde_json's default recursion limit: a value nested this deep is refused. */
const MAX_JSON_NESTING = 128;

/** What the strict scan found that JSON.parse would hide (duplicates, non-integer literals). */
interface Scan {
  metadataTwice: boolean;
  /** The first tensor name given twice (the last entry counts, as in the reference parser). */
  repeated: string | null;
  /** The first field (dtype, shape, data_offsets) given twice inside one tensor entry. */
  repeatedField: { tensor: string; field: string } | null;
  /** The first number in a shape or data_offsets that is not a plain integer literal. */
  notInteger: { tensor: string; field: string; literal: string } | null;
}

const KNOWN_FIELDS = new Set(['dtype', 'shape', 'data_offsets']);

/**
 * Checks the header text against RFC 8259 with serde_json's rules where JSON.parse is laxer (a BOM
 * is not whitespace, lone surrogate escapes are refused, nesting is limited to 128 levels) and
 * records what JSON.parse would hide: duplicate keys at the top level and inside tensor entries, and
 * number literals with a fraction, an exponent or a sign where serde reads a usize. Iterative and
 * allocation-free per value, so that deep or huge headers cost little. Throws a short message.
 */
function scanJson(text: string): Scan {
  const scan: Scan = { metadataTwice: false, repeated: null, repeatedField: null, notInteger: null };
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`${what} at character ${i}`);
  };
  const ws = () => {
    for (let c = text.charCodeAt(i); c === 0x20 || c === 0x09 || c === 0x0a || c === 0x0d; c = text.charCodeAt(++i));
  };
  const hex = (at: number): number => {
    const h = text.slice(at, at + 4);
    if (!/^[0-9a-fA-F]{4}$/.test(h)) fail('invalid \\u escape');
    return parseInt(h, 16);
  };
  /** Scans a string; returns its value only when `want` (keys at the two outer levels). */
  const str = (want: boolean): string => {
    i++; // opening quote
    const from = i;
    let escaped = false;
    for (;;) {
      const c = text.charCodeAt(i);
      if (Number.isNaN(c)) fail('unterminated string');
      if (c === 0x22) break;
      if (c < 0x20) fail('control character (U+0000 to U+001F) inside a string');
      if (c === 0x5c) {
        escaped = true;
        const e = text[i + 1];
        if (e === 'u') {
          const u = hex(i + 2);
          i += 6;
          if (u >= 0xdc00 && u <= 0xdfff) fail('lone trailing surrogate in a \\u escape');
          if (u >= 0xd800 && u <= 0xdbff) {
            if (text.slice(i, i + 2) !== '\\u') fail('lone leading surrogate in a \\u escape');
            const lo = hex(i + 2);
            if (lo < 0xdc00 || lo > 0xdfff) fail('lone leading surrogate in a \\u escape');
            i += 6;
          }
        } else if (e !== undefined && '"\\/bfnrt'.includes(e)) i += 2;
        else fail('invalid escape');
        continue;
      }
      i++;
    }
    i++;
    if (!want) return '';
    const raw = text.slice(from, i - 1);
    return escaped ? (JSON.parse(`"${raw}"`) as string) : raw;
  };
  const digits = () => {
    const from = i;
    for (let c = text.charCodeAt(i); c >= 0x30 && c <= 0x39; c = text.charCodeAt(++i));
    if (i === from) fail('invalid number');
  };
  /** Scans a number; true when it is a plain non-negative integer literal. */
  const num = (): boolean => {
    let plain = true;
    if (text[i] === '-') {
      i++;
      plain = false;
    }
    if (text[i] === '0') i++;
    else digits();
    if (text[i] === '.') {
      i++;
      plain = false;
      digits();
    }
    if (text[i] === 'e' || text[i] === 'E') {
      i++;
      plain = false;
      if (text[i] === '+' || text[i] === '-') i++;
      digits();
    }
    return plain;
  };
  // Open containers; keys are tracked at level 1 (tensor names) and level 2 (fields).
  const isArray: boolean[] = [];
  const keyAt: string[] = ['', '', ''];
  const topKeys = new Set<string>();
  let fields = 0; // bit mask of the known fields seen in the current tensor entry
  const key = () => {
    const level = isArray.length;
    const k = str(level <= 2);
    if (level === 1) {
      if (k === '__metadata__') {
        if (topKeys.has(k)) scan.metadataTwice = true;
      } else if (topKeys.has(k)) scan.repeated ??= k;
      topKeys.add(k);
      fields = 0;
    } else if (level === 2 && !isArray[0] && !isArray[1] && keyAt[1] !== '__metadata__' && KNOWN_FIELDS.has(k)) {
      const bit = k === 'dtype' ? 1 : k === 'shape' ? 2 : 4;
      if (fields & bit) scan.repeatedField ??= { tensor: keyAt[1]!, field: k };
      fields |= bit;
    }
    if (level <= 2) keyAt[level] = k;
    ws();
    if (text[i++] !== ':') fail('expected ":"');
  };
  for (;;) {
    ws();
    const c = text[i];
    if (c === '{' || c === '[') {
      if (isArray.length + 1 >= MAX_JSON_NESTING)
        fail(`JSON nested ${MAX_JSON_NESTING} or more levels deep (the recursion limit of serde_json, which the reference parser uses)`);
      i++;
      isArray.push(c === '[');
      ws();
      if (text[i] === (c === '[' ? ']' : '}')) {
        i++;
        isArray.pop();
      } else {
        if (c === '{') {
          if (text[i] !== '"') fail('expected a string key');
          key();
        }
        continue;
      }
    } else if (c === '"') str(false);
    else if (c === '-' || (c !== undefined && c >= '0' && c <= '9')) {
      const at = i;
      const plain = num();
      // a number inside a tensor entry's shape or data_offsets: serde reads a usize
      if (
        !plain &&
        isArray.length === 3 &&
        isArray[2] &&
        !isArray[0] &&
        !isArray[1] &&
        keyAt[1] !== '__metadata__' &&
        (keyAt[2] === 'shape' || keyAt[2] === 'data_offsets')
      ) {
        scan.notInteger ??= { tensor: keyAt[1]!, field: keyAt[2]!, literal: text.slice(at, Math.min(i, at + 40)) };
      }
    } else if (text.startsWith('true', i)) i += 4;
    else if (text.startsWith('false', i)) i += 5;
    else if (text.startsWith('null', i)) i += 4;
    else
      fail(
        c === undefined ? 'unexpected end of input' : c === '\ufeff' ? 'a byte order mark (U+FEFF) is not JSON' : `unexpected character ${JSON.stringify(c)}`,
      );
    // close finished containers, or move to the next element
    for (;;) {
      if (isArray.length === 0) {
        ws();
        if (i !== text.length) fail('trailing characters after the JSON value');
        return scan;
      }
      ws();
      const arr = isArray[isArray.length - 1]!;
      if (text[i] === ',') {
        i++;
        if (!arr) {
          ws();
          if (text[i] !== '"') fail('expected a string key');
          key();
        }
        break;
      }
      if (text[i] !== (arr ? ']' : '}')) fail(`expected "," or "${arr ? ']' : '}'}"`);
      i++;
      isArray.pop();
    }
  }
}

/** The dtypes the reference parser knows (an unknown one is refused there too). */
const DTYPES = new Set([
  'BOOL',
  'F4',
  'F6_E2M3',
  'F6_E3M2',
  'U8',
  'I8',
  'F8_E5M2',
  'F8_E4M3',
  'F8_E8M0',
  'I16',
  'U16',
  'F16',
  'BF16',
  'I32',
  'U32',
  'F32',
  'C64',
  'F64',
  'I64',
  'U64',
]);

/** A JSON value as short text for an error message. */
function showJson(v: unknown, room = 100): string {
  let out: string;
  try {
    out = JSON.stringify(v) ?? String(v);
  } catch {
    out = String(v);
  }
  return out.length > room ? `${out.slice(0, room)}…` : out;
}

/** A name for an error message: quoted, at most 80 characters. */
const quote = (name: string): string => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);

/** A usize as serde reads one (the literal form was checked by the scan), here also a safe integer. */
const usize = (v: unknown): number | null => (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0 ? v : null);

/** Sets an own, enumerable key (also "__proto__", which plain assignment would turn into a prototype change). */
function defineOwn(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}

/**
 * Parses and validates the header with the reference parser's acceptance rules (the Rust crate:
 * serde_json into `__metadata__` + a map of tensor entries, then offset validation): length,
 * UTF-8, strict JSON (no BOM, nesting below 128), `__metadata__` once (null or strings; a repeated
 * key keeps the last value), tensor entries {dtype, shape, data_offsets} with integer literals
 * (a repeated name keeps the last entry, as there), offsets that tile the data section exactly.
 * geoconv adds: F32 only, rank <= limits.maxRank, at most limits.maxTensorElements per tensor.
 * Every failure is a short SafetensorsError saying what is wrong.
 * @example
 * const { metadata, tensors } = parseHeader(bytes); // no tensor is read
 * for (const t of tensors) console.log(t.name, t.shape);
 */
export function parseHeader(input: Uint8Array | ArrayBuffer | ArrayBufferView, where = 'safetensors'): ParsedHeader {
  const bytes = asBytes(input);
  const err = (msg: string) => new SafetensorsError(`${where}: ${msg}`);
  if (bytes.length < 8) throw err(`truncated file: ${bytes.length} bytes, fewer than the 8-byte header length that starts a safetensors file`);
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const lo = view.getUint32(0, true);
  const hi = view.getUint32(4, true);
  const n = hi * 2 ** 32 + lo;
  if (n > MAX_HEADER) throw err(`corrupted header: its length field says ${n} bytes (more than the ${MAX_HEADER} a safetensors header may have)`);
  if (8 + n > bytes.length) throw err(`truncated file: the header length says ${n} bytes of JSON but only ${bytes.length - 8} bytes follow`);
  let text: string;
  try {
    // ignoreBOM keeps a leading BOM in the text, where the scan refuses it (as serde_json does)
    text = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw err('corrupted header: not valid UTF-8');
  }
  let scan: Scan;
  let header: unknown;
  try {
    scan = scanJson(text);
    header = JSON.parse(text); // the same grammar, checked above; JSON.parse keeps the last of duplicate keys, as the reference does
  } catch (e) {
    throw err(`corrupted header: invalid JSON (${e instanceof Error ? e.message.slice(0, 200) : String(e)})`);
  }
  if (header === null || typeof header !== 'object' || Array.isArray(header))
    throw err(`corrupted header: must be a JSON object starting with "{" (got ${showJson(header, 40)})`);
  if (scan.metadataTwice) throw err('corrupted header: "__metadata__" appears twice (the reference parser refuses a duplicate field)');
  if (scan.repeatedField) throw err(`corrupted header: field "${scan.repeatedField.field}" appears twice in tensor ${quote(scan.repeatedField.tensor)}`);
  const metadata: Record<string, string> = {};
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors: (TensorInfo & { name: string })[] = [];
  for (const [name, value] of Object.entries(header)) {
    if (name === '__metadata__') {
      if (value === null) continue;
      if (typeof value !== 'object' || Array.isArray(value)) throw err('corrupted header: "__metadata__" must be an object of strings');
      for (const [k, v] of Object.entries(value as object)) {
        if (typeof v !== 'string') throw err(`corrupted header: __metadata__[${quote(k)}] must be a string (got ${showJson(v, 40)})`);
        defineOwn(metadata, k, v);
      }
      continue;
    }
    const q = quote(name);
    if (value === null || typeof value !== 'object' || Array.isArray(value))
      throw err(`corrupted header: entry ${q} must be an object {dtype, shape, data_offsets}`);
    const has = (k: string) => Object.hasOwn(value, k);
    for (const k of KNOWN_FIELDS) if (!has(k)) throw err(`corrupted header: tensor ${q} has no "${k}"`);
    const { dtype, shape: shapeJ, data_offsets: offsJ } = value as Record<string, unknown>;
    if (typeof dtype !== 'string') throw err(`corrupted header: tensor ${q} has a dtype that is not a string`);
    if (!DTYPES.has(dtype)) throw err(`corrupted header: tensor ${q}: dtype ${quote(dtype)} is not a safetensors dtype`);
    if (!Array.isArray(shapeJ)) throw err(`corrupted header: tensor ${q} has shape ${showJson(shapeJ)}, not a list of integers >= 0`);
    if (shapeJ.length > limits.maxRank)
      throw err(`tensor ${q} has a shape of rank ${shapeJ.length}; geoconv reads tensors of rank <= ${limits.maxRank} (limits.maxRank)`);
    const bad = scan.notInteger?.tensor === name ? scan.notInteger : null;
    const shape = shapeJ.map(usize);
    if (shape.some((d) => d === null) || bad?.field === 'shape') {
      throw err(
        `corrupted header: tensor ${q} has shape ${bad?.field === 'shape' ? `with the literal ${bad.literal}` : showJson(shapeJ)}, not a list of integers >= 0 (integer literals: no fraction, no exponent)`,
      );
    }
    const offs = Array.isArray(offsJ) ? offsJ.map(usize) : [];
    if (offs.length !== 2 || offs.some((o) => o === null) || offs[0]! > offs[1]! || bad?.field === 'data_offsets') {
      throw err(
        `corrupted header: tensor ${q} has data_offsets ${bad?.field === 'data_offsets' ? `with the literal ${bad.literal}` : showJson(offsJ)}, not [begin, end] with integer literals 0 <= begin <= end`,
      );
    }
    let count = 1;
    for (const d of shape) count *= d!;
    if (!Number.isSafeInteger(count * 4))
      throw err(`corrupted header: the shape of tensor ${q} has more elements than can be addressed (the reference parser: ValidationOverflow)`);
    if (dtype !== 'F32') throw err(`tensor ${q} has dtype ${dtype}; geoconv reads F32 only (convert with e.g. tensor.astype(numpy.float32) before saving)`);
    if (count > limits.maxTensorElements)
      throw err(`tensor ${q} has ${count} elements; geoconv reads at most ${limits.maxTensorElements} (limits.maxTensorElements)`);
    const need = 4 * count;
    const [b, e] = offs as [number, number];
    if (e - b !== need) {
      throw err(`corrupted header: tensor ${q} of shape [${shape.join(', ')}] needs ${need} bytes of F32 but its data_offsets [${b}, ${e}] span ${e - b}`);
    }
    tensors.push({ name, dtype, shape: shape as number[], data_offsets: [b, e] });
  }
  // a literal in an entry that a later duplicate replaced still counts: serde refuses it while parsing
  if (scan.notInteger)
    throw err(
      `corrupted header: tensor ${quote(scan.notInteger.tensor)} has ${scan.notInteger.field} with the literal ${scan.notInteger.literal}, not an integer literal >= 0`,
    );
  tensors.sort((a, b) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1]);
  const dup = scan.repeated !== null ? ` (tensor ${quote(scan.repeated)} appears twice in the header; as in the reference parser the last entry counts)` : '';
  const end = tensors.reduce((m, t) => Math.max(m, t.data_offsets[1]), 0);
  if (end > dataLen)
    throw err(
      `truncated file: the tensors need ${end} bytes of data after the header but only ${dataLen} are there (file ${bytes.length} bytes, expected ${dataStart + end})${dup}`,
    );
  let at = 0;
  for (const t of tensors) {
    if (t.data_offsets[0] !== at) {
      throw err(
        `corrupted header: tensor ${quote(t.name)} starts at byte ${t.data_offsets[0]} of the data but the previous tensor ends at ${at} (${t.data_offsets[0] < at ? 'overlap' : 'gap'})${dup}`,
      );
    }
    at = t.data_offsets[1];
  }
  if (at !== dataLen)
    throw err(
      `corrupted file: ${dataLen - at} trailing bytes after the last tensor (the header describes ${at} bytes of data, the file holds ${dataLen})${dup}`,
    );
  return { metadata, tensors, dataStart };
}

function readF32(bytes: Uint8Array, start: number, count: number): Float32Array {
  const abs = bytes.byteOffset + start;
  if (LITTLE_ENDIAN && abs % 4 === 0) return new Float32Array(bytes.buffer, abs, count);
  const out = new Float32Array(count);
  const view = new DataView(bytes.buffer, abs, count * 4);
  for (let i = 0; i < count; i++) out[i] = view.getFloat32(4 * i, true);
  return out;
}

/**
 * Sets tree[path split at '.'] = value (objects only), with an error on a name clash. Own-key
 * lookups and defineProperty, so that every legal name ("constructor", "__proto__", …) is an
 * ordinary entry and no prototype is read or replaced.
 */
function insert(tree: Record<string, unknown>, name: string, value: Tensor, where: string): void {
  const parts = name.split('.');
  let node = tree;
  parts.forEach((p, i) => {
    const has = Object.hasOwn(node, p);
    if (i === parts.length - 1) {
      if (has) throw new SafetensorsError(`${where}: tensor name ${quote(name)} clashes with another tensor's path`);
      defineOwn(node, p, value);
      return;
    }
    const next = has ? node[p] : undefined;
    if (next === undefined) {
      const child: Record<string, unknown> = {};
      defineOwn(node, p, child);
      node = child;
    } else if (isPlainObject(next)) node = next;
    else throw new SafetensorsError(`${where}: tensor name ${quote(name)} clashes with tensor ${quote(parts.slice(0, i + 1).join('.'))}`);
  });
}

/** metadata.module_state: a JSON array of distinct strings. */
function parseNames(text: string, where: string): string[] {
  let v: unknown;
  try {
    v = JSON.parse(text);
  } catch (e) {
    throw new SafetensorsError(`${where}: corrupted metadata: "module_state" is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!Array.isArray(v) || !v.every((n) => typeof n === 'string') || new Set(v).size !== v.length) {
    throw new SafetensorsError(`${where}: corrupted metadata: "module_state" must be a JSON array of distinct tensor names`);
  }
  return v as string[];
}

/** The model config of a parsed header's metadata (null when there is none), validated. */
export function configOf(metadata: Readonly<Record<string, string>>, where = 'safetensors'): ModuleConfig | null {
  if (metadata.config === undefined) return null;
  let c: unknown;
  try {
    c = JSON.parse(metadata.config);
  } catch (e) {
    throw new SafetensorsError(`${where}: corrupted metadata: "config" is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(c) || typeof c.type !== 'string')
    throw new SafetensorsError(`${where}: corrupted metadata: "config" must be a JSON object with a string "type"`);
  return c as ModuleConfig;
}

/** True for the names of optimizer-state and module-state tensors (not parameters) under this metadata. */
export function isExtraTensor(name: string, metadata: Readonly<Record<string, string>>): boolean {
  return (metadata.optimizer_state !== undefined && name.startsWith(OPT_PREFIX)) || (metadata.module_state !== undefined && name.startsWith(STATE_PREFIX));
}

/** Options of `deserialize`. */
export interface DeserializeOptions {
  /** Backend of the tensors made (default: the current one). */
  readonly backend?: Backend;
  /** Prefix of error messages (what is being read). */
  readonly where?: string;
  /**
   * Tensors to fill in place instead of allocating, by file name (a freshly built model's
   * parameters, which nothing else holds yet): each must have the file tensor's shape. The result
   * holds these same tensors; they are not disposed if deserializing fails.
   */
  readonly into?: ReadonlyMap<string, Tensor>;
}

/**
 * Reads safetensors bytes into tensors (F32 only) on the current backend (or `backend`): the model
 * config (from the metadata), the parameter tree, and the optimizer state and step when saved.
 * @example
 * const { config, params, metadata } = deserialize(bytes); // tensors on the current backend
 */
export function deserialize(
  input: Uint8Array | ArrayBuffer | ArrayBufferView,
  { backend, where = 'deserialize', into }: DeserializeOptions = {},
): Deserialized {
  const bytes = asBytes(input);
  const { metadata, tensors, dataStart } = parseHeader(bytes, where);
  const config = configOf(metadata, where);
  let step: number | undefined;
  if (metadata.optimizer_step !== undefined) {
    step = Number(metadata.optimizer_step);
    if (!(Number.isInteger(step) && step >= 0))
      throw new SafetensorsError(`${where}: corrupted metadata: optimizer_step ${JSON.stringify(metadata.optimizer_step)} is not an integer >= 0`);
  }
  const made: Tensor[] = [];
  try {
    const byName = new Map<string, Tensor>();
    for (const t of tensors) {
      const count = (t.data_offsets[1] - t.data_offsets[0]) / 4;
      const data = readF32(bytes, dataStart + t.data_offsets[0], count);
      const target = into?.get(t.name);
      if (target) {
        if (target.shape.length !== t.shape.length || target.shape.some((n, i) => n !== t.shape[i])) {
          throw new SafetensorsError(
            `${where}: tensor "${t.name}" has shape [${t.shape.join(', ')}] in the file but [${target.shape.join(', ')}] where it is read into`,
          );
        }
        target.backend.write(target.storage(), data);
        byName.set(t.name, target);
        continue;
      }
      const x = tensor(data, t.shape, backend);
      made.push(x);
      byName.set(t.name, x);
    }
    const params: Record<string, unknown> = {};
    const paramTensors = new Map<string, Tensor>();
    const hasOpt = metadata.optimizer_state !== undefined;
    const stateNames = metadata.module_state === undefined ? null : parseNames(metadata.module_state, where);
    let stateTensors: Map<string, Tensor> | undefined;
    if (stateNames) {
      stateTensors = new Map(
        stateNames.map((n) => {
          const t = byName.get(STATE_PREFIX + n);
          if (!t) throw new SafetensorsError(`${where}: missing tensor "${STATE_PREFIX + n}" of the module state`);
          return [n, t];
        }),
      );
    }
    for (const [name, t] of byName) {
      if (hasOpt && name.startsWith(OPT_PREFIX)) continue;
      if (stateNames && name.startsWith(STATE_PREFIX)) {
        if (!stateTensors!.has(name.slice(STATE_PREFIX.length))) throw new SafetensorsError(`${where}: tensor "${name}" is not part of the saved module state`);
        continue;
      }
      insert(params, name, t, where);
      paramTensors.set(name, t);
    }
    let optState: Tree | undefined;
    if (hasOpt) {
      let skeleton: unknown;
      try {
        skeleton = JSON.parse(metadata.optimizer_state!);
      } catch (e) {
        throw new SafetensorsError(`${where}: corrupted metadata: "optimizer_state" is not valid JSON (${e instanceof Error ? e.message : String(e)})`);
      }
      const used = new Set<string>();
      const fill = (node: unknown): unknown => {
        if (Array.isArray(node)) return node.map(fill);
        if (isPlainObject(node)) {
          if (typeof node.__tensor__ === 'string' && Object.keys(node).length === 1) {
            const t = byName.get(node.__tensor__);
            if (!t) throw new SafetensorsError(`${where}: missing tensor "${node.__tensor__}" of the optimizer state`);
            used.add(node.__tensor__);
            return t;
          }
          return Object.fromEntries(Object.entries(node).map(([k, v]) => [k, fill(v)]));
        }
        return node;
      };
      optState = fill(skeleton) as Tree;
      for (const name of byName.keys()) {
        if (name.startsWith(OPT_PREFIX) && !used.has(name)) throw new SafetensorsError(`${where}: tensor "${name}" is not part of the saved optimizer state`);
      }
    }
    return { config, params: params as Params, metadata, tensors: paramTensors, optState, step, stateTensors };
  } catch (e) {
    made.forEach((t) => t.dispose());
    throw e;
  }
}
