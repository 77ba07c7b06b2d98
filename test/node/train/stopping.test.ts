/** Stopping conditions actually fire (ginjax's never did) and keep the best parameters alive. */
import { describe, expect, it } from 'vitest';
import { memory, tensor, type Tensor } from '../../../src/index.js';
import type { Params } from '../../../src/nn/module.js';
import { EpochStop, TrainLoss, ValLoss } from '../../../src/train/stopping.js';
import { disposeTree } from '../../../src/train/tree.js';
import { values } from '../../util.js';

const p = (v: number): Params => ({ w: tensor(Float64Array.from([v])) });

/** Feeds (trainLoss, valLoss) per epoch with params {w: epoch}; returns the epoch at which stop fired. */
function drive(cond: { stop: (e: number, t: number | null, v: number | null, p: Params) => boolean }, losses: [number, number | null][]): number {
  const p0 = p(0);
  const fired0 = cond.stop(0, null, null, p0);
  disposeTree(p0);
  if (fired0) return 0;
  for (let e = 1; e <= losses.length; e++) {
    const params = p(e);
    const fired = cond.stop(e, losses[e - 1]![0], losses[e - 1]![1], params);
    disposeTree(params); // the trainer drops its handles; the condition's copy must survive
    if (fired) return e;
  }
  return -1;
}

const bestW = (b: Params | null) => values((b as { w: Tensor }).w)[0];

describe('EpochStop', () => {
  it('stops at `epochs`, best = the latest params; verbose 1 logs every epochs/min(10, epochs) epochs', () => {
    const lines: string[] = [];
    const s = new EpochStop(20, 1, { log: (l) => lines.push(l) });
    expect(
      drive(
        s,
        Array.from({ length: 30 }, () => [1, null]),
      ),
    ).toBe(20);
    expect(bestW(s.best)).toBe(20);
    expect(lines.length).toBe(11); // epochs 0, 2, …, 20
    expect(lines[1]).toMatch(/^Epoch 2 Train: 1\.000000/);
    s.dispose();
    expect(new EpochStop(0).stop(0, null, null, {})).toBe(true);
  });
});

describe('TrainLoss', () => {
  it('fires after more than `patience` epochs without improvement (plateau)', () => {
    const before = memory().tensors;
    const s = new TrainLoss(2);
    expect(
      drive(s, [
        [5, null],
        [4, null],
        [4, null],
        [4, null],
        [4, null],
        [4, null],
      ]),
    ).toBe(5);
    expect(s.bestEpoch).toBe(2);
    expect(bestW(s.best)).toBe(2);
    s.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('minDelta: an improvement must exceed it', () => {
    const s = new TrainLoss(0, 0.1);
    expect(
      drive(s, [
        [1, null],
        [0.95, null],
        [0.5, null],
      ]),
    ).toBe(2);
    expect(bestW(s.best)).toBe(1);
    s.dispose();
  });

  it('patience 0 stops at the first non-improving epoch; NaN never improves', () => {
    const s = new TrainLoss(0);
    expect(
      drive(s, [
        [3, null],
        [2, null],
        [NaN, null],
      ]),
    ).toBe(3);
    s.dispose();
  });
});

describe('ValLoss', () => {
  it('watches the validation loss and keeps the best parameters alive', () => {
    const before = memory().tensors;
    const s = new ValLoss(1);
    expect(s.requiresValidation).toBe(true);
    expect(
      drive(s, [
        [9, 3],
        [8, 1],
        [7, 2],
        [6, 1.5],
        [5, 0.1],
      ]),
    ).toBe(4);
    expect(s.bestEpoch).toBe(2);
    const best = s.takeBest();
    expect(bestW(best)).toBe(2);
    expect(s.best).toBeNull();
    disposeTree(best);
    expect(memory().tensors).toBe(before);
  });

  it('raises when there is no validation loss', () => {
    const s = new ValLoss();
    expect(s.stop(0, null, null, {})).toBe(false);
    expect(() => s.stop(1, 1, null, {})).toThrow(/ValLoss: no validation loss was given \(pass valX and valY to train\)/);
  });

  it('validates its arguments', () => {
    expect(() => new ValLoss(-1)).toThrow(/patience must be an integer >= 0/);
    expect(() => new TrainLoss(0, -1)).toThrow(/minDelta must be a number >= 0/);
  });
});
