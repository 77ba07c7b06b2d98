/**
 * Chromium: ONNX exports made in the page (exportOnnx from the built bundle) run in onnxruntime-web,
 * on its wasm execution provider and on its WebGPU provider (the suite's Chromium has an adapter:
 * SwiftShader, or a GPU), with outputs equal to the model's own (max|Δ|/max|y| ≤ 1e-5): UNet D = 2
 * and 3 (torus, batch 1; zero padding, batch 4) and a baseline ResNet. (WebGPU, D = 3: exported with
 * convTranspose: false, as that provider has no 3-D ConvTranspose.)
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-web/webgpu';
import * as gc from '../../dist/index.js';

ort.env.wasm.wasmPaths = '/node_modules/onnxruntime-web/dist/';
ort.env.wasm.numThreads = 1;

const IO = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const OUT = [
  { k: 1, parity: 0 as const, channels: 1 },
  { k: 2, parity: 0 as const, channels: 1 },
];

function channelsFirst(data: Float32Array, shape: readonly number[]): Float32Array {
  const [B, C] = [shape[0]!, shape.at(-1)!];
  const P = data.length / (B * C);
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) out[(b * C + c) * P + p] = data[(b * P + p) * C + c]!;
  return out;
}

function relErr(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let d = 0;
  let m = 0;
  for (let i = 0; i < b.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return a.length === b.length ? d / m : Infinity;
}

const models = (): [string, gc.Module, number[]][] => [
  ['UNet D=2', new gc.UNet({ D: 2, input: IO, output: OUT, depth: 2, numDownsamples: 1, numConv: 1 }, gc.random.key(1)), [8, 8]],
  ['UNet D=3', new gc.UNet({ D: 3, input: IO, output: OUT, depth: 1, numDownsamples: 1, numConv: 1 }, gc.random.key(2)), [4, 4, 4]],
  ['baseline ResNet D=2', new gc.ResNet({ D: 2, input: IO, output: IO, depth: 2, numBlocks: 1, equivariant: false }, gc.random.key(3)), [6, 6]],
];

async function check(ep: 'wasm' | 'webgpu'): Promise<void> {
  for (const [name, model, spatial] of models()) {
    for (const [batch, torus] of [
      [1, true],
      [4, false],
    ] as const) {
      const D = spatial.length;
      const shape = [batch, ...spatial, 1 + D];
      const x = new gc.MultiImage(
        gc.tensor(
          gc.random.normal(
            gc.random.key(9),
            shape.reduce((a, b) => a * b),
          ),
          shape,
        ),
        IO,
        D,
        torus,
      );
      const y = model.call(x);
      // onnxruntime-web's WebGPU provider has no 3-D ConvTranspose: D = 3 upsampling as zero insertion + Conv there.
      const bytes = await gc.exportOnnx(model, model.params, { spatial, batch, torus, convTranspose: !(ep === 'webgpu' && D === 3) });
      const session = await ort.InferenceSession.create(bytes, { executionProviders: [ep] });
      const out = await session.run({ x: new ort.Tensor('float32', channelsFirst(await x.data.data(), shape), [batch, 1 + D, ...spatial]) });
      const want = channelsFirst(await y.data.data(), y.data.shape);
      const err = relErr(out.y!.data as Float32Array, want);
      expect(err, `${name} batch ${batch} ${torus ? 'torus' : 'zero padding'} on ${ep}`).toBeLessThan(1e-5);
      await session.release();
      x.dispose();
      y.dispose();
    }
    model.dispose();
  }
}

describe('ONNX export in onnxruntime-web (Chromium)', { timeout: 120_000 }, () => {
  it('wasm execution provider', async () => {
    await gc.init({ backend: 'wasm' });
    await check('wasm');
  });
  it('WebGPU execution provider', async () => {
    const adapter = await navigator.gpu?.requestAdapter();
    expect(adapter, "this suite's Chromium exposes a WebGPU adapter (SwiftShader at least)").toBeTruthy();
    await check('webgpu');
  });
});
