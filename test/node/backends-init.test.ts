/**
 * Honest initialisation: ops before init() run on ref with ONE loud warning; every downgrade is a
 * notice and one console.warn; 'auto' rejects a software WebGPU adapter before any device exists;
 * toBackend copies between backends; re-initialising wasm with other threads moves live tensors.
 * Each test imports a fresh copy of the library (vi.resetModules) so that its module state (the
 * chosen backend, notices, warnings already printed) starts empty.
 */
import { spawnSync } from 'node:child_process';
import { afterEach, describe, expect, it, vi } from 'vitest';

type Lib = typeof import('../../src/index.js');

async function fresh(): Promise<Lib> {
  vi.resetModules();
  return import('../../src/index.js');
}

afterEach(() => {
  vi.restoreAllMocks();
  vi.unstubAllGlobals();
});

const warnings = () => vi.spyOn(console, 'warn').mockImplementation(() => undefined);

describe('ops before init()', () => {
  it('run on ref and warn once, loudly, naming the fix; notices record it', async () => {
    const g = await fresh();
    const warn = warnings();
    const a = g.tensor([1, 2, 3]);
    const b = g.add(a, a);
    expect(b.backend.name).toBe('ref');
    expect(Array.from(b.dataSync())).toEqual([2, 4, 6]);
    expect(warn).toHaveBeenCalledTimes(1);
    expect(String(warn.mock.calls[0]![0])).toMatch(/^geoconv: no backend was chosen \(await init\(\) was not called\).*"ref".*await init\(\)/);
    expect(g.notices.some((n) => n.startsWith('no backend was chosen'))).toBe(true);
    g.tensor([4]).dispose();
    expect(warn).toHaveBeenCalledTimes(1); // once per process, not per op
    [a, b].forEach((t) => t.dispose());
  });

  it('choosing ref on purpose (setBackend or init) is silent', async () => {
    for (const choose of [(g: Lib) => g.setBackend('ref'), (g: Lib) => g.init({ backend: 'ref' })]) {
      const g = await fresh();
      const warn = warnings();
      await choose(g);
      g.tensor([1]).dispose();
      expect(warn).not.toHaveBeenCalled();
      expect(g.notices).toEqual([]);
      warn.mockRestore();
    }
  });

  it('after init() ops run on the chosen backend without a warning', async () => {
    const g = await fresh();
    const warn = warnings();
    expect(await g.init({ backend: 'wasm' })).toBe('wasm');
    const t = g.tensor([1, 2]);
    expect(t.backend.name).toBe('wasm');
    expect(warn).not.toHaveBeenCalled(); // vitest runs Node with relaxed SIMD, threads 1: no downgrade
    t.dispose();
  });
});

describe('downgrades: a notice each and ONE console warning', () => {
  it('threads without shared memory: 1 thread runs, the notice names COOP/COEP; a second init does not warn again', async () => {
    const g = await fresh();
    vi.stubGlobal('SharedArrayBuffer', undefined); // as in a page served without COOP/COEP
    const warn = warnings();
    await g.init({ backend: 'wasm', threads: 4 });
    const w = g.getBackend('wasm') as unknown as { threads: number };
    expect(w.threads).toBe(1);
    const notice = g.notices.find((n) => n.includes('4 threads were requested but 1 runs'));
    expect(notice).toMatch(/SharedArrayBuffer.*Cross-Origin-Opener-Policy: same-origin.*Cross-Origin-Embedder-Policy: require-corp/);
    expect(warn).toHaveBeenCalledTimes(1);
    await g.init({ backend: 'wasm', threads: 4 });
    await g.init({ backend: 'wasm', threads: 4, wasmVariant: 'simd' }); // restarts, same downgrade
    expect(warn).toHaveBeenCalledTimes(1);
    expect(g.notices.filter((n) => n === notice)).toHaveLength(1);
    g.setBackend('ref');
  });

  it('relaxed SIMD missing (Node 20 without the flag): notice and one warning that name the flag', () => {
    // A child Node WITHOUT --experimental-wasm-relaxed-simd, on the built bundle; init twice.
    const major = Number(process.versions.node.split('.')[0]);
    const script = `const g = await import(${JSON.stringify(new URL('../../dist/index.js', import.meta.url).href)});
      await g.init({ backend: 'wasm' }); await g.init({ backend: 'auto' });
      console.log(JSON.stringify({ variant: g.getBackend('wasm').variant, notices: g.notices }));`;
    const r = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
    expect(r.status, r.stderr).toBe(0);
    const out = JSON.parse(r.stdout.trim().split('\n').pop()!) as { variant: string; notices: string[] };
    const warned = r.stderr.split('\n').filter((l) => l.startsWith('geoconv: wasm: this engine lacks relaxed SIMD'));
    if (major < 22) {
      expect(out.variant).toBe('simd');
      expect(out.notices.filter((n) => n.includes('lacks relaxed SIMD'))).toHaveLength(1);
      expect(warned).toHaveLength(1);
      expect(warned[0]).toMatch(/--experimental-wasm-relaxed-simd/);
    } else {
      expect(out.variant).toBe('relaxed'); // Node >= 22 has relaxed SIMD: nothing to report
      expect(warned).toHaveLength(0);
    }
  });

  it("'auto' rejects a software adapter before any device exists, and says so once", async () => {
    const g = await fresh();
    const requestDevice = vi.fn(async () => {
      throw new Error('requestDevice must not be called for a rejected adapter');
    });
    const adapter = {
      info: { vendor: 'google', architecture: 'swiftshader', device: '', description: 'SwiftShader Device (Subzero)', isFallbackAdapter: false },
      features: new Set<string>(),
      limits: {},
      requestDevice,
    };
    const requestAdapter = vi.fn(async () => adapter);
    vi.stubGlobal('navigator', { gpu: { requestAdapter } });
    const warn = warnings();
    expect(await g.init()).toBe('wasm');
    expect(requestAdapter).toHaveBeenCalled();
    expect(requestDevice).not.toHaveBeenCalled();
    expect(() => g.getBackend('webgpu')).toThrow(/not initialised/);
    const notice = g.notices.find((n) => n.includes('software (CPU) implementation'));
    expect(notice).toMatch(/SwiftShader.*no device was created/);
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('software (CPU)'))).toHaveLength(1);
    expect(await g.init()).toBe('wasm');
    expect(warn.mock.calls.filter((c) => String(c[0]).includes('software (CPU)'))).toHaveLength(1);
    expect(requestDevice).not.toHaveBeenCalled();
    g.setBackend('ref');
  });

  it("'auto' with no adapter at all notes it without warning (a CPU-only machine is not a downgrade)", async () => {
    const g = await fresh();
    vi.stubGlobal('navigator', { gpu: { requestAdapter: async () => null } });
    const warn = warnings();
    expect(await g.init()).toBe('wasm');
    expect(g.notices.some((n) => /^auto: no WebGPU adapter \(webgpu: requestAdapter\(\) returned null/.test(n))).toBe(true);
    expect(warn).not.toHaveBeenCalled();
    g.setBackend('ref');
  });
});

describe('toBackend', () => {
  it('copies a tensor to another backend; mixing backends names toBackend in the error', async () => {
    const g = await fresh();
    await g.init({ backend: 'wasm' });
    const before = g.memory();
    const w = g.tensor([1, 2, 3]);
    const r = g.tensor([10, 20, 30], [3], g.getBackend('ref'));
    expect(() => g.add(w, r)).toThrow(/binary: inputs live on different backends \(wasm and ref\); copy one with `await toBackend\(tensor, "wasm"\)`/);
    const r2 = await g.toBackend(r, 'wasm');
    expect(r2.backend.name).toBe('wasm');
    expect(r2.shape).toEqual([3]);
    const s = g.add(w, r2);
    expect(Array.from(s.dataSync())).toEqual([11, 22, 33]);
    const back = await g.toBackend(s, g.getBackend('ref'));
    expect(back.backend.name).toBe('ref');
    expect(Array.from(back.dataSync())).toEqual([11, 22, 33]);
    [w, r, r2, s, back].forEach((t) => t.dispose());
    expect(g.memory()).toEqual(before);
  });

  it('rejects bad arguments clearly', async () => {
    const g = await fresh();
    g.setBackend('ref');
    const t = g.tensor([1]);
    await expect(g.toBackend(t, 'gpu' as never)).rejects.toThrow(/toBackend: backend must be "ref", "wasm", "webgpu" or a Backend \(got "gpu"\)/);
    await expect(g.toBackend(t, 'webgpu')).rejects.toThrow(
      /toBackend: the webgpu backend is not initialised; call await init\(\{ backend: "webgpu" \}\) first/,
    );
    await expect(g.toBackend([1] as never, 'ref')).rejects.toThrow(/toBackend: t must be a Tensor/);
    t.dispose();
    await expect(g.toBackend(t, 'ref')).rejects.toThrow(/toBackend: the tensor .* was disposed/);
  });
});

describe('re-initialising wasm with live tensors', () => {
  it('moves them to the new instance: same handles and values, ops work, nothing leaks', async () => {
    const g = await fresh();
    await g.init({ backend: 'wasm', threads: 1 });
    const old = g.getBackend('wasm');
    const model = new g.ConvContract({ D: 2, input: [{ k: 0, parity: 0, channels: 1 }], output: [{ k: 1, parity: 0, channels: 1 }], M: 3 }, g.random.key(1));
    const x = new g.MultiImage(g.tensor(g.random.normal(g.random.key(2), 2 * 8 * 8), [2, 8, 8, 1]), [{ k: 0, parity: 0, channels: 1 }], 2);
    const y0 = model.call(x);
    const expected = Array.from(y0.data.dataSync());
    const before = g.memory();

    await g.init({ backend: 'wasm', threads: 2 });
    const now = g.getBackend('wasm') as unknown as { threads: number };
    expect(now).not.toBe(old);
    expect(now.threads).toBe(2);
    expect(x.data.backend).toBe(now); // same Tensor object, storage moved
    expect(g.memory()).toEqual(before);
    expect(Array.from(y0.data.dataSync())).toEqual(expected);
    const y1 = model.call(x); // parameters and input now live on the new backend: no "(wasm and wasm)"
    const got = y1.data.dataSync();
    for (let i = 0; i < expected.length; i++) expect(got[i]).toBeCloseTo(expected[i]!, 5);
    expect(g.notices.some((n) => /^wasm: restarted .*live tensor storages moved to it/.test(n))).toBe(true);
    [y0, y1, x, model].forEach((m) => m.dispose());
    g.setBackend('ref');
  });
});
