/** Chromium: the shared kernel-parity cases (test/shared/parity.ts) on the built bundle's wasm backend. */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import { gradientParity, runParity } from '../shared/parity.js';

describe('kernel parity in the browser', () => {
  it('every primitive and a gradient match ref', async () => {
    await gc.init({ backend: 'wasm' });
    const results = [...(await runParity(gc, 'wasm')), await gradientParity(gc, 'wasm')];
    const bad = results.filter((r) => !r.ok);
    expect(bad, bad.map((r) => `${r.name}: ${r.error} > ${r.tol}`).join('\n')).toEqual([]);
    expect(results.length).toBeGreaterThan(40);
  });

  it('webgpu (SwiftShader): every primitive and a gradient match ref', async () => {
    await gc.init({ backend: 'webgpu' });
    const results = [...(await runParity(gc, 'webgpu')), await gradientParity(gc, 'webgpu')];
    const bad = results.filter((r) => !r.ok);
    expect(bad, bad.map((r) => `${r.name}: ${r.error} > ${r.tol}`).join('\n')).toEqual([]);
  }, 120_000);

  it('wasm on 2 threads (module Workers over a shared memory; page is cross-origin isolated) equals 1 thread bit for bit', async () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    const layer = async (threads: number) => {
      await gc.init({ backend: 'wasm', threads });
      const be = gc.getBackend('wasm') as unknown as { threads: number; close(): void };
      const a = gc.convAttrs(2, 3, { padding: 1, torus: true });
      const out = gc.tidy(() => {
        const x = gc.tensor(gc.random.normal(gc.random.key(1), 2 * 32 * 24 * 16), [2, 32, 24, 16]);
        const w = gc.tensor(gc.random.normal(gc.random.key(2), 9 * 16 * 20), [9, 16, 20]);
        const y = gc.conv(x, w, a);
        return [y.dataSync(), gc.convInputGrad(y, w, a, x.shape).dataSync(), gc.convFilterGrad(x, y, a).dataSync()];
      });
      const used = be.threads;
      be.close();
      return { used, out };
    };
    const two = await layer(2);
    const one = await layer(1);
    expect(two.used).toBe(2);
    for (let k = 0; k < 3; k++) expect(two.out[k]!.every((v, i) => Object.is(v, one.out[k]![i]))).toBe(true);
  });
});
