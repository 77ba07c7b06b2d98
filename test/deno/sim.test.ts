/**
 * Deno: the Navier–Stokes simulator of the BUILT bundle (dist/index.js; `npm run build` first)
 * agrees with Node's golden run (test/node/sim/golden.ts: the float64 state to 1e-12 relative; the
 * engines' Math.sin/cos/exp differ in the last bit), and its MultiImage conversion has the
 * documented layout.
 * Run: npx deno test --no-check --allow-read test/deno/sim.test.ts
 */
import * as gc from '../../dist/index.js';
import { goldenCompare, goldenRun } from '../node/sim/golden.ts';

Deno.test('simulateNavierStokes and NavierStokesSolver agree with Node (float64 state to 1e-12)', () => {
  const { failures, bitIdentical, identical, maxStateError } = goldenCompare(goldenRun(gc));
  console.log(
    `simulator bit-identical to Node: ${bitIdentical} (float32 outputs per case, float64 state: ${identical}); float64 state max relative difference ${maxStateError.toExponential(2)}`,
  );
  if (failures.length) throw new Error(failures.join('\n'));
});

Deno.test('navierStokesToMultiImage: (0,1) vorticity and (1,0) velocity, T channels each; forcing constant', async () => {
  const r = gc.simulateNavierStokes({ N: 16, trajectories: 2, steps: 3, saveEvery: 1 });
  const before = gc.memory();
  const { dynamic, constant } = gc.navierStokesToMultiImage(r);
  const sig = dynamic.signature.map((e: { k: number; parity: number; channels: number }) => `${e.k},${e.parity},${e.channels}`).join(' ');
  if (sig !== '0,1,3 1,0,3' || dynamic.batch !== 2) throw new Error(`signature ${sig}, batch ${dynamic.batch}`);
  const w = gc.tidy(() => dynamic.block(0, 1));
  const data = await w.data();
  if (!data.every((v: number, i: number) => v === r.vorticity[i])) throw new Error('vorticity block differs from result.vorticity');
  const f = await constant.data.data();
  if (!f.every((v: number, i: number) => v === r.forcing[i])) throw new Error('constant block differs from result.forcing');
  for (const t of [w, dynamic, constant]) t.dispose();
  const after = gc.memory();
  if (after.tensors !== before.tensors) throw new Error(`leak: ${before.tensors} -> ${after.tensors} tensors`);
});
