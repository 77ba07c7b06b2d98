/**
 * Pipelines and command batching.
 *
 * Kernels are synchronous calls that only *encode* work: `Commands.dispatch` appends one compute
 * dispatch to an open batch (one command encoder, one compute pass, WebGPU orders the dispatches
 * inside it). The batch is submitted by `flush()`: on the next microtask (so a synchronous run of
 * ops becomes one submit), before a read, before a `writeBuffer` or destroy that touches a buffer
 * the batch uses, and when the batch is full. Writing into a buffer the open batch uses becomes a
 * copy inside the batch (`writeInBatch`), so creating small tensors between ops keeps batching.
 *
 * Kernel parameters (op codes, shapes, strides) live in a uniform arena: every dispatch gets its own
 * aligned slot of one uniform buffer, filled on the CPU while encoding and uploaded by one
 * `writeBuffer` just before the batch's submit. Queue operations run in order, so the next batch
 * may reuse the arena.
 *
 * Shader binding convention (every shader in shaders/): group 0, binding 0 = the kernel's uniform
 * Params, bindings 1..k = the storages in the order the kernel passes them (inputs, then outputs;
 * at most 3 storages, within every adapter's maxStorageBuffersPerShaderStage, compat mode included).
 * An empty input (a tensor with no elements, hence no GPUBuffer) is bound to a small dummy buffer;
 * kernels never read it. Elementwise shaders have `override WG: u32` (their 1D workgroup size; see
 * `Pipelines.wg`) and are dispatched over invocations (`dispatch`); the tiled shaders have a fixed
 * workgroup size and are dispatched over workgroups (`dispatchGroups`). Every shader computes its
 * linear workgroup index from a 2D grid of workgroups (see `grid`).
 */
import { shaders, type ShaderName } from '../../generated/shaders.js';
import type { GpuStorage, Slot } from './buffers.js';
import { BufferUsage, type GpuContext } from './device.js';

const ARENA_BYTES = 64 * 1024;

/**
 * A read-only buffer written once at creation and never again (cached index maps): bound as is,
 * outside the pool and its batch bookkeeping.
 */
export interface ConstantBuffer {
  readonly constant: GPUBuffer;
}

/** What a dispatch binds after its params: tensor storages and constant buffers. */
export type Binding = GpuStorage | ConstantBuffer;
const MAX_DISPATCHES = 1024;

interface CachedPipeline {
  readonly pipeline: GPUComputePipeline;
  readonly layout: GPUBindGroupLayout;
}

export class Pipelines {
  readonly #ctx: GpuContext;
  readonly #cache = new Map<ShaderName, CachedPipeline>();
  /** Workgroup size of the 1D shaders (the `WG` override). */
  readonly wg: number;

  constructor(ctx: GpuContext) {
    this.#ctx = ctx;
    const l = ctx.limits;
    // A power of two (the tree reductions halve it), at most 256 (their workgroup arrays).
    this.wg = 2 ** Math.floor(Math.log2(Math.min(256, l.maxComputeInvocationsPerWorkgroup, l.maxComputeWorkgroupSizeX)));
  }

  #descriptor(name: ShaderName): GPUComputePipelineDescriptor {
    const code = shaders[name];
    const module = this.#ctx.device.createShaderModule({ label: name, code });
    // Only shaders that declare the override get the constant (an unknown constant is an error).
    const constants = /\boverride\s+WG\b/.test(code) ? { WG: this.wg } : undefined;
    return { label: name, layout: 'auto', compute: { module, entryPoint: 'main', ...(constants ? { constants } : {}) } };
  }

  /** Compiles the shaders ahead of use; rejects with the compiler's messages. */
  async prepare(names: readonly ShaderName[]): Promise<void> {
    await Promise.all(
      names.map(async (name) => {
        const desc = this.#descriptor(name);
        let pipeline: GPUComputePipeline;
        try {
          pipeline = await this.#ctx.device.createComputePipelineAsync(desc);
        } catch (e) {
          const info = await desc.compute.module.getCompilationInfo().catch(() => null);
          const msgs = info?.messages.map((m) => `${m.type} at ${m.lineNum}:${m.linePos}: ${m.message}`).join('; ');
          throw new Error(`webgpu: shader '${name}' (shaders/${name}.wgsl) failed to compile: ${msgs || (e instanceof Error ? e.message : String(e))}`);
        }
        this.#cache.set(name, { pipeline, layout: pipeline.getBindGroupLayout(0) });
      }),
    );
  }

  get(name: ShaderName): CachedPipeline {
    let p = this.#cache.get(name);
    if (!p) {
      const pipeline = this.#ctx.device.createComputePipeline(this.#descriptor(name));
      p = { pipeline, layout: pipeline.getBindGroupLayout(0) };
      this.#cache.set(name, p);
    }
    return p;
  }
}

export interface CommandsOptions {
  /** Overrides the device's maxComputeWorkgroupsPerDimension (tests use it to force 2D grids). */
  readonly maxWorkgroupsPerDimension?: number;
}

export class Commands {
  readonly #ctx: GpuContext;
  readonly #pipelines: Pipelines;
  readonly #maxPerDim: number;
  readonly #align: number;
  readonly #arena: GPUBuffer;
  /** Bound in place of empty (bufferless) inputs. */
  readonly #dummy: GPUBuffer;
  readonly #arenaCpu = new ArrayBuffer(ARENA_BYTES);
  #arenaUsed = 0;
  #encoder: GPUCommandEncoder | null = null;
  #pass: GPUComputePassEncoder | null = null;
  #dispatches = 0;
  #flushScheduled = false;
  #afterSubmit: (() => void)[] = [];
  /** Serial of the open batch; a slot with lastBatch === batch is used by it. */
  #batch = 0;
  /** Counters for tests and `describe`. */
  readonly counts = { dispatches: 0, submits: 0 };

  constructor(ctx: GpuContext, pipelines: Pipelines, opts: CommandsOptions = {}) {
    this.#ctx = ctx;
    this.#pipelines = pipelines;
    this.#maxPerDim = Math.min(opts.maxWorkgroupsPerDimension ?? Infinity, ctx.limits.maxComputeWorkgroupsPerDimension);
    this.#align = Math.max(16, ctx.limits.minUniformBufferOffsetAlignment);
    this.#arena = ctx.device.createBuffer({ label: 'params arena', size: ARENA_BYTES, usage: BufferUsage.UNIFORM | BufferUsage.COPY_DST });
    this.#dummy = ctx.device.createBuffer({ label: 'empty input', size: 16, usage: BufferUsage.STORAGE });
  }

  /** Whether the open (unsubmitted) batch uses this buffer. */
  uses(slot: Slot): boolean {
    return this.#encoder !== null && slot.lastBatch === this.#batch;
  }

  /** Workgroup counts [x, y] covering `groups` workgroups within the per-dimension limit. */
  grid(groups: number): [number, number] {
    if (groups <= this.#maxPerDim) return [groups, 1];
    const y = Math.ceil(groups / this.#maxPerDim);
    if (y > this.#maxPerDim) throw new RangeError(`webgpu: a dispatch of ${groups} workgroups exceeds the device's grid limit`);
    return [Math.ceil(groups / y), y];
  }

  /**
   * Encodes one dispatch of `shader` over `invocations` invocations (1D, WG per workgroup):
   * binding 0 = `params` (copied now), bindings 1.. = `storages` in order.
   */
  dispatch(shader: ShaderName, params: Uint32Array | Int32Array, storages: readonly Binding[], invocations: number): void {
    this.dispatchGroups(shader, params, storages, Math.ceil(invocations / this.#pipelines.wg));
  }

  /**
   * Encodes one dispatch of `shader` over `groups` workgroups (laid out by `grid`; the shader
   * linearises its workgroup index): binding 0 = `params` (copied now), bindings 1.. = `storages`.
   * The last storage is the output: it must not be empty.
   */
  dispatchGroups(shader: ShaderName, params: Uint32Array | Int32Array, storages: readonly Binding[], groups: number): void {
    this.#ctx.check(shader);
    if (groups === 0) return;
    const bytes = params.byteLength;
    const slotBytes = Math.ceil(Math.max(bytes, 16) / this.#align) * this.#align;
    if (slotBytes > ARENA_BYTES) throw new Error(`webgpu: ${shader}: kernel parameters of ${bytes} bytes exceed the arena`);
    if (this.#arenaUsed + slotBytes > ARENA_BYTES || this.#dispatches >= MAX_DISPATCHES) this.flush();
    const { pipeline, layout } = this.#pipelines.get(shader);
    const offset = this.#arenaUsed;
    new Uint8Array(this.#arenaCpu, offset, bytes).set(new Uint8Array(params.buffer, params.byteOffset, bytes));
    this.#arenaUsed += slotBytes;
    const entries: GPUBindGroupEntry[] = [{ binding: 0, resource: { buffer: this.#arena, offset, size: Math.max(bytes, 16) } }];
    storages.forEach((s, i) => {
      if ('constant' in s) {
        entries.push({ binding: i + 1, resource: { buffer: s.constant } });
        return;
      }
      if (s.released) throw new Error(`webgpu: ${shader}: binding ${i + 1} is a freed storage`);
      entries.push({ binding: i + 1, resource: { buffer: s.slot ? s.slot.buffer : this.#dummy } });
    });
    const bindGroup = this.#ctx.device.createBindGroup({ layout, entries });
    const pass = this.#openPass();
    for (const s of storages) if (!('constant' in s) && s.slot) s.slot.lastBatch = this.#batch;
    pass.setPipeline(pipeline);
    pass.setBindGroup(0, bindGroup);
    const [x, y] = this.grid(groups);
    pass.dispatchWorkgroups(x, y);
    this.#dispatches++;
    this.counts.dispatches++;
  }

  #openPass(): GPUComputePassEncoder {
    this.#openEncoder();
    this.#pass ??= this.#encoder!.beginComputePass();
    return this.#pass;
  }

  #openEncoder(): void {
    if (!this.#encoder) {
      this.#encoder = this.#ctx.device.createCommandEncoder();
      if (!this.#flushScheduled) {
        this.#flushScheduled = true;
        queueMicrotask(() => {
          this.#flushScheduled = false;
          try {
            this.flush();
          } catch {
            // A failed submit is reported by the device (uncapturederror / lost) and thrown at the next use.
          }
        });
      }
    }
  }

  /**
   * Writes `data` into `slot` in stream order, as a step of the open batch: for a buffer that the
   * open batch uses (a `queue.writeBuffer` would land before the batch's earlier commands). The
   * data goes through a mapped-at-creation upload buffer, destroyed after the submit.
   */
  writeInBatch(slot: Slot, data: Float32Array): void {
    this.#ctx.check('write');
    const upload = this.#ctx.device.createBuffer({ size: Math.max(16, data.byteLength), usage: BufferUsage.COPY_SRC, mappedAtCreation: true });
    new Float32Array(upload.getMappedRange(), 0, data.length).set(data);
    upload.unmap();
    this.#openEncoder();
    this.#pass?.end();
    this.#pass = null;
    this.#encoder!.copyBufferToBuffer(upload, 0, slot.buffer, 0, data.byteLength);
    slot.lastBatch = this.#batch;
    this.#afterSubmit.push(() => upload.destroy());
  }

  /** Runs `fn` once the open batch is submitted (now, if there is none). */
  afterSubmit(fn: () => void): void {
    if (this.#encoder) this.#afterSubmit.push(fn);
    else fn();
  }

  /** Submits the open batch (no-op when there is none). */
  flush(): void {
    const enc = this.#encoder;
    if (!enc) return;
    this.#pass?.end();
    this.#pass = null;
    this.#encoder = null;
    const used = this.#arenaUsed;
    this.#arenaUsed = 0;
    this.#dispatches = 0;
    this.#batch++;
    const after = this.#afterSubmit.splice(0);
    try {
      if (this.#ctx.lost) return;
      if (used > 0) this.#ctx.device.queue.writeBuffer(this.#arena, 0, this.#arenaCpu, 0, used);
      this.#ctx.device.queue.submit([enc.finish()]);
      this.counts.submits++;
    } finally {
      for (const fn of after) fn();
    }
  }

  /** Submits the open batch and waits until the GPU has finished all submitted work. */
  async sync(): Promise<void> {
    this.flush();
    await this.#ctx.device.queue.onSubmittedWorkDone();
    this.#ctx.check('sync');
  }
}
