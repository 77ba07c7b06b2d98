/** The shared kernel-parity cases (also run by the Deno and browser suites) on wasm in Node. */
import { describe, expect, it } from 'vitest';
import * as lib from '../../src/index.js';
import { parityFailures, threadIdentityFailures } from '../shared/parity.js';

describe('wasm kernel parity against ref (shared with Deno and the browser)', () => {
  it('every primitive and a gradient', async () => {
    expect(await parityFailures(lib, 'wasm')).toEqual([]);
  });

  it('2 threads equal 1 thread bit for bit (convolutions, large elementwise ops)', async () => {
    expect(await threadIdentityFailures(lib)).toEqual([]);
  });
});
