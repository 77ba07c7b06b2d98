/** Shared helpers of the simulation-file tests: the fixtures written by h5py/netCDF4 (../shared/fixtures). */
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

/** The fixtures directory beside the repository (CI keeps a copy of shared/ next to the clone). */
export const FIXTURES = fileURLToPath(new URL('../../../../shared/fixtures/', import.meta.url));

if (!existsSync(`${FIXTURES}summary.json`)) {
  // Fail loudly: a missing fixture directory must not turn into skipped tests.
  throw new Error(`simulation-file fixtures not found at ${FIXTURES} (expected ../shared/fixtures beside the repository)`);
}

export interface Summary {
  readonly shape: number[];
  readonly dtype: string;
  readonly sum: number;
  readonly first: number[];
}

export const SUMMARY = JSON.parse(readFileSync(`${FIXTURES}summary.json`, 'utf8')) as Record<string, Summary>;

export const fixture = (name: string) => `${FIXTURES}${name}`;

/** Temporary files our HDF5 layer makes (bytes sources, in-memory writes). None may be left behind. */
export function strayTemps(): string[] {
  return readdirSync(tmpdir()).filter((f) => f.startsWith('.geoconv-h5.'));
}

export function sum64(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += a[i]!;
  return s;
}

export function absSum(a: ArrayLike<number>): number {
  let s = 0;
  for (let i = 0; i < a.length; i++) s += Math.abs(a[i]!);
  return s;
}
