/**
 * Chromium: the evaluation tools through the BUILT bundle — power spectra equal the direct DFT
 * definition (as in Node and Deno), a 2-model × 2-trial benchmark of real rollouts on wasm, and
 * every SVG parses as XML (DOMParser) and loads as an image (its embedded PNGs included).
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import { referencePower } from '../shared/power-oracle.js';

async function parses(svg: string): Promise<Document> {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  expect(doc.getElementsByTagName('parsererror').length).toBe(0);
  expect(doc.documentElement.getAttribute('viewBox')).toMatch(/^0 0 \d+ \d+$/);
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  await img.decode(); // rejects if the browser cannot render it
  expect(img.naturalWidth).toBeGreaterThan(0);
  URL.revokeObjectURL(img.src);
  return doc;
}

describe('evaluation in the browser', () => {
  it('powerSpectrum equals the direct DFT definition', () => {
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
      expect(got.power.length).toBe(ref.length);
      ref.forEach((r, i) => expect(Math.abs(got.power[i]! - r)).toBeLessThanOrEqual(1e-10 * scale));
    }
  });

  it('a 2-model × 2-trial benchmark of rollouts on wasm; the pictures parse and render', async () => {
    await gc.init({ backend: 'wasm' });
    const D = 2,
      N = 6,
      T = 5;
    const sig = [{ k: 0, parity: 0 as const, channels: 1 }];
    const makeData = (k: gc.random.Key) => {
      const dyn = new gc.MultiImage(gc.tensor(gc.random.normal(k, 3 * N * N * T), [3, N, N, T]), [{ k: 0, parity: 0, channels: T }], D);
      const r = gc.batchTimeSeries(dyn, null, { totalSteps: T, pastSteps: 1, futureSteps: 2 });
      dyn.dispose();
      return r;
    };
    const before = gc.memory().tensors;
    const run = () =>
      gc.benchmark<ReturnType<typeof makeData>>({
        trials: 2,
        seed: 11,
        data: (k) => makeData(k),
        disposeData: (d) => {
          d.x.dispose();
          d.y.dispose();
        },
        models: [3, 5].map((M) => ({
          name: `conv M=${M}`,
          run: async (k, _t, { data }) => {
            const model = new gc.ConvContract({ D, input: sig, output: sig, M }, k);
            const roll = await gc.rolloutLoss(model, model.params, data.x, data.y, { pastSteps: 1, steps: 2, batchSize: 4 });
            model.dispose();
            return { test: roll.perStep[0]!, rollout: roll.perStep };
          },
        })),
      });
    const a = await run();
    const b = await run();
    expect(b.values).toEqual(a.values);
    expect(gc.memory().tensors).toBe(before);
    expect(a.columns).toEqual(['test', 'rollout 1', 'rollout 2', 'rollout sum']);
    expect(a.values.flat(2).every((v) => Number.isFinite(v) && v > 0)).toBe(true);
    expect(gc.formatTable(a, 'markdown').split('\n')[0]).toBe('| model | test | rollout 1 | rollout 2 | rollout sum |');

    const lossDoc = await parses(gc.rolloutLossPlot(a.models.map((name, i) => ({ name, perStep: a.rolloutMean[i]! }))));
    expect(lossDoc.querySelectorAll('polyline.series').length).toBe(2);
    expect(Array.from(lossDoc.querySelectorAll('.legend-label'), (e) => e.textContent)).toEqual(['conv M=3', 'conv M=5']);
    const d = makeData(gc.random.key(1));
    const pred = d.y.scale(1.5);
    const panelsDoc = await parses(await gc.rolloutPanels({ truth: d.y, prediction: pred, steps: 2, title: 'rollout' }));
    expect(panelsDoc.querySelectorAll('g.panel').length).toBe(6);
    expect(panelsDoc.querySelectorAll('g.panel image').length).toBe(6);
    const truthBar = panelsDoc.querySelector('g.colorbar[data-rows="truth prediction"]')!;
    const panel = panelsDoc.querySelector('g.panel[data-row="prediction"]')!;
    expect(panel.getAttribute('data-vmax')).toBe(truthBar.getAttribute('data-vmax'));
    const ts = await gc.fieldSpectra(d.y, { steps: 2 });
    const ps = await gc.fieldSpectra(pred, { steps: 2 });
    const specDoc = await parses(gc.plotSpectra(ts, [{ name: 'model', spectra: ps }]));
    expect(specDoc.querySelectorAll('polyline.series').length).toBe(2);
    for (const m of [d.x, d.y, pred]) m.dispose();
    gc.setBackend('ref');
  });
});
