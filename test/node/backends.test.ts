import { describe, expect, it } from 'vitest';
import { getBackend, init, setBackend } from '../../src/index.js';

type Wasm = { variant: string; requestedThreads: number };

describe('init', () => {
  it('picks the wasm build, keeps a matching backend and replaces one that differs', async () => {
    await init({ backend: 'wasm', wasmVariant: 'simd' });
    const simd = getBackend('wasm');
    expect((simd as unknown as Wasm).variant).toBe('simd');
    await init({ backend: 'wasm' });
    expect(getBackend('wasm')).toBe(simd);
    await init({ backend: 'wasm', wasmVariant: 'relaxed' }); // vitest runs Node with relaxed SIMD enabled
    expect((getBackend('wasm') as unknown as Wasm).variant).toBe('relaxed');
    await init({ backend: 'wasm', threads: 2 });
    expect((getBackend('wasm') as unknown as Wasm).requestedThreads).toBe(2);
    setBackend('ref');
  });

  it('rejects bad options with clear messages', async () => {
    await expect(init({ backend: 'gpu' as never })).rejects.toThrow(/init: backend must be one of "auto", "wasm", "webgpu", "ref" \(got "gpu"\)/);
    await expect(init({ backend: 'wasm', threads: 0 })).rejects.toThrow(/init: threads must be an integer >= 1 \(got 0\)/);
  });
});
