/**
 * Every model can fit one batch: the training loss falls at least 100× (a check that gradients reach
 * every layer and that the optimizer works end to end). Runs on wasm for speed.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import {
  init,
  random,
  gradientTask,
  disposeTask,
  makeTrainStep,
  optim,
  disposeTree,
  copyTree,
  GroupAverage,
  type Module,
  type TaskData,
} from '../../../src/index.js';
import { DilResNet, ResNet, UNet } from '../../../src/nn/models.js';

let data: TaskData;
beforeAll(async () => {
  await init({ backend: 'wasm' });
  data = gradientTask(random.key(0), { nTrain: 2, nVal: 1, nTest: 1, N: 8 });
  return () => disposeTask(data);
});

async function overfit(model: Module, steps: number, learningRate: number): Promise<number> {
  const x = data.train.x;
  const y = data.train.y;
  const step = makeTrainStep(model, optim.adam({ learningRate }));
  let params = copyTree(model.params);
  let state = optim.adam({ learningRate }).init(params);
  let first = NaN;
  let best = Infinity;
  for (let i = 0; i < steps; i++) {
    const r = step(params, state, x, y);
    const loss = (await r.loss.data())[0]!;
    r.loss.dispose();
    disposeTree(params);
    disposeTree(state);
    params = r.params;
    state = r.optState;
    if (i === 0) first = loss;
    best = Math.min(best, loss);
  }
  disposeTree(params);
  disposeTree(state);
  model.dispose();
  return first / best;
}

const io = () => ({ D: 2, input: data.train.x.signature, output: data.train.y.signature });

// Equivariant models fit with 4 channels per key type; the scalar baselines get 8 channels, and the
// relu DilResNet baseline 16 (with fewer, all its relu units can die and the loss plateaus: a matter
// of capacity and initialisation, not a bug).
const STEPS = 400;
const LR = 3e-3;

describe('one batch overfits (loss falls by 100×)', { timeout: 120_000 }, () => {
  for (const equivariant of [true, false]) {
    const tag = equivariant ? 'equivariant' : 'baseline';
    const depth = equivariant ? 4 : 8;
    it(`UNet (${tag})`, async () => {
      expect(await overfit(new UNet({ ...io(), depth, numDownsamples: 1, numConv: 1, equivariant }, random.key(1)), STEPS, LR)).toBeGreaterThan(100);
    });
    it(`ResNet (${tag})`, async () => {
      expect(await overfit(new ResNet({ ...io(), depth, numBlocks: 1, numConv: 1, equivariant }, random.key(2)), STEPS, LR)).toBeGreaterThan(100);
    });
    it(`DilResNet (${tag})`, async () => {
      expect(await overfit(new DilResNet({ ...io(), depth: equivariant ? depth : 16, numBlocks: 1, equivariant }, random.key(3)), STEPS, LR)).toBeGreaterThan(
        100,
      );
    });
  }
  it('GroupAverage of a baseline (always averaging)', async () => {
    const base = new UNet({ ...io(), depth: 8, numDownsamples: 1, numConv: 1, equivariant: false }, random.key(4));
    expect(await overfit(new GroupAverage({ model: base, alwaysAverage: true }), STEPS / 2, LR)).toBeGreaterThan(100);
  });
});
