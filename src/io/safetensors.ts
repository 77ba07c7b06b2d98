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

export const FORMAT = 'geoconv';
export const FORMAT_VERSION = '1';
/** The safetensors reference implementation refuses headers above this size; so do we. */
const MAX_HEADER = 100_000_000;
const OPT_PREFIX = 'opt.';
const STATE_PREFIX = 'state.';
const LITTLE_ENDIAN = new Uint8Array(new Uint16Array([1]).buffer)[0] === 1;

export interface TensorInfo {
  readonly dtype: string;
  readonly shape: readonly number[];
  readonly data_offsets: readonly [number, number];
}

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
  if (!isPlainObject(config) || typeof config.type !== 'string') throw new SafetensorsError('serialize: model must be a Module or a module config with a "type"');
  const entries: Entry[] = [];
  const seen = new Set<string>();
  const add = (name: string, t: Tensor) => {
    if (seen.has(name)) throw new SafetensorsError(`serialize: two tensors would both be named "${name}" (parameter names must not contain '.' ambiguously)`);
    if (t.disposed) throw new SafetensorsError(`serialize: tensor "${name}" was disposed`);
    seen.add(name);
    entries.push({ name, t });
  };
  for (const [path, t] of leavesWithPaths(params)) {
    if (path === '__metadata__' || path.startsWith(OPT_PREFIX) || path.startsWith(STATE_PREFIX)) throw new SafetensorsError(`serialize: parameter name "${path}" is reserved`);
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
 */
export async function serialize(model: Module | ModuleConfig, params?: Params, extra: SerializeExtra = {}): Promise<Uint8Array> {
  const p = params ?? (model as Module).params;
  if (!p) throw new SafetensorsError('serialize: no params given and the model has none');
  const { entries, metadata } = collect(model, p, extra);
  const datas = await Promise.all(entries.map((e) => e.t.data()));
  return encode(entries, datas, metadata);
}

/** serialize for CPU backends (ref, wasm), synchronously. */
export function serializeSync(model: Module | ModuleConfig, params?: Params, extra: SerializeExtra = {}): Uint8Array {
  const p = params ?? (model as Module).params;
  if (!p) throw new SafetensorsError('serializeSync: no params given and the model has none');
  const { entries, metadata } = collect(model, p, extra);
  return encode(entries, entries.map((e) => e.t.dataSync()), metadata);
}

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

/**
 * Parses and validates the header: length, UTF-8 JSON, metadata of strings, every entry's dtype,
 * shape and offsets, and that the offsets tile the data section exactly (no gap, overlap, missing
 * or trailing bytes). Every failure is a SafetensorsError saying what is wrong.
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
    text = new TextDecoder('utf-8', { fatal: true }).decode(bytes.subarray(8, 8 + n));
  } catch {
    throw err('corrupted header: not valid UTF-8');
  }
  if (!text.startsWith('{')) throw err(`corrupted header: must be a JSON object starting with "{" (starts with ${JSON.stringify(text.slice(0, 16))})`);
  let header: unknown;
  try {
    header = JSON.parse(text);
  } catch (e) {
    throw err(`corrupted header: invalid JSON (${e instanceof Error ? e.message : String(e)})`);
  }
  if (!isPlainObject(header)) throw err('corrupted header: the JSON must be an object');
  const metadata: Record<string, string> = {};
  const meta = header.__metadata__;
  if (meta !== undefined) {
    if (!isPlainObject(meta)) throw err('corrupted header: "__metadata__" must be an object of strings');
    for (const [k, v] of Object.entries(meta)) {
      if (typeof v !== 'string') throw err(`corrupted header: __metadata__["${k}"] must be a string (got ${JSON.stringify(v)})`);
      metadata[k] = v;
    }
  }
  const dataStart = 8 + n;
  const dataLen = bytes.length - dataStart;
  const tensors: (TensorInfo & { name: string })[] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') continue;
    if (!isPlainObject(raw)) throw err(`corrupted header: entry "${name}" must be an object {dtype, shape, data_offsets}`);
    const { dtype, shape, data_offsets: offs } = raw as Record<string, unknown>;
    if (typeof dtype !== 'string') throw err(`corrupted header: tensor "${name}" has no dtype`);
    if (!Array.isArray(shape) || !shape.every((d) => Number.isSafeInteger(d) && d >= 0)) {
      throw err(`corrupted header: tensor "${name}" has shape ${JSON.stringify(shape)}, not a list of integers >= 0`);
    }
    if (!Array.isArray(offs) || offs.length !== 2 || !offs.every((o) => Number.isSafeInteger(o) && o >= 0) || offs[0] > offs[1]) {
      throw err(`corrupted header: tensor "${name}" has data_offsets ${JSON.stringify(offs)}, not [begin, end] with 0 <= begin <= end`);
    }
    if (dtype !== 'F32') throw err(`tensor "${name}" has dtype ${dtype}; geoconv reads F32 only (convert with e.g. tensor.astype(numpy.float32) before saving)`);
    const need = 4 * shape.reduce((p: number, d: number) => p * d, 1);
    if (offs[1] - offs[0] !== need) {
      throw err(`corrupted header: tensor "${name}" of shape [${shape.join(', ')}] needs ${need} bytes of F32 but its data_offsets [${offs[0]}, ${offs[1]}] span ${offs[1] - offs[0]}`);
    }
    tensors.push({ name, dtype, shape: shape as number[], data_offsets: [offs[0], offs[1]] });
  }
  tensors.sort((a, b) => a.data_offsets[0] - b.data_offsets[0] || a.data_offsets[1] - b.data_offsets[1]);
  const end = tensors.reduce((m, t) => Math.max(m, t.data_offsets[1]), 0);
  if (end > dataLen) throw err(`truncated file: the tensors need ${end} bytes of data after the header but only ${dataLen} are there (file ${bytes.length} bytes, expected ${dataStart + end})`);
  let at = 0;
  for (const t of tensors) {
    if (t.data_offsets[0] !== at) {
      throw err(`corrupted header: tensor "${t.name}" starts at byte ${t.data_offsets[0]} of the data but the previous tensor ends at ${at} (${t.data_offsets[0] < at ? 'overlap' : 'gap'})`);
    }
    at = t.data_offsets[1];
  }
  if (at !== dataLen) throw err(`corrupted file: ${dataLen - at} trailing bytes after the last tensor (the header describes ${at} bytes of data, the file holds ${dataLen})`);
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

/** Sets tree[path split at '.'] = value (objects only), with an error on a name clash. */
function insert(tree: Record<string, unknown>, name: string, value: Tensor, where: string): void {
  const parts = name.split('.');
  let node = tree;
  parts.forEach((p, i) => {
    if (i === parts.length - 1) {
      if (p in node) throw new SafetensorsError(`${where}: tensor name "${name}" clashes with another tensor's path`);
      node[p] = value;
      return;
    }
    const next = node[p];
    if (next === undefined) node = (node[p] = {}) as Record<string, unknown>;
    else if (isPlainObject(next)) node = next;
    else throw new SafetensorsError(`${where}: tensor name "${name}" clashes with tensor "${parts.slice(0, i + 1).join('.')}"`);
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
  if (!isPlainObject(c) || typeof c.type !== 'string') throw new SafetensorsError(`${where}: corrupted metadata: "config" must be a JSON object with a string "type"`);
  return c as ModuleConfig;
}

/** True for the names of optimizer-state and module-state tensors (not parameters) under this metadata. */
export function isExtraTensor(name: string, metadata: Readonly<Record<string, string>>): boolean {
  return (metadata.optimizer_state !== undefined && name.startsWith(OPT_PREFIX)) || (metadata.module_state !== undefined && name.startsWith(STATE_PREFIX));
}

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
 */
export function deserialize(input: Uint8Array | ArrayBuffer | ArrayBufferView, { backend, where = 'deserialize', into }: DeserializeOptions = {}): Deserialized {
  const bytes = asBytes(input);
  const { metadata, tensors, dataStart } = parseHeader(bytes, where);
  const config = configOf(metadata, where);
  let step: number | undefined;
  if (metadata.optimizer_step !== undefined) {
    step = Number(metadata.optimizer_step);
    if (!(Number.isInteger(step) && step >= 0)) throw new SafetensorsError(`${where}: corrupted metadata: optimizer_step ${JSON.stringify(metadata.optimizer_step)} is not an integer >= 0`);
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
          throw new SafetensorsError(`${where}: tensor "${t.name}" has shape [${t.shape.join(', ')}] in the file but [${target.shape.join(', ')}] where it is read into`);
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
      stateTensors = new Map(stateNames.map((n) => {
        const t = byName.get(STATE_PREFIX + n);
        if (!t) throw new SafetensorsError(`${where}: missing tensor "${STATE_PREFIX + n}" of the module state`);
        return [n, t];
      }));
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
        skeleton = JSON.parse(metadata.optimizer_state);
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
