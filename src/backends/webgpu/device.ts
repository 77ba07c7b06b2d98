/**
 * Getting a GPU device, and the device's error state.
 *
 * Where the GPU comes from: `navigator.gpu` (browsers, Deno), else, in Node, the `webgpu` npm package
 * (Dawn), imported dynamically under a name hidden from bundlers so that browser bundles never pull
 * it in. For Dawn, env `WEBGPU_BACKEND` picks Dawn's backend (`opengl`, `opengles`, `vulkan`, `metal`,
 * `d3d12`, `null`; unset: Dawn's default). OpenGL(ES) only offers the compatibility feature level, so
 * it is requested directly; otherwise a core adapter is requested first and compatibility second.
 * On a headless Linux machine without a GPU, `WEBGPU_BACKEND=opengl EGL_PLATFORM=surfaceless` runs
 * on Mesa llvmpipe (see the toolchain notes).
 *
 * Errors: WebGPU reports device loss and validation/out-of-memory errors asynchronously. `GpuContext`
 * remembers them and `check()` — called at every entry point of the backend — throws them on the
 * next use: device loss forever after (the device is unusable), an uncaptured error once. Buffers are
 * created through `GpuContext.createBuffer`, inside an 'out-of-memory' error scope: a failed
 * allocation becomes an "out of GPU memory" error naming the size and the purpose, thrown at the next
 * use (WebGPU cannot tell synchronously); a synchronous failure is rethrown at once, also named.
 *
 * Software adapters: `software` is true for CPU implementations of WebGPU (SwiftShader, Mesa
 * llvmpipe/lavapipe/softpipe, WARP, or any adapter flagged isFallbackAdapter). They are correct but
 * 10–100× slower than the wasm backend, so `init({ backend: 'auto' })` should not pick them.
 */

/** Why this file cannot name the WebGPU globals: in Node they are not installed on globalThis. */
export const BufferUsage = {
  MAP_READ: 0x0001,
  COPY_SRC: 0x0004,
  COPY_DST: 0x0008,
  UNIFORM: 0x0040,
  STORAGE: 0x0080,
} as const;
export const MapMode = { READ: 0x0001 } as const;

export type FeatureLevel = 'core' | 'compatibility';

export interface DeviceOptions {
  /** Dawn backend for the Node `webgpu` package (default: env WEBGPU_BACKEND, else Dawn's default). */
  readonly dawnBackend?: string;
  /**
   * Request WebGPU's default limits for the feature level instead of the adapter's best (tests use
   * it to run every kernel under the smallest limits a device may have: in compatibility mode
   * 128 invocations per workgroup, 16 KiB of workgroup memory, few storage buffers per stage).
   */
  readonly defaultLimits?: boolean;
}

/** Limits the kernels rely on, requested at the adapter's best value. */
const REQUESTED_LIMITS = [
  'maxBufferSize',
  'maxStorageBufferBindingSize',
  'maxStorageBuffersPerShaderStage',
  'maxComputeInvocationsPerWorkgroup',
  'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY',
  'maxComputeWorkgroupSizeZ',
  'maxComputeWorkgroupStorageSize',
  'maxComputeWorkgroupsPerDimension',
  'minUniformBufferOffsetAlignment',
  'minStorageBufferOffsetAlignment',
] as const;

/** Names of CPU (software) WebGPU implementations, as adapters report them in vendor/architecture/device/description. */
const SOFTWARE_NAMES = /swiftshader|llvmpipe|lavapipe|softpipe|microsoft basic render|\bwarp\b/i;

/** Whether an adapter is a software (CPU) implementation. */
export function isSoftwareAdapter(
  info: { vendor?: string; architecture?: string; device?: string; description?: string; isFallbackAdapter?: boolean } | undefined,
  adapterFallbackFlag?: boolean,
): boolean {
  if (info?.isFallbackAdapter === true || adapterFallbackFlag === true) return true;
  return [info?.vendor, info?.architecture, info?.device, info?.description].some((v) => typeof v === 'string' && SOFTWARE_NAMES.test(v));
}

const OOM_ADVICE = 'dispose tensors that are no longer needed (dispose(), tidy()), release the buffer pool with trim(), or use smaller batches';

const mib = (bytes: number) => `${(bytes / 2 ** 20).toFixed(bytes < 2 ** 20 ? 3 : 1)} MiB`;

export class GpuContext {
  readonly device: GPUDevice;
  readonly adapterInfo: { vendor: string; architecture: string; device: string; description: string };
  /** A CPU implementation of WebGPU (see isSoftwareAdapter). */
  readonly software: boolean;
  readonly featureLevel: FeatureLevel;
  /** Where the GPU came from: 'navigator.gpu' or 'webgpu package (backend=…)'. */
  readonly source: string;
  #lost: string | null = null;
  #errors: string[] = [];

  constructor(device: GPUDevice, adapter: GPUAdapter, featureLevel: FeatureLevel, source: string) {
    this.device = device;
    const i = adapter.info;
    this.adapterInfo = {
      vendor: i?.vendor ?? '',
      architecture: i?.architecture ?? '',
      device: i?.device ?? '',
      description: i?.description ?? '',
    };
    this.software = isSoftwareAdapter(i as Parameters<typeof isSoftwareAdapter>[0], (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
    this.featureLevel = featureLevel;
    this.source = source;
    void device.lost.then((info) => {
      this.#lost ??=
        `webgpu: the GPU device was lost (${info.reason}${info.message ? `: ${info.message.trim()}` : ''}); ` +
        'every GPU tensor is gone; call init() again to start a new device';
    });
    device.addEventListener('uncapturederror', (ev) => {
      const e = (ev as GPUUncapturedErrorEvent).error;
      const kind = e.constructor?.name && e.constructor.name !== 'Object' ? e.constructor.name : 'GPUError';
      this.#errors.push(/OutOfMemory/i.test(kind) ? `out of GPU memory (${e.message.trim()}); ${OOM_ADVICE}` : `${kind}: ${e.message.trim()}`);
      ev.preventDefault?.(); // we report it ourselves; keep browsers from logging it twice
    });
  }

  get limits(): GPUSupportedLimits {
    return this.device.limits;
  }

  get lost(): boolean {
    return this.#lost !== null;
  }

  /** Throws the device loss, or the errors reported since the last check (once). */
  check(where: string): void {
    if (this.#lost) throw new Error(`${this.#lost} (at ${where})`);
    if (this.#errors.length) {
      const errs = this.#errors.splice(0);
      throw new Error(`webgpu: the GPU reported ${errs.length === 1 ? 'an error' : `${errs.length} errors`} ` + `before ${where}: ${errs.join(' | ')}`);
    }
  }

  /**
   * Creates a buffer inside an 'out-of-memory' error scope; `what` names its purpose in the error.
   * An allocation failure reported by the device is thrown by the next `check()`.
   */
  createBuffer(desc: GPUBufferDescriptor, what: string): GPUBuffer {
    this.check(what);
    const dev = this.device;
    dev.pushErrorScope('out-of-memory');
    let buffer: GPUBuffer;
    try {
      buffer = dev.createBuffer(desc);
    } catch (e) {
      void dev.popErrorScope().catch(() => null);
      throw new Error(`webgpu: creating a ${mib(desc.size)} GPU buffer for ${what} failed: ${e instanceof Error ? e.message : String(e)}`);
    }
    void dev.popErrorScope().then(
      (err) => {
        if (err) this.#errors.push(`out of GPU memory: a ${mib(desc.size)} buffer for ${what} could not be allocated (${err.message.trim()}); ${OOM_ADVICE}`);
      },
      () => {
        // popErrorScope rejects only when the device is lost, which `lost` reports.
      },
    );
    return buffer;
  }

  /** Marks the device lost now (loss is reported asynchronously by the device itself). */
  markLost(why: string): void {
    this.#lost ??= `webgpu: the GPU device was lost (${why}); every GPU tensor is gone; call init() again to start a new device`;
  }

  describe(): string {
    const a = this.adapterInfo;
    const name = [a.vendor, a.architecture, a.device].filter(Boolean).join(' ') || 'unknown adapter';
    return `${name}${a.description ? ` (${a.description})` : ''}, feature level ${this.featureLevel}, via ${this.source}`;
  }
}

function env(name: string): string | undefined {
  try {
    // Deno exposes `process` but reading env needs --allow-env: treat a refusal as unset.
    return (globalThis as { process?: { env?: Record<string, string | undefined> } }).process?.env?.[name] || undefined;
  } catch {
    return undefined;
  }
}

const dawnInstances = new Map<string, GPU>();

/** The GPU entry point of this runtime, or an Error saying why there is none. */
async function getGpu(opts: DeviceOptions): Promise<{ gpu: GPU; source: string; preferCompat: boolean; hint: string }> {
  const nav = (globalThis as { navigator?: { gpu?: GPU } }).navigator;
  if (nav?.gpu) return { gpu: nav.gpu, source: 'navigator.gpu', preferCompat: false, hint: '' };
  const isNode = typeof (globalThis as { process?: { versions?: { node?: string } } }).process?.versions?.node === 'string';
  if (!isNode) {
    throw new Error('webgpu: this runtime has no navigator.gpu (a browser needs WebGPU enabled and a secure context: https or localhost)');
  }
  const backend = opts.dawnBackend ?? env('WEBGPU_BACKEND');
  const key = backend ?? '';
  let gpu = dawnInstances.get(key);
  if (!gpu) {
    let mod: { create?: (options: string[]) => GPU };
    try {
      const pkg = 'webgpu'; // a variable, so that bundlers leave this Node-only import alone
      mod = (await import(/* @vite-ignore */ /* webpackIgnore: true */ pkg)) as typeof mod;
    } catch (e) {
      throw new Error(
        `webgpu: no navigator.gpu and the 'webgpu' package is not installed or failed to load (npm install webgpu): ${e instanceof Error ? e.message : String(e)}`,
      );
    }
    if (typeof mod.create !== 'function') throw new Error("webgpu: the 'webgpu' package has no create() export (expected webgpu@0.6)");
    gpu = mod.create(backend ? [`backend=${backend}`] : []);
    dawnInstances.set(key, gpu);
  }
  const gl = backend !== undefined && backend.startsWith('opengl');
  const hint = gl
    ? env('EGL_PLATFORM')
      ? ''
      : '; on a machine without a display set EGL_PLATFORM=surfaceless'
    : backend === undefined
      ? '; on Linux without a usable Vulkan driver try WEBGPU_BACKEND=opengl EGL_PLATFORM=surfaceless (Mesa llvmpipe)'
      : '';
  return { gpu, source: `webgpu package (Dawn, backend=${backend ?? 'default'})`, preferCompat: gl, hint };
}

/** Requests an adapter: core first, then compatibility (OpenGL(ES) Dawn: compatibility only). */
async function requestAdapter(opts: DeviceOptions): Promise<{ adapter: GPUAdapter; got: FeatureLevel; source: string }> {
  const { gpu, source, preferCompat, hint } = await getGpu(opts);
  const levels: FeatureLevel[] = preferCompat ? ['compatibility'] : ['core', 'compatibility'];
  let adapter: GPUAdapter | null = null;
  let got: FeatureLevel = 'core';
  for (const featureLevel of levels) {
    adapter = await gpu.requestAdapter(featureLevel === 'core' ? {} : ({ featureLevel } as GPURequestAdapterOptions));
    got = featureLevel;
    if (adapter) break;
  }
  if (!adapter) {
    throw new Error(`webgpu: requestAdapter() returned null for feature level ${levels.join(' and ')} (${source})${hint}`);
  }
  return { adapter, got, source };
}

/** What an adapter is, learnt without creating a device or compiling anything. */
export interface AdapterProbe {
  readonly software: boolean;
  /** vendor, architecture, device, description (joined; empty parts left out). */
  readonly name: string;
  readonly featureLevel: FeatureLevel;
  readonly source: string;
}

/**
 * Asks for an adapter and reads its info (isFallbackAdapter, vendor/architecture/device names)
 * WITHOUT requesting a device: `init({ backend: 'auto' })` rejects a software adapter here, before
 * any pipeline is compiled (compiling every shader on SwiftShader takes seconds), so a rejected
 * adapter leaves no device behind. Throws why there is no adapter.
 */
export async function probeAdapter(opts: DeviceOptions = {}): Promise<AdapterProbe> {
  const { adapter, got, source } = await requestAdapter(opts);
  const i = adapter.info;
  const software = isSoftwareAdapter(i as Parameters<typeof isSoftwareAdapter>[0], (adapter as { isFallbackAdapter?: boolean }).isFallbackAdapter);
  const name = [i?.vendor, i?.architecture, i?.device, i?.description].filter(Boolean).join(' ') || 'unknown adapter';
  return { software, name, featureLevel: got, source };
}

/** Requests an adapter and a device with the limits our kernels need. */
export async function createGpuContext(opts: DeviceOptions = {}): Promise<GpuContext> {
  const { adapter, got, source } = await requestAdapter(opts);
  const requiredLimits: Record<string, number> = {};
  for (const name of opts.defaultLimits ? [] : REQUESTED_LIMITS) {
    const v = (adapter.limits as unknown as Record<string, number | undefined>)[name];
    if (typeof v === 'number') requiredLimits[name] = v;
  }
  // A compatibility request may still return a core-capable adapter: then ask for a core device.
  const coreFeature = 'core-features-and-limits' as GPUFeatureName;
  const requiredFeatures: GPUFeatureName[] = adapter.features.has(coreFeature) ? [coreFeature] : [];
  let device: GPUDevice;
  try {
    device = await adapter.requestDevice({ requiredLimits, requiredFeatures });
  } catch (e) {
    throw new Error(`webgpu: requestDevice() failed (${source}): ${e instanceof Error ? e.message : String(e)}`);
  }
  const level: FeatureLevel = got === 'core' || device.features.has(coreFeature) ? 'core' : 'compatibility';
  return new GpuContext(device, adapter, level, source);
}
