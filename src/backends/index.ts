/**
 * Backend selection: `await init({ backend })`. `ref` is always registered (and current until an
 * `init` call picks another); `wasm` and `webgpu` are started on request, `webgpu` lazily imported.
 */
import type { OpName } from '../ops/op.js';
import { getBackend, hasBackend, registerBackend, setBackend, type Backend, type BackendName } from './backend.js';
import { refBackend } from './ref/index.js';


export interface InitOptions {
  /** 'auto' (default) picks WebGPU when a hardware adapter exists and its kernel table is complete, else wasm. */
  backend?: 'auto' | BackendName;
  /** Worker threads for the wasm backend (default 1). */
  threads?: number;
  /** The wasm build: 'auto' (default) takes relaxed SIMD (fused multiply-add) where the engine has it. */
  wasmVariant?: 'auto' | 'simd' | 'relaxed';
}

/** Why a backend is unavailable, filled by the last attempt to start it. */
export const unavailable: Partial<Record<BackendName, string>> = {};
/** Notices from `init` (such as a fallback) for `geoconv info`. */
export const notices: string[] = [];

/** Whether a running wasm backend already has the requested threads and build. */
function wasmMatches(b: Backend, opts: InitOptions): boolean {
  const w = b as Backend & { requestedThreads?: number; variant?: string };
  return (opts.threads === undefined || w.requestedThreads === opts.threads)
    && (opts.wasmVariant === undefined || opts.wasmVariant === 'auto' || w.variant === opts.wasmVariant);
}

async function start(name: BackendName, opts: InitOptions): Promise<Backend | undefined> {
  const running = hasBackend(name) ? getBackend(name) : undefined;
  if (running && (name !== 'wasm' || wasmMatches(running, opts))) return running;
  try {
    const b = name === 'ref' ? refBackend()
      : name === 'wasm' ? await (await import('./wasm/index.js')).createWasmBackend({ threads: opts.threads ?? 1, variant: opts.wasmVariant })
      : await (await import('./webgpu/index.js')).createWebGPUBackend();
    // A replaced wasm backend stops its workers now (its tensors stay readable, on one thread).
    (running as { close?: () => void } | undefined)?.close?.();
    registerBackend(b);
    delete unavailable[name];
    return b;
  } catch (e) {
    unavailable[name] = e instanceof Error ? e.message : String(e);
    return undefined;
  }
}

/** Starts (if needed) and selects a backend; returns its name. */
export async function init(opts: InitOptions = {}): Promise<BackendName> {
  const want = opts.backend ?? 'auto';
  if (!['auto', 'ref', 'wasm', 'webgpu'].includes(want)) {
    throw new RangeError(`init: backend must be one of "auto", "wasm", "webgpu", "ref" (got ${JSON.stringify(want)})`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new RangeError(`init: threads must be an integer >= 1 (got ${opts.threads})`);
  }
  if (want !== 'auto') {
    const b = await start(want, opts);
    if (!b) throw new Error(`init: the ${want} backend is unavailable here: ${unavailable[want]}`);
    setBackend(want);
    return want;
  }
  const gpu = await start('webgpu', opts);
  const missing: readonly OpName[] = gpu?.incomplete ?? [];
  // A software adapter (SwiftShader, llvmpipe…) is correct but 10–100× slower than wasm.
  const software = gpu?.software === true;
  if (gpu && missing.length === 0 && !software) {
    setBackend('webgpu');
    return 'webgpu';
  }
  notices.push(!gpu ? `auto: no WebGPU (${unavailable.webgpu}); using wasm`
    : software ? 'auto: the WebGPU adapter is a software (CPU) implementation, slower than wasm; using wasm (init({ backend: "webgpu" }) still uses it)'
    : `auto: WebGPU adapter found, but its kernel table lacks ${missing.join(', ')}; using wasm`);
  if (await start('wasm', opts)) {
    setBackend('wasm');
    return 'wasm';
  }
  notices.push(`auto: wasm unavailable (${unavailable.wasm}); using ref`);
  setBackend('ref');
  return 'ref';
}

export { getBackend, setBackend, type Backend, type BackendName };
