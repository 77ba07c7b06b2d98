/**
 * Simulation readers → time-series MultiImages: every element against the raw datasets (read by
 * the file layer and placed by hand: channel = field·T + t, x = lon for shallow water), trajectory
 * subsets, normalisation statistics against a float64 oracle (velocity only scaled), round trips of
 * files geoconv writes (navier-stokes layout; a pdebench layout with a chunked gzip dataset), the
 * generic spec (axis orders, constant fields), and the hand-off to batchTimeSeries.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, memory } from '../../../src/index.js';
import { writeHdf5 } from '../../../src/data/hdf5.js';
import { openSimulationFile } from '../../../src/data/netcdf.js';
import {
  readDataset,
  readNavierStokes,
  readPdebenchCfd,
  readShallowWater,
  readSimulation,
  unnormalize,
  validateSpec,
  writeNavierStokesHdf5,
  type SimulationData,
  type SimulationSpec,
} from '../../../src/data/readers.js';
import { batchTimeSeries } from '../../../src/train/data.js';
import { fixture } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'geoconv-readers-'));
beforeAll(async () => {
  await init({ backend: 'ref' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function raw(path: string, name: string): Promise<Float64Array> {
  const f = await openSimulationFile(path);
  try {
    return f.read(name, [], { float64: true }) as Float64Array;
  } finally {
    await f.close();
  }
}

/** Values of a MultiImage key block in ginjax layout [B, C, X, Y, (D)] as a flat Float32Array. */
function block(m: SimulationData['dynamic'], k: number, parity: number): { v: Float32Array; shape: number[] } {
  const t = m.block(k, parity);
  const out = { v: t.dataSync(), shape: [...t.shape] };
  t.dispose();
  return out;
}

/** Oracle statistics in float64. */
function meanStd(arrays: ArrayLike<number>[]): { mean: number; std: number } {
  let n = 0;
  let s = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++, n++) s += a[i]!;
  const mean = s / n;
  let v = 0;
  for (const a of arrays) for (let i = 0; i < a.length; i++) v += (a[i]! - mean) ** 2;
  return { mean, std: Math.sqrt(v / n) };
}

describe('readPdebenchCfd on the h5py fixture', () => {
  const path = fixture('pdebench-cfd-2d.h5');
  const [B, T, X, Y] = [4, 21, 16, 16];

  it('without normalisation: density then pressure as scalars (2·T channels), (Vx, Vy) as the vector, every element in place', async () => {
    const before = memory().tensors;
    const d = await readPdebenchCfd(path, { normalize: false });
    try {
      expect(d.dynamic.signature).toEqual([
        { k: 0, parity: 0, channels: 2 * T },
        { k: 1, parity: 0, channels: T },
      ]);
      expect(d.dynamic.spatial).toEqual([X, Y]);
      expect(d.dynamic.batch).toBe(B);
      expect(d.dynamic.isTorus).toEqual([true, true]);
      expect(d.totalSteps).toBe(T);
      expect(d.constant).toBeNull();
      expect(d.stats).toBeNull();
      expect(d.fileTrajectories).toBe(B);
      expect(d.fields.map((f) => [f.name, f.k, f.index])).toEqual([
        ['density', 0, 0],
        ['pressure', 0, 1],
        ['velocity', 1, 0],
      ]);
      expect(d.coords.t!.length).toBe(22);
      expect(d.coords.x!.length).toBe(X);
      expect(Object.keys(d.attrs).sort()).toEqual(['M', 'eta', 'zeta']);
      const [rho, p, vx, vy] = (await Promise.all(['density', 'pressure', 'Vx', 'Vy'].map((n) => raw(path, n)))) as [
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
      ];
      const s = block(d.dynamic, 0, 0);
      const v = block(d.dynamic, 1, 0);
      expect(s.shape).toEqual([B, 2 * T, X, Y]);
      expect(v.shape).toEqual([B, T, X, Y, 2]);
      for (let b = 0; b < B; b++) {
        for (let t = 0; t < T; t++) {
          for (let i = 0; i < X * Y; i++) {
            const src = (b * T + t) * X * Y + i;
            expect(s.v[(b * 2 * T + t) * X * Y + i]).toBe(rho[src]);
            expect(s.v[(b * 2 * T + T + t) * X * Y + i]).toBe(p[src]);
            expect(v.v[((b * T + t) * X * Y + i) * 2]).toBe(vx[src]);
            expect(v.v[((b * T + t) * X * Y + i) * 2 + 1]).toBe(vy[src]);
          }
        }
      }
    } finally {
      d.dispose();
    }
    expect(memory().tensors).toBe(before);
  });

  it('a trajectory subset is exactly those trajectories of the whole read ([1, 3), and the first n)', async () => {
    const all = await readPdebenchCfd(path, { normalize: false });
    const sub = await readPdebenchCfd(path, { trajectories: [1, 3], normalize: false });
    const first = await readPdebenchCfd(path, { trajectories: 1, normalize: false });
    try {
      expect(sub.dynamic.batch).toBe(2);
      expect(sub.trajectories).toEqual([1, 3]);
      const per = all.dynamic.data.size / B;
      const a = all.dynamic.data.dataSync();
      expect(Array.from(sub.dynamic.data.dataSync())).toEqual(Array.from(a.subarray(per, 3 * per)));
      expect(Array.from(first.dynamic.data.dataSync())).toEqual(Array.from(a.subarray(0, per)));
    } finally {
      all.dispose();
      sub.dispose();
      first.dispose();
    }
  });

  it('a time window [5, 9) keeps T = 4 steps per field, channel-major', async () => {
    const all = await readPdebenchCfd(path, { normalize: false });
    const w = await readPdebenchCfd(path, { time: [5, 9], normalize: false });
    try {
      expect(w.totalSteps).toBe(4);
      const a = block(all.dynamic, 0, 0);
      const b = block(w.dynamic, 0, 0);
      const P = X * Y;
      for (let bb = 0; bb < B; bb++)
        for (let f = 0; f < 2; f++)
          for (let t = 0; t < 4; t++) {
            const got = b.v.subarray((bb * 8 + f * 4 + t) * P, (bb * 8 + f * 4 + t + 1) * P);
            const want = a.v.subarray((bb * 2 * T + f * T + 5 + t) * P, (bb * 2 * T + f * T + 6 + t) * P);
            expect(Array.from(got)).toEqual(Array.from(want));
          }
    } finally {
      all.dispose();
      w.dispose();
    }
  });

  it('normalisation as cfd_2d: density/pressure standardised on the fit trajectories, velocity divided by the std of both components (no shift)', async () => {
    const fitB = 3;
    const d = await readPdebenchCfd(path, { fitTrajectories: fitB });
    const plain = await readPdebenchCfd(path, { normalize: false });
    try {
      const per = T * X * Y;
      const [rho, p, vx, vy] = (await Promise.all(['density', 'pressure', 'Vx', 'Vy'].map((n) => raw(path, n)))) as [
        Float64Array,
        Float64Array,
        Float64Array,
        Float64Array,
      ];
      const fit = (a: Float64Array) => a.subarray(0, fitB * per);
      const oRho = meanStd([fit(rho)]);
      const oP = meanStd([fit(p)]);
      const oV = meanStd([fit(vx), fit(vy)]); // jnp.std of the stacked (…, 2) velocity
      const st = d.stats!;
      expect(st.density!.mode).toBe('standardize');
      expect(st.density!.mean).toBeCloseTo(oRho.mean, 12);
      expect(st.density!.std).toBeCloseTo(oRho.std, 12);
      expect(st.pressure!.mean).toBeCloseTo(oP.mean, 10);
      expect(st.pressure!.std).toBeCloseTo(oP.std, 12);
      expect(st.velocity).toEqual({ mode: 'scale', mean: 0, std: expect.closeTo(oV.std, 12) });
      // values: (x − mean)/std and v/std, elementwise, to float32 rounding
      const got = d.dynamic.data.dataSync();
      const base = plain.dynamic.data.dataSync();
      const W = d.dynamic.width;
      for (let i = 0; i < got.length; i++) {
        const col = i % W;
        const want = col < 2 * T ? (base[i]! - (col < T ? oRho.mean : oP.mean)) / (col < T ? oRho.std : oP.std) : base[i]! / oV.std;
        expect(Math.abs(got[i]! - want)).toBeLessThanOrEqual(2e-6 * Math.max(1, Math.abs(want)));
      }
      // un-normalising recovers the raw values
      const back = unnormalize(
        got.filter((_, i) => i % W >= 2 * T),
        st.velocity!,
      );
      const rawV = base.filter((_, i) => i % W >= 2 * T);
      for (let i = 0; i < back.length; i += 97) expect(back[i]).toBeCloseTo(rawV[i]!, 5);
    } finally {
      d.dispose();
      plain.dispose();
    }
  });

  it('statistics fitted on train+val apply unchanged to the test trajectories', async () => {
    const trainVal = await readPdebenchCfd(path, { trajectories: 3 });
    const test = await readPdebenchCfd(path, { trajectories: [3, 4], stats: trainVal.stats! });
    const whole = await readPdebenchCfd(path, { fitTrajectories: 3 });
    try {
      expect(test.stats).toEqual(trainVal.stats);
      const per = whole.dynamic.data.size / 4;
      expect(Array.from(test.dynamic.data.dataSync())).toEqual(Array.from(whole.dynamic.data.dataSync().subarray(3 * per)));
      await expect(readPdebenchCfd(path, { stats: { density: trainVal.stats!.density! } })).rejects.toThrow(
        /options\.stats\.pressure must be \{ mode: "standardize"/,
      );
    } finally {
      trainVal.dispose();
      test.dispose();
      whole.dispose();
    }
  });

  it('hands off to batchTimeSeries: 4 past steps → cfd_2d input signature {(0,0): 8, (1,0): 4}', async () => {
    const d = await readDataset(path, 'pdebench-cfd', { trajectories: 2 });
    const { x, y } = batchTimeSeries(d.dynamic, d.constant, { totalSteps: d.totalSteps, pastSteps: 4, futureSteps: 1 });
    try {
      expect(x.signature).toEqual([
        { k: 0, parity: 0, channels: 8 },
        { k: 1, parity: 0, channels: 4 },
      ]);
      expect(y.signature).toEqual([
        { k: 0, parity: 0, channels: 2 },
        { k: 1, parity: 0, channels: 1 },
      ]);
      expect(x.batch).toBe(2 * (21 - 4));
    } finally {
      x.dispose();
      y.dispose();
      d.dispose();
    }
  });
});

describe('readShallowWater (ginjax axis convention: x = lon, y = lat)', () => {
  for (const file of ['shallow-water.nc', 'shallow-water-classic.nc']) {
    it(`${file}: pres (b,t,lat,lon) and u, v (b,t,lev,lat,lon) → [B, lon, lat] images, isTorus [true, false]`, async () => {
      const path = fixture(file);
      const d = await readShallowWater(path, { normalize: false, orography: fixture('orography.nc'), vorticity: true });
      try {
        const [B, T, NLAT, NLON] = [2, 4, 8, 16];
        expect(d.dynamic.spatial).toEqual([NLON, NLAT]);
        expect(d.dynamic.isTorus).toEqual([true, false]);
        expect(d.dynamic.signature).toEqual([
          { k: 0, parity: 0, channels: T },
          { k: 0, parity: 1, channels: T },
          { k: 1, parity: 0, channels: T },
        ]);
        const [pres, u, v, vor, orog] = await Promise.all([
          raw(path, 'pres'),
          raw(path, 'u'),
          raw(path, 'v'),
          raw(path, 'vor'),
          raw(fixture('orography.nc'), 'orog'),
        ]);
        const s = block(d.dynamic, 0, 0);
        const ps = block(d.dynamic, 0, 1);
        const vel = block(d.dynamic, 1, 0);
        for (let b = 0; b < B; b++)
          for (let t = 0; t < T; t++)
            for (let x = 0; x < NLON; x++)
              for (let y = 0; y < NLAT; y++) {
                const src = ((b * T + t) * NLAT + y) * NLON + x; // lev = 1 collapses
                const dst = ((b * T + t) * NLON + x) * NLAT + y;
                expect(s.v[dst]).toBe(pres[src]);
                expect(ps.v[dst]).toBe(vor[src]);
                expect(vel.v[dst * 2]).toBe(u[src]);
                expect(vel.v[dst * 2 + 1]).toBe(v[src]);
              }
        expect(d.constant!.batch).toBe(1);
        expect(d.constant!.signature).toEqual([{ k: 0, parity: 0, channels: 1 }]);
        const c = d.constant!.data.dataSync();
        for (let x = 0; x < NLON; x++) for (let y = 0; y < NLAT; y++) expect(c[x * NLAT + y]).toBe(orog[y * NLON + x]);
        expect(d.coords.x!.length).toBe(NLON);
        expect(d.coords.y!.length).toBe(NLAT);
        // constant fields broadcast into every window
        const { x } = batchTimeSeries(d.dynamic, d.constant, { totalSteps: T, pastSteps: 2, futureSteps: 1 });
        expect(x.signature[0]).toEqual({ k: 0, parity: 0, channels: 2 + 1 });
        x.dispose();
      } finally {
        d.dispose();
      }
    });
  }

  it('normalisation as shallow_water.py: pressure standardised, velocity / std(|v|), orography standardised; Coriolis and latitude fields', async () => {
    const path = fixture('shallow-water.nc');
    const d = await readShallowWater(path, { orography: fixture('orography.nc'), coriolis: true, latitude: true, vorticity: true });
    try {
      const [pres, u, v, vor, orog, lat] = await Promise.all([
        raw(path, 'pres'),
        raw(path, 'u'),
        raw(path, 'v'),
        raw(path, 'vor'),
        raw(fixture('orography.nc'), 'orog'),
        raw(path, 'lat'),
      ]);
      const norms = Float64Array.from(u, (x, i) => Math.hypot(x, v[i]!));
      const st = d.stats!;
      expect(st.pressure!.mean).toBeCloseTo(meanStd([pres]).mean, 9);
      expect(st.pressure!.std).toBeCloseTo(meanStd([pres]).std, 9);
      expect(st.velocity).toEqual({ mode: 'scale-norm', mean: 0, std: expect.closeTo(meanStd([norms]).std, 12) });
      expect(st.vorticity).toEqual({ mode: 'scale', mean: 0, std: expect.closeTo(meanStd([vor]).std, 12) });
      expect(st.orography!.mean).toBeCloseTo(meanStd([orog]).mean, 9);
      const sinLat = Array.from(lat, (l) => 2 * 7.29e-5 * Math.sin((l * Math.PI) / 180));
      const cor = meanStd([Array.from({ length: 16 }, () => sinLat).flat()]);
      expect(st.coriolis!.mode).toBe('scale');
      expect(Math.abs(st.coriolis!.std / cor.std - 1)).toBeLessThan(1e-6); // the field is stored as float32 before fitting
      expect(st.latitude!.mode).toBe('standardize');
      // constant image: orography and latitude scalars, Coriolis pseudoscalar
      expect(d.constant!.signature).toEqual([
        { k: 0, parity: 0, channels: 2 },
        { k: 0, parity: 1, channels: 1 },
      ]);
      const c = d.constant!.data.dataSync();
      for (let x = 0; x < 16; x++)
        for (let y = 0; y < 8; y++) {
          const i = (x * 8 + y) * 3;
          expect(c[i]).toBeCloseTo((orog[y * 16 + x]! - st.orography!.mean) / st.orography!.std, 5);
          expect(c[i + 2]).toBeCloseTo(sinLat[y]! / cor.std, 5);
        }
      // the velocity is only scaled: its direction is untouched
      const vel = block(d.dynamic, 1, 0).v;
      const ratio = vel[0]! / vel[1]!;
      const plain = await readShallowWater(path, { normalize: false });
      const pv = block(plain.dynamic, 1, 0).v;
      expect(ratio).toBeCloseTo(pv[0]! / pv[1]!, 5);
      plain.dispose();
    } finally {
      d.dispose();
    }
  });
});

describe('files geoconv writes', () => {
  const [NB, NT, N] = [3, 5, 8];
  const size = NB * NT * N * N;
  const val = (f: number, i: number) => Math.sin(0.37 * i + f) * (f + 1) + 0.1 * f;
  const sim = {
    vorticity: Float32Array.from({ length: size }, (_, i) => val(0, i)),
    vx: Float32Array.from({ length: size }, (_, i) => val(1, i)),
    vy: Float32Array.from({ length: size }, (_, i) => val(2, i)),
    shape: [NB, NT, N, N] as const,
    t: Float64Array.from({ length: NT }, (_, i) => 0.25 * i),
    forcing: Float32Array.from({ length: N * N }, (_, i) => Math.sin((4 * 2 * Math.PI * (i % N)) / N)),
    attrs: { nu: 1e-3, dt: 0.01, seed: 7, forcing: 'kolmogorov' },
  };

  it('navier-stokes layout: writeNavierStokesHdf5 → readNavierStokes returns the values written (path and bytes)', async () => {
    const path = join(dir, 'ns.h5');
    await writeNavierStokesHdf5(path, sim);
    const bytes = (await writeNavierStokesHdf5(undefined, sim))!;
    for (const src of [path, bytes]) {
      const d = await readNavierStokes(src, { normalize: false });
      try {
        expect(d.dynamic.signature).toEqual([
          { k: 0, parity: 1, channels: NT },
          { k: 1, parity: 0, channels: NT },
        ]);
        expect(d.attrs).toMatchObject({ nu: 1e-3, dt: 0.01, seed: 7, forcing: 'kolmogorov' });
        expect(Array.from(d.coords.t!)).toEqual(Array.from(sim.t));
        const w = block(d.dynamic, 0, 1).v;
        const v = block(d.dynamic, 1, 0).v;
        expect(Array.from(w)).toEqual(Array.from(sim.vorticity)); // [traj, time, x, y] = [B, C, X, Y]
        for (let i = 0; i < size; i++) {
          expect(v[2 * i]).toBe(sim.vx[i]);
          expect(v[2 * i + 1]).toBe(sim.vy[i]);
        }
        expect(d.constant!.signature).toEqual([{ k: 0, parity: 1, channels: 1 }]);
        expect(Array.from(d.constant!.data.dataSync())).toEqual(Array.from(sim.forcing));
      } finally {
        d.dispose();
      }
    }
    // normalised: pseudoscalars and vectors only scaled
    const n = await readDataset(path, 'navier-stokes', { trajectories: [1, 3] });
    try {
      expect(n.stats!.vorticity!.mode).toBe('scale');
      expect(n.stats!.forcing).toEqual({ mode: 'scale', mean: 0, std: expect.closeTo(meanStd([sim.forcing]).std, 12) });
      const per = NT * N * N;
      expect(n.stats!.vorticity!.std).toBeCloseTo(meanStd([sim.vorticity.subarray(per, 3 * per)]).std, 12);
    } finally {
      n.dispose();
    }
    // without forcing: no constant image
    const { forcing: _f, ...noForcing } = sim;
    const d2 = await readNavierStokes((await writeNavierStokesHdf5(undefined, noForcing))!, { normalize: false });
    expect(d2.constant).toBeNull();
    d2.dispose();
  });

  it('writeNavierStokesHdf5 validates its input', async () => {
    await expect(writeNavierStokesHdf5(undefined, { ...sim, vx: new Float32Array(3) })).rejects.toThrow(
      /writeNavierStokesHdf5: sim\.vx must be a Float32Array of 960 values/,
    );
    await expect(writeNavierStokesHdf5(undefined, { ...sim, t: new Float64Array(2) })).rejects.toThrow(/sim\.t must be 5 times/);
    await expect(writeNavierStokesHdf5(undefined, { ...sim, shape: [3, 5, 8] as unknown as [number, number, number, number] })).rejects.toThrow(
      /sim\.shape must be \[traj, time, N, N\]/,
    );
  });

  it('pdebench layout written by geoconv (pressure chunked + gzip, non-square 8×6 grid) reads back exactly', async () => {
    const [b, t, x, y] = [3, 4, 8, 6];
    const n = b * t * x * y;
    const mk = (f: number) => Float32Array.from({ length: n }, (_, i) => val(f, i) + 2);
    const fields = { density: mk(3), pressure: mk(4), Vx: mk(5), Vy: mk(6) };
    const path = join(dir, 'cfd.h5');
    await writeHdf5(path, [
      { name: 'density', data: fields.density, shape: [b, t, x, y] },
      { name: 'pressure', data: fields.pressure, shape: [b, t, x, y], chunks: [1, t, x, y], gzip: 5 },
      { name: 'Vx', data: fields.Vx, shape: [b, t, x, y] },
      { name: 'Vy', data: fields.Vy, shape: [b, t, x, y] },
      { name: 't-coordinate', data: new Float32Array(t + 1), shape: [t + 1] },
      { name: 'x-coordinate', data: new Float32Array(x), shape: [x] },
      { name: 'y-coordinate', data: new Float32Array(y), shape: [y] },
    ]);
    const d = await readPdebenchCfd(path, { trajectories: [1, 3], normalize: false });
    try {
      expect(d.dynamic.spatial).toEqual([x, y]);
      const s = block(d.dynamic, 0, 0).v;
      const per = t * x * y;
      for (let bb = 0; bb < 2; bb++) {
        expect(Array.from(s.subarray(bb * 2 * per, (bb * 2 + 1) * per))).toEqual(Array.from(fields.density.subarray((bb + 1) * per, (bb + 2) * per)));
        expect(Array.from(s.subarray((bb * 2 + 1) * per, (bb * 2 + 2) * per))).toEqual(Array.from(fields.pressure.subarray((bb + 1) * per, (bb + 2) * per)));
      }
    } finally {
      d.dispose();
    }
  });
});

describe('readSimulation: the generic spec', () => {
  const [B, T, X, Y] = [2, 3, 5, 4];
  const n = B * T * X * Y;
  const fxy = (f: number) => Float32Array.from({ length: n }, (_, i) => Math.cos(0.7 * i + f) * 3 + f);
  /** (b, t, x, y) → (t, b, y, x) */
  const toTbyx = (a: Float32Array) => {
    const out = new Float32Array(n);
    for (let b = 0; b < B; b++)
      for (let t = 0; t < T; t++)
        for (let x = 0; x < X; x++)
          for (let y = 0; y < Y; y++) {
            out[((t * B + b) * Y + y) * X + x] = a[((b * T + t) * X + x) * Y + y]!;
          }
    return out;
  };
  const a = fxy(0);
  const ux = fxy(1);
  const uy = fxy(2);
  const mask = Float32Array.from({ length: B * X * Y }, (_, i) => (i % 3) - 1);

  it('axes "tbyx" with a per-trajectory constant field equals the same data stored "btxy"', async () => {
    const p1 = join(dir, 'btxy.h5');
    const p2 = join(dir, 'tbyx.h5');
    await writeHdf5(p1, [
      { name: 'a', data: a, shape: [B, T, X, Y] },
      { name: 'ux', data: ux, shape: [B, T, X, Y] },
      { name: 'uy', data: uy, shape: [B, T, X, Y] },
      { name: 'mask', data: mask, shape: [B, X, Y] },
    ]);
    const maskYX = new Float32Array(B * X * Y);
    for (let b = 0; b < B; b++) for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) maskYX[(b * Y + y) * X + x] = mask[(b * X + x) * Y + y]!;
    await writeHdf5(p2, [
      { name: 'A', data: toTbyx(a), shape: [T, B, Y, X] },
      { name: 'U', data: toTbyx(ux), shape: [T, B, Y, X] },
      { name: 'V', data: toTbyx(uy), shape: [T, B, Y, X] },
      { name: 'M', data: maskYX, shape: [B, Y, X] },
    ]);
    const spec = (names: string[], axes: string, cAxes: string): SimulationSpec => ({
      axes,
      fields: [
        { name: 'u', k: 1, parity: 0, datasets: [names[1]!, names[2]!] },
        { name: 'a', k: 0, parity: 0, datasets: [names[0]!] },
      ],
      constant: [{ name: 'm', k: 0, parity: 1, datasets: [names[3]!], axes: cAxes }],
      isTorus: [false, true],
    });
    const r1 = await readSimulation(p1, spec(['a', 'ux', 'uy', 'mask'], 'btxy', 'bxy'), { trajectories: [1, 2] });
    const r2 = await readSimulation(p2, JSON.parse(JSON.stringify(spec(['A', 'U', 'V', 'M'], 'tbyx', 'byx'))), { trajectories: [1, 2] });
    try {
      expect(r2.dynamic.signature).toEqual([
        { k: 0, parity: 0, channels: T },
        { k: 1, parity: 0, channels: T },
      ]);
      expect(r2.dynamic.isTorus).toEqual([false, true]);
      expect(r2.dynamic.spatial).toEqual([X, Y]);
      expect(r2.constant!.batch).toBe(1);
      expect(Array.from(r2.dynamic.data.dataSync())).toEqual(Array.from(r1.dynamic.data.dataSync()));
      expect(Array.from(r2.constant!.data.dataSync())).toEqual(Array.from(r1.constant!.data.dataSync()));
      expect(Array.from(r1.constant!.data.dataSync())).toEqual(Array.from(mask.subarray(X * Y)));
      expect(r1.stats).toBeNull(); // a custom spec does not normalise unless asked
      expect(r1.fields.map((f) => [f.name, f.constant])).toEqual([
        ['a', false],
        ['u', false],
        ['m', true],
      ]);
    } finally {
      r1.dispose();
      r2.dispose();
    }
  });

  it('spec validation names the offending entry', () => {
    const ok: SimulationSpec = { axes: 'btxy', fields: [{ name: 'a', k: 0, parity: 0, datasets: ['a'] }] };
    expect(validateSpec(ok).fields.length).toBe(1);
    const bad: [unknown, RegExp][] = [
      [null, /spec {2}must be an object/],
      [{ ...ok, axes: 'bxy' }, /spec axes must be axes with a time axis "t"/],
      [{ ...ok, axes: 'btxx' }, /distinct lowercase axis letters/],
      [{ ...ok, axes: 'btx' }, /spatial letters x, y/],
      [{ ...ok, fields: [] }, /spec fields must be a non-empty array/],
      [
        { ...ok, fields: [{ name: 'v', k: 1, parity: 0, datasets: ['vx'] }] },
        /fields\[0\]\.datasets must be 2 dataset names \(D\^k components for k = 1, D = 2\)/,
      ],
      [{ ...ok, fields: [{ name: 'v', k: 3, parity: 0, datasets: ['vx'] }] }, /fields\[0\]\.k must be 0, 1 or 2/],
      [
        { ...ok, fields: [{ name: 'w', k: 0, parity: 1, datasets: ['w'], normalize: 'standardize' }] },
        /fields\[0\]\.normalize must be "scale", "scale-norm" or "none" for a field other than a scalar/,
      ],
      [{ ...ok, fields: [{ name: 'a', k: 0, parity: 0, datasets: ['a'], colour: 1 }] }, /fields\[0\]\.colour must be absent \(unknown key/],
      [{ ...ok, isTorus: [true] }, /isTorus must be a boolean or 2 booleans/],
      [{ ...ok, constant: [{ name: 'c', k: 0, parity: 0, datasets: ['c'], axes: 'txy' }] }, /constant\[0\]\.axes must be axes without "t"/],
      [{ ...ok, constant: [{ name: 'a', k: 0, parity: 0, datasets: ['c'] }] }, /field names must be unique/],
      [{ ...ok, select: { t: 0 } }, /select\.t must be keyed by an extra axis letter/],
      [{ ...ok, coords: { w: 'x' } }, /coords\.w must be one of t, x, y, z/],
      [{ ...ok, fields: [{ name: 'a', k: 0, parity: 0, datasets: ['a'], axes: 'btxz' }] }, /fields\[0\]\.axes must be axes with the spatial letters x, y/],
    ];
    for (const [spec, msg] of bad) expect(() => validateSpec(spec), JSON.stringify(spec)).toThrow(msg);
  });

  it('bad options: trajectories, time and fitTrajectories out of range; unknown format; missing source', async () => {
    const path = fixture('pdebench-cfd-2d.h5');
    await expect(readPdebenchCfd(path, { trajectories: 5 })).rejects.toThrow(/options\.trajectories must be an integer in \[1, 4\] \(the file has 4\)/);
    await expect(readPdebenchCfd(path, { trajectories: [2, 2] })).rejects.toThrow(/options\.trajectories must be \[start, end\)/);
    await expect(readPdebenchCfd(path, { time: [0, 22] })).rejects.toThrow(/options\.time must be \[start, end\) with 0 <= start < end <= 21/);
    await expect(readPdebenchCfd(path, { trajectories: 2, fitTrajectories: 3 })).rejects.toThrow(/fitTrajectories must be at most the 2 trajectories read/);
    await expect(readDataset(path, 'cfd' as 'pdebench-cfd')).rejects.toThrow(
      /readDataset: format must be "pdebench-cfd", "shallow-water", "navier-stokes" or a spec object \(got "cfd"\)/,
    );
    await expect(
      readSimulation(path, {
        ...validateSpec({ axes: 'btxy', fields: [{ name: 'a', k: 0, parity: 0, datasets: ['density'] }] }),
        constant: [{ name: 'o', k: 0, parity: 0, datasets: ['orog'], source: 'orography' }],
      }),
    ).rejects.toThrow(/source "orography", which options\.sources does not give/);
  });
});
