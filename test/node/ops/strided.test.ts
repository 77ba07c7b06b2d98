/**
 * The strided copy (src/ops/strided.ts): golden values of the views built on it, random views on
 * ref and wasm (both builds, one and two threads) against an independent loop, adjointness, finite
 * differences, bad inputs, leaks, and the claim that permute/slice/broadcast/upsample/take/selectColumns
 * build no index map (no gather or scatterAdd kernel runs, forward or backward).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  broadcastTo,
  getBackend,
  memory,
  mul,
  permute,
  random,
  setBackend,
  slice,
  sum,
  tensor,
  tidy,
  valueAndGrad,
  type Backend,
  type Tensor,
} from '../../../src/index.js';
import { registerBackend } from '../../../src/backends/backend.js';
import { createWasmBackend, type WasmBackend } from '../../../src/backends/wasm/index.js';
import { convTuning } from '../../../src/backends/wasm/conv.js';
import { planStrided, nestedInjective } from '../../../src/core/strided.js';
import { gather, scatterAdd, selectColumns, take } from '../../../src/ops/gather.js';
import { indexRuns, strided, upsample } from '../../../src/ops/strided.js';
import { allclose, arange, closeScalar, dot, expectNoLeak, f64, gradcheck, randomTensor, rng, t, t64 } from '../../util.js';

const exact = { rtol: 0, atol: 0 };
const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const rowMajor = (e: readonly number[]) => e.map((_, d) => sizeOf(e.slice(d + 1)));

interface Case {
  x: number[];
  out: number[];
  extents: number[];
  src: { offset: number; strides: number[] };
  dst: { offset: number; strides: number[] };
}

/** The copy by its definition, in float64: an oracle independent of every kernel. */
function oracle(c: Case, xv: ArrayLike<number>): Float64Array {
  const out = new Float64Array(sizeOf(c.out));
  const n = sizeOf(c.extents);
  for (let p = 0; p < n; p++) {
    let q = p,
      s = c.src.offset,
      d = c.dst.offset;
    for (let a = c.extents.length - 1; a >= 0; a--) {
      const i = q % c.extents[a]!;
      q = Math.floor(q / c.extents[a]!);
      s += i * c.src.strides[a]!;
      d += i * c.dst.strides[a]!;
    }
    out[d] = out[d]! + xv[s]!;
  }
  return out;
}

/**
 * A random valid view over `extents`: a permuted row-major view of a box at least as large (so it
 * is a sub-box of a permuted tensor), at a random corner, with some axes set to stride 0.
 */
function randomView(r: (lo: number, hi: number) => number, extents: number[], zeroChance: number) {
  const box = extents.map((e) => e + r(0, 2));
  const order = extents.map((_, d) => d).sort(() => r(0, 1) - 0.5);
  const inner = rowMajor(order.map((d) => box[d]!));
  const strides = extents.map(() => 0);
  order.forEach((d, k) => (strides[d] = inner[k]!));
  let offset = 0;
  extents.forEach((e, d) => (offset += r(0, box[d]! - e) * strides[d]!));
  for (let d = 0; d < extents.length; d++) if (extents[d]! > 1 && r(0, 99) < zeroChance) strides[d] = 0;
  return { view: { offset, strides }, size: sizeOf(box) + r(0, 3) };
}

function randomCase(r: (lo: number, hi: number) => number, allowEmpty = true): Case {
  const rank = r(0, 5);
  const extents = Array.from({ length: rank }, () => (allowEmpty && r(0, 30) === 0 ? 0 : r(1, 4)));
  const s = randomView(r, extents, 25);
  const d = randomView(r, extents, 15);
  return { x: [s.size], out: [d.size], extents, src: s.view, dst: d.view };
}

const apply = (x: Tensor, c: Case) => strided(x, c.out, c.extents, c.src, c.dst);

describe('strided: golden values of the views', () => {
  it('transpose, sub-box, broadcast and a summing destination', () => {
    tidy(() => {
      const x = t([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      allclose(
        strided(x, [3, 2], [3, 2], { offset: 0, strides: [1, 3] }),
        [
          [1, 4],
          [2, 5],
          [3, 6],
        ],
        exact,
      );
      allclose(
        strided(x, [2, 2], [2, 2], { offset: 1, strides: [3, 1] }),
        [
          [2, 3],
          [5, 6],
        ],
        exact,
      );
      allclose(
        strided(x, [2, 3], [2, 3], { offset: 0, strides: [0, 1] }),
        [
          [1, 2, 3],
          [1, 2, 3],
        ],
        exact,
      );
      // dst stride 0 sums: row sums, and a write into a zero border
      allclose(strided(x, [2], [2, 3], { offset: 0, strides: [3, 1] }, { offset: 0, strides: [1, 0] }), [6, 15], exact);
      allclose(
        strided(x, [3, 4], [2, 3], { offset: 0, strides: [3, 1] }, { offset: 1, strides: [4, 1] }),
        [
          [0, 1, 2, 3],
          [0, 4, 5, 6],
          [0, 0, 0, 0],
        ],
        exact,
      );
      expect(strided(x, [0, 2], [0, 2], { offset: 0, strides: [1, 1] }).shape).toEqual([0, 2]);
      allclose(strided(x, [2], [0], { offset: 0, strides: [1] }), [0, 0], exact); // no point: zeros
    });
  });

  it('upsample repeats each element factor times along the axes', () => {
    tidy(() => {
      allclose(
        upsample(
          t([
            [1, 2],
            [3, 4],
          ]),
          [0, 1],
          2,
        ),
        [
          [1, 1, 2, 2],
          [1, 1, 2, 2],
          [3, 3, 4, 4],
          [3, 3, 4, 4],
        ],
        exact,
      );
      allclose(
        upsample(
          t([
            [1, 2],
            [3, 4],
          ]),
          [1],
          3,
        ),
        [
          [1, 1, 1, 2, 2, 2],
          [3, 3, 3, 4, 4, 4],
        ],
        exact,
      );
      const x = t64(arange(12), [2, 3, 2]);
      const y = f64(upsample(x, [0, 1], 2)); // [4, 6, 2]
      for (let i = 0; i < 4; i++)
        for (let j = 0; j < 6; j++)
          for (let c = 0; c < 2; c++) {
            expect(y[(i * 6 + j) * 2 + c]).toBe((Math.floor(i / 2) * 3 + Math.floor(j / 2)) * 2 + c);
          }
      allclose(upsample(x, [2], 1), x, exact);
    });
  });

  it('selectColumns: runs of evenly spaced columns, in the order given', () => {
    expect(indexRuns([0, 1, 2, 5, 7, 9, 9, 3])).toEqual([
      { start: 0, step: 1, count: 3 },
      { start: 5, step: 2, count: 3 },
      { start: 9, step: 1, count: 1 },
      { start: 3, step: 1, count: 1 },
    ]);
    expect(indexRuns([])).toEqual([]);
    tidy(() => {
      const x = t64(arange(20), [2, 10]);
      const cols = [0, 1, 2, 5, 7, 9, 9, 3];
      allclose(selectColumns(x, cols), [cols, cols.map((c) => c + 10)], exact);
      allclose(
        selectColumns(x, [4, 6, 8]),
        [
          [4, 6, 8],
          [14, 16, 18],
        ],
        exact,
      );
      expect(selectColumns(x, []).shape).toEqual([2, 0]);
    });
  });
});

describe('strided: random views on ref against the definition', () => {
  it('300 random views (permuted sub-boxes, broadcasts, summing and sparse destinations) equal the oracle exactly', () => {
    const r = rng(7);
    for (let trial = 0; trial < 300; trial++) {
      const c = randomCase(r);
      tidy(() => {
        const xv = arange(c.x[0]!).map((v) => v * 0.5 - 3);
        const got = f64(apply(t64(xv, c.x), c));
        expect(Array.from(got), JSON.stringify(c)).toEqual(Array.from(oracle(c, xv)));
      });
    }
  });

  it('adjointness: <S x, y> = <x, S* y>, S* the rule valueAndGrad uses (60 random views)', () => {
    const r = rng(8);
    for (let trial = 0; trial < 60; trial++) {
      const c = randomCase(r, false);
      tidy(() => {
        const x = randomTensor(random.key(trial), c.x);
        const y = randomTensor(random.key(1000 + trial), c.out);
        const { value, grads } = valueAndGrad((p: { x: Tensor }) => sum(mul(apply(p.x, c), y)))({ x });
        closeScalar(value.dataSync()[0]!, dot(apply(x, c), y), 1e-6, `value ${trial}`); // read back as float32
        closeScalar(dot(apply(x, c), y), dot(x, grads.x), 1e-12, `adjoint ${trial} ${JSON.stringify(c)}`);
      });
    }
  });
});

describe('strided: gradients (finite differences, f64 on ref)', () => {
  it('permute, slice, broadcastTo, upsample and a general view', () => {
    const x = randomTensor(random.key(3), [2, 3, 4]);
    gradcheck((v) => permute(v, [2, 0, 1]), [x]);
    gradcheck((v) => slice(v, 2, 1, 2), [x]);
    gradcheck((v) => upsample(v, [1, 2], 2), [x]);
    const b = randomTensor(random.key(4), [3, 1]);
    gradcheck((v) => broadcastTo(v, [2, 3, 5]), [b]);
    gradcheck((v) => strided(v, [5, 3], [2, 2, 3], { offset: 1, strides: [12, 0, 4] }, { offset: 2, strides: [3, 0, 1] }), [x]);
    x.dispose();
    b.dispose();
  });

  it("broadcastTo's gradient sums over the repeated axes", () => {
    tidy(() => {
      const w = t64(arange(6), [2, 3]);
      const { grads } = valueAndGrad((p: { x: Tensor }) => sum(mul(broadcastTo(p.x, [2, 3]), w)))({ x: t64([1, 1, 1], [3]) });
      allclose(grads.x, [3, 5, 7], exact);
      const g2 = valueAndGrad((p: { x: Tensor }) => sum(mul(broadcastTo(p.x, [2, 3]), w)))({ x: t64([1, 1], [2, 1]) }).grads.x;
      allclose(g2, [[3], [12]], exact);
    });
  });
});

describe('strided: bad input', () => {
  it('names the op, the argument, the expectation and the value', () => {
    tidy(() => {
      const x = t([1, 2, 3, 4, 5, 6]);
      expect(() => strided(x, [4], [4], { offset: 3, strides: [1] })).toThrow(
        /strided: source view must be within the 6 elements of x \[6\] \(got "offsets up to 6"\)/,
      );
      expect(() => strided(x, [3], [4], { offset: 0, strides: [1] })).toThrow(/strided: destination view must be within the 3 elements of shape \[3\]/);
      expect(() => strided(x, [4], [2, 2], { offset: 0, strides: [2, 1] }, { offset: 0, strides: [1, 1] })).toThrow(
        /strided: dstStrides must be non-overlapping/,
      );
      expect(() => strided(x, [2, 3], [2, 3], { offset: 0, strides: [1, 1] })).toThrow(/strided: srcStrides must be non-overlapping .*use gather/);
      expect(() => strided(x, [2], [2], { offset: 0, strides: [-1] })).toThrow(/strided: srcStrides must be 1 integers >= 0 \(one per extent\) \(got \[-1\]\)/);
      expect(() => strided(x, [2], [2], { offset: 0, strides: [1, 1] })).toThrow(/srcStrides must be 1 integers/);
      expect(() => strided(x, [2], [2], { offset: 0.5, strides: [1] })).toThrow(/strided: srcOffset must be an integer >= 0 \(got 0.5\)/);
      expect(() => upsample(x, [0], 0)).toThrow(/upsample: factor must be an integer >= 1 \(got 0\)/);
      expect(() => upsample(x, [0, 0], 2)).toThrow(/upsample: axes must be distinct axes/);
      expect(() => selectColumns(x.reshape([2, 3]), [3])).toThrow(/take: indices must be integers in \[0, 3\) \(got \[3\]\)/);
      expect(() => take(x.reshape([2, 3]), 0, [0, -1])).toThrow(/take: indices must be integers in \[0, 2\) \(got \[0,-1\]\)/);
    });
  });
});

describe('gather keeps its index maps, and their immutability is enforced', () => {
  it('an index map edited after its first use is refused, not run stale', () => {
    tidy(() => {
      const x = t([10, 20, 30]);
      const index = Int32Array.of(2, 0);
      allclose(gather(x, [2], index), [30, 10], exact);
      index[1] = 1;
      expect(() => gather(x, [2], index)).toThrow(/gather: index must be unchanged after its first use .* \(got "an array modified since"\)/);
      expect(() => scatterAdd(t([1, 2]), [3], index)).toThrow(/scatterAdd: index must be unchanged after its first use/);
      allclose(gather(x, [2], index.slice()), [30, 20], exact); // a new array is a new map
    });
  });
});

describe('strided: plans and no index maps', () => {
  it('planStrided drops unit axes, merges contiguous runs, moves summed axes last', () => {
    const p = planStrided([2, 1, 3, 4], { offset: 5, strides: [12, 99, 4, 1] }, { offset: 0, strides: [0, 7, 4, 1] });
    expect(p).toMatchObject({ extents: [12, 2], src: [1, 12], dst: [1, 0], rank: 1, outer: 12, count: 24, srcOffset: 5 });
    expect(nestedInjective([3, 2], [2, 3])).toBe(false); // injective, but not provably by nesting: refused
    expect(nestedInjective([2, 3], [3, 1])).toBe(true);
    expect(nestedInjective([4, 3], [0, 1])).toBe(true);
  });

  it('permute, slice, broadcastTo, upsample, take and selectColumns run no gather/scatterAdd, forward or backward, and leak nothing', () => {
    const ref = getBackend('ref');
    const kernels = ref.kernels as unknown as Record<string, (...a: unknown[]) => void>;
    const calls: Record<string, number> = {};
    const saved = { ...kernels };
    for (const name of ['gather', 'scatterAdd', 'strided']) {
      kernels[name] = (...a: unknown[]) => {
        calls[name] = (calls[name] ?? 0) + 1;
        return saved[name]!(...a);
      };
    }
    try {
      const x = randomTensor(random.key(5), [2, 4, 4, 3], { backend: ref });
      const b = randomTensor(random.key(6), [3], { backend: ref });
      expectNoLeak(() =>
        tidy(() => {
          const f = (p: { x: Tensor; b: Tensor }) => {
            const y = upsample(permute(slice(p.x, 1, 1, 2), [0, 2, 1, 3]), [1, 2], 2); // [2, 8, 4, 3]
            const z = mul(y, broadcastTo(p.b, y.shape));
            return sum(take(selectColumns(z, [0, 2, 1]), 0, [1, 0, 1]));
          };
          const { grads } = valueAndGrad(f)({ x, b });
          grads.x.dataSync();
        }),
      );
      expect(calls.gather ?? 0).toBe(0);
      expect(calls.scatterAdd ?? 0).toBe(0);
      expect(calls.strided).toBeGreaterThanOrEqual(10);
      x.dispose();
      b.dispose();
    } finally {
      Object.assign(kernels, saved);
    }
  });
});

describe.each([
  { variant: 'simd' as const, threads: 1 },
  { variant: 'relaxed' as const, threads: 1 },
  { variant: 'simd' as const, threads: 2 },
])('strided on wasm ($variant, $threads thread(s)) equals ref', ({ variant, threads }) => {
  let be: WasmBackend;
  let previous: Backend;
  let minWork: number;
  beforeAll(async () => {
    previous = getBackend();
    minWork = convTuning.minParallelWork;
    be = await createWasmBackend({ threads, variant });
    registerBackend(be);
    setBackend('wasm');
    if (threads > 1) convTuning.minParallelWork = 0; // split even the small cases
  });
  afterAll(() => {
    convTuning.minParallelWork = minWork;
    setBackend(previous.name);
  });

  it('400 random views: exact where each output has one source, float32 sums within rounding', () => {
    const r = rng(11);
    for (let trial = 0; trial < 400; trial++) {
      const c = randomCase(r);
      const xv = random.uniform(random.key(trial), c.x[0]!, -1, 1);
      const want = oracle(c, xv);
      const got = tidy(() => apply(tensor(xv, c.x, be), c).dataSync());
      // a point count per output bounds the float32 sum's error
      const hits = oracle(c, new Float64Array(xv.length).fill(1));
      const mag = oracle(c, Float64Array.from(xv, Math.abs));
      for (let i = 0; i < want.length; i++) {
        const tol = Math.max(0, hits[i]! - 1) * 2 ** -24 * mag[i]! + Math.abs(Math.fround(want[i]!) - want[i]!);
        if (!(Math.abs(got[i]! - want[i]!) <= tol)) throw new Error(`trial ${trial} ${JSON.stringify(c)}: out[${i}] = ${got[i]} vs ${want[i]}`);
      }
    }
  });

  it('large views (threads split rows): permutes of [3, 40, 40, 7], a slice, a broadcast and its adjoint', () => {
    const xv = random.uniform(random.key(77), 3 * 40 * 40 * 7, -1, 1);
    const cases: ((x: Tensor) => Tensor)[] = [
      (x) => permute(x, [0, 3, 1, 2]),
      (x) => permute(x, [2, 1, 0, 3]),
      (x) => slice(x, 2, 5, 30),
      (x) => upsample(x, [1, 2], 2),
      (x) => broadcastTo(slice(x, 0, 0, 1), [5, 40, 40, 7]),
      (x) => strided(x, [40, 7], [3, 40, 40, 7], { offset: 0, strides: [11200, 280, 7, 1] }, { offset: 0, strides: [0, 0, 7, 1] }),
    ];
    cases.forEach((f, k) => {
      const want = tidy(() => f(tensor(xv, [3, 40, 40, 7], getBackend('ref'))).dataSync());
      const got = tidy(() => f(tensor(xv, [3, 40, 40, 7], be)).dataSync());
      if (k < 5) expect(got, `case ${k}`).toEqual(want);
      else allclose(got, want, { rtol: 1e-5, atol: 1e-5 });
    });
  });

  it('1,000 steps of views and their gradients leak nothing and do not grow the heap', () => {
    const x = tensor(random.uniform(random.key(9), 2 * 8 * 8 * 6, -1, 1), [2, 8, 8, 6], be);
    const step = () =>
      tidy(() => {
        const f = (p: { x: Tensor }) =>
          sum(mul(upsample(permute(slice(p.x, 3, 1, 4), [0, 2, 1, 3]), [1, 2], 2), broadcastTo(tensor([1, 2, 3, 4], [4], be), [2, 16, 16, 4])));
        return valueAndGrad(f)({ x }).grads.x.dataSync()[0];
      });
    step();
    const mem0 = memory();
    const heap0 = be.heapStats();
    for (let i = 0; i < 1000; i++) step();
    expect(memory()).toEqual(mem0);
    expect(be.heapStats()).toMatchObject({ heapBytes: heap0.heapBytes, bytesInUse: heap0.bytesInUse, blocks: heap0.blocks });
    x.dispose();
  });
});
