/**
 * The paper's evaluation pictures as standalone SVG strings (a viewBox, no external resources, so
 * they open in any browser and embed in HTML): rollout panels (truth / prediction / difference per
 * field and shown step), rollout SMSE against the step for several models, and power spectra on
 * log–log axes. Heat maps are embedded PNG images (one pixel per grid cell, drawn pixelated): a
 * 64² field as <rect>s would cost ~300 kB per panel, as an uncompressed PNG data URI ~16 kB.
 */
import { check } from '../core/errors.js';
import { sameShape } from '../core/shape.js';
import { MultiImage } from '../geometric/multi-image.js';
import { signatureToString } from '../geometric/signature.js';
import {
  FONT,
  colorBar,
  divergingRgb,
  esc,
  heatImage,
  linearTicks,
  logTicks,
  n2,
  pngDataUri,
  sequentialRgb,
  svgDoc,
  tickText,
  type Ramp,
} from '../geometric/svg.js';
import { fieldColumns, type PowerSpectrum } from './spectrum.js';

export { pngDataUri };

/**
 * Colours of the series of a line plot (after matplotlib's tab10).
 * @example
 * const svg = linePlot([{ name: 'UNet', x: [1, 2, 3], y: [0.1, 0.2, 0.4], color: SERIES_COLORS[3] }]);
 */
export const SERIES_COLORS: readonly string[] = ['#1f77b4', '#d62728', '#2ca02c', '#ff7f0e', '#9467bd', '#8c564b', '#e377c2', '#7f7f7f', '#bcbd22', '#17becf'];

// ---------------------------------------------------------------------------------------------
// Rollout panels

/** Options of `rolloutPanels`: which field, steps and samples to draw. */
export interface RolloutPanelsOptions {
  readonly truth: MultiImage;
  readonly prediction: MultiImage;
  /** Steps packed in the channels of both (c·steps + t). */
  readonly steps: number;
  /** The sample shown (default 0). */
  readonly sample?: number;
  /** Step indices (0-based) shown as columns (default: all, at most 6, evenly spread, last included). */
  readonly shownSteps?: readonly number[];
  /** One name per field (key order, then field order). */
  readonly fieldNames?: readonly string[];
  readonly title?: string;
  /** Column labels (default "step t+1"). */
  readonly stepLabel?: (step: number) => string;
  /** Side of one panel in SVG units (default 120). */
  readonly panelSize?: number;
}

const ROWS = ['truth', 'prediction', 'difference'] as const;

/**
 * Rows truth / prediction / difference (prediction − truth) for each field, one column per shown
 * step. Scalar and pseudoscalar fields are diverging heat maps; truth and prediction of a field share
 * one symmetric scale ±max|value| over both and over the shown steps (one colour bar for the two
 * rows), and the difference has its own symmetric scale ±max|difference|. Vector (and higher) fields
 * are shown by their pointwise norm on a sequential scale [0, max norm] shared the same way, and the
 * difference by the norm of the vector difference, [0, its max]: arrows are not drawn — at the
 * grid sizes of emulation (64² and up) in panels this small they are unreadable, while the norm
 * and its error are what one compares.
 * @example
 * const svg = await rolloutPanels({ truth: yFuture, prediction: rollout, steps: 10, fieldNames: ['vorticity', 'velocity'] });
 * await writeFile('rollout.svg', svg);
 */
export async function rolloutPanels(o: RolloutPanelsOptions): Promise<string> {
  const fn = 'rolloutPanels';
  check(o !== null && typeof o === 'object', fn, 'options', '{ truth, prediction, steps, … }', o);
  const { truth, prediction, steps, sample = 0, stepLabel = (t: number) => `step ${t + 1}`, panelSize = 120 } = o;
  check(truth instanceof MultiImage && prediction instanceof MultiImage, fn, 'truth and prediction', 'MultiImages', [truth, prediction]);
  check(truth.D === 2, fn, 'truth.D', '2 (2-D fields)', truth.D);
  check(
    signatureToString(prediction.signature) === signatureToString(truth.signature),
    fn,
    "prediction's signature",
    `truth's ${signatureToString(truth.signature)}`,
    signatureToString(prediction.signature),
  );
  check(
    prediction.batch === truth.batch && sameShape(prediction.spatial, truth.spatial),
    fn,
    'prediction batch and spatial shape',
    `truth's ${truth.batch}, [${truth.spatial}]`,
    [prediction.batch, prediction.spatial],
  );
  check(Number.isInteger(sample) && sample >= 0 && sample < truth.batch, fn, 'sample', `an integer in [0, ${truth.batch})`, sample);
  check(typeof panelSize === 'number' && panelSize >= 16, fn, 'panelSize', 'a number >= 16', panelSize);
  const fields = fieldColumns(fn, truth, steps, o.fieldNames);
  const defaultShown = steps <= 6 ? Array.from({ length: steps }, (_, t) => t) : Array.from({ length: 6 }, (_, i) => Math.round((i * (steps - 1)) / 5));
  const shown = o.shownSteps ?? defaultShown;
  check(Array.isArray(shown) && shown.length > 0, fn, 'shownSteps', 'a non-empty list of step indices', shown);
  shown.forEach((t) => check(Number.isInteger(t) && t >= 0 && t < steps, fn, 'shownSteps entry', `an integer in [0, ${steps})`, t));

  const [nx, ny] = truth.spatial as [number, number];
  const P = nx * ny;
  const W = truth.width;
  const [td, pd] = [await truth.data.data(), await prediction.data.data()];
  // values[field][row][shown column]: the pixel values (scalar) or norms (k ≥ 1).
  const byField = new Map<string, { name: string; T: number; cols: Map<number, number[]> }>();
  for (const f of fields) {
    const id = `${f.k},${f.parity},${f.field}`;
    if (!byField.has(id)) byField.set(id, { name: f.name, T: f.cols.length, cols: new Map() });
    byField.get(id)!.cols.set(f.step, f.cols);
  }
  const pw = panelSize * (nx >= ny ? 1 : nx / ny);
  const ph = panelSize * (ny >= nx ? 1 : ny / nx);
  const gap = 8,
    left = 100,
    barW = 78;
  const top = (o.title ? 26 : 8) + 16;
  const parts: string[] = [];
  if (o.title) parts.push(`<text class="title" x="8" y="18" font-size="13" ${FONT}>${esc(o.title)}</text>`);
  shown.forEach((t, c) =>
    parts.push(
      `<text class="step-label" x="${n2(left + c * (pw + gap) + pw / 2)}" y="${top - 5}" text-anchor="middle" font-size="11" ${FONT}>${esc(stepLabel(t))}</text>`,
    ),
  );
  let row = 0;
  for (const { name, T, cols } of byField.values()) {
    const read = (data: Float32Array, t: number) => {
      const cs = cols.get(t)!;
      const out = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        if (T === 1) out[p] = data[(sample * P + p) * W + cs[0]!]!;
        else {
          let s = 0;
          for (const col of cs) s += data[(sample * P + p) * W + col]! ** 2;
          out[p] = Math.sqrt(s);
        }
      }
      return out;
    };
    const diffOf = (t: number) => {
      const cs = cols.get(t)!;
      const out = new Float64Array(P);
      for (let p = 0; p < P; p++) {
        if (T === 1) out[p] = pd[(sample * P + p) * W + cs[0]!]! - td[(sample * P + p) * W + cs[0]!]!;
        else {
          let s = 0;
          for (const col of cs) s += (pd[(sample * P + p) * W + col]! - td[(sample * P + p) * W + col]!) ** 2;
          out[p] = Math.sqrt(s);
        }
      }
      return out;
    };
    const panels = { truth: shown.map((t) => read(td, t)), prediction: shown.map((t) => read(pd, t)), difference: shown.map(diffOf) };
    const absMax = (arrs: Float64Array[]) => Math.max(1e-30, ...arrs.map((a) => a.reduce((m, v) => Math.max(m, Math.abs(v)), 0)));
    const vmax = absMax([...panels.truth, ...panels.prediction]);
    const dmax = absMax(panels.difference);
    const scalar = T === 1;
    const ramp: Ramp = scalar ? divergingRgb : sequentialRgb;
    const range = (m: number) => (scalar ? [-m, m] : [0, m]) as [number, number];
    ROWS.forEach((r, ri) => {
      const y = top + (row + ri) * (ph + gap);
      const [lo, hi] = range(r === 'difference' ? dmax : vmax);
      const what = scalar ? '' : r === 'difference' ? ' |Δ|' : ' |·|';
      parts.push(`<text class="row-label" x="${left - 6}" y="${n2(y + ph / 2 + 4)}" text-anchor="end" font-size="10" ${FONT}>${esc(`${name}${what}`)}</text>`);
      parts.push(`<text class="row-label" x="${left - 6}" y="${n2(y + ph / 2 + 16)}" text-anchor="end" font-size="9" fill="#555" ${FONT}>${r}</text>`);
      shown.forEach((t, c) => {
        const x = left + c * (pw + gap);
        parts.push(
          `<g class="panel" data-field="${esc(name)}" data-row="${r}" data-step="${t}" data-vmin="${lo}" data-vmax="${hi}">` +
            `${heatImage(panels[r][c]!, nx, ny, lo, hi, ramp, x, y, pw, ph)}<rect x="${n2(x)}" y="${n2(y)}" width="${n2(pw)}" height="${n2(ph)}" fill="none" stroke="#444" stroke-width="0.6"/></g>`,
        );
      });
    });
    const bx = left + shown.length * (pw + gap) + 4;
    const [lo, hi] = range(vmax);
    parts.push(
      colorBar(bx, top + row * (ph + gap), 2 * ph + gap, lo, hi, ramp, scalar ? name : `|${name}|`, `data-field="${esc(name)}" data-rows="truth prediction"`),
    );
    const [dlo, dhi] = range(dmax);
    parts.push(
      colorBar(
        bx,
        top + (row + 2) * (ph + gap),
        ph,
        dlo,
        dhi,
        ramp,
        scalar ? 'difference' : '|difference|',
        `data-field="${esc(name)}" data-rows="difference"`,
      ),
    );
    row += 3;
  }
  const caption = `${nx}×${ny} grid; x = axis 0 to the right, y = axis 1 upwards, pixel (0, 0) bottom-left`;
  const width = Math.max(left + shown.length * (pw + gap) + barW, left + caption.length * 4.9);
  parts.push(`<text class="orientation" x="${left}" y="${n2(top + row * (ph + gap) + 8)}" font-size="9" fill="#333" ${FONT}>${esc(caption)}</text>`);
  const height = top + row * (ph + gap) + 16;
  return svgDoc(width, height, parts.join(''));
}

// ---------------------------------------------------------------------------------------------
// Line plots

/** One line of `linePlot`: a name, y values (x = their indices or given), a colour. */
export interface Series {
  readonly name: string;
  readonly x: ArrayLike<number>;
  readonly y: ArrayLike<number>;
  /** Line colour (default: SERIES_COLORS by position), e.g. to keep a model's colour across plots. */
  readonly color?: string;
}

/** Options of `linePlot`: titles, axis labels, log scale, size. */
export interface LinePlotOptions {
  readonly title?: string;
  readonly xLabel?: string;
  readonly yLabel?: string;
  readonly logX?: boolean;
  readonly logY?: boolean;
  /** Draw a dot at every point (default: when a series has at most 30 points). */
  readonly markers?: boolean;
  readonly width?: number;
  readonly height?: number;
}

/**
 * A line plot of several series with axes, ticks, axis labels and a legend. On a log axis,
 * non-positive and non-finite values are left out (the line breaks there).
 * @example
 * const svg = linePlot([
 *   { name: 'train', x: [1, 2, 3, 4], y: [0.9, 0.5, 0.3, 0.2] },
 *   { name: 'val', x: [1, 2, 3, 4], y: [1.0, 0.6, 0.45, 0.4] },
 * ], { title: 'Loss', xLabel: 'epoch', yLabel: 'SMSE', logY: true });
 */
export function linePlot(series: readonly Series[], o: LinePlotOptions = {}): string {
  const fn = 'linePlot';
  check(Array.isArray(series) && series.length > 0, fn, 'series', 'a non-empty array of { name, x, y }', series);
  series.forEach((s, i) =>
    check(
      s !== null && typeof s?.name === 'string' && s.x != null && s.y != null && s.x.length === s.y.length && s.x.length > 0,
      fn,
      `series[${i}]`,
      '{ name, x, y } with x and y of equal, non-zero length',
      s,
    ),
  );
  const { logX = false, logY = false, width = 560, height = 360 } = o;
  const ok = (v: number, log: boolean) => Number.isFinite(v) && (!log || v > 0);
  const xs: number[] = [],
    ys: number[] = [];
  for (const s of series)
    for (let i = 0; i < s.x.length; i++)
      if (ok(s.x[i]!, logX) && ok(s.y[i]!, logY)) {
        xs.push(s.x[i]!);
        ys.push(s.y[i]!);
      }
  check(xs.length > 0, fn, 'series values', logX || logY ? 'at least one finite point (positive on log axes)' : 'at least one finite point', 'none');
  let [x0, x1] = [Math.min(...xs), Math.max(...xs)];
  let [y0, y1] = [Math.min(...ys), Math.max(...ys)];
  if (logY) [y0, y1] = [10 ** Math.floor(Math.log10(y0) + 1e-9), 10 ** Math.ceil(Math.log10(y1) - 1e-9)];
  if (logX && x0 === x1) [x0, x1] = [x0 / 2, x1 * 2];
  if (!logX && x0 === x1) [x0, x1] = [x0 - 1, x1 + 1];
  if (logY && y0 === y1) [y0, y1] = [y0 / 10, y1 * 10];
  if (!logY) {
    if (y0 === y1) [y0, y1] = [y0 - 1, y1 + 1];
    const pad = 0.05 * (y1 - y0);
    [y0, y1] = [y0 - pad, y1 + pad];
  }
  const L = 72,
    R = 16,
    T = o.title ? 30 : 14,
    B = 46;
  const pw = width - L - R,
    ph = height - T - B;
  const tx = (v: number) => (logX ? (Math.log10(v) - Math.log10(x0)) / (Math.log10(x1) - Math.log10(x0)) : (v - x0) / (x1 - x0)) * pw + L;
  const ty = (v: number) => T + ph - (logY ? (Math.log10(v) - Math.log10(y0)) / (Math.log10(y1) - Math.log10(y0)) : (v - y0) / (y1 - y0)) * ph;
  const parts: string[] = [];
  if (o.title) parts.push(`<text class="title" x="${n2(L + pw / 2)}" y="18" text-anchor="middle" font-size="13" ${FONT}>${esc(o.title)}</text>`);
  const xt = logX ? logTicks(x0, x1) : linearTicks(x0, x1);
  const yt = logY ? logTicks(y0, y1) : linearTicks(y0, y1);
  const axis: string[] = [];
  for (const v of xt) {
    const X = tx(v);
    axis.push(
      `<line class="tick" x1="${n2(X)}" y1="${T + ph}" x2="${n2(X)}" y2="${T + ph + 5}" stroke="#333"/><line x1="${n2(X)}" y1="${T}" x2="${n2(X)}" y2="${T + ph}" stroke="#eee"/>` +
        `<text class="tick-label" x="${n2(X)}" y="${T + ph + 17}" text-anchor="middle" font-size="10" ${FONT}>${esc(tickText(v, logX))}</text>`,
    );
  }
  parts.push(`<g class="axis x-axis" data-log="${logX}">${axis.join('')}</g>`);
  axis.length = 0;
  for (const v of yt) {
    const Y = ty(v);
    axis.push(
      `<line class="tick" x1="${L - 5}" y1="${n2(Y)}" x2="${L}" y2="${n2(Y)}" stroke="#333"/><line x1="${L}" y1="${n2(Y)}" x2="${L + pw}" y2="${n2(Y)}" stroke="#eee"/>` +
        `<text class="tick-label" x="${L - 8}" y="${n2(Y + 3)}" text-anchor="end" font-size="10" ${FONT}>${esc(tickText(v, logY))}</text>`,
    );
  }
  parts.push(`<g class="axis y-axis" data-log="${logY}">${axis.join('')}</g>`);
  parts.push(`<rect x="${L}" y="${T}" width="${pw}" height="${ph}" fill="none" stroke="#333"/>`);
  if (o.xLabel)
    parts.push(`<text class="axis-label x-label" x="${n2(L + pw / 2)}" y="${height - 8}" text-anchor="middle" font-size="11" ${FONT}>${esc(o.xLabel)}</text>`);
  if (o.yLabel)
    parts.push(
      `<text class="axis-label y-label" transform="translate(16,${n2(T + ph / 2)}) rotate(-90)" text-anchor="middle" font-size="11" ${FONT}>${esc(o.yLabel)}</text>`,
    );
  series.forEach((s, i) => {
    const color = s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]!;
    const runs: string[][] = [[]];
    const dots: string[] = [];
    const markers = o.markers ?? s.x.length <= 30;
    for (let j = 0; j < s.x.length; j++) {
      if (!ok(s.x[j]!, logX) || !ok(s.y[j]!, logY)) {
        if (runs.at(-1)!.length) runs.push([]);
        continue;
      }
      const [X, Y] = [tx(s.x[j]!), ty(s.y[j]!)];
      runs.at(-1)!.push(`${n2(X)},${n2(Y)}`);
      if (markers) dots.push(`<circle cx="${n2(X)}" cy="${n2(Y)}" r="2.5" fill="${color}"/>`);
    }
    const lines = runs
      .filter((r) => r.length)
      .map((r) => `<polyline class="series" data-name="${esc(s.name)}" points="${r.join(' ')}" fill="none" stroke="${color}" stroke-width="1.6"/>`);
    parts.push(`<g class="series-group" data-name="${esc(s.name)}">${lines.join('')}${dots.join('')}</g>`);
  });
  const legend = series.map((s, i) => {
    const y = T + 14 + i * 15;
    const x = L + pw - 150;
    return `<line x1="${x}" y1="${y - 4}" x2="${x + 20}" y2="${y - 4}" stroke="${s.color ?? SERIES_COLORS[i % SERIES_COLORS.length]}" stroke-width="2"/><text class="legend-label" x="${x + 26}" y="${y}" font-size="10" ${FONT}>${esc(s.name)}</text>`;
  });
  parts.push(
    `<g class="legend"><rect x="${L + pw - 156}" y="${T + 4}" width="150" height="${series.length * 15 + 6}" fill="white" fill-opacity="0.85" stroke="#bbb"/>${legend.join('')}</g>`,
  );
  return svgDoc(width, height, parts.join(''));
}

/**
 * Rollout SMSE against the rollout step (1 … S) for several models, log y axis.
 * @example
 * const svg = rolloutLossPlot([{ name: 'UNet', perStep: unet.perStep }, { name: 'ResNet', perStep: resnet.perStep }]);
 */
export function rolloutLossPlot(
  models: readonly { readonly name: string; readonly perStep: ArrayLike<number> }[],
  o: Omit<LinePlotOptions, 'logY'> = {},
): string {
  check(Array.isArray(models) && models.length > 0, 'rolloutLossPlot', 'models', 'a non-empty array of { name, perStep }', models);
  return linePlot(
    models.map((m) => ({ name: m.name, x: Array.from({ length: m.perStep?.length ?? 0 }, (_, i) => i + 1), y: m.perStep })),
    {
      title: 'Rollout SMSE vs step',
      xLabel: 'rollout step',
      yLabel: 'SMSE',
      ...o,
      logY: true,
    },
  );
}

/**
 * Power spectra (truth and each model) on log–log axes.
 * @example
 * const svg = spectrumPlot([{ name: 'truth', spectrum: trueSpectrum }, { name: 'UNet', spectrum: predictedSpectrum }]);
 */
export function spectrumPlot(
  spectra: readonly { readonly name: string; readonly spectrum: PowerSpectrum; readonly color?: string }[],
  o: Omit<LinePlotOptions, 'logX' | 'logY'> = {},
): string {
  check(Array.isArray(spectra) && spectra.length > 0, 'spectrumPlot', 'spectra', 'a non-empty array of { name, spectrum }', spectra);
  return linePlot(
    spectra.map((s) => ({ name: s.name, x: s.spectrum?.k, y: s.spectrum?.power, color: s.color }) as Series),
    {
      title: 'Power spectrum',
      xLabel: 'wavenumber |k|',
      yLabel: 'power',
      ...o,
      logX: true,
      logY: true,
    },
  );
}

// ---------------------------------------------------------------------------------------------
// Shorthands for the emulation job (src/emulate.ts)

/** The spectra of fields at one step: field spectra (from fieldSpectra) with their name and step. */
export interface NamedSpectrum {
  readonly name: string;
  readonly step: number;
  readonly k?: number;
  readonly parity?: 0 | 1;
  readonly field?: number;
  readonly spectrum: PowerSpectrum;
}

/**
 * One log–log spectrum plot per field at rollout step `step` (default the last), truth and every
 * model on each, side by side in one SVG. `truth` and each model's `spectra` come from fieldSpectra
 * of the true and predicted rollouts (same steps and field names).
 * @example
 * const truth = await fieldSpectra(yFuture, { steps: 10 });
 * const svg = plotSpectra(truth, [{ name: 'UNet', spectra: await fieldSpectra(rollout, { steps: 10 }) }]); // the last step
 */
export function plotSpectra(
  truth: readonly NamedSpectrum[],
  models: readonly { readonly name: string; readonly spectra: readonly NamedSpectrum[] }[],
  o: { readonly step?: number; readonly width?: number; readonly height?: number } = {},
): string {
  const fn = 'plotSpectra';
  check(Array.isArray(truth) && truth.length > 0, fn, 'truth', 'a non-empty array of field spectra (from fieldSpectra)', truth);
  check(Array.isArray(models), fn, 'models', 'an array of { name, spectra }', models);
  const lastStep = Math.max(...truth.map((s) => s.step));
  const step = o.step ?? lastStep;
  const id = (s: NamedSpectrum) => `${s.k},${s.parity},${s.field},${s.name}`;
  const fields = truth.filter((s) => s.step === step);
  check(fields.length > 0, fn, 'step', `a step of the spectra (0 … ${lastStep})`, step);
  const width = o.width ?? 420,
    height = o.height ?? 320;
  const plots = fields.map((f, i) => {
    // truth in black, models in the colours they have in the other plots (their position)
    const series = [
      { name: 'truth', spectrum: f.spectrum, color: '#000000' },
      ...models.map((m, j) => {
        const s = m.spectra.find((x: NamedSpectrum) => x.step === step && id(x) === id(f));
        check(s !== undefined, fn, `spectra of model "${m.name}"`, `to hold field "${f.name}" at step ${step}`, 'none');
        return { name: m.name, spectrum: s.spectrum, color: SERIES_COLORS[j % SERIES_COLORS.length]! };
      }),
    ];
    const svg = spectrumPlot(series, { title: `${f.name}, step ${step + 1}`, width, height });
    return svg.replace(/^<svg /, `<svg x="${i * width}" y="0" `);
  });
  return svgDoc(width * plots.length, height, plots.join(''));
}
