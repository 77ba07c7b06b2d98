/** The shared kernel-parity cases (also run by the Deno and browser suites) on wasm in Node. */
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { gradientParity, runParity } from '../shared/parity.js';

describe('wasm kernel parity against ref (shared with Deno and the browser)', () => {
  it('every primitive, both gradients', async () => {
    await lib.init({ backend: 'wasm' });
    const results = [...(await runParity(lib, 'wasm')), await gradientParity(lib, 'wasm')];
    const bad = results.filter((r) => !r.ok);
    expect(bad, bad.map((r) => `${r.name}: ${r.error} > ${r.tol}`).join('\n')).toEqual([]);
    expect(results.length).toBeGreaterThan(40);
  });
});
