/**
 * The native wasm primitives against the ref backend (the spec), for both builds (`simd`, `relaxed`):
 * every op's cases of test/shared/op-cases/ (declared once per op, shared with the webgpu suite),
 * then deeper checks of reduce, matmul, gather, scatterAdd, concat, argmaxPool, argmaxPoolGrad: seeded random inputs,
 * edge cases (size-1 axes, empty tensors, block and vector tails, transposes, broadcasting, −1
 * indices, repeated indices, ties), gradients of a composite, and leaks.
 *
 * Tolerances (each justified where it is used):
 *  - copies and selections (gather, concat, argmaxPool, argmaxPoolGrad, reduce max, scatterAdd onto
 *    distinct outputs) are bit-exact: the float32 result must equal Math.fround(ref);
 *  - sums (reduce sum, matmul, scatterAdd with repeats) are float32 accumulations compared with
 *    ref's float64 ones: |got − ref| ≤ depth · 2^-24 · Σ|terms| (Higham's bound for a summation
 *    tree of that depth), with the depth each kernel documents, plus the final rounding.
 *
 * Relaxed SIMD needs `--experimental-wasm-relaxed-simd` on Node 20 (vitest.config.ts execArgv);
 * without it the relaxed suite FAILS (it does not skip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  abs,
  add,
  concat,
  gather,
  getBackend,
  matmul,
  max,
  argmaxPool,
  argmaxPoolGrad,
  memory,
  mul,
  permute,
  random,
  reduce,
  scatterAdd,
  setBackend,
  square,
  sum,
  tensor,
  tidy,
  valueAndGrad,
  type Backend,
  type ReduceOp,
  type Tensor,
} from '../../src/index.js';
import { registerBackend } from '../../src/backends/backend.js';
import { createWasmBackend, relaxedSimdSupported, type WasmBackend, type WasmVariant } from '../../src/backends/wasm/index.js';
import { indexMapCacheOf, type IndexMapCache } from '../../src/backends/wasm/gather.js';
import { MATMUL_BLOCKS, matmulPlan } from '../../src/backends/wasm/matmul.js';
import { convTuning } from '../../src/backends/wasm/conv.js';
import { reducePlan } from '../../src/backends/wasm/reduce.js';
import { loadOpCases, opCaseFailures, opsWithoutCases } from '../shared/op-cases.js';

/** The per-op parity cases (test/shared/op-cases/*.ts), run below on both builds. */
const OP_CASES = await loadOpCases();

const U = 2 ** -24; // unit roundoff of float32
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Runs `fn` on ref with float32-exact copies of the inputs; returns the float64 result. */
function onRef(data: readonly Float32Array[], shapes: readonly (readonly number[])[], fn: (...xs: Tensor[]) => Tensor): Float64Array {
  const ref = getBackend('ref');
  return tidy(() => Float64Array.from(fn(...data.map((d, i) => tensor(d, shapes[i], ref))).storage() as Float64Array));
}

function onWasm(be: Backend, data: readonly Float32Array[], shapes: readonly (readonly number[])[], fn: (...xs: Tensor[]) => Tensor): Float32Array {
  return tidy(() => fn(...data.map((d, i) => tensor(d, shapes[i], be))).dataSync());
}

/** Bit-exact float32 equality with ref (rounded once), every NaN equal to every NaN. */
function exactMismatches(got: Float32Array, want: ArrayLike<number>): { i: number; got: number; want: number }[] {
  expect(got.length).toBe(want.length);
  const bad: { i: number; got: number; want: number }[] = [];
  for (let i = 0; i < got.length; i++) {
    const w = Math.fround(want[i]!);
    if (!(Number.isNaN(w) ? Number.isNaN(got[i]!) : Object.is(got[i], w))) bad.push({ i, got: got[i]!, want: want[i]! });
  }
  return bad;
}

/** `fn` on wasm equals `fn` on ref bit-exactly (see exactMismatches). */
function expectExactOnWasm(
  be: Backend,
  data: readonly Float32Array[],
  shapes: readonly (readonly number[])[],
  fn: (...xs: Tensor[]) => Tensor,
  what?: string,
): void {
  expect(exactMismatches(onWasm(be, data, shapes, fn), onRef(data, shapes, fn)), what).toEqual([]);
}

/** |got − want| ≤ tol[i] (and non-finite values equal). */
function boundMismatches(got: Float32Array, want: ArrayLike<number>, tol: (i: number) => number) {
  expect(got.length).toBe(want.length);
  const bad: { i: number; got: number; want: number; tol: number }[] = [];
  for (let i = 0; i < got.length; i++) {
    const w = want[i]!;
    const t = tol(i) + Math.abs(Math.fround(w) - w); // + the unavoidable final rounding
    const ok = Number.isFinite(w) ? Number.isFinite(got[i]!) && Math.abs(got[i]! - w) <= t : Object.is(got[i], Math.fround(w));
    if (!ok) bad.push({ i, got: got[i]!, want: w, tol: t });
  }
  return bad;
}

let seedCounter = 1000;
const uniform = (n: number, lo = -1, hi = 1) => random.uniform(random.key(seedCounter++), n, lo, hi);
/** Values on a coarse grid: many ties. */
const quantised = (n: number, levels = 4) => uniform(n, -1, 1).map((v) => Math.round(v * levels) / levels);

it('the engine has relaxed SIMD (vitest execArgv), so both builds are tested', () => {
  expect(relaxedSimdSupported(), 'relaxed SIMD missing: run vitest through vitest.config.ts').toBe(true);
});

describe('host-side plans', () => {
  it('reducePlan merges axes and picks passes', () => {
    expect(reducePlan([2, 3, 4], [])).toEqual({ kind: 'copy', n: 24 });
    expect(reducePlan([3, 1, 4], [1])).toEqual({ kind: 'copy', n: 12 }); // only a size-1 axis
    expect(reducePlan([2, 3, 4], [0, 1, 2])).toEqual({ kind: 'passes', passes: [{ kind: 'inner', outer: 1, n: 24 }] });
    expect(reducePlan([2, 3, 4], [1, 2])).toEqual({ kind: 'passes', passes: [{ kind: 'inner', outer: 2, n: 12 }] });
    expect(reducePlan([2, 3, 4], [0, 1])).toEqual({ kind: 'passes', passes: [{ kind: 'middle', outer: 1, r: 6, m: 4 }] });
    expect(reducePlan([2, 1, 3, 5, 1, 4], [0, 2, 5])).toEqual({
      kind: 'passes',
      passes: [
        { kind: 'inner', outer: 30, n: 4 },
        { kind: 'middle', outer: 1, r: 6, m: 5 },
      ],
    });
    expect(reducePlan([3, 0], [1])).toEqual({ kind: 'fill', n: 3 });
    expect(reducePlan([0, 3], [1])).toEqual({ kind: 'empty' });
  });

  it('matmulPlan folds a shared B into the rows and shrinks the blocks', () => {
    const p = matmulPlan([5, 7, 3], [3, 4], [5, 7, 4], false, false);
    expect(p).toMatchObject({ kind: 'gemm', m: 35, k: 3, n: 4, batch: [], KC: 3, MC: 36, NC: 8 });
    const q = matmulPlan([5, 7, 3], [3, 4], [5, 7, 4], true, false); // Aᵀ: not foldable
    expect(q).toMatchObject({ kind: 'gemm', m: 3, batch: [5], aStride: [1], bStride: [0] });
    const r = matmulPlan([2, 1, 3, 4], [3, 4, 5], [2, 3, 3, 5], false, false);
    expect(r).toMatchObject({ batch: [2, 3], aStride: [1, 0], bStride: [0, 1] });
    expect(matmulPlan([3, 0], [0, 4], [3, 4], false, false)).toEqual({ kind: 'zeros', n: 12 });
    expect(matmulPlan([0, 3], [3, 4], [0, 4], false, false)).toEqual({ kind: 'empty' });
    const big = matmulPlan([1000, 1000], [1000, 5000], [1000, 5000], false, false);
    expect(big).toMatchObject({ KC: MATMUL_BLOCKS.KC, MC: MATMUL_BLOCKS.MC, NC: MATMUL_BLOCKS.NC });
  });
});

const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];

describe.each(VARIANTS)('native wasm primitives, %s build', (variant) => {
  let be: WasmBackend;
  let previous: Backend;
  let cache: IndexMapCache;
  beforeAll(async () => {
    previous = getBackend();
    be = await createWasmBackend({ threads: 1, variant });
    registerBackend(be);
    setBackend('wasm');
    cache = indexMapCacheOf(be.kernels.gather)!;
  });
  afterAll(() => setBackend(previous.name));

  it('runs the requested build and shares one index-map cache between gather and scatterAdd', () => {
    expect(be.variant).toBe(variant);
    expect(cache).toBeDefined();
    expect(indexMapCacheOf(be.kernels.scatterAdd)).toBe(cache);
  });

  describe('op cases (test/shared/op-cases/)', () => {
    it('every op of the kernel table has a case', () => {
      expect(opsWithoutCases(OP_CASES)).toEqual([]);
    });
    it.each(OP_CASES.map((c, i) => [c.file, c.name, i] as const))('%s: %s', async (_file, _name, i) => {
      expect(await opCaseFailures('wasm', OP_CASES[i]!, i)).toEqual([]);
      setBackend('wasm');
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe('reduce', () => {
    const CASES: [number[], number[]][] = [
      [[5], []],
      [[5], [0]],
      [[1], [0]],
      [[], []],
      [[2, 3, 4], [0]],
      [[2, 3, 4], [1]],
      [[2, 3, 4], [2]],
      [
        [2, 3, 4],
        [0, 1],
      ],
      [
        [2, 3, 4],
        [0, 2],
      ],
      [
        [2, 3, 4],
        [1, 2],
      ],
      [
        [2, 3, 4],
        [0, 1, 2],
      ],
      [[2, 3, 4], []],
      [[1, 7, 1, 5], [0]],
      [[1, 7, 1, 5], [2]],
      [
        [1, 7, 1, 5],
        [0, 2],
      ],
      [
        [1, 7, 1, 5],
        [1, 3],
      ],
      [
        [3, 1, 4, 1, 6],
        [1, 3],
      ],
      [
        [2, 5, 3, 17, 4],
        [0, 2, 4],
      ],
      [
        [2, 5, 3, 17, 4],
        [1, 3],
      ],
      [
        [6, 2, 5, 3, 7],
        [0, 1, 3],
      ],
      [[9, 7], [1]],
      [[9, 8], [1]],
      [[9, 9], [1]],
      [[37, 1000], [1]],
      [[1000, 37], [0]],
      [[3, 5000], [1]],
      [[20000, 3], [0]],
      [[2, 70, 33], [1]],
      [[4, 100, 20], [1]],
      [[3, 0], [1]],
      [[3, 0], [0]],
      [[0, 3], [1]],
      [[4, 0, 2], [1]],
      [[0], [0]],
      [[2, 0, 3], []],
    ];
    for (const op of ['sum', 'max'] as ReduceOp[]) {
      it(`${op} over size-1, none, all, adjacent and non-adjacent axes, long rows/columns, empty`, () => {
        for (const [shape, axes] of CASES) {
          const n = sizeOf(shape);
          for (const x of [uniform(n), quantised(n)]) {
            const want = onRef([x], [shape], (t) => reduce(op, t, axes));
            const got = onWasm(be, [x], [shape], (t) => reduce(op, t, axes));
            if (op === 'max') {
              // f32x4.max is Math.max: max is exact in any order.
              expect(exactMismatches(got, want).slice(0, 3), `max [${shape}] over [${axes}]`).toEqual([]);
            } else {
              // Blocked pairwise float32 sums: depth ≤ 40 + ⌈log2 n⌉ per pass (kernel header), so
              // |error| ≤ (40·passes + ⌈log2 N⌉) · 2^-24 · Σ|x| over the N reduced terms.
              const plan = reducePlan(shape, axes);
              const passes = plan.kind === 'passes' ? plan.passes.length : 0;
              const N = axes.reduce((p, a) => p * shape[a]!, 1);
              const absSum = onRef([x], [shape], (t) => reduce('sum', abs(t), axes));
              const depth = 40 * passes + Math.ceil(Math.log2(N + 1));
              expect(boundMismatches(got, want, (i) => depth * U * absSum[i]!).slice(0, 3), `sum [${shape}] over [${axes}]`).toEqual([]);
            }
          }
        }
      });
    }

    it('max propagates NaN and orders signed zeros exactly as Math.max; sum of an empty set is +0, max −∞', () => {
      const specials = Float32Array.from([0, -0, -0, 0, -0, -0, -0, -0, NaN, 1, -Infinity, 2, Infinity, 3, 5, -1, -0, 0, 0, -0]);
      for (const [shape, axes] of [
        [[20], [0]],
        [[5, 4], [1]],
        [[5, 4], [0]],
        [[4, 5], [1]],
        [[2, 10], [0]],
      ] as [number[], number[]][]) {
        for (const op of ['max', 'sum'] as ReduceOp[]) {
          const want = onRef([specials], [shape], (t) => reduce(op, t, axes));
          const got = onWasm(be, [specials], [shape], (t) => reduce(op, t, axes));
          expect(exactMismatches(got, want), `${op} [${shape}] over [${axes}]`).toEqual([]);
        }
      }
      expect([...onWasm(be, [new Float32Array(0)], [[3, 0]], (t) => reduce('sum', t, [1]))].map((v) => Object.is(v, 0))).toEqual([true, true, true]);
      expect([...onWasm(be, [new Float32Array(0)], [[3, 0]], (t) => reduce('max', t, [1]))]).toEqual([-Infinity, -Infinity, -Infinity]);
    });

    it('a float32 sum of 2^20 terms is accurate to 64·2^-24·Σ|x| (pairwise), rows and columns', () => {
      const n = 2 ** 20;
      const x = uniform(n, 0, 1); // all positive: the worst case for a sequential float32 sum
      const exact = x.reduce((s, v) => s + v, 0);
      let seq = Math.fround(0);
      for (const v of x) seq = Math.fround(seq + v);
      const total = onWasm(be, [x], [[n]], (t) => sum(t))[0]!;
      expect(Math.abs(total - exact)).toBeLessThanOrEqual(64 * U * exact);
      expect(Math.abs(total - exact)).toBeLessThan(Math.abs(seq - exact)); // better than sequential
      const cols = onWasm(be, [x], [[n / 4, 4]], (t) => sum(t, [0]));
      const want = onRef([x], [[n / 4, 4]], (t) => sum(t, [0]));
      expect(boundMismatches(cols, want, (i) => 64 * U * want[i]!)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe('matmul', () => {
    /** |error| ≤ (k + 1)·2^-24·Σ_p|a_ip·b_pj|: k sequential float32 roundings (mul+add rounds twice per
     * term but the product's rounding is relative to the term itself, so k + 1 covers it). */
    function check(sa: number[], sb: number[], ta: boolean, tb: boolean, label: string) {
      const a = uniform(sizeOf(sa));
      const b = uniform(sizeOf(sb));
      const want = onRef([a, b], [sa, sb], (x, y) => matmul(x, y, ta, tb));
      const got = onWasm(be, [a, b], [sa, sb], (x, y) => matmul(x, y, ta, tb));
      const mag = onRef([a, b], [sa, sb], (x, y) => matmul(abs(x), abs(y), ta, tb));
      const k = ta ? sa.at(-2)! : sa.at(-1)!;
      expect(boundMismatches(got, want, (i) => (k + 1) * U * mag[i]!).slice(0, 3), label).toEqual([]);
    }
    const mk = (batch: number[], r: number, c: number, t: boolean) => [...batch, ...(t ? [c, r] : [r, c])];

    it('m, n, k around the 4×8 tile and the blocks, k = 1, all four transposes', () => {
      const dims = [
        [1, 1, 1],
        [3, 5, 7],
        [4, 8, 8],
        [5, 9, 1],
        [17, 3, 9],
        [8, 1, 16],
        [13, 31, 29],
        [64, 64, 64],
        [130, 300, 70],
        [3, 5, 2050],
        [9, 520, 11],
      ];
      for (const [m, k, n] of dims) {
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            check(mk([], m!, k!, ta), mk([], k!, n!, tb), ta, tb, `${m}×${k}×${n} ${ta ? 'Aᵀ' : 'A'}${tb ? 'Bᵀ' : 'B'}`);
          }
      }
    });

    it('batches with broadcasting (either side, rank mismatch, size-1 axes, folded shared B)', () => {
      const cases: [number[], number[]][] = [
        [[5], []],
        [[], [4]],
        [[2, 1], [3]],
        [
          [1, 3],
          [2, 1],
        ],
        [
          [2, 3],
          [2, 3],
        ],
        [[2, 3], [3]],
        [
          [6, 1, 2],
          [1, 5, 1],
        ],
        [[7], [1]],
      ];
      for (const [ba, bb] of cases) {
        for (const ta of [false, true])
          for (const tb of [false, true]) {
            check(mk(ba, 5, 6, ta), mk(bb, 6, 9, tb), ta, tb, `[${ba}]×[${bb}] ${ta}${tb}`);
            check(mk(ba, 1, 3, ta), mk(bb, 3, 1, tb), ta, tb, `[${ba}]×[${bb}] 1×3×1 ${ta}${tb}`);
          }
      }
    });

    it('k = 0 gives zeros; empty outputs', () => {
      const z = onWasm(
        be,
        [new Float32Array(0), new Float32Array(0)],
        [
          [3, 0],
          [0, 4],
        ],
        (a, b) => matmul(a, b),
      );
      expect([...z]).toEqual(new Array(12).fill(0));
      expect(
        onWasm(
          be,
          [new Float32Array(0), uniform(12)],
          [
            [0, 3],
            [3, 4],
          ],
          (a, b) => matmul(a, b),
        ).length,
      ).toBe(0);
      expect(
        onWasm(
          be,
          [new Float32Array(0), uniform(12)],
          [
            [0, 2, 3],
            [3, 4],
          ],
          (a, b) => matmul(a, b),
        ).length,
      ).toBe(0);
    });

    it('special values propagate like the dot product (inf, NaN)', () => {
      const a = Float32Array.from([1, 2, Infinity, 0, NaN, 1, 3, 4]);
      const b = Float32Array.from([1, 0, 2, 1]);
      const want = onRef(
        [a, b],
        [
          [4, 2],
          [2, 2],
        ],
        (x, y) => matmul(x, y),
      );
      const got = onWasm(
        be,
        [a, b],
        [
          [4, 2],
          [2, 2],
        ],
        (x, y) => matmul(x, y),
      );
      expect(exactMismatches(got, want)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe('gather and scatterAdd', () => {
    const randomIndex = (n: number, src: number, holes: number) => {
      const u = uniform(n, 0, 1);
      const v = uniform(n, 0, 1);
      return Int32Array.from(u, (w, i) => (v[i]! < holes ? -1 : Math.min(src - 1, Math.floor(w * src))));
    };

    it('gather with −1 entries is an exact copy, every tail length', () => {
      for (const n of [0, 1, 3, 4, 5, 17, 1000]) {
        for (const src of [1, 7, 300]) {
          const x = uniform(src);
          const index = randomIndex(n, src, 0.2);
          const want = onRef([x], [[src]], (t) => gather(t, [n], index));
          const got = onWasm(be, [x], [[src]], (t) => gather(t, [n], index));
          expect(exactMismatches(got, want)).toEqual([]);
          expect([...got].filter((_, i) => index[i] === -1).every((v) => Object.is(v, 0))).toBe(true); // +0
        }
      }
      const specials = Float32Array.from([NaN, -0, Infinity, -Infinity, 1e-40]);
      const idx = Int32Array.from([4, 3, 2, 1, 0, -1, 1]);
      expectExactOnWasm(be, [specials], [[5]], (t) => gather(t, [7], idx));
    });

    it('permute (a gather) of a 4-D tensor equals ref exactly', () => {
      const x = uniform(2 * 3 * 4 * 5);
      expectExactOnWasm(be, [x], [[2, 3, 4, 5]], (t) => permute(t, [3, 1, 0, 2]));
    });

    it('scatterAdd with repeated indices: float32 in index order, within (hits − 1)·2^-24·Σ|terms|', () => {
      for (const [n, nOut] of [
        [1000, 7],
        [1000, 300],
        [5, 1],
        [17, 40],
        [3000, 3000],
      ]) {
        const x = uniform(n!);
        const index = randomIndex(n!, nOut!, 0.1);
        const want = onRef([x], [[n!]], (t) => scatterAdd(t, [nOut!], index));
        const got = onWasm(be, [x], [[n!]], (t) => scatterAdd(t, [nOut!], index));
        const mag = onRef([x], [[n!]], (t) => scatterAdd(abs(t), [nOut!], index));
        const hits = onRef([new Float32Array(n!).fill(1)], [[n!]], (t) => scatterAdd(t, [nOut!], index));
        // A sequential float32 sum of h terms from 0: ≤ (h − 1) roundings, each ≤ 2^-24 of a partial sum ≤ Σ|terms|.
        expect(boundMismatches(got, want, (i) => Math.max(0, hits[i]! - 1) * U * mag[i]!).slice(0, 3), `${n} → ${nOut}`).toEqual([]);
      }
    });

    it('scatterAdd onto distinct outputs (an inverse permutation, with holes) is exact; empty cases', () => {
      const perm = random.permutation(random.key(77), 500);
      const index = Int32Array.from(perm, (p, i) => (i % 7 === 3 ? -1 : p));
      const x = uniform(500);
      expectExactOnWasm(be, [x], [[500]], (t) => scatterAdd(t, [500], index));
      const none = new Int32Array(0);
      expect([...onWasm(be, [new Float32Array(0)], [[0]], (t) => scatterAdd(t, [5], none))]).toEqual([0, 0, 0, 0, 0]);
      expect(onWasm(be, [uniform(3)], [[3]], (t) => gather(t, [0, 4], none)).length).toBe(0);
      const neg = new Float32Array([-0, -0]);
      expect(Object.is(onWasm(be, [neg], [[2]], (t) => scatterAdd(t, [2], Int32Array.of(1, 0)))[0], 0)).toBe(true); // 0 + −0 = +0, as ref
    });

    it('an index map is copied into wasm memory once per Int32Array and then found in the cache', () => {
      const x = uniform(64);
      const index = randomIndex(256, 64, 0.1);
      const s0 = cache.stats();
      onWasm(be, [x], [[64]], (t) => gather(t, [256], index));
      const s1 = cache.stats();
      expect(s1.misses).toBe(s0.misses + 1);
      for (let i = 0; i < 5; i++) onWasm(be, [x], [[64]], (t) => gather(t, [256], index));
      const s2 = cache.stats();
      expect(s2.misses).toBe(s1.misses);
      expect(s2.hits).toBe(s1.hits + 5);
      // the adjoint with the same map hits too
      onWasm(be, [uniform(256)], [[256]], (t) => scatterAdd(t, [64], index));
      expect(cache.stats().hits).toBe(s2.hits + 1);
      // a copy of the array is another map (identity, not contents)
      onWasm(be, [x], [[64]], (t) => gather(t, [256], index.slice()));
      expect(cache.stats().misses).toBe(s2.misses + 1);
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe('concat', () => {
    it('along first, middle and last axes, with empty parts: exact', () => {
      const cases: [number[][], number][] = [
        [
          [
            [2, 3],
            [4, 3],
            [1, 3],
          ],
          0,
        ],
        [
          [
            [2, 3],
            [2, 5],
          ],
          1,
        ],
        [
          [
            [2, 3, 4],
            [2, 1, 4],
            [2, 0, 4],
            [2, 6, 4],
          ],
          1,
        ],
        [
          [
            [2, 3, 4],
            [2, 3, 1],
            [2, 3, 7],
          ],
          2,
        ],
        [[[5]], 0],
        [
          [
            [0, 3],
            [2, 3],
          ],
          0,
        ],
        [
          [
            [3, 0],
            [3, 0],
          ],
          1,
        ],
        [
          [
            [1, 1, 1],
            [1, 1, 1],
          ],
          2,
        ],
        [
          [
            [4, 2, 3, 2],
            [4, 2, 3, 5],
          ],
          3,
        ],
        [
          [
            [2, 0, 3],
            [2, 0, 3],
          ],
          2,
        ],
      ];
      for (const [shapes, axis] of cases) {
        const data = shapes.map((s) => uniform(sizeOf(s)));
        expectExactOnWasm(be, data, shapes, (...ts) => concat(ts, axis), `${JSON.stringify(shapes)} @${axis}`);
      }
    });
  });

  // -------------------------------------------------------------------------------------------------
  describe('argmaxPool and argmaxPoolGrad', () => {
    // [batch, spatial, channels, tensorSize, patch]
    const CASES: [number, number[], number, number, number][] = [
      [2, [6], 1, 1, 2],
      [1, [9], 5, 3, 3],
      [2, [4, 4], 1, 2, 2],
      [2, [4, 6], 4, 1, 2],
      [1, [6, 6], 9, 2, 3],
      [3, [4, 4], 5, 4, 1],
      [1, [4, 4, 4], 3, 3, 2],
      [2, [2, 4, 6], 4, 2, 2],
      [1, [3, 3, 3], 8, 1, 3],
      [2, [8, 8], 7, 2, 4],
    ];
    for (const [B, spatial, C, T, patch] of CASES) {
      it(`D=${spatial.length}, B=${B}, [${spatial}], C=${C}, T=${T}, patch ${patch}: exact, first maximum on ties`, () => {
        const xs = [B, ...spatial, C * T];
        const cs = [B, ...spatial, C];
        const ys = [B, ...spatial.map((s) => s / patch), C * T];
        const x = uniform(sizeOf(xs));
        for (const c of [uniform(sizeOf(cs)), quantised(sizeOf(cs), 1)]) {
          // levels = 1: values in {−1, 0, 1}, ties everywhere
          expectExactOnWasm(be, [x, c], [xs, cs], (a, b) => argmaxPool(a, b, patch, T));
          expectExactOnWasm(be, [uniform(sizeOf(ys)), c], [ys, cs], (a, b) => argmaxPoolGrad(a, b, patch, T, xs));
        }
      });
    }

    it('NaN comparators: the first NaN of a window wins (jnp.argmax); all-equal windows pick the first pixel; empty batch', () => {
      const c = Float32Array.from([NaN, 1, 2, 0, 3, NaN, -0, 0, 5, 5, 5, 5, 1, NaN, NaN, 2]); // [1, 8, 2] → windows of 2 pixels
      const pairs = [
        [1, 8, 4],
        [1, 8, 2],
      ];
      expectExactOnWasm(be, [uniform(16 * 2), c], pairs, (a, b) => argmaxPool(a, b, 2, 2));
      const c4 = Float32Array.from({ length: 4 * 8 }, (_, i) => (i % 5 === 0 ? NaN : i % 3));
      const quads = [
        [1, 8, 4],
        [1, 8, 4],
      ];
      expectExactOnWasm(be, [uniform(4 * 8), c4], quads, (a, b) => argmaxPool(a, b, 4, 1));
      expect(
        onWasm(
          be,
          [new Float32Array(0), new Float32Array(0)],
          [
            [0, 4, 4, 2],
            [0, 4, 4, 2],
          ],
          (a, b) => argmaxPool(a, b, 2, 1),
        ).length,
      ).toBe(0);
    });
  });

  // -------------------------------------------------------------------------------------------------
  it('valueAndGrad of a composite of these ops equals ref', () => {
    // x[2,4,4,3] · W[3,4] → h; h and its spatial transpose concatenated → [2,4,4,8] = 4 channels × T=2;
    // comparator = per-channel squared norm; argmaxPool 2 → [2,2,2,8]; loss = Σ pooled² + Σ max over space.
    const f = (p: { x: Tensor; W: Tensor }) => {
      const h = matmul(p.x, p.W);
      const cat = concat([h, permute(h, [0, 2, 1, 3])], 3);
      const cmp = sum(square(cat.reshape([2, 4, 4, 4, 2])), [4]);
      const pooled = argmaxPool(cat, cmp, 2, 2);
      return add(sum(mul(pooled, pooled)), sum(max(pooled, [1, 2])));
    };
    const xd = uniform(2 * 4 * 4 * 3);
    const wd = uniform(3 * 4);
    const run = (backend: Backend) =>
      tidy(() => {
        const { value, grads } = valueAndGrad(f)({ x: tensor(xd, [2, 4, 4, 3], backend), W: tensor(wd, [3, 4], backend) });
        return [value.dataSync(), grads.x.dataSync(), grads.W.dataSync()];
      });
    const ref = run(getBackend('ref'));
    const got = run(be);
    // Float32 forward and backward through a handful of ops (each sum ≤ ~40·2^-24 relative to its
    // terms' magnitudes): 1e-4 of the largest gradient entry is generous for rounding, and far below
    // what a mis-routed gradient (an O(1) error) produces. The argmaxes agree: continuous random data.
    ref.forEach((r, j) => {
      const scale = Math.max(...r.map(Math.abs));
      expect(boundMismatches(got[j]!, r, () => 1e-4 * scale)).toEqual([]);
    });
  });

  // -------------------------------------------------------------------------------------------------
  it('1,000 tidy iterations of every primitive leak nothing and do not grow the heap; the index-map cache stays bounded', () => {
    const x = uniform(4 * 6 * 6 * 6);
    const w = uniform(6 * 5);
    const staticIndex = Int32Array.from({ length: 4 * 6 * 6 * 5 }, (_, i) => (i % 11 === 0 ? -1 : (i * 7) % (4 * 6 * 6 * 5)));
    const step = (fresh: boolean) =>
      tidy(() => {
        const t = tensor(x, [4, 6, 6, 6]);
        const h = matmul(t, tensor(w, [6, 5]), false, false); // [4,6,6,5]
        const index = fresh ? staticIndex.slice() : staticIndex;
        const g = gather(h, h.shape, index);
        const s = scatterAdd(g, h.shape, index);
        const cat = concat([s, h], 3); // [4,6,6,10]
        const pooled = argmaxPool(cat, reduce('max', cat.reshape([4, 6, 6, 5, 2]), [4]), 2, 2);
        const back = argmaxPoolGrad(pooled, reduce('max', cat.reshape([4, 6, 6, 5, 2]), [4]), 2, 2, cat.shape);
        return sum(back, [0, 2]).dataSync()[0];
      });
    step(false); // warm-up: the static map's copy is made once
    const mem0 = memory();
    const heap0 = be.heapStats();
    const cache0 = cache.stats();
    for (let i = 0; i < 1000; i++) step(false);
    expect(memory()).toEqual(mem0);
    expect(be.heapStats()).toMatchObject({ heapBytes: heap0.heapBytes, grows: heap0.grows, bytesInUse: heap0.bytesInUse, blocks: heap0.blocks });
    expect(cache.stats()).toMatchObject({ misses: cache0.misses, entries: cache0.entries, bytes: cache0.bytes, hits: cache0.hits + 2000 });

    // A fresh Int32Array per call (the worst case): the copies are evicted at the budget, so live
    // bytes stay bounded and the heap stops growing once the cache is full.
    const budget = cache.budget;
    cache.budget = 64 * 1024; // ~ 22 copies of this 2,880-byte map
    try {
      for (let i = 0; i < 100; i++) step(true);
      const heap1 = be.heapStats();
      for (let i = 0; i < 900; i++) {
        step(true);
        expect(cache.stats().bytes).toBeLessThanOrEqual(64 * 1024);
      }
      expect(memory()).toEqual(mem0);
      const heap2 = be.heapStats();
      expect(heap2.heapBytes).toBe(heap1.heapBytes);
      expect(heap2.bytesInUse - cache.stats().bytes).toBe(heap0.bytesInUse - cache0.bytes);
      expect(cache.stats().evictions).toBeGreaterThan(800);
    } finally {
      cache.budget = budget;
    }
    // maps above half the budget are never kept
    cache.budget = 1024;
    try {
      const before = cache.stats();
      const inUse = be.heapStats().bytesInUse;
      step(true);
      expect(cache.stats().uncached).toBe(before.uncached + 2);
      expect(cache.stats().entries).toBe(0);
      expect(be.heapStats().bytesInUse).toBe(inUse - before.bytes);
    } finally {
      cache.budget = budget;
    }
  });
});

describe.each(VARIANTS)('wasm matmul on 2 threads, %s build', (variant) => {
  let one: WasmBackend;
  let two: WasmBackend;
  beforeAll(async () => {
    one = await createWasmBackend({ threads: 1, variant });
    two = await createWasmBackend({ threads: 2, variant });
  });
  afterAll(() => {
    two.close();
    convTuning.minParallelWork = 2e6;
  });

  const mk = (batch: number[], r: number, c: number, t: boolean) => [...batch, ...(t ? [c, r] : [r, c])];
  /** Whether matmul on 2 threads equals 1 thread bit for bit. */
  function same(sa: number[], sb: number[], ta: boolean, tb: boolean): boolean {
    const a = uniform(sizeOf(sa));
    const b = uniform(sizeOf(sb));
    const y1 = onWasm(one, [a, b], [sa, sb], (x, y) => matmul(x, y, ta, tb));
    const y2 = onWasm(two, [a, b], [sa, sb], (x, y) => matmul(x, y, ta, tb));
    return y1.length === y2.length && y1.every((v, j) => Object.is(v, y2[j]));
  }

  it('runs 2 threads', () => {
    expect(two.threads).toBe(2);
    expect(two.threadsNotice).toBeUndefined();
  });

  it('small shapes split over both threads (threshold 0): tiles, blocks, transposes, broadcast batches', () => {
    convTuning.minParallelWork = 0;
    const dims = [
      [1, 1, 1],
      [3, 5, 7],
      [4, 8, 8],
      [5, 9, 1],
      [17, 3, 9],
      [13, 31, 29],
      [130, 300, 70],
      [3, 5, 2050],
      [9, 520, 11],
    ];
    for (const [m, k, n] of dims) {
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          expect(same(mk([], m!, k!, ta), mk([], k!, n!, tb), ta, tb), `${m}×${k}×${n} ${ta}${tb}`).toBe(true);
        }
    }
    const batches: [number[], number[]][] = [
      [[5], []],
      [[], [4]],
      [[2, 1], [3]],
      [
        [1, 3],
        [2, 1],
      ],
      [
        [2, 3],
        [2, 3],
      ],
      [[2, 3], [3]],
      [
        [6, 1, 2],
        [1, 5, 1],
      ],
      [[7], [1]],
      [[3], [3]],
    ];
    for (const [ba, bb] of batches) {
      for (const ta of [false, true])
        for (const tb of [false, true]) {
          expect(same(mk(ba, 5, 6, ta), mk(bb, 6, 9, tb), ta, tb), `[${ba}]×[${bb}] ${ta}${tb}`).toBe(true);
          expect(same(mk(ba, 1, 3, ta), mk(bb, 3, 1, tb), ta, tb), `[${ba}]×[${bb}] 1×3×1 ${ta}${tb}`).toBe(true);
        }
    }
  });

  it('sizes above the 2 MFLOP threshold (default) are bit-identical, and 50 calls in tidy leak nothing', () => {
    convTuning.minParallelWork = 2e6;
    const cases: [number[], number[], boolean, boolean][] = [
      [[256, 256], [256, 256], false, false],
      [[130, 300], [70, 300], false, true],
      [[300, 130], [300, 70], true, false],
      [[3, 77, 300], [3, 70, 300], false, true], // batched, no broadcast
      [[4, 1, 50, 60], [3, 60, 70], false, false], // broadcast both ways
      [[8, 64, 96], [96, 80], false, false], // shared B folded into the rows
      [[5, 96, 64], [96, 80], true, false], // shared B, Aᵀ: not foldable, batched
      [[2, 33, 2100], [2100, 17], false, false], // several KC slices
      [[40, 20], [20, 3000], false, false], // several NC blocks
    ];
    for (const [sa, sb, ta, tb] of cases) expect(same(sa, sb, ta, tb), `[${sa}]·[${sb}] ${ta}${tb}`).toBe(true);
    const heap0 = two.heapStats();
    for (let i = 0; i < 50; i++) same([64, 128], [128, 96], false, false);
    const heap1 = two.heapStats();
    expect(heap1.bytesInUse).toBe(heap0.bytesInUse);
    expect(heap1.heapBytes).toBe(heap0.heapBytes);
  });
});
