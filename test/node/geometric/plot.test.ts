/**
 * The image plots (plotImage, plotGrid), the shared SVG pieces (nice ticks), the text pictures'
 * alignment (renderImage) and the main job's predictions.svg, checked on the geometry they draw:
 * arrow lengths and directions, glyph axes, orientation (x right, y up), colour scales and maps.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { plotGrid, plotImage } from '../../../src/geometric/plot.js';
import { renderImage } from '../../../src/geometric/render.js';
import { linearTicks, niceStep } from '../../../src/geometric/svg.js';
import { invariantFilters } from '../../../src/geometric/filters.js';
import { GeometricImage, memory, setBackend } from '../../../src/index.js';
import { runJob } from '../../../src/job.js';

const attr = (tag: string, name: string) => {
  const m = new RegExp(`\\s${name}="([^"]*)"`).exec(tag);
  return m ? m[1]! : undefined;
};
const num = (tag: string, name: string) => Number(attr(tag, name));
const tags = (svg: string, re: RegExp) => [...svg.matchAll(re)].map((m) => m[0]);
/** Arrows of a plot: start (line x1, y1) and tip (polygon's first point). */
function arrows(svg: string): { x1: number; y1: number; tx: number; ty: number }[] {
  const body = [...svg.matchAll(/<g class="arrows">(.*?)<\/g>/g)].map((m) => m[1]!).join('');
  const out: { x1: number; y1: number; tx: number; ty: number }[] = [];
  for (const m of body.matchAll(/(?:<line ([^>]*)\/>)?<polygon points="([-\d.]+),([-\d.]+) /g)) {
    out.push({ x1: m[1] ? num(` ${m[1]}`, 'x1') : NaN, y1: m[1] ? num(` ${m[1]}`, 'y1') : NaN, tx: Number(m[2]), ty: Number(m[3]) });
  }
  return out;
}
/** The frame of the (first) image: its left, top, width, height. */
const frame = (svg: string) => {
  const t = /<rect class="frame"[^>]*>/.exec(svg)![0];
  return { x: num(t, 'x'), y: num(t, 'y'), w: num(t, 'width'), h: num(t, 'height') };
};

describe('plotImage: vector fields', () => {
  const cell = 20;
  // 3×3 field, zero except (i=0, j=0) → (2, 0) (the longest), (i=2, j=1) → (0, 1), (i=1, j=2) → (−1, −1)/√2
  const data = new Float32Array(3 * 3 * 2);
  data.set([2, 0], (0 * 3 + 0) * 2);
  data.set([0, 1], (2 * 3 + 1) * 2);
  data.set([-Math.SQRT1_2, -Math.SQRT1_2], (1 * 3 + 2) * 2);

  it('arrows are centred on their pixel, x to the right and y upwards, the longest 0.9 cells long', () => {
    const svg = plotImage(data, [3, 3], 1, { cell });
    const f = frame(svg);
    const a = arrows(svg);
    expect(a.length).toBe(3); // zero vectors draw nothing; order: i outer, j inner
    const centre = (i: number, j: number) => [f.x + (i + 0.5) * cell, f.y + f.h - (j + 0.5) * cell];
    const tips = [
      [0, 0, 2, 0],
      [1, 2, -Math.SQRT1_2, -Math.SQRT1_2],
      [2, 1, 0, 1],
    ] as const;
    tips.forEach(([i, j, vx, vy], n) => {
      const [cx, cy] = centre(i, j);
      const len = (Math.hypot(vx, vy) / 2) * 0.9 * cell; // vmax = 2
      const [ux, uy] = [vx / Math.hypot(vx, vy), -vy / Math.hypot(vx, vy)]; // SVG y points down
      expect(a[n]!.tx).toBeCloseTo(cx! + (ux * len) / 2, 1);
      expect(a[n]!.ty).toBeCloseTo(cy! + (uy * len) / 2, 1);
      if (!Number.isNaN(a[n]!.x1)) {
        expect(a[n]!.x1).toBeCloseTo(cx! - (ux * len) / 2, 1);
        expect(a[n]!.y1).toBeCloseTo(cy! - (uy * len) / 2, 1);
      }
    });
    // shafts at least 1 unit wide at the natural size
    for (const l of tags(svg, /<g class="arrows">.*?<\/g>/g).flatMap((g) => tags(g, /<line [^>]*>/g))) expect(num(l, 'stroke-width')).toBeGreaterThanOrEqual(1);
    expect(svg).toMatch(/^<svg xmlns="http:\/\/www.w3.org\/2000\/svg" width="(\d+)" height="(\d+)" viewBox="0 0 \1 \2"/);
  });

  it('a shared vmax gives equal arrows for equal vectors; the key shows a round value at its true length', () => {
    const a = arrows(plotImage(data, [3, 3], 1, { cell, vmax: 4 }));
    const b = arrows(
      plotImage(
        data.map((v) => v * 0.5),
        [3, 3],
        1,
        { cell, vmax: 4 },
      ),
    );
    const len = (r: { x1: number; y1: number; tx: number; ty: number }) => Math.hypot(r.tx - r.x1, r.ty - r.y1);
    expect(len(a[0]!)).toBeCloseTo(0.5 * 0.9 * cell, 1); // |v| = 2 of vmax 4
    expect(len(b[0]!)).toBeCloseTo(0.5 * len(a[0]!), 1);
    const key = /<g class="arrow-key"[^>]*>/.exec(plotImage(data, [3, 3], 1, { cell, vmax: 3.7 }))![0];
    expect(num(key, 'data-value')).toBe(2); // the largest of 1, 2, 5 × 10^n not above 3.7
    expect(num(key, 'data-length')).toBeCloseTo((2 / 3.7) * 0.9 * cell, 1);
    expect(plotImage(data, [3, 3], 1, { cell, vmax: 3.7 })).toMatch(/= 2</);
  });

  it('every pixel has an arrow up to 32 per side; beyond, the mean of each s×s block at its centre, with a note', () => {
    const field = (n: number) => Float32Array.from({ length: n * n * 2 }, (_, i) => (i % 2 ? 0.5 : 1));
    expect(arrows(plotImage(field(32), [32, 32], 1)).length).toBe(32 * 32);
    expect(plotImage(field(32), [32, 32], 1)).not.toContain('subsample-note');
    const big = plotImage(field(40), [40, 40], 1, { cell: 8 });
    expect(arrows(big).length).toBe(20 * 20);
    expect(big).toMatch(/arrows: means over 2×2-pixel blocks/);
    const r = arrows(big)[0]!;
    expect(Math.hypot(r.tx - r.x1, r.ty - r.y1)).toBeCloseTo(0.9 * 2 * 8, 1);
    // block means: pixels of a 2×2 block hold (1, 0), (1, 0), (0, 1), (0, 1) → mean (0.5, 0.5), centred on the block
    const alt = Float32Array.from({ length: 40 * 40 * 2 }, (_, q) => ((Math.floor(q / 2) % 40) % 2 === q % 2 ? 1 : 0));
    const svg = plotImage(alt, [40, 40], 1, { cell: 8 });
    const f = frame(svg);
    const a = arrows(svg)[0]!;
    expect(a.tx - a.x1).toBeCloseTo(0.5 * 0.9 * 2 * 8, 1); // vmax = the largest pixel norm, 1
    expect((a.tx + a.x1) / 2).toBeCloseTo(f.x + 8, 1); // centre of pixels 0 and 1
    expect((a.ty + a.y1) / 2).toBeCloseTo(f.y + f.h - 8, 1);
    expect(a.ty - a.y1).toBeCloseTo(-(a.tx - a.x1), 1); // up-right
  });
});

describe('plotImage: scalars, axes and colour bars', () => {
  const signed = Float32Array.from({ length: 64 }, (_, i) => Math.sin(i) * 0.8);
  const masses = Float32Array.from({ length: 64 }, (_, i) => (i % 9 === 0 ? i / 63 : 0));

  it('signed fields get a symmetric diverging scale, non-negative ones a sequential [0, max] (or by option)', () => {
    const s = plotImage(signed, [8, 8], 0);
    const m = plotImage(masses, [8, 8], 0);
    const max = Math.max(...signed.map(Math.abs));
    expect(num(s, 'data-vmin')).toBeCloseTo(-max, 6);
    expect(num(s, 'data-vmax')).toBeCloseTo(max, 6);
    expect(num(m, 'data-vmin')).toBe(0);
    expect(num(m, 'data-vmax')).toBeCloseTo(Math.max(...masses), 6);
    expect(num(plotImage(masses, [8, 8], 0, { map: 'diverging' }), 'data-vmin')).toBeLessThan(0);
    expect(num(plotImage(signed, [8, 8], 0, { map: 'sequential', vmin: -1, vmax: 1 }), 'data-vmin')).toBe(-1);
    // the colour bar's ticks are nice numbers spanning the range
    const ticks = attr(/<g class="colorbar"[^>]*>/.exec(m)![0], 'data-ticks')!
      .split(' ')
      .map(Number);
    expect(ticks[0]).toBe(0);
    expect(ticks.length).toBeGreaterThanOrEqual(4);
    const step = ticks[1]! - ticks[0]!;
    expect([1, 2, 5].some((m) => Math.abs(step / 10 ** Math.floor(Math.log10(step)) - m) < 1e-9)).toBe(true);
    ticks.forEach((t, i) => expect(t).toBeCloseTo(i * step, 9));
    expect(ticks.at(-1)! + (ticks[1]! - ticks[0]!)).toBeGreaterThan(Math.max(...masses));
  });

  it('axes: ticks at pixel centres labelled with indices, the orientation in the labels and <desc>', () => {
    const cell = 10;
    const svg = plotImage(signed, [8, 8], 0, { cell, title: 'T' });
    const f = frame(svg);
    const xAxis = /<g class="axis x-axis">(.*?)<\/g>/.exec(svg)![1]!;
    const labels = tags(xAxis, /<text class="tick-label"[^>]*>\d+</g);
    expect(labels.map((l) => Number(/>(\d+)</.exec(l)![1]))).toEqual([0, 2, 4, 6]);
    labels.forEach((l) => {
      const i = Number(/>(\d+)</.exec(l)![1]);
      expect(num(l, 'x')).toBeCloseTo(f.x + (i + 0.5) * cell, 5);
    });
    const yAxis = /<g class="axis y-axis">(.*?)<\/g>/.exec(svg)![1]!;
    const y2 = tags(yAxis, /<text class="tick-label"[^>]*>2</g)[0]!;
    expect(num(y2, 'y') - 3).toBeCloseTo(f.y + f.h - 2.5 * cell, 5); // y = 2 is 2.5 cells above the bottom
    expect(svg).toContain('x (axis 0) →');
    expect(svg).toContain('y (axis 1) →');
    expect(svg).toMatch(/<desc>[^<]*pixel \(0, 0\) bottom-left<\/desc>/);
    expect(plotImage(signed, [8, 8], 0, { axes: false })).not.toContain('x-axis');
  });

  it('nice ticks are multiples of a 1, 2 or 5 × 10^n step inside the range', () => {
    expect(linearTicks(0, 1)).toEqual([0, 0.2, 0.4, 0.6, 0.8, 1]);
    expect(linearTicks(-0.8, 0.8)).toEqual([-0.5, 0, 0.5]);
    expect(linearTicks(0, 37)).toEqual([0, 10, 20, 30]);
    expect(niceStep(0.013)).toBeCloseTo(0.005, 12);
  });
});

describe('plotImage: 2-tensors and 3-D', () => {
  it('glyph bars lie along the principal axes with length ∝ |λ| and the sign as colour; a circle for the antisymmetric part', () => {
    const cell = 40;
    // pixel (0,0): diag(1, −0.5); pixel (1,0): [[0,1],[1,0]] (λ = ±1 along the diagonals); pixel (1,1): [[0,1],[−1,0]]
    const data = new Float32Array(2 * 2 * 4);
    data.set([1, 0, 0, -0.5], 0);
    data.set([0, 1, 1, 0], (1 * 2 + 0) * 4);
    data.set([0, 1, -1, 0], (1 * 2 + 1) * 4);
    const svg = plotImage(data, [2, 2], 2, { cell, vmax: 1 });
    const f = frame(svg);
    const body = /<g class="glyphs">(.*?)<\/g>/.exec(svg)![1]!;
    const lines = tags(body, /<line [^>]*>/g).map((l) => ({
      x1: num(l, 'x1'),
      y1: num(l, 'y1'),
      x2: num(l, 'x2'),
      y2: num(l, 'y2'),
      color: attr(l, 'stroke'),
    }));
    const reach = 0.9 * cell;
    const [cx0, cy0] = [f.x + 0.5 * cell, f.y + f.h - 0.5 * cell];
    expect(lines[0]).toMatchObject({ color: '#c62828' }); // λ = 1, horizontal
    expect(lines[0]!.x2 - lines[0]!.x1).toBeCloseTo(reach, 1);
    expect(lines[0]!.y2 - lines[0]!.y1).toBeCloseTo(0, 1);
    expect((lines[0]!.x1 + lines[0]!.x2) / 2).toBeCloseTo(cx0, 1);
    expect(lines[1]).toMatchObject({ color: '#1f4fbf' }); // λ = −0.5, vertical
    expect(Math.abs(lines[1]!.y2 - lines[1]!.y1)).toBeCloseTo(0.5 * reach, 1);
    expect((lines[1]!.y1 + lines[1]!.y2) / 2).toBeCloseTo(cy0, 1);
    // λ = +1 along (1, 1)/√2: up-right in the picture (SVG y decreases), λ = −1 along (−1, 1)
    const [pos, neg] = [lines[2]!, lines[3]!];
    expect(pos.color).toBe('#c62828');
    expect(Math.sign(pos.x2 - pos.x1)).toBe(-Math.sign(pos.y2 - pos.y1));
    expect(Math.hypot(pos.x2 - pos.x1, pos.y2 - pos.y1)).toBeCloseTo(reach, 1);
    expect(neg.color).toBe('#1f4fbf');
    expect(Math.sign(neg.x2 - neg.x1)).toBe(Math.sign(neg.y2 - neg.y1));
    const circles = tags(body, /<circle [^>]*>/g);
    expect(circles.length).toBe(1);
    expect(num(circles[0]!, 'r')).toBeCloseTo(reach / 2, 1);
    expect(circles[0]).not.toContain('dasharray'); // a = (T_xy − T_yx)/2 = 1 > 0
    expect(
      plotImage(
        data.map((v, i) => (i >= 12 ? -v : v)),
        [2, 2],
        2,
        { cell, vmax: 1 },
      ),
    ).toMatch(/<circle [^>]*stroke-dasharray/);
    expect(svg).toMatch(/class="legend glyph-legend"/);
    expect(svg).toContain('principal axes');
  });

  it('D = 3: slices side by side (quartiles and middle), vectors in-plane over a diverging v_z map', () => {
    const n = 8;
    const data = new Float32Array(n * n * n * 3);
    for (let p = 0; p < n * n * n; p++) data.set([1, 0, (p % n) - 3.5], p * 3); // v_z = z − 3.5
    const svg = plotImage(data, [n, n, n], 1, { cell: 10 });
    expect(tags(svg, /<g class="slice" data-z="(\d+)"/g).map((t) => Number(attr(t, 'data-z')))).toEqual([2, 4, 6]);
    expect(svg).toContain('z = 4 (middle) of 8');
    expect(num(svg, 'data-vmin')).toBeCloseTo(-num(svg, 'data-vmax'), 6);
    expect(svg).toContain('v_z (out of plane)');
    const a = arrows(svg);
    expect(a.length).toBe(3 * 64);
    expect(a.every((r) => Math.abs(r.ty - r.y1) < 1e-6 && r.tx > r.x1)).toBe(true); // in-plane (1, 0): to the right
    expect(
      tags(
        plotImage(
          data.filter((_, i) => i % 3 === 2),
          [n, n, n],
          0,
          { slices: [0, 7] },
        ),
        /<g class="slice"/g,
      ).length,
    ).toBe(2);
  });

  it('bad arguments name plotImage, the argument and what was expected', () => {
    expect(() => plotImage(new Float32Array(4), [4], 0)).toThrow(/plotImage.*spatial.*two or three/);
    expect(() => plotImage(new Float32Array(16), [4, 4], 3)).toThrow(/plotImage.*k.*0, 1 or 2/);
    expect(() => plotImage(new Float32Array(15), [4, 4], 0)).toThrow(/plotImage.*data length.*16/);
    expect(() => plotImage(new Float32Array(32), [4, 4], 1, { vmax: 0 })).toThrow(/plotImage.*vmax.*positive/);
    expect(() => plotImage(new Float32Array(64), [4, 4, 4], 0, { slices: [4] })).toThrow(/plotImage.*slices/);
    expect(() => plotGrid([])).toThrow(/plotGrid.*svgs/);
  });
});

describe('GeometricImage.plot', () => {
  it('plots the image it holds (same picture as plotImage on its values), without leaking', async () => {
    setBackend('ref');
    const before = memory().tensors;
    const data = Float32Array.from({ length: 5 * 4 * 2 }, (_, i) => Math.cos(i));
    const image = GeometricImage.from(data, 0, 2, true, [5, 4, 2]);
    expect(await image.plot({ title: 'v' })).toBe(plotImage(data, [5, 4], 1, { title: 'v' }));
    image.dispose();
    expect(memory().tensors).toBe(before);
  });
});

describe('plotGrid', () => {
  it('nests each picture with its viewBox at column and row offsets; the grid has a viewBox', () => {
    const a = plotImage(new Float32Array(16).fill(1), [4, 4], 0, { cell: 10 });
    const b = plotImage(new Float32Array(64).fill(1), [8, 8], 0, { cell: 10 });
    const size = (s: string) => [num(/<svg[^>]*>/.exec(s)![0], 'width'), num(/<svg[^>]*>/.exec(s)![0], 'height')];
    const grid = plotGrid([a, b, b, a], 2, { title: 'grid', rowLabels: ['r0', 'r1'] });
    const nested = tags(grid, /<svg x="[^"]*" y="[^"]*" [^>]*>/g);
    expect(nested.length).toBe(4);
    nested.forEach((t) => expect(attr(t, 'viewBox')).toMatch(/^0 0 \d+ \d+$/));
    const colW = Math.max(size(a)[0]!, size(b)[0]!);
    expect(num(nested[1]!, 'x') - num(nested[0]!, 'x')).toBeCloseTo(colW, 5);
    expect(num(nested[2]!, 'y') - num(nested[0]!, 'y')).toBeCloseTo(Math.max(size(a)[1]!, size(b)[1]!), 5);
    const [W, H] = size(grid);
    expect(grid).toContain(`viewBox="0 0 ${W} ${H}"`);
    expect(W).toBeGreaterThanOrEqual(2 * colW);
  });
});

describe('renderImage (text pictures)', () => {
  const grids = (text: string) =>
    text
      .split(/\n?z=\d+\n/)
      .filter((g) => g.length)
      .map((g) => g.split('\n'));
  for (const [D, k, parity] of [
    [3, 1, 0],
    [2, 2, 0],
    [3, 2, 0],
    [2, 1, 1],
    [3, 0, 0],
  ] as const) {
    it(`D = ${D}, k = ${k}: every line of every grid has one width, cells line up`, () => {
      for (const f of invariantFilters(D, 3, k, parity).filters) {
        const text = renderImage(f, new Array(D).fill(3), D, k);
        const gs = D === 3 ? grids(text) : [text.split('\n')];
        expect(gs.length).toBe(D === 3 ? 3 : 1);
        const widths = new Set(gs.flat().map((l) => [...l].length));
        expect(widths.size).toBe(1);
        // 3 cells per line, separated by single spaces: the cell boundaries fall at the same columns
        const cellW = ([...gs[0]![0]!].length - 2) / 3;
        expect(Number.isInteger(cellW)).toBe(true);
        for (const line of gs.flat()) for (const b of [cellW, 2 * cellW + 1]) expect([...line][b]).toBe(' ');
      }
    });
  }

  it('shows the components of a 3-D vector and a 2-tensor in place (x right, y up)', () => {
    const v = new Float32Array(27 * 3);
    v.set([0, 0, 1], ((2 * 3 + 1) * 3 + 0) * 3); // x = 2, y = 1, z = 0
    const lines = renderImage(v, [3, 3, 3], 3, 1).split('\n');
    expect(lines[0]).toBe('z=0');
    expect(lines[2]!.trimEnd().endsWith('(    0     0 +1.00)')).toBe(true); // middle row (y = 1), last column (x = 2)
    const t = new Float32Array(9 * 4);
    t.set([1, -0.5, 0, 2], (0 * 3 + 2) * 4); // x = 0, y = 2: top-left
    expect(renderImage(t, [3, 3], 2, 2).split('\n')[0]!.startsWith('(+1.00 -0.50 |     0 +2.00)')).toBe(true);
  });
});

describe("the main job's predictions.svg", () => {
  it('rows of test samples: input (sequential masses), target, predictions with test SMSE, differences; shared scales', async () => {
    setBackend('ref');
    const out = mkdtempSync(join(tmpdir(), 'geoconv-plot-'));
    try {
      const before = memory().tensors;
      const r = await runJob(
        {
          task: 'gravity',
          model: 'resnet',
          epochs: 1,
          seed: 1,
          batchSize: 2,
          depth: 2,
          learningRate: 1e-3,
          nTrain: 2,
          nVal: 2,
          nTest: 3,
          N: 8,
          progress: false,
        },
        out,
        () => {},
      );
      expect(memory().tensors).toBe(before);
      const svg = readFileSync(join(out, 'predictions.svg'), 'utf8');
      const panels = tags(svg, /<svg x="[^"]*" y="[^"]*" [^>]*>/g);
      expect(panels.length).toBe(3 * 6); // 3 samples × (input, target, 2 predictions, 2 differences)
      expect(svg).toMatch(/viewBox="0 0 \d+ \d+"/);
      for (const m of r.models) expect(svg).toContain(`${m.name} · test SMSE ${m.testLoss.toExponential(2)}`);
      expect(svg).toContain(`${r.models[0]!.name} − target`);
      const row = (s: number) => panels.slice(6 * s, 6 * s + 6);
      for (let s = 0; s < 3; s++) {
        const [input, target, p0, p1, d0, d1] = row(s);
        expect(attr(input!, 'data-vmin')).toBe('0'); // masses ≥ 0: sequential
        expect(attr(input!, 'data-k')).toBe('0');
        for (const p of [p0, p1]) expect(attr(p!, 'data-vmax')).toBe(attr(target!, 'data-vmax'));
        expect(attr(d1!, 'data-vmax')).toBe(attr(d0!, 'data-vmax'));
        expect(attr(target!, 'data-vmax')).toBe(attr(row(0)[1]!, 'data-vmax'));
      }
      expect(svg).toContain('test sample 2');
      expect(svg).toContain('>mass<');
    } finally {
      rmSync(out, { recursive: true, force: true });
    }
  }, 120_000);
});
