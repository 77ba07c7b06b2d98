/** Chromium: the shared kernel-parity cases (test/shared/parity.ts) on the built bundle's wasm and webgpu backends. */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import { parityFailures, threadIdentityFailures } from '../shared/parity.js';

describe('kernel parity in the browser', () => {
  it('wasm: every primitive and a gradient match ref', async () => {
    expect(await parityFailures(gc, 'wasm')).toEqual([]);
  });

  it('webgpu (SwiftShader): every primitive and a gradient match ref', async () => {
    expect(await parityFailures(gc, 'webgpu')).toEqual([]);
  }, 120_000);

  it('wasm on 2 threads (module Workers over a shared memory; page is cross-origin isolated) equals 1 thread bit for bit', async () => {
    expect(globalThis.crossOriginIsolated).toBe(true);
    expect(await threadIdentityFailures(gc)).toEqual([]);
  });
});
