/**
 * The Worker helper: serveWorker / WorkerClient over a MessageChannel (the protocol, with the
 * source) and over a real Node worker_threads Worker (the built bundle): init, train with progress
 * events and a falling loss, abort, predict equal to the same model applied on this thread, clear
 * errors, no leaks on either side.
 */
import { Worker } from 'node:worker_threads';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, memory, random, serialize, checkpointFromBytes, ConvContract, MultiImage, tensor } from '../../../src/index.js';
import { fromWire, serveWorker, toWire, WorkerClient, type TrainProgress, type TrainRequest } from '../../../src/train/worker.js';

const sig = [{ k: 0, parity: 0 as const, channels: 1 }];
const make = (seed: number) => new ConvContract({ D: 2, input: sig, output: sig, M: 3 }, random.key(seed));

let request: Omit<TrainRequest, 'epochs'>;
let xImage: MultiImage;

beforeAll(async () => {
  await init({ backend: 'wasm' });
  xImage = new MultiImage(tensor(random.normal(random.key(5), 16 * 8 * 8), [16, 8, 8, 1]), sig, 2);
  const teacher = make(1);
  const y = teacher.call(xImage);
  const student = make(2);
  request = {
    checkpoint: await serialize(student),
    x: await toWire(xImage),
    y: await toWire(y),
    optimizer: { name: 'adam', learningRate: 0.05 },
    batchSize: 4,
    seed: 3,
  };
  [teacher, y, student].forEach((m) => m.dispose());
});
afterAll(() => xImage.dispose());

describe('serveWorker / WorkerClient over a MessageChannel', () => {
  it('trains with progress events, the loss falls, the reply is a loadable checkpoint, nothing leaks', async () => {
    const { port1, port2 } = new MessageChannel();
    const stop = await serveWorker({}, port1);
    const client = new WorkerClient(port2);
    const before = memory();
    const events: TrainProgress[] = [];
    const r = await client.call('train', { ...request, epochs: 6 }, { onProgress: (e: TrainProgress) => events.push(e) });
    expect(events.filter((e) => e.type === 'batch')).toHaveLength(6 * 4);
    expect(events.filter((e) => e.type === 'epoch').map((e) => e.epoch)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(r.history.trainLoss).toHaveLength(6);
    expect(r.history.trainLoss[5]!).toBeLessThan(r.history.trainLoss[0]! / 5);
    expect(memory()).toEqual(before); // same thread here: the handler freed all it made
    const loaded = checkpointFromBytes(r.checkpoint);
    expect(loaded.config.type).toBe('ConvContract');
    loaded.model.dispose();
    client.close();
    stop();
    port1.close();
  });

  it('predict equals the model applied here; unknown methods and bad requests fail clearly; abort rejects with AbortError', async () => {
    const { port1, port2 } = new MessageChannel();
    const stop = await serveWorker({}, port1);
    const client = new WorkerClient(port2);
    const model = make(7);
    const out = await client.call('predict', { checkpoint: await serialize(model), x: request.x });
    const got = fromWire(out);
    const want = model.call(xImage);
    expect(got.data.shape).toEqual(want.data.shape);
    const a = got.data.dataSync(),
      b = want.data.dataSync();
    for (let i = 0; i < a.length; i++) expect(a[i]).toBeCloseTo(b[i]!, 5);
    [got, want, model].forEach((m) => m.dispose());

    await expect(client.call('fly')).rejects.toThrow(/geoconv worker: no handler "fly" \(handlers: init, notices, train, predict\)/);
    await expect(client.call('train', { ...request, epochs: 1, optimizer: { name: 'lion', learningRate: 1 } as never })).rejects.toThrow(
      /optimizer.name must be "adam", "adamw" or "sgd" \(got "lion"\)/,
    );

    const before = memory();
    const controller = new AbortController();
    let batches = 0;
    const p = client.call(
      'train',
      { ...request, epochs: 1000, yieldEvery: 0 },
      {
        signal: controller.signal,
        onProgress: (e: TrainProgress) => {
          if (e.type === 'batch' && ++batches === 5) controller.abort();
        },
      },
    );
    const err = await p.then(
      () => null,
      (e: unknown) => e as Error,
    );
    expect(err?.name).toBe('AbortError');
    expect(batches).toBeLessThan(20);
    expect(memory()).toEqual(before);
    client.close();
    stop();
    port1.close();
  });
});

describe('a real Node worker_threads Worker (built bundle)', () => {
  it('inits wasm in the worker, trains off this thread while a timer here keeps ticking, and serves custom handlers', async () => {
    const worker = new Worker(new URL('./worker.fixture.mjs', import.meta.url));
    const client = new WorkerClient(worker);
    try {
      const started = await client.call('init', { backend: 'wasm' });
      expect(started.backend).toBe('wasm');
      const echoes: unknown[] = [];
      expect(await client.call('echo', [1, 'a'], { onProgress: (e: never) => echoes.push(e) })).toEqual({ echoed: [1, 'a'] });
      expect(echoes).toEqual([{ n: 1 }, { n: 2 }]);
      let ticks = 0;
      const timer = setInterval(() => ticks++, 5);
      const t0 = performance.now();
      const r = await client.call('train', { ...request, epochs: 20, yieldEvery: Infinity }); // blocks the WORKER, not us
      const ms = performance.now() - t0;
      clearInterval(timer);
      expect(r.backend).toBe('wasm');
      expect(r.history.trainLoss[19]!).toBeLessThan(r.history.trainLoss[0]! / 10);
      expect(ticks).toBeGreaterThanOrEqual(Math.floor(ms / 5 / 3));
    } finally {
      client.close();
      await worker.terminate();
    }
  });
});
