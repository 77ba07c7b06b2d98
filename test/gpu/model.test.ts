/**
 * A whole model on webgpu: a small equivariant UNet (ConvContract convolutions, vector-neuron
 * nonlinearities, max-norm pooling, the lhs-dilated upsampling conv, skip concatenation, mean
 * biases) on the built-in gradient task. Its loss and every parameter gradient equal ref's, and a
 * few Adam steps on webgpu lower the loss. This composes every kernel (and every gradient rule that
 * calls them) the way training does.
 *
 * Tolerance: per gradient leaf, max|got − ref| <= 1e-4·max|leaf| + 1e-6·G, G = the largest gradient
 * entry of the whole model. The chains here are a few float32 sums of <= 9·12 = 108 products per
 * conv output (and 64-pixel spatial means); by the bound of helpers.ts each step adds <= ~110·u ≈
 * 7e-6 relative to its absolute sum, and a handful of such steps stay well under 1e-4 (measured:
 * ~2e-6). The G term is for leaves that are near-cancelling sums (one bias gradient here is 1.5e-5
 * while G = 0.5): their absolute error is on the scale of their terms, not of their result
 * (measured 4e-9·G). Training: 12 Adam steps on each backend give the same losses within 1e-4
 * relative (differences grow slowly with the steps: ~1e-5 at step 12, ~1e-3 after 25). The pooling
 * argmax could in principle flip on a near-tie between float32 and float64 norms; the seeded data
 * has none.
 */
import { startWebGPU } from './helpers.js';
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { UNet } from '../../src/nn/models.js';

beforeAll(async () => {
  await startWebGPU();
});

const maxAbs = (a: Float32Array) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
const maxDiff = (a: Float32Array, b: Float32Array) => a.reduce((m, v, i) => Math.max(m, Math.abs(v - b[i]!)), 0);

function setup(backend: 'ref' | 'webgpu') {
  g.setBackend(backend);
  const data = g.gradientTask(g.random.key(0), { nTrain: 2, nVal: 1, nTest: 1, N: 8 });
  const model = new UNet({ D: 2, input: data.train.x.signature, output: data.train.y.signature, depth: 2, numDownsamples: 1, numConv: 1 }, g.random.key(1));
  return { data, model };
}

async function lossAndGrads(backend: 'ref' | 'webgpu') {
  const { data, model } = setup(backend);
  const vg = g.valueAndGrad((p: g.Params, x: g.MultiImage, y: g.MultiImage) => g.mean(g.square(g.sub(model.apply(p, x, { training: true }).data, y.data))));
  const { value, grads } = vg(model.params, data.train.x, data.train.y);
  const leaves = g.treeLeaves(grads);
  const out = { loss: (await value.data())[0]!, grads: await Promise.all(leaves.map((t) => t.data())) };
  for (const t of [value, ...leaves]) t.dispose();
  model.dispose();
  g.disposeTask(data);
  return out;
}

async function train(backend: 'ref' | 'webgpu', steps: number) {
  const { data, model } = setup(backend);
  const mem0 = g.memory();
  const opt = g.optim.adam({ learningRate: 3e-3 });
  const step = g.makeTrainStep(model, opt);
  let params = g.copyTree(model.params);
  let state = opt.init(params);
  const losses: number[] = [];
  for (let i = 0; i < steps; i++) {
    const r = step(params, state, data.train.x, data.train.y);
    losses.push((await r.loss.data())[0]!);
    r.loss.dispose();
    g.disposeTree(params);
    g.disposeTree(state);
    params = r.params;
    state = r.optState;
  }
  g.disposeTree(params);
  g.disposeTree(state);
  const leaked = g.memory().tensors - mem0.tensors;
  model.dispose();
  g.disposeTask(data);
  return { losses, leaked };
}

describe('a small equivariant UNet on webgpu', () => {
  it('loss and every parameter gradient equal ref', async () => {
    const want = await lossAndGrads('ref');
    const got = await lossAndGrads('webgpu');
    expect(Math.abs(got.loss - want.loss)).toBeLessThanOrEqual(1e-4 * Math.abs(want.loss));
    expect(got.grads.length).toBe(want.grads.length);
    expect(want.grads.length).toBeGreaterThan(5);
    const G = Math.max(...want.grads.map(maxAbs));
    want.grads.forEach((w, i) => {
      expect(maxDiff(got.grads[i]!, w), `gradient leaf ${i} (${w.length} values)`).toBeLessThanOrEqual(1e-4 * maxAbs(w) + 1e-6 * G);
    });
  });

  it('12 Adam steps on webgpu follow ref and lower the loss, without leaking tensors', async () => {
    const want = await train('ref', 12);
    const got = await train('webgpu', 12);
    expect(got.leaked).toBe(0);
    got.losses.forEach((l, i) => expect(Math.abs(l - want.losses[i]!), `step ${i}`).toBeLessThanOrEqual(1e-4 * want.losses[i]!));
    expect(got.losses.at(-1)!).toBeLessThan(0.9 * got.losses[0]!);
  });
});
