/**
 * The drawing pieces shared by every SVG picture of geoconv (image plots in geometric/plot.ts, the
 * evaluation pictures in eval/pictures.ts): one implementation of colour ramps, nice tick values,
 * colour bars, image axes, arrows, PNG heat maps and the standalone document wrapper, so that all
 * pictures label their scales the same way.
 */
import { check } from '../core/errors.js';

export type Rgb = [number, number, number];
/** A colour ramp: t in [0, 1] → [r, g, b] in 0…255. */
export type Ramp = (t: number) => Rgb;

export const FONT = 'font-family="sans-serif"';
/** A coordinate with at most two decimals. */
export const n2 = (v: number): string => (Math.round(v * 100) / 100).toString();
/** Escapes text for SVG/XML. */
export const esc = (s: string): string => s.replace(/[<>&"]/g, (c) => ({ '<': '&lt;', '>': '&gt;', '&': '&amp;', '"': '&quot;' })[c]!);
/** A short label for a value (fixed two decimals, exponent form when very large or small). */
export const fmt = (v: number): string => (Math.abs(v) >= 100 || (Math.abs(v) < 0.01 && v !== 0) ? v.toExponential(1) : v.toFixed(2));

/** A standalone SVG document (white background, viewBox equal to its size, so it scales cleanly). */
export function svgDoc(width: number, height: number, body: string, extra = ''): string {
  const W = Math.ceil(width),
    H = Math.ceil(height);
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" viewBox="0 0 ${W} ${H}"${extra}><rect width="100%" height="100%" fill="white"/>${body}</svg>`;
}

function stopsRamp(stops: readonly Rgb[], nan: number): Ramp {
  return (t) => {
    const x = Math.min(1, Math.max(0, Number.isNaN(t) ? nan : t)) * (stops.length - 1);
    const i = Math.min(stops.length - 2, Math.floor(x));
    const f = x - i;
    const c = stops[i]!.map((v, j) => Math.round(v + f * (stops[i + 1]![j]! - v)));
    return [c[0]!, c[1]!, c[2]!];
  };
}

/** A diverging brown–white–teal ramp (after ColorBrewer's BrBG), white at t = 0.5: signed fields. */
export const divergingRgb: Ramp = stopsRamp(
  [
    [84, 48, 5],
    [191, 129, 45],
    [246, 232, 195],
    [245, 245, 245],
    [199, 234, 229],
    [53, 151, 143],
    [0, 60, 48],
  ],
  0.5,
);
/** A sequential white–purple–red ramp (after ColorBrewer's PuRd), white at t = 0: non-negative fields and norms. */
export const sequentialRgb: Ramp = stopsRamp(
  [
    [247, 244, 249],
    [212, 185, 218],
    [201, 148, 199],
    [223, 101, 176],
    [231, 41, 138],
    [152, 0, 67],
  ],
  0,
);
/** A light grey ramp (white → mid grey): backgrounds under coloured glyphs. */
export const greyRgb: Ramp = stopsRamp(
  [
    [255, 255, 255],
    [150, 150, 150],
  ],
  0,
);

/** An RGB triple as a CSS colour. */
export const cssRgb = ([r, g, b]: readonly number[]): string => `rgb(${r},${g},${b})`;

// ---------------------------------------------------------------------------------------------
// Ticks

/** A 1, 2 or 5 × 10^n step that gives about `count` intervals over `span`. */
export function niceStep(span: number, count = 5): number {
  const raw = (span || 1) / count;
  const mag = 10 ** Math.floor(Math.log10(raw));
  return [1, 2, 5, 10].map((m) => m * mag).find((s) => s >= raw * (1 - 1e-9))!;
}

/** Tick values of a linear axis inside [lo, hi]: multiples of a 1, 2 or 5 × 10^n step, about 5 of them. */
export function linearTicks(lo: number, hi: number, count = 5): number[] {
  const step = niceStep(hi - lo || Math.abs(hi) || 1, count);
  const out: number[] = [];
  for (let v = Math.ceil(lo / step - 1e-9) * step; v <= hi + step * 1e-9; v += step) out.push(Math.abs(v) < step * 1e-9 ? 0 : Number(v.toPrecision(12)));
  return out;
}

/** Tick values of a log axis (as values): every decade, thinned to at most ~7, plus 2 and 5 within one decade. */
export function logTicks(lo: number, hi: number): number[] {
  const a = Math.floor(Math.log10(lo)),
    b = Math.ceil(Math.log10(hi));
  const every = Math.max(1, Math.ceil((b - a) / 7));
  const out: number[] = [];
  for (let e = a; e <= b; e += every) out.push(10 ** e);
  if (b - a <= 1) for (const m of [2, 5]) for (let e = a; e < b; e++) out.push(m * 10 ** e);
  return out.filter((v) => v >= lo * (1 - 1e-9) && v <= hi * (1 + 1e-9)).sort((p, q) => p - q);
}

/** The text of a tick value: plain decimals in [1e-3, 1e4), otherwise 1e-5 style. */
export function tickText(v: number, log = false): string {
  if (v === 0) return '0';
  const e = Math.log10(Math.abs(v));
  if (log && Math.abs(e - Math.round(e)) < 1e-9 && Math.abs(e) >= 3) return `1e${Math.round(e)}`;
  return Math.abs(v) >= 1e-3 && Math.abs(v) < 1e4 ? String(Number(v.toPrecision(6))) : v.toExponential(0).replace('e+', 'e');
}

// ---------------------------------------------------------------------------------------------
// Colour bars, heat maps, arrows, image axes

/** Nice ticks of a colour bar: the 1, 2 or 5 × 10^n step whose tick count is nearest 6, at most `most`. */
function barTicks(lo: number, hi: number, most: number): number[] {
  let best = linearTicks(lo, hi, 2);
  for (let c = 2; c <= 12; c++) {
    const t = linearTicks(lo, hi, c);
    if (t.length <= most && Math.abs(t.length - 6) < Math.abs(best.length - 6)) best = t;
  }
  return best;
}

/** Width a colour bar takes to the right of its x (bar, ticks, labels, rotated title). */
export const COLORBAR_WIDTH = 74;

/**
 * A vertical colour bar from vmin (bottom) to vmax (top) with ticks at nice values and a rotated
 * label. `attrs` are extra attributes of its <g class="colorbar"> (data-vmin/vmax are always set).
 */
export function colorBar(x: number, y: number, h: number, vmin: number, vmax: number, ramp: Ramp, label: string, attrs = ''): string {
  const steps = 48;
  const parts: string[] = [];
  for (let s = 0; s < steps; s++) {
    const t = 1 - (s + 0.5) / steps;
    parts.push(`<rect x="${n2(x)}" y="${n2(y + (s * h) / steps)}" width="10" height="${n2(h / steps + 0.4)}" fill="${cssRgb(ramp(t))}"/>`);
  }
  parts.push(`<rect x="${n2(x)}" y="${n2(y)}" width="10" height="${n2(h)}" fill="none" stroke="#444" stroke-width="0.6"/>`);
  const span = vmax - vmin || 1;
  const ticks = barTicks(Math.min(vmin, vmax), Math.max(vmin, vmax), Math.max(2, Math.floor(h / 22)));
  let labelW = 0;
  for (const v of ticks) {
    const ty = y + h - ((v - vmin) / span) * h;
    const text = tickText(v);
    labelW = Math.max(labelW, text.length * 5.2);
    parts.push(
      `<line class="tick" x1="${n2(x + 10)}" y1="${n2(ty)}" x2="${n2(x + 14)}" y2="${n2(ty)}" stroke="#444" stroke-width="0.8"/>` +
        `<text class="tick-label" x="${n2(x + 16)}" y="${n2(ty + 3)}" font-size="9" ${FONT}>${esc(text)}</text>`,
    );
  }
  const lx = x + 16 + Math.max(24, Math.min(labelW, 46)) + 8;
  parts.push(
    `<text class="colorbar-label" transform="translate(${n2(lx)},${n2(y + h / 2)}) rotate(-90)" text-anchor="middle" font-size="10" ${FONT}>${esc(label)}</text>`,
  );
  return `<g class="colorbar" ${attrs} data-vmin="${vmin}" data-vmax="${vmax}" data-ticks="${ticks.join(' ')}">${parts.join('')}</g>`;
}

/**
 * A PNG data URI of an RGB image (rgb: height rows of width·3 bytes, top row first); stored deflate blocks.
 * @example
 * const red = pngDataUri(2, 1, new Uint8Array([255, 0, 0, 255, 0, 0])); // 2×1 red pixels
 * const html = `<img src="${red}">`;
 */
export function pngDataUri(width: number, height: number, rgb: Uint8Array): string {
  check(Number.isInteger(width) && width >= 1 && Number.isInteger(height) && height >= 1, 'pngDataUri', 'width and height', 'positive integers', [
    width,
    height,
  ]);
  check(rgb instanceof Uint8Array && rgb.length === width * height * 3, 'pngDataUri', 'rgb length', `${width * height * 3} (width·height·3)`, rgb?.length);
  const raw = new Uint8Array(height * (1 + 3 * width)); // filter byte 0 (none) before each row
  for (let y = 0; y < height; y++) raw.set(rgb.subarray(y * 3 * width, (y + 1) * 3 * width), y * (1 + 3 * width) + 1);
  const nBlocks = Math.max(1, Math.ceil(raw.length / 65535));
  const zlib = new Uint8Array(2 + raw.length + 5 * nBlocks + 4);
  zlib[0] = 0x78;
  zlib[1] = 0x01;
  let o = 2;
  for (let b = 0; b < nBlocks; b++) {
    const len = Math.min(65535, raw.length - b * 65535);
    zlib[o++] = b === nBlocks - 1 ? 1 : 0;
    zlib[o++] = len & 0xff;
    zlib[o++] = len >>> 8;
    zlib[o++] = ~len & 0xff;
    zlib[o++] = (~len >>> 8) & 0xff;
    zlib.set(raw.subarray(b * 65535, b * 65535 + len), o);
    o += len;
  }
  let a = 1,
    bsum = 0;
  for (const v of raw) {
    a = (a + v) % 65521;
    bsum = (bsum + a) % 65521;
  }
  new DataView(zlib.buffer).setUint32(o, ((bsum << 16) | a) >>> 0);
  const chunk = (type: string, data: Uint8Array) => {
    const out = new Uint8Array(12 + data.length);
    const view = new DataView(out.buffer);
    view.setUint32(0, data.length);
    for (let i = 0; i < 4; i++) out[4 + i] = type.charCodeAt(i);
    out.set(data, 8);
    view.setUint32(8 + data.length, crc32(out, 4, 8 + data.length));
    return out;
  };
  const ihdr = new Uint8Array(13);
  const hv = new DataView(ihdr.buffer);
  hv.setUint32(0, width);
  hv.setUint32(4, height);
  ihdr.set([8, 2, 0, 0, 0], 8); // 8 bits, RGB, deflate, adaptive filters, no interlace
  const parts = [Uint8Array.of(0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a), chunk('IHDR', ihdr), chunk('IDAT', zlib), chunk('IEND', new Uint8Array(0))];
  const png = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let at = 0;
  for (const p of parts) {
    png.set(p, at);
    at += p.length;
  }
  return `data:image/png;base64,${base64(png)}`;
}

let crcTable: Uint32Array | null = null;
function crc32(bytes: Uint8Array, start: number, end: number): number {
  if (!crcTable) {
    crcTable = new Uint32Array(256);
    for (let n = 0; n < 256; n++) {
      let c = n;
      for (let k = 0; k < 8; k++) c = c & 1 ? 0xedb88320 ^ (c >>> 1) : c >>> 1;
      crcTable[n] = c >>> 0;
    }
  }
  let c = 0xffffffff;
  for (let i = start; i < end; i++) c = crcTable[(c ^ bytes[i]!) & 0xff]! ^ (c >>> 8);
  return (c ^ 0xffffffff) >>> 0;
}

function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}

/**
 * A heat map of a field `values[i·ny + j]` (i along x to the right, j along y upwards) as one
 * pixelated <image> (an embedded PNG, one pixel per cell: far smaller than a <rect> per cell).
 */
export function heatImage(
  values: ArrayLike<number>,
  nx: number,
  ny: number,
  vmin: number,
  vmax: number,
  ramp: Ramp,
  x: number,
  y: number,
  w: number,
  h: number,
): string {
  const rgb = new Uint8Array(nx * ny * 3);
  const span = vmax - vmin || 1;
  for (let i = 0; i < nx; i++) for (let j = 0; j < ny; j++) rgb.set(ramp((values[i * ny + j]! - vmin) / span), ((ny - 1 - j) * nx + i) * 3);
  return `<image class="heatmap" x="${n2(x)}" y="${n2(y)}" width="${n2(w)}" height="${n2(h)}" preserveAspectRatio="none" style="image-rendering:pixelated" href="${pngDataUri(nx, ny, rgb)}"/>`;
}

/**
 * An arrow from (x, y) by (dx, dy) in SVG units: a shaft of `width` and a filled head whose length
 * is at most half the arrow (so short arrows keep a visible direction) and at least 3 widths.
 */
export function arrowSvg(x: number, y: number, dx: number, dy: number, color: string, width: number, headMax = Infinity): string {
  const len = Math.hypot(dx, dy);
  if (len < 1e-9) return '';
  const head = Math.min(0.5 * len, Math.max(3 * width, Math.min(0.35 * len, headMax)));
  const [ux, uy] = [dx / len, dy / len];
  const [ex, ey] = [x + dx, y + dy];
  const [bx, by] = [ex - ux * head, ey - uy * head];
  const half = 0.55 * head;
  const shaft =
    len - head > 1e-6
      ? `<line x1="${n2(x)}" y1="${n2(y)}" x2="${n2(bx + ux * 0.3 * width)}" y2="${n2(by + uy * 0.3 * width)}" stroke="${color}" stroke-width="${n2(width)}"/>`
      : '';
  return `${shaft}<polygon points="${n2(ex)},${n2(ey)} ${n2(bx - uy * half)},${n2(by + ux * half)} ${n2(bx + uy * half)},${n2(by - ux * half)}" fill="${color}"/>`;
}

/**
 * Axes of an image drawn at (x, y) with `cell` units per pixel (nx × ny pixels, x to the right, y
 * upwards): a frame, ticks at pixel centres labelled with pixel indices (a 1, 2 or 5 × 10^n step),
 * and the labels "x (axis 0) →" below and "y (axis 1) →" (reading upwards) on the left, which state
 * the orientation. Set yLabel false to leave out the y tick labels and label (a slice to the right).
 */
export function imageAxes(x: number, y: number, nx: number, ny: number, cell: number, o: { readonly yLabel?: boolean } = {}): string {
  const w = nx * cell,
    h = ny * cell;
  const parts: string[] = [`<rect class="frame" x="${n2(x)}" y="${n2(y)}" width="${n2(w)}" height="${n2(h)}" fill="none" stroke="#333" stroke-width="0.8"/>`];
  const stepOf = (n: number) => Math.max(1, niceStep(Math.max(1, n - 1), Math.max(1, Math.min(5, Math.floor((n * cell) / 20)))));
  const xs: string[] = [];
  const sx = stepOf(nx);
  for (let i = 0; i < nx; i += sx) {
    const X = x + (i + 0.5) * cell;
    xs.push(
      `<line class="tick" x1="${n2(X)}" y1="${n2(y + h)}" x2="${n2(X)}" y2="${n2(y + h + 4)}" stroke="#333" stroke-width="0.8"/><text class="tick-label" x="${n2(X)}" y="${n2(y + h + 13)}" text-anchor="middle" font-size="9" ${FONT}>${i}</text>`,
    );
  }
  xs.push(`<text class="axis-label x-label" x="${n2(x + w / 2)}" y="${n2(y + h + 25)}" text-anchor="middle" font-size="10" ${FONT}>x (axis 0) →</text>`);
  parts.push(`<g class="axis x-axis">${xs.join('')}</g>`);
  const ys: string[] = [];
  const sy = stepOf(ny);
  for (let j = 0; j < ny; j += sy) {
    const Y = y + h - (j + 0.5) * cell;
    ys.push(
      `<line class="tick" x1="${n2(x - 4)}" y1="${n2(Y)}" x2="${n2(x)}" y2="${n2(Y)}" stroke="#333" stroke-width="0.8"/>` +
        (o.yLabel === false ? '' : `<text class="tick-label" x="${n2(x - 6)}" y="${n2(Y + 3)}" text-anchor="end" font-size="9" ${FONT}>${j}</text>`),
    );
  }
  if (o.yLabel !== false)
    ys.push(
      `<text class="axis-label y-label" transform="translate(${n2(x - 24)},${n2(y + h / 2)}) rotate(-90)" text-anchor="middle" font-size="10" ${FONT}>y (axis 1) →</text>`,
    );
  parts.push(`<g class="axis y-axis">${ys.join('')}</g>`);
  return parts.join('');
}

/** Space imageAxes needs: left of the image (y ticks and label) and below it (x ticks and label). */
export const AXES_LEFT = 34;
export const AXES_BOTTOM = 30;
