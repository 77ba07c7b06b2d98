/**
 * Chromium: the Navier–Stokes simulator of the BUILT bundle agrees with Node's golden run
 * (test/node/sim/golden.ts: float64 state to 1e-12 relative; engines' Math.sin/cos/exp differ in the
 * last bit) and converts to a MultiImage with the documented layout.
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import { goldenCompare, goldenRun } from '../node/sim/golden.js';

describe('Navier–Stokes simulator in the browser', () => {
  it('agrees with Node: the float64 solver state to 1e-12 relative, the float32 outputs to a few ulps', () => {
    const { failures, bitIdentical, identical, maxStateError } = goldenCompare(goldenRun(gc));
    console.log(
      `simulator bit-identical to Node: ${bitIdentical} (float32 outputs per case, float64 state: ${identical}); float64 state max relative difference ${maxStateError.toExponential(2)}`,
    );
    expect(failures).toEqual([]);
  });

  it('navierStokesToMultiImage: (0,1) vorticity and (1,0) velocity with T channels each, forcing constant, no leak', async () => {
    const r = gc.simulateNavierStokes({ N: 16, trajectories: 2, steps: 3, saveEvery: 1 });
    const before = gc.memory();
    const { dynamic, constant } = gc.navierStokesToMultiImage(r);
    expect(dynamic.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 1, 3],
      [1, 0, 3],
    ]);
    expect(dynamic.batch).toBe(2);
    const w = gc.tidy(() => dynamic.block(0, 1));
    expect([...(await w.data())]).toEqual([...r.vorticity]);
    expect([...(await constant!.data.data())]).toEqual([...r.forcing!]);
    for (const t of [w, dynamic, constant!]) t.dispose();
    expect(gc.memory()).toEqual(before);
  });
});
