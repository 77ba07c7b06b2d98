import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { COMMANDS, main, optionValue, parseArgs } from '../../src/cli.js';
import { version } from '../../src/index.js';

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
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
      [-1, -1, 0, 0, -1, 1, 0, 0, 0, 0, 0, 0, 1, -1, 0, 0, 1, 1].map((v) => Math.round((v / Math.SQRT2) * 1e6) / 1e6),
    );
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
    expect(await run('filters', '--D', '2', '--M', '4', '--k', 'x')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/--k must be an integer \(got "x"\)/),
    });
    expect(await run('filters', '--D', '5', '--M', '3', '--k', '0')).toMatchObject({ code: 2, err: expect.stringMatching(/D must be.*got 5/) });
    expect(await run('filters', '--D', '2', '--M', '3', '--k', '0', '--bogus')).toMatchObject({
      code: 2,
      err: expect.stringMatching(/unknown option --bogus/),
    });
    expect(await run('frobnicate')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "frobnicate"/) });
  });

  it('info names the version and every backend', async () => {
    const r = await run('info');
    expect(r.code).toBe(0);
    expect(r.out).toContain(`geoconv ${version}`);
    for (const b of ['ref', 'wasm', 'webgpu']) expect(r.out).toMatch(new RegExp(`^  ${b}\\s`, 'm'));
  });

  it('every geoconv command line in the README parses under the option table', () => {
    const readme = readFileSync(new URL('../../README.md', import.meta.url), 'utf8');
    const lines = [...readme.matchAll(/(?:npx |`)geoconv ((?:filters|info|simulate|train|benchmark|export|convert)\b[^`#\n]*)/g)].map((m) => m[1]!.trim());
    expect(lines.length).toBeGreaterThanOrEqual(8);
    let parsed = 0;
    for (const line of lines) {
      // the README writes alternatives (a|b), optional parts ([…]), ellipses, placeholders (N, FILE)
      // and bare command names in prose: keep complete, literal lines only
      if (/[|[\]…]/.test(line) || /(^|\s)[A-Z]+(\s|$)/.test(line) || !line.includes(' ')) continue;
      const [name, ...args] = line.split(/\s+/);
      expect(() => parseArgs(COMMANDS.get(name!)!, args), line).not.toThrow();
      parsed++;
    }
    expect(parsed).toBeGreaterThanOrEqual(5);
  });

  it('`npm start` (geoconv train) keeps the emulation defaults the README describes', () => {
    const p = parseArgs(COMMANDS.get('train')!, []);
    const got = Object.fromEntries(
      ['task', 'model', 'epochs', 'backend', 'threads', 'seed', 'out', 'batch', 'depth', 'lr', 'past-steps', 'rollout-steps', 'N', 'trajectories', 'steps'].map(
        (n) => [n, optionValue(p, n, 'emulation')],
      ),
    );
    expect(got).toEqual({
      task: 'navier-stokes',
      model: 'unet',
      epochs: 6,
      backend: 'wasm',
      threads: 2,
      seed: 0,
      out: 'out',
      batch: 8,
      depth: 8,
      lr: 2e-3,
      'past-steps': 2,
      'rollout-steps': 5,
      N: 32,
      trajectories: 48,
      steps: 20,
    });
    // the synthetic tasks' own defaults
    const t = parseArgs(COMMANDS.get('train')!, ['--task', 'gradient']);
    expect(['epochs', 'depth', 'lr', 'batch'].map((n) => optionValue(t, n, 'task'))).toEqual([15, 16, 1e-3, 8]);
    // benchmark: train's emulation options with their emulation defaults, and --trials 3
    const b = parseArgs(COMMANDS.get('benchmark')!, []);
    expect(['epochs', 'depth', 'lr', 'trials'].map((n) => optionValue(b, n))).toEqual([6, 8, 2e-3, 3]);
    expect(COMMANDS.get('benchmark')!.options.some((o) => o.name === 'task' || o.name === 'n-train')).toBe(false);
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
    const bad = (() => {
      try {
        execFileSync(process.execPath, [bin, 'filters', '--D', '2'], { encoding: 'utf8', stdio: 'pipe' });
        return null;
      } catch (e) {
        return e as { status: number; stderr: string };
      }
    })();
    expect(bad?.status).toBe(2);
    expect(bad?.stderr).toMatch(/--M is required/);
    expect(execFileSync(process.execPath, [bin, '--version'], { encoding: 'utf8' }).trim()).toBe(`geoconv ${version}`);
    const help = execFileSync(process.execPath, [bin, 'train', '--help'], { encoding: 'utf8' });
    expect(help).toMatch(/^usage: geoconv train/);
    expect(help).toMatch(/--epochs N\s+epochs of training \(default: 6 for emulation/);
  });
});
