/**
 * The wasm heap: JavaScript owns linear memory from the module's `heapBase()` up; kernels never
 * allocate. A tensor's storage is a byte offset into that memory.
 *
 * Allocator: blocks are multiples of 16 bytes at 16-byte-aligned offsets (v128). Free blocks are
 * kept in segregated lists by size class (⌊log2 size⌋) and coalesced with both neighbours on free;
 * a free block that reaches the top of the heap is given back to the unallocated "wilderness". So
 * a workload that frees what it allocates reuses the same blocks and never grows the heap.
 * `alloc` takes the first fitting block of the smallest non-empty class that can hold the request
 * (splitting off the rest), else bumps the top, growing memory (by at least 1/8 of its size, so
 * that growth is amortised). All bookkeeping lives in JavaScript, none in wasm memory.
 *
 * After `memory.grow`, old ArrayBuffer views are detached: `f32()`/`i32()` re-create the views
 * whenever `memory.buffer` has changed, so always fetch a view after any call that may allocate.
 */

export const ALIGN = 16;
const PAGE = 65536;
const MAX_BYTES = 2 ** 32; // wasm32

export interface HeapStats {
  /** Bytes in live blocks (each rounded up to 16). */
  readonly bytesInUse: number;
  /** Live blocks. */
  readonly blocks: number;
  /** Bytes in free (reusable) blocks below the top. */
  readonly freeBytes: number;
  readonly freeBlocks: number;
  /** Size of linear memory (what the process holds for this heap). */
  readonly heapBytes: number;
  /** Highest `bytesInUse` so far. */
  readonly peakBytes: number;
  /** How many times memory has grown. */
  readonly grows: number;
}

const classOf = (size: number): number => 31 - Math.clz32(size);

export class WasmHeap {
  readonly memory: WebAssembly.Memory;
  /** First byte the allocator may hand out (16-aligned heapBase). */
  readonly base: number;
  #top: number;
  readonly #used = new Map<number, number>();
  readonly #freeByStart = new Map<number, number>();
  readonly #freeByEnd = new Map<number, number>();
  readonly #bins: Set<number>[] = Array.from({ length: 33 }, () => new Set<number>());
  #bytesInUse = 0;
  #freeBytes = 0;
  #peak = 0;
  #grows = 0;
  #buffer: ArrayBuffer | SharedArrayBuffer | null = null;
  #f32 = new Float32Array(0);
  #i32 = new Int32Array(0);

  constructor(memory: WebAssembly.Memory, heapBase: number) {
    this.memory = memory;
    this.base = Math.ceil(heapBase / ALIGN) * ALIGN;
    this.#top = this.base;
  }

  /** A 16-byte-aligned block of at least `bytes` bytes (contents unspecified). */
  alloc(bytes: number): number {
    if (!(Number.isInteger(bytes) && bytes >= 0)) throw new RangeError(`wasm heap: alloc size must be a non-negative integer (got ${bytes})`);
    const size = Math.max(ALIGN, Math.ceil(bytes / ALIGN) * ALIGN);
    const ptr = this.#takeFree(size) ?? this.#bump(size);
    this.#used.set(ptr, size);
    this.#bytesInUse += size;
    if (this.#bytesInUse > this.#peak) this.#peak = this.#bytesInUse;
    return ptr;
  }

  free(ptr: number): void {
    const size = this.#used.get(ptr);
    if (size === undefined) throw new Error(`wasm heap: free of offset ${ptr}, which is not a live block (double free?)`);
    this.#used.delete(ptr);
    this.#bytesInUse -= size;
    let start = ptr;
    let end = ptr + size;
    const before = this.#freeByEnd.get(start);
    if (before !== undefined) {
      this.#unlinkFree(before);
      start = before;
    }
    const afterSize = this.#freeByStart.get(end);
    if (afterSize !== undefined) {
      this.#unlinkFree(end);
      end += afterSize;
    }
    if (end === this.#top)
      this.#top = start; // back to the wilderness
    else this.#linkFree(start, end - start);
  }

  /** The block size of a live block (undefined if `ptr` is not one). */
  blockSize(ptr: number): number | undefined {
    return this.#used.get(ptr);
  }

  /** A Float32Array over all of memory (index = byte offset / 4); re-created after a grow. */
  f32(): Float32Array {
    this.#refresh();
    return this.#f32;
  }

  /** An Int32Array over all of memory (index = byte offset / 4); re-created after a grow. */
  i32(): Int32Array {
    this.#refresh();
    return this.#i32;
  }

  stats(): HeapStats {
    return {
      bytesInUse: this.#bytesInUse,
      blocks: this.#used.size,
      freeBytes: this.#freeBytes,
      freeBlocks: this.#freeByStart.size,
      heapBytes: this.memory.buffer.byteLength,
      peakBytes: this.#peak,
      grows: this.#grows,
    };
  }

  #refresh(): void {
    const buf = this.memory.buffer;
    if (buf !== this.#buffer) {
      this.#buffer = buf;
      this.#f32 = new Float32Array(buf);
      this.#i32 = new Int32Array(buf);
    }
  }

  #takeFree(size: number): number | undefined {
    for (let c = classOf(size); c < this.#bins.length; c++) {
      for (const start of this.#bins[c]!) {
        const have = this.#freeByStart.get(start)!;
        if (have < size) continue; // only possible in the request's own class
        this.#unlinkFree(start);
        if (have > size) this.#linkFree(start + size, have - size);
        return start;
      }
    }
    return undefined;
  }

  #bump(size: number): number {
    const ptr = this.#top;
    const top = ptr + size;
    if (top > MAX_BYTES)
      throw new RangeError(`wasm heap: cannot allocate ${size} bytes: beyond the 4 GiB wasm32 address space (in use ${this.#bytesInUse} bytes)`);
    const have = this.memory.buffer.byteLength;
    if (top > have) {
      const pages = Math.ceil((top - have) / PAGE);
      const amortised = Math.max(pages, Math.ceil(have / PAGE / 8));
      try {
        this.memory.grow(amortised);
      } catch {
        try {
          this.memory.grow(pages);
        } catch (e) {
          throw new RangeError(
            `wasm heap: cannot grow memory to ${top} bytes for a ${size}-byte block (heap ${have} bytes, in use ${this.#bytesInUse}): ${e instanceof Error ? e.message : e}`,
          );
        }
      }
      this.#grows++;
    }
    this.#top = top;
    return ptr;
  }

  #linkFree(start: number, size: number): void {
    this.#freeByStart.set(start, size);
    this.#freeByEnd.set(start + size, start);
    this.#bins[classOf(size)]!.add(start);
    this.#freeBytes += size;
  }

  #unlinkFree(start: number): void {
    const size = this.#freeByStart.get(start)!;
    this.#freeByStart.delete(start);
    this.#freeByEnd.delete(start + size);
    this.#bins[classOf(size)]!.delete(start);
    this.#freeBytes -= size;
  }
}
