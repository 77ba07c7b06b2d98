/**
 * The file layer: every fixture variable read through h5wasm (HDF5, NetCDF-4) and netcdfjs
 * (NetCDF-3) against summary.json (shape, dtype, float64 sum, first values), hyperslabs against
 * whole reads, the NetCDF-3 fast path against netcdfjs's own decoder, and HDF5 writing (chunked,
 * gzip, attributes, groups; atomic to a path, bytes in memory).
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { NetCDFReader } from 'netcdfjs';
import { afterAll, describe, expect, it } from 'vitest';
import { Hdf5File, writeHdf5 } from '../../../src/data/hdf5.js';
import { detectFormat, openSimulationFile, selectBox } from '../../../src/data/netcdf.js';
import { absSum, fixture, strayTemps, sum64, SUMMARY } from './fixtures.js';

const dir = mkdtempSync(join(tmpdir(), 'geoconv-files-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

describe('fixtures written by h5py / netCDF4-python', () => {
  const byFile = new Map<string, string[]>();
  for (const key of Object.keys(SUMMARY)) {
    const [file, variable] = key.split(':') as [string, string];
    byFile.set(file, [...(byFile.get(file) ?? []), variable]);
  }
  it('summary.json covers all four fixtures', () => {
    expect([...byFile.keys()].sort()).toEqual(['orography.nc', 'pdebench-cfd-2d.h5', 'shallow-water-classic.nc', 'shallow-water.nc']);
  });
  for (const [file, variables] of byFile) {
    it(`${file}: shape, dtype, float64 sum and first values of ${variables.join(', ')}`, async () => {
      const f = await openSimulationFile(fixture(file));
      try {
        expect(f.format).toBe(file.includes('classic') ? 'netcdf3' : 'hdf5');
        for (const v of variables) {
          const want = SUMMARY[`${file}:${v}`]!;
          const info = f.info(v);
          expect(info.shape, v).toEqual(want.shape);
          expect(info.dtype, v).toBe(want.dtype);
          const data = f.read(v, [], { float64: true });
          expect(data.length).toBe(want.shape.reduce((a, b) => a * b, 1));
          // float32 values summed in float64: only the summation order differs from numpy's.
          expect(Math.abs(sum64(data) - want.sum), v).toBeLessThanOrEqual(1e-12 * absSum(data) + 1e-12);
          expect(Array.from(data.subarray(0, 4)), v).toEqual(want.first);
          const f32 = f.read(v);
          expect(f32).toBeInstanceOf(Float32Array);
          expect(Array.from(f32)).toEqual(Array.from(data));
        }
      } finally {
        await f.close();
      }
    });
  }

  it('root attributes and dimension-scale datasets (NetCDF-4 lat/lon are plain datasets)', async () => {
    const h = await Hdf5File.open(fixture('pdebench-cfd-2d.h5'));
    try {
      const attrs = h.attrs();
      expect(Object.keys(attrs).sort()).toEqual(['M', 'eta', 'zeta']);
      expect(typeof attrs.M).toBe('number');
      expect(h.info('pressure').chunks).not.toBeNull();
      expect(h.info('pressure').filters).toContain('deflate');
      expect(h.info('density').chunks).toBeNull();
    } finally {
      await h.close();
    }
    for (const name of ['shallow-water.nc', 'shallow-water-classic.nc']) {
      const f = await openSimulationFile(fixture(name));
      try {
        const lat = f.read('lat', [], { float64: true });
        const lon = f.read('lon', [], { float64: true });
        expect(lat.length).toBe(8);
        expect(lon.length).toBe(16);
        expect(Math.max(...lat)).toBeLessThanOrEqual(90);
        expect(Math.min(...lat)).toBeGreaterThanOrEqual(-90);
        expect(f.attrs('lat').units).toBe('degrees_north');
      } finally {
        await f.close();
      }
    }
  });
});

describe('hyperslabs', () => {
  it('HDF5: a trajectory range and an inner box equal the same entries of the whole dataset (contiguous and gzip)', async () => {
    const f = await openSimulationFile(fixture('pdebench-cfd-2d.h5'));
    try {
      for (const name of ['density', 'pressure']) {
        const all = f.read(name);
        const per = 21 * 16 * 16;
        expect(Array.from(f.read(name, [[1, 3]]))).toEqual(Array.from(all.subarray(per, 3 * per)));
        const box = f.read(name, [[2, 4], [5, 7], null, [3, 9]]);
        const want = new Float32Array(2 * 2 * 16 * 6);
        selectBox(
          all,
          [4, 21, 16, 16],
          [
            [2, 4],
            [5, 7],
            [0, 16],
            [3, 9],
          ],
          want,
        );
        expect(Array.from(box)).toEqual(Array.from(want));
      }
    } finally {
      await f.close();
    }
  });

  it('NetCDF-3: leading-axis rows and inner boxes equal the whole variable; the direct decoder equals netcdfjs', async () => {
    const bytes = readFileSync(fixture('shallow-water-classic.nc'));
    const reader = new NetCDFReader(bytes);
    const f = await openSimulationFile(fixture('shallow-water-classic.nc'));
    try {
      for (const v of f.variables()) {
        const ref = (reader.getDataVariable(v) as number[]).flat();
        expect(Array.from(f.read(v, [], { float64: true })), v).toEqual(ref);
      }
      const all = f.read('u');
      const per = 4 * 1 * 8 * 16;
      expect(Array.from(f.read('u', [[1, 2]]))).toEqual(Array.from(all.subarray(per)));
      const box = f.read('u', [[0, 2], [1, 3], null, [2, 5], [4, 10]]);
      const want = new Float32Array(2 * 2 * 1 * 3 * 6);
      selectBox(
        all,
        [2, 4, 1, 8, 16],
        [
          [0, 2],
          [1, 3],
          [0, 1],
          [2, 5],
          [4, 10],
        ],
        want,
      );
      expect(Array.from(box)).toEqual(Array.from(want));
    } finally {
      await f.close();
    }
  });

  it('out-of-range boxes are refused with the dataset named', async () => {
    const f = await openSimulationFile(fixture('pdebench-cfd-2d.h5'));
    try {
      expect(() => f.read('density', [[3, 5]])).toThrow(/"density".*range \[3, 5\) of axis 0 is outside its size 4/);
    } finally {
      await f.close();
    }
  });
});

describe('sources and format detection', () => {
  it('bytes (Uint8Array, ArrayBuffer, Blob) read the same values as the path, and leave no temporary file', async () => {
    const before = strayTemps();
    const bytes = new Uint8Array(readFileSync(fixture('pdebench-cfd-2d.h5')));
    const viaPath = await openSimulationFile(fixture('pdebench-cfd-2d.h5'));
    const want = Array.from(viaPath.read('pressure', [[2, 3]]));
    await viaPath.close();
    for (const src of [bytes, bytes.slice().buffer, new Blob([bytes])]) {
      const f = await openSimulationFile(src, { name: 'upload.h5' });
      expect(f.file).toBe('upload.h5');
      expect(Array.from(f.read('pressure', [[2, 3]]))).toEqual(want);
      await f.close();
      await f.close(); // twice is harmless
    }
    const nc = await openSimulationFile(new Uint8Array(readFileSync(fixture('shallow-water-classic.nc'))));
    expect(nc.format).toBe('netcdf3');
    await nc.close();
    expect(strayTemps()).toEqual(before);
  });

  it('detects HDF5 by its signature at 0 or a user-block offset (512), NetCDF-3 by CDF\\x01/\\x02, nothing by extension', () => {
    const sig = [0x89, 0x48, 0x44, 0x46, 0x0d, 0x0a, 0x1a, 0x0a];
    const at = (off: number) => {
      const b = new Uint8Array(1024);
      b.set(sig, off);
      return b;
    };
    expect(detectFormat(at(0))).toBe('hdf5');
    expect(detectFormat(at(512))).toBe('hdf5');
    expect(detectFormat(at(100))).toBeNull();
    expect(detectFormat(new Uint8Array([0x43, 0x44, 0x46, 1]))).toBe('netcdf3');
    expect(detectFormat(new Uint8Array([0x43, 0x44, 0x46, 2]))).toBe('netcdf3');
    expect(detectFormat(new Uint8Array([0x43, 0x44, 0x46, 5]))).toBe('cdf5');
    expect(detectFormat(new TextEncoder().encode('hello world'))).toBeNull();
  });

  it('a NetCDF-4 file named .h5 and an HDF5 file named .nc open by content', async () => {
    const a = join(dir, 'really-netcdf4.h5');
    const b = join(dir, 'really-hdf5.nc');
    writeFileSync(a, readFileSync(fixture('orography.nc')));
    writeFileSync(b, readFileSync(fixture('pdebench-cfd-2d.h5')));
    const fa = await openSimulationFile(a);
    const fb = await openSimulationFile(b);
    try {
      expect(fa.has('orog')).toBe(true);
      expect(fb.has('density')).toBe(true);
    } finally {
      await fa.close();
      await fb.close();
    }
  });
});

describe('writeHdf5', () => {
  const f32 = Float32Array.from({ length: 3 * 4 * 5 }, (_, i) => Math.sin(i) * 100);
  const f64 = Float64Array.from({ length: 7 }, (_, i) => 1 / (i + 3));
  const i32 = Int32Array.from({ length: 6 }, (_, i) => i * i - 7);
  const specs = [
    { name: 'plain', data: f32, shape: [3, 4, 5] },
    { name: 'gz', data: f32, shape: [3, 4, 5], chunks: [1, 4, 5], gzip: 6, attrs: { units: 'm/s', scale: 2.5 } },
    { name: 'grp/sub/d64', data: f64, shape: [7] },
    { name: 'ints', data: i32, shape: [2, 3] },
  ];

  async function check(f: Awaited<ReturnType<typeof Hdf5File.open>>) {
    expect(f.datasets().sort()).toEqual(['grp/sub/d64', 'gz', 'ints', 'plain']);
    expect(Array.from(f.read('plain'))).toEqual(Array.from(f32));
    expect(Array.from(f.read('gz'))).toEqual(Array.from(f32));
    expect(f.info('gz').chunks).toEqual([1, 4, 5]);
    expect(f.info('gz').filters).toEqual(['deflate']);
    expect(f.attrs('gz')).toEqual({ units: 'm/s', scale: 2.5 });
    expect(f.info('grp/sub/d64').dtype).toBe('float64');
    expect(Array.from(f.read('grp/sub/d64', [], { float64: true }))).toEqual(Array.from(f64));
    expect(f.info('ints').dtype).toBe('int32');
    expect(() => f.read('ints')).toThrow(/"ints".*dtype int32/);
    expect(Array.from(f.read('ints', [], { floatOnly: false, float64: true }))).toEqual(Array.from(i32));
    expect(f.attrs()).toEqual({ title: 'round trip', nu: 1e-3, list: [1, 2, 3] });
  }

  it('to a path (atomically, replacing a previous file) and back', async () => {
    const path = join(dir, 'out.h5');
    writeFileSync(path, 'an older file');
    expect(await writeHdf5(path, specs, { title: 'round trip', nu: 1e-3, list: [1, 2, 3] })).toBeUndefined();
    expect(readdirSync(dir).filter((n) => n.endsWith('.tmp'))).toEqual([]);
    const f = await Hdf5File.open(path);
    try {
      await check(f);
    } finally {
      await f.close();
    }
  });

  it('to bytes in memory (no path) and back from those bytes, leaving no temporary file', async () => {
    const before = strayTemps();
    const bytes = await writeHdf5(undefined, specs, { title: 'round trip', nu: 1e-3, list: [1, 2, 3] });
    expect(bytes).toBeInstanceOf(Uint8Array);
    expect(detectFormat(bytes!)).toBe('hdf5');
    const f = await Hdf5File.open(bytes!);
    try {
      await check(f);
    } finally {
      await f.close();
    }
    expect(strayTemps()).toEqual(before);
  });

  it('gzip shrinks compressible data; chunking one trajectory per chunk', async () => {
    const big = new Float32Array(8 * 64 * 64).fill(1.5);
    const plain = (await writeHdf5(undefined, [{ name: 'a', data: big, shape: [8, 64, 64] }]))!;
    const gz = (await writeHdf5(undefined, [{ name: 'a', data: big, shape: [8, 64, 64], chunks: [1, 64, 64], gzip: 4 }]))!;
    expect(gz.length).toBeLessThan(plain.length / 10);
  });

  it('bad arguments and unwritable paths: clear errors, no file left', async () => {
    await expect(writeHdf5(undefined, [{ name: 'a', data: f32, shape: [3, 4] }])).rejects.toThrow(/writeHdf5: datasets\[0\]\.data length must be 12/);
    await expect(writeHdf5(undefined, [{ name: 'a', data: f32, shape: [3, 4, 5], gzip: 4 }])).rejects.toThrow(/chunks must be given when gzip is/);
    await expect(writeHdf5(undefined, [{ name: 'a', data: f32, shape: [3, 4, 5], chunks: [1, 9, 5] }])).rejects.toThrow(
      /chunks must be 3 integers within the shape/,
    );
    await expect(writeHdf5(undefined, [{ name: '/a', data: f32, shape: [3, 4, 5] }])).rejects.toThrow(/name must be a path like/);
    await expect(writeHdf5(undefined, [specs[0]!, specs[0]!])).rejects.toThrow(/must be unique/);
    const missingDir = join(dir, 'no-such-dir', 'x.h5');
    await expect(writeHdf5(missingDir, specs)).rejects.toThrow(/writeHdf5: ".*no-such-dir\/x\.h5": cannot write the file/);
  });
});
