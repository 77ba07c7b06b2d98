#!/usr/bin/env node
/**
 * Where a UNet's time goes on the wasm backend: wall time of each primitive's kernel (binary and
 * unary split by operation), summed over one inference or one Adam training step, and the time
 * spent outside kernels (JS: shape checks, index maps, autodiff bookkeeping). Not a benchmark of
 * record (bench/unet.bench.mjs is); a tool for deciding what to optimise next.
 *
 *   node --experimental-wasm-relaxed-simd bench/profile.mjs [--train] [--batch 8] [--threads 1] [--depth 32]
 *
 * The model is unet.bench.mjs's (D = 2, 64×64, {(0,0):2, (1,0):2} → {(1,0):1}, 2 downsamples).
 * Kernels are wrapped on the backend object; the figures are per run, averaged over 2 runs after a warm-up.
 */
import * as g from '../dist/index.js';

const args = process.argv.slice(2);
const opt = (name, dflt) => {
  const i = args.indexOf(name);
  return i >= 0 ? Number(args[i + 1]) : dflt;
};
const train = args.includes('--train');
const B = opt('--batch', 1);
const threads = opt('--threads', 1);
const depth = opt('--depth', 32);

await g.init({ backend: 'wasm', threads });
const be = g.getBackend('wasm');
const stats = new Map();
for (const [name, kernel] of Object.entries(be.kernels)) {
  be.kernels[name] = (...a) => {
    const t0 = performance.now();
    const r = kernel(...a);
    const key = name === 'binary' || name === 'unary' ? `${name} ${a[2].op}` : name;
    const s = stats.get(key) ?? { calls: 0, ms: 0 };
    s.calls++;
    s.ms += performance.now() - t0;
    stats.set(key, s);
    return r;
  };
}

const D = 2,
  N = 64;
const input = [
  { k: 0, parity: 0, channels: 2 },
  { k: 1, parity: 0, channels: 2 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];
const image = (sig, seed) => {
  const W = g.signatureWidth(sig, D);
  return new g.MultiImage(g.tensor(g.random.normal(g.random.key(seed), B * N * N * W), [B, N, N, W]), sig, D, true);
};
const x = image(input, 2);
const y = image(output, 3);
const model = new g.UNet({ D, input, output, depth, numDownsamples: 2, numConv: 2 }, g.random.key(1));
const optimizer = g.adam({ learningRate: 1e-3 });
const step = g.makeTrainStep(model, optimizer);
let params = g.copyTree(model.params);
let state = optimizer.init(params);

const RUNS = 2;
let total = 0;
for (let r = 0; r <= RUNS; r++) {
  if (r === 1) stats.clear();
  const t0 = performance.now();
  if (train) {
    const res = step(params, state, x, y);
    res.loss.dataSync();
    res.loss.dispose();
    g.disposeTree(params);
    g.disposeTree(state);
    params = res.params;
    state = res.optState;
  } else {
    const out = model.call(x);
    out.data.dataSync();
    out.dispose();
  }
  if (r > 0) total += performance.now() - t0;
}
const rows = [...stats].sort((a, b) => b[1].ms - a[1].ms);
const kernels = rows.reduce((s, [, v]) => s + v.ms, 0);
console.log(
  `${train ? 'training step' : 'inference'}, batch ${B}, ${threads} thread(s), depth ${depth}: ${(total / RUNS).toFixed(1)} ms; ` +
    `kernels ${(kernels / RUNS).toFixed(1)} ms, outside kernels ${((total - kernels) / RUNS).toFixed(1)} ms`,
);
for (const [name, v] of rows) {
  console.log(
    `  ${name.padEnd(22)} ${(v.ms / RUNS).toFixed(1).padStart(9)} ms ${((100 * v.ms) / total).toFixed(1).padStart(6)} % ${String(v.calls / RUNS).padStart(6)} calls`,
  );
}
