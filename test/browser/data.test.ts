/// <reference types="vite/client" />
/**
 * Chromium: simulation files fetched from the test server — an h5py HDF5 file through h5wasm's ESM
 * build (in-memory file system) and a NetCDF-3 file through netcdfjs — read by the BUILT bundle,
 * checked against summary.json; a navier-stokes file written to bytes in memory and read back.
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import cfdUrl from '../../../shared/fixtures/pdebench-cfd-2d.h5?url';
import classicUrl from '../../../shared/fixtures/shallow-water-classic.nc?url';
import orogUrl from '../../../shared/fixtures/orography.nc?url';
import summaryUrl from '../../../shared/fixtures/summary.json?url';

const summary = async () => (await (await fetch(summaryUrl)).json()) as Record<string, { shape: number[]; sum: number; first: number[] }>;

function sums(a: Float64Array | Float32Array): [number, number] {
  let s = 0;
  let abs = 0;
  for (const x of a) {
    s += x;
    abs += Math.abs(x);
  }
  return [s, abs];
}

describe('simulation files in the browser', () => {
  it('HDF5 (h5wasm ESM) and NetCDF-3 (netcdfjs) fixtures fetched by URL match summary.json', async () => {
    const want = await summary();
    for (const [url, file] of [
      [cfdUrl, 'pdebench-cfd-2d.h5'],
      [classicUrl, 'shallow-water-classic.nc'],
    ] as const) {
      const f = await gc.openSimulationFile(url);
      try {
        expect(f.format).toBe(file.endsWith('.h5') ? 'hdf5' : 'netcdf3');
        for (const [key, w] of Object.entries(want)) {
          if (!key.startsWith(`${file}:`)) continue;
          const v = key.slice(file.length + 1);
          expect(f.info(v).shape, key).toEqual(w.shape);
          const data = f.read(v, [], { float64: true });
          const [s, abs] = sums(data);
          expect(Math.abs(s - w.sum), key).toBeLessThanOrEqual(1e-12 * abs + 1e-12);
          expect(Array.from(data.subarray(0, 4)), key).toEqual(w.first);
        }
      } finally {
        await f.close();
      }
    }
  });

  it('readers on fetched files and bytes; a navier-stokes file written in memory reads back', async () => {
    await gc.init({ backend: 'wasm' });
    const before = gc.memory().tensors;
    const cfd = await gc.readPdebenchCfd(cfdUrl, { trajectories: [2, 4] });
    expect(cfd.dynamic.batch).toBe(2);
    expect(cfd.dynamic.signature).toEqual([
      { k: 0, parity: 0, channels: 42 },
      { k: 1, parity: 0, channels: 21 },
    ]);
    cfd.dispose();
    const bytes = new Uint8Array(await (await fetch(classicUrl)).arrayBuffer());
    const sw = await gc.readShallowWater(new Blob([bytes]), { orography: orogUrl, name: 'classic.nc' });
    expect(sw.file).toBe('classic.nc');
    expect(sw.dynamic.spatial).toEqual([16, 8]);
    expect(sw.constant!.signature).toEqual([{ k: 0, parity: 0, channels: 1 }]);
    sw.dispose();
    const [B, T, N] = [2, 3, 4];
    const size = B * T * N * N;
    const sim = {
      vorticity: Float32Array.from({ length: size }, (_, i) => Math.sin(i)),
      vx: Float32Array.from({ length: size }, (_, i) => Math.cos(i)),
      vy: Float32Array.from({ length: size }, (_, i) => i / size),
      shape: [B, T, N, N] as [number, number, number, number],
      t: Float64Array.from({ length: T }, (_, i) => i),
      attrs: { nu: 0.01 },
    };
    const out = await gc.writeNavierStokesHdf5(undefined, sim);
    expect(out).toBeInstanceOf(Uint8Array);
    await expect(gc.writeNavierStokesHdf5('x.h5', sim)).rejects.toThrow(/writing to a path needs Node or Deno/);
    const ns = await gc.readNavierStokes(out!, { normalize: false });
    const w = ns.dynamic.block(0, 1);
    expect(Array.from(await w.data())).toEqual(Array.from(sim.vorticity));
    w.dispose();
    ns.dispose();
    expect(gc.memory().tensors).toBe(before);
    await expect(gc.readPdebenchCfd(orogUrl)).rejects.toThrow(/dataset "density".*not found/);
  });
});
