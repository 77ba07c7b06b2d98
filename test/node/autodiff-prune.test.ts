/**
 * The pruned tape: gradient rules are asked only for the cotangents of inputs that depend on a
 * differentiated parameter (constants — an image, a fixed filter basis, the number in `scale` — get
 * none, and their kernels never run), and the backward pass frees each consumed cotangent and each
 * walked tape entry at once. Kernel calls are counted by wrapping the ref backend's kernel table; every
 * rule is checked under every mask on the inputs of its op's parity cases (test/shared/op-cases).
 */
import { readdirSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it, vi } from 'vitest';
import {
  concat,
  conv,
  convAttrs,
  getBackend,
  matmul,
  argmaxPool,
  memory,
  mul,
  random,
  scale,
  setBackend,
  sum,
  tanh,
  tensor,
  tidy,
  UNet,
  type Tensor,
} from '../../src/index.js';
import { valueAndGrad, treeLeaves } from '../../src/autodiff.js';
import { record } from '../../src/tape.js';
import { convDef } from '../../src/ops/conv.js';
import { matmulDef } from '../../src/ops/matmul.js';
import { run } from '../../src/engine.js';
import type { OpAttrs, OpDef, OpName } from '../../src/ops/op.js';
import { MultiImage } from '../../src/geometric/multi-image.js';
import { expectNoLeak, f64, randomTensor } from '../util.js';
import { gen, loadOpCases } from '../shared/op-cases.js';

type Counts = Record<string, number>;
interface Captured {
  inputs: Float64Array[];
  shapes: readonly number[][];
  attrs: OpAttrs[OpName];
}
/** While set: the first kernel call of `op` is copied into `call` (see cases()). */
let capture: { op: string; call: Captured | null } | null = null;
let counts: Counts | null = null;
/** Live bytes read right after every kernel call (an op's output is allocated just before it). */
let trace: number[] | null = null;

/** Wraps the ref kernels to count calls, trace live bytes and capture (installed at import: cases() runs while tests are collected). */
function instrumentRef(): void {
  setBackend('ref');
  const kernels = getBackend('ref').kernels as unknown as Record<string, (...a: unknown[]) => void>;
  for (const [name, kernel] of Object.entries(kernels)) {
    if ((kernel as { counted?: boolean }).counted) continue;
    const wrapped = (...a: unknown[]) => {
      if (capture?.op === name && !capture.call) {
        const [, inputs, attrs, shapes] = a as [unknown, Float64Array[], OpAttrs[OpName], { inputs: readonly number[][] }];
        capture.call = { inputs: inputs.map((v) => Float64Array.from(v)), shapes: shapes.inputs, attrs };
      }
      kernel(...a);
      if (counts) {
        const key = name === 'binary' || name === 'unary' ? `${name} ${(a[2] as { op: string }).op}` : name;
        counts[name] = (counts[name] ?? 0) + 1;
        if (key !== name) counts[key] = (counts[key] ?? 0) + 1;
      }
      trace?.push(memory().bytes);
    };
    kernels[name] = Object.assign(wrapped, { counted: true });
  }
}
instrumentRef();

afterEach(() => {
  counts = null;
  trace = null;
  vi.restoreAllMocks();
});

/** Kernel calls made by `fn` (which must free what it makes). */
function countCalls(fn: () => void): Counts {
  counts = {};
  try {
    expectNoLeak(fn);
    return counts;
  } finally {
    counts = null;
  }
}

const disposeAll = (...trees: unknown[]) => trees.forEach((t) => treeLeaves(t).forEach((x) => x.dispose()));

describe('a constant input gets no cotangent', () => {
  it('scale: the scalar factor gets no product and no reduction (exact kernel counts)', () => {
    const x = randomTensor(random.key(1), [4, 5]);
    const calls = countCalls(() => {
      const { value, grads } = valueAndGrad((p: { x: Tensor }) => sum(scale(p.x, 3)))({ x });
      expect(Array.from(grads.x.dataSync())).toEqual(new Array(20).fill(3));
      disposeAll(value, grads);
    });
    // forward: mul, sum; backward: sum's rule broadcasts dy (one strided copy), mul's rule dy·3 for x only.
    // Differentiating the scalar too would add a product dy·x and its reduction to a scalar.
    expect(calls).toEqual({ binary: 2, 'binary mul': 2, reduce: 1, strided: 1 });
    x.dispose();
  });

  it('conv with a constant image: the input-gradient kernel never runs; with the image watched it does', () => {
    const image = randomTensor(random.key(2), [2, 6, 6, 3]);
    const w = randomTensor(random.key(3), [9, 3, 4]);
    const attrs = convAttrs(2, 3, { padding: 1, torus: true });
    const masks: boolean[][] = [];
    const original = convDef.vjp;
    vi.spyOn(convDef, 'vjp').mockImplementation((...a) => {
      masks.push([...a[4]]);
      return original(...a);
    });
    const loss = (p: { w: Tensor; image?: Tensor }) => sum(tanh(conv(p.image ?? image, p.w, attrs)));
    let onlyW: Float32Array | null = null;
    const pruned = countCalls(() => {
      const { value, grads } = valueAndGrad(loss)({ w });
      onlyW = grads.w.dataSync();
      disposeAll(value, grads);
    });
    let both: Float32Array | null = null;
    const full = countCalls(() => {
      const { value, grads } = valueAndGrad(loss)({ w, image });
      both = grads.w.dataSync();
      expect(grads.image!.shape).toEqual(image.shape);
      disposeAll(value, grads);
    });
    expect(masks).toEqual([
      [false, true],
      [true, true],
    ]);
    expect(pruned.convInputGrad ?? 0).toBe(0);
    expect(pruned.convFilterGrad).toBe(1);
    expect(full.convInputGrad).toBe(1);
    expect(full.convFilterGrad).toBe(1);
    // The filter's gradient does not depend on whether the image was differentiated too.
    expect(Array.from(onlyW!)).toEqual(Array.from(both!));
    disposeAll(image, w);
  });

  it('matmul with a fixed basis: only the coefficients get a cotangent (one product, not two)', () => {
    const basis = randomTensor(random.key(4), [6, 5]);
    const coeffs = randomTensor(random.key(5), [5, 3]);
    const original = matmulDef.vjp;
    const masks: boolean[][] = [];
    vi.spyOn(matmulDef, 'vjp').mockImplementation((...a) => {
      masks.push([...a[4]]);
      return original(...a);
    });
    const calls = countCalls(() => {
      const { value, grads } = valueAndGrad((p: { c: Tensor }) => sum(mul(matmul(basis, p.c), matmul(basis, p.c))))({ c: coeffs });
      disposeAll(value, grads);
    });
    expect(masks).toEqual([
      [false, true],
      [false, true],
    ]);
    expect(calls.matmul).toBe(2 + 2); // two forward products, one backward product for each
    disposeAll(basis, coeffs);
  });

  it('concat and argmaxPool: slices only for the watched parts, no routing for a constant pooled input', () => {
    const a = randomTensor(random.key(6), [1, 4, 4, 2]);
    const b = randomTensor(random.key(7), [1, 4, 4, 2]);
    const big = randomTensor(random.key(14), [1, 8, 8, 2]);
    const calls = countCalls(() => {
      const { value, grads } = valueAndGrad((p: { a: Tensor }) => sum(concat([p.a, b, argmaxPool(big, big, 2, 1)], 1)))({ a });
      expect(Array.from(grads.a.dataSync())).toEqual(new Array(32).fill(1));
      disposeAll(value, grads);
    });
    // forward: concat, argmaxPool, sum; backward: broadcast of dy, one slice for a (strided copies).
    expect(calls).toEqual({ argmaxPool: 1, concat: 1, reduce: 1, strided: 2 });
    disposeAll(a, b, big);
  });

  it('a rule that ignores its mask is refused with a clear error, without leaking', () => {
    const x = tensor([1, 2, 3], [3]);
    const c = tensor([4, 5, 6], [3]);
    expectNoLeak(() => {
      const f = (p: { x: Tensor }) => {
        const y = mul(p.x, c);
        // A hand-recorded op y2 = y + c whose rule (wrongly) also returns c's cotangent.
        const y2 = y.reshape([3]);
        const z = tensor([0, 0, 0], [3]);
        record([y2, c], z, (dy) => [dy, dy], 'sloppy');
        return sum(z);
      };
      expect(() => valueAndGrad(f)({ x })).toThrow(/gradient rule of sloppy returned a cotangent for input 1, which does not depend on a parameter/);
    });
    disposeAll(x, c);
  });
});

/** Every primitive's OpDef (each src/ops module exports its primitives' `<op>Def`), by op name. */
async function opDefs(): Promise<Map<string, OpDef<OpName>>> {
  const dir = new URL('../../src/ops/', import.meta.url);
  const defs = new Map<string, OpDef<OpName>>();
  for (const f of readdirSync(fileURLToPath(dir)).filter((x) => x.endsWith('.ts'))) {
    for (const v of Object.values((await import(new URL(f, dir).href)) as Record<string, unknown>)) {
      const d = v as Partial<OpDef<OpName>> | null;
      if (d && typeof d === 'object' && typeof d.name === 'string' && typeof d.vjp === 'function' && typeof d.reads === 'function')
        defs.set(d.name, d as OpDef<OpName>);
    }
  }
  return defs;
}

/**
 * One application per parity case of test/shared/op-cases (every op has one; those suites fail
 * otherwise): the case runs on ref and its op's first kernel call is taken — the def, copies of the
 * input values, the attributes. A new primitive is checked here without a line in this file.
 */
async function cases(): Promise<{ name: string; def: OpDef<OpName>; inputs: Tensor[]; attrs: OpAttrs[OpName] }[]> {
  const defs = await opDefs();
  const out: { name: string; def: OpDef<OpName>; inputs: Tensor[]; attrs: OpAttrs[OpName] }[] = [];
  for (const [index, c] of (await loadOpCases()).entries()) {
    const def = defs.get(c.op);
    if (!def) throw new Error(`no OpDef named ${c.op} is exported by src/ops`);
    const xs = c.inputs.map((shape, i) =>
      tensor(
        (c.values?.[i] ?? gen.normal)(
          shape.reduce((a, b) => a * b, 1),
          7919 * (index + 1) + i,
        ),
        shape,
      ),
    );
    capture = { op: c.op, call: null };
    try {
      tidy(() => c.run(xs));
    } finally {
      disposeAll(xs);
    }
    const call = capture.call as Captured | null;
    capture = null;
    if (!call) throw new Error(`${c.name}: its run made no ${c.op} kernel call`);
    out.push({ name: c.name, def, inputs: call.inputs.map((v, i) => tensor(v, call.shapes[i])), attrs: call.attrs });
  }
  return out;
}

/** Every non-empty mask over n inputs. */
const masks = (n: number) => Array.from({ length: 2 ** n - 1 }, (_, m) => Array.from({ length: n }, (_, i) => (((m + 1) >> i) & 1) === 1));

describe('each rule reads no more than it declares, and honours every mask', async () => {
  const all = await cases();
  it('every op of the ref kernel table is among the cases', () => {
    expect(Object.keys(getBackend('ref').kernels).filter((op) => !all.some((k) => k.def.name === op))).toEqual([]);
  });
  it.each(all.map((k) => [k.name, k] as const))('%s', (_name, { def, inputs, attrs }) => {
    expectNoLeak(() => {
      const y = run(def, inputs, attrs);
      const dy = randomTensor(random.key(90), [...y.shape]);
      for (const needs of masks(inputs.length)) {
        const reference = tidy(() => def.vjp(dy, inputs, y, attrs, needs).map((t) => t && Array.from(t.dataSync())));
        // Values the rule does not declare are handed over disposed: reading one throws.
        const read = def.reads(attrs, needs);
        const stand = [...inputs, y].map((t, i) => {
          if (read[i]) return t;
          const gone = t.reshape(t.shape);
          gone.dispose();
          return gone;
        });
        const pruned = tidy(() => def.vjp(dy, stand.slice(0, -1), stand.at(-1)!, attrs, needs).map((t) => t && Array.from(t.dataSync())));
        expect(pruned, `mask ${needs}`).toEqual(reference);
        pruned.forEach((g, i) => {
          if (!needs[i]) expect(g, `input ${i} under mask ${needs}`).toBeNull();
        });
      }
      disposeAll(y, dy);
    });
    disposeAll(inputs);
  });
});

describe('the backward pass frees as it goes', () => {
  it('the tape of a long chain is released while it is walked: live bytes fall, never rise above the forward peak', () => {
    const n = 4096; // 16 KiB per float32 tensor
    const L = 12;
    const x = randomTensor(random.key(8), [n]);
    const bytes = 4 * n;
    expectNoLeak(() => {
      trace = [];
      const { value, grads } = valueAndGrad((p: { x: Tensor }) => {
        let y = p.x;
        for (let i = 0; i < L; i++) y = tanh(y);
        return sum(y);
      })({ x });
      const t = trace;
      trace = null;
      disposeAll(value, grads);
      // trace: L tanh + 1 sum (forward), then the backward kernels.
      const forwardPeak = Math.max(...t.slice(0, L + 1));
      const backward = t.slice(L + 1);
      expect(forwardPeak).toBeGreaterThanOrEqual(L * bytes);
      // Each tanh rule makes a few temporaries (square, neg, +1, product) inside its own scope;
      // activations already walked are gone, so the backward pass never holds more than the
      // forward tape plus a handful of them.
      expect(Math.max(...backward)).toBeLessThanOrEqual(forwardPeak + 5 * bytes);
      // By the last rule only x, the first activation and a few cotangent temporaries remain:
      // without early release every activation would still be alive here (≥ L·bytes).
      expect(backward.at(-1)!).toBeLessThanOrEqual(forwardPeak - (L - 6) * bytes);
    });
    x.dispose();
  });

  it('the tape holds only what the rules read: a chain of products by a constant keeps no activation', () => {
    const n = 4096;
    const L = 12;
    const x = randomTensor(random.key(15), [n]);
    const c = randomTensor(random.key(16), [n]);
    expectNoLeak(() => {
      const start = memory().bytes;
      trace = [];
      const { value, grads } = valueAndGrad((p: { x: Tensor }) => {
        // The forward code frees each activation at once, as layers do through their tidy scopes.
        let y = p.x;
        for (let i = 0; i < L; i++) {
          const next = mul(y, c);
          if (y !== p.x) y.dispose();
          y = next;
        }
        return sum(y);
      })({ x });
      const t = trace;
      trace = null;
      // d/dx Σ x·c^L = c^L, multiplied up in the order of the backward pass (float64 on ref).
      const cL = Array.from(f64(c), (v) => Array.from({ length: L }, () => v).reduce((p, q) => p * q, 1));
      expect(Array.from(grads.x.dataSync())).toEqual(Array.from(Float32Array.from(cL)));
      disposeAll(value, grads);
      // mul's rule for x reads only c: no activation stays on the tape, so the forward pass never
      // holds more than two of them at a time (it would hold all L if the tape kept every input).
      expect(Math.max(...t.slice(0, L + 1)) - start).toBeLessThanOrEqual(2 * 4 * n + 4);
    });
    disposeAll(x, c);
  });

  it('an unused constant cotangent is not even made: the image gradient of a conv never occupies memory', () => {
    const image = randomTensor(random.key(9), [1, 16, 16, 8]);
    const w = randomTensor(random.key(10), [1, 8, 1]);
    const attrs = convAttrs(2, 1);
    const peakOf = (watchImage: boolean) => {
      trace = [];
      expectNoLeak(() => {
        const { value, grads } = valueAndGrad((p: { w: Tensor; image?: Tensor }) => sum(conv(p.image ?? image, p.w, attrs)))(watchImage ? { w, image } : { w });
        disposeAll(value, grads);
      });
      const peak = Math.max(...trace);
      trace = null;
      return peak;
    };
    // The image gradient is as large as the image (8 KiB): the pruned peak is lower by at least that.
    expect(peakOf(true) - peakOf(false)).toBeGreaterThanOrEqual(4 * image.size);
    disposeAll(image, w);
  });
});

describe('gradients are unchanged by pruning', () => {
  it('a UNet: parameter gradients bit-identical with the image also differentiated; the first conv skips its input gradient', () => {
    const D = 2,
      N = 8;
    const input = [
      { k: 0, parity: 0, channels: 1 },
      { k: 1, parity: 0, channels: 1 },
    ] as const;
    const output = [{ k: 1, parity: 0, channels: 1 }] as const;
    const model = new UNet({ D, input, output, depth: 2, numDownsamples: 1, numConv: 1 }, random.key(11));
    const image = randomTensor(random.key(12), [1, N, N, 3]);
    const target = randomTensor(random.key(13), [1, N, N, 2]);
    const loss = (p: { model: unknown; image?: Tensor }) => {
      const y = model.apply(p.model as never, new MultiImage(p.image ?? image, input, D, true));
      return sum(mul(y.data, target));
    };
    const run = (watchImage: boolean) => {
      const masks: boolean[][] = [];
      const original = convDef.vjp;
      const spy = vi.spyOn(convDef, 'vjp').mockImplementation((...a) => {
        masks.push([...a[4]]);
        return original(...a);
      });
      let grads: Float32Array[] = [];
      const calls = countCalls(() => {
        const r = valueAndGrad(loss)(watchImage ? { model: model.params, image } : { model: model.params });
        grads = treeLeaves(r.grads.model).map((t) => t.dataSync());
        disposeAll(r.value, r.grads);
      });
      spy.mockRestore();
      return { masks, calls, grads };
    };
    const pruned = run(false);
    const full = run(true);
    expect(pruned.grads.length).toBe(treeLeaves(model.params).length);
    pruned.grads.forEach((g, i) => expect(Array.from(g)).toEqual(Array.from(full.grads[i]!)));
    // The backward pass meets the first convolution last; only there is the input constant.
    expect(pruned.masks.at(-1)).toEqual([false, true]);
    expect(pruned.masks.slice(0, -1).every(([x, w]) => x && w)).toBe(true);
    expect(full.masks.every(([x, w]) => x && w)).toBe(true);
    expect(pruned.calls.convInputGrad).toBe(full.calls.convInputGrad! - 1);
    expect(pruned.calls.convFilterGrad).toBe(full.calls.convFilterGrad);
    // The filter bases are constants in both runs: the image adds kernels, never removes them.
    for (const [k, v] of Object.entries(pruned.calls)) expect(v).toBeLessThanOrEqual(full.calls[k] ?? 0);
    model.dispose();
    disposeAll(image, target);
  });
});
