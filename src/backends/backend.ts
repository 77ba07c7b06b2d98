/**
 * The backend interface (DESIGN.md §3) and the registry of started backends. Storage is owned by
 * one backend; kernels run in issue order; reading is asynchronous at the edge so that a GPU fits,
 * with a synchronous read on CPU backends. The registry knows backends by name only and imports
 * none: `ref` is registered by src/tensor.ts, wasm and webgpu by `init` once started.
 */
import type { KernelTable } from '../ops/op.js';

/**
 * The backends: 'ref' (plain TypeScript, float64 accumulation: the executable spec), 'wasm' (SIMD, threads), 'webgpu'.
 */
export type BackendName = 'ref' | 'wasm' | 'webgpu';

/**
 * A backend: storage (alloc, write, read, free) and one kernel per primitive. Obtain the current one
 * with `getBackend()`. `S` (any by default) is the storage type, which differs per backend; each
 * backend's kernel table is typed with its own.
 */
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
  /** A one-line description for `geoconv info`. */
  describe(): string;
}

const registered = new Map<BackendName, Backend>();
let current: Backend | undefined;

/**
 * What `init` (and the implicit choice of `ref`) decided that a user may not expect: fallbacks and
 * downgrades, one line each, in order (`geoconv info` prints them).
 * @example
 * await init();
 * for (const line of notices) console.warn(line); // e.g. a requested backend that was not available
 */
export const notices: string[] = [];
const warned = new Set<string>();

/**
 * Records a notice; with `warn`, also prints it once per process with console.warn (a downgrade
 * that costs speed: threads, relaxed SIMD, a software GPU, the reference backend).
 */
export function notify(message: string, warn = false): void {
  if (!notices.includes(message)) notices.push(message);
  if (warn && !warned.has(message)) {
    warned.add(message);
    console.warn(`geoconv: ${message}`);
  }
}

/** The notice (and one-time warning) for ops that run before any backend was chosen. */
export const IMPLICIT_REF_NOTICE =
  'no backend was chosen (await init() was not called), so ops run on the float64 reference ' +
  'backend "ref": correct, but 10-50x slower than wasm. Call `await init()` before making tensors; `setBackend("ref")` or ' +
  '`await init({ backend: "ref" })` chooses ref on purpose and silences this.';

export function registerBackend(backend: Backend): void {
  registered.set(backend.name, backend);
}

/**
 * Makes an initialised backend current (see `init` for starting one).
 * @example
 * await init({ backend: 'wasm' });
 * setBackend('ref'); // always available: the float64 reference
 */
export function setBackend(name: BackendName): void {
  const b = registered.get(name);
  if (!b) {
    throw new Error(
      `setBackend: backend ${JSON.stringify(name)} is not initialised (initialised: ${[...registered.keys()].join(', ') || 'none'}); call await init({ backend: ${JSON.stringify(name)} }) first`,
    );
  }
  current = b;
}

/**
 * The backend ops run on (after `init`), or the one named.
 * @example
 * await init();
 * console.log(getBackend().name); // "wasm" or "webgpu"
 */
export function getBackend(name?: BackendName): Backend {
  if (name !== undefined) {
    const b = registered.get(name);
    if (!b) throw new Error(`getBackend: backend ${JSON.stringify(name)} is not initialised`);
    return b;
  }
  // ref is always there: it is the current backend until init() selects another. Falling back to
  // it silently made a forgotten `await init()` cost 10-50x, so the first such use warns (once).
  if (!current) {
    const ref = registered.get('ref');
    if (!ref) throw new Error('getBackend: no backend is registered, not even "ref" (src/tensor.ts registers it: import geoconv from its entry point)');
    current = ref;
    notify(IMPLICIT_REF_NOTICE, true);
  }
  return current;
}

/** Whether a backend was chosen (by init or setBackend) or ops already fell back to ref. */
export function backendChosen(): boolean {
  return current !== undefined;
}

export function hasBackend(name: BackendName): boolean {
  return registered.has(name);
}
