import { describe, expect, it } from 'vitest';
import {
  MultiImage,
  ResidualStep,
  UNet,
  autoregressiveMap,
  buildModule,
  lastInputStep,
  memory,
  operators,
  random,
  serialize,
  deserialize,
  setBackend,
  tensor,
  withoutInit,
} from '../../../src/index.js';

setBackend('ref');

/** Input in the autoregressive layout: pseudoscalar 1·2 past steps + 1 constant, vector 1·2 past steps. */
function input(seed: number, n = 8): MultiImage {
  const sig = [
    { k: 0, parity: 1 as const, channels: 3 },
    { k: 1, parity: 0 as const, channels: 2 },
  ];
  return new MultiImage(tensor(random.normal(random.key(seed), 2 * n * n * 7), [2, n, n, 7]), sig, 2);
}
const output = [
  { k: 0, parity: 1 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const unet = (key = random.key(3)) => new UNet({ D: 2, input: input(0).signature, output, depth: 2, numDownsamples: 1, numConv: 1 }, key);

describe('ResidualStep and lastInputStep', () => {
  it('lastInputStep picks the newest past step of every predicted key (not the constants)', async () => {
    const x = input(1);
    const last = lastInputStep(x, output, 2);
    const [xv, lv] = [await x.data.data(), await last.data.data()];
    for (let p = 0; p < 2 * 64; p++) {
      expect(lv[p * 3]).toBe(xv[p * 7 + 1]); // pseudoscalar channels: past0, past1, constant
      expect(lv[p * 3 + 1]).toBe(xv[p * 7 + 5]); // vector: past0 (3,4), past1 (5,6)
      expect(lv[p * 3 + 2]).toBe(xv[p * 7 + 6]);
    }
    expect(() => lastInputStep(x, [{ k: 2, parity: 0, channels: 1 }], 2)).toThrow(/lastInputStep: input key \(2,0\) must be present/);
    x.dispose();
    last.dispose();
  });

  it('adds the model to persistence: a zero model predicts the newest input frame', async () => {
    const x = input(2);
    const zero = withoutInit(() => new ResidualStep({ model: unet(), pastSteps: 2 }));
    const before = memory().tensors;
    const [y, last] = [zero.call(x), lastInputStep(x, output, 2)];
    // UNet built without random draws has zero conv weights and zero biases: its output is 0
    expect(Array.from(await y.data.data())).toEqual(Array.from(await last.data.data()));
    y.dispose();
    last.dispose();
    expect(memory().tensors).toBe(before);
    const model = new ResidualStep({ model: unet(), pastSteps: 2 });
    const [inner, full, l2] = [model.children.get('model')!.apply(model.params.model as never, x), model.call(x), lastInputStep(x, output, 2)];
    const [iv, fv, lv] = [await inner.data.data(), await full.data.data(), await l2.data.data()];
    fv.forEach((v, i) => expect(v).toBeCloseTo(iv[i]! + lv[i]!, 6)); // float32 storage
    for (const m of [inner, full, l2, x]) m.dispose();
    zero.dispose();
    model.dispose();
  });

  it('is equivariant when its model is, rolls out, and rebuilds from its config', async () => {
    const model = new ResidualStep({ model: unet(), pastSteps: 2 });
    const x = input(4);
    const y = model.call(x);
    for (const g of operators(2)) {
      const [a, b] = [model.call(x.timesGroupElement(g)), y.timesGroupElement(g)];
      const [av, bv] = [await a.data.data(), await b.data.data()];
      av.forEach((v, i) => expect(v).toBeCloseTo(bv[i]!, 5));
    }
    const roll = autoregressiveMap(model, model.params, x, { pastSteps: 2, futureSteps: 3, constantFields: { '0,1': 1 } });
    expect(roll.signature.map((e) => e.channels)).toEqual([3, 3]);
    const restored = deserialize(await serialize(model, model.params));
    const rebuilt = buildModule(restored.config!, null);
    expect(rebuilt).toBeInstanceOf(ResidualStep);
    const again = rebuilt.apply(restored.params, x);
    expect(Array.from(await again.data.data())).toEqual(Array.from(await y.data.data()));
    expect(() => new ResidualStep({ model: unet(), pastSteps: 0 })).toThrow(/ResidualStep: pastSteps must be an integer >= 1/);
  });
});
