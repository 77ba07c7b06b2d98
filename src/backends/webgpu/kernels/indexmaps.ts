/**
 * webgpu kernels: gather (shaders/gather.wgsl) and scatterAdd (shaders/scatterAdd.wgsl), with their
 * index maps cached on the GPU.
 *
 * Index maps are computed once in TypeScript and reused across calls (the group action,
 * contractions, the dense-filter assembly; permutes and slices are strided copies and need none), so
 * each Int32Array is uploaded once per backend and cached by identity in a WeakMap (the GPU buffer
 * lives as long as the array does). scatterAdd runs as a gather-sum over the inverse map in CSR form
 * (per output, its sources in increasing order), built on the host once per (array, output size)
 * and cached the same way: deterministic, no float atomics (WGSL has none). An index array edited
 * after its first use is refused by the op (src/ops/gather.ts fingerprints it on every call), so a
 * cached buffer never goes stale.
 */
import type { Kernel } from '../../../ops/op.js';
import { writeGatherGpu, writeScatterAddGpu } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands, ConstantBuffer } from '../commands.js';
import { BufferUsage, type GpuContext } from '../device.js';
import type { GpuKernelContext } from '../index.js';

export interface IndexMapStats {
  /** Index maps (gather) and inverse maps (scatterAdd) uploaded so far, and their bytes. */
  uploads: number;
  bytes: number;
}

export class IndexMaps {
  readonly #gather = new WeakMap<Int32Array, ConstantBuffer>();
  readonly #scatter = new WeakMap<Int32Array, Map<number, ConstantBuffer>>();
  readonly stats: IndexMapStats = { uploads: 0, bytes: 0 };

  constructor(private readonly ctx: GpuContext) {}

  #upload(data: Int32Array | Uint32Array, what: string): ConstantBuffer {
    const bytes = Math.max(16, Math.ceil(data.byteLength / 16) * 16);
    const max = this.ctx.limits.maxStorageBufferBindingSize;
    if (bytes > max) {
      throw new RangeError(
        `webgpu: ${what} of ${data.length} entries (${(bytes / 2 ** 20).toFixed(1)} MiB) exceeds this adapter's ` +
          `maxStorageBufferBindingSize (${(max / 2 ** 20).toFixed(1)} MiB)`,
      );
    }
    const buffer = this.ctx.createBuffer({ size: bytes, usage: BufferUsage.STORAGE | BufferUsage.COPY_DST }, what);
    // A new buffer that no batch uses yet: writeBuffer lands before its first use.
    if (data.byteLength) this.ctx.device.queue.writeBuffer(buffer, 0, data.buffer, data.byteOffset, data.byteLength);
    this.stats.uploads++;
    this.stats.bytes += bytes;
    return { constant: buffer };
  }

  gatherMap(index: Int32Array): ConstantBuffer {
    let c = this.#gather.get(index);
    if (!c) {
      c = this.#upload(index, 'a gather index map');
      this.#gather.set(index, c);
    }
    return c;
  }

  /** CSR inverse of `index` for `n` outputs: offsets[0..n], then the sources (see scatterAdd.wgsl). */
  scatterMap(index: Int32Array, n: number): ConstantBuffer {
    let byN = this.#scatter.get(index);
    if (!byN) this.#scatter.set(index, (byN = new Map()));
    let c = byN.get(n);
    if (!c) {
      c = this.#upload(inverseCsr(index, n), 'a scatterAdd inverse map');
      byN.set(n, c);
    }
    return c;
  }
}

/** For each output j < n the sources i with index[i] = j, increasing: [offsets (n + 1), sources]. */
export function inverseCsr(index: Int32Array, n: number): Uint32Array {
  const counts = new Uint32Array(n + 1);
  let nnz = 0;
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j >= 0) {
      counts[j + 1]!++;
      nnz++;
    }
  }
  const csr = new Uint32Array(n + 1 + nnz);
  for (let j = 0; j < n; j++) csr[j + 1] = csr[j]! + counts[j + 1]!;
  const fill = csr.slice(0, n);
  for (let i = 0; i < index.length; i++) {
    const j = index[i]!;
    if (j >= 0) csr[n + 1 + fill[j]!++] = i;
  }
  return csr;
}

export function gatherKernel(commands: Commands, maps: IndexMaps): Kernel<'gather', GpuStorage> {
  return (out, [x], { index, blocks }) => {
    if (out.size === 0) return;
    const params = writeGatherGpu({ n: out.size, nIndex: index.length, nIn: x!.size / blocks });
    commands.dispatch('gather', params, [x!, maps.gatherMap(index), out], out.size);
  };
}

export function scatterAddKernel(commands: Commands, maps: IndexMaps): Kernel<'scatterAdd', GpuStorage> {
  return (out, [x], { index, blocks }) => {
    if (out.size === 0) return;
    const nBlock = out.size / blocks;
    const params = writeScatterAddGpu({ n: out.size, nBlock, nIn: index.length });
    commands.dispatch('scatterAdd', params, [x!, maps.scatterMap(index, nBlock), out], out.size);
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands, maps }: GpuKernelContext): { gather: Kernel<'gather', GpuStorage>; scatterAdd: Kernel<'scatterAdd', GpuStorage> } {
  return { gather: gatherKernel(commands, maps), scatterAdd: scatterAddKernel(commands, maps) };
}
