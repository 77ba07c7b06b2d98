/**
 * Deno: training and checkpoints through the BUILT bundle (dist/index.js) — Adam steps of a
 * small equivariant model on wasm reduce the loss, and saveCheckpoint / loadCheckpoint (node:fs under
 * Deno, atomic write) round-trip the model exactly, batch-norm statistics included.
 * Run: npx deno test --no-check --allow-read --allow-write test/deno/
 */
// deno-lint-ignore-file no-explicit-any
import * as gc from '../../dist/index.js';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const D = 2;
const input = [
  { k: 0, parity: 0, channels: 1 },
  { k: 1, parity: 0, channels: 1 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];
const image = (sig: any, seed: number) => {
  const W = gc.signatureWidth(sig, D);
  return new gc.MultiImage(gc.tensor(gc.random.normal(gc.random.key(seed), 2 * 6 * 6 * W), [2, 6, 6, W]), sig, D, true);
};

Deno.test('Adam steps of a small UNet reduce the loss (wasm)', async () => {
  await gc.init({ backend: 'wasm' });
  const model = new gc.UNet({ D, input, output, depth: 4, numDownsamples: 1, numConv: 1 }, gc.random.key(1));
  const x = image(input, 2);
  const y = image(output, 3);
  const optimizer = gc.adam({ learningRate: 1e-2 });
  const step = gc.makeTrainStep(model, optimizer);
  let params = gc.copyTree(model.params);
  let state = optimizer.init(params);
  const losses: number[] = [];
  for (let i = 0; i < 40; i++) {
    const r = step(params, state, x, y);
    losses.push((await r.loss.data())[0]);
    r.loss.dispose();
    gc.disposeTree(params);
    gc.disposeTree(state);
    params = r.params;
    state = r.optState;
  }
  assert(losses.every(Number.isFinite), `non-finite loss: ${losses}`);
  assert(losses.at(-1)! < 0.5 * losses[0], `loss ${losses[0]} → ${losses.at(-1)}: not halved in 40 steps`);
  for (const t of [params, state]) gc.disposeTree(t);
  for (const m of [x, y, model]) m.dispose();
  gc.setBackend('ref');
});

Deno.test('saveCheckpoint / loadCheckpoint round-trip a model with batch-norm statistics', async () => {
  await gc.init({ backend: 'wasm' });
  const model = new gc.Sequential([
    new gc.ConvContract({ D, input, output: [{ k: 0, parity: 0, channels: 2 }], M: 3 }, gc.random.key(4)),
    new gc.BatchNorm({ D, input: [{ k: 0, parity: 0, channels: 2 }] }),
  ]);
  const x = image(input, 5);
  const state = new gc.State();
  model.apply(model.params, x, { training: true, state } as any).dispose();
  const dir = await Deno.makeTempDir({ prefix: 'geoconv-deno-' });
  try {
    const path = `${dir}/model.safetensors`;
    await gc.saveCheckpoint(path, model, undefined, { state });
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(names.length === 1 && names[0] === 'model.safetensors', `files after the atomic save: ${names}`);
    const loaded = await gc.loadCheckpoint(path);
    const run = (m: any, s: any) => {
      const out = m.apply(m.params, x, { training: false, state: s });
      const v = Array.from(out.data.dataSync() as Float32Array);
      out.dispose();
      return v;
    };
    const want = run(model, state);
    const got = run(loaded.model, loaded.state);
    assert(got.length === want.length && got.every((v, i) => v === want[i]), 'loaded model differs from the saved one');
    loaded.model.dispose();
    loaded.state?.dispose();
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  for (const m of [x, model, state]) m.dispose();
  gc.setBackend('ref');
});
