/**
 * NaN propagates through pooling, reductions, relu and sign on webgpu as in JAX (issue 12 item 3): the
 * first NaN of a pooling window wins (jnp.argmax counts NaN as the largest value), a max / sum / mean /
 * average pool over a NaN is NaN, relu(NaN) = sign(NaN) = NaN and step(NaN) = 0 (relu's gradient
 * mask). WGSL lets compilers assume there are no NaNs, so the shaders test NaN on the bits; these
 * tests put a NaN at every window position and every reduced position, in each of the reduce
 * shader's modes (serial, tree, tree with partials), so a folded comparison shows.
 * The expected values are stated directly (NaN or not, which pixel) and checked against ref, whose
 * own rule test/node/nan.test.ts derives independently.
 */
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { expectExact, on, sizeOf, startWebGPU } from './helpers.js';

beforeAll(async () => {
  await startWebGPU();
});

const ramp = (n: number, seed: number) => Float32Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11) % 97) - 48);
const nanMask = (a: Float32Array) => Array.from(a, (v) => Number.isNaN(v));

describe('webgpu argmaxPool / argmaxPoolGrad with NaN comparators', () => {
  const cases: { name: string; shape: number[]; C: number; T: number; patch: number }[] = [
    { name: '2-D patch 2, 3 channels, T = 2', shape: [2, 4, 4, 6], C: 3, T: 2, patch: 2 },
    { name: '2-D patch 3, 1 channel', shape: [1, 3, 6, 1], C: 1, T: 1, patch: 3 },
    { name: '3-D patch 2, 2 channels, T = 3', shape: [1, 2, 2, 4, 6], C: 2, T: 3, patch: 2 },
  ];
  for (const { name, shape, C, T, patch } of cases) {
    it(`the first NaN of each window wins, at every window position (${name})`, async () => {
      const D = shape.length - 2;
      const spatial = shape.slice(1, 1 + D);
      const cShape = [...shape.slice(0, -1), C];
      const pooledShape = [shape[0]!, ...spatial.map((n) => n / patch), C * T];
      const nWin = patch ** D;
      const x = ramp(sizeOf(shape), 1);
      const dy = ramp(sizeOf(pooledShape), 3);
      /** Window element index of pixel p (row-major within the window). */
      const winOf = (p: number): number => {
        let r = p % sizeOf(spatial);
        const coords: number[] = [];
        for (let d = D - 1; d >= 0; d--) {
          coords.unshift(r % spatial[d]!);
          r = Math.floor(r / spatial[d]!);
        }
        return coords.reduce((s, v) => s * patch + (v % patch), 0);
      };
      for (let w = 0; w < nWin; w++) {
        // NaN at window element w (and w + 2, which must lose to the earlier one) in every window.
        const c = ramp(sizeOf(cShape), 2).map((v, i) => ([w, w + 2].includes(winOf(Math.floor(i / C))) ? NaN : v));
        const want = await on('ref', () => g.argmaxPool(g.tensor(x, shape), g.tensor(c, cShape), patch, T));
        const got = await on('webgpu', () => g.argmaxPool(g.tensor(x, shape), g.tensor(c, cShape), patch, T));
        expectExact(`argmaxPool ${name}, NaN at window element ${w}`, got, want);
        // The chosen pixel is the NaN one: its x values (all finite) differ from the NaN-free pick.
        const picked = await on('webgpu', () => g.argmaxPool(g.tensor(x, shape), g.tensor(c, cShape), patch, T));
        const withoutNaN = await on('webgpu', () =>
          g.argmaxPool(
            g.tensor(x, shape),
            g.tensor(
              c.map((v) => (Number.isNaN(v) ? -1e9 : v)),
              cShape,
            ),
            patch,
            T,
          ),
        );
        if (w > 0) expect(Array.from(picked), `NaN at ${w} changes the pick`).not.toEqual(Array.from(withoutNaN));
        const wantDx = await on('ref', () => g.argmaxPoolGrad(g.tensor(dy, pooledShape), g.tensor(c, cShape), patch, T, shape));
        const gotDx = await on('webgpu', () => g.argmaxPoolGrad(g.tensor(dy, pooledShape), g.tensor(c, cShape), patch, T, shape));
        expectExact(`argmaxPoolGrad ${name}, NaN at window element ${w}`, gotDx, wantDx);
      }
    });
  }

  it('MultiImage.maxPool by value and by norm, and averagePool, return NaN for a NaN at each of the 4 pixels', async () => {
    for (let p = 0; p < 4; p++) {
      const v = Float32Array.of(1, 1, 1, 1);
      v[p] = NaN;
      const img = () => new g.MultiImage(g.tensor(v, [1, 2, 2, 1]), [[[0, 0], 1]], 2);
      expect(nanMask(await on('webgpu', () => img().maxPool(2, false).data)), `by value, NaN at pixel ${p}`).toEqual([true]);
      expect(nanMask(await on('webgpu', () => img().maxPool(2).data)), `by norm, NaN at pixel ${p}`).toEqual([true]);
      expect(nanMask(await on('webgpu', () => img().averagePool(2).data)), `average, NaN at pixel ${p}`).toEqual([true]);
    }
  });
});

describe('webgpu reductions with NaN', () => {
  /** [n + 1, n]: row r < n has its NaN at column r, the last row none. */
  const diagonal = (n: number): Float32Array => {
    const a = ramp((n + 1) * n, 5);
    for (let r = 0; r < n; r++) a[r * n + r] = NaN;
    return a;
  };

  for (const [mode, n] of [
    ['serial', 40],
    ['tree', 300],
  ] as const) {
    it(`sum, max and mean over rows and columns, a NaN at every position (${mode} mode, n = ${n})`, async () => {
      const x = diagonal(n);
      const rows = [...new Array<boolean>(n).fill(true), false];
      // Columns: every column c < n holds the NaN of row c.
      const cols = new Array<boolean>(n).fill(true);
      for (const op of ['sum', 'max', 'mean'] as const) {
        const f = (axes: number[]) => (t: g.Tensor) => (op === 'mean' ? g.mean(t, axes) : g.reduce(op, t, axes));
        expect(nanMask(await on('webgpu', () => f([1])(g.tensor(x, [n + 1, n])))), `${op} over rows`).toEqual(rows);
        expect(nanMask(await on('webgpu', () => f([0])(g.tensor(x, [n + 1, n])))), `${op} over columns`).toEqual(cols);
      }
    });
  }

  it('a long reduction with partials: NaN at chunk and lane boundaries', async () => {
    const len = 70000;
    const positions = [0, 1, 255, 256, 4095, 4096, 4097, 34999, 35000, 69998, 69999];
    const x = ramp((positions.length + 1) * len, 7);
    positions.forEach((p, r) => (x[r * len + p] = NaN));
    const want = [...positions.map(() => true), false];
    for (const op of ['sum', 'max'] as const) {
      expect(nanMask(await on('webgpu', () => g.reduce(op, g.tensor(x, [positions.length + 1, len]), [1]))), `${op}, rows of ${len}`).toEqual(want);
    }
    // One output: the whole tensor, the NaN anywhere.
    expect(nanMask(await on('webgpu', () => g.reduce('max', g.tensor(x.subarray(len, 2 * len), [len]), [0])))).toEqual([true]);
  });
});

describe('webgpu relu / sign / step at NaN', () => {
  it('relu and sign return NaN and step 0 for every NaN bit pattern, next to ±0 and ±inf', async () => {
    // Quiet and signalling NaNs of both signs: a relu that tests the sign bit would zero the negative ones,
    // and a compiler that assumes no NaN folds `x > 0 ? x : 0` into max(x, 0). Signed zeros are
    // compared exactly (llvmpipe turned a float-select sign(±0) into -0).
    const nanBits = [0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff];
    // Subnormals too: the shader decides on the bits, so a float unit that flushes them changes nothing.
    const finite = [3, -2, 0, -0, Infinity, -Infinity, 0.5, -7, 2 ** -100, -(2 ** 100), 2 ** -140, -(2 ** -149)];
    const n = nanBits.length * finite.length * 2;
    const bits = new Uint32Array(n);
    const f = new Float32Array(bits.buffer);
    // Alternate NaN and non-NaN elements (a NaN's neighbours are finite, and the other way round).
    for (let i = 0; i < n; i++) {
      if (i % 2 === 0) bits[i] = nanBits[(i >> 1) % nanBits.length]!;
      else f[i] = finite[(i >> 1) % finite.length]!;
    }
    const rule = {
      relu: (x: number) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0),
      sign: (x: number) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0),
      step: (x: number) => (x > 0 ? 1 : 0),
    };
    for (const op of ['relu', 'sign', 'step'] as const) {
      const got = await on('webgpu', () => g.unary(op, g.tensor(f, [n])));
      const bad: string[] = [];
      f.forEach((x, i) => {
        const want = rule[op](x);
        if (!(Object.is(got[i], want) || (Number.isNaN(want) && Number.isNaN(got[i]!))))
          bad.push(`${op}(${x}) [bits ${bits[i]!.toString(16)}] = ${got[i]}, expected ${want}`);
      });
      expect(bad, op).toEqual([]);
    }
  });
});
