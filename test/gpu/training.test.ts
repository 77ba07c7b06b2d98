/**
 * Whole models on WebGPU: one training step of a small UNet matches wasm (loss and every updated
 * parameter within float32 tolerance), and a ConvContract→VN→norm block is equivariant on the GPU.
 */
import { describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';

async function leaves(tree: unknown): Promise<Float32Array[]> {
  return Promise.all(g.treeLeaves(tree).map((t) => t.data()));
}

async function trainStep(backend: 'wasm' | 'webgpu') {
  await g.init({ backend });
  const data = g.gradientTask(g.random.key(0), { nTrain: 2, nVal: 1, nTest: 1, N: 8 });
  const model = new g.UNet(
    { D: 2, input: data.train.x.signature, output: data.train.y.signature, depth: 2, numDownsamples: 1, numConv: 1, useGroupNorm: true },
    g.random.key(1),
  );
  const optimizer = g.optim.adam({ learningRate: 1e-2 });
  const step = g.makeTrainStep(model, optimizer);
  const state = optimizer.init(model.params);
  const r = step(model.params, state, data.train.x, data.train.y);
  const out = { loss: (await r.loss.data())[0]!, params: await leaves(r.params) };
  r.loss.dispose();
  g.disposeTree(r.params);
  g.disposeTree(r.optState);
  g.disposeTree(state);
  model.dispose();
  g.disposeTask(data);
  return out;
}

describe('models on webgpu', { timeout: 120_000 }, () => {
  it('one UNet training step matches wasm', async () => {
    const cpu = await trainStep('wasm');
    const gpu = await trainStep('webgpu');
    expect(Math.abs(gpu.loss - cpu.loss) / cpu.loss).toBeLessThan(1e-4);
    expect(gpu.params.length).toBe(cpu.params.length);
    // Adam's first step moves each weight by ≈ ±lr·sign(grad): parameters agree to float32 rounding
    // of the update unless a gradient is ~0 (where the sign is noise); allow lr on those entries.
    let worst = 0;
    gpu.params.forEach((p, i) => p.forEach((v, j) => (worst = Math.max(worst, Math.abs(v - cpu.params[i]![j]!)))));
    expect(worst).toBeLessThanOrEqual(1e-2 + 1e-5);
    const close = gpu.params.flatMap((p, i) => Array.from(p, (v, j) => Math.abs(v - cpu.params[i]![j]!) < 1e-4));
    expect(close.filter(Boolean).length / close.length).toBeGreaterThan(0.95);
    g.setBackend('ref');
  });

  it('a ConvBlock is equivariant on webgpu (every group element, D = 2)', async () => {
    await g.init({ backend: 'webgpu' });
    const sig = [
      { k: 0, parity: 0 as const, channels: 2 },
      { k: 1, parity: 0 as const, channels: 2 },
      { k: 1, parity: 1 as const, channels: 1 },
    ];
    const block = new g.ConvBlock({ D: 2, input: sig, output: sig, useGroupNorm: true }, g.random.key(3));
    const W = g.signatureWidth(sig, 2);
    const x = new g.MultiImage(g.tensor(g.random.normal(g.random.key(4), 6 * 6 * W), [1, 6, 6, W]), sig, 2);
    const y = block.call(x);
    let worst = 0;
    for (const op of g.operators(2)) {
      const a = await block.call(x.timesGroupElement(op)).data.data();
      const b = await y.timesGroupElement(op).data.data();
      const scale = Math.max(...b.map(Math.abs));
      a.forEach((v, i) => (worst = Math.max(worst, Math.abs(v - b[i]!) / scale)));
    }
    expect(worst).toBeLessThan(1e-4);
    g.setBackend('ref');
  });
});
