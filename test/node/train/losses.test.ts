/** Losses against hand computation; blocks are paired by key whatever the construction order. */
import { describe, expect, it } from 'vitest';
import { memory, random, tensor, valueAndGrad, type Tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { mse, normalizedSmseLoss, smseLoss, timestepSmseLoss } from '../../../src/train/losses.js';
import { allclose, values } from '../../util.js';

const D = 2;
const B = 2;
const S = [2, 3]; // spatial
const P = 6;

/** Random data in ginjax block layout: [B, c, ...S, (D,)*k]. */
function rand(seed: number, c: number, k: number): number[] {
  return Array.from(random.uniform(random.key(seed), B * c * P * D ** k, -1, 1));
}

function mi(blocks: [string, number[], number][]): MultiImage {
  // entries: [key, data, channels], inserted in the given order
  const m = new Map<string, Tensor>();
  for (const [name, data, c] of blocks) {
    const k = Number(name.split(',')[0]);
    m.set(name, tensor(Float64Array.from(data), [B, c, ...S, ...new Array(k).fill(D)]));
  }
  return MultiImage.fromBlocks(m, D);
}

/** Σ over entries of batch element b of (x − y)² in block layout. */
function sqBlock(x: number[], y: number[], b: number): number {
  const per = x.length / B;
  let s = 0;
  for (let i = b * per; i < (b + 1) * per; i++) s += (x[i]! - y[i]!) ** 2;
  return s;
}

describe('smseLoss', () => {
  const xs = { s: rand(1, 2, 0), v: rand(2, 1, 1), p: rand(3, 1, 0) };
  const ys = { s: rand(4, 2, 0), v: rand(5, 1, 1), p: rand(6, 1, 0) };
  const per = [0, 1].map((b) => (sqBlock(xs.s, ys.s, b) + sqBlock(xs.v, ys.v, b) + sqBlock(xs.p, ys.p, b)) / P);

  it('per batch element Σ (x − y)² / Π spatial, then the batch mean; pairing by key, not by order', () => {
    const x = mi([
      ['1,0', xs.v, 1],
      ['0,0', xs.s, 2],
      ['0,1', xs.p, 1],
    ]);
    const y = mi([
      ['0,1', ys.p, 1],
      ['0,0', ys.s, 2],
      ['1,0', ys.v, 1],
    ]);
    const l = smseLoss(x, y);
    expect(l.shape).toEqual([]);
    allclose(values(l), [(per[0]! + per[1]!) / 2], { rtol: 1e-12 });
    const v = smseLoss(x, y, null);
    allclose(values(v), per, { rtol: 1e-12 });
    for (const t of [l, v]) t.dispose();
    x.dispose();
    y.dispose();
  });

  it("checks y's signature (ginjax compared x with itself)", () => {
    const x = mi([
      ['0,0', xs.s, 2],
      ['1,0', xs.v, 1],
    ]);
    const y = mi([
      ['0,0', ys.s, 2],
      ['0,1', ys.p, 1],
    ]);
    expect(() => smseLoss(x, y)).toThrow(/smseLoss: y's signature must be x's signature \{\(0,0\):2, \(1,0\):1\} \(blocks are paired by key\)/);
    const y2 = mi([
      ['0,0', ys.s.slice(0, B * P), 1],
      ['1,0', ys.v, 1],
    ]);
    expect(() => smseLoss(x, y2)).toThrow(/signature/);
    for (const m of [x, y, y2]) m.dispose();
  });

  it('is differentiable: d/dx = 2(x − y)/(P·B)', () => {
    const y = mi([['0,0', ys.s, 2]]);
    const xd = tensor(Float64Array.from(rand(1, 2, 0)), [B, 2, ...S]);
    const x0 = MultiImage.fromBlocks({ '0,0': xd }, D);
    const { value, grads } = valueAndGrad((d: Tensor) => smseLoss(new MultiImage(d, x0.signature, D), y))(x0.data);
    const want = Array.from(values(x0.data), (xv, i) => (2 * (xv - values(y.data)[i]!)) / (P * B));
    allclose(values(grads), want, { rtol: 1e-12 });
    for (const t of [value, grads, xd]) t.dispose();
    x0.dispose();
    y.dispose();
  });
});

describe('timestepSmseLoss', () => {
  // (0,0): c = 2 channels × 3 steps (channel-major c·3 + t); (1,0): 1 × 3.
  const n = 3;
  const xs = { s: rand(7, 2 * n, 0), v: rand(8, n, 1) };
  const ys = { s: rand(9, 2 * n, 0), v: rand(10, n, 1) };
  /** loss[b][t] by hand. */
  const hand = [0, 1].map((b) =>
    Array.from({ length: n }, (_, t) => {
      let s = 0;
      for (const [x, y, c, T] of [
        [xs.s, ys.s, 2, 1],
        [xs.v, ys.v, 1, D],
      ] as const) {
        const per = c * n * P * T;
        for (let ch = 0; ch < c; ch++) {
          const base = b * per + (ch * n + t) * P * T;
          for (let i = 0; i < P * T; i++) s += (x[base + i]! - y[base + i]!) ** 2;
        }
      }
      return s / P;
    }),
  );

  it('null: [batch, nSteps]; mean: [nSteps]; max: the row of the largest total', () => {
    const x = mi([
      ['1,0', xs.v, n],
      ['0,0', xs.s, 2 * n],
    ]);
    const y = mi([
      ['0,0', ys.s, 2 * n],
      ['1,0', ys.v, n],
    ]);
    const none = timestepSmseLoss(x, y, n, null);
    expect(none.shape).toEqual([B, n]);
    allclose(values(none), hand.flat(), { rtol: 1e-12 });
    const m = timestepSmseLoss(x, y, n);
    allclose(
      values(m),
      hand[0]!.map((v, t) => (v + hand[1]![t]!) / 2),
      { rtol: 1e-12 },
    );
    const totals = hand.map((r) => r.reduce((a, b) => a + b));
    const mx = timestepSmseLoss(x, y, n, 'max');
    allclose(values(mx), hand[totals[0]! > totals[1]! ? 0 : 1]!, { rtol: 1e-12 });
    for (const t of [none, m, mx]) t.dispose();
    expect(() => timestepSmseLoss(x, y, 4)).toThrow(/channels of key \(0,0\) must be a multiple of nSteps = 4/);
    x.dispose();
    y.dispose();
  });
});

describe('normalizedSmseLoss and mse', () => {
  it('(x − y)² / (‖y‖²_pixel + eps), summed, / Π spatial, batch mean', () => {
    const xv = rand(11, 1, 1);
    const yv = rand(12, 1, 1);
    const xs = rand(13, 1, 0);
    const ys = rand(14, 1, 0);
    let total = 0;
    for (let b = 0; b < B; b++) {
      for (let p = 0; p < P; p++) {
        const i0 = (b * P + p) * D;
        const n2 = yv[i0]! ** 2 + yv[i0 + 1]! ** 2;
        total += ((xv[i0]! - yv[i0]!) ** 2 + (xv[i0 + 1]! - yv[i0 + 1]!) ** 2) / (n2 + 1e-5) / P;
        const j = b * P + p;
        total += (xs[j]! - ys[j]!) ** 2 / (ys[j]! ** 2 + 1e-5) / P;
      }
    }
    const x = mi([
      ['1,0', xv, 1],
      ['0,0', xs, 1],
    ]);
    const y = mi([
      ['0,0', ys, 1],
      ['1,0', yv, 1],
    ]);
    const l = normalizedSmseLoss(x, y);
    allclose(values(l), [total / B], { rtol: 1e-6 }); // scalar constants (eps, 1/P) are float32
    const m = mse(x, y);
    const all = [...xv.map((v, i) => v - yv[i]!), ...xs.map((v, i) => v - ys[i]!)];
    allclose(values(m), [all.reduce((s, d) => s + d * d, 0) / all.length], { rtol: 1e-12 });
    for (const t of [l, m]) t.dispose();
    x.dispose();
    y.dispose();
  });

  it('leaves nothing behind', () => {
    const x = mi([['0,0', rand(1, 1, 0), 1]]);
    const y = mi([['0,0', rand(2, 1, 0), 1]]);
    const before = memory().tensors;
    for (const f of [() => smseLoss(x, y), () => timestepSmseLoss(x, y, 1, 'max'), () => normalizedSmseLoss(x, y), () => mse(x, y)]) f().dispose();
    expect(memory().tensors).toBe(before);
    x.dispose();
    y.dispose();
  });
});
