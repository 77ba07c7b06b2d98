/**
 * Deno: the evaluation tools through the BUILT bundle (dist/index.js) — power spectra equal a direct
 * DFT with the binning written out (the definition Node checks too), a 2-model × 2-trial benchmark
 * of real rollouts on wasm (deterministic, tables in every format), and the SVG pictures.
 * Run: node_modules/.bin/deno test --no-check --allow-read --allow-write test/deno/eval.test.ts
 */
// deno-lint-ignore-file no-explicit-any
import * as gc from '../../dist/index.js';
import { referencePower } from '../shared/power-oracle.ts';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

Deno.test('powerSpectrum equals the direct DFT definition (square, odd and non-square grids)', () => {
  for (const shape of [
    [2, 2, 8, 8],
    [1, 1, 7, 7],
    [2, 1, 8, 6],
  ]) {
    const n = shape.reduce((a, b) => a * b, 1);
    const vals = Float64Array.from(gc.random.normal(gc.random.key(n), n));
    const got = gc.powerSpectrum(vals, shape);
    const ref = referencePower(vals, shape).power;
    const scale = Math.max(...ref);
    assert(got.power.length === ref.length, `bins ${got.power.length} vs ${ref.length}`);
    ref.forEach((r, i) => assert(Math.abs(got.power[i] - r) <= 1e-10 * scale, `shape ${shape} bin ${i + 1}: ${got.power[i]} vs ${r}`));
  }
  // one mode (3, 4) on 16²: P·N of bin 5 is A²·N⁴
  const N = 16,
    A = 0.7;
  const img = Float64Array.from({ length: N * N }, (_, i) => A * Math.cos((2 * Math.PI * (3 * Math.floor(i / N) + 4 * (i % N))) / N));
  const s = gc.powerSpectrum(img, [1, 1, N, N]);
  assert(Math.abs(s.power[4] * s.counts[4] - A * A * N ** 4) < 1e-6, `single mode: ${s.power[4] * s.counts[4]}`);
});

Deno.test('benchmark: 2 models × 2 trials of real rollouts on wasm, deterministic, every table format; pictures', async () => {
  await gc.init({ backend: 'wasm', threads: 1 });
  const D = 2,
    N = 6,
    T = 5;
  const sig = [{ k: 0, parity: 0, channels: 1 }];
  const makeData = (k: any) => {
    const dyn = new gc.MultiImage(gc.tensor(gc.random.normal(k, 3 * N * N * T), [3, N, N, T]), [{ k: 0, parity: 0, channels: T }], D);
    const r = gc.batchTimeSeries(dyn, null, { totalSteps: T, pastSteps: 1, futureSteps: 2 });
    dyn.dispose();
    return r;
  };
  const before = gc.memory().tensors;
  const run = () =>
    gc.benchmark({
      trials: 2,
      seed: 11,
      data: (k: any) => makeData(k),
      disposeData: (d: any) => {
        d.x.dispose();
        d.y.dispose();
      },
      models: [3, 5].map((M) => ({
        name: `conv M=${M}`,
        run: async (k: any, _t: number, { data }: any) => {
          const model = new gc.ConvContract({ D, input: sig, output: sig, M }, k);
          const roll = await gc.rolloutLoss(model, model.params, data.x, data.y, { pastSteps: 1, steps: 2, batchSize: 4 });
          model.dispose();
          return { test: roll.perStep[0], rollout: roll.perStep };
        },
      })),
    });
  const a = await run();
  const b = await run();
  assert(JSON.stringify(a.values) === JSON.stringify(b.values), 'same seed, different tables');
  assert(gc.memory().tensors === before, `leak: ${gc.memory().tensors - before} tensors`);
  assert(a.models.length === 2 && a.values.every((m: any) => m.length === 2), 'shape of the table');
  assert(a.columns.join() === 'test,rollout 1,rollout 2,rollout sum', `columns ${a.columns}`);
  a.values.flat(2).forEach((v: number) => assert(Number.isFinite(v) && v > 0, `value ${v}`));
  const md = gc.formatTable(a, 'markdown');
  assert(md.split('\n')[0] === '| model | test | rollout 1 | rollout 2 | rollout sum |', md);
  assert((md.match(/\*\*/g) ?? []).length >= 8, 'the best of each of the 4 columns in bold');
  assert(gc.formatTable(a, 'latex').includes('\\pm'), 'latex mean ± std');
  assert(JSON.parse(gc.formatTable(a, 'json')).trials === 2, 'json');

  const svg = gc.rolloutLossPlot(a.models.map((name: string, i: number) => ({ name, perStep: a.rolloutMean[i] })));
  assert(/viewBox="0 0 560 360"/.test(svg) && (svg.match(/<polyline class="series"/g) ?? []).length === 2, 'rollout plot');
  const d = makeData(gc.random.key(1));
  const pred = d.y.scale(1.5);
  const panels = await gc.rolloutPanels({ truth: d.y, prediction: pred, steps: 2, sample: 0 });
  pred.dispose();
  assert((panels.match(/<g class="panel"/g) ?? []).length === 6 && panels.includes('data:image/png;base64,'), 'rollout panels');
  const spectra = await gc.fieldSpectra(d.y, { steps: 2 });
  assert(gc.spectrumPlot([{ name: 'truth', spectrum: spectra[0].spectrum }]).includes('data-log="true"'), 'spectrum plot');
  d.x.dispose();
  d.y.dispose();
  gc.setBackend('ref');
});
