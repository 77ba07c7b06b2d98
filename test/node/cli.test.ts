import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { main } from '../../src/cli.js';
import { version } from '../../src/index.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(argv, (s) => out.push(s), (s) => err.push(s));
  return { code, out: out.join('\n'), err: err.join('\n') };
}

describe('geoconv CLI', () => {
  it('filters --json prints exactly one JSON object with the ginjax filters', async () => {
    const r = await run('filters', '--D', '2', '--M', '3', '--k', '1', '--parity', '0', '--json');
    expect(r.code).toBe(0);
    const obj = JSON.parse(r.out);
    expect(Object.keys(obj)).toEqual(['D', 'M', 'k', 'parity', 'count', 'filters']);
    expect(obj).toMatchObject({ D: 2, M: 3, k: 1, parity: 0, count: 2 });
    // edges: outward unit vectors u = x - (1,1), flattened row-major over (3,3,2)
    expect(obj.filters[0]).toEqual([0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0]);
    expect(obj.filters[1].map((v: number) => Math.round(v * 1e6) / 1e6)).toEqual(
      [-1, -1, 0, 0, -1, 1, 0, 0, 0, 0, 0, 0, 1, -1, 0, 0, 1, 1].map((v) => Math.round((v / Math.SQRT2) * 1e6) / 1e6));
  });

  it('filters --scale one gives entries in {0, ±1}', async () => {
    const r = await run('filters', '--D', '3', '--M', '3', '--k', '2', '--parity', '1', '--scale', 'one', '--json');
    const obj = JSON.parse(r.out);
    expect(obj.count).toBe(4);
    expect(obj.filters.flat().every((v: number) => v === 0 || Math.abs(v) === 1)).toBe(true);
  });

  it('filters renders a picture by default', async () => {
    const r = await run('filters', '--D', '2', '--M', '3', '--k', '1', '--parity', '1');
    expect(r.code).toBe(0);
    expect(r.out).toMatch(/2 invariant pseudovector filters/);
    expect(r.out).toMatch(/[↑↓←→]1\.00/);
  });

  it('bad flags give a clear error and exit code 2', async () => {
    expect(await run('filters', '--D', '2', '--M', '4', '--k', 'x')).toMatchObject({ code: 2, err: expect.stringMatching(/--k must be an integer \(got "x"\)/) });
    expect(await run('filters', '--D', '5', '--M', '3', '--k', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/D must be.*got 5/) });
    expect(await run('filters', '--D', '2', '--M', '3', '--k', '0', '--bogus')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown option --bogus/) });
    expect(await run('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
  });

  it('info names the version and every backend', async () => {
    const r = await run('info');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`geoconv ${version}`);
    for (const b of ['ref', 'wasm', 'webgpu']) expect(r.out).toMatch(new RegExp(`^  ${b}\\s`, 'm'));
  });

  it('version matches package.json', () => {
    expect(version).toBe(JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')).version);
  });
});

describe('geoconv bin (built package)', () => {
  it('runs `filters --json` and `info` from dist', async () => {
    const { execFileSync } = await import('node:child_process');
    const bin = new URL('../../bin/geoconv.js', import.meta.url).pathname;
    const json = execFileSync(process.execPath, [bin, 'filters', '--D', '3', '--M', '3', '--k', '1', '--parity', '0', '--json'], { encoding: 'utf8' });
    expect(json.trim().split('\n')).toHaveLength(1);
    expect(JSON.parse(json)).toMatchObject({ D: 3, M: 3, k: 1, parity: 0, count: 3 });
    const info = execFileSync(process.execPath, [bin, 'info'], { encoding: 'utf8', env: { ...process.env, EGL_PLATFORM: 'surfaceless' } });
    expect(info).toMatch(/wasm\s+wasm: relaxed-SIMD/);
    const bad = (() => { try { execFileSync(process.execPath, [bin, 'filters', '--D', '2'], { encoding: 'utf8', stdio: 'pipe' }); return null; } catch (e) { return e as { status: number; stderr: string }; } })();
    expect(bad?.status).toBe(2);
    expect(bad?.stderr).toMatch(/--M is required/);
  });
});
