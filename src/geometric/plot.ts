/**
 * SVG pictures of geometric images (ginjax's plots, as standalone SVG strings with a viewBox), drawn
 * at a natural size of `cell` units per pixel with axes, ticks and a labelled colour bar.
 *
 * Orientation: axis 0 is x (to the right), axis 1 is y (upwards); pixel (0, 0) is bottom-left, and
 * every plot says so on its axes ("x (axis 0) →", "y (axis 1) →").
 *
 * - Scalars (k = 0): a heat map. Signed fields use a diverging map symmetric about 0 (±max|v|);
 *   non-negative fields (min ≥ 0, or `map: 'sequential'`) a sequential map over [0, max].
 * - Vectors (k = 1): one arrow per pixel over a light heat map of the norm. The arrow of norm `vmax`
 *   (default: the largest norm) is 0.9 pixel cells long, so neighbours never overlap; beyond
 *   `maxArrows` pixels per side (32) one arrow shows the mean over each s×s block of pixels
 *   (s = ⌈N / maxArrows⌉), at the block's centre and scaled to 0.9·s cells, which the picture notes. A key shows an arrow of a round value.
 * - 2-tensors (k = 2): a glyph per pixel over a grey heat map of the Frobenius norm: the symmetric
 *   part as bars along its principal axes, length ∝ |eigenvalue| (red λ > 0, blue λ < 0), and the
 *   antisymmetric part a = (T_xy − T_yx)/2 as a circle of radius ∝ |a| (solid a > 0, dashed a < 0).
 *   A legend under the plot says this.
 * - D = 3: one panel per z slice (default: up to three, at the quartiles, the middle included), side by
 *   side on one shared scale. Scalars as above; vectors as in-plane arrows (v_x, v_y) over a diverging
 *   map of the out-of-plane component v_z (±vmax); 2-tensors as the glyph of the in-plane block
 *   (T_xx, T_xy, T_yx, T_yy) over the norm of the whole tensor.
 */
import { check } from '../core/errors.js';
import {
  AXES_BOTTOM,
  AXES_LEFT,
  COLORBAR_WIDTH,
  FONT,
  arrowSvg,
  colorBar,
  divergingRgb,
  esc,
  greyRgb,
  heatImage,
  imageAxes,
  n2,
  sequentialRgb,
  svgDoc,
  tickText,
  type Ramp,
} from './svg.js';

export { divergingRgb, sequentialRgb, esc, fmt } from './svg.js';

/** Options of `plotImage`: title, colour map and range, arrow scale, size, slices for D = 3. */
export interface PlotOptions {
  readonly title?: string;
  /**
   * Colour range. Scalars: default ±max|v| (diverging) or [0, max] (sequential). Vectors and tensors:
   * vmax is also the arrow/glyph scale (a value of vmax is drawn 0.9 cells long), so panels given the
   * same vmax share both the colours and the arrow lengths.
   */
  readonly vmin?: number;
  readonly vmax?: number;
  /** Size of one pixel in SVG units (default: 384 / N, clamped to 6…40). */
  readonly cell?: number;
  /** Draw the colour bar (default true). */
  readonly colorbar?: boolean;
  /** Label of the colour bar (default: "value", "|v|", "‖T‖" or "v_z (out of plane)"). */
  readonly label?: string;
  /** Scalar colour map: 'auto' (default: sequential when the field, or vmin, is ≥ 0), 'diverging' or 'sequential'. */
  readonly map?: 'auto' | 'diverging' | 'sequential';
  /** Draw axes, ticks and axis labels (default true). */
  readonly axes?: boolean;
  /** D = 3: the z indices shown (default: all when nz ≤ 3, else ⌊nz/4⌋, ⌊nz/2⌋, ⌊3nz/4⌋). */
  readonly slices?: readonly number[];
  /** Arrows / glyphs per side before subsampling (default 32). */
  readonly maxArrows?: number;
}

const fnName = 'plotImage';
const ARROW_COLOR = '#111';
const POS_COLOR = '#c62828';
const NEG_COLOR = '#1f4fbf';

/** Lightened ramps for backgrounds under arrows and glyphs (so black/red/blue marks stay visible). */
const lightSequential: Ramp = (t) => sequentialRgb(0.55 * t);
const lightDiverging: Ramp = (t) => divergingRgb(0.5 + 0.62 * (t - 0.5));

/** A round value ≤ ref (1, 2 or 5 × 10^n) for a scale key. */
function keyValue(ref: number): number {
  const mag = 10 ** Math.floor(Math.log10(ref));
  return [5, 2, 1].map((m) => m * mag).find((v) => v <= ref * (1 + 1e-9)) ?? mag;
}

/** Eigen-decomposition of a symmetric 2×2 [[a, b], [b, c]]: [λ1, λ2, angle of λ1's axis]. */
function sym2(a: number, b: number, c: number): [number, number, number] {
  const m = (a + c) / 2,
    r = Math.hypot((a - c) / 2, b);
  return [m + r, m - r, 0.5 * Math.atan2(2 * b, a - c)];
}

/**
 * Renders one geometric image as an SVG document. `data` is row-major over [...spatial, (D,)*k]
 * with D = spatial.length (2 or 3) and k ≤ 2 — ginjax's layout of one channel.
 * @example
 * const svg = plotImage(await x.values('1,0'), [16, 16], 1, { title: 'velocity' }); // sample 0, channel 0 of the vector block
 */
export function plotImage(data: ArrayLike<number>, spatial: readonly number[], k: number, o: PlotOptions = {}): string {
  check(
    Array.isArray(spatial) && (spatial.length === 2 || spatial.length === 3) && spatial.every((n) => Number.isInteger(n) && n >= 1),
    fnName,
    'spatial',
    'two or three positive sizes (D = 2 or 3)',
    spatial,
  );
  check(Number.isInteger(k) && k >= 0 && k <= 2, fnName, 'k', '0, 1 or 2', k);
  const D = spatial.length;
  const [nx, ny, nz = 1] = spatial as [number, number, number?];
  const T = D ** k;
  check(
    data != null && data.length === nx * ny * nz * T,
    fnName,
    'data length',
    `${nx * ny * nz * T} (${[...spatial, ...Array(k).fill(D)].join('×')})`,
    data?.length,
  );
  check(o.vmin === undefined || Number.isFinite(o.vmin), fnName, 'vmin', 'a finite number', o.vmin);
  check(
    o.vmax === undefined || (Number.isFinite(o.vmax) && (k === 0 || o.vmax > 0)),
    fnName,
    'vmax',
    k === 0 ? 'a finite number' : 'a positive number (the arrow scale)',
    o.vmax,
  );
  check(o.map === undefined || ['auto', 'diverging', 'sequential'].includes(o.map), fnName, 'map', "'auto', 'diverging' or 'sequential'", o.map);
  const maxArrows = o.maxArrows ?? 32;
  check(Number.isInteger(maxArrows) && maxArrows >= 1, fnName, 'maxArrows', 'an integer >= 1', maxArrows);
  const cell = o.cell ?? Math.max(6, Math.min(40, Math.floor(384 / Math.max(nx, ny))));
  check(Number.isFinite(cell) && cell > 0, fnName, 'cell', 'a positive number', cell);
  const defaultSlices = nz <= 3 ? Array.from({ length: nz }, (_, z) => z) : [...new Set([Math.floor(nz / 4), Math.floor(nz / 2), Math.floor((3 * nz) / 4)])];
  const slices = D === 3 ? (o.slices ?? defaultSlices) : [0];
  check(
    Array.isArray(slices) && slices.length > 0 && slices.every((z) => Number.isInteger(z) && z >= 0 && z < nz),
    fnName,
    'slices',
    `a non-empty list of z indices in [0, ${nz})`,
    o.slices,
  );

  const at = (i: number, j: number, z: number, t: number) => data[((i * ny + j) * nz + z) * T + t]!;
  // Per pixel of each shown slice: the background value and (k ≥ 1) the norm of the whole tensor.
  const norms = new Float64Array(nx * ny * nz);
  let dataMin = Infinity,
    dataMaxAbs = 0;
  for (let p = 0; p < nx * ny * nz; p++) {
    let s = 0;
    for (let t = 0; t < T; t++) {
      const v = data[p * T + t]!;
      s += v * v;
      if (v < dataMin) dataMin = v;
    }
    norms[p] = Math.sqrt(s);
    dataMaxAbs = Math.max(dataMaxAbs, norms[p]!);
  }
  const axes = o.axes !== false;
  let vmin: number, vmax: number, ramp: Ramp, label: string;
  if (k === 0) {
    const sequentialMap = o.map === 'sequential' || ((o.map ?? 'auto') === 'auto' && (o.vmin !== undefined ? o.vmin >= 0 : dataMin >= 0));
    const m = dataMaxAbs || 1;
    vmin = o.vmin ?? (sequentialMap ? 0 : -(o.vmax ?? m));
    vmax = o.vmax ?? (sequentialMap ? m : Math.abs(vmin));
    ramp = sequentialMap ? sequentialRgb : divergingRgb;
    label = o.label ?? 'value';
  } else {
    vmax = o.vmax ?? (dataMaxAbs || 1);
    if (D === 3 && k === 1) {
      vmin = -vmax;
      ramp = lightDiverging;
      label = o.label ?? 'v_z (out of plane)';
    } else {
      vmin = o.vmin ?? 0;
      ramp = k === 1 ? lightSequential : greyRgb;
      label = o.label ?? (k === 1 ? '|v|' : '‖T‖');
    }
  }
  check(vmax > vmin, fnName, 'vmin, vmax', 'vmin < vmax', [vmin, vmax]);

  const every = Math.max(1, Math.ceil(Math.max(nx, ny) / maxArrows));
  const reach = (0.9 * every * cell) / vmax; // SVG units per data unit: a value of vmax spans 0.9·every cells
  const w = nx * cell,
    h = ny * cell;
  const left = axes ? AXES_LEFT + 6 : 6;
  const gapX = axes ? 22 : 8;
  const titleH = o.title ? 20 : 6;
  const sliceH = D === 3 ? 14 : 0;
  const top = titleH + sliceH;
  const parts: string[] = [];
  if (o.title) parts.push(`<text class="title" x="${left}" y="15" font-size="12" font-weight="bold" ${FONT}>${esc(o.title)}</text>`);
  const markW = Math.max(1, (every * cell) / 16);
  slices.forEach((z, si) => {
    const x0 = left + si * (w + gapX);
    const px = (i: number) => x0 + (i + 0.5) * cell;
    const py = (j: number) => top + h - (j + 0.5) * cell;
    if (D === 3)
      parts.push(
        `<text class="slice-label" x="${n2(x0 + w / 2)}" y="${titleH + 10}" text-anchor="middle" font-size="10" ${FONT}>z = ${z}${z === Math.floor(nz / 2) ? ' (middle)' : ''} of ${nz}</text>`,
      );
    const bg = new Float64Array(nx * ny);
    for (let i = 0; i < nx; i++)
      for (let j = 0; j < ny; j++) bg[i * ny + j] = k === 0 ? at(i, j, z, 0) : D === 3 && k === 1 ? at(i, j, z, 2) : norms[(i * ny + j) * nz + z]!;
    const marks: string[] = [];
    // One mark per every×every block (every = 1: per pixel): the block's mean, at the block's centre.
    for (let bi = 0; bi < nx && k > 0; bi += every)
      for (let bj = 0; bj < ny; bj += every) {
        const [ei, ej] = [Math.min(nx, bi + every), Math.min(ny, bj + every)];
        const m = (t: number) => {
          let sum = 0;
          for (let i = bi; i < ei; i++) for (let j = bj; j < ej; j++) sum += at(i, j, z, t);
          return sum / ((ei - bi) * (ej - bj));
        };
        const [cx, cy] = [px((bi + ei - 1) / 2), py((bj + ej - 1) / 2)];
        if (k === 1) {
          const [vx, vy] = [m(0), m(1)];
          marks.push(arrowSvg(cx - (vx * reach) / 2, cy + (vy * reach) / 2, vx * reach, -vy * reach, ARROW_COLOR, markW, 0.45 * every * cell));
        } else {
          const [a, b1, b2, c] = [m(0), m(1), m(D), m(D + 1)];
          marks.push(tensorGlyph(cx, cy, a, (b1 + b2) / 2, c, (b1 - b2) / 2, reach, markW));
        }
      }
    parts.push(
      `<g class="slice" data-z="${z}">${heatImage(bg, nx, ny, vmin, vmax, ramp, x0, top, w, h)}<g class="${k === 1 ? 'arrows' : 'glyphs'}">${marks.join('')}</g>` +
        `${axes ? imageAxes(x0, top, nx, ny, cell, { yLabel: si === 0 }) : `<rect class="frame" x="${n2(x0)}" y="${top}" width="${n2(w)}" height="${n2(h)}" fill="none" stroke="#333" stroke-width="0.8"/>`}</g>`,
    );
  });
  const plotsW = left + slices.length * w + (slices.length - 1) * gapX;
  let bottom = top + h + (axes ? AXES_BOTTOM : 6);
  const barX = plotsW + 10;
  if (o.colorbar !== false) parts.push(colorBar(barX, top, h, vmin, vmax, ramp, label));
  // Scale keys and notes under the plot.
  const notes: string[] = [];
  if (k === 1) {
    const kv = keyValue(vmax);
    const len = kv * reach;
    const y = bottom + 10;
    notes.push(
      `<g class="arrow-key" data-value="${kv}" data-length="${n2(len)}">${arrowSvg(left, y, len, 0, ARROW_COLOR, markW, 0.45 * every * cell)}` +
        `<text x="${n2(left + len + 6)}" y="${n2(y + 4)}" font-size="10" ${FONT}>= ${esc(tickText(kv))}${D === 3 ? ' (in-plane v_x, v_y)' : ''}</text></g>`,
    );
    bottom += 18;
  }
  if (k === 2) {
    const kv = keyValue(vmax);
    const len = kv * reach;
    const y = bottom + 10;
    const lines = [
      'glyph: symmetric part as bars along its principal axes,',
      'length ∝ |λ|, red λ > 0, blue λ < 0; antisymmetric part',
      'a = (T_xy − T_yx)/2 as a circle, radius ∝ |a|, solid a > 0,',
      `dashed a < 0${D === 3 ? '; in-plane block (T_xx, T_xy, T_yx, T_yy)' : ''}`,
    ];
    notes.push(
      `<g class="legend glyph-legend"><g class="glyph-key" data-value="${kv}" data-length="${n2(len)}">` +
        `<line x1="${n2(left)}" y1="${n2(y)}" x2="${n2(left + len)}" y2="${n2(y)}" stroke="${POS_COLOR}" stroke-width="${n2(1.5 * markW)}" stroke-linecap="butt"/>` +
        `<text x="${n2(left + len + 6)}" y="${n2(y + 4)}" font-size="10" ${FONT}>|λ| = ${esc(tickText(kv))}</text></g>` +
        lines.map((l, i) => `<text x="${left}" y="${n2(y + 16 + 11 * i)}" font-size="9" fill="#333" ${FONT}>${esc(l)}</text>`).join('') +
        '</g>',
    );
    bottom += 18 + 11 * lines.length;
  }
  if (k > 0 && every > 1) {
    notes.push(
      `<text class="subsample-note" x="${left}" y="${n2(bottom + 10)}" font-size="9" fill="#333" ${FONT}>${k === 1 ? 'arrows' : 'glyphs'}: means over ${every}×${every}-pixel blocks</text>`,
    );
    bottom += 14;
  }
  parts.push(...notes);
  const width = Math.max(barX + (o.colorbar !== false ? COLORBAR_WIDTH : 0), k === 2 ? left + 270 : 0, left + (o.title?.length ?? 0) * 6.8) + 4;
  const desc = `<desc>${esc(`${['scalar', 'vector', '2-tensor'][k]} field on a ${spatial.join('×')} grid; x = axis 0 to the right, y = axis 1 upwards, pixel (0, 0) bottom-left`)}</desc>`;
  return svgDoc(width, bottom + 4, desc + parts.join(''), ` data-k="${k}" data-d="${D}" data-vmin="${vmin}" data-vmax="${vmax}" data-every="${every}"`);
}

/** The 2-tensor glyph at (cx, cy): principal-axis bars of the symmetric part [[a, b], [b, c]] and a circle for the antisymmetric part s. */
function tensorGlyph(cx: number, cy: number, a: number, b: number, c: number, s: number, reach: number, width: number): string {
  const [l1, l2, angle] = sym2(a, b, c);
  const out: string[] = [];
  for (const [lam, th] of [
    [l1, angle],
    [l2, angle + Math.PI / 2],
  ] as const) {
    const half = (Math.abs(lam) * reach) / 2;
    if (half < 0.05) continue;
    const [dx, dy] = [Math.cos(th) * half, -Math.sin(th) * half]; // SVG y points down
    out.push(
      `<line x1="${n2(cx - dx)}" y1="${n2(cy - dy)}" x2="${n2(cx + dx)}" y2="${n2(cy + dy)}" stroke="${lam >= 0 ? POS_COLOR : NEG_COLOR}" stroke-width="${n2(1.5 * width)}"/>`,
    );
  }
  const r = (Math.abs(s) * reach) / 2;
  if (r >= 2 * width)
    out.push(
      `<circle cx="${n2(cx)}" cy="${n2(cy)}" r="${n2(r)}" fill="none" stroke="#333" stroke-width="${n2(width)}"${s < 0 ? ` stroke-dasharray="${n2(2 * width)} ${n2(1.5 * width)}"` : ''}/>`,
    );
  return out.join('');
}

/** Options of `plotGrid`: titles, shared colour scales, columns. */
export interface GridOptions {
  /** A title above the grid (e.g. the task and metric). */
  readonly title?: string;
  /** Labels of the rows, drawn at their left (e.g. "sample 0"). */
  readonly rowLabels?: readonly string[];
}

/**
 * Lays out several SVG documents in rows of `columns` (each column as wide as its widest picture),
 * as nested <svg> elements, so each keeps its own viewBox. The result has a viewBox too.
 * @example
 * const grid = plotGrid([plotImage(u, [16, 16], 0), plotImage(v, [16, 16], 1)], 2, { title: 'input and target' });
 */
export function plotGrid(svgs: readonly string[], columns = svgs.length, o: GridOptions = {}): string {
  check(
    Array.isArray(svgs) && svgs.length > 0 && svgs.every((s) => typeof s === 'string' && s.startsWith('<svg')),
    'plotGrid',
    'svgs',
    'a non-empty array of SVG documents',
    svgs,
  );
  check(Number.isInteger(columns) && columns >= 1, 'plotGrid', 'columns', 'an integer >= 1', columns);
  const sizes = svgs.map((s) => {
    const head = /^<svg[^>]*>/.exec(s)![0];
    const width = /\swidth="(\d+(?:\.\d+)?)"/.exec(head),
      height = /\sheight="(\d+(?:\.\d+)?)"/.exec(head);
    return [width ? Number(width[1]) : 0, height ? Number(height[1]) : 0] as const;
  });
  const cols = Math.min(columns, svgs.length);
  const rows = Math.ceil(svgs.length / cols);
  const colW = Array.from({ length: cols }, (_, c) => Math.max(...sizes.filter((_, i) => i % cols === c).map((s) => s[0])));
  const rowH = Array.from({ length: rows }, (_, r) => Math.max(...sizes.slice(r * cols, (r + 1) * cols).map((s) => s[1])));
  const left = o.rowLabels?.length ? 22 : 0;
  const top = o.title ? 26 : 0;
  const xAt = (c: number) => left + colW.slice(0, c).reduce((a, b) => a + b, 0);
  const yAt = (r: number) => top + rowH.slice(0, r).reduce((a, b) => a + b, 0);
  const parts: string[] = [];
  if (o.title) parts.push(`<text class="title" x="8" y="18" font-size="14" font-weight="bold" ${FONT}>${esc(o.title)}</text>`);
  o.rowLabels
    ?.slice(0, rows)
    .forEach((l, r) =>
      parts.push(
        `<text class="row-label" transform="translate(14,${n2(yAt(r) + rowH[r]! / 2)}) rotate(-90)" text-anchor="middle" font-size="11" ${FONT}>${esc(l)}</text>`,
      ),
    );
  svgs.forEach((s, i) => parts.push(s.replace(/^<svg /, `<svg x="${n2(xAt(i % cols))}" y="${n2(yAt(Math.floor(i / cols)))}" `)));
  return svgDoc(xAt(cols), yAt(rows), parts.join(''));
}
