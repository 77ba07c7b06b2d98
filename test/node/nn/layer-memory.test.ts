/** Issue #3's memory contract at the layer level: 1,000 ConvContract calls inside tidy grow nothing. */
import { expect, it } from 'vitest';
import {
  ConvContract,
  MultiImage,
  getBackend,
  init,
  memory,
  random,
  setBackend,
  signatureWidth,
  square,
  sum,
  tensor,
  tidy,
  valueAndGrad,
  type Params,
} from '../../../src/index.js';

it('1,000 ConvContract forward+backward calls inside tidy leave memory() and the wasm heap unchanged', async () => {
  await init({ backend: 'wasm' });
  const sig = [
    { k: 0, parity: 0 as const, channels: 2 },
    { k: 1, parity: 0 as const, channels: 2 },
  ];
  const layer = new ConvContract({ D: 2, input: sig, output: sig, M: 3 }, random.key(1));
  const W = signatureWidth(sig, 2);
  const x = new MultiImage(tensor(random.normal(random.key(2), 8 * 8 * W), [1, 8, 8, W]), sig, 2);
  const heap = () => (getBackend('wasm') as unknown as { heapStats(): { heapBytes: number } }).heapStats().heapBytes;
  const step = valueAndGrad((p: Params) => sum(square(layer.apply(p, x).data)));
  const call = () => tidy(() => step(layer.params).value.dataSync()[0]);
  call();
  const before = { ...memory(), heap: heap() };
  for (let i = 0; i < 1000; i++) call();
  expect({ ...memory(), heap: heap() }).toEqual(before);
  x.dispose();
  layer.dispose();
  setBackend('ref');
});
