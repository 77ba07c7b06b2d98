import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init, loadCheckpoint, memory, writeHdf5 } from '../../src/index.js';
import { persistenceSmse, runBenchmark, runEmulation, type EmulateOptions } from '../../src/emulate.js';
import { MultiImage, batchTimeSeries, tensor } from '../../src/index.js';
import { main } from '../../src/cli.js';
import { tempDirs } from './support.js';

const tmp = tempDirs('emulate');

const tiny: EmulateOptions = {
  data: { kind: 'navier-stokes', simulation: { N: 16, trajectories: 6, steps: 8 } },
  model: 'unet',
  epochs: 2,
  seed: 1,
  batchSize: 4,
  depth: 2,
  learningRate: 2e-3,
  pastSteps: 2,
  rolloutSteps: 3,
  progress: false,
};

describe('emulation job', () => {
  it('simulates, trains both emulators, rolls out and writes metrics, checkpoints and pictures', async () => {
    await init({ backend: 'wasm', threads: 1 });
    const out = tmp();
    const before = memory().tensors;
    const r = await runEmulation(tiny, out, () => {});
    expect(memory().tensors).toBe(before);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({
      task: 'navier-stokes',
      model: 'unet',
      backend: 'wasm',
      seed: 1,
      epochs: 2,
      pastSteps: 2,
      rolloutSteps: 3,
      nonlinearity: 'norm',
    });
    // 6 trajectories: 1 val, 1 test, 4 train; 8 steps, 2 past → 6 one-step windows each, 8 − 2 − 3 + 1 = 4 rollout windows
    expect(metrics.data.trajectories).toEqual({ train: 4, val: 1, test: 1 });
    expect(metrics.sizes).toEqual({ train: 24, val: 6, test: 6, N: 16 });
    expect(metrics.models.map((m: { name: string }) => m.name)).toEqual(['equivariant-unet', 'baseline-unet']);
    for (const m of metrics.models) {
      for (const f of ['trainLoss', 'valLoss', 'testLoss', 'rolloutSmseSum', 'spectralErrorMean']) expect(Number.isFinite(m[f])).toBe(true);
      expect(m.rolloutSmse).toHaveLength(3);
      expect(m.rolloutSmseSum).toBeCloseTo(
        m.rolloutSmse.reduce((a: number, b: number) => a + b, 0),
        10,
      );
      // the first rollout step is the one-step prediction of the rollout windows' first target
      expect(Object.keys(m.spectralError)).toEqual(['vorticity', 'velocity']);
      expect(m.spectralError.vorticity).toHaveLength(3);
      expect(existsSync(join(out, m.checkpoint))).toBe(true);
    }
    for (const f of metrics.pictures) expect(readFileSync(join(out, f), 'utf8')).toMatch(/^<svg[^>]*viewBox/);
    // persistence: predicting the last input frame; its error grows with the rollout step on a flow that moves
    expect(metrics.persistence.rolloutSmse).toHaveLength(3);
    expect(metrics.persistence.rolloutSmse[0]).toBeGreaterThan(0);
    expect(metrics.persistence.rolloutSmse[2]).toBeGreaterThan(metrics.persistence.rolloutSmse[0]);
    expect(metrics.pictures).toEqual(['rollout-equivariant-unet.svg', 'rollout-baseline-unet.svg', 'rollout-smse.svg', 'spectra.svg']);
    const loaded = await loadCheckpoint(join(out, r.models[0]!.checkpoint));
    expect(loaded.model.parameterCount()).toBe(r.models[0]!.parameters);
    expect(JSON.stringify(loaded.model.config)).toContain('"nonlinearity":"norm"'); // the emulation job's default
    loaded.model.dispose();
  }, 120_000);

  it('reads a simulation file written by `geoconv simulate` (--data --format navier-stokes) and benchmarks trials', async () => {
    const dir = tmp();
    const file = join(dir, 'ns.h5');
    const log: string[] = [];
    expect(
      await main(
        ['simulate', 'navier-stokes', '--N', '16', '--trajectories', '5', '--steps', '7', '--seed', '2', '--out', file],
        (s) => log.push(s),
        (s) => log.push(s),
      ),
    ).toBe(0);
    expect(log.join('\n')).toMatch(/simulated 5 trajectories × 7 steps of 16×16/);
    await init({ backend: 'wasm', threads: 1 });
    const before = memory().tensors;
    const table = await runBenchmark(
      { ...tiny, data: { kind: 'file', path: file, format: 'navier-stokes' }, rolloutSteps: 2 },
      2,
      join(dir, 'bench'),
      () => {},
    );
    expect(memory().tensors).toBe(before);
    expect(table.models).toEqual(['equivariant-unet', 'baseline-unet']);
    expect(table.trials).toBe(2);
    expect(table.columns.slice(0, 6)).toEqual(['train', 'val', 'test', 'rollout 1', 'rollout 2', 'rollout sum']);
    for (const f of ['benchmark.json', 'benchmark.md', 'benchmark.tex', 'rollout-smse.svg']) expect(existsSync(join(dir, 'bench', f))).toBe(true);
    expect(readFileSync(join(dir, 'bench', 'benchmark.tex'), 'utf8')).toContain('\\pm');
  }, 120_000);

  it('emulates a shallow-water file on its non-square lat-lon grid (periodic in longitude only) with the axis-flip group', async () => {
    // ginjax's layout: u, v (b, time, lev, lat, lon), pres (b, time, lat, lon); orography (lat, lon) in its own file
    const [b, t, lat, lon] = [4, 7, 8, 16];
    const wave = (phase: number) =>
      Float32Array.from({ length: b * t * lat * lon }, (_, i) => {
        const x = i % lon,
          y = Math.floor(i / lon) % lat,
          s = Math.floor(i / (lon * lat)) % t,
          n = Math.floor(i / (lon * lat * t));
        return Math.sin((2 * Math.PI * x) / lon + 0.3 * s + n + phase) * Math.cos((Math.PI * (y + 0.5)) / lat);
      });
    const dir = tmp();
    await writeHdf5(join(dir, 'sw.nc'), [
      { name: 'u', data: wave(0), shape: [b, t, 1, lat, lon] },
      { name: 'v', data: wave(1), shape: [b, t, 1, lat, lon] },
      { name: 'pres', data: wave(2), shape: [b, t, lat, lon] },
      { name: 'lat', data: Float64Array.from({ length: lat }, (_, i) => -78.75 + 22.5 * i), shape: [lat] },
      { name: 'lon', data: Float64Array.from({ length: lon }, (_, i) => 22.5 * i), shape: [lon] },
    ]);
    await writeHdf5(join(dir, 'orog.nc'), [{ name: 'orog', data: Float32Array.from({ length: lat * lon }, (_, i) => (i % 7) / 7), shape: [lat, lon] }]);
    await init({ backend: 'wasm', threads: 1 });
    const before = memory().tensors;
    const r = await runEmulation(
      { ...tiny, baseline: false, data: { kind: 'file', path: join(dir, 'sw.nc'), format: 'shallow-water', options: { orography: join(dir, 'orog.nc') } } },
      join(dir, 'out'),
      () => {},
    );
    expect(memory().tensors).toBe(before);
    expect(r.data.spatial).toEqual([lon, lat]); // x = longitude, y = latitude, as ginjax
    expect(r.data.isTorus).toEqual([true, false]);
    expect(r.operators).toBe('axis-flips');
    expect(r.data.trajectories).toEqual({ train: 2, val: 1, test: 1 });
    expect(Object.keys(r.models[0]!.spectralError)).toEqual(['pressure', 'velocity']);
    expect(r.models[0]!.rolloutSmse.every(Number.isFinite)).toBe(true);
  }, 120_000);

  it('persistence SMSE: every step predicted as the last input frame', async () => {
    // one scalar and one vector field whose value at step t is t (scalar) and (t, −2t) (vector) at every pixel:
    // window i's last input frame is i + 1, its target at rollout step s is i + 2 + s → per-step SMSE (s+1)²·(1 + 1 + 4)
    const T = 6,
      n = 4;
    const values = Float32Array.from({ length: 2 * n * n * 3 * T }, (_, i) => {
      const col = i % (3 * T);
      if (col < T) return col; // (0,0): channel t
      const t = Math.floor((col - T) / 2);
      return (col - T) % 2 === 0 ? t : -2 * t; // (1,0): channel t, components x, y
    });
    const dynamic = new MultiImage(
      tensor(values, [2, n, n, 3 * T]),
      [
        [[0, 0], T],
        [[1, 0], T],
      ],
      2,
    );
    const w = batchTimeSeries(dynamic, null, { totalSteps: T, pastSteps: 2, futureSteps: 3 });
    const got = await persistenceSmse(w, 2, 3);
    [1, 4, 9].forEach((sq, s) => expect(got[s]).toBeCloseTo(6 * sq, 10));
    for (const m of [dynamic, w.x, w.y]) m.dispose();
  });

  it('the CLI refuses inconsistent emulation options before doing anything', async () => {
    const err: string[] = [];
    const run = (...a: string[]) =>
      main(
        a,
        () => {},
        (s) => err.push(s),
      );
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
