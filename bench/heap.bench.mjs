#!/usr/bin/env node
/**
 * Does the wasm heap stay flat over a long training run? Trains a small UNet for `--steps` steps on
 * the wasm backend and records, every `--every` steps, the wasm memory's size
 * (memory.buffer.byteLength: it only grows), the allocator's bytes in use, the live tensors and
 * their bytes, and (where the build has it) the gather index-map cache's bytes. Like `train`, each
 * step takes a random batch of `--batch` samples out of a fixed set of `--pool` (MultiImage.getSubset),
 * so any growth after the first steps is memory the library keeps, not data.
 *
 *   node --experimental-wasm-relaxed-simd bench/heap.bench.mjs [--dist=dist/index.js] [--steps=10000]
 *        [--every=500] [--threads=1] [--N=16] [--depth=2] [--batch=4] [--pool=16] [--json=bench/results/heap.json]
 *
 * Before/after: build the other commit in a worktree (`git worktree add /tmp/old <commit> &&
 * ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && npm run build)`) and pass
 * `--dist=/tmp/old/dist/index.js`.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';

const args = process.argv.slice(2);
const arg = (name, dflt) =>
  args
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=') ?? dflt;
const dist = resolve(arg('dist', 'dist/index.js'));
const steps = Number(arg('steps', '10000'));
const every = Number(arg('every', '500'));
const threads = Number(arg('threads', '1'));
const N = Number(arg('N', '16'));
const depth = Number(arg('depth', '2'));
const batch = Number(arg('batch', '4'));
const pool = Number(arg('pool', '16'));
const jsonOut = arg('json', null);

const g = await import(pathToFileURL(dist).href);
await g.init({ backend: 'wasm', threads });
const be = g.getBackend('wasm');
const cache = g.indexMapCacheOf?.(be.kernels.gather);

const D = 2;
const input = [
  { k: 0, parity: 0, channels: 2 },
  { k: 1, parity: 0, channels: 2 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];
const image = (sig, seed) => {
  const W = g.signatureWidth(sig, D);
  return new g.MultiImage(g.tensor(g.random.normal(g.random.key(seed), pool * N * N * W), [pool, N, N, W]), sig, D, true);
};
const model = new g.UNet({ D, input, output, depth, numDownsamples: 2, numConv: 1 }, g.random.key(1));
const optimizer = g.optim.adam({ learningRate: 1e-3 });
const step = g.makeTrainStep(model, optimizer);
const X = image(input, 2);
const Y = image(output, 3);
let seed = 12345;
/** A random batch of distinct sample indices (seeded: every build draws the same batches). */
const draw = () => {
  const all = [...Array(pool).keys()];
  for (let i = pool - 1; i > 0; i--) {
    seed = (Math.imul(seed, 1664525) + 1013904223) >>> 0;
    const j = seed % (i + 1);
    [all[i], all[j]] = [all[j], all[i]];
  }
  return all.slice(0, batch);
};
let params = g.copyTree(model.params);
let state = optimizer.init(params);

const MiB = (b) => +(b / 2 ** 20).toFixed(2);
const rows = [];
const record = (i, loss, ms) => {
  const h = be.heapStats();
  const m = g.memory();
  const row = {
    step: i,
    heapMiB: MiB(h.heapBytes),
    inUseMiB: MiB(h.bytesInUse),
    liveTensors: m.tensors,
    liveTensorMiB: MiB(m.bytes),
    indexCacheMiB: cache ? MiB(cache.stats().bytes) : null,
    loss,
    msPerStep: ms,
  };
  rows.push(row);
  console.log(
    `step ${String(i).padStart(6)}: heap ${row.heapMiB} MiB, in use ${row.inUseMiB} MiB, live tensors ${m.tensors} (${row.liveTensorMiB} MiB)` +
      `${cache ? `, index cache ${row.indexCacheMiB} MiB` : ''}, loss ${loss.toPrecision(4)}${ms ? `, ${ms.toFixed(1)} ms/step` : ''}`,
  );
};

let t0 = performance.now();
for (let i = 0; i <= steps; i++) {
  const idx = draw();
  const x = X.getSubset(idx);
  const y = Y.getSubset(idx);
  const res = step(params, state, x, y);
  x.dispose();
  y.dispose();
  const loss = res.loss.dataSync()[0];
  res.loss.dispose();
  g.disposeTree(params);
  g.disposeTree(state);
  params = res.params;
  state = res.optState;
  if (i % every === 0) {
    const now = performance.now();
    record(i, loss, i ? (now - t0) / every : 0);
    t0 = now;
  }
}

const first = rows[0],
  last = rows.at(-1);
console.log(`heap ${first.heapMiB} -> ${last.heapMiB} MiB over ${steps} steps; live tensors ${first.liveTensors} -> ${last.liveTensors}`);
if (jsonOut) {
  mkdirSync(resolve(jsonOut, '..'), { recursive: true });
  writeFileSync(
    jsonOut,
    `${JSON.stringify(
      {
        machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, date: new Date().toISOString() },
        config: { dist, steps, every, threads, N, depth, batch, pool },
        rows,
      },
      null,
      1,
    )}\n`,
  );
  console.log(`wrote ${jsonOut}`);
}
process.exit(0);
