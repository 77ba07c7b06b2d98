/**
 * The wasm kernel table: every op has a native kernel that calls assembly/ directly on heap offsets.
 * Each kernel file exports `kernels(context)`, its entries of the table; scripts/gen-kernels.mjs
 * assembles them (src/generated/kernels-wasm.ts), typed complete, so a missing op does not compile.
 */
import type { KernelTable } from '../../ops/op.js';
import type { KernelExports } from './loader.js';
import type { WasmHeap } from './memory.js';
import type { ParamWriter } from './params.js';
import type { Executor } from './conv.js';
import { wasmKernelTable } from '../../generated/kernels-wasm.js';

/** What a wasm kernel file's `kernels` gets: the module, its heap, the shared parameter block, the executor. */
export interface WasmKernelContext {
  readonly ex: KernelExports;
  readonly heap: WasmHeap;
  /** One reusable parameter block per backend (valid until the next write). */
  readonly params: ParamWriter;
  readonly exec: Executor;
}

/** A reusable Int32 parameter block in the heap (grown on demand, never freed while the backend lives). */
class ParamBlock {
  #ptr: number;
  #bytes: number;
  constructor(
    private readonly heap: WasmHeap,
    bytes = 256,
  ) {
    this.#ptr = heap.alloc(bytes);
    this.#bytes = bytes;
  }

  /** Copies `p` into the block; returns its byte offset. */
  write(p: Int32Array): number {
    if (p.byteLength > this.#bytes) {
      this.heap.free(this.#ptr);
      this.#bytes = Math.max(p.byteLength, 2 * this.#bytes);
      this.#ptr = this.heap.alloc(this.#bytes);
    }
    this.heap.i32().set(p, this.#ptr >>> 2);
    return this.#ptr;
  }
}

/** One thread: every parallel kernel runs as part 0 of 1 on the calling thread. */
export const singleThread = (ex: KernelExports): Executor => ({
  threads: 1,
  run: (fn, params) => ex[fn](params, 0, 1),
});

export function createKernels(ex: KernelExports, heap: WasmHeap, exec: Executor = singleThread(ex)): KernelTable<number> {
  return wasmKernelTable({ ex, heap, params: new ParamBlock(heap), exec });
}
