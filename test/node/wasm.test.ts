/**
 * The wasm backend against the ref backend (the spec), for both builds (`simd`, `relaxed`): every
 * unary and binary op on seeded random data, every size class of the SIMD loops (main loop, 1–3
 * element tails, empty), broadcasting, special values; the allocator; leaks.
 *
 * Relaxed SIMD needs `--experimental-wasm-relaxed-simd` on Node 20; the vitest node project passes
 * it (vitest.config.ts execArgv). Without it the relaxed suite FAILS (it does not skip).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  add,
  binary,
  exp,
  gelu,
  getBackend,
  init,
  memory,
  random,
  setBackend,
  sum,
  tensor,
  tidy,
  unary,
  type Backend,
  type BinaryOp,
  type Tensor,
  type UnaryOp,
} from '../../src/index.js';
import { registerBackend } from '../../src/backends/backend.js';
import { createWasmBackend, relaxedSimdSupported, simdSupported, type WasmBackend, type WasmVariant } from '../../src/backends/wasm/index.js';
import { WasmHeap } from '../../src/backends/wasm/memory.js';
import { binaryPlan } from '../../src/backends/wasm/params.js';
import { UNARY } from '../../src/backends/ref/unary.js';
import { BINARY } from '../../src/backends/ref/binary.js';

const UNARY_OPS = Object.keys(UNARY) as UnaryOp[];
const BINARY_OPS = Object.keys(BINARY) as BinaryOp[];
const SIZES = [0, 1, 3, 4, 5, 17, 1000]; // empty, tails only, one vector, vector + tails, many vectors

/** Values that exercise every branch: signed zeros, subnormals, exp over/underflow, ±inf, NaN, the root of gelu'. */
const SPECIAL = [
  0,
  -0,
  1,
  -1,
  0.5,
  -0.5,
  2,
  0.625,
  -0.625,
  1e-30,
  -1e-30,
  1e-40,
  -1e-40,
  88.5,
  88.8,
  -87.5,
  -88.8,
  -103,
  -104,
  -110,
  100,
  1e20,
  -1e20,
  3.4e38,
  -3.4e38,
  Infinity,
  -Infinity,
  NaN,
  -0.7524,
  7.2,
  -7.2,
  20,
  -20,
].map(Math.fround);

// ---------------------------------------------------------------------------------------------------
// Comparison helpers

const f32buf = new Float32Array(1);
const u32buf = new Uint32Array(f32buf.buffer);
/** The spacing of float32 numbers at |w| (2^-149 in the subnormal range). */
function ulp32(w: number): number {
  f32buf[0] = Math.abs(w);
  const e = (u32buf[0]! >>> 23) & 255;
  return e === 0 ? 2 ** -149 : 2 ** (e - 150);
}

/** Bit-exact float32 equality, with every NaN equal to every NaN (positions must match). */
const sameValue = (got: number, want: number): boolean => (Number.isNaN(want) ? Number.isNaN(got) : Object.is(got, want));

const GELU_C = Math.sqrt(2 / Math.PI);

/**
 * Allowed |wasm − ref| for a transcendental op at input x (ref value `want`, float64), or 0 for the
 * ops that must be bit-exact. Exact: every op made of one IEEE operation on float32 inputs (neg,
 * abs, sign, square, sqrt, recip, relu, step): float64 evaluation then rounding to float32 equals
 * the float32 operation (53 >= 2·24 + 2 makes double rounding harmless), so the result must be
 * Math.fround(ref) bit for bit, signed zeros included.
 */
function unaryTolerance(op: UnaryOp, x: number, want: number): number {
  const u = ulp32(want);
  switch (op) {
    // Cephes algorithms, measured max 1 ulp (both builds, 2^20 random inputs per range); 2 ulp
    // leaves room for FMA-vs-mul+add differences on other CPUs.
    case 'exp':
    case 'log':
    case 'tanh':
      return 2 * u;
    // exp (1 ulp) then one division: measured max 2 ulp.
    case 'sigmoid':
      return 3 * u;
    // x·σ(2u) through exp, an add, a division and a product: measured max 3 ulp. Plus the ref's own
    // error: it computes 1 + tanh(u) in float64 with cancellation where x << 0, an absolute error
    // of about 2^-53·|x| that float32-relative tolerances would otherwise flag.
    case 'gelu':
      return 4 * u + 2 ** -51 * Math.abs(x);
    case 'geluGrad': {
      // s + T·s·(1 − s): two terms of opposite sign cancel near the root x ≈ −0.75, so the error is
      // relative to the terms' size, not the result's (≤ 2 ulp of each term, 2^-21 of their sum).
      // The ref's cancellation in 1 + tanh and 1 − tanh² adds ≈ 2^-52·(1 + |T|).
      const s = 1 / (1 + Math.exp(-2 * GELU_C * (x + 0.044715 * x ** 3)));
      const T = 2 * GELU_C * x * (1 + 3 * 0.044715 * x * x);
      const scale = s + Math.abs(T) * s * (1 - s);
      return 4 * u + 2 ** -21 * (Number.isFinite(scale) ? scale : 0) + 2 ** -50 * (1 + Math.abs(T));
    }
    default:
      return 0;
  }
}

interface Mismatch {
  i: number;
  inputs: number[];
  got: number;
  want: number;
  allowed: number;
}

function compare(got: Float32Array, want: ArrayLike<number>, inputs: (i: number) => number[], allowed: (i: number) => number): Mismatch[] {
  expect(got.length).toBe(want.length);
  const bad: Mismatch[] = [];
  for (let i = 0; i < got.length; i++) {
    const w = want[i]!;
    const w32 = Math.fround(w);
    const tol = allowed(i);
    const ok = tol === 0 || !Number.isFinite(w32) ? sameValue(got[i]!, w32) : Number.isFinite(got[i]!) && Math.abs(got[i]! - w) <= tol;
    if (!ok) bad.push({ i, inputs: inputs(i), got: got[i]!, want: w, allowed: tol });
  }
  return bad;
}

/** Runs `fn` on ref with float32-exact copies of the inputs; returns the float64 result. */
function onRef(data: readonly Float32Array[], shapes: readonly number[][], fn: (...xs: Tensor[]) => Tensor): Float64Array {
  const ref = getBackend('ref');
  return tidy(() => {
    const y = fn(...data.map((d, i) => tensor(d, shapes[i], ref)));
    return Float64Array.from(y.storage() as Float64Array);
  });
}

function onWasm(be: Backend, data: readonly Float32Array[], shapes: readonly number[][], fn: (...xs: Tensor[]) => Tensor): Float32Array {
  return tidy(() => fn(...data.map((d, i) => tensor(d, shapes[i], be))).dataSync());
}

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);

/** Seeded inputs: a narrow range (the polynomials), a wide one (over/underflow), quantised values (ties). */
function inputs(seed: number, n: number): Float32Array[] {
  const [k1, k2, k3] = random.split(random.key(seed), 3) as [random.Key, random.Key, random.Key];
  const quant = random.uniform(k3, n, -4, 4).map((v) => Math.round(v * 4) / 4);
  return [random.uniform(k1, n, -6, 6), random.uniform(k2, n, -120, 120), quant];
}

// ---------------------------------------------------------------------------------------------------

it('the engine has wasm SIMD and (with the vitest execArgv) relaxed SIMD', () => {
  expect(simdSupported()).toBe(true);
  expect(relaxedSimdSupported(), 'relaxed SIMD missing: run vitest through vitest.config.ts (execArgv --experimental-wasm-relaxed-simd)').toBe(true);
});

const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];

describe.each(VARIANTS)('wasm backend, %s build', (variant) => {
  let be: WasmBackend;
  let previous: Backend;
  beforeAll(async () => {
    previous = getBackend();
    be = await createWasmBackend({ threads: 1, variant });
    registerBackend(be);
    setBackend('wasm');
  });
  afterAll(() => setBackend(previous.name));

  it('reports its build', () => {
    expect(be.name).toBe('wasm');
    expect(be.variant).toBe(variant);
    expect(be.describe()).toMatch(
      variant === 'relaxed' ? /^wasm: relaxed-SIMD \(FMA\), 1 thread, heap \d+\.\d MiB/ : /^wasm: SIMD, 1 thread, heap \d+\.\d MiB/,
    );
  });

  describe('unary ops match ref', () => {
    for (const op of UNARY_OPS) {
      it(op, () => {
        let seed = 1;
        for (const n of SIZES) {
          for (const x of inputs(seed++, n)) {
            const want = onRef([x], [[n]], (t) => unary(op, t));
            const got = onWasm(be, [x], [[n]], (t) => unary(op, t));
            const bad = compare(
              got,
              want,
              (i) => [x[i]!],
              (i) => unaryTolerance(op, x[i]!, want[i]!),
            );
            expect(bad.slice(0, 5), `${op}, n = ${n}: ${bad.length} mismatches`).toEqual([]);
          }
        }
      });
    }
  });

  it('unary ops on special values (NaN positions, infinities, signed zeros, subnormals)', () => {
    const x = Float32Array.from(SPECIAL);
    for (const op of UNARY_OPS) {
      const want = onRef([x], [[x.length]], (t) => unary(op, t));
      const got = onWasm(be, [x], [[x.length]], (t) => unary(op, t));
      const bad = compare(
        got,
        want,
        (i) => [x[i]!],
        (i) => unaryTolerance(op, x[i]!, want[i]!),
      );
      expect(bad, `${op}: ${bad.length} mismatches`).toEqual([]);
    }
  });

  // Every binary op is one IEEE operation or comparison on float32 inputs: bit-exact (see unaryTolerance).
  describe('binary ops match ref bit for bit', () => {
    for (const op of BINARY_OPS) {
      it(`${op}, equal shapes`, () => {
        let seed = 100;
        for (const n of SIZES) {
          const [a1, a2, aq] = inputs(seed++, n);
          const [b1, , bq] = inputs(seed++, n);
          for (const [a, b] of [
            [a1!, b1!],
            [aq!, bq!],
            [a2!, b1!],
          ] as const) {
            const want = onRef([a, b], [[n], [n]], (x, y) => binary(op, x, y));
            const got = onWasm(be, [a, b], [[n], [n]], (x, y) => binary(op, x, y));
            const bad = compare(
              got,
              want,
              (i) => [a[i]!, b[i]!],
              () => 0,
            );
            expect(bad.slice(0, 5), `${op}, n = ${n}: ${bad.length} mismatches`).toEqual([]);
          }
        }
      });
    }
  });

  const BROADCASTS: [number[], number[]][] = [
    [[], [17]],
    [[17], []],
    [[], []],
    [[1], [5]],
    [[5], [1]],
    [[1, 1], [1]], // scalar operand
    [[7, 5], [5]],
    [[5], [7, 5]],
    [
      [7, 5],
      [1, 5],
    ],
    [
      [1, 5],
      [7, 5],
    ], // row
    [
      [7, 5],
      [7, 1],
    ],
    [
      [7, 1],
      [7, 5],
    ],
    [
      [6, 1, 17],
      [6, 9, 1],
    ], // column
    [
      [2, 3, 4],
      [3, 1],
    ],
    [
      [4, 1, 3],
      [5, 1],
    ],
    [
      [1, 3, 1, 5],
      [2, 1, 4, 1],
    ],
    [
      [2, 1, 3],
      [2, 4, 3],
    ], // rank mismatch, mixed
    [
      [5, 1],
      [1, 6],
    ],
    [
      [3, 1, 1],
      [1, 1, 1],
    ],
    [
      [2, 3, 4, 5, 6],
      [3, 1, 5, 1],
    ],
    [
      [1, 1, 1, 1000],
      [3, 1, 1],
    ],
    [[0, 3], [3]],
    [
      [4, 0],
      [4, 1],
    ], // empty
  ];

  describe('binary broadcasting matches ref bit for bit', () => {
    for (const [sa, sb] of BROADCASTS) {
      it(`[${sa}] with [${sb}]`, () => {
        const a = inputs(200, sizeOf(sa))[2]!;
        const b = inputs(201, sizeOf(sb))[2]!;
        for (const op of BINARY_OPS) {
          const want = onRef([a, b], [sa, sb], (x, y) => binary(op, x, y));
          const got = onWasm(be, [a, b], [sa, sb], (x, y) => binary(op, x, y));
          const bad = compare(
            got,
            want,
            (i) => [i],
            () => 0,
          );
          expect(bad.slice(0, 5), `${op}: ${bad.length} mismatches`).toEqual([]);
        }
      });
    }
  });

  it('binary ops on every pair of special values', () => {
    const n = SPECIAL.length;
    const a = Float32Array.from({ length: n * n }, (_, i) => SPECIAL[Math.floor(i / n)]!);
    const b = Float32Array.from({ length: n * n }, (_, i) => SPECIAL[i % n]!);
    for (const op of BINARY_OPS) {
      const want = onRef([a, b], [[n * n], [n * n]], (x, y) => binary(op, x, y));
      const got = onWasm(be, [a, b], [[n * n], [n * n]], (x, y) => binary(op, x, y));
      const bad = compare(
        got,
        want,
        (i) => [a[i]!, b[i]!],
        () => 0,
      );
      expect(bad.slice(0, 5), `${op}: ${bad.length} mismatches`).toEqual([]);
      // and through the strided path: [n, 1] with [1, n] is the same table
      const wantS = onRef(
        [Float32Array.from(SPECIAL), Float32Array.from(SPECIAL)],
        [
          [n, 1],
          [1, n],
        ],
        (x, y) => binary(op, x, y),
      );
      const gotS = onWasm(
        be,
        [Float32Array.from(SPECIAL), Float32Array.from(SPECIAL)],
        [
          [n, 1],
          [1, n],
        ],
        (x, y) => binary(op, x, y),
      );
      expect(
        compare(
          gotS,
          wantS,
          (i) => [i],
          () => 0,
        ),
      ).toEqual([]);
    }
  });

  it('1,000 tidy iterations of alloc + ops + dispose leak nothing and do not grow the heap', () => {
    const [ka, kb] = random.split(random.key(3)) as [random.Key, random.Key];
    const a = random.uniform(ka, 37 * 5, -2, 2);
    const b = random.uniform(kb, 5, -2, 2);
    const step = () =>
      tidy(() => {
        const x = tensor(a, [37, 5]);
        const y = tensor(b, [5]);
        const z = gelu(exp(add(x, y)));
        return sum(binary('max', z, x)).dataSync()[0];
      });
    step(); // warm-up (the strided parameter block is allocated once)
    const mem0 = memory();
    const heap0 = be.heapStats();
    for (let i = 0; i < 1000; i++) step();
    expect(memory()).toEqual(mem0);
    const heap1 = be.heapStats();
    expect(heap1.heapBytes).toBe(heap0.heapBytes);
    expect(heap1.grows).toBe(heap0.grows);
    expect(heap1.bytesInUse).toBe(heap0.bytesInUse);
    expect(heap1.blocks).toBe(heap0.blocks);
  });

  it('reads stay correct across memory growth (views are re-created)', () => {
    tidy(() => {
      const data = random.uniform(random.key(9), 1000);
      const t = tensor(data);
      const before = be.heapStats().heapBytes;
      const big = tensor(new Float32Array(4 * 2 ** 20)); // 16 MiB: forces memory.grow
      expect(be.heapStats().heapBytes).toBeGreaterThan(before);
      expect(t.dataSync()).toEqual(data);
      expect(big.dataSync()[big.size - 1]).toBe(0);
      expect(unary('neg', t).dataSync()).toEqual(data.map((v) => -v));
    });
  });
});

describe('binaryPlan: the fast paths are taken', () => {
  it('classifies shapes', () => {
    expect(binaryPlan([4, 5], [4, 5], [4, 5])).toEqual({ kind: 'same', n: 20 });
    expect(binaryPlan([], [7], [7])).toEqual({ kind: 'scalarA', n: 7 });
    expect(binaryPlan([2, 3], [1, 1], [2, 3])).toEqual({ kind: 'scalarB', n: 6 });
    expect(binaryPlan([1, 2, 3], [2, 1, 3], [2, 2, 3]).kind).toBe('strided');
    expect(binaryPlan([0, 3], [3], [0, 3])).toEqual({ kind: 'empty' });
    expect(binaryPlan([1], [1, 1], [1, 1])).toEqual({ kind: 'same', n: 1 });
    // [7,5] + [7,1]: rows of 5 with a per-row scalar
    const p = binaryPlan([7, 5], [7, 1], [7, 5]);
    expect(p.kind).toBe('strided');
    if (p.kind === 'strided') expect([...p.params]).toEqual([2, 7, 5, 5, 1, 1, 0, 0, 0]);
    // axes contiguous in both operands merge: [2,3,4,5] + [4,5] is rows of 20
    const q = binaryPlan([2, 3, 4, 5], [4, 5], [2, 3, 4, 5]);
    if (q.kind !== 'strided') throw new Error('expected strided');
    expect([...q.params.subarray(0, 7)]).toEqual([2, 6, 20, 20, 1, 0, 1]);
  });
});

describe('WasmHeap', () => {
  const fresh = () => new WasmHeap(new WebAssembly.Memory({ initial: 1 }), 1000);

  it('aligns to 16 bytes, reuses freed blocks, coalesces, returns the top to the wilderness', () => {
    const h = fresh();
    const a = h.alloc(4);
    const b = h.alloc(100);
    const c = h.alloc(33);
    const d = h.alloc(16);
    for (const p of [a, b, c, d]) expect(p % 16).toBe(0);
    expect(a).toBe(1008);
    expect([h.blockSize(a), h.blockSize(b), h.blockSize(c), h.blockSize(d)]).toEqual([16, 112, 48, 16]);
    h.free(b);
    expect(h.alloc(100)).toBe(b); // reuse
    h.free(b);
    h.free(c); // b + c coalesce
    expect(h.stats().freeBlocks).toBe(1);
    expect(h.alloc(150)).toBe(b); // fits only in the merged block
    h.free(b);
    h.free(a); // a + b + c coalesce
    expect(h.stats()).toMatchObject({ freeBlocks: 1, freeBytes: 16 + 112 + 48, blocks: 1, bytesInUse: 16 });
    h.free(d); // everything merges back into the wilderness
    expect(h.stats()).toMatchObject({ freeBlocks: 0, freeBytes: 0, blocks: 0, bytesInUse: 0 });
    expect(h.alloc(0)).toBe(1008); // size 0 still gets a (16-byte) block
  });

  it('does not grow over 1,000 alloc/free cycles of the same sizes', () => {
    const h = fresh();
    const sizes = [4, 400, 4000, 40000, 12, 1 << 20, 64, 7];
    const cycle = (order: 'fifo' | 'lifo') => {
      const ps = sizes.map((s) => h.alloc(s));
      if (order === 'lifo') ps.reverse();
      for (const p of ps) h.free(p);
    };
    const keep = h.alloc(100); // a live block below, so freed blocks must be found, not just the top reset
    cycle('fifo');
    const s0 = h.stats();
    for (let i = 0; i < 1000; i++) cycle(i % 2 ? 'fifo' : 'lifo');
    const s1 = h.stats();
    expect(s1.heapBytes).toBe(s0.heapBytes);
    expect(s1.grows).toBe(s0.grows);
    expect(s1).toMatchObject({ blocks: 1, bytesInUse: 112 });
    // interleaved: half the blocks stay live across cycles
    const live = sizes.map((s) => h.alloc(s));
    let s2 = h.stats();
    for (let i = 0; i < 1000; i++) {
      const tmp = sizes.map((s) => h.alloc(s + (i % 3)));
      for (const p of tmp) h.free(p);
      if (i === 0) s2 = h.stats(); // the first round may grow the heap once
    }
    expect(h.stats().heapBytes).toBe(s2.heapBytes);
    for (const p of live) h.free(p);
    h.free(keep);
    expect(h.stats().bytesInUse).toBe(0);
  });

  it('grows memory when needed and re-creates views (old views detach)', () => {
    const h = fresh();
    const p = h.alloc(4 * 10);
    const view = h.f32();
    view.set([1, 2, 3, 4, 5, 6, 7, 8, 9, 10], p >>> 2);
    h.alloc(3 * 65536); // beyond the first page
    expect(h.stats().heapBytes).toBeGreaterThanOrEqual(4 * 65536);
    expect(h.stats().grows).toBe(1);
    expect(view.length).toBe(0); // detached by memory.grow
    expect([...h.f32().subarray(p >>> 2, (p >>> 2) + 10)]).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(h.i32().buffer).toBe(h.f32().buffer);
  });

  it('rejects double frees and bad sizes clearly', () => {
    const h = fresh();
    const p = h.alloc(64);
    h.free(p);
    expect(() => h.free(p)).toThrow(/not a live block/);
    expect(() => h.alloc(-1)).toThrow(RangeError);
    expect(() => h.alloc(1.5)).toThrow(RangeError);
  });
});

describe('createWasmBackend options', () => {
  it('rejects bad thread counts with a RangeError', async () => {
    for (const threads of [0, -1, 1.5, Number.NaN]) {
      await expect(createWasmBackend({ threads })).rejects.toThrow(RangeError);
    }
    await expect(createWasmBackend({ threads: 1, variant: 'avx' as never })).rejects.toThrow(RangeError);
  });

  it('auto picks relaxed SIMD where the engine has it; threads > 1 start workers over a shared memory', async () => {
    const previous = getBackend().name;
    const be = await createWasmBackend({ threads: 1 });
    expect(be.variant).toBe(relaxedSimdSupported() ? 'relaxed' : 'simd');
    expect(await init({ backend: 'wasm', threads: 3 })).toBe('wasm');
    const w = getBackend('wasm') as WasmBackend;
    expect(w.threads).toBe(3);
    expect(w.requestedThreads).toBe(3);
    expect(w.describe()).toMatch(/3 threads \(shared memory, workers\)/);
    const r = tidy(() => add(tensor([1, 2]), tensor([3])));
    expect(await r.data()).toEqual(new Float32Array([4, 5]));
    r.dispose();
    w.close();
    setBackend(previous);
  });
});
