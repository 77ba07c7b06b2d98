/**
 * Deno: the simulation readers of the BUILT bundle (dist/index.js; `npm run build` first) read the
 * h5py / netCDF4 fixtures (HDF5 through h5wasm's Node build over Deno's node: compatibility, NetCDF-3
 * through netcdfjs) and round-trip a file written by geoconv's writer (path and bytes).
 * Run: npx deno test --no-check --allow-read --allow-write test/deno/data.test.ts
 */
// deno-lint-ignore-file no-explicit-any
import * as gc from '../../dist/index.js';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}

const FIXTURES = new URL('../../../shared/fixtures/', import.meta.url);
const summary = JSON.parse(await Deno.readTextFile(new URL('summary.json', FIXTURES))) as Record<string, { shape: number[]; sum: number; first: number[] }>;

Deno.test('fixtures: shapes, float64 sums and first values match summary.json (paths, file: URLs and bytes)', async () => {
  await gc.init({ backend: 'wasm' });
  for (const [key, want] of Object.entries(summary)) {
    const [file, v] = key.split(':');
    const url = new URL(file, FIXTURES);
    for (const src of [url.pathname, url, await Deno.readFile(url)] as any[]) {
      const f = await gc.openSimulationFile(src);
      try {
        assert(JSON.stringify(f.info(v).shape) === JSON.stringify(want.shape), `${key}: shape ${f.info(v).shape}`);
        const data = f.read(v, [], { float64: true });
        let s = 0;
        let a = 0;
        for (const x of data) {
          s += x;
          a += Math.abs(x);
        }
        assert(Math.abs(s - want.sum) <= 1e-12 * a + 1e-12, `${key}: sum ${s} vs ${want.sum}`);
        assert(
          Array.from(data.subarray(0, 4)).every((x, i) => x === want.first[i]),
          `${key}: first values ${data.subarray(0, 4)}`,
        );
      } finally {
        await f.close();
      }
    }
  }
});

Deno.test('readers: pdebench subset, shallow water (classic NetCDF-3 + NetCDF-4 orography), navier-stokes round trip', async () => {
  await gc.init({ backend: 'wasm' });
  const before = gc.memory().tensors;
  const cfd = await gc.readPdebenchCfd(new URL('pdebench-cfd-2d.h5', FIXTURES).pathname, { trajectories: [1, 3] });
  assert(cfd.dynamic.batch === 2 && cfd.dynamic.signature[0].channels === 42, `cfd signature ${JSON.stringify(cfd.dynamic.signature)}`);
  assert(cfd.stats!.velocity.mean === 0 && cfd.stats!.velocity.std > 0, 'velocity only scaled');
  cfd.dispose();
  const sw = await gc.readShallowWater(new URL('shallow-water-classic.nc', FIXTURES).pathname, { orography: new URL('orography.nc', FIXTURES).pathname });
  assert(sw.format === 'netcdf3' && sw.dynamic.spatial.join() === '16,8' && sw.dynamic.isTorus.join() === 'true,false', 'shallow water grid (lon, lat)');
  assert(sw.constant!.signature[0].channels === 1, 'orography constant field');
  sw.dispose();

  const [B, T, N] = [2, 3, 4];
  const size = B * T * N * N;
  const sim = {
    vorticity: Float32Array.from({ length: size }, (_, i) => Math.sin(i)),
    vx: Float32Array.from({ length: size }, (_, i) => Math.cos(i)),
    vy: Float32Array.from({ length: size }, (_, i) => i / size),
    shape: [B, T, N, N] as [number, number, number, number],
    t: Float64Array.from({ length: T }, (_, i) => i * 0.5),
    attrs: { nu: 0.001, seed: 3 },
  };
  const dir = await Deno.makeTempDir();
  try {
    const path = `${dir}/ns.h5`;
    await gc.writeNavierStokesHdf5(path, sim);
    const bytes = await gc.writeNavierStokesHdf5(undefined, sim);
    for (const src of [path, bytes!] as any[]) {
      const d = await gc.readNavierStokes(src, { normalize: false });
      const w = d.dynamic.block(0, 1);
      const got = await w.data();
      w.dispose();
      assert(
        got.every((x: number, i: number) => x === sim.vorticity[i]),
        'vorticity round trip',
      );
      assert(d.attrs.nu === 0.001 && d.attrs.seed === 3, `attrs ${JSON.stringify(d.attrs)}`);
      d.dispose();
    }
    const names = [...Deno.readDirSync(dir)].map((e) => e.name);
    assert(names.length === 1 && names[0] === 'ns.h5', `files left: ${names}`);
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
  assert(gc.memory().tensors === before, 'no tensor leaked');
  let msg = '';
  try {
    await gc.readPdebenchCfd(new URL('orography.nc', FIXTURES).pathname);
  } catch (e) {
    msg = (e as Error).message;
  }
  assert(/orography\.nc.*dataset "density".*not found/.test(msg), `error message: ${msg}`);
});
