/**
 * The backend interface (DESIGN.md §3). Storage is owned by one backend; kernels run in issue order;
 * reading is asynchronous at the edge so that a GPU fits, with a synchronous read on CPU backends.
 */
import type { KernelTable, OpName } from '../ops/op.js';
import { refBackend } from './ref/index.js';

export type BackendName = 'ref' | 'wasm' | 'webgpu';

// eslint-disable-next-line @typescript-eslint/no-explicit-any -- storages differ per backend; kernels are typed per backend
export interface Backend<S = any> {
  readonly name: BackendName;
  /** Allocates storage for `size` float32 elements (contents unspecified). */
  alloc(size: number): S;
  free(storage: S): void;
  /** Copies `data` into the storage (`data.length` elements from element 0). */
  write(storage: S, data: Float32Array | Float64Array): void;
  read(storage: S, size: number): Promise<Float32Array>;
  /** Present on CPU backends only. */
  readSync?(storage: S, size: number): Float32Array;
  readonly kernels: KernelTable<S>;
  /** True on a software (CPU) implementation of WebGPU: correct but slower than wasm; 'auto' skips it. */
  readonly software?: boolean;
  /** Ops whose kernel entry only throws "not implemented" (an explicit, visible gap). */
  readonly incomplete?: readonly OpName[];
  /** A one-line description for `geoconv info`. */
  describe(): string;
}

const registered = new Map<BackendName, Backend>();
let current: Backend | undefined;

export function registerBackend(backend: Backend): void {
  registered.set(backend.name, backend);
}

/** Makes an initialised backend current (see `init` for starting one). */
export function setBackend(name: BackendName): void {
  const b = name === 'ref' ? registerRef() : registered.get(name);
  if (!b) {
    throw new Error(`setBackend: backend ${JSON.stringify(name)} is not initialised (initialised: ${[...registered.keys()].join(', ') || 'none'}); call await init({ backend: ${JSON.stringify(name)} }) first`);
  }
  current = b;
}

export function getBackend(name?: BackendName): Backend {
  if (name !== undefined) {
    const b = name === 'ref' ? registerRef() : registered.get(name);
    if (!b) throw new Error(`getBackend: backend ${JSON.stringify(name)} is not initialised`);
    return b;
  }
  // ref is always there: it is the current backend until init() selects another.
  return (current ??= registerRef());
}

export function hasBackend(name: BackendName): boolean {
  if (name === 'ref') registerRef();
  return registered.has(name);
}

function registerRef(): Backend {
  const ref = refBackend();
  registered.set('ref', ref);
  return ref;
}
