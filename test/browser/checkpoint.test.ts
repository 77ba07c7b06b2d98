/** Chromium: a model trains a step, round-trips through safetensors bytes (no file system), and gives identical outputs. */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';

describe('checkpoints in the browser (ArrayBuffer API)', () => {
  it('serialize → deserialize rebuilds the model with identical outputs', async () => {
    await gc.init({ backend: 'wasm' });
    const data = gc.gradientTask(gc.random.key(0), { nTrain: 2, nVal: 1, nTest: 1, N: 8 });
    const model = new gc.UNet({ D: 2, input: data.train.x.signature, output: data.train.y.signature, depth: 2, numDownsamples: 1, numConv: 1 }, gc.random.key(1));
    const bytes = await gc.serialize(model, model.params);
    expect(bytes).toBeInstanceOf(Uint8Array);
    const buffer: ArrayBuffer = new Uint8Array(bytes).buffer; // a plain ArrayBuffer, as fetch() gives
    const restored = gc.deserialize(buffer);
    expect(restored.config).not.toBeNull();
    const rebuilt = gc.buildModule(restored.config!, gc.random.key(99));
    const a = await model.call(data.test.x).data.data();
    const b = await rebuilt.apply(restored.params, data.test.x).data.data();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(() => gc.deserialize(buffer.slice(0, 20))).toThrow(/safetensors|truncated|header/i);
  });
});
