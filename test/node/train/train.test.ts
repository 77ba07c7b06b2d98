/**
 * The training loop: a ConvContract (scalar → scalar, M = 3) learns a teacher's filter (loss falls by
 * far more than 100×); steps leak nothing; validation, callbacks, progress output, resuming.
 */
import { describe, expect, it } from 'vitest';
import { memory, random, tensor, tidy } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { BatchNorm, Sequential, State } from '../../../src/nn/layers/index.js';
import type { Params } from '../../../src/nn/module.js';
import { smseLoss } from '../../../src/train/losses.js';
import { adam, sgd, disposeTree } from '../../../src/train/optim.js';
import { EpochStop, TrainLoss, ValLoss } from '../../../src/train/stopping.js';
import { evaluate, makeTrainStep, mapLossInBatches, mapPlusLossInBatches, train, type ProgressStream } from '../../../src/train/train.js';
import { leavesWithPaths } from '../../../src/train/tree.js';
import { allclose, values } from '../../util.js';

const D = 2;
const scalarSig = [{ k: 0, parity: 0 as const, channels: 1 }];
const make = (seed: number) => new ConvContract({ D, input: scalarSig, output: scalarSig, M: 3 }, random.key(seed));

/** x: random scalar images; y: a teacher ConvContract applied to them. */
function task(n: number, seed = 5) {
  const x = new MultiImage(tensor(random.normal(random.key(seed), n * 8 * 8), [n, 8, 8, 1]), scalarSig, D);
  const teacher = make(1);
  const y = teacher.call(x);
  teacher.dispose();
  return { x, y };
}

const read = (t: { dataSync(): Float32Array; dispose(): void }) => {
  const v = t.dataSync()[0]!;
  t.dispose();
  return v;
};

const flatParams = (p: Params) => leavesWithPaths(p).flatMap(([, t]) => Array.from(values(t)));

describe('train', () => {
  it('learns a known filter: the loss falls by more than 100×, and nothing leaks', async () => {
    const { x, y } = task(16);
    const student = make(2);
    const before = memory().tensors;
    const l0 = read(evaluate(student, student.params, x, y));
    const r = await train({ model: student, x, y, optimizer: adam({ learningRate: 0.05 }), batchSize: 4, key: random.key(3), stop: new EpochStop(30) });
    const l1 = read(evaluate(student, r.params, x, y));
    expect(l0 / l1).toBeGreaterThan(100);
    expect(r.epochs).toBe(30);
    expect(r.step).toBe(30 * 4);
    expect(r.history.trainLoss.length).toBe(30);
    expect(r.history.trainLoss[29]).toBeLessThan(r.history.trainLoss[0]! / 100);
    // the model's own parameters are untouched and alive
    expect(leavesWithPaths(student.params).every(([, t]) => !t.disposed)).toBe(true);
    disposeTree(r.params);
    disposeTree(r.optState);
    expect(memory().tensors).toBe(before);
    for (const m of [x, y, student]) m.dispose();
  });

  it('a training step inside tidy leaks nothing (old params and state disposed)', () => {
    const { x, y } = task(4);
    const model = make(2);
    const opt = adam({ learningRate: 0.01 });
    const step = makeTrainStep(model, opt);
    let params: Params = model.params;
    let state = opt.init(params);
    const counts: number[] = [];
    for (let i = 0; i < 4; i++) {
      const r = tidy(() => step(params, state, x, y));
      if (i > 0) disposeTree(params);
      disposeTree(state);
      r.loss.dispose();
      params = r.params;
      state = r.optState;
      counts.push(memory().tensors);
    }
    expect(new Set(counts).size).toBe(1);
    disposeTree(params);
    disposeTree(state);
    for (const m of [x, y, model]) m.dispose();
  });

  it('validation, ValLoss, callbacks and history', async () => {
    const { x, y } = task(12);
    const v = task(6, 9);
    const model = make(2);
    const before = memory().tensors;
    const batches: number[] = [];
    const epochs: number[] = [];
    const r = await train({
      model,
      x,
      y,
      valX: v.x,
      valY: v.y,
      optimizer: sgd({ learningRate: 0.02 }),
      batchSize: 4,
      key: random.key(4),
      stop: new ValLoss(0, 1e9), // no improvement can exceed minDelta after the first: stops at epoch 2
      onBatchEnd: (b) => void batches.push(b.loss),
      onEpochEnd: (e) => void epochs.push(e.epoch),
    });
    expect(r.epochs).toBe(2);
    expect(epochs).toEqual([1, 2]);
    expect(batches.length).toBe(2 * 3);
    expect(r.history.valLoss.every((l) => typeof l === 'number' && l > 0)).toBe(true);
    // best = after epoch 1: its validation loss matches mapLossInBatches on those params
    const vl = read(mapLossInBatches(model, r.params, v.x, v.y, { batchSize: 4, key: null }));
    expect(vl).toBeGreaterThan(0);
    disposeTree(r.params);
    disposeTree(r.optState);
    expect(memory().tensors).toBe(before);
    for (const m of [x, y, v.x, v.y, model]) m.dispose();
  });

  it('TrainLoss stops on a plateau (lr 0 never improves)', async () => {
    const { x, y } = task(8);
    const model = make(2);
    const r = await train({ model, x, y, optimizer: sgd({ learningRate: 0 }), batchSize: 8, key: random.key(4), stop: new TrainLoss(2) });
    expect(r.epochs).toBe(4); // epoch 1 sets the best; 2, 3, 4 do not improve
    disposeTree(r.params);
    disposeTree(r.optState);
    for (const m of [x, y, model]) m.dispose();
  });

  it('clear errors: ValLoss without validation data, bad batch size, x/y mismatch', async () => {
    const { x, y } = task(4);
    const model = make(2);
    const opt = sgd({ learningRate: 0.1 });
    await expect(train({ model, x, y, optimizer: opt, batchSize: 2, key: random.key(0), stop: new ValLoss() })).rejects.toThrow(
      /train: the stop condition \(ValLoss\) needs validation data: pass valX and valY/,
    );
    await expect(train({ model, x, y, optimizer: opt, batchSize: 5, key: random.key(0), stop: new EpochStop(1) })).rejects.toThrow(
      /batchSize must be an integer in \[1, 4\]/,
    );
    const y2 = y.getSubset([0, 1]);
    await expect(train({ model, x, y: y2, optimizer: opt, batchSize: 2, key: random.key(0), stop: new EpochStop(1) })).rejects.toThrow(
      /y\.batch must be the number of samples of x \(4\)/,
    );
    for (const m of [x, y, y2, model]) m.dispose();
  });

  it('an error thrown by a callback propagates and leaks nothing', async () => {
    const { x, y } = task(8);
    const model = make(2);
    const stop = new EpochStop(3);
    const before = memory().tensors;
    await expect(
      train({
        model,
        x,
        y,
        optimizer: adam({ learningRate: 0.01 }),
        batchSize: 2,
        key: random.key(1),
        stop,
        onBatchEnd: (b) => {
          if (b.step === 6) throw new Error('boom');
        },
      }),
    ).rejects.toThrow('boom');
    stop.dispose(); // the condition still owns its best copy
    expect(memory().tensors).toBe(before);
    for (const m of [x, y, model]) m.dispose();
  });

  it('resuming (params, optState, step, key) reproduces an uninterrupted run exactly', async () => {
    const { x, y } = task(8);
    const model = make(2);
    const opt = adam({ learningRate: 0.03 });
    const full = await train({ model, x, y, optimizer: opt, batchSize: 4, key: random.key(8), stop: new EpochStop(4) });
    const a = await train({ model, x, y, optimizer: opt, batchSize: 4, key: random.key(8), stop: new EpochStop(2) });
    const b = await train({
      model,
      params: a.params,
      optState: a.optState,
      step: a.step,
      x,
      y,
      optimizer: opt,
      batchSize: 4,
      key: a.key,
      stop: new EpochStop(2),
    });
    expect(b.step).toBe(full.step);
    expect(flatParams(b.params)).toEqual(flatParams(full.params));
    for (const r of [full, a, b]) {
      disposeTree(r.params);
      disposeTree(r.optState);
    }
    for (const m of [x, y, model]) m.dispose();
  });

  it('progress: one \\r-updated line on a TTY, a line per epoch otherwise', async () => {
    const { x, y } = task(8);
    const model = make(2);
    const capture = (isTTY: boolean) => {
      const chunks: string[] = [];
      const stream: ProgressStream = { write: (s: string) => chunks.push(s), isTTY, columns: 200 };
      return { stream, chunks };
    };
    const tty = capture(true);
    let r = await train({
      model,
      x,
      y,
      optimizer: sgd({ learningRate: 0.01 }),
      batchSize: 2,
      key: random.key(1),
      stop: new EpochStop(3),
      progress: tty.stream,
    });
    disposeTree(r.params);
    disposeTree(r.optState);
    const text = tty.chunks.join('');
    expect(text.endsWith('\n')).toBe(true);
    expect(text.split('\n').length).toBe(2); // one line, ended once
    expect(tty.chunks.every((c) => c === '\n' || c.startsWith('\r'))).toBe(true);
    expect(text).toMatch(/epoch 3\/3 · batch 4\/4 · loss \S+ · [\d.]+ img\/s · ETA \d+:\d\d/);

    const plain = capture(false);
    r = await train({ model, x, y, optimizer: sgd({ learningRate: 0.01 }), batchSize: 2, key: random.key(1), stop: new EpochStop(3), progress: plain.stream });
    disposeTree(r.params);
    disposeTree(r.optState);
    expect(plain.chunks.length).toBe(3);
    expect(plain.chunks.every((c) => /^epoch \d\/3 · batch 4\/4 · loss [-\d.e]+ · .* img\/s · ETA .*\n$/.test(c))).toBe(true);
    for (const m of [x, y, model]) m.dispose();
  });
});

describe('batch-norm state', () => {
  it('training updates the running statistics in `state`; evaluation reads them', async () => {
    const { x, y } = task(8);
    const model = new Sequential([make(2), new BatchNorm({ D, input: scalarSig })]);
    const state = new State();
    const r = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 4,
      key: random.key(2),
      stop: new EpochStop(2),
      state,
      valX: x,
      valY: y,
    });
    expect(state.size).toBe(1);
    const withState = read(evaluate(model, r.params, x, y, { state }));
    const initial = read(evaluate(model, r.params, x, y));
    expect(withState).not.toBe(initial);
    expect(r.history.valLoss[1]).toBeCloseTo(read(mapLossInBatches(model, r.params, x, y, { batchSize: 4, key: null, state })), 5);
    disposeTree(r.params);
    disposeTree(r.optState);
    state.dispose();
    for (const m of [x, y, model]) m.dispose();
  });
});

describe('mapLossInBatches / mapPlusLossInBatches / evaluate', () => {
  it('mean of the batch losses; outputs in batch order, remainder dropped', () => {
    const { x, y } = task(7);
    const model = make(2);
    const before = memory().tensors;
    const m = read(mapLossInBatches(model, model.params, x, y, { batchSize: 3, key: null }));
    const per = [
      [0, 1, 2],
      [3, 4, 5],
    ].map((idx) =>
      tidy(() => {
        const out = model.apply(model.params, x.getSubset(idx));
        return read(smseLoss(out, y.getSubset(idx)));
      }),
    );
    allclose([m], [(per[0]! + per[1]!) / 2], { rtol: 1e-12 });
    const plus = mapPlusLossInBatches(model, model.params, x, y, { batchSize: 3 });
    expect(plus.output.batch).toBe(6);
    const direct = tidy(() => model.apply(model.params, x.getSubset([0, 1, 2, 3, 4, 5])).data);
    allclose(values(plus.output.data), values(direct), { rtol: 1e-12 });
    allclose([read(plus.loss)], [m], { rtol: 1e-12 });
    plus.output.dispose();
    direct.dispose();
    const whole = read(evaluate(model, model.params, x, y));
    expect(whole).toBeGreaterThan(0);
    expect(memory().tensors).toBe(before);
    for (const mm of [x, y, model]) mm.dispose();
  });
});
