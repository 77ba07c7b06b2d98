#!/usr/bin/env node
/**
 * What the pruned gradient tape saves on a UNet training step (wasm): kernel calls per primitive
 * (deterministic), peak live tensor bytes during the step, and the step's median time — for two
 * builds of the package side by side in one process (each with its own wasm instance and thread
 * pool), so that "before" and "after" share the machine's load. The builds must train the same
 * model from the same seed; the updated parameters of both are compared, and a difference larger
 * than float32 noise stops the run.
 *
 *   node --experimental-wasm-relaxed-simd bench/tape.bench.mjs --dist=before:/path/dist/index.js,after:../dist/index.js
 *        [--threads=1,2] [--batches=1,8] [--repeats=5] [--depth=32] [--json=bench/results/tape.json]
 *
 * A build of another commit, for the comparison: `git archive <commit> | tar -x -C /tmp/old &&
 * ln -s "$PWD/node_modules" /tmp/old/ && (cd /tmp/old && npm run build)`, then pass
 * `--dist=before:/tmp/old/dist/index.js,after:dist/index.js`.
 *
 * Model: unet.bench.mjs's (D = 2, 64×64, {(0,0):2, (1,0):2} → {(1,0):1}, 2 downsamples, Adam).
 * Counts and the memory peak come from wrappers around each build's kernel table: every kernel call
 * is counted (binary and unary also per operation) and `memory().bytes` is read right after it (an
 * op's output is allocated just before its kernel runs, so this sees every op's allocation).
 * "Peak above start" is that maximum minus the live bytes before the step (parameters, optimizer
 * state, inputs). Steps are timed round-robin over the builds, after one warm-up step each.
 */
import { mkdirSync, writeFileSync } from 'node:fs';
import { cpus } from 'node:os';
import { pathToFileURL } from 'node:url';
import { resolve } from 'node:path';

const args = process.argv.slice(2);
const arg = (name, dflt) =>
  args
    .find((a) => a.startsWith(`--${name}=`))
    ?.split('=')
    .slice(1)
    .join('=') ?? dflt;
const dists = arg('dist', 'current:dist/index.js')
  .split(',')
  .map((s) => {
    const i = s.indexOf(':');
    return { label: s.slice(0, i), path: resolve(s.slice(i + 1)) };
  });
const threadsList = arg('threads', '1,2').split(',').map(Number);
const batches = arg('batches', '1,8').split(',').map(Number);
const repeats = Number(arg('repeats', '5'));
const depth = Number(arg('depth', '32'));
const jsonOut = arg('json', null);

const D = 2,
  N = 64;
const input = [
  { k: 0, parity: 0, channels: 2 },
  { k: 1, parity: 0, channels: 2 },
];
const output = [{ k: 1, parity: 0, channels: 1 }];
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const builds = [];
for (const d of dists) builds.push({ ...d, g: await import(pathToFileURL(d.path).href) });

/** Wraps the current backend's kernels once: counts and the live-bytes peak go to `meter`. */
function instrument(b) {
  const be = b.g.getBackend('wasm');
  if (b.wrapped === be) return;
  b.wrapped = be;
  for (const [name, kernel] of Object.entries(be.kernels)) {
    be.kernels[name] = (...a) => {
      const r = kernel(...a);
      const m = b.meter;
      if (m) {
        m.calls[name] = (m.calls[name] ?? 0) + 1;
        if (name === 'binary' || name === 'unary') m.ops[`${name} ${a[2].op}`] = (m.ops[`${name} ${a[2].op}`] ?? 0) + 1;
        m.peak = Math.max(m.peak, b.g.memory().bytes);
      }
      return r;
    };
  }
}

function setup(b, batch) {
  const g = b.g;
  const image = (sig, seed) => {
    const W = g.signatureWidth(sig, D);
    return new g.MultiImage(g.tensor(g.random.normal(g.random.key(seed), batch * N * N * W), [batch, N, N, W]), sig, D, true);
  };
  const model = new g.UNet({ D, input, output, depth, numDownsamples: 2, numConv: 2 }, g.random.key(1));
  const optimizer = g.optim.adam({ learningRate: 1e-3 });
  const params = g.copyTree(model.params);
  return { model, step: g.makeTrainStep(model, optimizer), x: image(input, 2), y: image(output, 3), params, state: optimizer.init(params) };
}

/** One training step; the new parameters and state replace the old. */
function trainStep(b, s) {
  const res = s.step(s.params, s.state, s.x, s.y);
  res.loss.dataSync();
  res.loss.dispose();
  b.g.disposeTree(s.params);
  b.g.disposeTree(s.state);
  s.params = res.params;
  s.state = res.optState;
}

const rows = [];
for (const threads of threadsList) {
  for (const b of builds) {
    await b.g.init({ backend: 'wasm', threads });
    instrument(b);
  }
  for (const batch of batches) {
    const runs = builds.map((b) => ({ b, s: setup(b, batch), ms: [] }));
    for (const { b, s } of runs) {
      trainStep(b, s); // warm-up: index maps, device caches
      const before = b.g.memory().bytes;
      b.meter = { calls: {}, ops: {}, peak: before };
      trainStep(b, s);
      runs.find((r) => r.b === b).meter = { ...b.meter, start: before };
      b.meter = null;
    }
    // Both builds took the same two steps from the same start: their parameters must agree.
    const leaves = runs.map(({ b, s }) => b.g.treeLeaves(s.params).map((t) => t.dataSync()));
    let maxDiff = 0,
      maxAbs = 0;
    for (let r = 1; r < runs.length; r++) {
      leaves[r].forEach((a, i) =>
        a.forEach((v, j) => {
          maxDiff = Math.max(maxDiff, Math.abs(v - leaves[0][i][j]));
          maxAbs = Math.max(maxAbs, Math.abs(leaves[0][i][j]));
        }),
      );
    }
    if (!(maxDiff <= 1e-5 * Math.max(1, maxAbs))) throw new Error(`builds disagree after two steps: max |Δparam| = ${maxDiff}`);
    for (let r = 0; r < repeats; r++) {
      for (const run of r % 2 ? [...runs].reverse() : runs) {
        const t0 = performance.now();
        trainStep(run.b, run.s);
        run.ms.push(performance.now() - t0);
      }
    }
    for (const { b, s, ms, meter } of runs) {
      const total = Object.values(meter.calls).reduce((p, c) => p + c, 0);
      const row = {
        case: 'unet-64-train-step',
        build: b.label,
        threads,
        batch,
        depth,
        repeats,
        medianMs: +median(ms).toFixed(1),
        minMs: +Math.min(...ms).toFixed(1),
        maxMs: +Math.max(...ms).toFixed(1),
        kernelCalls: total,
        calls: meter.calls,
        ops: meter.ops,
        liveBytesAtStart: meter.start,
        peakLiveBytes: meter.peak,
        peakAboveStartBytes: meter.peak - meter.start,
        maxParamDiffVsFirstBuild: maxDiff,
      };
      rows.push(row);
      console.log(
        `${b.label.padEnd(8)} ${threads}t batch ${batch}: step ${row.medianMs} ms (${row.minMs}–${row.maxMs}), ${total} kernel calls, ` +
          `peak live ${(row.peakLiveBytes / 2 ** 20).toFixed(1)} MiB (${(row.peakAboveStartBytes / 2 ** 20).toFixed(1)} above start), ` +
          `matmul ${meter.calls.matmul ?? 0}, reduce ${meter.calls.reduce ?? 0}, conv ${meter.calls.conv ?? 0}/${meter.calls.convInputGrad ?? 0}/${meter.calls.convFilterGrad ?? 0}`,
      );
      s.model.dispose();
      s.x.dispose();
      s.y.dispose();
      b.g.disposeTree(s.params);
      b.g.disposeTree(s.state);
    }
  }
}

// Per-primitive table (one build per column) for the first threads/batch configuration.
const first = rows.filter((r) => r.threads === threadsList[0] && r.batch === batches[0]);
const names = [...new Set(first.flatMap((r) => Object.keys(r.calls)))].sort();
console.log(`\nkernel calls per training step (${threadsList[0]} thread(s), batch ${batches[0]}):`);
console.log(`  ${'primitive'.padEnd(16)}${first.map((r) => r.build.padStart(9)).join('')}`);
for (const n of names) console.log(`  ${n.padEnd(16)}${first.map((r) => String(r.calls[n] ?? 0).padStart(9)).join('')}`);
const opNames = [...new Set(first.flatMap((r) => Object.keys(r.ops)))].sort();
for (const n of opNames) console.log(`  ${n.padEnd(16)}${first.map((r) => String(r.ops[n] ?? 0).padStart(9)).join('')}`);

if (jsonOut) {
  mkdirSync(resolve(jsonOut, '..'), { recursive: true });
  writeFileSync(
    jsonOut,
    `${JSON.stringify({ machine: { cpus: cpus().length, cpu: cpus()[0]?.model, node: process.version, date: new Date().toISOString() }, results: rows }, null, 1)}\n`,
  );
  console.log(`wrote ${jsonOut}`);
}
process.exit(0);
