/**
 * rolloutLoss: per-step SMSE of autoregressive rollouts in batches (ginjax map_plus_loss_in_batches
 * with future steps + timestep_smse_loss), against an analytic error growth, against a per-sample
 * computation from the raw values, with batch-norm state, and with no leaks.
 */
import { describe, expect, it } from 'vitest';
import { add, addScalar, memory, random, tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { BatchNorm, Sequential, State } from '../../../src/nn/layers/index.js';
import { Module, type ModuleConfig, type Params } from '../../../src/nn/module.js';
import { slice } from '../../../src/ops/gather.js';
import { rolloutLoss } from '../../../src/eval/rollout.js';
import { autoregressiveMap } from '../../../src/train/autoregressive.js';
import { batchTimeSeries } from '../../../src/train/data.js';
import { values } from '../../util.js';

const D = 2;
const N = 4;
const P = N * N;

/** (0,0) input [x_{t−1}, x_t, c] → x_t + c + delta (delta = 0: the exact dynamics of `drifting`). */
class Drift extends Module {
  readonly config: ModuleConfig = { type: 'TestDrift' };
  readonly params: Params = {};
  constructor(readonly delta = 0) {
    super();
  }
  apply(_params: Params, x: MultiImage): MultiImage {
    const out = addScalar(add(slice(x.data, D + 1, 1, 1), slice(x.data, D + 1, 2, 1)), this.delta);
    return new MultiImage(out, [{ k: 0, parity: 0, channels: 1 }], D, x.isTorus);
  }
}

/** B trajectories of T steps, x_{t+1} = x_t + c per pixel (c a per-trajectory constant field). */
function drifting(B: number, T: number) {
  const x0 = random.normal(random.key(1), B * P);
  const c = random.normal(random.key(2), B * P);
  const dyn = new Float32Array(B * P * T);
  for (let b = 0; b < B; b++) for (let p = 0; p < P; p++) for (let t = 0; t < T; t++) dyn[(b * P + p) * T + t] = x0[b * P + p]! + t * c[b * P + p]!;
  const dynamic = new MultiImage(tensor(dyn, [B, N, N, T]), [{ k: 0, parity: 0, channels: T }], D);
  const constant = new MultiImage(tensor(c, [B, N, N, 1]), [{ k: 0, parity: 0, channels: 1 }], D);
  return { dynamic, constant };
}

describe('rolloutLoss', () => {
  it('per-step SMSE follows the analytic error growth (t·δ)² of a biased one-step model, 0 for the exact one', async () => {
    const { dynamic, constant } = drifting(3, 9);
    const steps = 4;
    const { x, y } = batchTimeSeries(dynamic, constant, { totalSteps: 9, pastSteps: 2, futureSteps: steps });
    expect(x.batch).toBe(3 * 4); // 9 − 4 − 1 windows per trajectory
    const before = memory().tensors;
    const exact = await rolloutLoss(new Drift(0), {}, x, y, { pastSteps: 2, steps, constantFields: { '0,0': 1 }, batchSize: 5 });
    // float32 sums of O(1) values: errors are rounding only
    exact.perStep.forEach((v) => expect(v).toBeLessThan(1e-10));
    const delta = 0.1;
    const biased = await rolloutLoss(new Drift(delta), {}, x, y, { pastSteps: 2, steps, constantFields: { '0,0': 1 }, batchSize: 5 });
    expect(biased.samples).toBe(12);
    // Error after t steps is t·δ at every pixel: SMSE = Σ_pixels (tδ)² / P = (tδ)².
    biased.perStep.forEach((v, i) => expect(v).toBeCloseTo(((i + 1) * delta) ** 2, 6));
    expect(biased.sum).toBeCloseTo(
      [1, 2, 3, 4].reduce((a, t) => a + (t * delta) ** 2, 0),
      6,
    );
    expect(memory().tensors).toBe(before);
    for (const m of [dynamic, constant, x, y]) m.dispose();
  });

  it('equals the per-sample SMSE computed from the raw values, for any batch size; dropRemainder averages batch means as ginjax', async () => {
    const sig = [
      { k: 0, parity: 0 as const, channels: 3 },
      { k: 1, parity: 0 as const, channels: 2 },
    ];
    const out = [
      { k: 0, parity: 0 as const, channels: 1 },
      { k: 1, parity: 0 as const, channels: 1 },
    ];
    const model = new ConvContract({ D, input: sig, output: out, M: 3 }, random.key(7));
    const n = 7,
      steps = 3;
    const W = 3 + 2 * D;
    const x = new MultiImage(tensor(random.normal(random.key(8), n * P * W), [n, N, N, W]), sig, D);
    const yW = steps * (1 + D);
    const y = new MultiImage(
      tensor(random.normal(random.key(9), n * P * yW), [n, N, N, yW]),
      [
        { k: 0, parity: 0, channels: steps },
        { k: 1, parity: 0, channels: steps },
      ],
      D,
    );
    const o = { pastSteps: 2, steps, constantFields: { '0,0': 1 } };
    // Reference: one rollout of everything, then per sample/step sums over the raw numbers.
    const pred = autoregressiveMap(model, model.params, x, { pastSteps: 2, futureSteps: steps, constantFields: { '0,0': 1 } });
    const pv = values(pred.data);
    const yv = values(y.data);
    const per: number[][] = Array.from({ length: n }, () => new Array(steps).fill(0));
    // packed columns: scalar steps 0..2, then vector (step t, component j) at 3 + 2t + j
    for (let b = 0; b < n; b++)
      for (let p = 0; p < P; p++)
        for (let t = 0; t < steps; t++) {
          const cols = [t, 3 + 2 * t, 3 + 2 * t + 1];
          for (const c of cols) per[b]![t]! += (pv[(b * P + p) * yW + c]! - yv[(b * P + p) * yW + c]!) ** 2 / P;
        }
    const mean = (rows: number[][]) => Array.from({ length: steps }, (_, t) => rows.reduce((a, r) => a + r[t]!, 0) / rows.length);
    const expected = mean(per);
    for (const batchSize of [1, 3, 7]) {
      const r = await rolloutLoss(model, model.params, x, y, { ...o, batchSize, keepPredictions: batchSize === 3 });
      r.perStep.forEach((v, t) => expect(Math.abs(v - expected[t]!)).toBeLessThan(1e-5 * expected[t]!));
      if (r.predictions) {
        expect(r.predictions.batch).toBe(n);
        expect(Array.from(values(r.predictions.data))).toEqual(Array.from(pv));
        r.predictions.dispose();
      }
    }
    const g = await rolloutLoss(model, model.params, x, y, { ...o, batchSize: 3, dropRemainder: true });
    expect(g.samples).toBe(6);
    const ginjax = mean([mean(per.slice(0, 3)), mean(per.slice(3, 6))]);
    g.perStep.forEach((v, t) => expect(Math.abs(v - ginjax[t]!)).toBeLessThan(1e-5 * ginjax[t]!));
    expect(Math.abs(g.perStep[0]! - expected[0]!)).toBeGreaterThan(1e-4 * expected[0]!); // sample 6 left out
    for (const m of [pred, x, y, model]) m.dispose();
  });

  it('uses the batch-norm state (different from the stateless loss), and names bad arguments', async () => {
    const sig = [{ k: 0, parity: 0 as const, channels: 2 }];
    const out = [{ k: 0, parity: 0 as const, channels: 1 }];
    const model = new Sequential([new ConvContract({ D, input: sig, output: out, M: 3 }, random.key(3)), new BatchNorm({ D, input: out, momentum: 0.3 })]);
    const state = new State();
    const xt = new MultiImage(tensor(random.normal(random.key(4), 8 * P * 2, 2, 3), [8, N, N, 2]), sig, D);
    model.apply(model.params, xt, { training: true, state } as never).dispose();
    const x = new MultiImage(tensor(random.normal(random.key(5), 4 * P * 2, 2, 3), [4, N, N, 2]), sig, D);
    const y = new MultiImage(tensor(random.normal(random.key(6), 4 * P * 2, 2, 3), [4, N, N, 2]), [{ k: 0, parity: 0, channels: 2 }], D);
    const before = memory().tensors;
    const withState = await rolloutLoss(model, model.params, x, y, { pastSteps: 2, steps: 2, state, batchSize: 2 });
    const without = await rolloutLoss(model, model.params, x, y, { pastSteps: 2, steps: 2, batchSize: 2 });
    // Reference with state, hand-built: autoregressiveMap over all 4 samples (batch-norm inference is per sample).
    const pred = autoregressiveMap(model, model.params, x, { pastSteps: 2, futureSteps: 2, state });
    const pv = values(pred.data),
      yv = values(y.data);
    const ref = [0, 1].map((t) => {
      let s = 0;
      for (let i = 0; i < 4 * P; i++) s += (pv[i * 2 + t]! - yv[i * 2 + t]!) ** 2;
      return s / P / 4;
    });
    pred.dispose();
    withState.perStep.forEach((v, t) => expect(Math.abs(v - ref[t]!)).toBeLessThan(1e-5 * ref[t]!));
    expect(Math.abs(withState.perStep[0]! - without.perStep[0]!)).toBeGreaterThan(0.05 * withState.perStep[0]!);
    expect(memory().tensors).toBe(before);

    const y2 = y.getSubset([0, 1]);
    await expect(rolloutLoss(model, model.params, x, y2, { pastSteps: 2, steps: 2 })).rejects.toThrow(/rolloutLoss: yFuture batch must be x's batch 4/);
    y2.dispose();
    await expect(rolloutLoss(model, model.params, x, y, { pastSteps: 2, steps: 3 })).rejects.toThrow(
      /rolloutLoss: yFuture channels of key \(0,0\) must be a multiple of steps = 3/,
    );
    await expect(rolloutLoss(model, model.params, x, y, { pastSteps: 2, steps: 1 })).rejects.toThrow(
      /rolloutLoss: yFuture signature must be the rollout's \{\(0,0\):1\} .*got "\{\(0,0\):2\}"/,
    );
    await expect(rolloutLoss(model, model.params, x, y, { pastSteps: 2, steps: 2, batchSize: 5 })).rejects.toThrow(/batchSize must be an integer in \[1, 4\]/);
    await expect(rolloutLoss(model, model.params, x, y, { pastSteps: 0, steps: 2 })).rejects.toThrow(/pastSteps must be an integer >= 1/);
    expect(memory().tensors).toBe(before); // failed calls leak nothing either
    state.dispose();
    for (const m of [model, x, y, xt]) m.dispose();
  });
});
