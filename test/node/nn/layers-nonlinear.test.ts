/**
 * Nonlinearities against direct per-pixel implementations (plain float64 loops).
 */
import { describe, expect, it } from 'vitest';
import { random } from '../../../src/index.js';
import { blockOffsets } from '../../../src/geometric/signature.js';
import { leaf, subtree } from '../../../src/nn/module.js';
import { Activation, NormNonlinear, VectorNeuronNonlinear } from '../../../src/nn/layers/index.js';
import { values } from '../../util.js';
import { allKeys, disposeTree, randomMulti, randomParams, relErr } from './layers-helpers.js';

const sigma: Record<string, (v: number) => number> = {
  relu: (v) => Math.max(v, 0),
  tanh: Math.tanh,
  gelu: (v) => 0.5 * v * (1 + Math.tanh(Math.sqrt(2 / Math.PI) * (v + 0.044715 * v ** 3))),
  sigmoid: (v) => 1 / (1 + Math.exp(-v)),
};

describe('VectorNeuronNonlinear', () => {
  it.each([
    [2, 'relu'],
    [2, 'gelu'],
    [3, 'tanh'],
  ] as const)('D=%i, %s: one pixel of every key against the direct formula', (D, activation) => {
    const sig = allKeys(3);
    const eps = 1e-5;
    const x = randomMulti(400 + D, sig, D, 2, 2);
    const layer = new VectorNeuronNonlinear({ D, input: sig, activation, eps }, random.key(4));
    const params = randomParams(layer.params, 401);
    const y = layer.apply(params, x);
    const xv = values(x.data);
    const yv = values(y.data);
    const W = x.width;
    const pixel = 5; // flat (batch, pixel) row
    const offsets = blockOffsets(x.signature, D);
    x.signature.forEach((e, idx) => {
      const T = D ** e.k;
      const c = e.channels;
      const xs = Array.from({ length: c }, (_, j) => Array.from({ length: T }, (_, t) => xv[pixel * W + offsets[idx]! + j * T + t]!));
      let want: number[][];
      if (e.k === 0 && e.parity === 0) want = xs.map((v) => v.map(sigma[activation]!));
      else {
        const Wm = values(leaf(subtree(params, 'weights'), `${e.k},${e.parity}`));
        want = xs.map((xi, i) => {
          const q = Array.from({ length: T }, (_, t) => xs.reduce((s, xj, j) => s + Wm[i * c + j]! * xj[t]!, 0));
          const qn = Math.hypot(...q);
          const qh = q.map((v) => v / (qn + eps));
          const s = xi.reduce((acc, v, t) => acc + v * qh[t]!, 0);
          const par = qh.map((v) => s * v);
          const gate = sigma[activation]!(s) / (Math.abs(s) + eps);
          return xi.map((v, t) => gate * par[t]! + (v - par[t]!));
        });
      }
      const got = want.map((_, j) => Array.from({ length: T }, (_, t) => yv[pixel * W + offsets[idx]! + j * T + t]!));
      expect(relErr(got.flat(), want.flat()), `key (${e.k},${e.parity})`).toBeLessThan(1e-6);
    });
    for (const t of [x, y, layer]) t.dispose();
    disposeTree(params);
  });

  it('init as ginjax: one [c, c] weight per key other than (0,0), U(±1/√c)', () => {
    const layer = new VectorNeuronNonlinear({ D: 2, input: allKeys(4) }, random.key(9));
    const w = subtree(layer.params, 'weights');
    expect(Object.keys(w)).toEqual(['0,1', '1,0', '1,1', '2,0', '2,1']);
    for (const name of Object.keys(w)) {
      const t = leaf(w, name);
      expect([...t.shape]).toEqual([4, 4]);
      expect(Math.max(...Array.from(values(t), Math.abs))).toBeLessThanOrEqual(0.5);
    }
    expect(layer.config).toEqual({
      type: 'VectorNeuronNonlinear',
      D: 2,
      input: [0, 1, 2].flatMap((k) => [0, 1].map((parity) => ({ k, parity, channels: 4 }))),
      activation: 'relu',
      eps: 1e-5,
    });
    layer.dispose();
  });
});

describe('NormNonlinear', () => {
  it.each([
    [2, 'relu'],
    [3, 'gelu'],
  ] as const)('D=%i, %s: x·σ(n + b)/n with n = √(‖x‖² + ε²), σ(x) on scalars', (D, activation) => {
    const sig = allKeys(2);
    const eps = 1e-3;
    const x = randomMulti(410 + D, sig, D, 2, 1);
    const layer = new NormNonlinear({ D, input: sig, activation, eps });
    const params = randomParams(layer.params, 411, -1, 0.5);
    const y = layer.apply(params, x);
    const xv = values(x.data);
    const want = new Float64Array(xv.length);
    const W = x.width;
    const offsets = blockOffsets(x.signature, D);
    for (let p = 0; p < xv.length / W; p++) {
      x.signature.forEach((e, idx) => {
        const T = D ** e.k;
        for (let j = 0; j < e.channels; j++) {
          const base = p * W + offsets[idx]! + j * T;
          if (e.k === 0 && e.parity === 0) {
            want[base] = sigma[activation]!(xv[base]!);
            continue;
          }
          const b = values(leaf(subtree(params, 'bias'), `${e.k},${e.parity}`))[j]!;
          let n2 = 0;
          for (let t = 0; t < T; t++) n2 += xv[base + t]! ** 2;
          const n = Math.sqrt(n2 + eps * eps);
          for (let t = 0; t < T; t++) want[base + t] = (xv[base + t]! * sigma[activation]!(n + b)) / n;
        }
      });
    }
    expect(relErr(values(y.data), want)).toBeLessThan(1e-6);
    for (const t of [x, y, layer]) t.dispose();
    disposeTree(params);
  });

  it('is finite (0) at x = 0 and ≈ the identity at init with relu', () => {
    const x = randomMulti(420, [[[1, 0], 2]], 2, 2, 1);
    const zero = x.scale(0);
    const layer = new NormNonlinear({ D: 2, input: x.signature });
    const y0 = layer.call(zero);
    expect(Array.from(values(y0.data)).every((v) => v === 0)).toBe(true);
    const y = layer.call(x);
    expect(relErr(values(y.data), values(x.data))).toBeLessThan(1e-6);
    for (const t of [x, zero, y0, y, layer]) t.dispose();
  });
});

describe('Activation', () => {
  it.each(['relu', 'gelu', 'tanh', 'sigmoid'] as const)('%s on every entry of every key', (activation) => {
    const x = randomMulti(430, allKeys(1), 2, 2, 1, true, -3, 3);
    const y = new Activation(activation).call(x);
    expect(relErr(values(y.data), Array.from(values(x.data), sigma[activation]!))).toBeLessThan(1e-6);
    expect(y.signature).toEqual(x.signature);
    x.dispose();
    y.dispose();
  });
});
