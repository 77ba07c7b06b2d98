/**
 * Bad simulation files: each gets a SimulationFileError naming the file and (where one is at fault)
 * the dataset — missing dataset, wrong rank, non-float dtype, inconsistent shapes, truncated HDF5
 * and NetCDF-3, not a simulation file at all, empty, missing — with no tensor and no temporary file
 * left behind.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { init, memory } from '../../../src/index.js';
import { SimulationFileError } from '../../../src/data/errors.js';
import { writeHdf5, type Hdf5DatasetSpec } from '../../../src/data/hdf5.js';
import { openSimulationFile } from '../../../src/data/netcdf.js';
import { readPdebenchCfd, readShallowWater } from '../../../src/data/readers.js';
import { fixture, strayTemps } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'geoconv-bad-'));
beforeAll(async () => {
  await init({ backend: 'ref' });
});
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const [B, T, X, Y] = [2, 3, 4, 4];
const n = B * T * X * Y;
const good = (): Hdf5DatasetSpec[] =>
  ['density', 'pressure', 'Vx', 'Vy'].map((name, f) => ({ name, data: Float32Array.from({ length: n }, (_, i) => i * 0.01 + f), shape: [B, T, X, Y] }));
const coords = (): Hdf5DatasetSpec[] => [
  { name: 't-coordinate', data: new Float32Array(T + 1), shape: [T + 1] },
  { name: 'x-coordinate', data: new Float32Array(X), shape: [X] },
  { name: 'y-coordinate', data: new Float32Array(Y), shape: [Y] },
];

async function expectFileError(p: Promise<unknown>, file: string, dataset: string | undefined, msg: RegExp): Promise<void> {
  const tensors = memory().tensors;
  const temps = strayTemps();
  const e = await p.then(
    () => null,
    (err: unknown) => err,
  );
  expect(e, 'should have failed').toBeInstanceOf(SimulationFileError);
  const err = e as SimulationFileError;
  expect(err.file).toBe(file);
  expect(err.dataset).toBe(dataset);
  expect(err.message).toContain(JSON.stringify(file));
  if (dataset !== undefined) expect(err.message).toContain(`dataset ${JSON.stringify(dataset)}`);
  expect(err.message).toMatch(msg);
  expect(memory().tensors).toBe(tensors);
  expect(strayTemps()).toEqual(temps);
}

describe('bad PDEBench-layout files', () => {
  it('a well-formed file reads (the control case)', async () => {
    const path = join(dir, 'good.h5');
    await writeHdf5(path, [...good(), ...coords()]);
    const d = await readPdebenchCfd(path, { normalize: false });
    expect(d.dynamic.batch).toBe(B);
    d.dispose();
  });

  it('missing dataset', async () => {
    const path = join(dir, 'missing.h5');
    await writeHdf5(path, [...good().filter((d) => d.name !== 'Vy'), ...coords()]);
    await expectFileError(readPdebenchCfd(path), path, 'Vy', /not found \(the file has "Vx", "density", "pressure"/);
  });

  it('wrong rank', async () => {
    const path = join(dir, 'rank.h5');
    const ds = good();
    ds[2] = { name: 'Vx', data: new Float32Array(B * T * X), shape: [B, T, X] };
    await writeHdf5(path, [...ds, ...coords()]);
    await expectFileError(readPdebenchCfd(path), path, 'Vx', /has shape \[2,3,4\] \(rank 3\) but its axes "btxy" need rank 4/);
  });

  it('non-float dtype', async () => {
    const path = join(dir, 'int.h5');
    const ds = good();
    ds[1] = { name: 'pressure', data: new Int32Array(n), shape: [B, T, X, Y] };
    await writeHdf5(path, [...ds, ...coords()]);
    await expectFileError(readPdebenchCfd(path), path, 'pressure', /dtype int32; simulation fields must be float32 or float64/);
  });

  it('inconsistent shapes between datasets (spatial; trajectories × steps)', async () => {
    const p1 = join(dir, 'spatial.h5');
    const ds = good();
    ds[3] = { name: 'Vy', data: new Float32Array(B * T * X * 2), shape: [B, T, X, 2] };
    await writeHdf5(p1, [...ds, ...coords()]);
    await expectFileError(readPdebenchCfd(p1), p1, 'Vy', /inconsistent shapes: its spatial size \(x, y\) is \[4,2\] but dataset "density" has \[4,4\]/);
    const p2 = join(dir, 'steps.h5');
    const ds2 = good();
    ds2[1] = { name: 'pressure', data: new Float32Array(B * 2 * X * Y), shape: [B, 2, X, Y] };
    await writeHdf5(p2, [...ds2, ...coords()]);
    await expectFileError(readPdebenchCfd(p2), p2, 'pressure', /inconsistent shapes: 2 trajectories × 2 steps, but the other fields have 2 × 3/);
  });

  it('truncated HDF5 files, cut anywhere, are refused by name (at open or at read)', async () => {
    const bytes = readFileSync(fixture('pdebench-cfd-2d.h5'));
    for (const frac of [0.02, 0.3, 0.6, 0.9, 0.999]) {
      const path = join(dir, `cut-${frac}.h5`);
      writeFileSync(path, bytes.subarray(0, Math.floor(bytes.length * frac)));
      const tensors = memory().tensors;
      const e = await readPdebenchCfd(path).then(
        () => null,
        (err: unknown) => err,
      );
      expect(e, `cut at ${frac}`).toBeInstanceOf(SimulationFileError);
      expect((e as Error).message).toContain(JSON.stringify(path));
      expect((e as Error).message).toMatch(/truncated|corrupt|cannot open as HDF5/);
      expect(memory().tensors).toBe(tensors);
    }
  });

  it('a truncated NetCDF-3 file: the variable whose bytes are missing is named', async () => {
    const bytes = readFileSync(fixture('shallow-water-classic.nc'));
    const path = join(dir, 'cut.nc');
    writeFileSync(path, bytes.subarray(0, 10000)); // header and u, v intact; vor, div, pres cut
    await expectFileError(
      readShallowWater(path, { vorticity: true }),
      path,
      'pres',
      /the file is truncated: the variable needs bytes up to \d+, the file has 10000/,
    );
    const header = join(dir, 'cut-header.nc');
    writeFileSync(header, bytes.subarray(0, 100));
    await expectFileError(readShallowWater(header), header, undefined, /cannot parse the NetCDF-3 header/);
  });

  it('not a simulation file, empty, missing, a directory', async () => {
    const text = join(dir, 'notes.h5');
    writeFileSync(text, 'density,pressure\n1,2\n');
    await expectFileError(readPdebenchCfd(text), text, undefined, /not an HDF5 or NetCDF file \(it starts with bytes 64 65 6e 73/);
    const empty = join(dir, 'empty.h5');
    writeFileSync(empty, '');
    await expectFileError(readPdebenchCfd(empty), empty, undefined, /the file is empty/);
    const missing = join(dir, 'nope.h5');
    await expectFileError(readPdebenchCfd(missing), missing, undefined, /cannot read the file \(ENOENT\)/);
    await expectFileError(openSimulationFile(dir), dir, undefined, /cannot read the file \(EISDIR\)|not a regular file/);
    await expectFileError(readPdebenchCfd(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8]), { name: 'upload' }), 'upload', undefined, /not an HDF5 or NetCDF file/);
  });

  it('a CDF-5 file is named as such (netcdfjs reads classic and 64-bit offset only)', async () => {
    const path = join(dir, 'cdf5.nc');
    writeFileSync(path, new Uint8Array([0x43, 0x44, 0x46, 5, 0, 0, 0, 0]));
    await expectFileError(openSimulationFile(path), path, undefined, /CDF-5/);
  });
});
