/**
 * Optimizers against hand computation (optax formulas), schedules at chosen steps, clipping,
 * chaining, and memory (an update leaks nothing; the old state can be disposed).
 */
import { describe, expect, it } from 'vitest';
import { memory, tensor, tidy, type Tensor } from '../../../src/index.js';
import type { Params } from '../../../src/nn/module.js';
import {
  adam,
  adamw,
  applyUpdates,
  chain,
  clipByGlobalNorm,
  constant,
  cosineDecay,
  disposeTree,
  exponentialDecay,
  flatten,
  linearSchedule,
  scaleByLearningRate,
  sgd,
  warmupCosineDecay,
  type GradientTransformation,
  type OptState,
} from '../../../src/train/optim.js';
import { allclose, values } from '../../util.js';

const t64 = (xs: number[], shape = [xs.length]) => tensor(Float64Array.from(xs), shape);
const vals = (x: Tensor) => Array.from(values(x));

/** Runs `steps` updates with the given gradient sequence; returns the params after each step (as arrays). */
function run(opt: GradientTransformation, p0: Record<string, number[]>, grads: Record<string, number[]>[]): Record<string, number[]>[] {
  let params: Params = Object.fromEntries(Object.entries(p0).map(([k, v]) => [k, t64(v)]));
  let state: OptState = opt.init(params);
  const out: Record<string, number[]>[] = [];
  for (const g of grads) {
    const gt: Params = Object.fromEntries(Object.entries(g).map(([k, v]) => [k, t64(v)]));
    const { updates, state: next } = opt.update(gt, state, params);
    const np = applyUpdates(params, updates);
    disposeTree(gt);
    disposeTree(updates);
    disposeTree(params);
    disposeTree(state);
    params = np;
    state = next;
    out.push(Object.fromEntries(Object.entries(params).map(([k, v]) => [k, vals(v as Tensor)])));
  }
  disposeTree(params);
  disposeTree(state);
  return out;
}

describe('sgd', () => {
  it('plain: p ← p − lr·g', () => {
    const before = memory().tensors;
    const r = run(sgd({ learningRate: 0.1 }), { w: [1, -2] }, [{ w: [0.5, 1] }, { w: [-1, 2] }]);
    allclose(r[0]!.w!, [1 - 0.05, -2 - 0.1], { rtol: 1e-12 });
    allclose(r[1]!.w!, [0.95 + 0.1, -2.1 - 0.2], { rtol: 1e-12 });
    expect(memory().tensors).toBe(before);
  });

  it('momentum 0.9: t ← g + 0.9·t, p ← p − lr·t', () => {
    const r = run(sgd({ learningRate: 0.1, momentum: 0.9 }), { w: [1] }, [{ w: [1] }, { w: [2] }, { w: [-1] }]);
    // t1 = 1, t2 = 2 + 0.9 = 2.9, t3 = −1 + 2.61 = 1.61
    allclose([r[0]!.w![0]!, r[1]!.w![0]!, r[2]!.w![0]!], [0.9, 0.9 - 0.29, 0.61 - 0.161], { rtol: 1e-12 });
  });

  it('nesterov: update g + 0.9·t_new', () => {
    const r = run(sgd({ learningRate: 0.1, momentum: 0.9, nesterov: true }), { w: [0] }, [{ w: [1] }, { w: [1] }]);
    // t1 = 1, u1 = 1 + 0.9 = 1.9; t2 = 1 + 0.9 = 1.9, u2 = 1 + 1.71 = 2.71
    allclose([r[0]!.w![0]!, r[1]!.w![0]!], [-0.19, -0.19 - 0.271], { rtol: 1e-12 });
  });

  it('a schedule is read at the step count (0 first)', () => {
    const r = run(sgd({ learningRate: (s) => [1, 0.5, 0.25][s]! }), { w: [0] }, [{ w: [1] }, { w: [1] }, { w: [1] }]);
    allclose(
      r.map((x) => x.w![0]!),
      [-1, -1.5, -1.75],
      { rtol: 1e-12 },
    );
  });
});

/** Adam by hand (float64), optax formulas. */
function adamRef(p: number, gs: number[], lr: number, b1 = 0.9, b2 = 0.999, eps = 1e-8, wd = 0): number[] {
  let m = 0;
  let v = 0;
  const out: number[] = [];
  gs.forEach((g, i) => {
    const n = i + 1;
    m = b1 * m + (1 - b1) * g;
    v = b2 * v + (1 - b2) * g * g;
    const u = m / (1 - b1 ** n) / (Math.sqrt(v / (1 - b2 ** n)) + eps) + wd * p;
    p -= lr * u;
    out.push(p);
  });
  return out;
}

describe('adam / adamw', () => {
  it('adam, 3 steps, against hand computation', () => {
    const gs = [
      [0.5, -3],
      [0.25, 1],
      [-1, 0.5],
    ];
    const r = run(
      adam({ learningRate: 0.01 }),
      { w: [1, 2] },
      gs.map((g) => ({ w: g })),
    );
    // first step: m̂ = g, v̂ = g², update = lr·g/(|g| + eps) ≈ lr·sign(g)
    allclose(r[0]!.w!, [1 - (0.01 * 0.5) / (0.5 + 1e-8), 2 + (0.01 * 3) / (3 + 1e-8)], { rtol: 1e-12 });
    for (let j = 0; j < 2; j++)
      allclose(
        r.map((x) => x.w![j]!),
        adamRef(
          [1, 2][j]!,
          gs.map((g) => g[j]!),
          0.01,
        ),
        { rtol: 1e-10 },
        `adam[${j}]`,
      );
    // step 2 of w[0], spelt out: m = 0.9·0.05 + 0.025 = 0.07, v = 0.999·0.00025 + 0.001·0.0625 = 0.00031225
    const m2 = 0.07 / (1 - 0.81);
    const v2 = 0.00031225 / (1 - 0.999 ** 2);
    allclose([r[1]!.w![0]!], [r[0]!.w![0]! - (0.01 * m2) / (Math.sqrt(v2) + 1e-8)], { rtol: 1e-12 });
  });

  it('adamw decays the parameters: update + wd·p before the learning rate', () => {
    const gs = [[0.5], [0.25], [-1]];
    const r = run(
      adamw({ learningRate: 0.1, weightDecay: 0.5 }),
      { w: [2] },
      gs.map((g) => ({ w: g })),
    );
    allclose(
      r.map((x) => x.w![0]!),
      adamRef(
        2,
        gs.map((g) => g[0]!),
        0.1,
        0.9,
        0.999,
        1e-8,
        0.5,
      ),
      { rtol: 1e-10 },
    );
    // zero gradient: only the decay acts, p ← p − lr·wd·p
    const z = run(adamw({ learningRate: 0.1, weightDecay: 0.5 }), { w: [2] }, [{ w: [0] }]);
    allclose(z[0]!.w!, [2 - 0.1 * 0.5 * 2], { rtol: 1e-12 });
  });

  it('adamw mask: unmasked parameters are not decayed', () => {
    const r = run(adamw({ learningRate: 0.1, weightDecay: 0.5, mask: (path) => path !== 'b' }), { w: [2], b: [2] }, [{ w: [0], b: [0] }]);
    allclose(r[0]!.w!, [1.9], { rtol: 1e-12 });
    allclose(r[0]!.b!, [2], { rtol: 1e-12 });
  });

  it('nested parameter trees keep their structure; state trees dispose completely', () => {
    const before = memory().tensors;
    const params: Params = { a: { w: t64([1, 2, 3, 4], [2, 2]) }, b: t64([5]) };
    const opt = adamw({ learningRate: 0.1 });
    const state = opt.init(params);
    const grads: Params = { a: { w: t64([1, 1, 1, 1], [2, 2]) }, b: t64([1]) };
    const r = tidy(() => {
      const { updates, state: s } = opt.update(grads, state, params);
      return { p: applyUpdates(params, updates), s };
    });
    expect(((r.p.a as Params).w as Tensor).shape).toEqual([2, 2]);
    for (const x of [params, grads, r.p]) disposeTree(x);
    disposeTree(state);
    disposeTree(r.s);
    expect(memory().tensors).toBe(before);
  });

  it('validates options and states', () => {
    expect(() => adam({ learningRate: 0.1, b1: 1 })).toThrow(/b1 must be a number in \[0, 1\)/);
    expect(() => sgd({ learningRate: NaN })).toThrow(/learningRate/);
    const opt = adam({ learningRate: 0.1 });
    const p: Params = { w: t64([1]) };
    expect(() => opt.update(p, {}, p)).toThrow(/chain: state must be the array/);
    disposeTree(p);
  });
});

describe('clipByGlobalNorm', () => {
  it('scales by maxNorm/‖g‖ only above maxNorm (norm over every leaf)', () => {
    const clip = clipByGlobalNorm(1);
    const g: Params = { a: t64([3]), b: t64([4, 0]) }; // ‖g‖ = 5
    const { updates } = clip.update(g, clip.init(g));
    allclose(values((updates as { a: Tensor }).a), [0.6], { rtol: 1e-12 });
    allclose(values((updates as { b: Tensor }).b), [0.8, 0], { rtol: 1e-12 });
    const small: Params = { a: t64([0.3]), b: t64([0.4, 0]) };
    const r2 = clipByGlobalNorm(1).update(small, {});
    allclose(values((r2.updates as { b: Tensor }).b), [0.4, 0], { rtol: 1e-12 });
    for (const x of [g, updates, small, r2.updates]) disposeTree(x);
  });

  it('chains: clip then sgd', () => {
    const r = run(chain(clipByGlobalNorm(1), sgd({ learningRate: 0.5 })), { w: [0, 0] }, [{ w: [3, 4] }]);
    allclose(r[0]!.w!, [-0.3, -0.4], { rtol: 1e-12 });
    const r2 = run(chain(clipByGlobalNorm(1), scaleByLearningRate(0.5)), { w: [0, 0] }, [{ w: [0.3, 0.4] }]);
    allclose(r2[0]!.w!, [-0.15, -0.2], { rtol: 1e-12 });
  });
});

describe('flatten', () => {
  // Leaves of several shapes in a nested tree, and a gradient sequence that changes sign.
  const p0 = { a: [1, -2, 3, 0.5, 4, -1], b: [0.25], c: [2, -3, 1] };
  const grads = [0, 1, 2].map((s) => ({ a: p0.a.map((v, i) => Math.sin(v + i + s)), b: [s - 1], c: p0.c.map((v) => Math.cos(v * s)) }));

  it('gives the leaf-by-leaf result of adamw, sgd with momentum and clipping, step by step', () => {
    const make: (() => GradientTransformation)[] = [
      () => adamw({ learningRate: 0.1, weightDecay: 0.3 }),
      () => chain(clipByGlobalNorm(0.5), sgd({ learningRate: 0.2, momentum: 0.9, nesterov: true })),
    ];
    for (const m of make) {
      const leafwise = run(m(), p0, grads);
      const flat = run(flatten(m()), p0, grads);
      flat.forEach((step, i) => {
        for (const k of Object.keys(p0)) allclose(step[k]!, leafwise[i]![k]!, { rtol: 1e-14, atol: 1e-15 }, `step ${i} leaf ${k}`);
      });
    }
  });

  it("keeps every leaf's shape, holds one flat vector per state tree, and leaks nothing", () => {
    const before = memory().tensors;
    const params: Params = { a: { w: t64([1, 2, 3, 4, 5, 6], [2, 3]) }, b: t64([5]) };
    const opt = flatten(adam({ learningRate: 0.1 }));
    const state = opt.init(params);
    expect(((state as OptState[])[0] as { mu: { flat: Tensor } }).mu.flat.shape).toEqual([7]);
    const grads: Params = { a: { w: t64([1, 1, 1, 1, 1, 1], [2, 3]) }, b: t64([1]) };
    const { updates, state: next } = opt.update(grads, state, params);
    expect(((updates.a as Params).w as Tensor).shape).toEqual([2, 3]);
    expect((updates.b as Tensor).shape).toEqual([1]);
    for (const x of [params, grads, updates, state, next]) disposeTree(x);
    expect(memory().tensors).toBe(before);
  });

  it('an empty parameter tree gives an empty update', () => {
    const opt = flatten(adam({ learningRate: 0.1 }));
    const { updates, state } = opt.update({}, opt.init({}), {});
    expect(updates).toEqual({});
    disposeTree(state);
  });
});

describe('custom transformations', () => {
  it('a transformation that passes its inputs through loses nothing in a chain or in training state', () => {
    const passThrough: GradientTransformation = {
      init: (p) => ({ w: t64([7]), p: Object.keys(p).length }),
      update: (updates, state) => ({ updates, state }),
    };
    const before = memory().tensors;
    const r = run(chain(scaleByLearningRate(1), passThrough, scaleByLearningRate(2)), { w: [1] }, [{ w: [1] }, { w: [1] }]);
    allclose(
      r.map((x) => x.w![0]!),
      [3, 5],
      { rtol: 1e-12 },
    );
    expect(memory().tensors).toBe(before);
  });
});

describe('schedules (optax formulas)', () => {
  it('constant', () => {
    expect([0, 10, 1e6].map(constant(0.3))).toEqual([0.3, 0.3, 0.3]);
  });

  it('exponentialDecay: init·rate^(step/T), staircase floors, clipping at endValue, begin', () => {
    const s = exponentialDecay(1, 10, 0.5);
    allclose([0, 5, 10, 25].map(s), [1, 0.5 ** 0.5, 0.5, 0.5 ** 2.5], { rtol: 1e-14 });
    const st = exponentialDecay(1, 10, 0.5, true);
    allclose([0, 9, 10, 19, 20].map(st), [1, 1, 0.5, 0.5, 0.25], { rtol: 1e-14 });
    const clipped = exponentialDecay(1, 10, 0.5, false, { endValue: 0.3 });
    allclose([10, 30].map(clipped), [0.5, 0.3], { rtol: 1e-14 });
    const begun = exponentialDecay(2, 10, 0.1, false, { transitionBegin: 5 });
    allclose([0, 5, 15].map(begun), [2, 2, 0.2], { rtol: 1e-14 });
    expect(exponentialDecay(1, 0, 0.5)(100)).toBe(1); // transitionSteps <= 0: constant
  });

  it('warmupCosineDecay: linear warmup then cosine to the end value', () => {
    const s = warmupCosineDecay(0, 1, 10, 110, 0.1);
    // warmup: linear 0 → 1 over 10 steps
    allclose([0, 5, 10].map(s), [0, 0.5, 1], { rtol: 1e-14 });
    // decay over 100 steps with α = end/peak = 0.1: peak·((1 − α)·½(1 + cos(π t/100)) + α)
    const cos = (t: number) => (1 - 0.1) * 0.5 * (1 + Math.cos((Math.PI * t) / 100)) + 0.1;
    allclose([35, 60, 110, 500].map(s), [cos(25), cos(50), 0.1, 0.1], { rtol: 1e-14 });
    allclose([s(60)], [0.55], { rtol: 1e-14 });
    expect(() => warmupCosineDecay(0, 1, 10, 10)).toThrow(/decaySteps must be a number > warmupSteps/);
  });

  it('cosineDecay and linearSchedule', () => {
    allclose([0, 50, 100, 200].map(cosineDecay(2, 100)), [2, 1, 0, 0], { rtol: 1e-14, atol: 1e-15 });
    allclose([0, 2, 4, 9].map(linearSchedule(1, 0, 4)), [1, 0.5, 0, 0], { rtol: 1e-14 });
  });
});
