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
});
