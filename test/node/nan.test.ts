/**
 * NaN propagates through pooling, reductions, relu and sign as in JAX (issue 12 item 3), on ref and on
 * both wasm builds: a diverging model must not have its NaNs hidden.
 *
 * JAX's rules, which these tests state independently of the kernels:
 *  - jax.nn.relu(NaN) and jnp.sign(NaN) are NaN; step (relu's derivative mask, x > 0) is 0 at NaN, so
 *    relu's gradient at NaN is 0, as JAX's where(x > 0, g, 0);
 *  - max pooling by a comparator takes the pixel of `argmax`, and jnp.argmax treats NaN as the
 *    largest value: the FIRST NaN of the window wins (else the first maximum);
 *  - max reductions (lax.max) and sums / means / average pooling return NaN when any term is NaN.
 * Every test puts a NaN at every window position (and every reduced position), so a kernel that only
 * propagates a NaN found at the start of a window fails.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  MultiImage,
  geometric as F,
  getBackend,
  grad,
  max,
  argmaxPool,
  argmaxPoolGrad,
  mean,
  memory,
  relu,
  setBackend,
  sign,
  step,
  sum,
  tensor,
  tidy,
  type Backend,
  type Tensor,
} from '../../src/index.js';
import { registerBackend } from '../../src/backends/backend.js';
import { createWasmBackend, type WasmBackend, type WasmVariant } from '../../src/backends/wasm/index.js';

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const read = (x: Tensor): number[] => Array.from(x.dataSync());

/** All coordinate tuples of `shape`, row-major. */
function grid(shape: readonly number[]): number[][] {
  let all: number[][] = [[]];
  for (const n of shape) all = all.flatMap((q) => Array.from({ length: n }, (_, i) => [...q, i]));
  return all;
}

/** JAX's rule, written independently: window element index of the first NaN, else of the first maximum. */
function jaxArgmax(values: readonly number[]): number {
  const nan = values.findIndex((v) => Number.isNaN(v));
  if (nan >= 0) return nan;
  let arg = 0;
  values.forEach((v, i) => {
    if (v > values[arg]!) arg = i;
  });
  return arg;
}

/**
 * The expected argmaxPool output for x[B, ...spatial, C·T] and comparator c[B, ...spatial, C], plus the
 * input pixel each (b, o, ch) routes to (for the gradient).
 */
function expectedPool(
  xv: readonly number[],
  cv: readonly number[],
  shape: readonly number[],
  C: number,
  T: number,
  patch: number,
): { y: number[]; arg: number[] } {
  const D = shape.length - 2;
  const spatial = shape.slice(1, 1 + D);
  const pooled = spatial.map((n) => n / patch);
  const npix = sizeOf(spatial);
  const pix = (p: readonly number[]) => p.reduce((s, v, d) => s * spatial[d]! + v, 0);
  const y: number[] = [];
  const arg: number[] = [];
  for (let b = 0; b < shape[0]!; b++) {
    for (const o of grid(pooled)) {
      for (let ch = 0; ch < C; ch++) {
        const window = grid(new Array<number>(D).fill(patch)).map((w) => b * npix + pix(o.map((v, d) => v * patch + w[d]!)));
        const best = window[jaxArgmax(window.map((p) => cv[p * C + ch]!))]!;
        arg.push(best);
        for (let t = 0; t < T; t++) y.push(xv[(best * C + ch) * T + t]!);
      }
    }
  }
  return { y, arg };
}

/** Same numbers, NaN equal to NaN (toEqual would do, but this names the first difference). */
function expectSame(got: readonly number[], want: readonly number[], what: string): void {
  expect(got.length, `${what}: length`).toBe(want.length);
  for (let i = 0; i < want.length; i++) {
    if (!Object.is(got[i], want[i]) && !(got[i] === want[i])) {
      throw new Error(`${what}: element ${i} is ${got[i]}, expected ${want[i]}`);
    }
  }
}

/** Distinct finite values (float32-exact), so that the chosen pixel is identifiable. */
const ramp = (n: number, seed: number) => Array.from({ length: n }, (_, i) => ((i * 37 + seed * 11) % 97) - 48);

const cases: { name: string; shape: number[]; C: number; T: number; patch: number }[] = [
  { name: '2-D, patch 2, 1 channel, T = 1', shape: [1, 4, 4, 1], C: 1, T: 1, patch: 2 },
  { name: '2-D, patch 2, 6 channels (SIMD lanes and a tail), T = 2', shape: [2, 2, 4, 12], C: 6, T: 2, patch: 2 },
  { name: '2-D, patch 3, 5 channels, T = 1', shape: [1, 3, 3, 5], C: 5, T: 1, patch: 3 },
  { name: '3-D, patch 2, 4 channels, T = 3', shape: [1, 2, 2, 4, 12], C: 4, T: 3, patch: 2 },
];

function suite(label: string, backend: () => Backend): void {
  describe(`NaN propagation on ${label}`, () => {
    let previous: Backend;
    beforeAll(() => {
      previous = getBackend();
      setBackend(backend().name);
    });
    afterAll(() => setBackend(previous.name));

    for (const cs of cases) {
      it(`argmaxPool / argmaxPoolGrad take the first NaN of the window, at every window position (${cs.name})`, () => {
        const before = memory();
        const { shape, C, T, patch } = cs;
        const D = shape.length - 2;
        const spatial = shape.slice(1, 1 + D);
        const cShape = [...shape.slice(0, -1), C];
        const xv = ramp(sizeOf(shape), 1);
        const nWin = patch ** D;
        const winOf = (p: number) => {
          // the window element index of pixel p (within its image)
          const coords = grid(spatial)[p % sizeOf(spatial)]!;
          return coords.reduce((s, v) => s * patch + (v % patch), 0);
        };
        let tried = 0;
        for (let w = 0; w < nWin; w++) {
          // NaN at window element w of every window, for every channel; a second NaN after it (if any) must not win.
          const cv = ramp(sizeOf(cShape), 2).map((v, i) => {
            const wi = winOf(Math.floor(i / C));
            return wi === w || wi === w + 2 ? NaN : v;
          });
          const want = expectedPool(xv, cv, shape, C, T, patch);
          const dyv = ramp(want.y.length, 3);
          const wantDx = new Array<number>(sizeOf(shape)).fill(0);
          want.arg.forEach((p, k) => {
            const ch = k % C;
            for (let t = 0; t < T; t++) wantDx[(p * C + ch) * T + t]! += dyv[k * T + t]!;
          });
          tidy(() => {
            const x = tensor(xv, shape);
            const c = tensor(cv, cShape);
            expectSame(read(argmaxPool(x, c, patch, T)), want.y, `argmaxPool, NaN at window element ${w}`);
            const dy = tensor(dyv, [...shape.slice(0, -1).map((n, i) => (i === 0 ? n : n / patch)), C * T]);
            expectSame(read(argmaxPoolGrad(dy, c, patch, T, shape)), wantDx, `argmaxPoolGrad, NaN at window element ${w}`);
          });
          tried++;
        }
        expect(tried).toBe(nWin);
        expect(memory()).toEqual(before);
      });
    }

    it('relu and sign return NaN, step 0, for a NaN at every SIMD lane and tail position, next to ±0 and ±inf', () => {
      const before = memory();
      const pattern = [3, -2, 0, -0, Infinity, -Infinity, 0.5, -7, 2 ** -100, -(2 ** 100), 2 ** -140];
      for (const len of [1, 2, 3, 4, 5, 7, 8, 9, 13]) {
        for (let p = 0; p < len; p++) {
          const v = Array.from({ length: len }, (_, i) => (i === p ? NaN : pattern[(i + len) % pattern.length]!));
          // The rules, stated directly (float32-exact inputs, so no rounding enters).
          const wantRelu = v.map((x) => (Number.isNaN(x) ? NaN : x > 0 ? x : 0));
          const wantSign = v.map((x) => (Number.isNaN(x) ? NaN : x > 0 ? 1 : x < 0 ? -1 : 0));
          const wantStep = v.map((x) => (x > 0 ? 1 : 0));
          tidy(() => {
            const x = tensor(v, [len]);
            expectSame(read(relu(x)), wantRelu, `relu, ${len} elements, NaN at ${p}`);
            expectSame(read(sign(x)), wantSign, `sign, ${len} elements, NaN at ${p}`);
            expectSame(read(step(x)), wantStep, `step, ${len} elements, NaN at ${p}`);
          });
        }
      }
      expect(memory()).toEqual(before);
    });

    it('every NaN bit pattern (negative, signalling, largest payload) stays NaN through relu and sign', () => {
      // A relu that clears negative inputs by their sign bit would turn a negative NaN into 0.
      const bits = Uint32Array.of(0x7fc00000, 0xffc00000, 0x7f800001, 0xff800001, 0x7fffffff, 0xffffffff, 0x3f800000, 0xbf800000);
      const v = new Float32Array(bits.buffer);
      tidy(() => {
        const x = tensor(v, [v.length]);
        expectSame(read(relu(x)), [NaN, NaN, NaN, NaN, NaN, NaN, 1, 0], 'relu of NaN bit patterns');
        expectSame(read(sign(x)), [NaN, NaN, NaN, NaN, NaN, NaN, 1, -1], 'sign of NaN bit patterns');
        expectSame(read(step(x)), [0, 0, 0, 0, 0, 0, 1, 0], 'step of NaN bit patterns');
      });
    });

    it("relu's value is NaN and its gradient 0 at a NaN input (JAX: where(x > 0, g, 0))", () => {
      const before = memory();
      tidy(() => {
        const g = grad((x: Tensor) => sum(relu(x)))(tensor([2, NaN, -1, 0, NaN, 5], [6]));
        expectSame(read(g), [1, 0, 0, 0, 0, 1], 'd/dx sum(relu(x))');
        expect(Number.isNaN(read(sum(relu(tensor([2, NaN, -1], [3]))))[0])).toBe(true);
      });
      expect(memory()).toEqual(before);
    });

    it('a NaN comparator only in some channels: the others keep their maximum', () => {
      tidy(() => {
        // 1 window of 4 pixels, 5 channels; NaN at pixel 3 in channels 1 and 4 only.
        const cv = [0, 1, 2, 3, 4, 9, 8, 7, 6, 5, 1, 1, 1, 1, 1, 2, NaN, 2, 2, NaN];
        const xv = Array.from({ length: 20 }, (_, i) => 100 + i);
        const got = read(argmaxPool(tensor(xv, [1, 2, 2, 5]), tensor(cv, [1, 2, 2, 5]), 2, 1));
        // channel 0: max 9 at pixel 1; ch 1: NaN at pixel 3; ch 2: 7 at pixel 1; ch 3: 6 at pixel 1; ch 4: NaN at pixel 3.
        expectSame(got, [105, 116, 107, 108, 119], 'per-channel NaN');
      });
    });

    it('MultiImage.maxPool(2, false) and by norm return NaN wherever a window holds one (issue 12: NaN at (1,1))', () => {
      for (let i = 0; i < 2; i++) {
        for (let j = 0; j < 2; j++) {
          tidy(() => {
            const v = [1, 1, 1, 1];
            v[2 * i + j] = NaN;
            const img = new MultiImage(tensor(v, [1, 2, 2, 1]), [[[0, 0], 1]], 2);
            expectSame(read(img.maxPool(2, false).data), [NaN], `by value, NaN at (${i},${j})`);
            expectSame(read(img.maxPool(2, true).data), [NaN], `by norm, NaN at (${i},${j})`);
            // A vector image: a NaN in one component makes that pixel's norm NaN, so its whole vector is taken.
            const vec = Array.from({ length: 8 }, (_, k) => k + 1);
            vec[2 * (2 * i + j) + 1] = NaN;
            const vi = new MultiImage(tensor(vec, [1, 2, 2, 2]), [[[1, 0], 1]], 2);
            expectSame(read(vi.maxPool(2).data), [2 * (2 * i + j) + 1, NaN], `vector by norm, NaN at (${i},${j})`);
            expectSame(read(vi.averagePool(2).data).map(Number.isNaN).map(Number), [0, 1], `vector average pool, NaN at (${i},${j})`);
            // The functional form (ginjax max_pool on one image).
            expectSame(read(F.maxPool(tensor(v, [2, 2]), 2, 0, 2, false)), [NaN], `F.maxPool by value, NaN at (${i},${j})`);
            expectSame(read(F.averagePool(tensor(v, [2, 2]), 2, 0, 2)), [NaN], `F.averagePool, NaN at (${i},${j})`);
          });
        }
      }
    });

    it('sum, max and mean return NaN when any reduced term is NaN, at every position and for every axis set', () => {
      const shape = [3, 5, 6];
      const axesSets = [[0], [1], [2], [0, 1], [1, 2], [0, 2], [0, 1, 2]];
      const n = sizeOf(shape);
      const base = ramp(n, 4);
      for (let p = 0; p < n; p++) {
        const xv = base.slice();
        xv[p] = NaN;
        const pc = grid(shape)[p]!;
        for (const axes of axesSets) {
          // Outputs whose kept coordinates equal p's are NaN, all others finite.
          const kept = shape.map((_, i) => i).filter((i) => !axes.includes(i));
          const wantNaN = grid(kept.map((i) => shape[i]!)).map((q) => q.every((v, j) => v === pc[kept[j]!]));
          tidy(() => {
            const x = tensor(xv, shape);
            for (const [name, r] of [
              ['sum', sum(x, axes)],
              ['max', max(x, axes)],
              ['mean', mean(x, axes)],
            ] as const) {
              const got = read(r).map((v) => Number.isNaN(v));
              expect(got, `${name} over [${axes}] with NaN at [${pc}]`).toEqual(wantNaN);
            }
          });
        }
      }
    });

    it('max with NaN among infinities and a long row (the vector loops) is NaN', () => {
      for (const len of [3, 4, 7, 9, 16, 17, 40, 600]) {
        for (const p of new Set([0, 1, len >> 1, len - 2, len - 1].filter((q) => q >= 0))) {
          const v = Array.from({ length: len }, (_, i) => (i % 3 === 0 ? -Infinity : i % 3 === 1 ? Infinity : i));
          v[p] = NaN;
          tidy(() => {
            expect(Number.isNaN(read(max(tensor(v, [1, len]), [1]))[0]), `max of ${len} with NaN at ${p}`).toBe(true);
            // The same row as a column (reduceMiddle on wasm), next to a NaN-free column.
            const cols = v.flatMap((x) => [x, 1]);
            expect(read(max(tensor(cols, [len, 2]), [0])).map(Number.isNaN), `column max of ${len} with NaN at ${p}`).toEqual([true, false]);
          });
        }
      }
    });
  });
}

suite('ref', () => getBackend('ref'));
for (const variant of ['simd', 'relaxed'] as WasmVariant[]) {
  let be: WasmBackend | null = null;
  describe(`wasm ${variant}`, () => {
    beforeAll(async () => {
      be = await createWasmBackend({ threads: 1, variant });
      registerBackend(be);
    });
    suite(`wasm (${variant})`, () => be!);
  });
}
