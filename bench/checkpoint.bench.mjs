/**
 * Loading a checkpoint: loadCheckpoint(bytes) (model built without random initialisation, weights
 * read in place) against the former way (buildModule with a key, then deserialize, then swap the
 * parameters), on the same bytes and backend. Median of several runs; also the random-init build
 * alone, which is the cost removed. Times are CPU time of this process (user + system), which a
 * busy machine disturbs less than wall time.
 *   node --experimental-wasm-relaxed-simd bench/checkpoint.bench.mjs [--backend=wasm] [--depth=64]
 */
import * as gc from '../dist/index.js';

const arg = (name, dflt) => process.argv.find((a) => a.startsWith(`--${name}=`))?.split('=')[1] ?? dflt;
const backend = arg('backend', 'wasm');
const depth = Number(arg('depth', 64));
const runs = Number(arg('runs', 5));
await gc.init({ backend });
const sig = [
  { k: 0, parity: 0, channels: 1 },
  { k: 1, parity: 0, channels: 1 },
];
const model = new gc.UNet({ D: 2, input: sig, output: sig, depth, numDownsamples: 3, numConv: 2 }, gc.random.key(1));
const bytes = await gc.serialize(model);
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
async function time(fn) {
  const ts = [];
  for (let i = 0; i < runs; i++) {
    const t0 = process.cpuUsage();
    const dispose = await fn();
    const dt = process.cpuUsage(t0);
    ts.push((dt.user + dt.system) / 1000);
    dispose();
  }
  return median(ts);
}
const newWay = await time(async () => {
  const l = await gc.loadCheckpoint(bytes);
  return () => l.model.dispose();
});
const oldWay = await time(async () => {
  const d = gc.deserialize(bytes);
  const m = gc.buildModule(d.config, gc.random.key(0));
  // the former loader then swapped m's random parameters for d.params and disposed them
  return () => {
    m.dispose();
    for (const t of d.tensors.values()) t.dispose();
  };
});
const randomBuild = await time(async () => {
  const m = gc.buildModule(model.config, gc.random.key(0));
  return () => m.dispose();
});
const blankBuild = await time(async () => {
  const m = gc.buildModule(model.config, null);
  return () => m.dispose();
});
console.log(
  JSON.stringify({
    backend,
    depth,
    params: model.parameterCount(),
    fileMB: +(bytes.length / 2 ** 20).toFixed(1),
    loadCheckpointMs: +newWay.toFixed(1),
    formerLoadMs: +oldWay.toFixed(1),
    buildRandomMs: +randomBuild.toFixed(1),
    buildNullMs: +blankBuild.toFixed(1),
  }),
);
model.dispose();
