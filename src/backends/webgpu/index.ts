/**
 * The webgpu backend: WGSL kernels (shaders/, embedded by scripts/embed-shaders.mjs) run through
 * WebGPU — `navigator.gpu` in browsers and Deno, the `webgpu` package (Dawn) in Node.
 *
 * Layout: device.ts (adapter/device, error state), buffers.ts (storage, pool, read/write),
 * commands.ts (pipelines, batching, the uniform-parameter arena), kernels/*.ts (one file per op
 * family; each kernel validates nothing the op definition already validated, packs its Params and
 * dispatches; each exports `kernels(context)`, its entries of the table). The kernel table
 * (src/generated/kernels-webgpu.ts, assembled by scripts/gen-kernels.mjs) is typed over every op and
 * complete: every op has its WGSL kernel (shaders/<op>.wgsl). `software` tells a CPU implementation of WebGPU (SwiftShader, llvmpipe, …),
 * correct but much slower than wasm, which `init({ backend: 'auto' })` should not pick.
 */
import { shaders, type ShaderName } from '../../generated/shaders.js';
import type { KernelTable } from '../../ops/op.js';
import type { Backend } from '../backend.js';
import { Buffers, type GpuStorage, type PoolStats } from './buffers.js';
import { Commands, Pipelines } from './commands.js';
import { createGpuContext, type GpuContext } from './device.js';
import { BINARY_CODES, UNARY_CODES, checkOpCodes } from './kernels/elementwise.js';
import { IndexMaps, type IndexMapStats } from './kernels/indexmaps.js';
import { Reducer } from './kernels/reduce.js';
import { webgpuKernelTable } from '../../generated/kernels-webgpu.js';

export { GpuStorage, type PoolStats } from './buffers.js';
export type { GpuContext } from './device.js';

/**
 * What a kernel file's `kernels` gets (kernels/*.ts; scripts/gen-kernels.mjs assembles their entries
 * into the table, typed complete): the command encoder, buffers, the shared reducer and index maps.
 */
export interface GpuKernelContext {
  readonly commands: Commands;
  readonly buffers: Buffers;
  readonly reducer: Reducer;
  readonly maps: IndexMaps;
}

export interface WebGPUBackendOptions {
  /** Dawn backend in Node (`opengl`, `vulkan`, …); default env WEBGPU_BACKEND, else Dawn's default. */
  readonly dawnBackend?: string;
  /** Free bytes kept in the buffer pool (default 256 MiB). */
  readonly maxPooledBytes?: number;
  /** Requests WebGPU's default limits instead of the adapter's best (testing the smallest devices). */
  readonly defaultLimits?: boolean;
  /** Caps workgroups per grid dimension below the device limit (testing the 2D grids). */
  readonly maxWorkgroupsPerDimension?: number;
}

export interface WebGPUBackend extends Backend<GpuStorage> {
  readonly name: 'webgpu';
  /**
   * True on a software (CPU) implementation of WebGPU — SwiftShader, Mesa llvmpipe/lavapipe, WARP, or
   * an adapter flagged isFallbackAdapter: correct, but 10–100× slower than the wasm backend.
   */
  readonly software: boolean;
  /** @internal The device and its error state. */
  readonly context: GpuContext;
  /** Buffer-pool counters. */
  poolStats(): PoolStats;
  /** Dispatch and submit counters. */
  commandStats(): { dispatches: number; submits: number };
  /** Uploads of gather/scatterAdd index maps (each Int32Array is uploaded once, then cached). */
  indexMapStats(): IndexMapStats;
  /** Submits pending work and waits until the GPU has finished it (for timing). */
  sync(): Promise<void>;
  /** Destroys the pooled (free) buffers. */
  trim(): void;
  /** Destroys the device; every later use throws. */
  destroy(): void;
}

/** Every shader (the kernels below use them all); compiled when the backend starts. */
const NATIVE_SHADERS = Object.keys(shaders) as ShaderName[];

export async function createWebGPUBackend(opts: WebGPUBackendOptions = {}): Promise<WebGPUBackend> {
  checkOpCodes('unary', shaders.unary, UNARY_CODES);
  checkOpCodes('binary', shaders.binary, BINARY_CODES);
  const ctx = await createGpuContext({ dawnBackend: opts.dawnBackend, defaultLimits: opts.defaultLimits });
  const pipelines = new Pipelines(ctx);
  try {
    await pipelines.prepare(NATIVE_SHADERS);
  } catch (e) {
    ctx.device.destroy();
    throw e;
  }
  const commands = new Commands(ctx, pipelines, { maxWorkgroupsPerDimension: opts.maxWorkgroupsPerDimension });
  const buffers = new Buffers(ctx, commands, { maxPooledBytes: opts.maxPooledBytes });
  const reducer = new Reducer(commands, buffers, pipelines);
  const maps = new IndexMaps(ctx);

  const kernels: KernelTable<GpuStorage> = webgpuKernelTable({ commands, buffers, reducer, maps });

  return {
    name: 'webgpu',
    alloc: (size) => buffers.alloc(size),
    free: (st) => buffers.free(st),
    write: (st, data) => buffers.write(st, data),
    read: (st, size) => buffers.read(st, size),
    kernels,
    software: ctx.software,
    context: ctx,
    poolStats: () => buffers.stats(),
    commandStats: () => ({ ...commands.counts }),
    indexMapStats: () => ({ ...maps.stats }),
    sync: () => commands.sync(),
    trim: () => buffers.trim(),
    destroy: () => {
      ctx.markLost('destroyed by backend.destroy()');
      ctx.device.destroy();
    },
    describe: () => `webgpu: ${ctx.describe()}` + (ctx.software ? '; a software (CPU) adapter: correct, but slower than the wasm backend' : ''),
  };
}
