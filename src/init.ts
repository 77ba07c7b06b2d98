/**
 * Backend selection: `await init({ backend })`, and `toBackend`. Outside src/backends/ because both
 * make tensors (a copy, a wasm restart moving its live tensors) and backends import no front end.
 * `ref` is always registered; until `init` (or `setBackend`) chooses a backend, the first op falls
 * back to `ref` and warns once (see `IMPLICIT_REF_NOTICE`). `wasm` and `webgpu` are started on
 * request and imported lazily.
 *
 * Honest initialisation: `auto` asks for a WebGPU adapter and reads what it is BEFORE creating a
 * device or compiling a pipeline, so a software adapter (SwiftShader, llvmpipe…) costs one adapter
 * request, not seconds of shader compilation; every downgrade (software adapter skipped, threads
 * unavailable, relaxed SIMD unavailable, wasm unavailable) is a line in `notices` and one
 * console.warn per process.
 */
import { allocTensor, moveStorages, Tensor } from './tensor.js';
import { backendChosen, getBackend, hasBackend, notices, notify, registerBackend, setBackend, type Backend, type BackendName } from './backends/backend.js';
import { refBackend } from './backends/ref/index.js';
import { limits } from './core/limits.js';

/** Options of `init`: the backend (`auto` by default), wasm threads, WebGPU adapter preferences. */
export interface InitOptions {
  /** 'auto' (default) picks WebGPU when a hardware adapter exists and its kernel table is complete, else wasm. */
  backend?: 'auto' | BackendName;
  /**
   * Worker threads for the wasm backend (default 1): at most the hardware threads here (or
   * limits.minThreadsAllowed, whichever is larger) unless `allowOversubscription`, and never more
   * than limits.maxThreads (each thread holds its own wasm instance over the shared heap).
   */
  threads?: number;
  /** Allows more `threads` than hardware threads (up to limits.maxThreads). */
  allowOversubscription?: boolean;
  /** The wasm build: 'auto' (default) takes relaxed SIMD (fused multiply-add) where the engine has it. */
  wasmVariant?: 'auto' | 'simd' | 'relaxed';
}

/** Hardware threads of this machine (navigator.hardwareConcurrency in browsers, Node 21+ and Deno), or undefined. */
function hardwareThreads(): number | undefined {
  const n = (globalThis as { navigator?: { hardwareConcurrency?: unknown } }).navigator?.hardwareConcurrency;
  if (typeof n === 'number' && Number.isInteger(n) && n >= 1) return n;
  return nodeThreads;
}

/** Node before 21 has no navigator: os.availableParallelism(), read once at start-up where it exists. */
let nodeThreads: number | undefined;
try {
  const os = (
    globalThis as { process?: { getBuiltinModule?: (id: string) => { availableParallelism?: () => number; cpus?: () => unknown[] } | undefined } }
  ).process?.getBuiltinModule?.('node:os');
  nodeThreads = os?.availableParallelism?.() ?? os?.cpus?.().length;
} catch {
  nodeThreads = undefined;
}

/**
 * Why a backend is unavailable, filled by the last attempt to start it.
 * @example
 * await init({ backend: 'auto' });
 * if (unavailable.webgpu) console.log('no WebGPU:', unavailable.webgpu);
 */
export const unavailable: Partial<Record<BackendName, string>> = {};

const COOP_COEP = 'serve the page with the headers Cross-Origin-Opener-Policy: same-origin and Cross-Origin-Embedder-Policy: require-corp';

/** Whether a running wasm backend already has the requested threads and build. */
function wasmMatches(b: Backend, opts: InitOptions): boolean {
  const w = b as Backend & { requestedThreads?: number; variant?: string };
  return (
    (opts.threads === undefined || w.requestedThreads === opts.threads) &&
    (opts.wasmVariant === undefined || opts.wasmVariant === 'auto' || w.variant === opts.wasmVariant)
  );
}

/** Notices for a wasm backend that runs below what was asked: fewer threads, plain SIMD. */
function wasmDowngrades(b: Backend, opts: InitOptions): void {
  const w = b as Backend & { threads?: number; requestedThreads?: number; threadsNotice?: string; variant?: string };
  if (w.requestedThreads !== undefined && w.threads !== undefined && w.threads < w.requestedThreads) {
    const why = w.threadsNotice ?? 'workers are unavailable';
    const fix = /cross-origin|SharedArrayBuffer/i.test(why) ? `; ${COOP_COEP}` : '';
    notify(`wasm: ${w.requestedThreads} threads were requested but 1 runs: ${why}${fix}`, true);
  }
  if (w.variant === 'simd' && opts.wasmVariant !== 'simd') {
    const node = (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node;
    const fix =
      node && Number(node.split('.')[0]) < 22
        ? `run node with --experimental-wasm-relaxed-simd (Node ${node}; Node >= 22 has it by default; NODE_OPTIONS does not accept this flag)`
        : 'Chromium, Node >= 22 and Deno have it';
    notify(`wasm: this engine lacks relaxed SIMD, so the plain SIMD build runs (about 5-10 % slower): ${fix}`, true);
  }
}

async function start(name: BackendName, opts: InitOptions): Promise<Backend | undefined> {
  const registered = hasBackend(name) ? getBackend(name) : undefined;
  // A WebGPU backend whose device was lost or destroyed is replaced by a new one.
  const running = (registered as { context?: { lost?: boolean } } | undefined)?.context?.lost ? undefined : registered;
  if (running && (name !== 'wasm' || wasmMatches(running, opts))) return running;
  try {
    const b =
      name === 'ref'
        ? refBackend()
        : name === 'wasm'
          ? await (await import('./backends/wasm/index.js')).createWasmBackend({ threads: opts.threads ?? 1, variant: opts.wasmVariant })
          : await (await import('./backends/webgpu/index.js')).createWebGPUBackend();
    if (running) {
      // A wasm backend restarted with other threads or another build: its live tensors move to
      // the new one (same handles), so nothing is orphaned on a backend that no longer runs.
      const moved = moveStorages(running, b);
      (running as { close?: () => void }).close?.();
      if (moved > 0) notify(`wasm: restarted (${b.describe()}); ${moved} live tensor storage${moved === 1 ? '' : 's'} moved to it`);
    }
    registerBackend(b);
    delete unavailable[name];
    if (name === 'wasm') wasmDowngrades(b, opts);
    return b;
  } catch (e) {
    unavailable[name] = e instanceof Error ? e.message : String(e);
    return undefined;
  }
}

/**
 * 'auto', GPU half: a running webgpu backend, or a new one only if the adapter is hardware (checked
 * before any device exists). Undefined when WebGPU is not to be used; the reason is in `notices`.
 */
async function autoGpu(opts: InitOptions): Promise<Backend | undefined> {
  if (!hasBackend('webgpu')) {
    let probe;
    try {
      probe = await (await import('./backends/webgpu/device.js')).probeAdapter();
    } catch (e) {
      unavailable.webgpu = e instanceof Error ? e.message : String(e);
      notify(`auto: no WebGPU adapter (${unavailable.webgpu}); using wasm`);
      return undefined;
    }
    if (probe.software) {
      notify(
        `auto: the WebGPU adapter (${probe.name}) is a software (CPU) implementation, slower than wasm; using wasm ` +
          '(no device was created; init({ backend: "webgpu" }) still uses it)',
        true,
      );
      return undefined;
    }
  }
  const gpu = await start('webgpu', opts);
  if (!gpu) {
    notify(`auto: WebGPU did not start (${unavailable.webgpu}); using wasm`, true);
    return undefined;
  }
  if (gpu.software) {
    notify('auto: the WebGPU backend runs on a software (CPU) adapter, slower than wasm; using wasm (init({ backend: "webgpu" }) still uses it)', true);
    return undefined;
  }
  return gpu;
}

/**
 * Starts (if needed) and selects a backend; returns its name. Call it (and await it) before making
 * tensors: ops before any `init` run on `ref` with a one-time warning. Calling it again with other
 * wasm `threads` restarts wasm and moves its live tensors to the new instance.
 * @example
 * await init();                                // 'auto': WebGPU on a hardware adapter, else wasm
 * await init({ backend: 'wasm', threads: 4 });
 */
export async function init(opts: InitOptions = {}): Promise<BackendName> {
  if (opts === null || typeof opts !== 'object') {
    throw new TypeError(`init: options must be an object such as { backend: "auto" } (got ${opts === null ? 'null' : typeof opts})`);
  }
  const want = opts.backend ?? 'auto';
  if (!['auto', 'ref', 'wasm', 'webgpu'].includes(want)) {
    throw new RangeError(`init: backend must be one of "auto", "wasm", "webgpu", "ref" (got ${JSON.stringify(want)})`);
  }
  if (opts.threads !== undefined && !(Number.isInteger(opts.threads) && opts.threads >= 1)) {
    throw new RangeError(`init: threads must be an integer >= 1 (got ${opts.threads})`);
  }
  if (opts.allowOversubscription !== undefined && typeof opts.allowOversubscription !== 'boolean') {
    throw new RangeError(`init: allowOversubscription must be a boolean (got ${JSON.stringify(opts.allowOversubscription)})`);
  }
  if (opts.threads !== undefined) {
    if (opts.threads > limits.maxThreads) throw new RangeError(`init: threads must be <= ${limits.maxThreads} (limits.maxThreads) (got ${opts.threads})`);
    const hw = hardwareThreads();
    const allowed = Math.max(hw ?? 1, limits.minThreadsAllowed);
    if (opts.threads > allowed && !opts.allowOversubscription) {
      throw new RangeError(
        `init: threads must be <= ${allowed} (${hw === undefined ? 'the hardware thread count is unknown here' : `${hw} hardware threads here`}; limits.minThreadsAllowed = ${limits.minThreadsAllowed}) (got ${opts.threads}); pass allowOversubscription: true to run more threads than that`,
      );
    }
  }
  if (opts.wasmVariant !== undefined && !['auto', 'simd', 'relaxed'].includes(opts.wasmVariant)) {
    throw new RangeError(`init: wasmVariant must be "auto", "simd" or "relaxed" (got ${JSON.stringify(opts.wasmVariant)})`);
  }
  if (want !== 'auto') {
    const b = await start(want, opts);
    if (!b) throw new Error(`init: the ${want} backend is unavailable here: ${unavailable[want]}`);
    setBackend(want);
    return want;
  }
  if (await autoGpu(opts)) {
    setBackend('webgpu');
    return 'webgpu';
  }
  if (await start('wasm', opts)) {
    setBackend('wasm');
    return 'wasm';
  }
  notify(`auto: wasm unavailable (${unavailable.wasm}); using ref (float64 reference kernels, 10-50x slower)`, true);
  setBackend('ref');
  return 'ref';
}

/**
 * A copy of `t` stored by another (initialised) backend, for example to combine a WebGPU tensor
 * with a wasm one, or to read a GPU result on a CPU backend. Asynchronous because reading a GPU
 * tensor is. The copy is a new tensor (dispose both when done); it is not recorded for gradients.
 * For a MultiImage: `new MultiImage(await toBackend(m.data, name), m.signature, m.D, m.isTorus)`.
 * @example
 * const onCpu = await toBackend(gpuTensor, 'wasm');
 */
export async function toBackend(t: Tensor, backend: BackendName | Backend): Promise<Tensor> {
  if (!(t instanceof Tensor)) throw new TypeError(`toBackend: t must be a Tensor (got ${t === null ? 'null' : typeof t})`);
  if (t.disposed) throw new Error(`toBackend: the tensor ${t.toString()} was disposed`);
  let target: Backend;
  if (typeof backend === 'string') {
    if (!['ref', 'wasm', 'webgpu'].includes(backend)) {
      throw new RangeError(`toBackend: backend must be "ref", "wasm", "webgpu" or a Backend (got ${JSON.stringify(backend)})`);
    }
    if (!hasBackend(backend)) throw new Error(`toBackend: the ${backend} backend is not initialised; call await init({ backend: "${backend}" }) first`);
    target = getBackend(backend);
  } else if (backend !== null && typeof backend === 'object' && typeof backend.alloc === 'function') {
    target = backend;
  } else {
    throw new TypeError(`toBackend: backend must be "ref", "wasm", "webgpu" or a Backend (got ${backend === null ? 'null' : typeof backend})`);
  }
  const values = await t.data();
  const out = allocTensor(t.shape, target);
  target.write(out.storage(), values);
  return out;
}

export { backendChosen, getBackend, notices, setBackend, type Backend, type BackendName };
