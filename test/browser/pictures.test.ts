/**
 * Chromium: every kind of image picture (signed and non-negative scalars, vector fields small and
 * subsampled, 2-tensor glyphs, 3-D slices of scalars and vectors, a grid of panels) from the BUILT
 * bundle is parsed as standalone SVG, drawn in the page and screenshotted into the git-ignored
 * test/browser/__screenshots__/pictures/ for review. Asserted: the viewBox, axes with tick labels,
 * a colour bar with several ticks, the arrow key / glyph legend, every text inside the picture,
 * arrows at least 1 px wide at the natural size, and a non-blank rendering.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import { commands, page } from 'vitest/browser';
import * as gc from '../../dist/index.js';

const cases: { name: string; svg: () => string; k: number; arrows?: number; slices?: number }[] = [
  {
    name: 'scalar-signed',
    k: 0,
    svg: () =>
      gc.plotImage(
        field([16, 16], 1, (x, y) => [Math.sin(x / 3) * Math.cos(y / 4)]),
        [16, 16],
        0,
        { title: 'signed scalar', label: 'f' },
      ),
  },
  {
    name: 'scalar-masses',
    k: 0,
    svg: () =>
      gc.plotImage(
        field([16, 16], 1, (x, y) => [(x * 7 + y * 3) % 11 === 0 ? ((x + y) % 5) / 4 + 0.2 : 0]),
        [16, 16],
        0,
        { title: 'masses (non-negative)', label: 'mass' },
      ),
  },
  {
    name: 'vector-16',
    k: 1,
    arrows: 256,
    svg: () =>
      gc.plotImage(
        field([16, 16], 2, (x, y) => [-(y - 7.5) / 8, (x - 7.5) / 8]),
        [16, 16],
        1,
        { title: 'rotation field' },
      ),
  },
  {
    name: 'vector-64',
    k: 1,
    arrows: 32 * 32,
    svg: () =>
      gc.plotImage(
        field([64, 64], 2, (x, y) => [Math.sin(y / 8), Math.cos(x / 8)]),
        [64, 64],
        1,
        { title: '64×64, subsampled' },
      ),
  },
  {
    name: 'tensor-8',
    k: 2,
    svg: () =>
      gc.plotImage(
        field([8, 8], 4, (x, y) => [(x - 3.5) / 4, (y - x) / 8, (y - 3.5) / 8, -(y - 3.5) / 4]),
        [8, 8],
        2,
        { title: '2-tensor glyphs' },
      ),
  },
  {
    name: 'scalar-3d',
    k: 0,
    slices: 3,
    svg: () =>
      gc.plotImage(
        field([8, 8, 8], 1, (x, y, z) => [Math.exp(-((x - 3.5) ** 2 + (y - 3.5) ** 2 + (z - 3.5) ** 2) / 8)]),
        [8, 8, 8],
        0,
        { title: '3-D scalar' },
      ),
  },
  {
    name: 'vector-3d',
    k: 1,
    slices: 3,
    arrows: 3 * 64,
    svg: () =>
      gc.plotImage(
        field([8, 8, 8], 3, (x, y, z) => [-(y - 3.5) / 4, (x - 3.5) / 4, (z - 3.5) / 4]),
        [8, 8, 8],
        1,
        { title: '3-D vector' },
      ),
  },
];

/** Row-major data over [...spatial, comps] from f(x, y, z) → components. */
function field(spatial: number[], comps: number, f: (x: number, y: number, z: number) => number[]): Float32Array {
  const [nx, ny, nz = 1] = spatial as [number, number, number?];
  const out = new Float32Array(nx * ny * nz * comps);
  for (let x = 0; x < nx; x++) for (let y = 0; y < ny; y++) for (let z = 0; z < nz; z++) out.set(f(x, y, z), ((x * ny + y) * nz + z) * comps);
  return out;
}

function parse(svg: string): Document {
  const doc = new DOMParser().parseFromString(svg, 'image/svg+xml');
  expect(doc.getElementsByTagName('parsererror').length).toBe(0);
  expect(doc.documentElement.getAttribute('viewBox')).toMatch(/^0 0 \d+ \d+$/);
  return doc;
}

/**
 * Draws the SVG as a standalone image (as a browser opens the file) on a canvas at twice its natural
 * size, saves that screenshot as a PNG under test/browser/__screenshots__/pictures/ (git-ignored) and
 * returns the share of pixels that are not white. (page.screenshot would capture the tester iframe,
 * which vitest scales down to fit its window.)
 */
async function screenshot(svg: string, name: string): Promise<number> {
  const img = new Image();
  img.src = URL.createObjectURL(new Blob([svg], { type: 'image/svg+xml' }));
  await img.decode();
  const canvas = document.createElement('canvas');
  [canvas.width, canvas.height] = [2 * img.naturalWidth, 2 * img.naturalHeight];
  const ctx = canvas.getContext('2d')!;
  ctx.drawImage(img, 0, 0, canvas.width, canvas.height);
  URL.revokeObjectURL(img.src);
  const px = ctx.getImageData(0, 0, canvas.width, canvas.height).data;
  let ink = 0;
  for (let i = 0; i < px.length; i += 4) if (px[i]! < 235 || px[i + 1]! < 235 || px[i + 2]! < 235) ink++;
  await commands.writeFile(`test/browser/__screenshots__/pictures/${name}.png`, canvas.toDataURL('image/png').split(',')[1]!, 'base64');
  return ink / (px.length / 4);
}

/** Puts the SVG in the page at its natural size and returns its element. */
function show(svg: string, name: string): SVGSVGElement {
  document.body.innerHTML = '';
  document.body.style.margin = '0';
  const host = document.createElement('div');
  host.id = `pic-${name}`;
  host.style.display = 'inline-block';
  host.innerHTML = svg;
  document.body.append(host);
  return host.querySelector('svg')!;
}

describe('pictures in Chromium', () => {
  beforeAll(async () => {
    await page.viewport(2400, 1800); // room for every picture at its natural size
  });

  for (const c of cases) {
    it(`${c.name}: valid standalone SVG with axes, colour bar, keys; screenshot`, async () => {
      const svg = c.svg();
      const doc = parse(svg);
      const root = doc.documentElement;
      // axes: x and y tick labels are pixel indices starting at 0, labels state the orientation
      const xTicks = Array.from(doc.querySelectorAll('g.x-axis .tick-label')).map((t) => Number(t.textContent));
      expect(xTicks[0]).toBe(0);
      expect(xTicks.length).toBeGreaterThanOrEqual(3);
      expect(doc.querySelector('.x-label')!.textContent).toBe('x (axis 0) →');
      expect(doc.querySelector('.y-label')!.textContent).toBe('y (axis 1) →');
      const bar = doc.querySelector('g.colorbar')!;
      expect(bar.querySelectorAll('.tick-label').length).toBeGreaterThanOrEqual(3);
      expect(bar.querySelector('.colorbar-label')!.textContent!.length).toBeGreaterThan(0);
      if (c.k === 1) expect(doc.querySelector('g.arrow-key')).not.toBeNull();
      if (c.k === 2) expect(doc.querySelector('g.glyph-legend')!.textContent).toMatch(/principal axes/);
      if (c.arrows) expect(doc.querySelectorAll('g.arrows polygon').length).toBe(c.arrows);
      if (c.slices) expect(doc.querySelectorAll('g.slice').length).toBe(c.slices);

      const el = show(svg, c.name);
      const [W, H] = [Number(root.getAttribute('width')), Number(root.getAttribute('height'))];
      // every text lies inside the picture (nothing clipped by the viewBox)
      for (const t of Array.from(el.querySelectorAll('text'))) {
        const b = t.getBBox();
        const m = (t as SVGGraphicsElement).getCTM()!;
        const corners = [
          [b.x, b.y],
          [b.x + b.width, b.y + b.height],
        ].map(([x, y]) => new DOMPoint(x, y).matrixTransform(m));
        const rootM = el.getCTM()!.inverse();
        for (const p of corners.map((q) => q.matrixTransform(rootM))) {
          expect(p.x, `"${t.textContent}" x`).toBeGreaterThanOrEqual(-0.5);
          expect(p.x, `"${t.textContent}" x`).toBeLessThanOrEqual(W + 0.5);
          expect(p.y, `"${t.textContent}" y`).toBeGreaterThanOrEqual(-0.5);
          expect(p.y, `"${t.textContent}" y`).toBeLessThanOrEqual(H + 0.5);
        }
      }
      // arrow shafts are at least 1 px wide at the natural size
      for (const l of Array.from(el.querySelectorAll('g.arrows line')).slice(0, 50)) expect(Number(l.getAttribute('stroke-width'))).toBeGreaterThanOrEqual(1);
      expect(await screenshot(svg, c.name)).toBeGreaterThan(0.04);
    });
  }

  it('a grid of panels (input, target, prediction, difference; two samples) keeps viewBoxes and shares scales', async () => {
    const n = 12;
    const target = (s: number) => field([n, n], 2, (x, y) => [Math.sin((x + s) / 3), Math.cos((y - s) / 4)]);
    const pred = (s: number) => target(s).map((v, i) => v + 0.1 * Math.sin(i));
    const vmax = Math.max(
      ...[0, 1].flatMap((s) => [target(s), pred(s)]).flatMap((a) => Array.from({ length: n * n }, (_, p) => Math.hypot(a[2 * p]!, a[2 * p + 1]!))),
    );
    const panels = [0, 1].flatMap((s) => [
      gc.plotImage(
        field([n, n], 1, (x, y) => [((x + s) * (y + 1)) % 7 === 0 ? 1 : 0]),
        [n, n],
        0,
        { title: `input #${s}`, label: 'mass' },
      ),
      gc.plotImage(target(s), [n, n], 1, { title: `target #${s}`, vmax }),
      gc.plotImage(pred(s), [n, n], 1, { title: `model · test SMSE 1.0e-2`, vmax }),
      gc.plotImage(
        pred(s).map((v, i) => v - target(s)[i]!),
        [n, n],
        1,
        { title: 'model − target' },
      ),
    ]);
    const svg = gc.plotGrid(panels, 4, { title: 'gravity: test samples', rowLabels: ['sample 0', 'sample 1'] });
    const doc = parse(svg);
    const inner = doc.documentElement.querySelectorAll(':scope > svg');
    expect(inner.length).toBe(8);
    inner.forEach((s) => expect(s.getAttribute('viewBox')).toMatch(/^0 0 \d+ \d+$/));
    expect(inner[1]!.getAttribute('data-vmax')).toBe(inner[2]!.getAttribute('data-vmax'));
    expect(inner[0]!.getAttribute('data-vmin')).toBe('0');
    const el = show(svg, 'grid');
    expect(el.getBoundingClientRect().width).toBeGreaterThan(1000);
    expect(await screenshot(svg, 'grid')).toBeGreaterThan(0.1);
  });
});
