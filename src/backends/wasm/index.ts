/**
 * The `wasm` backend: AssemblyScript kernels (assembly/) over one wasm linear memory, float32
 * storage addressed by byte offsets (src/backends/wasm/memory.ts), the SIMD or relaxed-SIMD build
 * picked by feature probe (loader.ts). Synchronous (a CPU backend), so `readSync` exists.
 *
 * Threads: with `threads` = n > 1, the heap is ONE shared WebAssembly.Memory and the heavy kernels
 * (the convolutions, matmul) run on the calling thread plus n − 1 workers (threads.ts), each output range
 * computed exactly as one thread would (bit-identical results). Where shared memory or workers are
 * unavailable (a browser page without COOP/COEP), it runs one thread and `describe()` says why.
 */
import type { Backend } from '../backend.js';
import { createKernels } from './kernels.js';
import {
  compileKernels,
  instantiateKernels,
  pickVariant,
  THREADED_INITIAL_PAGES,
  THREADED_MAXIMUM_PAGES,
  type KernelExports,
  type WasmVariant,
} from './loader.js';
import { createThreadPool, threadsUnavailable, type ThreadPool } from './threads.js';
import { WasmHeap, type HeapStats } from './memory.js';
import { convTuning, readConvConfigs, type ConvConfigs, type Executor } from './conv.js';

export { relaxedSimdSupported, simdSupported, type WasmVariant } from './loader.js';
export type { HeapStats } from './memory.js';

export interface WasmBackendOptions {
  /** Threads requested (an integer >= 1): the calling thread plus threads − 1 workers. */
  readonly threads: number;
  /** Force a build; 'auto' (default) takes relaxed SIMD where the engine has it. */
  readonly variant?: 'auto' | WasmVariant;
}

export interface WasmBackend extends Backend<number> {
  readonly name: 'wasm';
  /** Which build runs: 'relaxed' (relaxed SIMD, fused multiply-add) or 'simd'. */
  readonly variant: WasmVariant;
  /** Threads in use (the requested count, or 1 where shared memory is unavailable: see `threadsNotice`). */
  readonly threads: number;
  /** Threads asked for at creation. */
  readonly requestedThreads: number;
  /** The allocator's figures (bytes and blocks in use, free, peak, growths): what leak and heap checks read. */
  heapStats(): HeapStats;
  /** The register-blocking configurations of the conv micro-kernels (assembly/kernels/convMicro.ts). */
  convConfigs(): ConvConfigs;
  /** Why fewer threads than requested run (undefined when all run). */
  readonly threadsNotice?: string;
  /** Stops the worker threads (the backend then runs on one thread). */
  close(): void;
}

/** Stops the workers of a backend that was dropped without close(). */
const orphans = typeof FinalizationRegistry === 'function' ? new FinalizationRegistry<ThreadPool>((p) => p.close()) : undefined;

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
  let ex: KernelExports | undefined;
  let pool: ThreadPool | undefined;
  let notice: string | undefined;
  if (requested > 1) {
    notice = threadsUnavailable();
    if (notice === undefined) {
      try {
        const memory = new WebAssembly.Memory({
          initial: THREADED_INITIAL_PAGES,
          maximum: THREADED_MAXIMUM_PAGES,
          shared: true,
        } as WebAssembly.MemoryDescriptor);
        const local = await instantiateKernels(variant, memory);
        pool = await createThreadPool(
          await compileKernels(variant, true),
          memory,
          requested,
          (fn, params, tid, nt) => local[fn](params, tid, nt),
          () => convTuning.minParallelWork,
        );
        ex = local;
      } catch (e) {
        notice = `could not start worker threads (${e instanceof Error ? e.message : e})`;
      }
    }
  }
  ex ??= await instantiateKernels(variant);
  const heap = new WasmHeap(ex.memory, ex.heapBase());
  const single = ex;
  const exec: Executor = pool ?? { threads: 1, run: (fn, params) => single[fn](params, 0, 1) };
  const kernels = createKernels(ex, heap, exec);
  const threads = pool ? requested : 1;

  const readSync = (ptr: number, size: number): Float32Array => {
    const at = ptr >>> 2;
    return heap.f32().slice(at, at + size);
  };

  const backend: WasmBackend = {
    name: 'wasm',
    variant,
    threads,
    threadsNotice: notice,
    requestedThreads: requested,
    kernels,
    alloc: (size) => heap.alloc(4 * size),
    free: (ptr) => heap.free(ptr),
    write: (ptr, data) => heap.f32().set(data, ptr >>> 2), // Float64Array values round to float32
    readSync,
    read: async (ptr, size) => readSync(ptr, size),
    heapStats: () => heap.stats(),
    convConfigs: () => readConvConfigs(single),
    close() {
      if (pool) {
        orphans?.unregister(backend);
        pool.close();
      }
    },
    describe() {
      const s = heap.stats();
      const build = variant === 'relaxed' ? 'relaxed-SIMD (FMA)' : 'SIMD';
      const t = threads > 1 ? `${threads} threads (shared memory, workers)` : requested === 1 ? '1 thread' : `1 thread (${requested} requested: ${notice})`;
      return `wasm: ${build}, ${t}, heap ${mib(s.heapBytes)} (${mib(s.bytesInUse)} in use)`;
    },
  };
  if (pool) orphans?.register(backend, pool, backend);
  return backend;
}
