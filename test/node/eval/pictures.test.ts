/**
 * SVG pictures, checked structurally: viewBox, panel and series counts, finite coordinates, legends
 * and labels; the heat maps' PNGs are decoded with node:zlib (independent of our encoder) and every
 * pixel's colour is compared with the ramp at the scale computed here from the data — so the
 * shared truth/prediction scale and the difference's own scale are really what is drawn.
 */
import { inflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { MultiImage, random, tensor } from '../../../src/index.js';
import { divergingRgb, sequentialRgb } from '../../../src/geometric/plot.js';
import { SERIES_COLORS, linePlot, plotSpectra, pngDataUri, rolloutLossPlot, rolloutPanels, spectrumPlot } from '../../../src/eval/pictures.js';
import { fieldSpectra, powerSpectrum } from '../../../src/eval/spectrum.js';

/** Decodes an 8-bit RGB PNG data URI (filter type 0 rows, as ours) to { width, height, rgb }. */
function decodePng(uri: string) {
  const bytes = Buffer.from(uri.replace(/^data:image\/png;base64,/, ''), 'base64');
  expect([...bytes.subarray(0, 8)]).toEqual([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);
  let at = 8,
    width = 0,
    height = 0;
  const idat: Buffer[] = [];
  while (at < bytes.length) {
    const len = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    const data = bytes.subarray(at + 8, at + 8 + len);
    if (type === 'IHDR') [width, height] = [data.readUInt32BE(0), data.readUInt32BE(4)];
    if (type === 'IDAT') idat.push(data);
    at += 12 + len;
  }
  const raw = inflateSync(Buffer.concat(idat)); // checks the zlib stream and its Adler-32
  const rgb = new Uint8Array(width * height * 3);
  for (let y = 0; y < height; y++) {
    expect(raw[y * (1 + 3 * width)]).toBe(0);
    rgb.set(raw.subarray(y * (1 + 3 * width) + 1, (y + 1) * (1 + 3 * width)), y * 3 * width);
  }
  return { width, height, rgb };
}

const attr = (el: string, name: string) => new RegExp(`${name}="([^"]*)"`).exec(el)?.[1];
const panelsOf = (svg: string) => [...svg.matchAll(/<g class="panel"[^>]*>.*?<\/g>/g)].map((m) => m[0]);

function expectFiniteNumbers(svg: string) {
  for (const m of svg.matchAll(/ (?:x|y|x1|y1|x2|y2|cx|cy|width|height)="([^"]*)"/g)) {
    if (m[1]!.endsWith('%')) continue;
    expect(Number.isFinite(Number(m[1])), `attribute value ${m[1]}`).toBe(true);
  }
  for (const m of svg.matchAll(/points="([^"]*)"/g)) for (const v of m[1]!.split(/[ ,]/)) expect(Number.isFinite(Number(v))).toBe(true);
}

describe('pngDataUri', () => {
  it('round-trips through an independent inflate, multi-block sizes included', () => {
    for (const [w, h] of [
      [1, 1],
      [3, 2],
      [200, 120],
    ] as const) {
      // 200·120·3 > 65535: several stored blocks
      const rgb = Uint8Array.from({ length: w * h * 3 }, (_, i) => (i * 37 + 11) % 256);
      const d = decodePng(pngDataUri(w, h, rgb));
      expect([d.width, d.height]).toEqual([w, h]);
      expect(Array.from(d.rgb)).toEqual(Array.from(rgb));
    }
    expect(() => pngDataUri(2, 2, new Uint8Array(5))).toThrow(/pngDataUri: rgb length must be 12/);
  });
});

describe('rolloutPanels', () => {
  const D = 2,
    nx = 6,
    ny = 5,
    steps = 3,
    B = 2;
  const sig = [
    { k: 0, parity: 0 as const, channels: steps },
    { k: 0, parity: 1 as const, channels: steps },
    { k: 1, parity: 0 as const, channels: steps },
  ];
  const W = 2 * steps + D * steps;
  const make = (seed: number, scale: number) => new MultiImage(tensor(random.normal(random.key(seed), B * nx * ny * W, 0, scale), [B, nx, ny, W]), sig, D);

  it('rows truth / prediction / difference per field and shown step, shared scales that really are shared', async () => {
    const truth = make(1, 1);
    const prediction = make(2, 3); // larger values: the shared scale is set by the prediction
    const svg = await rolloutPanels({
      truth,
      prediction,
      steps,
      sample: 1,
      shownSteps: [0, 2],
      fieldNames: ['density', 'vorticity', 'velocity'],
      title: 'NS rollout',
    });
    expect(svg.startsWith('<svg xmlns="http://www.w3.org/2000/svg"')).toBe(true);
    expect(attr(svg, 'viewBox')).toMatch(/^0 0 \d+ \d+$/);
    expectFiniteNumbers(svg);
    const panels = panelsOf(svg);
    expect(panels.length).toBe(3 * 3 * 2); // 3 fields × 3 rows × 2 shown steps
    expect([...svg.matchAll(/class="step-label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['step 1', 'step 3']);
    expect([...svg.matchAll(/<g class="colorbar"/g)].length).toBe(6);
    expect(svg).toContain('NS rollout');

    const td = truth.data.dataSync(),
      pd = prediction.data.dataSync();
    const at = (d: Float32Array, x: number, y: number, col: number) => d[((1 * nx + x) * ny + y) * W + col]!;
    // field → (columns of step t, is scalar)
    const fields = { density: (t: number) => [t], vorticity: (t: number) => [steps + t], velocity: (t: number) => [2 * steps + 2 * t, 2 * steps + 2 * t + 1] };
    for (const [name, colsOf] of Object.entries(fields)) {
      const scalar = colsOf(0).length === 1;
      const val = (d: Float32Array, x: number, y: number, t: number) => {
        const cs = colsOf(t);
        return scalar ? at(d, x, y, cs[0]!) : Math.hypot(...cs.map((c) => at(d, x, y, c)));
      };
      const diff = (x: number, y: number, t: number) => {
        const cs = colsOf(t);
        const ds = cs.map((c) => at(pd, x, y, c) - at(td, x, y, c));
        return scalar ? ds[0]! : Math.hypot(...ds);
      };
      let vmax = 0,
        dmax = 0;
      for (const t of [0, 2])
        for (let x = 0; x < nx; x++)
          for (let y = 0; y < ny; y++) {
            vmax = Math.max(vmax, Math.abs(val(td, x, y, t)), Math.abs(val(pd, x, y, t)));
            dmax = Math.max(dmax, Math.abs(diff(x, y, t)));
          }
      const mine = panels.filter((p) => attr(p, 'data-field') === name);
      expect(mine.length).toBe(6);
      for (const p of mine) {
        const row = attr(p, 'data-row')!;
        const t = Number(attr(p, 'data-step'));
        const m = row === 'difference' ? dmax : vmax;
        const [lo, hi] = scalar ? [-m, m] : [0, m];
        expect(Number(attr(p, 'data-vmax'))).toBeCloseTo(hi, 5);
        expect(Number(attr(p, 'data-vmin'))).toBeCloseTo(lo, 5);
        const img = decodePng(attr(p, 'href')!);
        expect([img.width, img.height]).toEqual([nx, ny]);
        const ramp = scalar ? divergingRgb : sequentialRgb;
        for (let x = 0; x < nx; x++)
          for (let y = 0; y < ny; y++) {
            const v = row === 'truth' ? val(td, x, y, t) : row === 'prediction' ? val(pd, x, y, t) : diff(x, y, t);
            const expected = ramp((v - lo) / (hi - lo));
            const o = ((ny - 1 - y) * nx + x) * 3; // y upwards: image row ny − 1 − y
            const got = [img.rgb[o]!, img.rgb[o + 1]!, img.rgb[o + 2]!];
            got.forEach((c, i) => expect(Math.abs(c - expected[i]!)).toBeLessThanOrEqual(1));
          }
      }
      const bars = [...svg.matchAll(new RegExp(`<g class="colorbar" data-field="${name}"[^>]*>`, 'g'))].map((b) => b[0]);
      expect(bars.map((b) => attr(b, 'data-rows'))).toEqual(['truth prediction', 'difference']);
      expect(Number(attr(bars[0]!, 'data-vmax'))).toBeCloseTo(vmax, 5);
      expect(Number(attr(bars[1]!, 'data-vmax'))).toBeCloseTo(dmax, 5);
    }
    // the shared scale is not the truth's own scale (the prediction is 3× larger)
    const tOnly = Math.max(...Array.from({ length: nx * ny }, (_, p) => Math.abs(td[(1 * nx * ny + p) * W]!)));
    expect(
      Number(
        attr(
          panels.find((p) => attr(p, 'data-field') === 'density' && attr(p, 'data-row') === 'truth')!,
          'data-vmax',
        ),
      ),
    ).toBeGreaterThan(1.5 * tOnly);
    truth.dispose();
    prediction.dispose();
  });

  it('defaults (all steps up to 6, default names) and named errors', async () => {
    const truth = make(3, 1);
    const svg = await rolloutPanels({ truth, prediction: truth, steps });
    expect(panelsOf(svg).length).toBe(3 * 3 * 3);
    expect(svg).toContain('>scalar 0<');
    expect(svg).toContain('>vector 0 |·|<');
    const other = new MultiImage(truth.data, [{ k: 0, parity: 0, channels: W }], D);
    await expect(rolloutPanels({ truth, prediction: other, steps })).rejects.toThrow(/rolloutPanels: prediction's signature must be truth's/);
    await expect(rolloutPanels({ truth, prediction: truth, steps, shownSteps: [3] })).rejects.toThrow(/shownSteps entry must be an integer in \[0, 3\)/);
    await expect(rolloutPanels({ truth, prediction: truth, steps, sample: 2 })).rejects.toThrow(/sample must be an integer in \[0, 2\)/);
    truth.dispose();
  });
});

describe('line plots', () => {
  it('rolloutLossPlot: one polyline per model on a log y axis, legend, labels, ticks, larger SMSE drawn higher', () => {
    const models = [
      { name: 'UNet (E)', perStep: [1e-4, 3e-4, 1e-3, 4e-3] },
      { name: 'UNet <baseline>', perStep: [5e-4, 2e-3, 9e-3, 3e-2] },
    ];
    const svg = rolloutLossPlot(models);
    expect(attr(svg, 'viewBox')).toBe('0 0 560 360');
    expectFiniteNumbers(svg);
    const lines = [...svg.matchAll(/<polyline class="series" data-name="([^"]*)" points="([^"]*)"/g)];
    expect(lines.map((l) => l[1])).toEqual(['UNet (E)', 'UNet &lt;baseline&gt;']);
    const pts = lines.map((l) => l[2]!.split(' ').map((p) => p.split(',').map(Number)));
    expect(pts[0]!.length).toBe(4);
    for (let i = 0; i < 4; i++) {
      expect(pts[1]![i]![1]).toBeLessThan(pts[0]![i]![1]!); // higher SMSE → smaller y (higher up)
      expect(pts[0]![i]![0]).toBe(pts[1]![i]![0]);
    }
    // log scale: equal ratios give equal pixel gaps (1e-4 → 1e-3 equals 3e-4 → 3e-3 on the same axis)
    const y = (v: number) => {
      const [a, b] = [pts[0]![0]![1]!, pts[0]![2]![1]!]; // 1e-4, 1e-3
      return a + (b - a) * Math.log10(v / 1e-4);
    };
    expect(pts[1]![1]![1]).toBeCloseTo(y(2e-3), 1);
    expect([...svg.matchAll(/class="legend-label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['UNet (E)', 'UNet &lt;baseline&gt;']);
    expect(svg).toMatch(/class="axis-label x-label"[^>]*>rollout step</);
    expect(svg).toMatch(/class="axis-label y-label"[^>]*>SMSE</);
    expect(svg).toContain('data-log="true"');
    const yTicks = [...svg.matchAll(/<g class="axis y-axis"[^>]*>(.*?)<\/g>/g)][0]![1]!;
    expect([...yTicks.matchAll(/class="tick-label"[^>]*>([^<]*)</g)].map((m) => m[1])).toEqual(['1e-4', '1e-3', '0.01', '0.1']);
  });

  it('spectrumPlot: log–log axes, truth and models; linePlot leaves out non-positive values on log axes', () => {
    const truth = powerSpectrum(Float64Array.from(random.normal(random.key(1), 2 * 32 * 32)), [2, 1, 32, 32]);
    const model = { ...truth, power: truth.power.map((v, i) => v * Math.exp(-i / 5)) };
    const svg = spectrumPlot([
      { name: 'truth', spectrum: truth },
      { name: 'model', spectrum: model },
    ]);
    expectFiniteNumbers(svg);
    expect([...svg.matchAll(/<polyline class="series"/g)].length).toBe(2);
    expect([...svg.matchAll(/data-log="true"/g)].length).toBe(2);
    expect(svg).toMatch(/>wavenumber \|k\|</);
    const broken = linePlot([{ name: 'a', x: [1, 2, 3, 4], y: [1, 0, 2, 3] }], { logY: true });
    expect([...broken.matchAll(/<polyline/g)].length).toBe(2); // the zero splits the line
    expectFiniteNumbers(broken);
    const lin = linePlot([{ name: 'a', x: [0, 1, 2], y: [-1, 0, 1] }]);
    expectFiniteNumbers(lin);
    expect(() => linePlot([{ name: 'a', x: [1], y: [0] }], { logY: true })).toThrow(/linePlot: series values must be at least one finite point/);
    expect(() => linePlot([{ name: 'a', x: [1, 2], y: [1] }])).toThrow(/linePlot: series\[0\] must be/);
    expect(() => rolloutLossPlot([])).toThrow(/rolloutLossPlot: models must be a non-empty array/);
  });
});

describe('spectra of the emulation job', () => {
  it('plotSpectra: one log–log plot per field at a step; truth in black, models in their positional colours', async () => {
    const D = 2,
      n = 8,
      steps = 2;
    const sig = [
      { k: 0, parity: 1 as const, channels: steps },
      { k: 1, parity: 0 as const, channels: steps },
    ];
    const W = steps + D * steps;
    const truth = new MultiImage(tensor(random.normal(random.key(1), 2 * n * n * W), [2, n, n, W]), sig, D);
    const pred = truth.scale(0.5);
    const names = ['vorticity', 'velocity'];
    const ts = await fieldSpectra(truth, { steps, fieldNames: names });
    const ps = await fieldSpectra(pred, { steps, fieldNames: names });
    const svg = plotSpectra(
      ts,
      [
        { name: 'UNet', spectra: ps },
        { name: 'ResNet', spectra: ps },
      ],
      { step: 0 },
    );
    expect(attr(svg, 'viewBox')).toBe('0 0 840 320');
    expect([...svg.matchAll(/<svg x="(\d+)"/g)].map((m) => m[1])).toEqual(['0', '420']);
    expect([...svg.matchAll(/<polyline class="series"/g)].length).toBe(2 * 3);
    // the same model has the same colour here as in rolloutLossPlot (by position), truth is black
    const strokes = [...svg.matchAll(/<polyline class="series"[^>]*stroke="([^"]+)"/g)].map((m) => m[1]);
    expect(strokes.slice(0, 3)).toEqual(['#000000', SERIES_COLORS[0], SERIES_COLORS[1]]);
    expect(rolloutLossPlot([{ name: 'UNet', perStep: [1, 2] }])).toContain(`stroke="${SERIES_COLORS[0]}"`);
    expect(svg).toContain('>vorticity, step 1<');
    expect(svg).toContain('>velocity, step 1<');
    expectFiniteNumbers(svg);
    expect(plotSpectra(ts, [])).toContain('>velocity, step 2<'); // default: the last step
    expect(() => plotSpectra(ts, [{ name: 'm', spectra: ps.slice(0, 1) }], { step: 0 })).toThrow(
      /plotSpectra: spectra of model "m" must be to hold field "velocity" at step 0/,
    );
    truth.dispose();
    pred.dispose();
  });
});
