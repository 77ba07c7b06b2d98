/**
 * The webgpu kernels against ref (the spec): every op's cases of test/shared/op-cases/ (declared once
 * per op, shared with the wasm suite), then deeper checks of reduce, matmul, gather and scatterAdd
 * on seeded inputs. Copies and selections (gather, max) must be exact; sums get the float32 bound of
 * helpers.ts. Small shapes: the CI
 * adapter is a CPU (llvmpipe).
 */
import { abs, expectExact, expectWithin, normalData, on, reportWorst, sizeOf, startWebGPU, sumTol } from './helpers.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { WebGPUBackend } from '../../src/backends/webgpu/index.js';
import { inverseCsr } from '../../src/backends/webgpu/kernels/indexmaps.js';
import { reduceGeometry } from '../../src/backends/webgpu/kernels/reduce.js';
import { chooseTile } from '../../src/backends/webgpu/kernels/tiles.js';
import { loadOpCases, opCaseFailures, opsWithoutCases } from '../shared/op-cases.js';

/** The per-op parity cases (test/shared/op-cases/*.ts), shared with the wasm suite. */
const OP_CASES = await loadOpCases();

let gpu: WebGPUBackend;
beforeAll(async () => {
  gpu = await startWebGPU();
});
afterAll(reportWorst);

describe('op cases (test/shared/op-cases/) vs ref', () => {
  it('every op of the kernel table has a case', () => {
    expect(opsWithoutCases(OP_CASES)).toEqual([]);
  });
  it.each(OP_CASES.map((c, i) => [c.file, c.name, i] as const))('%s: %s', async (_file, _name, i) => {
    expect(await opCaseFailures('webgpu', OP_CASES[i]!, i)).toEqual([]);
  });
});

describe('reduce vs ref', () => {
  // [shape, axes]: all axes, leading/trailing/middle/alternating axes, size-1 and empty axes, long
  // reductions (tree mode, and chunked into partials + a second pass), many short ones (serial mode).
  const cases: [number[], number[]][] = [
    [[7], [0]],
    [[1], [0]],
    [[3, 4], [0]],
    [[3, 4], [1]],
    [
      [3, 4],
      [0, 1],
    ],
    [
      [2, 3, 4, 5],
      [1, 3],
    ],
    [
      [2, 3, 4, 5],
      [0, 2],
    ],
    [
      [2, 1, 4, 1],
      [1, 2],
    ],
    [[4, 5], []],
    [[3, 0, 2], [1]],
    [[3, 0, 2], [0]],
    [
      [1, 64, 64, 3],
      [1, 2],
    ], // mean-over-spatial shape: 3 outputs of 4096 (tree mode)
    [[70000], [0]], // one long output: chunks + second pass
    [[20000, 3], [1]], // many short outputs: serial mode
    [
      [5, 300, 7],
      [0, 2],
    ],
    [
      [2, 2, 2, 2, 2, 2, 2, 2, 2],
      [0, 2, 4, 6, 8],
    ],
  ];
  for (const op of ['sum', 'max'] as const) {
    it.each(cases.map(([s, a]) => [JSON.stringify(s), JSON.stringify(a), s, a] as const))(`${op} %s over %s`, async (_s, _a, shape, axes) => {
      const x = normalData(100 + sizeOf(shape) + axes.length, sizeOf(shape), 2);
      const want = await on('ref', () => g.reduce(op, g.tensor(x, shape), axes));
      const got = await on('webgpu', () => g.reduce(op, g.tensor(x, shape), axes));
      if (op === 'max') expectExact(`reduce.max ${_s}/${_a}`, got, want);
      else {
        const S = await on('ref', () => g.reduce('sum', g.tensor(abs(x), shape), axes));
        const n = sizeOf(axes.map((a) => shape[a]!));
        expectWithin(`reduce.sum ${_s}/${_a}`, got, want, sumTol(want, S, n));
      }
    });
  }

  it('max propagates NaN, -inf for empty reductions, sum 0', async () => {
    const x = Float32Array.from([1, NaN, 3, -Infinity, 2, 5]);
    const want = await on('ref', () => g.reduce('max', g.tensor(x, [3, 2]), [1]));
    const got = await on('webgpu', () => g.reduce('max', g.tensor(x, [3, 2]), [1]));
    expectExact('reduce.max NaN', got, want);
    expect(Array.from(await on('webgpu', () => g.reduce('max', g.tensor([], [2, 0]), [1])))).toEqual([-Infinity, -Infinity]);
    expect(Array.from(await on('webgpu', () => g.reduce('sum', g.tensor([], [2, 0]), [1])))).toEqual([0, 0]);
  });

  it('reduceGeometry merges runs and drops size-1 axes', () => {
    expect(reduceGeometry([2, 3, 4, 5], [1, 2])).toEqual({ kept: { shape: [2, 5], strides: [60, 1] }, red: { shape: [12], strides: [5] } });
    expect(reduceGeometry([2, 1, 4], [0, 1])).toEqual({ kept: { shape: [4], strides: [1] }, red: { shape: [2], strides: [4] } });
    expect(reduceGeometry([6], [])).toEqual({ kept: { shape: [6], strides: [1] }, red: { shape: [], strides: [] } });
  });
});

describe('matmul vs ref', () => {
  // [a shape, b shape, transA, transB]: vectors-as-matrices, odd sizes, more than one tile per axis
  // (m, n > 64, k > 16 steps), k = 0, broadcast batch axes both ways.
  const cases: [number[], number[], boolean, boolean][] = [
    [[1, 1], [1, 1], false, false],
    [[3, 5], [5, 2], false, false],
    [[5, 3], [5, 2], true, false],
    [[3, 5], [2, 5], false, true],
    [[5, 3], [2, 5], true, true],
    [[70, 33], [33, 90], false, false],
    [[33, 70], [90, 33], true, true],
    [[2, 0], [0, 3], false, false],
    [[4, 3, 17], [17, 6], false, false],
    [[2, 1, 3, 4], [5, 4, 2], false, false],
    [[3, 1, 7, 2], [1, 4, 7, 5], true, false],
    [[1, 48], [48, 1], false, false],
    [[6, 130], [130, 20], false, false],
  ];
  it.each(cases.map(([a, b, ta, tb]) => [JSON.stringify(a), ta ? 'ᵀ' : '', JSON.stringify(b), tb ? 'ᵀ' : '', a, b, ta, tb] as const))(
    '%s%s · %s%s',
    async (_a, _ta, _b, _tb, sa, sb, ta, tb) => {
      const a = normalData(200 + sizeOf(sa), sizeOf(sa));
      const b = normalData(300 + sizeOf(sb), sizeOf(sb));
      const want = await on('ref', () => g.matmul(g.tensor(a, sa), g.tensor(b, sb), ta, tb));
      const got = await on('webgpu', () => g.matmul(g.tensor(a, sa), g.tensor(b, sb), ta, tb));
      const S = await on('ref', () => g.matmul(g.tensor(abs(a), sa), g.tensor(abs(b), sb), ta, tb));
      const k = ta ? sa.at(-2)! : sa.at(-1)!;
      expectWithin(`matmul ${_a}${_ta}·${_b}${_tb}`, got, want, sumTol(want, S, k));
    },
  );

  it('chooseTile picks the least padding (square on ties)', () => {
    expect(chooseTile(4096, 48)).toMatchObject({ tm: 64, tn: 16 });
    expect(chooseTile(4096, 96)).toMatchObject({ tm: 32, tn: 32 });
    expect(chooseTile(3, 200)).toMatchObject({ tm: 16, tn: 64 });
  });
});

describe('gather and scatterAdd vs ref', () => {
  it('gather: permutation, slice, broadcast, -1 entries, repeated sources; exact', async () => {
    const x = normalData(1, 60);
    const maps: [number[], Int32Array][] = [
      [[5, 12], Int32Array.from({ length: 60 }, (_, i) => (i * 7) % 60)],
      [[3, 4], Int32Array.from({ length: 12 }, (_, i) => (i % 3 === 0 ? -1 : i + 40))],
      [[100], Int32Array.from({ length: 100 }, (_, i) => i % 5)],
      [[1], Int32Array.of(-1)],
    ];
    for (const [shape, index] of maps) {
      const want = await on('ref', () => g.gather(g.tensor(x, [60]), shape, index));
      const got = await on('webgpu', () => g.gather(g.tensor(x, [60]), shape, index));
      expectExact(`gather ${shape}`, got, want);
    }
    // an empty source with an all -1 map
    expect(Array.from(await on('webgpu', () => g.gather(g.tensor([], [0]), [3], Int32Array.of(-1, -1, -1))))).toEqual([0, 0, 0]);
  });

  it('scatterAdd: fan-in 0..many, -1 entries; within the sum bound', async () => {
    const n = 5000;
    const x = normalData(2, n);
    const index = Int32Array.from({ length: n }, (_, i) => (i % 11 === 0 ? -1 : (i * i) % 97)); // 97 outputs, uneven fan-in
    const want = await on('ref', () => g.scatterAdd(g.tensor(x, [n]), [10, 10], index));
    const got = await on('webgpu', () => g.scatterAdd(g.tensor(x, [n]), [10, 10], index));
    const S = await on('ref', () => g.scatterAdd(g.tensor(abs(x), [n]), [10, 10], index));
    const fanIn = Math.max(...inverseCsrFanIn(index, 100));
    expectWithin('scatterAdd', got, want, sumTol(want, S, fanIn));
    expect(got[99]).toBe(0); // outputs 97..99 have no sources
  });

  it('blocks: one map on each of 3 blocks (gather exact, scatterAdd within the sum bound)', async () => {
    const n = 500;
    const x = normalData(3, 3 * n);
    const gIndex = Int32Array.from({ length: 70 }, (_, i) => (i % 9 === 0 ? -1 : (i * 37) % n));
    const wantG = await on('ref', () => g.gather(g.tensor(x, [3, n]), [3, 70], gIndex, 3));
    expectExact('gather (3 blocks)', await on('webgpu', () => g.gather(g.tensor(x, [3, n]), [3, 70], gIndex, 3)), wantG);
    const sIndex = Int32Array.from({ length: n }, (_, i) => (i % 13 === 0 ? -1 : (i * i) % 41)); // 41 of 50 outputs hit
    const want = await on('ref', () => g.scatterAdd(g.tensor(x, [3, n]), [3, 50], sIndex, 3));
    const got = await on('webgpu', () => g.scatterAdd(g.tensor(x, [3, n]), [3, 50], sIndex, 3));
    const S = await on('ref', () => g.scatterAdd(g.tensor(abs(x), [3, n]), [3, 50], sIndex, 3));
    expectWithin('scatterAdd (3 blocks)', got, want, sumTol(want, S, Math.max(...inverseCsrFanIn(sIndex, 50))));
    expect(got[149]).toBe(0);
  });

  it('inverseCsr lists the sources of each output in increasing order', () => {
    const csr = inverseCsr(Int32Array.of(2, -1, 0, 2, 2), 4);
    expect(Array.from(csr)).toEqual([0, 1, 1, 4, 4, /* sources */ 2, 0, 3, 4]);
  });

  it('index maps are uploaded once per Int32Array and reused; the gradient of gather is scatterAdd', async () => {
    g.setBackend('webgpu');
    const index = Int32Array.from({ length: 64 }, (_, i) => 63 - i);
    const x = g.tensor(normalData(3, 64), [64]);
    const before = gpu.indexMapStats().uploads;
    for (let i = 0; i < 20; i++) g.tidy(() => g.gather(x, [64], index));
    expect(gpu.indexMapStats().uploads - before).toBe(1);
    for (let i = 0; i < 20; i++) g.tidy(() => g.scatterAdd(x, [64], index));
    expect(gpu.indexMapStats().uploads - before).toBe(2);
    const { value, grads } = g.valueAndGrad((p: { x: g.Tensor }) => g.sum(g.mul(g.gather(p.x, [64], index), g.tensor(normalData(4, 64), [64]))))({ x });
    const want = await on('ref', () =>
      g.tensor(
        Float32Array.from({ length: 64 }, (_, i) => normalData(4, 64)[63 - i]!),
        [64],
      ),
    );
    expectExact('gather grad', await grads.x.data(), want);
    for (const t of [value, grads.x, x]) t.dispose();
  });
});

function inverseCsrFanIn(index: Int32Array, n: number): number[] {
  const c = new Array<number>(n).fill(0);
  for (const j of index) if (j >= 0) c[j]!++;
  return c;
}
