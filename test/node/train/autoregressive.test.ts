/** autoregressiveStep / autoregressiveMap semantics (ginjax testAutoregressiveStep, §5.1). */
import { describe, expect, it } from 'vitest';
import { add, memory, tensor, type Tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { Module, type ModuleConfig, type Params } from '../../../src/nn/module.js';
import { slice } from '../../../src/ops/gather.js';
import { autoregressiveMap, autoregressiveStep } from '../../../src/train/autoregressive.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { BatchNorm, Sequential, State } from '../../../src/nn/layers/index.js';
import { random } from '../../../src/index.js';
import { values } from '../../util.js';

const D = 2;
const P = 4; // 2×2 pixels

/** A MultiImage whose channel q of key (k, p) is filled with fill(k, p, q) (every pixel and component). */
function filled(sig: { k: number; parity: 0 | 1; channels: number }[], fill: (k: number, p: number, q: number) => number, batch = 1): MultiImage {
  const blocks = Object.fromEntries(
    sig.map(({ k, parity, channels }) => {
      const per = P * D ** k;
      const data = Float64Array.from({ length: batch * channels * per }, (_, i) => fill(k, parity, Math.floor(i / per) % channels));
      return [`${k},${parity}`, tensor(data, [batch, channels, 2, 2, ...new Array(k).fill(D)])];
    }),
  );
  return MultiImage.fromBlocks(blocks, D);
}

/** The value of each channel of key (k, p) (checking that the channel is constant). */
function channelValues(m: MultiImage, k: number, p: 0 | 1): number[] {
  const b = m.block(k, p);
  const v = values(b);
  const per = P * D ** k;
  const out = Array.from({ length: m.channels(k, p) }, (_, q) => {
    const c = v[q * per]!;
    for (let i = 0; i < per; i++) expect(v[q * per + i]).toBe(c);
    return c;
  });
  b.dispose();
  return out;
}

describe('autoregressiveStep', () => {
  it('rolls the dynamic channels, keeps constant fields last, carries constant-only keys, grows the output c·t', () => {
    // (0,0): 2 dynamic channels × 3 past steps (channel-major) + 1 constant; (1,0): 1 × 3; (0,1): constant only.
    const input = filled(
      [
        { k: 0, parity: 0, channels: 7 },
        { k: 1, parity: 0, channels: 3 },
        { k: 0, parity: 1, channels: 1 },
      ],
      (k, p, q) => (k === 0 && p === 0 ? q : k === 1 ? 10 + q : 50),
    );
    const pred1 = filled(
      [
        { k: 0, parity: 0, channels: 2 },
        { k: 1, parity: 0, channels: 1 },
      ],
      (k, _p, q) => (k === 0 ? 100 + q : 200),
    );
    const consts = { '0,0': 1, '0,1': 1 };
    const s1 = autoregressiveStep(input, pred1, null, 3, consts);
    expect(s1.input.signature).toEqual(input.signature);
    expect(channelValues(s1.input, 0, 0)).toEqual([1, 2, 100, 4, 5, 101, 6]);
    expect(channelValues(s1.input, 1, 0)).toEqual([11, 12, 200]);
    expect(channelValues(s1.input, 0, 1)).toEqual([50]);
    expect(channelValues(s1.output, 0, 0)).toEqual([100, 101]);

    const pred2 = filled(
      [
        { k: 0, parity: 0, channels: 2 },
        { k: 1, parity: 0, channels: 1 },
      ],
      (k, _p, q) => (k === 0 ? 300 + q : 400),
    );
    const s2 = autoregressiveStep(s1.input, pred2, s1.output, 3, consts);
    expect(channelValues(s2.input, 0, 0)).toEqual([2, 100, 300, 5, 101, 301, 6]);
    expect(channelValues(s2.input, 1, 0)).toEqual([12, 200, 400]);
    // output stacked channel-major: (channel 0: t0, t1), (channel 1: t0, t1)
    expect(channelValues(s2.output, 0, 0)).toEqual([100, 300, 101, 301]);
    expect(channelValues(s2.output, 1, 0)).toEqual([200, 400]);
    for (const m of [input, pred1, pred2, s1.input, s1.output, s2.input, s2.output]) m.dispose();
  });

  it('signature-list constant fields work too; mismatches are named', () => {
    const input = filled([{ k: 0, parity: 0, channels: 3 }], (_k, _p, q) => q);
    const pred = filled([{ k: 0, parity: 0, channels: 1 }], () => 9);
    const r = autoregressiveStep(input, pred, null, 2, [{ k: 0, parity: 0, channels: 1 }]);
    expect(channelValues(r.input, 0, 0)).toEqual([1, 9, 2]);
    expect(() => autoregressiveStep(input, pred, null, 3, { '0,0': 1 })).toThrow(
      /input channels of key \(0,0\) must be prediction channels × pastSteps \+ constant fields = 1·3 \+ 1/,
    );
    expect(() => autoregressiveStep(input, pred, null, 2, { '0,0': 1 }, 2)).toThrow(/futureSteps must be 1/);
    for (const m of [input, pred, r.input, r.output]) m.dispose();
  });
});

/** Test model: (0,0) input [x_{t−1}, x_t, c] → x_t + c. */
class Drift extends Module {
  readonly config: ModuleConfig = { type: 'TestDrift' };
  readonly params: Params = {};
  apply(_params: Params, x: MultiImage): MultiImage {
    const out = add(slice(x.data, D + 1, 1, 1), slice(x.data, D + 1, 2, 1));
    return new MultiImage(out, [{ k: 0, parity: 0, channels: 1 }], D, x.isTorus);
  }
}

describe('autoregressiveMap', () => {
  it('rolls out futureSteps predictions, stacked channel-major, leaking nothing', () => {
    const x = filled([{ k: 0, parity: 0, channels: 3 }], (_k, _p, q) => [1, 2, 0.5][q]!, 2);
    const before = memory().tensors;
    const out = autoregressiveMap(new Drift(), {}, x, { pastSteps: 2, futureSteps: 4, constantFields: { '0,0': 1 } });
    expect(out.batch).toBe(2);
    const one = out.getOne(1);
    expect(channelValues(one, 0, 0)).toEqual([2.5, 3, 3.5, 4]);
    one.dispose();
    out.dispose();
    expect(memory().tensors).toBe(before);
    expect(x.data.disposed).toBe(false);
    x.dispose();
  });
});

/**
 * A baseline with batch norm: ConvContract ((0,0) 2 past steps + 1 constant → 1) then BatchNorm,
 * whose running statistics are moved far from their initial (0, 1) by training-mode calls.
 */
function batchNormModel() {
  const sig = [{ k: 0, parity: 0 as const, channels: 3 }];
  const out = [{ k: 0, parity: 0 as const, channels: 1 }];
  const model = new Sequential([new ConvContract({ D, input: sig, output: out, M: 3 }, random.key(3)), new BatchNorm({ D, input: out, momentum: 0.5 })]);
  const state = new State();
  for (let i = 0; i < 4; i++) {
    const xb = new MultiImage(tensor(random.normal(random.key(10 + i), 4 * 4 * 4 * 3, 3, 2), [4, 4, 4, 3]), sig, D);
    model.apply(model.params, xb, { training: true, state } as never).dispose();
    xb.dispose();
  }
  const x = new MultiImage(tensor(random.normal(random.key(20), 2 * 4 * 4 * 3), [2, 4, 4, 3]), sig, D);
  return { model, state, x };
}

describe('autoregressiveMap with batch-norm state', () => {
  it('equals a hand-threaded loop of model.apply(…, { state }) + autoregressiveStep, and differs from the stateless rollout', () => {
    const { model, state, x } = batchNormModel();
    const before = memory().tensors;
    const withState = autoregressiveMap(model, model.params, x, { pastSteps: 2, futureSteps: 3, constantFields: { '0,0': 1 }, state });
    // The loop written out by hand.
    let input = x;
    let output: MultiImage | null = null;
    for (let s = 0; s < 3; s++) {
      const pred = model.apply(model.params, input, { training: false, state } as never);
      const r = autoregressiveStep(input, pred, output, 2, { '0,0': 1 });
      pred.dispose();
      if (input !== x) input.dispose();
      output?.dispose();
      input = r.input;
      output = r.output;
    }
    input.dispose();
    expect(Array.from(values(withState.data))).toEqual(Array.from(values(output!.data)));
    const stateless = autoregressiveMap(model, model.params, x, { pastSteps: 2, futureSteps: 3, constantFields: { '0,0': 1 } });
    const a = values(withState.data);
    const b = values(stateless.data);
    // The running statistics moved the normalisation (inputs of mean 3, std 2): every step differs a lot.
    let maxDiff = 0;
    for (let i = 0; i < a.length; i++) maxDiff = Math.max(maxDiff, Math.abs(a[i]! - b[i]!));
    expect(maxDiff).toBeGreaterThan(0.1);
    for (const m of [withState, output!, stateless]) m.dispose();
    expect(memory().tensors).toBe(before);
    expect(() => autoregressiveMap(model, model.params, x, { pastSteps: 2, constantFields: { '0,0': 1 }, state: {} as State })).toThrow(
      /autoregressiveMap: state must be a State/,
    );
    state.dispose();
    x.dispose();
    model.dispose();
  });
});

export type { Tensor };
