import { describe, expect, it } from 'vitest';
import {
  actionMap,
  memory,
  navierStokesToMultiImage,
  operators,
  random,
  readDataset,
  setBackend,
  simulateNavierStokes,
  writeNavierStokesHdf5,
} from '../../../src/index.js';

setBackend('ref');
const N = 16,
  size = N * N,
  trajectories = 6;
const opts = { N, trajectories, steps: 3, saveEvery: 2, key: random.key(11) };

describe("simulateNavierStokes({ forcingOrientation: 'random' })", () => {
  const fixed = simulateNavierStokes(opts);
  const oriented = simulateNavierStokes({ ...opts, forcingOrientation: 'random' });
  const elements = oriented.attrs.forcingElements as number[];

  it('gives trajectory i the base forcing transformed by its element g_i, as a pseudoscalar', () => {
    expect(elements).toHaveLength(trajectories);
    expect(new Set(elements).size).toBeGreaterThan(1);
    expect(oriented.forcing).toHaveLength(trajectories * size);
    elements.forEach((g, i) => {
      const { index, sign } = actionMap(operators(2)[g]!, [N, N], 0, 1);
      for (let p = 0; p < size; p++) expect(oriented.forcing![i * size + p]).toBe(Math.fround(sign[p]! * fixed.forcing![index[p]!]!));
    });
  });

  it("keeps each trajectory's initial condition: trajectory i equals a run with that forcing given as an array", () => {
    // (the returned forcing is float32; the solver ran on its float64 values: agreement to ~float32 rounding)
    for (const i of [0, trajectories - 1]) {
      const forcing = Float64Array.from(oriented.forcing!.subarray(i * size, (i + 1) * size));
      const single = simulateNavierStokes({ ...opts, forcing });
      const [a, b] = [oriented.vorticity, single.vorticity].map((v) => v.subarray(i * 3 * size, (i + 1) * 3 * size));
      const scale = Math.max(...Array.from(b!, Math.abs));
      for (let p = 0; p < a!.length; p++) expect(Math.abs(a![p]! - b![p]!)).toBeLessThan(1e-6 * scale);
      // and differs from the fixed-forcing run where g_i is not the identity
      if (elements[i] !== 0) expect(Math.max(...Array.from(a!, (v, p) => Math.abs(v - fixed.vorticity[i * 3 * size + p]!)))).toBeGreaterThan(1e-4 * scale);
    }
    // the initial frames do not depend on the forcing at all
    expect(Array.from(oriented.vorticity.subarray(0, size))).toEqual(Array.from(fixed.vorticity.subarray(0, size)));
  });

  it('travels as one forcing per trajectory through the MultiImage form and the HDF5 file', async () => {
    const before = memory().tensors;
    const { dynamic, constant } = navierStokesToMultiImage(oriented);
    expect(constant!.batch).toBe(trajectories);
    dynamic.dispose();
    constant!.dispose();
    const bytes = await writeNavierStokesHdf5(undefined, oriented);
    const read = await readDataset(bytes!, 'navier-stokes', { normalize: false });
    expect(read.constant!.batch).toBe(trajectories);
    const f = await read.constant!.data.data();
    expect(Array.from(f)).toEqual(Array.from(oriented.forcing!)); // one channel: packed [b, x, y, 1]
    read.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('refuses an unknown orientation mode', () => {
    expect(() => simulateNavierStokes({ ...opts, forcingOrientation: 'rotated' as 'fixed' })).toThrow(/forcingOrientation must be 'fixed' or 'random'/);
  });
});
