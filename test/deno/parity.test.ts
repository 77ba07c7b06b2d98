/**
 * Deno: the shared kernel-parity cases (test/shared/parity.ts) on the built bundle's wasm and webgpu
 * (navigator.gpu) backends, and 2-thread wasm (node:worker_threads over a shared memory).
 * Run: npx deno test --no-check --allow-read test/deno/
 */
import * as gc from '../../dist/index.js';
import { releaseGpu } from './release-gpu.ts';
import { parityFailures, threadIdentityFailures } from '../shared/parity.ts';

const expectNone = (failures: string[]) => {
  if (failures.length) throw new Error(failures.join('\n'));
};

Deno.test('wasm kernel parity against ref: every primitive and a gradient', async () => {
  expectNone(await parityFailures(gc, 'wasm'));
});

Deno.test('webgpu kernel parity against ref (navigator.gpu): every primitive and a gradient', async () => {
  try {
    expectNone(await parityFailures(gc, 'webgpu'));
  } finally {
    await releaseGpu(gc);
  }
});

Deno.test('wasm on 2 threads equals 1 thread bit for bit', async () => {
  expectNone(await threadIdentityFailures(gc));
});
