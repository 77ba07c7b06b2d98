/**
 * GPU memory: tensor storage, a pool of GPUBuffers keyed by size class, and the edges (write, read).
 *
 * - A `GpuStorage` is what the Backend interface calls storage: a `Slot` (one pooled GPUBuffer and
 *   its byte capacity) plus the tensor's element count. Empty tensors get no buffer (`slot` null);
 *   kernels never dispatch for them.
 * - Size classes: byte sizes rounded up to 16 bytes up to 256 B, then to quarter-octave steps
 *   (at most 25 % slack), so that tensors of nearby sizes share buffers. Freed slots go back to the
 *   pool of their class and are reused; beyond `maxPooledBytes` they are destroyed instead.
 * - Ordering: all GPU work goes through one queue in issue order, so a freed buffer can be handed
 *   out again at once. The only hazard is the unsubmitted batch (see commands.ts): a buffer the
 *   open batch uses must not be overwritten by `queue.writeBuffer` (which would run before that
 *   batch) nor destroyed before it is submitted; `Slot.lastBatch` tells which buffers those are.
 * - `write` uses `queue.writeBuffer` (float64 input is converted to float32); `read` copies into a
 *   MAP_READ staging buffer (pooled too) and awaits `mapAsync`. There is no synchronous read.
 */
import type { Commands } from './commands.js';
import { BufferUsage, MapMode, type GpuContext } from './device.js';

/** One GPUBuffer with its capacity; reused across tensors. */
export interface Slot {
  readonly buffer: GPUBuffer;
  readonly bytes: number;
  /** Serial of the last command batch that used it (see Commands.batch). */
  lastBatch: number;
}

/** Storage of one tensor on the webgpu backend. */
export class GpuStorage {
  released = false;
  constructor(
    /** null for empty tensors. */
    readonly slot: Slot | null,
    /** Elements (float32). */
    readonly size: number,
  ) {}

  get buffer(): GPUBuffer {
    if (!this.slot) throw new Error('webgpu: internal error: an empty tensor has no GPU buffer');
    return this.slot.buffer;
  }
}

export interface PoolStats {
  /** Storages handed out and not yet freed (empty tensors included). */
  live: number;
  /** Bytes of GPU buffers held by live storages. */
  liveBytes: number;
  /** Free buffers kept for reuse, and their bytes. */
  pooled: number;
  pooledBytes: number;
  /** GPUBuffers created / destroyed since start (storage buffers only). */
  created: number;
  destroyed: number;
  /** alloc() calls served from the pool. */
  reused: number;
}

/** Staging (MAP_READ) bytes kept for reuse: at most 4 buffers per size class, 64 MiB in all. */
const MAX_STAGING_BYTES = 64 * 2 ** 20;

const roundUp = (n: number, m: number) => Math.ceil(n / m) * m;

/** Capacity of the buffer used for `bytes` bytes. */
export function sizeClass(bytes: number): number {
  if (bytes <= 256) return Math.max(16, roundUp(bytes, 16));
  const step = 2 ** (Math.floor(Math.log2(bytes)) - 2);
  return roundUp(bytes, step);
}

export interface BufferOptions {
  /** Free bytes the pool keeps for reuse (default 256 MiB); the rest is destroyed when freed. */
  readonly maxPooledBytes?: number;
}

export class Buffers {
  readonly #ctx: GpuContext;
  readonly #commands: Commands;
  readonly #maxPooled: number;
  readonly #free = new Map<number, Slot[]>();
  readonly #staging = new Map<number, GPUBuffer[]>();
  #stagingBytes = 0;
  #stats: PoolStats = { live: 0, liveBytes: 0, pooled: 0, pooledBytes: 0, created: 0, destroyed: 0, reused: 0 };

  constructor(ctx: GpuContext, commands: Commands, opts: BufferOptions = {}) {
    this.#ctx = ctx;
    this.#commands = commands;
    this.#maxPooled = opts.maxPooledBytes ?? 256 * 2 ** 20;
  }

  stats(): PoolStats {
    return { ...this.#stats };
  }

  alloc(size: number): GpuStorage {
    this.#ctx.check('alloc');
    if (!(Number.isInteger(size) && size >= 0)) throw new RangeError(`webgpu: alloc: size must be an integer >= 0 (got ${size})`);
    this.#stats.live++;
    if (size === 0) return new GpuStorage(null, 0);
    const bytes = size * 4;
    const maxBinding = this.#ctx.limits.maxStorageBufferBindingSize;
    if (bytes > maxBinding) {
      this.#stats.live--;
      throw new RangeError(
        `webgpu: a tensor of ${size} float32 (${(bytes / 2 ** 20).toFixed(1)} MiB) exceeds this adapter's ` +
          `maxStorageBufferBindingSize (${(maxBinding / 2 ** 20).toFixed(1)} MiB)`,
      );
    }
    let cls = sizeClass(bytes);
    if (cls > maxBinding) cls = roundUp(bytes, 16);
    let slot = this.#free.get(cls)?.pop();
    if (slot) {
      this.#stats.pooled--;
      this.#stats.pooledBytes -= cls;
      this.#stats.reused++;
    } else {
      let buffer: GPUBuffer;
      try {
        buffer = this.#ctx.createBuffer(
          {
            size: cls,
            usage: BufferUsage.STORAGE | BufferUsage.COPY_SRC | BufferUsage.COPY_DST,
          },
          `a tensor of ${size} float32`,
        );
      } catch (e) {
        this.#stats.live--;
        throw e;
      }
      slot = { buffer, bytes: cls, lastBatch: -1 };
      this.#stats.created++;
    }
    this.#stats.liveBytes += cls;
    return new GpuStorage(slot, size);
  }

  free(st: GpuStorage): void {
    if (st.released) throw new Error('webgpu: internal error: storage freed twice');
    st.released = true;
    this.#stats.live--;
    const slot = st.slot;
    if (!slot) return;
    this.#stats.liveBytes -= slot.bytes;
    if (this.#ctx.lost) return;
    if (this.#stats.pooledBytes + slot.bytes > this.#maxPooled) {
      // Destroying a buffer that the unsubmitted batch uses would invalidate that batch.
      if (this.#commands.uses(slot)) this.#commands.afterSubmit(() => slot.buffer.destroy());
      else slot.buffer.destroy();
      this.#stats.destroyed++;
      return;
    }
    let list = this.#free.get(slot.bytes);
    if (!list) this.#free.set(slot.bytes, (list = []));
    list.push(slot);
    this.#stats.pooled++;
    this.#stats.pooledBytes += slot.bytes;
  }

  /** Destroys every pooled (free) buffer. */
  trim(): void {
    this.#commands.flush();
    for (const list of this.#free.values()) {
      for (const slot of list) {
        slot.buffer.destroy();
        this.#stats.destroyed++;
      }
    }
    this.#free.clear();
    for (const list of this.#staging.values()) for (const b of list) b.destroy();
    this.#staging.clear();
    this.#stagingBytes = 0;
    this.#stats.pooled = 0;
    this.#stats.pooledBytes = 0;
  }

  write(st: GpuStorage, data: Float32Array | Float64Array): void {
    this.#ctx.check('write');
    if (st.released) throw new Error('webgpu: write: the storage was freed');
    if (data.length > st.size) {
      throw new RangeError(`webgpu: write: ${data.length} values do not fit a tensor of ${st.size} elements`);
    }
    if (data.length === 0) return;
    const slot = st.slot!;
    const f32 = data instanceof Float32Array ? data : Float32Array.from(data);
    // queue.writeBuffer lands before the open batch is submitted: for a buffer that batch uses
    // (a pooled buffer freed while still pending), write in stream order instead.
    if (this.#commands.uses(slot)) this.#commands.writeInBatch(slot, f32);
    else this.#ctx.device.queue.writeBuffer(slot.buffer, 0, f32.buffer, f32.byteOffset, f32.byteLength);
  }

  async read(st: GpuStorage, size: number): Promise<Float32Array> {
    this.#ctx.check('read');
    if (st.released) throw new Error('webgpu: read: the storage was freed');
    if (!(Number.isInteger(size) && size >= 0 && size <= st.size)) {
      throw new RangeError(`webgpu: read: size must be an integer in [0, ${st.size}] (got ${size})`);
    }
    if (size === 0) return new Float32Array(0);
    const bytes = size * 4;
    this.#commands.flush();
    const cls = sizeClass(bytes);
    let staging = this.#staging.get(cls)?.pop();
    if (staging) this.#stagingBytes -= cls;
    else staging = this.#ctx.createBuffer({ size: cls, usage: BufferUsage.MAP_READ | BufferUsage.COPY_DST }, 'reading a tensor back');
    // Encoded and submitted synchronously, so the tensor may be disposed as soon as read() returns.
    const enc = this.#ctx.device.createCommandEncoder();
    enc.copyBufferToBuffer(st.buffer, 0, staging, 0, bytes);
    this.#ctx.device.queue.submit([enc.finish()]);
    try {
      await staging.mapAsync(MapMode.READ, 0, bytes);
    } catch (e) {
      staging.destroy();
      this.#ctx.check('read');
      throw new Error(`webgpu: read: mapping the staging buffer failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    const out = new Float32Array(staging.getMappedRange(0, bytes).slice(0));
    staging.unmap();
    let list = this.#staging.get(cls);
    if (!list) this.#staging.set(cls, (list = []));
    if (list.length < 4 && this.#stagingBytes + cls <= MAX_STAGING_BYTES) {
      list.push(staging);
      this.#stagingBytes += cls;
    } else {
      staging.destroy();
    }
    this.#ctx.check('read'); // errors the GPU reported while this work ran
    return out;
  }
}
