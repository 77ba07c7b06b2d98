/**
 * SVG pictures of 2-D geometric images (ginjax's plots, as standalone SVG strings): scalar fields as
 * heat maps with a colour bar, vector fields as arrows over a faint norm map, 2-tensors as glyphs
 * (diagonal components as arrow pairs — outward for positive, inward for negative — and off-diagonal
 * components as a tilted bar). Axis 0 is x (to the right), axis 1 is y (upwards).
 */
import { check } from '../core/errors.js';

export interface PlotOptions {
  readonly title?: string;
  readonly vmin?: number;
  readonly vmax?: number;
  /** Pixel size of one image cell. */
  readonly cell?: number;
  readonly colorbar?: boolean;
}

/** A diverging brown–white–teal ramp (after matplotlib's BrBG) for t in [0, 1], as [r, g, b] in 0…255. */
export function divergingRgb(t: number): [number, number, number] {
  const stops: [number, number, number][] = [[84, 48, 5], [191, 129, 45], [246, 232, 195], [245, 245, 245], [199, 234, 229], [53, 151, 143], [0, 60, 48]];
  const x = Math.min(1, Math.max(0, Number.isNaN(t) ? 0.5 : t)) * (stops.length - 1);
  const i = Math.min(stops.length - 2, Math.floor(x));
  const f = x - i;
  const c = stops[i]!.map((v, j) => Math.round(v + f * (stops[i + 1]![j]! - v)));
  return [c[0]!, c[1]!, c[2]!];
}

/** A sequential white–purple–red ramp (after PuRd) for norms, t in [0, 1], as [r, g, b]. */
export function sequentialRgb(t: number): [number, number, number] {
  const u = Math.min(1, Math.max(0, Number.isNaN(t) ? 0 : t));
  return [Math.round(247 - 95 * u), Math.round(244 - 244 * u), Math.round(249 - 180 * u)];
}

const css = ([r, g, b]: readonly number[]) => `rgb(${r},${g},${b})`;
/** divergingRgb as a CSS colour. */
export const diverging = (t: number): string => css(divergingRgb(t));
/** sequentialRgb as a CSS colour. */
export const sequential = (t: number): string => css(sequentialRgb(t));

/** A short label for a colour-bar value. */
export const fmt = (v: number) => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2));
/** Escapes text for SVG/XML. */
export const esc = (s: string) => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);

function arrow(x: number, y: number, dx: number, dy: number, color: string, width: number): string {
  const len = Math.hypot(dx, dy);
  if (len < 1e-9) return '';
  const hx = (dx / len) * Math.min(len * 0.4, 4 * width + 2);
  const hy = (dy / len) * Math.min(len * 0.4, 4 * width + 2);
  const ex = x + dx, ey = y + dy;
  return `<line x1="${x.toFixed(2)}" y1="${y.toFixed(2)}" x2="${ex.toFixed(2)}" y2="${ey.toFixed(2)}" stroke="${color}" stroke-width="${width}"/>` +
    `<polygon points="${ex.toFixed(2)},${ey.toFixed(2)} ${(ex - hx - hy * 0.5).toFixed(2)},${(ey - hy + hx * 0.5).toFixed(2)} ${(ex - hx + hy * 0.5).toFixed(2)},${(ey - hy - hx * 0.5).toFixed(2)}" fill="${color}"/>`;
}

/**
 * Renders one 2-D image (data row-major over [Nx, Ny, (2,)*k], k ≤ 2) as an SVG document.
 */
export function plotImage(data: ArrayLike<number>, spatial: readonly number[], k: number, o: PlotOptions = {}): string {
  check(spatial.length === 2, 'plotImage', 'spatial', 'two sizes (D = 2 images only)', spatial);
  check(Number.isInteger(k) && k >= 0 && k <= 2, 'plotImage', 'k', '0, 1 or 2', k);
  const [nx, ny] = spatial as [number, number];
  const T = 2 ** k;
  check(data.length === nx * ny * T, 'plotImage', 'data length', `${nx * ny * T}`, data.length);
  const cell = o.cell ?? Math.max(6, Math.min(24, Math.floor(320 / Math.max(nx, ny))));
  const top = o.title ? 22 : 6;
  const barW = o.colorbar === false ? 0 : 56;
  const W = nx * cell + 12 + barW;
  const H = ny * cell + top + 6;
  const px = (i: number) => 6 + (i + 0.5) * cell;
  const py = (j: number) => top + (ny - 1 - j + 0.5) * cell;
  const at = (i: number, j: number, t: number) => data[(i * ny + j) * T + t]!;
  const norms: number[] = [];
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
    let s = 0;
    for (let t = 0; t < T; t++) s += at(i, j, t) ** 2;
    norms.push(Math.sqrt(s));
  }
  const parts: string[] = [];
  let vmin: number, vmax: number, ramp: (t: number) => string;
  if (k === 0) {
    const values = norms.map((_, p) => data[p]!);
    const m = Math.max(1e-12, ...values.map(Math.abs));
    vmin = o.vmin ?? -m;
    vmax = o.vmax ?? m;
    ramp = diverging;
  } else {
    vmin = o.vmin ?? 0;
    vmax = o.vmax ?? Math.max(1e-12, ...norms);
    ramp = sequential;
  }
  const scale = (v: number) => (v - vmin) / (vmax - vmin || 1);
  const maxNorm = Math.max(1e-12, ...norms);
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) {
    const v = k === 0 ? at(i, j, 0) : norms[i * ny + j]!;
    const fill = k === 0 ? ramp(scale(v)) : ramp(0.6 * scale(v));
    parts.push(`<rect x="${6 + i * cell}" y="${top + (ny - 1 - j) * cell}" width="${cell}" height="${cell}" fill="${fill}"/>`);
  }
  // Large vector fields: one arrow per `every`² pixels (centred in its block), so arrows stay readable.
  const every = k === 1 ? Math.max(1, Math.ceil(Math.max(nx, ny) / 20)) : 1;
  const reach = (0.45 * every * cell) / Math.max(vmax, 1e-12); // one scale for every panel that shares vmax
  for (let i = Math.floor(every / 2); i < nx && k > 0; i += every) for (let j = Math.floor(every / 2); j < ny; j += every) {
    if (norms[i * ny + j]! < 1e-6 * maxNorm) continue;
    if (k === 1) {
      const dx = at(i, j, 0) * reach, dy = -at(i, j, 1) * reach;
      parts.push(arrow(px(i) - dx / 2, py(j) - dy / 2, dx, dy, '#111', Math.max(0.6, cell / 20)));
    } else {
      // Diagonal: T00 horizontal, T11 vertical, outward if positive; off-diagonal: a bar along ±45°.
      const w = Math.max(0.6, cell / 24);
      // An outward pair of arrows for a positive diagonal component, an inward pair for a negative one.
      const pair = (r: number, ux: number, uy: number) => [1, -1].map((side) => {
        const [sx, sy] = [side * ux * Math.abs(r), side * uy * Math.abs(r)];
        return r >= 0 ? arrow(px(i), py(j), sx, sy, '#1a7f37', w) : arrow(px(i) + sx, py(j) + sy, -sx, -sy, '#111', w);
      }).join('');
      parts.push(pair(at(i, j, 0) * reach / 2, 1, 0), pair(at(i, j, 3) * reach / 2, 0, -1));
      const off = (at(i, j, 1) + at(i, j, 2)) / 2 * reach / 2;
      if (Math.abs(off) > 1e-9) {
        parts.push(`<line x1="${(px(i) - off).toFixed(2)}" y1="${(py(j) + Math.abs(off) * Math.sign(off)).toFixed(2)}" x2="${(px(i) + off).toFixed(2)}" y2="${(py(j) - Math.abs(off) * Math.sign(off)).toFixed(2)}" stroke="#2458c6" stroke-width="${w * 2}" stroke-linecap="round"/>`);
      }
    }
  }
  parts.push(`<rect x="6" y="${top}" width="${nx * cell}" height="${ny * cell}" fill="none" stroke="#444" stroke-width="0.8"/>`);
  if (barW) {
    const bx = nx * cell + 18, bh = ny * cell, steps = 40;
    for (let s = 0; s < steps; s++) {
      const t = 1 - (s + 0.5) / steps;
      parts.push(`<rect x="${bx}" y="${(top + (s * bh) / steps).toFixed(2)}" width="10" height="${(bh / steps + 0.5).toFixed(2)}" fill="${k === 0 ? ramp(t) : ramp(0.6 * t)}"/>`);
    }
    parts.push(`<rect x="${bx}" y="${top}" width="10" height="${bh}" fill="none" stroke="#444" stroke-width="0.6"/>`);
    parts.push(`<text x="${bx + 13}" y="${top + 8}" font-size="9" font-family="sans-serif">${esc(fmt(vmax))}</text>`);
    parts.push(`<text x="${bx + 13}" y="${top + bh}" font-size="9" font-family="sans-serif">${esc(fmt(vmin))}</text>`);
    if (k > 0) parts.push(`<text x="${bx + 13}" y="${top + bh / 2}" font-size="8" font-family="sans-serif">norm</text>`);
  }
  if (o.title) parts.push(`<text x="6" y="15" font-size="12" font-family="sans-serif">${esc(o.title)}</text>`);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"><rect width="100%" height="100%" fill="white"/>${parts.join('')}</svg>`;
}

/** Lays out several SVG documents side by side in rows of `columns`. */
export function plotGrid(svgs: readonly string[], columns = svgs.length): string {
  const sizes = svgs.map((s) => {
    const m = /width="(\d+(?:\.\d+)?)" height="(\d+(?:\.\d+)?)"/.exec(s);
    return m ? [Number(m[1]), Number(m[2])] as const : ([0, 0] as const);
  });
  const colW = Math.max(...sizes.map((s) => s[0]));
  const rowH = Math.max(...sizes.map((s) => s[1]));
  const rows = Math.ceil(svgs.length / columns);
  const body = svgs.map((s, i) => `<g transform="translate(${(i % columns) * colW},${Math.floor(i / columns) * rowH})">${s.replace(/^<svg[^>]*>/, '').replace(/<\/svg>$/, '')}</g>`).join('');
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${colW * Math.min(columns, svgs.length)}" height="${rowH * rows}">${body}</svg>`;
}
