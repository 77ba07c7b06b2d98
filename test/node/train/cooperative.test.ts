/**
 * train() cooperates with its thread: it yields to the event loop between batches (so timers fire
 * while it trains), an AbortSignal stops it within one batch and frees everything, and a run that
 * is never aborted gives exactly the parameters of the same run with yielding switched off.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { memory, random, setBackend, tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { adam, disposeTree } from '../../../src/train/optim.js';
import { EpochStop, TrainLoss } from '../../../src/train/stopping.js';
import { train, yieldToEventLoop, type BatchInfo } from '../../../src/train/train.js';
import { leavesWithPaths } from '../../../src/train/tree.js';

const D = 2;
const sig = [{ k: 0, parity: 0 as const, channels: 1 }];
const make = (seed: number) => new ConvContract({ D, input: sig, output: sig, M: 3 }, random.key(seed));

let x: MultiImage;
let y: MultiImage;

beforeAll(() => {
  setBackend('ref'); // chosen explicitly (no "ops before init" warning)
  x = new MultiImage(tensor(random.normal(random.key(5), 32 * 12 * 12), [32, 12, 12, 1]), sig, D);
  const teacher = make(1);
  y = teacher.call(x);
  teacher.dispose();
});
afterAll(() => {
  x.dispose();
  y.dispose();
});

/** Busy-waits `ms` inside a batch callback, so that one batch costs at least that long. */
const busy = (ms: number) => {
  const end = performance.now() + ms;
  while (performance.now() < end) {
    /* work */
  }
};

describe('train cooperates with the event loop', () => {
  it('a 10 ms timer keeps ticking while training runs (default yieldEvery)', async () => {
    const model = make(2);
    let ticks = 0;
    const t0 = performance.now();
    let last = t0;
    let maxGap = 0;
    const timer = setInterval(() => {
      ticks++;
      maxGap = Math.max(maxGap, performance.now() - last);
      last = performance.now();
    }, 10);
    const r = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 4,
      key: random.key(3),
      stop: new EpochStop(4),
      onBatchEnd: () => busy(6), // 32 batches × ≥ 6 ms ≥ 190 ms of blocking work
    });
    const elapsed = performance.now() - t0;
    clearInterval(timer);
    // a yield every ~20 ms of work (≥ 9 yields in ≥ 190 ms) lets a 10 ms interval fire at each one;
    // without yielding it would fire 0 times and the gap would be the whole run
    expect(elapsed).toBeGreaterThan(190);
    expect(ticks).toBeGreaterThanOrEqual(9);
    expect(maxGap).toBeLessThan(Math.max(150, elapsed / 4));
    disposeTree(r.params);
    disposeTree(r.optState);
    model.dispose();
  });

  it('yieldEvery: Infinity blocks the thread for the whole run (the timer never fires)', async () => {
    const model = make(2);
    let ticks = 0;
    const timer = setInterval(() => ticks++, 5);
    const r = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 8,
      key: random.key(3),
      stop: new EpochStop(2),
      onBatchEnd: () => busy(5),
      yieldEvery: Infinity,
    });
    clearInterval(timer);
    expect(ticks).toBe(0);
    disposeTree(r.params);
    disposeTree(r.optState);
    model.dispose();
  });

  it('yielding changes nothing numerically: yieldEvery 0 and Infinity give identical parameters', async () => {
    const run = async (yieldEvery: number) => {
      const model = make(2);
      const r = await train({ model, x, y, optimizer: adam({ learningRate: 0.01 }), batchSize: 4, key: random.key(3), stop: new EpochStop(2), yieldEvery });
      const flat = leavesWithPaths(r.params).flatMap(([, t]) => Array.from(t.dataSync()));
      disposeTree(r.params);
      disposeTree(r.optState);
      model.dispose();
      return flat;
    };
    const a = await run(0);
    const b = await run(Infinity);
    expect(a.length).toBeGreaterThan(0);
    expect(a).toEqual(b);
  });

  it('an abort from a timer stops training within one batch, rejects with the AbortError and leaks nothing', async () => {
    const model = make(2);
    const before = memory();
    const controller = new AbortController();
    const seen: BatchInfo[] = [];
    let abortedAtStep = -1;
    const stop = new TrainLoss(100);
    const p = train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 4,
      key: random.key(3),
      stop,
      onBatchEnd: (i) => {
        seen.push(i);
        busy(3);
        // in epoch 2 (so the stop condition holds a best copy), abort from a timer, as a button would
        if (i.epoch === 2 && i.batch === 3) {
          setTimeout(() => {
            abortedAtStep = seen.length;
            controller.abort();
          }, 1);
        }
      },
      yieldEvery: 0,
      signal: controller.signal,
    });
    const err = await p.then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBeInstanceOf(Error);
    expect((err as Error).name).toBe('AbortError');
    // The timer is set at the end of batch 8 + 3; each batch then busies 3 ms and yields, so the 1 ms
    // timer fires at the yield after that batch (a loaded machine) or after the next one — never before.
    expect(abortedAtStep).toBeGreaterThanOrEqual(8 + 3);
    expect(abortedAtStep).toBeLessThanOrEqual(8 + 4);
    // yieldEvery 0: the signal is seen at the yield right after the batch during which it fired
    expect(seen.length - abortedAtStep).toBeLessThanOrEqual(1);
    expect(stop.best).toBeNull(); // its copy was released too
    expect(memory()).toEqual(before);
    model.dispose();
  });

  it('abort(reason) rejects with that reason; an already-aborted signal starts nothing', async () => {
    const model = make(2);
    const before = memory();
    const controller = new AbortController();
    const reason = new Error('user pressed stop');
    let batches = 0;
    const err = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 4,
      key: random.key(3),
      stop: new EpochStop(5),
      onBatchEnd: () => {
        if (++batches === 3) controller.abort(reason);
      },
      signal: controller.signal,
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(err).toBe(reason);
    expect(batches).toBe(3); // checked right after the batch whose callback aborted
    expect(memory()).toEqual(before);

    let called = false;
    const err2 = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 4,
      key: random.key(3),
      stop: new EpochStop(5),
      onBatchEnd: () => {
        called = true;
      },
      signal: AbortSignal.abort(),
    }).then(
      () => null,
      (e: unknown) => e,
    );
    expect((err2 as Error).name).toBe('AbortError');
    expect(called).toBe(false);
    expect(memory()).toEqual(before);
    model.dispose();
  });

  it('progress callbacks still arrive in order with yielding on', async () => {
    const model = make(2);
    const events: string[] = [];
    const r = await train({
      model,
      x,
      y,
      optimizer: adam({ learningRate: 0.01 }),
      batchSize: 8,
      key: random.key(3),
      stop: new EpochStop(2),
      yieldEvery: 0,
      onBatchEnd: (i) => {
        events.push(`b${i.epoch}.${i.batch}`);
      },
      onEpochEnd: (i) => {
        events.push(`e${i.epoch}`);
      },
    });
    expect(events).toEqual(['b1.1', 'b1.2', 'b1.3', 'b1.4', 'e1', 'b2.1', 'b2.2', 'b2.3', 'b2.4', 'e2']);
    disposeTree(r.params);
    disposeTree(r.optState);
    model.dispose();
  });

  it('rejects bad yieldEvery and signal values with clear messages', async () => {
    const model = make(2);
    const base = { model, x, y, optimizer: adam({ learningRate: 0.01 }), batchSize: 4, key: random.key(3), stop: new EpochStop(1) };
    await expect(train({ ...base, yieldEvery: -1 })).rejects.toThrow(/train: yieldEvery must be a number of milliseconds >= 0.*got -1/);
    await expect(train({ ...base, yieldEvery: Number.NaN })).rejects.toThrow(/yieldEvery/);
    await expect(train({ ...base, signal: {} as AbortSignal })).rejects.toThrow(/train: signal must be an AbortSignal/);
    model.dispose();
  });

  it('yieldToEventLoop lets a due timer run before it resolves', async () => {
    let fired = false;
    setTimeout(() => {
      fired = true;
    }, 0);
    busy(5); // the timer is due now
    await yieldToEventLoop();
    expect(fired).toBe(true);
  });
});
