#!/usr/bin/env node
/**
 * Speed of the built-in Navier–Stokes simulator (not a test; never fails on a timing). Run after
 * `npm run build`:  node bench/sim.bench.mjs [--rounds N] [--no-write]
 *
 * - solver steps per second (one integrating-factor RK4 step = 4 evaluations of the advection term,
 *   12 truncated 2-D FFTs) at 32², 64², 128² (and 96², a size that is not a power of two, through
 *   Bluestein), on a developed flow: the median over `rounds` batches of ~300 ms each;
 * - the main job's data: simulateNavierStokes with the defaults, 64 trajectories × 20 frames at 32²
 *   and 64² (median of 3 runs).
 * Wall time and this process's CPU time (process.cpuUsage) are both recorded: on a shared machine
 * the CPU time is the better measure of the work. Writes bench/results/sim-latest.json and prints
 * one JSON line per case.
 */
import { writeFileSync, mkdirSync, readFileSync } from 'node:fs';
import { cpus, loadavg } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { NavierStokesSolver, simulateNavierStokes, random } from '../dist/index.js';

const args = process.argv.slice(2);
const rounds = Number(args[args.indexOf('--rounds') + 1] || 0) || 7;
const write = !args.includes('--no-write');
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];

const results = [];
const load0 = loadavg();

for (const N of [32, 64, 96, 128]) {
  const solver = new NavierStokesSolver({ N });
  // a developed state: the default flow after 2 time units
  const w = solver.advance(solver.randomVorticity(random.key(1)), Math.round(2 / solver.dt));
  let steps = 1;
  for (;;) {
    const t0 = performance.now();
    solver.advance(w, steps);
    if (performance.now() - t0 > 300) break;
    steps *= 2;
  }
  const per = [];
  const cpu = [];
  for (let r = 0; r < rounds; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    solver.advance(w, steps);
    per.push((performance.now() - t0) / steps);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000 / steps);
  }
  const ms = median(per);
  const cpuMs = median(cpu);
  const row = {
    case: `solver-step-${N}`,
    N,
    msPerStep: +ms.toFixed(4),
    stepsPerSecond: +(1000 / ms).toFixed(1),
    cpuMsPerStep: +cpuMs.toFixed(4),
    stepsPerCpuSecond: +(1000 / cpuMs).toFixed(1),
    stepsPerRound: steps,
    rounds,
  };
  results.push(row);
  console.log(JSON.stringify(row));
}

for (const N of [32, 64]) {
  const runs = [];
  const cpu = [];
  let attrs;
  for (let r = 0; r < 3; r++) {
    const c0 = process.cpuUsage();
    const t0 = performance.now();
    const out = simulateNavierStokes({ N, trajectories: 64, steps: 20, seed: r });
    runs.push(performance.now() - t0);
    const c = process.cpuUsage(c0);
    cpu.push((c.user + c.system) / 1000);
    attrs = out.attrs;
  }
  const row = {
    case: `main-job-data-${N}`,
    N,
    trajectories: 64,
    frames: 20,
    dt: attrs.dt,
    saveEvery: attrs.saveEvery,
    solverSteps: 64 * 19 * attrs.saveEvery,
    seconds: +(median(runs) / 1000).toFixed(3),
    cpuSeconds: +(median(cpu) / 1000).toFixed(3),
  };
  results.push(row);
  console.log(JSON.stringify(row));
}

if (write) {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..');
  const pkg = JSON.parse(readFileSync(join(root, 'package.json'), 'utf8'));
  mkdirSync(join(root, 'bench', 'results'), { recursive: true });
  const machine = {
    cpu: cpus()[0]?.model,
    cores: cpus().length,
    node: process.version,
    loadAverageStart: load0.map((v) => +v.toFixed(2)),
    loadAverageEnd: loadavg().map((v) => +v.toFixed(2)),
  };
  writeFileSync(
    join(root, 'bench', 'results', 'sim-latest.json'),
    JSON.stringify({ date: new Date().toISOString(), version: pkg.version, machine, results }, null, 2) + '\n',
  );
}
