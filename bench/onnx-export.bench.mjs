// The same model in geoconv (wasm, 1 and 2 threads) and as its ONNX export in onnxruntime-node
// (CPU EP, 1 and 2 intra-op threads) and onnxruntime-web (wasm EP in Node, 1 thread): inference
// latency, median of repeats (the engines take turns within each repeat), same process, same machine. Model: the UNet of bench/unet.bench.mjs
// (D = 2, 64×64 torus, {(0,0):2, (1,0):2} → {(1,0):1}, depth 32, 2 downsamples, 2 convs per level),
// equivariant and baseline. Every runtime's output is checked against geoconv's (max|Δ|/max|y|). The export is written
// twice, with factored filters (the default) and dense ones (size, ORT session creation, latency).
// Writes bench/results/onnx-export-latest.json. Not a test: timings never fail anything.
//
//   npm run build && node --experimental-wasm-relaxed-simd bench/onnx-export.bench.mjs [--quick] [--batches=1,8]
import { writeFileSync, mkdirSync } from 'node:fs';
import { cpus } from 'node:os';
import * as ort from 'onnxruntime-node';
import * as ortWeb from 'onnxruntime-web';
import * as g from '../dist/index.js';

const args = process.argv.slice(2);
const quick = args.includes('--quick');
const repeats = quick ? 3 : 9;
const batches = (args.find((a) => a.startsWith('--batches='))?.split('=')[1] ?? '1,8').split(',').map(Number);
const D = 2,
  N = 64;
const input = [
  { k: 0, parity: 0, channels: 2 },
  { k: 1, parity: 0, channels: 2 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

function relErr(a, b) {
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i] - b[i]));
    m = Math.max(m, Math.abs(b[i]));
  }
  return d / m;
}

function channelsFirst(data, shape) {
  const [B, C] = [shape[0], shape.at(-1)];
  const P = data.length / (B * C);
  const out = new Float32Array(data.length);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let c = 0; c < C; c++) out[(b * C + c) * P + p] = data[(b * P + p) * C + c];
  return out;
}

const rows = [];
for (const equivariant of [true, false]) {
  // Parameters drawn once (ref), then loaded into each runtime.
  g.setBackend('ref');
  const template = new g.UNet({ D, input, output, depth: 32, numDownsamples: 2, numConv: 2, equivariant }, g.random.key(1));
  const host = g.treeLeaves(template.params).map((t) => t.dataSync());
  const config = template.config;
  template.dispose();
  const build = () => {
    const m = g.buildModule(config, g.random.key(1));
    let i = 0;
    return { m, params: g.treeMap(m.params, (t) => g.tensor(host[i++], t.shape)) };
  };
  for (const batch of batches) {
    const shape = [batch, N, N, g.signatureWidth(g.signature(input), D)];
    const xData = Float32Array.from(
      g.random.normal(
        g.random.key(2),
        shape.reduce((a, b) => a * b),
      ),
    );
    const row = { model: `UNet ${equivariant ? 'equivariant' : 'baseline'}`, batch, ms: {}, relErr: {}, sessionMs: {} };
    let ref;
    let bytes;
    let denseBytes;
    const xFirst = channelsFirst(xData, shape);
    const dims = [batch, shape[3], N, N];
    for (const threads of [1, 2]) {
      await g.init({ backend: 'wasm', threads });
      const { m, params } = build();
      if (!bytes) {
        const t0 = performance.now();
        bytes = await g.exportOnnx(m, params, { spatial: [N, N], batch });
        row.exportMs = Math.round(performance.now() - t0);
        row.onnxBytes = bytes.length;
        // the same model with every filter as one dense initializer (exportOnnx's filters: 'dense')
        const t1 = performance.now();
        denseBytes = await g.exportOnnx(m, params, { spatial: [N, N], batch, filters: 'dense' });
        row.exportMsDense = Math.round(performance.now() - t1);
        row.onnxBytesDense = denseBytes.length;
      }
      const x = new g.MultiImage(g.tensor(xData, shape), input, D, true);
      // session creation includes ORT folding the factored filters' MatMul/Transpose/Concat once
      const opts = { intraOpNumThreads: threads, interOpNumThreads: 1 };
      let t2 = performance.now();
      const session = await ort.InferenceSession.create(bytes, opts);
      row.sessionMs[`onnxruntime-node ×${threads}`] = Math.round(performance.now() - t2);
      t2 = performance.now();
      const dense = threads === 1 ? await ort.InferenceSession.create(denseBytes, opts) : null;
      if (dense) row.sessionMs['onnxruntime-node ×1 dense filters'] = Math.round(performance.now() - t2);
      ortWeb.env.wasm.numThreads = 1;
      const web = threads === 1 ? await ortWeb.InferenceSession.create(bytes, { executionProviders: ['wasm'] }) : null;
      const out = {};
      // The engines take turns, repeat by repeat, so that load from elsewhere hits them alike.
      const runners = {
        [`geoconv wasm ×${threads}`]: async () => {
          const y = m.apply(params, x);
          out.geoconv = await y.data.data();
          y.dispose();
        },
        [`onnxruntime-node ×${threads}`]: async () => {
          out.node = (await session.run({ x: new ort.Tensor('float32', xFirst, dims) })).y.data;
        },
        ...(dense
          ? {
              'onnxruntime-node ×1 dense filters': async () => {
                out.dense = (await dense.run({ x: new ort.Tensor('float32', xFirst, dims) })).y.data;
              },
            }
          : {}),
        ...(web
          ? {
              'onnxruntime-web wasm ×1': async () => {
                out.web = (await web.run({ x: new ortWeb.Tensor('float32', xFirst, dims) })).y.data;
              },
            }
          : {}),
      };
      const ms = Object.fromEntries(Object.keys(runners).map((k) => [k, []]));
      for (const run of Object.values(runners)) await run(); // warm-up
      for (let r = 0; r < repeats; r++) {
        for (const [k, run] of Object.entries(runners)) {
          const t0 = performance.now();
          await run();
          ms[k].push(performance.now() - t0);
        }
      }
      for (const [k, v] of Object.entries(ms)) row.ms[k] = median(v);
      const first = channelsFirst(out.geoconv, [batch, N, N, out.geoconv.length / (batch * N * N)]);
      if (ref) row.relErr[`geoconv wasm ×${threads}`] = relErr(first, ref);
      ref ??= first;
      row.relErr[`onnxruntime-node ×${threads}`] = relErr(out.node, ref);
      if (out.web) row.relErr['onnxruntime-web wasm ×1'] = relErr(out.web, ref);
      if (out.dense) row.relErr['onnxruntime-node ×1 dense filters'] = relErr(out.dense, ref);
      await session.release();
      await dense?.release();
      await web?.release();
      x.dispose();
      m.dispose();
      g.treeLeaves(params).forEach((t) => t.dispose());
    }
    for (const k of Object.keys(row.ms)) row.ms[k] = Number(row.ms[k].toFixed(2));
    row.ratio = {
      'geoconv wasm ×1 / onnxruntime-node ×1': Number((row.ms['geoconv wasm ×1'] / row.ms['onnxruntime-node ×1']).toFixed(2)),
      'geoconv wasm ×2 / onnxruntime-node ×2': Number((row.ms['geoconv wasm ×2'] / row.ms['onnxruntime-node ×2']).toFixed(2)),
      'geoconv wasm ×1 / onnxruntime-web ×1': Number((row.ms['geoconv wasm ×1'] / row.ms['onnxruntime-web wasm ×1']).toFixed(2)),
    };
    rows.push(row);
    console.log(JSON.stringify(row));
  }
}

mkdirSync(new URL('./results/', import.meta.url), { recursive: true });
writeFileSync(
  new URL('./results/onnx-export-latest.json', import.meta.url),
  JSON.stringify(
    {
      date: new Date().toISOString(),
      node: process.version,
      cpu: cpus()[0]?.model,
      cores: cpus().length,
      onnxruntime: { node: ort.env.versions?.node ?? 'unknown', web: ortWeb.env.versions?.web ?? 'unknown' },
      geoconv: g.version,
      repeats,
      rows,
    },
    null,
    2,
  ) + '\n',
);
console.log('wrote bench/results/onnx-export-latest.json');
