import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { init, loadCheckpoint, memory } from '../../src/index.js';
import { runBenchmark, runEmulation, type EmulateOptions } from '../../src/emulate.js';
import { main } from '../../src/cli.js';

const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'geoconv-emulate-'));
  dirs.push(d);
  return d;
};
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const tiny: EmulateOptions = {
  data: { kind: 'navier-stokes', simulation: { N: 16, trajectories: 6, steps: 8 } },
  model: 'unet', epochs: 2, seed: 1, batchSize: 4, depth: 2, learningRate: 2e-3, pastSteps: 2, rolloutSteps: 3, progress: false,
};

describe('emulation job', () => {
  it('simulates, trains both emulators, rolls out and writes metrics, checkpoints and pictures', async () => {
    await init({ backend: 'wasm', threads: 1 });
    const out = tmp();
    const before = memory().tensors;
    const r = await runEmulation(tiny, out, () => {});
    expect(memory().tensors).toBe(before);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ task: 'navier-stokes', model: 'unet', backend: 'wasm', seed: 1, epochs: 2, pastSteps: 2, rolloutSteps: 3 });
    // 6 trajectories: 1 val, 1 test, 4 train; 8 steps, 2 past → 6 one-step windows each, 8 − 2 − 3 + 1 = 4 rollout windows
    expect(metrics.data.trajectories).toEqual({ train: 4, val: 1, test: 1 });
    expect(metrics.sizes).toEqual({ train: 24, val: 6, test: 6, N: 16 });
    expect(metrics.models.map((m: { name: string }) => m.name)).toEqual(['equivariant-unet', 'baseline-unet']);
    for (const m of metrics.models) {
      for (const f of ['trainLoss', 'valLoss', 'testLoss', 'rolloutSmseSum', 'spectralErrorMean']) expect(Number.isFinite(m[f])).toBe(true);
      expect(m.rolloutSmse).toHaveLength(3);
      expect(m.rolloutSmseSum).toBeCloseTo(m.rolloutSmse.reduce((a: number, b: number) => a + b, 0), 10);
      // the first rollout step is the one-step prediction of the rollout windows' first target
      expect(Object.keys(m.spectralError)).toEqual(['vorticity', 'velocity']);
      expect(m.spectralError.vorticity).toHaveLength(3);
      expect(existsSync(join(out, m.checkpoint))).toBe(true);
    }
    for (const f of metrics.pictures) expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg[^>]*viewBox/);
    expect(metrics.pictures).toEqual(['rollout-equivariant-unet.svg', 'rollout-baseline-unet.svg', 'rollout-smse.svg', 'spectra.svg']);
    const loaded = await loadCheckpoint(join(out, r.models[0]!.checkpoint));
    expect(loaded.model.parameterCount()).toBe(r.models[0]!.parameters);
    loaded.model.dispose();
  }, 120_000);

  it('reads a simulation file written by `geoconv simulate` (--data --format navier-stokes) and benchmarks trials', async () => {
    const dir = tmp();
    const file = join(dir, 'ns.h5');
    const log: string[] = [];
    expect(await main(['simulate', 'navier-stokes', '--N', '16', '--trajectories', '5', '--steps', '7', '--seed', '2', '--out', file], (s) => log.push(s), (s) => log.push(s))).toBe(0);
    expect(log.join('\n')).toMatch(/simulated 5 trajectories × 7 steps of 16×16/);
    await init({ backend: 'wasm', threads: 1 });
    const before = memory().tensors;
    const table = await runBenchmark({ ...tiny, data: { kind: 'file', path: file, format: 'navier-stokes' }, rolloutSteps: 2 }, 2, join(dir, 'bench'), () => {});
    expect(memory().tensors).toBe(before);
    expect(table.models).toEqual(['equivariant-unet', 'baseline-unet']);
    expect(table.trials).toBe(2);
    expect(table.columns.slice(0, 6)).toEqual(['train', 'val', 'test', 'rollout 1', 'rollout 2', 'rollout sum']);
    for (const f of ['benchmark.json', 'benchmark.md', 'benchmark.tex', 'rollout-smse.svg']) expect(existsSync(join(dir, 'bench', f))).toBe(true);
    expect(readFileSync(join(dir, 'bench', 'benchmark.tex'), 'utf8')).toContain('\\pm');
  }, 120_000);

  it('the CLI refuses inconsistent emulation options before doing anything', async () => {
    const err: string[] = [];
    const run = (...a: string[]) => main(a, () => {}, (s) => err.push(s));
    expect(await run('train', '--data', 'x.h5')).toBe(2);
    expect(err.join('\n')).toMatch(/--data needs --format/);
    expect(await run('train', '--data', 'x.h5', '--format', 'netcdf')).toBe(2);
    expect(err.join('\n')).toMatch(/--format must be pdebench-cfd, shallow-water, navier-stokes or a SPEC.json file \(got "netcdf"\)/);
    expect(await run('train', '--task', 'gradient', '--past-steps', '3')).toBe(2);
    expect(err.join('\n')).toMatch(/--past-steps does not apply to --task gradient/);
    expect(await run('train', '--protocol', 'notebook')).toBe(2);
    expect(err.join('\n')).toMatch(/--protocol does not apply to the emulation task/);
    expect(await run('simulate', 'burgers', '--out', 'x.h5')).toBe(2);
    expect(err.join('\n')).toMatch(/the system must be navier-stokes \(got "burgers"\)/);
    expect(await run('simulate', 'navier-stokes')).toBe(2);
    expect(err.join('\n')).toMatch(/--out FILE.h5 is required/);
  });
});
