/**
 * Chromium: checkpoints without a file system. A model round-trips through safetensors bytes; a
 * checkpoint FILE served by the test server loads by URL (relative and absolute) and runs with
 * identical outputs; saveCheckpoint in a page offers a download (an <a download> on a Blob URL)
 * whose Blob loads back; in a worker it refuses, pointing to serialize(); bad URLs say what is wrong.
 */
import { commands } from 'vitest/browser';
import { afterAll, describe, expect, it, vi } from 'vitest';
import * as gc from '../../dist/index.js';

const sig = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const unet = () => new gc.UNet({ D: 2, input: sig, output: sig, depth: 2, numDownsamples: 1, numConv: 1 }, gc.random.key(1));
const sample = () => new gc.MultiImage(gc.tensor(gc.random.uniform(gc.random.key(7), 2 * 8 * 8 * 3, -1, 1), [2, 8, 8, 3]), sig, 2);
async function outputOf(model: gc.Module, x: gc.MultiImage): Promise<number[]> {
  const y = model.call(x);
  const v = Array.from(await y.data.data());
  y.dispose();
  return v;
}
function base64(bytes: Uint8Array): string {
  let s = '';
  for (let i = 0; i < bytes.length; i += 0x8000) s += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  return btoa(s);
}
/** Written under the repository's .cache/ (git-ignored), served by the test server from the root. */
const FILE = `.cache/browser-checkpoint/unet-${Date.now()}.safetensors`;
afterAll(async () => {
  await commands.removeFile(FILE).catch(() => undefined);
});

describe('checkpoints in the browser', () => {
  it('serialize → deserialize rebuilds the model with identical outputs', async () => {
    await gc.init({ backend: 'wasm' });
    const data = gc.gradientTask(gc.random.key(0), { nTrain: 2, nVal: 1, nTest: 1, N: 8 });
    const model = new gc.UNet(
      { D: 2, input: data.train.x.signature, output: data.train.y.signature, depth: 2, numDownsamples: 1, numConv: 1 },
      gc.random.key(1),
    );
    const bytes = await gc.serialize(model, model.params);
    expect(bytes).toBeInstanceOf(Uint8Array);
    const buffer: ArrayBuffer = new Uint8Array(bytes).buffer; // a plain ArrayBuffer, as fetch() gives
    const restored = gc.deserialize(buffer);
    expect(restored.config).not.toBeNull();
    const rebuilt = gc.buildModule(restored.config!, null);
    const a = await model.call(data.test.x).data.data();
    const b = await rebuilt.apply(restored.params, data.test.x).data.data();
    expect(Array.from(b)).toEqual(Array.from(a));
    expect(() => gc.deserialize(buffer.slice(0, 20))).toThrow(/safetensors|truncated|header/i);
  });

  it('loadCheckpoint fetches a file served by the test server (relative and absolute URL) and runs it', async () => {
    await gc.init({ backend: 'wasm' });
    const model = unet();
    await commands.writeFile(FILE, base64(await gc.serialize(model)), 'base64');
    const x = sample();
    const want = await outputOf(model, x);
    const before = gc.memory();
    for (const source of [`/${FILE}`, new URL(`/${FILE}`, location.href), new URL(`/${FILE}`, location.href).href]) {
      const loaded = await gc.loadCheckpoint(source);
      expect(loaded.config).toEqual(model.config);
      expect(await outputOf(loaded.model, x)).toEqual(want);
      loaded.model.dispose();
      expect(gc.memory()).toEqual(before);
    }
    x.dispose();
    model.dispose();
  });

  it('a missing or foreign URL fails with a message naming it, leaking nothing', async () => {
    const before = gc.memory();
    await expect(gc.loadCheckpoint('/.cache/browser-checkpoint/absent.safetensors')).rejects.toThrow(
      /loadCheckpoint\("\/\.cache\/browser-checkpoint\/absent\.safetensors"\): (the server answered HTTP 404|.*HTML page)/,
    );
    await expect(gc.loadCheckpoint('/package.json')).rejects.toThrow(/loadCheckpoint\("\/package\.json"\): (corrupted header|truncated file)/);
    await expect(gc.loadCheckpoint(new Blob(['not a checkpoint']))).rejects.toThrow(/loadCheckpoint\(Blob of 16 bytes\): /);
    expect(gc.memory()).toEqual(before);
  });

  it('saveCheckpoint in a page offers a download whose Blob loads back (no dynamic-import error)', async () => {
    await gc.init({ backend: 'wasm' });
    const model = unet();
    const blobs: Blob[] = [];
    const created = vi.spyOn(URL, 'createObjectURL').mockImplementation((b) => {
      blobs.push(b as Blob);
      return 'blob:geoconv-test';
    });
    const clicks: HTMLAnchorElement[] = [];
    const click = vi.spyOn(HTMLAnchorElement.prototype, 'click').mockImplementation(function (this: HTMLAnchorElement) {
      clicks.push(this);
    });
    try {
      await gc.saveCheckpoint('models/unet.safetensors', model);
    } finally {
      created.mockRestore();
      click.mockRestore();
    }
    expect(clicks.length).toBe(1);
    expect(clicks[0]!.download).toBe('unet.safetensors');
    expect(clicks[0]!.href).toBe('blob:geoconv-test');
    expect(clicks[0]!.isConnected).toBe(false); // removed from the page again
    expect(blobs.length).toBe(1);
    const x = sample();
    const loaded = await gc.loadCheckpoint(blobs[0]!);
    expect(await outputOf(loaded.model, x)).toEqual(await outputOf(model, x));
    loaded.model.dispose();
    x.dispose();
    model.dispose();
  });

  it('saveCheckpoint in a worker (no page, no file system) says to use serialize()', async () => {
    const worker = new Worker(new URL('./checkpoint.worker.ts', import.meta.url), { type: 'module' });
    try {
      const reply = await new Promise<{ ok: boolean; message?: string }>((resolve, reject) => {
        worker.onmessage = (e) => resolve(e.data);
        worker.onerror = (e) => reject(new Error(`worker failed: ${e.message}`));
        worker.postMessage('go');
      });
      expect(reply.ok).toBe(false);
      expect(reply.message).toMatch(/saveCheckpoint\("model\.safetensors"\): there is no file system here .*use serialize\(model, params, extra\)/);
    } finally {
      worker.terminate();
    }
  });
});
