/**
 * Loads the wasm kernel module: feature probe, decode of the embedded base64 (no file paths, so
 * Node, Deno, browsers and bundlers all work; each build in its own lazily imported module, so only
 * the one an engine runs is loaded), one compile per variant (cached), instantiation.
 *
 * Two builds of assembly/ exist (asconfig.json): `simd` (fixed-width SIMD, every wasm engine since
 * 2021) and `relaxed` (+ relaxed SIMD: f32x4.relaxed_madd = FMA). `relaxed` is picked where the
 * engine validates it: Node >= 22, Deno, Chromium; Node 20 only with --experimental-wasm-relaxed-simd.
 */

/** Each build is its own module, imported on first use: bundles keep one chunk per build. */
const EMBEDDED: Record<string, () => Promise<{ wasmBase64: string }>> = {
  simd: () => import('../../generated/wasm-simd.js'),
  relaxed: () => import('../../generated/wasm-relaxed.js'),
  'simd-threads': () => import('../../generated/wasm-simd-threads.js'),
  'relaxed-threads': () => import('../../generated/wasm-relaxed-threads.js'),
};

import type { KernelExports } from '../../generated/exports.js';
import { PARAMS_FINGERPRINT } from '../../generated/params.js';

export type WasmVariant = 'simd' | 'relaxed';

/** The exports of assembly/index.ts, typed by scripts/gen-params.mjs from its sources. */
export type { KernelExports } from '../../generated/exports.js';

// Hand-made 1-function modules (toolchain.md, "Runtime feature detection").
const V128_CONST = [0xfd, 0x0c, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0];
const probe = (body: number[]) =>
  new Uint8Array([0, 97, 115, 109, 1, 0, 0, 0, 1, 5, 1, 96, 0, 1, 123, 3, 2, 1, 0, 10, body.length + 3, 1, body.length + 1, 0, ...body]);

const wasmAvailable = (): boolean => typeof WebAssembly === 'object' && typeof WebAssembly.validate === 'function';

/** Whether the engine runs fixed-width wasm SIMD (v128). */
export function simdSupported(): boolean {
  return wasmAvailable() && WebAssembly.validate(probe([...V128_CONST, 0x0b]));
}

/** Whether the engine runs relaxed SIMD (probed with f32x4.relaxed_madd). */
export function relaxedSimdSupported(): boolean {
  return wasmAvailable() && WebAssembly.validate(probe([...V128_CONST, ...V128_CONST, ...V128_CONST, 0xfd, 0x85, 0x02, 0x0b]));
}

/** The variant to run: `relaxed` where validated, else `simd`; a clear error where SIMD is missing. */
export function pickVariant(want: 'auto' | WasmVariant = 'auto'): WasmVariant {
  if (!wasmAvailable()) throw new Error('wasm backend: this JavaScript engine has no WebAssembly');
  if (!simdSupported()) {
    throw new Error(
      'wasm backend: this engine lacks WebAssembly SIMD (v128), which the kernels require ' +
        '(Node >= 16.4, Deno, Chrome/Edge >= 91, Firefox >= 89, Safari >= 16.4); use the ref backend instead',
    );
  }
  if (want === 'simd') return 'simd';
  const relaxed = relaxedSimdSupported();
  if (want === 'relaxed' && !relaxed) {
    throw new Error(
      'wasm backend: relaxed SIMD is not supported by this engine (Node 20 needs ' +
        '`node --experimental-wasm-relaxed-simd`; Node >= 22, Deno and Chromium have it)',
    );
  }
  return relaxed ? 'relaxed' : 'simd';
}

function decodeBase64(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64);
  const bytes = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) bytes[i] = s.charCodeAt(i);
  return bytes;
}

const compiled = new Map<string, Promise<WebAssembly.Module>>();

/**
 * Compiles the embedded module of `variant` once per process (the Module is shareable with workers).
 * `threaded`: the build that imports a shared memory (`env.memory`) instead of owning one.
 */
export function compileKernels(variant: WasmVariant, threaded = false): Promise<WebAssembly.Module> {
  const key = `${variant}${threaded ? '-threads' : ''}`;
  let m = compiled.get(key);
  if (!m) {
    m = EMBEDDED[key]!().then(({ wasmBase64 }) => {
      if (!wasmBase64) throw new Error(`wasm backend: the embedded ${key} module is empty; run npm run build:wasm`);
      return WebAssembly.compile(decodeBase64(wasmBase64));
    });
    m.catch(() => compiled.delete(key)); // let a later call retry
    compiled.set(key, m);
  }
  return m;
}

/** Pages the threaded build imports at least (asconfig.json `initialMemory`). */
export const THREADED_INITIAL_PAGES = 16;
/** The largest memory the threaded build accepts (asconfig.json `maximumMemory`: 4 GiB). */
export const THREADED_MAXIMUM_PAGES = 65536;

/**
 * A fresh instance of the `variant` module: with its own linear memory, or — given a shared
 * `memory` — of the threaded build over that memory (the main thread's instance; workers make
 * their own from the same Module).
 */
export async function instantiateKernels(variant: WasmVariant, memory?: WebAssembly.Memory): Promise<KernelExports> {
  const module = await compileKernels(variant, memory !== undefined);
  const env: Record<string, unknown> = {
    abort: (_msg: number, _file: number, line: number, col: number) => {
      throw new Error(`wasm kernel aborted at line ${line}:${col}`);
    },
  };
  if (memory) env.memory = memory;
  const instance = await WebAssembly.instantiate(module, { env } as WebAssembly.Imports);
  const ex = instance.exports as unknown as KernelExports; // the one cast: WebAssembly's exports are untyped
  checkParamsFingerprint(ex);
  return ex;
}

/**
 * Refuses a module compiled from another parameter schema than the writers of src/generated/params.ts
 * (a stale build would read every block with the old offsets).
 */
export function checkParamsFingerprint(ex: Pick<KernelExports, 'PARAMS_FINGERPRINT'>): void {
  const fp = ex.PARAMS_FINGERPRINT;
  if (!(fp instanceof WebAssembly.Global) || fp.value !== PARAMS_FINGERPRINT) {
    throw new Error(
      `wasm backend: the kernel module was built from another parameter schema (fingerprint ${fp instanceof WebAssembly.Global ? fp.value : 'missing'}) ` +
        `than this code (${PARAMS_FINGERPRINT}, src/backends/kernelParams.ts); rebuild with npm run build:gen`,
    );
  }
}

/** The integer op code that assembly/ exports as the global `${prefix}_${op}`. */
export function opCode(ex: KernelExports, prefix: string, op: string): number {
  const g: unknown = Reflect.get(ex, `${prefix}_${op}`); // looked up by name, checked here
  if (!(g instanceof WebAssembly.Global)) {
    throw new Error(`wasm backend: the kernel module does not export ${prefix}_${op} (assembly/ and src/ops/op.ts disagree; rebuild with npm run build:wasm)`);
  }
  return g.value as number;
}
