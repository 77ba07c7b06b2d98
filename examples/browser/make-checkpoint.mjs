/**
 * Writes the demo's checkpoint (examples/browser/build/model.safetensors, under 1 KB): the demo's
 * ConvContract scalar → vector (M = 3) trained on the demo task (data.js), so that the page starts
 * with a trained model. Uses the built library (dist/index.js).
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import * as gc from '../../dist/index.js';
import { demoTask, makeModel } from './data.js';

export async function makeCheckpoint(path = new URL('./build/model.safetensors', import.meta.url)) {
  await gc.init({ backend: 'wasm' });
  const task = demoTask(21, 64);
  const model = makeModel(2);
  const r = await gc.train({
    model,
    x: task.x,
    y: task.y,
    optimizer: gc.adam({ learningRate: 0.02 }),
    batchSize: 8,
    key: gc.random.key(3),
    stop: new gc.EpochStop(40),
  });
  const bytes = await gc.serialize(model, r.params);
  mkdirSync(new URL('.', path), { recursive: true });
  writeFileSync(path, bytes);
  gc.disposeTree(r.params);
  gc.disposeTree(r.optState);
  model.dispose();
  task.x.dispose();
  task.y.dispose();
  return { bytes: bytes.length, trainLoss: r.trainLoss };
}

if (import.meta.url === `file://${process.argv[1]}`) {
  const r = await makeCheckpoint();
  console.log(`model.safetensors: ${r.bytes} bytes, final train loss ${r.trainLoss?.toExponential(2)}`);
}
