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

Deno.test('wasm on 2 threads (node:worker_threads over a shared memory) equals 1 thread bit for bit', async () => {
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
  if (two.used !== 2) throw new Error(`expected 2 threads, got ${two.used}`);
  for (let k = 0; k < 3; k++) {
    const a = one.out[k]!;
    const b = two.out[k]!;
    if (a.length !== b.length || !a.every((v, i) => Object.is(v, b[i]))) throw new Error(`output ${k} differs between 1 and 2 threads`);
  }
});
