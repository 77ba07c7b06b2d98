/**
 * Deno: the shared kernel-parity cases (test/shared/parity.ts) on the built bundle's wasm backend.
 * Run: npx deno test --no-check --allow-read test/deno/
 */
import * as gc from '../../dist/index.js';
import { gradientParity, runParity } from '../shared/parity.ts';

Deno.test('wasm kernel parity against ref: every primitive and a gradient', async () => {
  await gc.init({ backend: 'wasm' });
  const results = [...(await runParity(gc, 'wasm')), await gradientParity(gc, 'wasm')];
  const bad = results.filter((r) => !r.ok);
  if (bad.length) throw new Error(bad.map((r) => `${r.name}: ${r.error} > ${r.tol}`).join('\n'));
  if (results.length < 40) throw new Error(`only ${results.length} parity cases ran`);
});

Deno.test('webgpu kernel parity against ref (navigator.gpu): every primitive and a gradient', async () => {
  await gc.init({ backend: 'webgpu' });
  const results = [...(await runParity(gc, 'webgpu')), await gradientParity(gc, 'webgpu')];
  const bad = results.filter((r) => !r.ok);
  if (bad.length) throw new Error(bad.map((r) => `${r.name}: ${r.error} > ${r.tol}`).join('\n'));
});
