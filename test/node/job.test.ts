import { readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { init, setBackend, loadCheckpoint, memory } from '../../src/index.js';
import { runJob, type JobOptions } from '../../src/job.js';
import { main } from '../../src/cli.js';
import { tempDirs } from './support.js';

const tmp = tempDirs('job');

const tiny: JobOptions = {
  task: 'gradient',
  model: 'unet',
  epochs: 2,
  seed: 3,
  batchSize: 4,
  depth: 2,
  learningRate: 1e-3,
  nTrain: 8,
  nVal: 4,
  nTest: 4,
  N: 8,
  progress: false,
};

describe('main job', () => {
  it('trains both models and writes metrics.json, checkpoints and pictures', async () => {
    setBackend('ref');
    const out = tmp();
    const before = memory().tensors;
    const r = await runJob(tiny, out, () => {});
    expect(memory().tensors).toBe(before);
    const metrics = JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8'));
    expect(metrics).toMatchObject({ task: 'gradient', model: 'unet', backend: 'ref', seed: 3, epochs: 2, sizes: { train: 8, val: 4, test: 4, N: 8 } });
    expect(metrics.models.map((m: { name: string }) => m.name)).toEqual(['equivariant-unet', 'baseline-unet']);
    for (const m of metrics.models) {
      for (const f of ['trainLoss', 'valLoss', 'testLoss', 'parameters', 'ginjaxParameters', 'seconds']) expect(Number.isFinite(m[f])).toBe(true);
      expect(existsSync(join(out, m.checkpoint))).toBe(true);
    }
    const svg = readFileSync(join(out, 'predictions.svg'), 'utf8');
    expect(svg.startsWith('<svg')).toBe(true);
    expect(svg).toContain('equivariant-unet');
    // The checkpoint rebuilds the model, which reproduces the reported test error's model output.
    const loaded = await loadCheckpoint(join(out, r.models[0]!.checkpoint));
    expect(loaded.model.parameterCount()).toBe(r.models[0]!.parameters);
    loaded.model.dispose();
  });

  it('the same seed gives the same results on ref and wasm (float32 tolerance)', async () => {
    await init({ backend: 'wasm' });
    const a = await runJob({ ...tiny, baseline: false }, tmp(), () => {});
    setBackend('ref');
    const b = await runJob({ ...tiny, baseline: false }, tmp(), () => {});
    expect(a.models[0]!.parameters).toBe(b.models[0]!.parameters);
    expect(a.models[0]!.testLoss).toBeCloseTo(b.models[0]!.testLoss, 4);
  });

  it("the gradient task with ginjax's notebook protocol trains on cropped, standardised targets", async () => {
    setBackend('ref');
    const out = tmp();
    const before = memory().tensors;
    const r = await runJob({ ...tiny, N: 12, baseline: false, protocol: 'notebook' }, out, () => {});
    expect(memory().tensors).toBe(before);
    expect(r.protocol).toBe('notebook');
    const m = r.models[0]!;
    // standardised targets: predicting zero scores ≈ 2 (two unit-variance components per pixel)
    for (const v of [m.trainLoss, m.valLoss, m.testLoss]) expect(v).toBeGreaterThan(0.05);
    for (const v of [m.trainLoss, m.valLoss, m.testLoss]) expect(v).toBeLessThan(10);
    expect(JSON.parse(readFileSync(join(out, 'metrics.json'), 'utf8')).protocol).toBe('notebook');
  });

  it('geoconv train validates its options', async () => {
    const err: string[] = [];
    const code = await main(
      ['train', '--task', 'nope', '--out', tmp(), '--backend', 'ref'],
      () => {},
      (s) => err.push(s),
    );
    expect(code).toBe(2);
    expect(err.join('\n')).toMatch(/--task must be one of navier-stokes, gradient, scalar, gravity \(got "nope"\)/);
    expect(
      await main(
        ['train', '--epochs', 'x'],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/--epochs must be an integer/);
  });
});
