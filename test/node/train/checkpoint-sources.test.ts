/**
 * Checkpoints from every kind of source, and models built without random initialisation:
 * buildModule(config, null) draws no random number (random.uniform is spied on) and gives zero
 * weights of the right shapes; loadCheckpoint reads a path, file: URLs, http URLs (a local
 * server), bytes, views, ArrayBuffers and Blobs; it allocates each parameter once (the backend's
 * alloc is spied on) and leaks nothing on any error path; errors name the source.
 */
import { once } from 'node:events';
import { createServer, type Server } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { pathToFileURL } from 'node:url';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import * as rnd from '../../../src/core/random.js';
import { getBackend } from '../../../src/backends/backend.js';
import { memory, tensor, type Tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { BatchNorm, Conv, Sequential, State, VectorNeuronNonlinear } from '../../../src/nn/layers/index.js';
import { DilResNet, ResNet, UNet } from '../../../src/nn/models.js';
import { initUniform, withoutInit, type Module } from '../../../src/nn/module.js';
import { buildModule } from '../../../src/nn/registry.js';
import { checkpointFromBytes, loadCheckpoint, saveCheckpoint } from '../../../src/io/index.js';
import { serialize, serializeSync } from '../../../src/io/safetensors.js';
import { leavesWithPaths } from '../../../src/train/tree.js';
import { allclose } from '../../util.js';
import { tempDirs } from '../support.js';

vi.mock('../../../src/core/random.js', async (importOriginal) => {
  const m = await importOriginal<typeof import('../../../src/core/random.js')>();
  return { ...m, uniform: vi.fn(m.uniform) };
});
const uniformCalls = () => vi.mocked(rnd.uniform).mock.calls.length;

const D = 2;
const scalarVec = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const io = { D, input: scalarVec, output: scalarVec };
/** One of every module that draws random weights, alone or nested. */
const models = (key: rnd.Key): [string, () => Module][] => [
  [
    'ConvContract',
    () =>
      new ConvContract(
        {
          D,
          input: scalarVec,
          output: [
            { k: 0, parity: 0, channels: 2 },
            { k: 1, parity: 0, channels: 1 },
          ],
          M: 3,
        },
        key,
      ),
  ],
  ['UNet', () => new UNet({ ...io, depth: 2, numDownsamples: 1, numConv: 1 }, key)],
  ['UNet (baseline, batch norm)', () => new UNet({ ...io, depth: 2, numDownsamples: 1, numConv: 1, equivariant: false, useBatchNorm: true }, key)],
  ['ResNet (group norm)', () => new ResNet({ ...io, depth: 2, numBlocks: 1, numConv: 1, useGroupNorm: true }, key)],
  ['DilResNet', () => new DilResNet({ ...io, depth: 1, numBlocks: 1 }, key)],
  ['Conv', () => new Conv({ D, inChannels: 2, outChannels: 3, kernel: 3 }, key)],
  ['VectorNeuronNonlinear', () => new VectorNeuronNonlinear({ D, input: scalarVec }, key)],
  [
    'Sequential (batch norm)',
    () => {
      const [k1, k2] = rnd.split(key, 2) as [rnd.Key, rnd.Key];
      return new Sequential([
        new ConvContract({ D, input: scalarVec, output: scalarVec, M: 3 }, k1),
        new BatchNorm({ D, input: scalarVec }),
        new ConvContract({ D, input: scalarVec, output: scalarVec, M: 3 }, k2),
      ]);
    },
  ],
];

const sample = (seed = 11, batch = 2, n = 8) => new MultiImage(tensor(rnd.uniform(rnd.key(seed), batch * n * n * 3, -1, 1), [batch, n, n, 3]), scalarVec, D);

function values(t: Tensor): number[] {
  return Array.from(t.dataSync());
}

/** The model's inference output on x (with batch-norm statistics when given), freed after reading. */
function outputOf(m: Module, x: MultiImage, state?: State): number[] {
  const y = m.call(x, { state } as never);
  const v = values(y.data);
  y.dispose();
  return v;
}

const tmp = tempDirs('ckpt-src');

describe('building without random initialisation', () => {
  it('buildModule(config, null) draws nothing, gives zeros where the keyed build draws, and the same names, shapes and config', () => {
    const before = memory();
    for (const [name, make] of models(rnd.key(3))) {
      vi.mocked(rnd.uniform).mockClear();
      const keyed = make();
      expect(uniformCalls(), `${name}: the keyed build draws (so the spy sees draws)`).toBeGreaterThan(0);
      const config = JSON.parse(JSON.stringify(keyed.config));
      vi.mocked(rnd.uniform).mockClear();
      const blank = buildModule(config, null);
      expect(uniformCalls(), `${name}: buildModule(config, null) must not draw`).toBe(0);
      expect(blank.config, name).toEqual(keyed.config);
      const a = leavesWithPaths(keyed.params);
      const b = leavesWithPaths(blank.params);
      expect(
        b.map(([p, t]) => [p, t.shape]),
        name,
      ).toEqual(a.map(([p, t]) => [p, t.shape]));
      let zeroed = 0;
      for (let i = 0; i < a.length; i++) {
        const va = values(a[i]![1]);
        const vb = values(b[i]![1]);
        // a drawn parameter is zeros; a deterministic one (norm scales, zero biases) is as usual
        if (vb.some((v, j) => v !== va[j])) {
          expect(
            vb.every((v) => v === 0),
            `${name}: ${a[i]![0]}`,
          ).toBe(true);
          zeroed++;
        }
      }
      expect(zeroed, `${name}: some parameter is random in the keyed build`).toBeGreaterThan(0);
      // a zero-initialised model still runs (buffers such as filter bases are built as usual)
      expect(
        blank.buffers().map((t) => values(t)),
        name,
      ).toEqual(keyed.buffers().map((t) => values(t)));
      keyed.dispose();
      blank.dispose();
    }
    expect(memory()).toEqual(before);
  });

  it('withoutInit covers direct constructors, nests, and restores random initialisation even after a throw', () => {
    vi.mocked(rnd.uniform).mockClear();
    const m = withoutInit(() => new UNet({ ...io, depth: 2, numDownsamples: 1, numConv: 1 }, rnd.key(1)));
    expect(uniformCalls()).toBe(0);
    expect(leavesWithPaths(m.params).every(([, t]) => values(t).every((v) => v === 0 || v === 1))).toBe(true);
    m.dispose();
    expect(() =>
      withoutInit(() => {
        throw new Error('inside');
      }),
    ).toThrow('inside');
    const inner = withoutInit(() => withoutInit(() => initUniform(rnd.key(1), [4], -1, 1)));
    expect(values(inner)).toEqual([0, 0, 0, 0]);
    const drawn = initUniform(rnd.key(1), [4], -1, 1);
    expect(values(drawn)).toEqual(Array.from(rnd.uniform(rnd.key(1), 4, -1, 1)));
    expect(uniformCalls()).toBeGreaterThan(0);
    inner.dispose();
    drawn.dispose();
  });

  it('buildModule refuses a bad key or config with a clear message', () => {
    const config = new Conv({ D, inChannels: 1, outChannels: 1, kernel: 3 }, rnd.key(0));
    expect(() => buildModule(config.config, [1, 2, 3] as never)).toThrow(/buildModule: key must be a random key .* or null/);
    expect(() => buildModule(config.config, undefined as never)).toThrow(/buildModule: key must be/);
    expect(() => buildModule({ type: 'Nope' }, null)).toThrow(/buildModule: config.type must be one of .*"Nope"/);
    config.dispose();
  });
});

describe('loadCheckpoint', () => {
  it('rebuilds every model class with identical outputs, no random draw, each parameter allocated once', async () => {
    for (const [name, make] of models(rnd.key(4))) {
      const model = make();
      const x = name === 'Conv' ? null : sample();
      let state: State | undefined;
      if (name.includes('batch norm')) {
        // running statistics that differ from the initial ones: one training step
        state = new State();
        const xs = sample(13);
        model.apply(model.params, xs, { training: true, state } as never).dispose();
        xs.dispose();
      }
      const bytes = serializeSync(model, model.params, state ? { state } : {});
      const before = memory();
      const backend = getBackend();
      // the high-water mark of live tensor bytes while loading (each allocation adds its size)
      let peak = before.bytes;
      const realAlloc = backend.alloc.bind(backend);
      const alloc = vi.spyOn(backend, 'alloc').mockImplementation((size: number) => {
        peak = Math.max(peak, memory().bytes + 4 * size);
        return realAlloc(size);
      });
      vi.mocked(rnd.uniform).mockClear();
      const loaded = await loadCheckpoint(bytes);
      expect(uniformCalls(), name).toBe(0);
      alloc.mockRestore();
      const stateSize = state ? [...state.named(model).values()].reduce((n, t) => n + t.size, 0) : 0;
      // at most params + fixed buffers + saved state are ever live: no second copy of the weights
      const oneCopy = loaded.model.parameterCount() + loaded.model.buffers().reduce((n, t) => n + t.size, 0) + stateSize;
      expect(memory().bytes - before.bytes, name).toBe(4 * oneCopy);
      expect(peak - before.bytes, name).toBeLessThanOrEqual(4 * oneCopy);
      expect(loaded.params).toBe(loaded.model.params);
      for (const [[p, t], [, u]] of leavesWithPaths(model.params).map((e, i) => [e, leavesWithPaths(loaded.params)[i]!] as const)) {
        expect(values(u), `${name}: ${p}`).toEqual(values(t));
      }
      // exact, except that ref keeps running statistics in float64 and the file holds float32
      if (x && state) allclose(outputOf(loaded.model, x, loaded.state), outputOf(model, x, state), { rtol: 1e-6, atol: 1e-7 });
      else if (x) expect(outputOf(loaded.model, x), name).toEqual(outputOf(model, x));
      loaded.model.dispose();
      loaded.state?.dispose();
      expect(memory(), name).toEqual(before);
      x?.dispose();
      model.dispose();
      state?.dispose();
    }
  });

  it('sub-modules of a loaded Sequential see the loaded parameters', async () => {
    const seq = models(rnd.key(8)).find(([n]) => n.startsWith('Sequential'))![1]();
    const loaded = await loadCheckpoint(serializeSync(seq));
    const x = sample(3);
    const first = (loaded.model as Sequential).submodules()[0]!;
    expect(outputOf(first, x)).toEqual(outputOf(seq.submodules()[0]!, x));
    loaded.model.dispose();
    seq.dispose();
    x.dispose();
  });

  describe('sources', () => {
    let model: ConvContract;
    let bytes: Uint8Array;
    let dir: string;
    let file: string;
    let server: Server;
    let base: string;
    beforeAll(async () => {
      model = new ConvContract({ D, input: scalarVec, output: scalarVec, M: 3 }, rnd.key(21));
      bytes = await serialize(model);
      dir = tmp();
      file = join(dir, 'model with space.safetensors');
      writeFileSync(file, bytes);
      server = createServer((req, res) => {
        if (req.url === '/model.safetensors') res.writeHead(200, { 'content-type': 'application/octet-stream' }).end(bytes);
        else if (req.url === '/page') res.writeHead(200, { 'content-type': 'text/html' }).end('<!doctype html><html><body>Not here</body></html>');
        else if (req.url === '/cut') {
          res.writeHead(200, { 'content-length': String(bytes.length) });
          res.write(bytes.subarray(0, 100), () => res.destroy());
        } else if (req.url === '/short') res.writeHead(200).end(bytes.subarray(0, bytes.length - 8));
        else res.writeHead(404, 'Not Found').end('missing');
      });
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
      const addr = server.address() as { port: number };
      base = `http://127.0.0.1:${addr.port}`;
    });
    afterAll(() => {
      model.dispose();
      server.close();
    });

    const check = async (source: Parameters<typeof loadCheckpoint>[0]) => {
      const before = memory();
      const loaded = await loadCheckpoint(source);
      const x = sample(5);
      expect(outputOf(loaded.model, x)).toEqual(outputOf(model, x));
      x.dispose();
      loaded.model.dispose();
      expect(memory()).toEqual(before);
    };

    it('a path, a file: URL (string and object), an http URL (string and object)', async () => {
      await check(file);
      await check(pathToFileURL(file).href);
      await check(pathToFileURL(file));
      await check(`${base}/model.safetensors`);
      await check(new URL('/model.safetensors', base));
    });

    it('bytes: Uint8Array, an unaligned view, an ArrayBuffer, a DataView, a Blob, a File', async () => {
      await check(bytes);
      const shifted = new Uint8Array(bytes.length + 3);
      shifted.set(bytes, 3);
      await check(shifted.subarray(3));
      await check(bytes.slice().buffer);
      await check(new DataView(bytes.slice().buffer));
      await check(new Blob([bytes.slice()]));
      await check(new File([bytes.slice()], 'model.safetensors'));
    });

    it('failures name the source and leak nothing', async () => {
      const before = memory();
      const fails = async (source: unknown, pattern: RegExp) => {
        await expect(loadCheckpoint(source as never)).rejects.toThrow(pattern);
        expect(memory()).toEqual(before);
      };
      await fails(join(dir, 'absent.safetensors'), /loadCheckpoint\(".*absent\.safetensors"\): cannot read the file \(ENOENT\)/);
      await fails(pathToFileURL(join(dir, 'absent.safetensors')), /loadCheckpoint\("file:.*absent\.safetensors"\): cannot read the file \(ENOENT\)/);
      await fails(`${base}/nothing`, /loadCheckpoint\("http:\/\/127\.0\.0\.1:\d+\/nothing"\): the server answered HTTP 404 Not Found/);
      await fails(`${base}/page`, /loadCheckpoint\(.*\/page"\): .*HTML page, content-type text\/html/);
      await fails(`${base}/cut`, /loadCheckpoint\(.*\/cut"\): the download failed part-way/);
      await fails(`${base}/short`, /loadCheckpoint\(.*\/short"\): truncated file/);
      await fails('http://127.0.0.1:1/x.safetensors', /loadCheckpoint\("http:\/\/127\.0\.0\.1:1\/x\.safetensors"\): cannot fetch the URL/);
      await fails(bytes.subarray(0, 5), /loadCheckpoint\(5 bytes\): truncated file/);
      await fails(new Blob([new TextEncoder().encode('PK\u0003\u0004 a zip file, not a checkpoint')]), /loadCheckpoint\(Blob of \d+ bytes\): corrupted header/);
      await fails(42, /loadCheckpoint\(number\): source must be a path, a URL, a Uint8Array, an ArrayBuffer or a Blob/);
      await fails('', /source must be a non-empty path or URL/);
      const w = tensor([1], [1]);
      const bare = serializeSync(model.config, { w } as never);
      w.dispose();
      await fails(bare, /unexpected tensor "w".*missing tensor|missing tensor.*unexpected tensor "w"/);
    });

    it('errors after the model is built (wrong shapes, bad module state) dispose it', async () => {
      const other = new ConvContract(
        {
          D,
          input: scalarVec,
          output: [
            { k: 0, parity: 0, channels: 2 },
            { k: 1, parity: 0, channels: 1 },
          ],
          M: 3,
        },
        rnd.key(2),
      );
      const wrong = serializeSync(model.config, other.params);
      other.dispose();
      const before = memory();
      await expect(loadCheckpoint(wrong)).rejects.toThrow(/loadCheckpoint\(\d+ bytes\): shape mismatch for "/);
      expect(memory()).toEqual(before);
      const bn = new BatchNorm({ D, input: scalarVec });
      const st = new State();
      const xs = sample(17);
      bn.apply(bn.params, xs, { training: true, state: st } as never).dispose();
      xs.dispose();
      const good = serializeSync(bn, bn.params, { state: st });
      // corrupt the module state's names (same length, so the header stays valid)
      const n = new DataView(good.buffer, good.byteOffset).getUint32(0, true);
      const header = new TextDecoder().decode(good.subarray(8, 8 + n));
      const edited = new TextEncoder().encode(header.replace('"state.mean"', '"state.meen"').replace('\\"mean\\"', '\\"meen\\"'));
      expect(edited.length).toBe(n);
      expect(new TextDecoder().decode(edited)).toContain('\\"meen\\"');
      const bad = good.slice();
      bad.set(edited, 8);
      const b2 = memory();
      expect(() => checkpointFromBytes(bad)).toThrow(/checkpointFromBytes: .*"meen" names no statistic/);
      expect(memory()).toEqual(b2);
      bn.dispose();
      st.dispose();
      expect(memory()).toEqual(before);
    });
  });
});

describe('saveCheckpoint', () => {
  it('writes the file in Node (then loadCheckpoint reads it back); refuses an empty path', async () => {
    const m = new Conv({ D, inChannels: 2, outChannels: 1, kernel: 3 }, rnd.key(9));
    const path = join(tmp(), 'c.safetensors');
    await saveCheckpoint(path, m);
    const l = await loadCheckpoint(path);
    expect(values(leavesWithPaths(l.params)[0]![1])).toEqual(values(leavesWithPaths(m.params)[0]![1]));
    l.model.dispose();
    await expect(saveCheckpoint('', m)).rejects.toThrow(/saveCheckpoint: path must be a non-empty string/);
    m.dispose();
  });
});
