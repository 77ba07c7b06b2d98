/**
 * wasm `gather` and `scatterAdd` (assembly/kernels/gather.ts), with a bounded cache of index maps
 * in wasm memory.
 *
 * Index maps are static: a layer, a contraction or a group action builds its Int32Array once and
 * passes the same array on every call. So each map is copied into the heap once and found again by
 * the array's identity (a WeakMap from the Int32Array to its copy). The copies are bounded, not
 * tied to the arrays' lives (a WeakMap entry's death is not observable): the cache keeps at most
 * `budget` bytes of copies (default 32 MiB), evicting the least recently used; a map larger than
 * half the budget is copied for the one call and freed after it. A copy evicted while its array
 * lives is simply made again on its next use.
 *
 * An index array must not change after its first use (the cached copy would go stale): the op
 * (src/ops/gather.ts) fingerprints each map on every call and refuses one that changed, so a stale
 * copy never runs. Only the group action and contractions still use index maps; permutations,
 * slices, broadcasts and repeats are strided copies (src/backends/wasm/strided.ts), which cache nothing.
 *
 * Parameter blocks: gather [x, idx, out, n, blocks, nIn]; scatterAdd [x, idx, out, n, blocks, nOut]
 * (n = the index map's length; nIn, nOut = one block of x, of out). Both run through the executor:
 * gather on every thread once the output is large, scatterAdd on several threads only with several
 * blocks (its parts are whole blocks).
 */
import { sizeOf } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import { ELEMENTWISE_WORK, type Executor } from './conv.js';
import type { WasmHeap } from './memory.js';
import type { ParamWriter } from './params.js';
import { writeGather, writeScatterAdd } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

export const INDEX_CACHE_BUDGET = 32 * 2 ** 20;

export interface IndexCacheStats {
  /** Copies held, and their bytes (heap block sizes). */
  readonly entries: number;
  readonly bytes: number;
  readonly budget: number;
  readonly hits: number;
  readonly misses: number;
  readonly evictions: number;
  /** Calls whose map was too large to cache (copied and freed per call). */
  readonly uncached: number;
}

interface Entry {
  ptr: number; // −1 once evicted
  readonly bytes: number;
}

/** Heap copies of index maps, by Int32Array identity, LRU-bounded by bytes. */
export class IndexMapCache {
  readonly #heap: WasmHeap;
  readonly #byArray = new WeakMap<Int32Array, Entry>();
  /** Live entries, least recently used first (Map iteration order = insertion order). */
  readonly #lru = new Set<Entry>();
  #budget: number;
  #bytes = 0;
  #hits = 0;
  #misses = 0;
  #evictions = 0;
  #uncached = 0;

  constructor(heap: WasmHeap, budget = INDEX_CACHE_BUDGET) {
    this.#heap = heap;
    this.#budget = budget;
  }

  get budget(): number {
    return this.#budget;
  }

  /** Changes the bound (bytes >= 0), evicting down to it at once. */
  set budget(bytes: number) {
    if (!(Number.isFinite(bytes) && bytes >= 0)) throw new RangeError(`IndexMapCache: budget must be a non-negative number of bytes (got ${bytes})`);
    this.#budget = bytes;
    this.#evictTo(bytes);
  }

  stats(): IndexCacheStats {
    return {
      entries: this.#lru.size,
      bytes: this.#bytes,
      budget: this.#budget,
      hits: this.#hits,
      misses: this.#misses,
      evictions: this.#evictions,
      uncached: this.#uncached,
    };
  }

  /** Frees every copy. */
  clear(): void {
    this.#evictTo(0);
  }

  /** Runs `use` with the byte offset of a heap copy of `index` (valid only during `use`). */
  with<T>(index: Int32Array, use: (ptr: number) => T): T {
    const hit = this.#byArray.get(index);
    if (hit && hit.ptr >= 0) {
      this.#hits++;
      this.#lru.delete(hit);
      this.#lru.add(hit);
      return use(hit.ptr);
    }
    this.#misses++;
    const bytes = Math.max(16, Math.ceil(index.byteLength / 16) * 16); // the heap's block size
    if (bytes > this.#budget / 2) {
      this.#uncached++;
      const ptr = this.#upload(index);
      try {
        return use(ptr);
      } finally {
        this.#heap.free(ptr);
      }
    }
    this.#evictTo(this.#budget - bytes);
    const entry: Entry = { ptr: this.#upload(index), bytes };
    this.#byArray.set(index, entry);
    this.#lru.add(entry);
    this.#bytes += bytes;
    return use(entry.ptr);
  }

  #upload(index: Int32Array): number {
    const ptr = this.#heap.alloc(index.byteLength);
    this.#heap.i32().set(index, ptr >>> 2);
    return ptr;
  }

  #evictTo(limit: number): void {
    for (const e of this.#lru) {
      if (this.#bytes <= limit) break;
      this.#lru.delete(e);
      this.#heap.free(e.ptr);
      e.ptr = -1;
      this.#bytes -= e.bytes;
      this.#evictions++;
    }
  }
}

const caches = new WeakMap<object, IndexMapCache>();

/** The index-map cache behind a wasm backend's `gather` or `scatterAdd` kernel (tests, tuning). */
export function indexMapCacheOf(kernel: object): IndexMapCache | undefined {
  return caches.get(kernel);
}

export function createGather(
  heap: WasmHeap,
  params: ParamWriter,
  exec: Executor,
): {
  gather: Kernel<'gather', number>;
  scatterAdd: Kernel<'scatterAdd', number>;
  cache: IndexMapCache;
} {
  const cache = new IndexMapCache(heap);
  const gather: Kernel<'gather', number> = (out, [x], { index, blocks }, shapes) => {
    if (sizeOf(shapes.out) === 0) return;
    const nIn = sizeOf(shapes.inputs[0]!) / blocks;
    const work = index.length * blocks * ELEMENTWISE_WORK;
    cache.with(index, (idx) => exec.run('gather', params.write(writeGather({ x: x!, idx, out, n: index.length, blocks, nIn })), work));
  };
  const scatterAdd: Kernel<'scatterAdd', number> = (out, [x], { index, blocks }, shapes) => {
    const total = sizeOf(shapes.out);
    if (total === 0) return;
    if (index.length === 0) {
      heap.f32().fill(0, out >>> 2, (out >>> 2) + total);
      return;
    }
    const work = blocks > 1 ? index.length * blocks * ELEMENTWISE_WORK : 0;
    cache.with(index, (idx) => exec.run('scatterAdd', params.write(writeScatterAdd({ x: x!, idx, out, n: index.length, blocks, nOut: total / blocks })), work));
  };
  caches.set(gather, cache);
  caches.set(scatterAdd, cache);
  return { gather, scatterAdd, cache };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ heap, params, exec }: WasmKernelContext): { gather: Kernel<'gather', number>; scatterAdd: Kernel<'scatterAdd', number> } {
  const { gather, scatterAdd } = createGather(heap, params, exec);
  return { gather, scatterAdd };
}
