/**
 * onnxruntime-web's WebGPU execution provider as the peer of `npm run bench:gpu`, in Node.
 *
 * ORT-web looks for `navigator.gpu`; Node has none, so the peer installs one: a Dawn instance of the
 * `webgpu` package with the same Dawn backend as geoconv's (env WEBGPU_BACKEND). Two adaptations,
 * both bench-only and both needed before ORT-web runs at all:
 *  - on Dawn's OpenGL backend every adapter request asks for featureLevel 'compatibility', the only
 *    level that backend offers (ORT-web asks for the default, core, and gets null);
 *  - GPUQueue.writeBuffer copies views of a SharedArrayBuffer first: ORT-web's wasm memory is
 *    shared, and Dawn's Node binding rejects such views ("Invalid argument").
 * The model is the wasm benchmark's: Pad(mode="wrap") + Conv, NCHW. Input and output stay on the GPU
 * (`Tensor.fromGpuBuffer`, `preferredOutputLocation: 'gpu-buffer'`), so a timed run is
 * `session.run` + `queue.onSubmittedWorkDone()`, as for geoconv.
 */
import { pathToFileURL } from 'node:url';
import { join } from 'node:path';
import { filterToOnnx, toChannelsFirst, wrapConvModel } from './onnx.mjs';

const F32 = 4;

/** Installs navigator.gpu and loads ORT-web's WebGPU build; throws with the reason when it cannot. */
export async function loadOrtWebgpu(root) {
  const { create, globals } = await import('webgpu');
  const backend = process.env.WEBGPU_BACKEND;
  Object.assign(globalThis, globals);
  const gpu = create(backend ? [`backend=${backend}`] : []);
  if (backend?.startsWith('opengl')) {
    const request = gpu.requestAdapter.bind(gpu);
    gpu.requestAdapter = (opts) => request({ ...opts, featureLevel: 'compatibility' });
  }
  const writeBuffer = globalThis.GPUQueue.prototype.writeBuffer;
  globalThis.GPUQueue.prototype.writeBuffer = function (buffer, offset, data, dataOffset = 0, size) {
    if (ArrayBuffer.isView(data) && data.buffer instanceof SharedArrayBuffer) {
      const n = size ?? data.length - dataOffset;
      return writeBuffer.call(this, buffer, offset, data.slice(dataOffset, dataOffset + n), 0, n);
    }
    return writeBuffer.call(this, buffer, offset, data, dataOffset, size);
  };
  const nav = globalThis.navigator ?? {};
  Object.defineProperty(globalThis, 'navigator', { value: Object.assign(Object.create(nav), { gpu }), configurable: true });
  const ort = await import(pathToFileURL(join(root, 'node_modules/onnxruntime-web/dist/ort.webgpu.bundle.min.mjs')).href);
  ort.env.wasm.numThreads = 1;
  ort.env.logLevel = 'error';
  return ort;
}

/**
 * A periodic "same" convolution on ORT-web's WebGPU EP: x channels-last [B, ...S, Cin], w [taps, Cin, Cout].
 * Returns { run(): Promise<void> (timed call), output(): Promise<Float32Array> (NCHW), outShape, dispose() }.
 */
export async function ortWebgpuConv(ort, { xs, x, w, cout, k }) {
  const D = xs.length - 2;
  const cin = xs.at(-1);
  const inShape = [xs[0], cin, ...xs.slice(1, -1)];
  const { bytes, outShape } = wrapConvModel({
    inputShape: inShape,
    weight: filterToOnnx(w, k ** D, cin, cout),
    kernel: new Array(D).fill(k),
    pad: (k - 1) / 2,
  });
  const session = await ort.InferenceSession.create(bytes, {
    executionProviders: ['webgpu'],
    graphOptimizationLevel: 'all',
    preferredOutputLocation: 'gpu-buffer',
  });
  const device = ort.env.webgpu.device;
  const data = toChannelsFirst(x, xs);
  const buffer = device.createBuffer({
    size: Math.ceil((data.length * F32) / 16) * 16,
    usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC | GPUBufferUsage.COPY_DST,
  });
  device.queue.writeBuffer(buffer, 0, data);
  const feeds = { x: ort.Tensor.fromGpuBuffer(buffer, { dataType: 'float32', dims: inShape }) };
  return {
    outShape,
    async run() {
      const r = await session.run(feeds);
      await device.queue.onSubmittedWorkDone();
      r.y.dispose();
    },
    async output() {
      const r = await session.run(feeds);
      const y = await r.y.getData(true);
      return y;
    },
    async dispose() {
      await session.release();
      buffer.destroy();
    },
  };
}
