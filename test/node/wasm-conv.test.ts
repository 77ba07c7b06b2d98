/**
 * The wasm convolution kernels (assembly/kernels/conv.ts, src/backends/wasm/conv.ts) against the ref
 * backend (the spec), both builds: conv, convInputGrad and convFilterGrad on seeded random inputs
 * over the edge geometries — 1-pixel and non-square images, odd and even sizes, stride > 1, filter
 * (rhs) and input (lhs) dilation, zero / periodic / partially periodic padding, asymmetric padding,
 * torus axes longer than their input (a tap read by several outputs), D = 1, 2, 3, batch > 1, channel
 * counts that are not multiples of 4 / 8 / 12 and large ones (48) — with every micro-kernel
 * configuration; 1 and 2 threads bit-identical; no leaks.
 *
 * Tolerance: each output is a float32 sum of n = (taps · channels) products (times the pixels for
 * the filter gradient) computed in some order, against the float64 ref on the same float32 inputs.
 * The standard bound for recursive summation is |error| <= γ_n · Σ|x||w| with γ_n = n·u/(1 − n·u),
 * u = 2^-24 (one rounding per product and per addition; a fused multiply-add only removes some),
 * plus half an ulp for the final rounding of the ref value we compare against. Σ|x||w| is the same
 * convolution run on |x| and |w| by ref. So the test is a bound that holds for any summation order,
 * not a tuned constant.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import {
  conv,
  convAttrs,
  convFilterGrad,
  convInputGrad,
  getBackend,
  init,
  memory,
  random,
  setBackend,
  tensor,
  tidy,
  type Backend,
  type ConvAttrsOptions,
  type Tensor,
} from '../../src/index.js';
import { registerBackend } from '../../src/backends/backend.js';
import { createWasmBackend, type WasmBackend, type WasmVariant } from '../../src/backends/wasm/index.js';
import { convTuning } from '../../src/backends/wasm/conv.js';
import type { ConvAttrs } from '../../src/ops/op.js';
import { convOutSize, convSource } from '../../src/core/kernel-geometry.js';

const sizeOf = (s: readonly number[]) => s.reduce((a, b) => a * b, 1);
const U = 2 ** -24;

interface Case {
  readonly name: string;
  readonly x: readonly number[]; // [B, ...spatial, Cin]
  readonly cout: number;
  readonly kernel: number | readonly number[];
  readonly opts: ConvAttrsOptions;
}

const CASES: Case[] = [
  { name: '2D 1-pixel image, torus', x: [1, 1, 1, 5], cout: 3, kernel: 3, opts: { padding: 1, torus: true } },
  { name: '2D 1-pixel image, zero padding', x: [2, 1, 1, 4], cout: 9, kernel: 3, opts: { padding: 1 } },
  { name: '2D non-square odd/even, batch 2, torus', x: [2, 5, 8, 7], cout: 5, kernel: 3, opts: { padding: 1, torus: true } },
  { name: '2D partial torus, rhs dilation 2', x: [1, 7, 6, 3], cout: 10, kernel: 3, opts: { padding: 2, torus: [true, false], rhsDilation: 2 } },
  { name: '2D stride 2, zero padding, odd size', x: [3, 9, 7, 4], cout: 6, kernel: 3, opts: { padding: 1, stride: 2 } },
  { name: '2D stride [2, 3] on a torus', x: [1, 8, 9, 6], cout: 8, kernel: 3, opts: { padding: 1, stride: [2, 3], torus: true } },
  {
    name: '2D lhs dilation 2 (transposed conv), zero padding',
    x: [2, 4, 5, 3],
    cout: 4,
    kernel: 3,
    opts: {
      padding: [
        [2, 2],
        [1, 2],
      ],
      lhsDilation: 2,
    },
  },
  {
    name: '2D lhs dilation 3, stride 2, rhs dilation 2',
    x: [1, 5, 4, 5],
    cout: 7,
    kernel: [3, 2],
    opts: {
      padding: [
        [3, 1],
        [0, 2],
      ],
      lhsDilation: [3, 2],
      stride: 2,
      rhsDilation: 2,
    },
  },
  {
    name: '2D kernel [1, 5], asymmetric padding, valid',
    x: [1, 6, 9, 2],
    cout: 13,
    kernel: [1, 5],
    opts: {
      padding: [
        [0, 0],
        [3, 1],
      ],
    },
  },
  { name: '2D torus, no padding (output shorter than input)', x: [1, 6, 5, 4], cout: 4, kernel: 3, opts: { torus: true } },
  {
    name: '2D torus, padding > size (several outputs per tap)',
    x: [2, 2, 3, 3],
    cout: 5,
    kernel: [1, 3],
    opts: {
      padding: [
        [2, 2],
        [3, 2],
      ],
      torus: true,
    },
  },
  { name: '2D 48 → 48 channels, torus', x: [1, 6, 7, 48], cout: 48, kernel: 3, opts: { padding: 1, torus: true } },
  { name: '2D 1 → 1 channel, 5×5', x: [1, 9, 8, 1], cout: 1, kernel: 5, opts: { padding: 2, torus: true } },
  { name: '2D 12 → 20 channels, batch 3', x: [3, 4, 6, 12], cout: 20, kernel: 3, opts: { padding: 1 } },
  { name: '1D torus 5-tap, batch 3', x: [3, 17, 5], cout: 9, kernel: 5, opts: { padding: 2, torus: true } },
  { name: '1D stride 2, lhs dilation 2', x: [2, 11, 3], cout: 4, kernel: 4, opts: { padding: [[2, 1]], stride: 2, lhsDilation: 2 } },
  { name: '3D torus, batch 2', x: [2, 4, 5, 3, 6], cout: 12, kernel: 3, opts: { padding: 1, torus: true } },
  {
    name: '3D partial torus, stride [1, 2, 1], rhs dilation',
    x: [1, 5, 6, 4, 3],
    cout: 7,
    kernel: [3, 2, 3],
    opts: {
      padding: [
        [1, 1],
        [1, 0],
        [2, 2],
      ],
      torus: [true, false, true],
      stride: [1, 2, 1],
      rhsDilation: [1, 1, 2],
    },
  },
  { name: '3D 1-voxel image, zero padding', x: [1, 1, 1, 1, 4], cout: 6, kernel: 3, opts: { padding: 1 } },
  { name: '3D lhs dilation 2', x: [1, 3, 2, 3, 5], cout: 3, kernel: 2, opts: { padding: 1, lhsDilation: 2 } },
];

function attrsOf(c: Case): ConvAttrs {
  return convAttrs(c.x.length - 2, c.kernel, c.opts);
}

function outShape(c: Case, a: ConvAttrs): number[] {
  const D = c.x.length - 2;
  const o = Array.from({ length: D }, (_, i) =>
    convOutSize(c.x[i + 1]!, a.kernel[i]!, a.stride[i]!, a.padding[i]![0], a.padding[i]![1], a.rhsDilation[i]!, a.lhsDilation[i]!),
  );
  return [c.x[0]!, ...o, c.cout];
}

/** The most (output, tap) pairs that read one input element: Π_d K_d · (most outputs per tap). */
function inverseTaps(c: Case, a: ConvAttrs): number {
  const o = outShape(c, a);
  let n = 1;
  for (let d = 0; d < a.kernel.length; d++) {
    const count = new Map<string, number>();
    for (let q = 0; q < o[d + 1]!; q++) {
      for (let t = 0; t < a.kernel[d]!; t++) {
        const i = convSource(q, t, c.x[d + 1]!, a.stride[d]!, a.padding[d]![0], a.torus[d]!, a.rhsDilation[d]!, a.lhsDilation[d]!);
        if (i >= 0) count.set(`${i},${t}`, (count.get(`${i},${t}`) ?? 0) + 1);
      }
    }
    n *= a.kernel[d]! * Math.max(1, ...count.values());
  }
  return n;
}

type Op = 'conv' | 'convInputGrad' | 'convFilterGrad';
const OPS: Op[] = ['conv', 'convInputGrad', 'convFilterGrad'];

/** The op's two operands (shapes) and how to call it. */
function opSpec(op: Op, c: Case, a: ConvAttrs) {
  const taps = sizeOf(a.kernel);
  const w = [taps, c.x.at(-1)!, c.cout];
  const y = outShape(c, a);
  switch (op) {
    case 'conv':
      return { shapes: [c.x, w], run: (p: Tensor, q: Tensor) => conv(p, q, a), terms: taps * c.x.at(-1)! };
    case 'convInputGrad':
      return { shapes: [y, w], run: (p: Tensor, q: Tensor) => convInputGrad(p, q, a, c.x), terms: c.cout * inverseTaps(c, a) };
    case 'convFilterGrad':
      return { shapes: [c.x, y], run: (p: Tensor, q: Tensor) => convFilterGrad(p, q, a), terms: sizeOf(y.slice(0, -1)) };
  }
}

function runOn(be: Backend, data: Float32Array[], shapes: readonly (readonly number[])[], fn: (p: Tensor, q: Tensor) => Tensor): Float64Array {
  return tidy(() => {
    const y = fn(tensor(data[0]!, shapes[0], be), tensor(data[1]!, shapes[1], be));
    return Float64Array.from(be.name === 'ref' ? (y.storage() as Float64Array) : y.dataSync());
  });
}

/** Indices where |got − want| exceeds the summation bound (first few, for the message). */
function check(op: Op, c: Case, be: Backend, seed: number): string[] {
  const a = attrsOf(c);
  const { shapes, run, terms: termsPerOut } = opSpec(op, c, a);
  const [k1, k2] = random.split(random.key(seed), 2) as [random.Key, random.Key];
  const data = [random.normal(k1, sizeOf(shapes[0]!)), random.normal(k2, sizeOf(shapes[1]!))];
  const ref = getBackend('ref');
  const want = runOn(ref, data, shapes, run);
  const scale = runOn(
    ref,
    data.map((d) => d.map(Math.abs)),
    shapes,
    run,
  );
  const got = runOn(be, data, shapes, run);
  expect(got.length).toBe(want.length);
  const n = termsPerOut;
  const gamma = (n * U) / (1 - n * U);
  const bad: string[] = [];
  for (let i = 0; i < want.length && bad.length < 5; i++) {
    const tol = gamma * scale[i]! + U * Math.abs(want[i]!) + 1e-30;
    if (!(Math.abs(got[i]! - want[i]!) <= tol)) bad.push(`[${i}] got ${got[i]} want ${want[i]} (tol ${tol.toExponential(2)})`);
  }
  return bad;
}

const VARIANTS: WasmVariant[] = ['simd', 'relaxed'];

describe.each(VARIANTS)('wasm conv kernels, %s build', (variant) => {
  let be: WasmBackend;
  let previous: Backend;
  beforeAll(async () => {
    previous = getBackend();
    be = await createWasmBackend({ threads: 1, variant });
    registerBackend(be);
    setBackend('wasm');
  });
  afterAll(() => {
    convTuning.gather = undefined;
    convTuning.filter = undefined;
    setBackend(previous.name);
  });

  for (const op of OPS) {
    describe(op, () => {
      CASES.forEach((c, i) => {
        it(c.name, () => {
          expect(check(op, c, be, 100 + i)).toEqual([]);
        });
      });
    });
  }

  it('every micro-kernel configuration (gather P×CB, filter CI×CO) matches ref', () => {
    const cfg = be.convConfigs();
    const subset = CASES.filter((c) => /non-square|stride 2, zero|48|lhs dilation 3|3D torus|12 → 20/.test(c.name));
    try {
      for (let g = 0; g < cfg.gather.length; g++) {
        convTuning.gather = g;
        for (const c of subset) {
          for (const op of ['conv', 'convInputGrad'] as const) {
            expect(check(op, c, be, 7), `${op} ${c.name}, gather config ${JSON.stringify(cfg.gather[g])}`).toEqual([]);
          }
        }
      }
      convTuning.gather = undefined;
      for (let f = 0; f < cfg.filter.length; f++) {
        convTuning.filter = f;
        for (const c of subset) expect(check('convFilterGrad', c, be, 8), `${c.name}, filter config ${JSON.stringify(cfg.filter[f])}`).toEqual([]);
      }
    } finally {
      convTuning.gather = undefined;
      convTuning.filter = undefined;
    }
  });

  it('1,000 conv / input-gradient / filter-gradient calls inside tidy do not grow memory', () => {
    const c = CASES[2]!;
    const a = attrsOf(c);
    const w = [sizeOf(a.kernel), c.x.at(-1)!, c.cout];
    const xd = random.normal(random.key(1), sizeOf(c.x));
    const wd = random.normal(random.key(2), sizeOf(w));
    const step = () =>
      tidy(() => {
        const x = tensor(xd, c.x);
        const k = tensor(wd, w);
        const y = conv(x, k, a);
        const dx = convInputGrad(y, k, a, c.x);
        const dw = convFilterGrad(x, y, a);
        return dx.dataSync()[0]! + dw.dataSync()[0]!;
      });
    const first = step();
    const mem0 = memory();
    const heap0 = be.heapStats();
    for (let i = 0; i < 1000; i++) expect(step()).toBe(first);
    expect(memory()).toEqual(mem0);
    const heap1 = be.heapStats();
    expect(heap1.heapBytes).toBe(heap0.heapBytes);
    expect(heap1.bytesInUse).toBe(heap0.bytesInUse);
    expect(heap1.blocks).toBe(heap0.blocks);
  });
});

describe.each(VARIANTS)('wasm conv kernels on 2 threads, %s build', (variant) => {
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

  it('runs 2 threads over a shared memory (Node has SharedArrayBuffer and worker_threads)', () => {
    expect(two.threads).toBe(2);
    expect(two.threadsNotice).toBeUndefined();
    expect(two.describe()).toMatch(/2 threads \(shared memory, workers\)/);
  });

  it('every case and op is bit-identical to one thread', () => {
    convTuning.minParallelWork = 0; // split even the tiny cases over both threads
    for (const [i, c] of CASES.entries()) {
      const a = attrsOf(c);
      for (const op of OPS) {
        const { shapes, run } = opSpec(op, c, a);
        const [k1, k2] = random.split(random.key(300 + i), 2) as [random.Key, random.Key];
        const data = [random.normal(k1, sizeOf(shapes[0]!)), random.normal(k2, sizeOf(shapes[1]!))];
        const y1 = runOn(one, data, shapes, run);
        const y2 = runOn(two, data, shapes, run);
        const same = y1.length === y2.length && y1.every((v, j) => Object.is(v, y2[j]));
        expect(same, `${op} ${c.name}`).toBe(true);
      }
    }
  });

  it('a layer-sized conv (above the parallel threshold) is bit-identical, and 200 calls in tidy leak nothing', () => {
    convTuning.minParallelWork = 2e6;
    const xs = [2, 24, 20, 16];
    const a = convAttrs(2, 3, { padding: 1, torus: true });
    const xd = random.normal(random.key(5), sizeOf(xs));
    const wd = random.normal(random.key(6), 9 * 16 * 24);
    const step = (be: WasmBackend) =>
      tidy(() => {
        const x = tensor(xd, xs, be);
        const w = tensor(wd, [9, 16, 24], be);
        const y = conv(x, w, a);
        return [y.dataSync(), convInputGrad(y, w, a, xs).dataSync(), convFilterGrad(x, y, a).dataSync()];
      });
    const want = step(one);
    const got = step(two);
    for (let k = 0; k < 3; k++) expect(Object.is(got[k]!.length, want[k]!.length) && got[k]!.every((v, j) => Object.is(v, want[k]![j]))).toBe(true);
    const heap0 = two.heapStats();
    for (let i = 0; i < 200; i++) step(two);
    const heap1 = two.heapStats();
    expect(heap1.bytesInUse).toBe(heap0.bytesInUse);
    expect(heap1.heapBytes).toBe(heap0.heapBytes);
  });

  it('init({ backend: "wasm", threads: 2 }) selects a 2-thread backend', async () => {
    const previous = getBackend().name;
    expect(await init({ backend: 'wasm', threads: 2 })).toBe('wasm');
    const w = getBackend('wasm') as WasmBackend;
    expect(w.threads).toBe(2);
    const r = tidy(() =>
      conv(
        tensor(new Float32Array(2 * 3 * 3 * 2).fill(1), [2, 3, 3, 2]),
        tensor(new Float32Array(9 * 2 * 3).fill(1), [9, 2, 3]),
        convAttrs(2, 3, { padding: 1, torus: true }),
      ).dataSync(),
    );
    expect([...r]).toEqual(new Array(2 * 3 * 3 * 3).fill(18));
    w.close();
    setBackend(previous);
  });
});

describe('threads fallback', () => {
  it('without SharedArrayBuffer, threads: 2 runs one thread and says why (describe / geoconv info)', async () => {
    const g = globalThis as { SharedArrayBuffer?: unknown };
    const saved = g.SharedArrayBuffer;
    g.SharedArrayBuffer = undefined;
    let be: WasmBackend;
    try {
      be = await createWasmBackend({ threads: 2 });
    } finally {
      g.SharedArrayBuffer = saved;
    }
    expect(be.threads).toBe(1);
    expect(be.requestedThreads).toBe(2);
    expect(be.threadsNotice).toMatch(/SharedArrayBuffer is unavailable/);
    expect(be.describe()).toMatch(/1 thread \(2 requested: SharedArrayBuffer is unavailable/);
    const c = CASES[2]!;
    expect(check('conv', c, be, 1)).toEqual([]);
  });
});
