#!/usr/bin/env node
/**
 * WebGPU conv benchmark (not a test; never fails on a timing): the forward convolution and its two
 * backward convolutions (input gradient, filter gradient) on the reference layer shapes of
 * /work/shared/reference/peers.md §A.1, periodic (torus) "same" padding, float32:
 *   S1 1×64²×48→48, 3×3 · S2 batch 8 of S1 · S3 1×128²×96→96, 5×5 · S4 1×32³×12→12, 3×3×3
 * FLOPs = 2·MACs, MACs = B · output pixels · taps · Cin · Cout (the same for all three ops).
 *
 * Run: `npm run bench:gpu` (builds first), or
 * `node bench/gpu.bench.mjs [--quick | --full] [--repeats N] [--cases S1,S4]` after `npm run build`. `--quick` (the default): 1 warm-up + 3 timed runs per op; `--full`: 3 + 10.
 * Each timed run = the op dispatched, then `backend.sync()` (submit + onSubmittedWorkDone); the
 * inputs stay on the GPU, nothing is read back. Median of the timed runs.
 *
 * Correctness first: a small case (batch 2, 9×8, 5→7, stride 2 on one axis, partial torus) of all
 * three ops against the ref backend (float64), then, for every benchmarked case, 24 sampled output
 * elements of each op against a float64 evaluation on the host (convSource semantics). `pass` in
 * the results = both checks within 1e-4 relative (float32 sums of at most 2400 (forward, input
 * gradient) or 131072 (filter gradient) products; measured errors are ~1e-6).
 *
 * Node: the `webgpu` package (Dawn), started by bench/webgpu-init.mjs: Dawn's default backend (Vulkan
 * where there is a GPU driver), else OpenGL (EGL_PLATFORM=surfaceless: Mesa llvmpipe). On such a SOFTWARE
 * adapter (llvmpipe, lavapipe, SwiftShader) the figures are CPU-emulation figures, not GPU figures:
 * the file says so in `note`.
 *
 * Peer: onnxruntime-web's WebGPU execution provider on the same forward convolutions, same Dawn
 * backend, GPU-resident input and output (bench/ort-webgpu.mjs), checked on the same sampled elements.
 *
 * Writes bench/results/gpu-latest.json:
 *   { machine: {...adapter...}, note, method, peers, ratios: { 'S1 conv': geoconv / onnxruntime-web, ... },
 *     results: [{ case, op, pass, engine: 'geoconv-webgpu' | 'onnxruntime-web-webgpu', medianMs, gflops, ... }] }
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus, platform, arch } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadOrtWebgpu, ortWebgpuConv } from './ort-webgpu.mjs';
import { initWebgpu } from './webgpu-init.mjs';

const args = process.argv.slice(2);
const full = args.includes('--full');
const repIdx = args.indexOf('--repeats');
const casesIdx = args.indexOf('--cases');
const only = casesIdx >= 0 ? new Set(args[casesIdx + 1].split(',')) : null;
const WARMUP = full ? 3 : 1;
const REPEATS = repIdx >= 0 ? Math.max(1, Number(args[repIdx + 1])) : full ? 10 : 3;
const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const outFile = join(root, 'bench', 'results', 'gpu-latest.json');

const gc = await import('../dist/index.js');
const gpu = await initWebgpu(gc);
const ctx = gpu.context;
console.error(`bench: ${gpu.describe()}`);

// ---------------------------------------------------------------------------------------------
// Host float64 reference for sampled elements (the convSource semantics of src/ops/conv.ts).
function convSource(o, a, n, s, lo, torus, r, l) {
  const p = o * s + a * r - lo;
  if (torus) return ((p % n) + n) % n;
  if (p < 0 || p % l !== 0) return -1;
  const i = p / l;
  return i < n ? i : -1;
}

function geometry(xs, attrs) {
  const D = attrs.kernel.length;
  const spatial = xs.slice(1, 1 + D);
  const out = spatial.map(
    (n, d) =>
      Math.floor(
        ((n - 1) * attrs.lhsDilation[d] + 1 + attrs.padding[d][0] + attrs.padding[d][1] - (attrs.kernel[d] - 1) * attrs.rhsDilation[d] - 1) / attrs.stride[d],
      ) + 1,
  );
  const prod = (v) => v.reduce((p, n) => p * n, 1);
  return { D, spatial, out, nIn: prod(spatial), nOut: prod(out), taps: prod(attrs.kernel) };
}

const unravel = (i, shape) => {
  const c = new Array(shape.length);
  for (let d = shape.length - 1; d >= 0; d--) {
    c[d] = i % shape[d];
    i = Math.floor(i / shape[d]);
  }
  return c;
};
const ravel = (c, shape) => c.reduce((p, v, d) => p * shape[d] + v, 0);

/** Input pixel (flat) read by output pixel o (flat) through tap t (flat), or -1. */
function source(g, attrs, o, t) {
  const oc = unravel(o, g.out);
  const tc = unravel(t, attrs.kernel);
  const ic = [];
  for (let d = 0; d < g.D; d++) {
    const s = convSource(oc[d], tc[d], g.spatial[d], attrs.stride[d], attrs.padding[d][0], attrs.torus[d], attrs.rhsDilation[d], attrs.lhsDilation[d]);
    if (s < 0) return -1;
    ic.push(s);
  }
  return ravel(ic, g.spatial);
}

/** Sampled float64 values: { conv: [[index, value]], convInputGrad: …, convFilterGrad: … }. */
function sampled(B, g, attrs, cin, cout, x, w, dy, count, seed) {
  let s = seed;
  const rnd = (n) => {
    s = (s * 1103515245 + 12345) % 2 ** 31;
    return s % n;
  };
  const res = { conv: [], convInputGrad: [], convFilterGrad: [] };
  for (let k = 0; k < count; k++) {
    {
      // y[b, o, co]
      const b = rnd(B);
      const o = rnd(g.nOut);
      const co = rnd(cout);
      let acc = 0;
      for (let t = 0; t < g.taps; t++) {
        const i = source(g, attrs, o, t);
        if (i < 0) continue;
        for (let ci = 0; ci < cin; ci++) acc += x[(b * g.nIn + i) * cin + ci] * w[(t * cin + ci) * cout + co];
      }
      res.conv.push([(b * g.nOut + o) * cout + co, acc]);
    }
    {
      // dx[b, i, ci] = Σ over (o, t) reaching i
      const b = rnd(B);
      const i = rnd(g.nIn);
      const ci = rnd(cin);
      let acc = 0;
      for (let o = 0; o < g.nOut; o++) {
        for (let t = 0; t < g.taps; t++) {
          if (source(g, attrs, o, t) !== i) continue;
          for (let co = 0; co < cout; co++) acc += dy[(b * g.nOut + o) * cout + co] * w[(t * cin + ci) * cout + co];
        }
      }
      res.convInputGrad.push([(b * g.nIn + i) * cin + ci, acc]);
    }
    {
      // dw[t, ci, co]
      const t = rnd(g.taps);
      const ci = rnd(cin);
      const co = rnd(cout);
      let acc = 0;
      for (let b = 0; b < B; b++) {
        for (let o = 0; o < g.nOut; o++) {
          const i = source(g, attrs, o, t);
          if (i >= 0) acc += x[(b * g.nIn + i) * cin + ci] * dy[(b * g.nOut + o) * cout + co];
        }
      }
      res.convFilterGrad.push([(t * cin + ci) * cout + co, acc]);
    }
  }
  return res;
}

const relErr = (got, want) => {
  let num = 0;
  let den = 1e-30;
  for (let i = 0; i < want.length; i++) {
    num = Math.max(num, Math.abs(got[i] - want[i]));
    den = Math.max(den, Math.abs(want[i]));
  }
  return num / den;
};
const TOL = 1e-4;

// ---------------------------------------------------------------------------------------------
const { key, normal } = gc.random;
const OPS = ['conv', 'convInputGrad', 'convFilterGrad'];

function runOp(op, T, attrs, xs) {
  if (op === 'conv') return gc.conv(T.x, T.w, attrs);
  if (op === 'convInputGrad') return gc.convInputGrad(T.dy, T.w, attrs, xs);
  return gc.convFilterGrad(T.x, T.dy, attrs);
}

function inputs(xs, attrs, cout, seed) {
  const g = geometry(xs, attrs);
  const cin = xs.at(-1);
  const ys = [xs[0], ...g.out, cout];
  const size = (s) => s.reduce((p, n) => p * n, 1);
  return {
    g,
    ys,
    x: normal(key(seed), size(xs)),
    w: normal(key(seed + 1), g.taps * cin * cout, 0, 1 / Math.sqrt(g.taps * cin)),
    dy: normal(key(seed + 2), size(ys)),
  };
}

/** Median wall time (ms) of `call` (which waits for the GPU) over REPEATS runs after WARMUP runs. */
async function medianTime(call) {
  for (let i = 0; i < WARMUP; i++) await call();
  const times = [];
  for (let i = 0; i < REPEATS; i++) {
    const t0 = performance.now();
    await call();
    times.push(performance.now() - t0);
  }
  times.sort((a, b) => a - b);
  return times[Math.floor(times.length / 2)];
}

/** The peer, loaded on first use after geoconv's own runs; `error` says why it did not run. */
const peer = { ort: null, error: null };
async function ortWebgpu() {
  if (!peer.ort && !peer.error) {
    try {
      peer.ort = await loadOrtWebgpu(root);
    } catch (e) {
      peer.error = `did not load: ${e instanceof Error ? e.message : String(e)}`;
    }
  }
  return peer.ort;
}

/** onnxruntime-web (WebGPU EP) on a case's forward convolution, checked on the sampled elements. */
async function peerRow(c, d, macs, samples) {
  const ort = await ortWebgpu();
  if (!ort) return null;
  let conv;
  try {
    conv = await ortWebgpuConv(ort, { xs: c.xs, x: d.x, w: d.w, cout: c.cout, k: c.k });
    const y = await conv.output();
    const nOut = d.g.nOut;
    // channels-last sample index (b·nOut + o)·Cout + co → NCHW (b·Cout + co)·nOut + o
    const got = samples.map(([i]) => {
      const co = i % c.cout;
      const bo = (i - co) / c.cout;
      const o = bo % nOut;
      return y[(((bo - o) / nOut) * c.cout + co) * nOut + o];
    });
    const sampleErr = relErr(
      got,
      samples.map(([, v]) => v),
    );
    const medianMs = await medianTime(() => conv.run());
    return {
      case: `${c.name} conv`,
      op: 'conv',
      pass: y.every(Number.isFinite) && sampleErr <= TOL,
      engine: 'onnxruntime-web-webgpu',
      medianMs: +medianMs.toFixed(3),
      gflops: +((2 * macs) / medianMs / 1e6).toFixed(3),
      repeats: REPEATS,
      sampleRelErr: +sampleErr.toExponential(2),
    };
  } catch (e) {
    const msg = e instanceof Error ? e.message : String(e);
    console.error(`bench: onnxruntime-web (webgpu) failed on ${c.name}: ${msg}`);
    return { case: `${c.name} conv`, op: 'conv', engine: 'onnxruntime-web-webgpu', error: msg.split('\n')[0] };
  } finally {
    await conv?.dispose();
  }
}

// 1. The small case on webgpu against ref (float64) for all three ops.
const small = (() => {
  const xs = [2, 9, 8, 5];
  const attrs = gc.convAttrs(2, 3, { padding: 1, torus: [true, false], stride: [1, 2] });
  const d = inputs(xs, attrs, 7, 11);
  const errs = {};
  for (const op of OPS) {
    const outs = {};
    for (const b of ['ref', 'webgpu']) {
      gc.setBackend(b);
      const T = { x: gc.tensor(d.x, xs), w: gc.tensor(d.w, [9, 5, 7]), dy: gc.tensor(d.dy, d.ys) };
      outs[b] = runOp(op, T, attrs, xs);
      for (const t of Object.values(T)) t.dispose();
    }
    errs[op] = { want: outs.ref, got: outs.webgpu };
  }
  return { xs, errs };
})();
const smallErr = {};
for (const op of OPS) {
  const want = await small.errs[op].want.data();
  const got = await small.errs[op].got.data();
  small.errs[op].want.dispose();
  small.errs[op].got.dispose();
  smallErr[op] = relErr(got, want);
}
console.error(`bench: small case vs ref, max relative error: ${OPS.map((op) => `${op} ${smallErr[op].toExponential(2)}`).join(', ')}`);

// 2. The benchmark cases.
const CASES = [
  { name: 'S1', xs: [1, 64, 64, 48], cout: 48, k: 3, D: 2 },
  { name: 'S2', xs: [8, 64, 64, 48], cout: 48, k: 3, D: 2 },
  { name: 'S3', xs: [1, 128, 128, 96], cout: 96, k: 5, D: 2 },
  { name: 'S4', xs: [1, 32, 32, 32, 12], cout: 12, k: 3, D: 3 },
];

const results = [];
for (const [ci, c] of CASES.entries()) {
  if (only && !only.has(c.name)) continue;
  gc.setBackend('webgpu');
  const attrs = gc.convAttrs(c.D, c.k, { padding: (c.k - 1) / 2, torus: true });
  const d = inputs(c.xs, attrs, c.cout, 100 + 3 * ci);
  const cin = c.xs.at(-1);
  const macs = c.xs[0] * d.g.nOut * d.g.taps * cin * c.cout;
  const T = { x: gc.tensor(d.x, c.xs), w: gc.tensor(d.w, [d.g.taps, cin, c.cout]), dy: gc.tensor(d.dy, d.ys) };
  const samples = sampled(c.xs[0], d.g, attrs, cin, c.cout, d.x, d.w, d.dy, 24, 7 + ci);
  for (const op of OPS) {
    // check: sampled elements of this very case
    const y = runOp(op, T, attrs, c.xs);
    const data = await y.data();
    y.dispose();
    const want = samples[op].map(([, v]) => v);
    const got = samples[op].map(([i]) => data[i]);
    const finite = data.every(Number.isFinite);
    const sampleErr = relErr(got, want);
    const pass = finite && sampleErr <= TOL && smallErr[op] <= TOL;
    const medianMs = await medianTime(async () => {
      const out = runOp(op, T, attrs, c.xs);
      await gpu.sync();
      out.dispose();
    });
    const r = {
      case: `${c.name} ${op}`,
      op,
      shape: `${c.xs.join('×')}→${c.cout}, ${c.k}^${c.D} taps, periodic`,
      pass,
      engine: 'geoconv-webgpu',
      medianMs: +medianMs.toFixed(3),
      gflops: +((2 * macs) / medianMs / 1e6).toFixed(3),
      repeats: REPEATS,
      sampleRelErr: +sampleErr.toExponential(2),
      smallCaseRelErr: +smallErr[op].toExponential(2),
    };
    results.push(r);
    console.error(`bench: ${r.case}: ${r.medianMs} ms, ${r.gflops} GFLOP/s, pass ${r.pass} (sampled rel. err ${r.sampleRelErr})`);
  }
  for (const t of Object.values(T)) t.dispose();
  const p = await peerRow(c, d, macs, samples.conv);
  if (p) {
    results.push(p);
    if (p.gflops) console.error(`bench: ${p.case} onnxruntime-web-webgpu: ${p.medianMs} ms, ${p.gflops} GFLOP/s, pass ${p.pass}`);
  }
}

/** geoconv-webgpu / onnxruntime-web-webgpu speed on each forward convolution both ran and passed. */
function ratios(rows) {
  const out = {};
  for (const r of rows.filter((x) => x.engine === 'onnxruntime-web-webgpu' && x.pass)) {
    const ours = rows.find((x) => x.engine === 'geoconv-webgpu' && x.case === r.case && x.pass);
    if (ours) out[r.case] = +(ours.gflops / r.gflops).toFixed(3);
  }
  return out;
}

const software = gpu.software === true;
const info = ctx.adapterInfo;
const report = {
  machine: {
    adapter: { ...info, software, featureLevel: ctx.featureLevel, source: ctx.source, description: gpu.describe() },
    limits: {
      maxComputeInvocationsPerWorkgroup: ctx.limits.maxComputeInvocationsPerWorkgroup,
      maxStorageBuffersPerShaderStage: ctx.limits.maxStorageBuffersPerShaderStage,
      maxComputeWorkgroupStorageSize: ctx.limits.maxComputeWorkgroupStorageSize,
      maxStorageBufferBindingSize: ctx.limits.maxStorageBufferBindingSize,
    },
    host: { platform: platform(), arch: arch(), cpus: cpus().length, cpu: cpus()[0]?.model ?? '', node: process.version },
    env: { WEBGPU_BACKEND: process.env.WEBGPU_BACKEND ?? null, EGL_PLATFORM: process.env.EGL_PLATFORM ?? null },
  },
  note: software
    ? 'SOFTWARE ADAPTER: WebGPU emulated on the CPU (e.g. Mesa llvmpipe). These figures are NOT GPU figures; they only show ' +
      'that the kernels run and are correct. CPU WebGPU is 10-100x slower than the wasm backend. Measure on a real GPU.'
    : 'Hardware adapter.',
  method:
    `median of ${REPEATS} timed runs after ${WARMUP} warm-up per op (${full ? '--full' : '--quick'}); each run = dispatch + ` +
    'onSubmittedWorkDone, inputs resident on the GPU, no readback; FLOPs = 2·MACs, MACs = B·output pixels·taps·Cin·Cout',
  peers: {
    'onnxruntime-web-webgpu':
      peer.error ??
      'onnxruntime-web ' +
        (peer.ort?.env.versions.web ?? '?') +
        ', WebGPU execution provider, same Dawn backend, ' +
        'Pad(wrap) + Conv in NCHW, input and output GPU-resident (bench/ort-webgpu.mjs); forward convolution only',
  },
  ratios: ratios(results),
  date: new Date().toISOString(),
  results,
};
mkdirSync(dirname(outFile), { recursive: true });
writeFileSync(outFile, `${JSON.stringify(report, null, 2)}\n`);
console.log(
  JSON.stringify({
    wrote: 'bench/results/gpu-latest.json',
    software,
    ratios: report.ratios,
    results: results.map(({ case: c, engine, pass, medianMs, gflops, error }) => ({ case: c, engine, pass, medianMs, gflops, error })),
  }),
);
gpu.destroy?.();
process.exit(0);
