/**
 * Checkpoints in every environment. `loadCheckpoint` takes a path (Node, Deno), a URL (`http:`,
 * `https:`, `blob:`, `data:` through fetch; `file:` through the file system in Node, whose fetch
 * cannot read it, and through fetch in Deno), bytes or a Blob; it rebuilds the model from the
 * saved config WITHOUT random initialisation and reads the saved weights straight into the new
 * parameter tensors (one allocation each). `saveCheckpoint` writes a file where there is a file
 * system and, in a browser page, offers the checkpoint as a download. Browser-safe: the Node-only
 * file code (checkpoint-node.ts) is imported only where a file system exists.
 */
import type { Tree } from '../autodiff.js';
import { getBackend, setBackend, type Backend } from '../backends/backend.js';
import { show } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { State } from '../nn/layers/common.js';
import { withoutInit, withParameterBudget, type Module, type ModuleConfig, type Params } from '../nn/module.js';
import { buildModule } from '../nn/registry.js';
import type { Tensor } from '../tensor.js';
import { leavesWithPaths } from '../train/tree.js';
import { configOf, deserialize, isExtraTensor, parseHeader, SafetensorsError, serialize, type SerializeExtra } from './safetensors.js';

/** Where a checkpoint comes from: a path (Node/Deno), a URL (object or string), bytes or a Blob. */
export type CheckpointSource = string | URL | Uint8Array | ArrayBuffer | ArrayBufferView | Blob;

/** Options of `loadCheckpoint`. */
export interface LoadOptions {
  /** Backend of the rebuilt model, parameters and buffers alike (default: the current one). */
  readonly backend?: Backend;
  /** Options handed to fetch for URLs (headers, credentials, an AbortSignal…). */
  readonly fetch?: RequestInit;
}

/** What `loadCheckpoint` returns: the rebuilt model, its parameters and the saved metadata. */
export interface Loaded {
  /** The rebuilt model; its `params` are the loaded ones (model.dispose() frees them). */
  readonly model: Module;
  /** The loaded parameters (the same tree as model.params). */
  readonly params: Params;
  readonly config: ModuleConfig;
  readonly metadata: Readonly<Record<string, string>>;
  readonly optState?: Tree;
  readonly step?: number;
  /** The saved module state (batch-norm running statistics) of the rebuilt model, when saved. */
  readonly state?: State;
}

const isDeno = typeof (globalThis as { Deno?: { version?: { deno?: unknown } } }).Deno?.version?.deno === 'string';
const isNode = !isDeno && typeof process !== 'undefined' && typeof process.versions?.node === 'string';
/** Node and Deno read and write files (Deno through its node:fs); browsers and workers do not. */
const hasFileSystem = isDeno || isNode;
/** Schemes that make a string a URL; any other string is a path (with a file system) or a relative URL. */
const URL_SCHEMES = ['http:', 'https:', 'file:', 'blob:', 'data:'];

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));

/** A short, readable name of a source for error messages. */
function describe(source: CheckpointSource): string {
  if (typeof source === 'string') return JSON.stringify(source.length > 200 ? `${source.slice(0, 200)}…` : source);
  if (source instanceof URL) return JSON.stringify(source.protocol === 'data:' ? `${source.href.slice(0, 40)}…` : source.href);
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    const name = (source as Blob & { name?: unknown }).name;
    return `${typeof name === 'string' ? `File ${JSON.stringify(name)}` : 'Blob'} of ${source.size} bytes`;
  }
  if (source instanceof ArrayBuffer || ArrayBuffer.isView(source)) return `${source.byteLength} bytes`;
  return typeof source;
}

/** A string that names a URL (a known scheme), or null for a path. */
function asUrl(source: string): URL | null {
  const m = /^([a-z][a-z0-9+.-]*:)/i.exec(source);
  if (!m || !URL_SCHEMES.includes(m[1]!.toLowerCase())) return null;
  try {
    return new URL(source);
  } catch {
    return null;
  }
}

/** The bytes of `source`, with errors that name it. */
async function readSource(source: CheckpointSource, where: string, init?: RequestInit): Promise<{ bytes: Uint8Array; hint: string }> {
  if (source instanceof Uint8Array) return { bytes: source, hint: '' };
  if (source instanceof ArrayBuffer) return { bytes: new Uint8Array(source), hint: '' };
  if (ArrayBuffer.isView(source)) return { bytes: new Uint8Array(source.buffer, source.byteOffset, source.byteLength), hint: '' };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    try {
      return { bytes: new Uint8Array(await source.arrayBuffer()), hint: '' };
    } catch (e) {
      throw new Error(`${where}: cannot read the Blob (${message(e)})`, { cause: e });
    }
  }
  let url: URL | null;
  if (source instanceof URL) url = source;
  else if (typeof source === 'string') {
    if (source.length === 0) throw new TypeError(`${where}: source must be a non-empty path or URL (got "")`);
    url = asUrl(source);
    if (!url && !hasFileSystem) {
      // a browser or worker: a relative string is a URL relative to the page (or worker script)
      const base = (globalThis as { location?: { href?: string } }).location?.href;
      if (!base)
        throw new TypeError(
          `${where}: there is no file system here and no page address to resolve a relative URL against; pass an absolute URL, bytes or a Blob`,
        );
      url = new URL(source, base);
    }
  } else {
    throw new TypeError(`${where}: source must be a path, a URL, a Uint8Array, an ArrayBuffer or a Blob (got ${source === null ? 'null' : typeof source})`);
  }
  if (!url || (url.protocol === 'file:' && isNode)) {
    const node = await import('./checkpoint-node.js');
    return { bytes: await node.readFileBytes(url ?? (source as string), where), hint: '' };
  }
  let response: Response;
  try {
    response = await fetch(url, init);
  } catch (e) {
    throw new Error(`${where}: cannot fetch ${url.protocol === 'file:' ? 'the file' : 'the URL'} (${message(e)})`, { cause: e });
  }
  if (!response.ok) {
    await response.body?.cancel().catch(() => undefined);
    throw new Error(`${where}: the server answered HTTP ${response.status}${response.statusText ? ` ${response.statusText}` : ''}`);
  }
  let buffer: ArrayBuffer;
  try {
    buffer = await response.arrayBuffer();
  } catch (e) {
    throw new Error(`${where}: the download failed part-way (${message(e)})`, { cause: e });
  }
  const type = response.headers.get('content-type') ?? '';
  const hint = /text\/html/i.test(type) ? ' (the server sent an HTML page, content-type text/html, not a checkpoint file: is the URL right?)' : '';
  return { bytes: new Uint8Array(buffer), hint };
}

/**
 * Loads a checkpoint written by `saveCheckpoint`/`serialize` from a path (Node, Deno), a URL (fetch;
 * Node reads `file:` URLs from disk; in browsers a relative string is resolved against the page),
 * bytes or a Blob. Validates the file (header, offsets, F32, size), rebuilds the model from its
 * config without random initialisation, checks that the saved tensors are exactly the model's
 * parameters (names and shapes), and reads them into the model. Errors name the source and what
 * is wrong; nothing is left allocated when it fails.
 * @example
 * const { model, params } = await loadCheckpoint('unet.safetensors');
 * const y = model.predict(x);
 * model.dispose(); // frees the loaded params too
 */
export async function loadCheckpoint(source: CheckpointSource, options: LoadOptions = {}): Promise<Loaded> {
  const where = `loadCheckpoint(${describe(source)})`;
  const { bytes, hint } = await readSource(source, where, options.fetch);
  try {
    return checkpointFromBytes(bytes, { backend: options.backend, where });
  } catch (e) {
    if (hint && e instanceof SafetensorsError) throw new SafetensorsError(`${e.message}${hint}`, { cause: e });
    throw e;
  }
}

/** Floats a build may draw beyond the file's parameters (initialisations some builders drop). */
const BUILD_SLACK = 2 ** 20;

/** Runs `fn` with `backend` as the current backend (so modules built inside live on it). */
function onBackend<T>(backend: Backend | undefined, where: string, fn: () => T): T {
  const before = getBackend();
  if (!backend || backend === before) return fn();
  try {
    setBackend(backend.name);
  } catch (e) {
    throw new Error(`${where}: cannot build the model on the ${backend.name} backend (${message(e)})`, { cause: e });
  }
  try {
    return fn();
  } finally {
    setBackend(before.name);
  }
}

/**
 * The synchronous core of loadCheckpoint, for bytes already in memory: the model is built from
 * the saved config with no random draw and no zero fill (`withoutInit(…, { empty: true })`), and
 * every parameter tensor is then written once from the file.
 * @example
 * const { model } = checkpointFromBytes(await serialize(trained)); // e.g. bytes sent to a worker
 */
export function checkpointFromBytes(
  bytes: Uint8Array | ArrayBuffer | ArrayBufferView,
  { backend, where = 'checkpointFromBytes' }: { backend?: Backend; where?: string } = {},
): Loaded {
  const header = parseHeader(bytes, where);
  const config = configOf(header.metadata, where);
  if (!config) throw new SafetensorsError(`${where}: no model config in the metadata (not a geoconv checkpoint; read it with deserialize)`);
  // The build may allocate no more randomly initialised parameters than the file holds: a config
  // that describes a bigger model than its tensors fails at its first oversized parameter.
  const own = header.tensors.filter((t) => !isExtraTensor(t.name, header.metadata));
  const floats = own.reduce((n, t) => n + (t.data_offsets[1] - t.data_offsets[0]) / 4, 0);
  let model: Module;
  try {
    model = onBackend(backend, where, () =>
      withParameterBudget(floats + BUILD_SLACK, where, () => withoutInit(() => buildModule(config, null), { empty: true })),
    );
  } catch (e) {
    throw new SafetensorsError(`${where}: cannot rebuild the model from its config (type ${JSON.stringify(config.type)}): ${message(e)}`, { cause: e });
  }
  const fail = (msg: string, cause?: unknown): never => {
    model.dispose();
    throw new SafetensorsError(`${where}: ${msg}`, cause === undefined ? undefined : { cause });
  };
  const expected = leavesWithPaths(model.params);
  const inFile = new Map(own.map((t) => [t.name, t]));
  const problems: string[] = [];
  let more = 0;
  const problem = (text: () => string) => {
    if (problems.length < limits.maxListedProblems) problems.push(text());
    else more++;
  };
  for (const [name, t] of expected) {
    const got = inFile.get(name);
    if (!got) problem(() => `missing tensor ${quoteName(name)} (shape ${show(t.shape)})`);
    else if (got.shape.length !== t.shape.length || got.shape.some((n, i) => n !== t.shape[i])) {
      problem(() => `shape mismatch for ${quoteName(name)}: the file has ${show(got.shape)}, the model expects ${show(t.shape)}`);
    }
  }
  const names = new Set(expected.map(([n]) => n));
  for (const name of inFile.keys())
    if (!names.has(name)) problem(() => `unexpected tensor ${quoteName(name)} (not a parameter of the ${String(config.type).slice(0, 40)} model)`);
  // listed up to limits.maxListedProblems, the rest counted: 100 000 bad names must not make a 6 MB message
  if (problems.length) fail(problems.join('; ') + (more ? `; and ${more} more problems` : ''));
  // Filling in place is right only if no two parameters share storage (a module that tied two
  // parameters would get one of them silently overwritten); construction never does that.
  const storages = new Set(expected.map(([, t]) => t.storage()));
  if (storages.size !== expected.length) fail(`the rebuilt ${config.type} model has parameters that share storage; it cannot be loaded in place`);
  let d: ReturnType<typeof deserialize>;
  try {
    d = deserialize(bytes, { backend: expected[0]?.[1].backend ?? backend, where, into: new Map(expected as [string, Tensor][]) });
  } catch (e) {
    model.dispose();
    throw e;
  }
  let state: State | undefined;
  if (d.stateTensors) {
    try {
      state = State.fromNamed(model, d.stateTensors);
    } catch (e) {
      d.stateTensors.forEach((t) => t.dispose());
      if (d.optState !== undefined) leavesOf(d.optState).forEach((t) => t.dispose());
      fail(message(e), e);
    }
  }
  return { model, params: model.params, config, metadata: d.metadata, optState: d.optState, step: d.step, state };
}

/** A tensor name for an error message: quoted, at most 80 characters. */
const quoteName = (name: string): string => JSON.stringify(name.length > 80 ? `${name.slice(0, 80)}…` : name);

/** The tensors of an optimizer-state tree (arrays, objects, tensors and plain numbers). */
function leavesOf(tree: unknown, out: Tensor[] = []): Tensor[] {
  if (tree !== null && typeof tree === 'object') {
    if ('shape' in tree && typeof (tree as Tensor).dispose === 'function') out.push(tree as Tensor);
    else for (const v of Object.values(tree)) leavesOf(v, out);
  }
  return out;
}

/**
 * Saves `model`'s config and `params` (default model.params), with optionally the optimizer state
 * and step and the module state. Node and Deno: writes `path` atomically (temp file, fsync,
 * rename). Browser page: there is no file system, so the checkpoint is offered as a download
 * named after the last part of `path` (the browser decides the folder). Elsewhere (a worker):
 * throws, pointing to `serialize`, which gives the same bytes to store as you like.
 * @example
 * const result = await train({ model, x, y, batchSize: 8, key: random.key(0), optimizer: optim.adam({ learningRate: 1e-3 }), stop: new EpochStop(10) });
 * await saveCheckpoint('unet.safetensors', model, result.params, { optState: result.optState, step: result.step });
 */
export async function saveCheckpoint(path: string, model: Module, params?: Params, extra?: SerializeExtra): Promise<void> {
  if (typeof path !== 'string' || path.length === 0)
    throw new TypeError(`saveCheckpoint: path must be a non-empty string (got ${typeof path === 'string' ? '""' : typeof path})`);
  if (hasFileSystem) {
    const node = await import('./checkpoint-node.js');
    return node.save(path, model, params, extra);
  }
  const doc = (globalThis as { document?: Document }).document;
  if (!doc || typeof URL.createObjectURL !== 'function') {
    throw new Error(
      `saveCheckpoint("${path}"): there is no file system here and no page to download from; use serialize(model, params, extra) to get the checkpoint bytes (a Uint8Array) and store them yourself (OPFS, IndexedDB, an upload)`,
    );
  }
  const bytes = await serialize(model, params ?? model.params, extra ?? {});
  const name = path.split(/[/\\]/).filter(Boolean).pop() ?? 'model.safetensors';
  const url = URL.createObjectURL(new Blob([bytes as Uint8Array<ArrayBuffer>], { type: 'application/octet-stream' }));
  const a = doc.createElement('a');
  a.href = url;
  a.download = name;
  a.rel = 'noopener';
  a.style.display = 'none';
  doc.body?.appendChild(a);
  try {
    a.click();
  } finally {
    a.remove();
    // the download reads the Blob after this task; release it once it has certainly started
    setTimeout(() => URL.revokeObjectURL(url), 60_000);
  }
}
