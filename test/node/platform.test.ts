/**
 * The BUILT package works in Node: the ESM bundle (dist/index.js, with its lazily loaded chunks) and
 * the CommonJS bundle (dist/index.cjs, one file) both load and run a small convolution. Needs
 * `npm run build` first (npm test does it).
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';
import * as esm from '../../dist/index.js';

type Api = typeof esm;
const require = createRequire(import.meta.url);
const cjs = require('../../dist/index.cjs') as Api;

/** x: 1×5×5×2, w: 9 taps × 2 × 3 (3×3 kernel), torus; returns the 1×5×5×3 output. */
async function smallConv(api: Api): Promise<Float32Array> {
  const x = api.tensor(
    Float32Array.from({ length: 50 }, (_, i) => Math.sin(i * 0.7)),
    [1, 5, 5, 2],
  );
  const w = api.tensor(
    Float32Array.from({ length: 54 }, (_, i) => Math.cos(i * 0.3) / 4),
    [9, 2, 3],
  );
  const y = api.conv(x, w, api.convAttrs(2, 3, { torus: true, padding: 1 }));
  expect(y.shape).toEqual([1, 5, 5, 3]);
  const out = await y.data();
  for (const t of [x, w, y]) t.dispose();
  return out;
}

/** Direct evaluation of the periodic cross-correlation with centred taps, in float64. */
function expected(): Float64Array {
  const x = (i: number, j: number, c: number) => Math.sin((((i + 5) % 5) * 5 * 2 + ((j + 5) % 5) * 2 + c) * 0.7);
  const w = (a: number, b: number, ci: number, co: number) => Math.cos(((a * 3 + b) * 6 + ci * 3 + co) * 0.3) / 4;
  const out = new Float64Array(75);
  for (let i = 0; i < 5; i++)
    for (let j = 0; j < 5; j++)
      for (let co = 0; co < 3; co++) {
        let s = 0;
        for (let a = 0; a < 3; a++) for (let b = 0; b < 3; b++) for (let ci = 0; ci < 2; ci++) s += x(i + a - 1, j + b - 1, ci) * w(a, b, ci, co);
        out[(i * 5 + j) * 3 + co] = s;
      }
  return out;
}

function expectClose(got: ArrayLike<number>, want: ArrayLike<number>, tol = 1e-5): void {
  expect(got.length).toBe(want.length);
  let worst = 0;
  for (let i = 0; i < want.length; i++) worst = Math.max(worst, Math.abs(got[i]! - want[i]!));
  expect(worst).toBeLessThanOrEqual(tol);
}

describe.each([
  ['ESM dist/index.js', esm],
  ['CJS dist/index.cjs', cjs],
] as const)('%s', (_name, api) => {
  it('exports the API', () => {
    expect(api.version).toMatch(/^\d+\.\d+\.\d+/);
    expect(typeof api.init).toBe('function');
    expect(typeof api.conv).toBe('function');
  });

  it('runs a torus convolution on ref', async () => {
    expect(await api.init({ backend: 'ref' })).toBe('ref');
    expectClose(await smallConv(api), expected());
  });

  it('loads the embedded wasm kernels and matches ref', async () => {
    expect(await api.init({ backend: 'wasm' })).toBe('wasm');
    expectClose(await smallConv(api), expected());
    api.setBackend('ref');
  });
});
