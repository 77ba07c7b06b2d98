/**
 * The `wasm` backend: AssemblyScript kernels (assembly/) over one wasm linear memory, float32
 * storage addressed by byte offsets (src/backends/wasm/memory.ts), the SIMD or relaxed-SIMD build
 * picked by feature probe (loader.ts). Synchronous (a CPU backend), so `readSync` exists.
 *
 * Threads: `threads` is validated and recorded, but this version runs single-threaded (workers
 * over a shared memory come later); `describe()` says so.
 */
import type { Backend } from '../backend.js';
import type { OpName } from '../../ops/op.js';
import { createKernels, isFallback } from './kernels.js';
import { instantiateKernels, pickVariant, type WasmVariant } from './loader.js';
import { WasmHeap, type HeapStats } from './memory.js';
import { readConvConfigs, type ConvConfigs, type ConvExports } from './conv.js';

export { relaxedSimdSupported, simdSupported, type WasmVariant } from './loader.js';
export type { HeapStats } from './memory.js';

export interface WasmBackendOptions {
  /** Worker threads requested (an integer >= 1). This version runs one. */
  readonly threads: number;
  /** Force a build; 'auto' (default) takes relaxed SIMD where the engine has it. */
  readonly variant?: 'auto' | WasmVariant;
}

export interface WasmBackend extends Backend<number> {
  readonly name: 'wasm';
  /** Which build runs: 'relaxed' (relaxed SIMD, fused multiply-add) or 'simd'. */
  readonly variant: WasmVariant;
  /** Threads in use (1 in this version). */
  readonly threads: number;
  /** Threads asked for at creation. */
  readonly requestedThreads: number;
  /** Ops whose entry is the generic ref fallback (float64 copy through the ref kernel). */
  readonly fallbacks: readonly OpName[];
  heapStats(): HeapStats;
  /** The register-blocking configurations of the conv micro-kernels (assembly/kernels/convMicro.ts). */
  convConfigs(): ConvConfigs;
}

const mib = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MiB`;

export async function createWasmBackend(opts: WasmBackendOptions): Promise<WasmBackend> {
  const requested = opts.threads;
  if (!(Number.isInteger(requested) && requested >= 1)) {
    throw new RangeError(`createWasmBackend: threads must be an integer >= 1 (got ${requested})`);
  }
  const want = opts.variant ?? 'auto';
  if (!['auto', 'simd', 'relaxed'].includes(want)) {
    throw new RangeError(`createWasmBackend: variant must be "auto", "simd" or "relaxed" (got ${JSON.stringify(want)})`);
  }
  const variant = pickVariant(want);
  const ex = await instantiateKernels(variant);
  const heap = new WasmHeap(ex.memory, ex.heapBase());
  const kernels = createKernels(ex, heap);
  const fallbacks = (Object.keys(kernels) as OpName[]).filter((k) => isFallback(kernels[k]));

  const readSync = (ptr: number, size: number): Float32Array => {
    const at = ptr >>> 2;
    return heap.f32().slice(at, at + size);
  };

  return {
    name: 'wasm',
    variant,
    threads: 1,
    requestedThreads: requested,
    fallbacks,
    kernels,
    alloc: (size) => heap.alloc(4 * size),
    free: (ptr) => heap.free(ptr),
    write: (ptr, data) => heap.f32().set(data, ptr >>> 2), // Float64Array values round to float32
    readSync,
    read: async (ptr, size) => readSync(ptr, size),
    heapStats: () => heap.stats(),
    convConfigs: () => readConvConfigs(ex as unknown as ConvExports),
    describe() {
      const s = heap.stats();
      const build = variant === 'relaxed' ? 'relaxed-SIMD (FMA)' : 'SIMD';
      const threads = requested === 1 ? '1 thread' : `1 thread (${requested} requested; multi-threading is not implemented yet)`;
      return `wasm: ${build}, ${threads}, heap ${mib(s.heapBytes)} (${mib(s.bytesInUse)} in use)`
        + (fallbacks.length ? `; ${fallbacks.length} ops via the ref fallback (${fallbacks.join(', ')})` : '');
    },
  };
}
