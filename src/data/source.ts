/**
 * Where a simulation file comes from: a path (Node, Deno), a URL (fetched; file: URLs are paths in
 * Node and Deno), or bytes (Uint8Array, ArrayBuffer, Blob) anywhere. Paths stay paths, so that the
 * HDF5 layer can read a slice of a huge file without reading the rest.
 */
import { SimulationFileError } from './errors.js';

/** A file to read: a path (Node, Deno), a URL (fetched), or its bytes. */
export type FileSource = string | URL | Uint8Array | ArrayBuffer | Blob;

export interface Resolved {
  /** For messages: the path, the URL, or the label given for bytes. */
  readonly label: string;
  /** A local file (Node/Deno only). */
  readonly path?: string;
  readonly bytes?: Uint8Array;
}

/** Node or Deno (both have node:fs); false in browsers and workers. */
export function hasNodeFs(): boolean {
  const g = globalThis as { Deno?: unknown; process?: { versions?: { node?: unknown } }; document?: unknown };
  return g.Deno !== undefined || (typeof g.process?.versions?.node === 'string' && g.document === undefined);
}

export type NodeFs = typeof import('./node-fs.js');
let nodeFs: Promise<NodeFs> | undefined;
export function loadNodeFs(): Promise<NodeFs> {
  return (nodeFs ??= import('./node-fs.js'));
}

const isRemote = (s: string) => /^(https?|blob|data):/i.test(s);

async function fetchBytes(fn: string, url: string): Promise<Uint8Array> {
  let res: Response;
  try {
    res = await fetch(url);
  } catch (e) {
    throw new SimulationFileError(fn, url, undefined, `cannot fetch the file (${e instanceof Error ? e.message : String(e)})`, e);
  }
  if (!res.ok) throw new SimulationFileError(fn, url, undefined, `cannot fetch the file (HTTP ${res.status} ${res.statusText})`);
  return new Uint8Array(await res.arrayBuffer());
}

/** Resolves a source to a local path (Node/Deno) or to bytes. `name` labels bytes in messages. */
export async function resolveSource(fn: string, source: FileSource, name?: string): Promise<Resolved> {
  if (source instanceof Uint8Array) return { label: name ?? `<${source.byteLength} bytes>`, bytes: source };
  if (source instanceof ArrayBuffer) return { label: name ?? `<${source.byteLength} bytes>`, bytes: new Uint8Array(source) };
  if (typeof Blob !== 'undefined' && source instanceof Blob) {
    return { label: name ?? `<blob of ${source.size} bytes>`, bytes: new Uint8Array(await source.arrayBuffer()) };
  }
  const node = hasNodeFs();
  if (source instanceof URL) {
    if (source.protocol === 'file:' && node) return { label: name ?? source.href, path: (await loadNodeFs()).urlToPath(source) };
    return { label: name ?? source.href, bytes: await fetchBytes(fn, source.href) };
  }
  if (typeof source === 'string') {
    if (source.length === 0) throw new SimulationFileError(fn, source, undefined, 'an empty path');
    if (node && !isRemote(source)) return { label: name ?? source, path: source };
    return { label: name ?? source, bytes: await fetchBytes(fn, source) };
  }
  throw new SimulationFileError(fn, String(source), undefined, 'the source must be a path, a URL, a Uint8Array, an ArrayBuffer or a Blob');
}

/** The first `n` bytes of the source (for format detection by magic number). */
export async function headBytes(fn: string, r: Resolved, n: number): Promise<Uint8Array> {
  if (r.bytes) return r.bytes.subarray(0, n);
  try {
    return await (await loadNodeFs()).readHead(r.path!, n);
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SimulationFileError(fn, r.label, undefined, `cannot read the file (${code ?? (e instanceof Error ? e.message : String(e))})`, e);
  }
}

/** All bytes of the source (NetCDF-3 is parsed from memory). */
export async function allBytes(fn: string, r: Resolved): Promise<Uint8Array> {
  if (r.bytes) return r.bytes;
  try {
    return new Uint8Array(await (await loadNodeFs()).readFile(r.path!));
  } catch (e) {
    const code = (e as { code?: string }).code;
    throw new SimulationFileError(fn, r.label, undefined, `cannot read the file (${code ?? (e instanceof Error ? e.message : String(e))})`, e);
  }
}
