// UNet training step and inference latency (issue #4 benchmark): D = 2, 64×64, signature
// {(0,0):2, (1,0):2} → {(1,0):1}, width (depth) 32, batch 1 and 8, per backend and thread count,
// with peak memory: the wasm heap's high-water mark (every tensor, tape and scratch buffer lives
// there) and the process RSS. Merges its rows into bench/results/latest.json (case "unet-*").
//
//   node --experimental-wasm-relaxed-simd bench/unet.bench.mjs [--quick] [--backends=wasm:1,wasm:2,webgpu:1] [--batches=1,8]
import { readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import { cpus, totalmem } from 'node:os';
import * as g from '../dist/index.js';
import { initWebgpu } from './webgpu-init.mjs';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const backendsArg = args.find((a) => a.startsWith('--backends='))?.split('=')[1];
const configs = (backendsArg ?? 'wasm:1,wasm:2').split(',').map((s) => {
  const [backend, threads] = s.split(':');
  return { backend, threads: Number(threads ?? 1) };
});
const repeats = quick ? 2 : 5;
const batchesArg = args.find((a) => a.startsWith('--batches='))?.split('=')[1];
const batches = (batchesArg ?? '1,8').split(',').map(Number);

const D = 2,
  N = 64;
const input = [
  { k: 0, parity: 0, channels: 2 },
  { k: 1, parity: 0, channels: 2 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];

function image(batch, sig, seed) {
  const W = g.signatureWidth(sig, D);
  const shape = [batch, N, N, W];
  return new g.MultiImage(
    g.tensor(
      g.random.normal(
        g.random.key(seed),
        shape.reduce((a, b) => a * b),
      ),
      shape,
    ),
    sig,
    D,
    true,
  );
}

const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const rows = [];
for (const { backend, threads } of configs) {
  try {
    if (backend === 'webgpu') await initWebgpu(g);
    else await g.init({ backend, threads });
  } catch (e) {
    console.log(`${backend} ×${threads}: unavailable (${e.message})`);
    continue;
  }
  const model = new g.UNet({ D, input, output, depth: 32, numDownsamples: 2, numConv: 2 }, g.random.key(1));
  const optimizer = g.optim.adam({ learningRate: 1e-3 });
  const step = g.makeTrainStep(model, optimizer);
  const be = g.getBackend();
  // A software (CPU) WebGPU adapter runs batch 1 only unless --batches says otherwise: a smoke run.
  for (const batch of be.software && !batchesArg ? [1] : batches) {
    const x = image(batch, input, 2);
    const y = image(batch, output, 3);
    // inference
    const inferMs = [];
    for (let r = 0; r < repeats + 1; r++) {
      const t0 = performance.now();
      const out = model.call(x);
      await out.data.data();
      out.dispose();
      if (r > 0) inferMs.push(performance.now() - t0);
    }
    // training step
    let params = g.copyTree(model.params);
    let state = optimizer.init(params);
    const stepMs = [];
    for (let r = 0; r < repeats + 1; r++) {
      const t0 = performance.now();
      const res = step(params, state, x, y);
      await res.loss.data();
      res.loss.dispose();
      g.disposeTree(params);
      g.disposeTree(state);
      params = res.params;
      state = res.optState;
      if (r > 0) stepMs.push(performance.now() - t0);
    }
    g.disposeTree(params);
    g.disposeTree(state);
    x.dispose();
    y.dispose();
    const engine = `geoconv-${backend}${backend === 'wasm' ? `-${be.variant ?? ''}` : ''}`;
    const heap = be.heapStats?.();
    const adapter =
      backend === 'webgpu'
        ? {
            adapter: be
              .describe()
              .replace(/^webgpu: /, '')
              .split(';')[0],
            software: be.software,
          }
        : {};
    const base = {
      engine,
      ...adapter,
      threads,
      batch,
      parameters: model.parameterCount(),
      peakHeapMiB: heap ? +(heap.peakBytes / 2 ** 20).toFixed(1) : null,
      rssMiB: +(process.memoryUsage().rss / 2 ** 20).toFixed(0),
    };
    rows.push({
      case: 'unet-64',
      pass: 'inference',
      ...base,
      medianMs: +median(inferMs).toFixed(2),
      imagesPerSecond: +(batch / (median(inferMs) / 1000)).toFixed(2),
    });
    rows.push({
      case: 'unet-64',
      pass: 'train-step',
      ...base,
      medianMs: +median(stepMs).toFixed(2),
      imagesPerSecond: +(batch / (median(stepMs) / 1000)).toFixed(2),
    });
    console.log(
      `${engine} ×${threads} batch ${batch}: inference ${median(inferMs).toFixed(1)} ms, train step ${median(stepMs).toFixed(1)} ms, peak heap ${base.peakHeapMiB} MiB, rss ${base.rssMiB} MiB`,
    );
  }
  model.dispose();
}

const file = new URL('./results/latest.json', import.meta.url);
mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
const previous = existsSync(file) ? JSON.parse(readFileSync(file, 'utf8')) : { machine: {}, results: [] };
previous.machine = { ...previous.machine, cpus: cpus().length, cpu: cpus()[0]?.model, memoryGiB: +(totalmem() / 2 ** 30).toFixed(1), node: process.version };
// Replace only the rows this run re-measured (same engine, threads, batch, pass), so runs per backend add up.
const id = (r) => `${r.case} ${r.engine} ${r.threads} ${r.batch} ${r.pass}`;
const fresh = new Set(rows.map(id));
previous.results = [...(previous.results ?? []).filter((r) => !fresh.has(id(r))), ...rows];
const unetRows = previous.results.filter((r) => String(r.case).startsWith('unet'));
writeFileSync(file, `${JSON.stringify(previous, null, 1)}\n`);

// The table in bench/README.md, between its UNET markers.
const readme = new URL('./README.md', import.meta.url);
const [begin, end] = ['<!-- UNET:BEGIN -->', '<!-- UNET:END -->'];
const text = readFileSync(readme, 'utf8');
if (text.includes(begin) && text.includes(end)) {
  const byKey = new Map(unetRows.map((r) => [`${r.engine} ${r.threads} ${r.batch} ${r.pass}`, r]));
  const lines = [
    `Measured ${new Date().toISOString().slice(0, 10)} (${cpus().length} cores, Node ${process.version}); UNet D = 2, 64×64, {(0,0):2, (1,0):2} → {(1,0):1}, depth 32, 2 downsamples, ${unetRows[0]?.parameters ?? '?'} parameters; medians after a warm-up. WebGPU rows on a software adapter (CPU emulation) are smoke figures, not GPU figures.`,
    ...unetRows
      .filter((r) => r.adapter && r.pass === 'inference' && r.batch === 1)
      .map((r) => `${r.engine}: ${r.adapter}${r.software ? ' — SOFTWARE adapter' : ''}.`),
    '',
    '| engine | threads | batch | inference ms | images/s | train step ms | images/s | peak wasm heap MiB |',
    '|---|---|---|---|---|---|---|---|',
    ...[...new Set(unetRows.map((r) => `${r.engine} ${r.threads} ${r.batch}`))].map((k) => {
      const inf = byKey.get(`${k} inference`);
      const tr = byKey.get(`${k} train-step`);
      return `| ${inf.engine} | ${inf.threads} | ${inf.batch} | ${inf.medianMs} | ${inf.imagesPerSecond} | ${tr.medianMs} | ${tr.imagesPerSecond} | ${tr.peakHeapMiB ?? '—'} |`;
    }),
  ];
  writeFileSync(readme, `${text.slice(0, text.indexOf(begin) + begin.length)}\n${lines.join('\n')}\n${text.slice(text.indexOf(end))}`);
}
console.log(`merged ${rows.length} rows into bench/results/latest.json`);
