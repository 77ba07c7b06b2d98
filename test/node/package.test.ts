/**
 * The package as a user gets it: `npm pack` of the built repository, installed into a fresh project
 * in a temporary folder, and the README's examples run VERBATIM there — each taken from the README
 * code block after its `<!-- example: NAME -->` marker, so editing the README changes what runs:
 *   main.mjs (Node ESM), main.cjs (CommonJS), main.ts + tsconfig.json (tsc against the installed
 *   types), `deno run main.ts` (Deno over the project's node_modules), index.html + serve.mjs
 *   (Chromium through Playwright, served with COOP/COEP by the README's own server).
 * Every runtime's numbers are compared with the same computation on the ref backend of the sources.
 * Also checked: what the tarball holds (LICENSE, no tsc intermediates, source maps with sources,
 * the webgpu optional peer) and that an engine loads exactly one wasm build.
 *
 * Needs `npm run build` first (it packs dist/). Chromium: CHROMIUM_PATH or /usr/bin/chromium; missing
 * Chromium fails under CI and is a loudly reported skip elsewhere (as the other browser tests).
 */
import { spawn, spawnSync } from 'node:child_process';
import { existsSync, mkdtempSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromium } from 'playwright';
import { GeometricImage, invariantFilters, setBackend } from '../../src/index.js';
import { chromiumForTests } from './support.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const bin = (name: string) => join(root, 'node_modules', '.bin', name);
const chromiumExecutable = chromiumForTests('package test (Chromium part)');
const haveChromium = chromiumExecutable !== null;
const chromiumPath = chromiumExecutable ?? '';

/** The README's marked examples: `<!-- example: NAME -->` followed by one fenced code block. */
function readmeExamples(): Map<string, string> {
  const text = readFileSync(join(root, 'README.md'), 'utf8');
  const out = new Map<string, string>();
  for (const m of text.matchAll(/<!-- example: (\S+) -->\n```[\w-]*\n([\s\S]*?)\n```/g)) {
    if (out.has(m[1]!)) throw new Error(`README: example ${m[1]} appears twice`);
    out.set(m[1]!, `${m[2]!}\n`);
  }
  return out;
}

function run(cmd: string, args: string[], cwd: string, timeoutS = 120, env: Record<string, string> = {}) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutS * 1000, env: { ...process.env, ...env } });
  const text = `${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})\n${r.stdout}\n${r.stderr}`;
  if (r.error) throw new Error(`${text}\n${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, text };
}

/** `wasm [numbers…]` as the examples print it (the browser page adds two fields after). */
function parseResult(line: string): { backend: string; values: number[]; rest: string } {
  const m = /^(\w+) (\[[^\]]*\])(.*)$/.exec(line.trim());
  if (!m) throw new Error(`unexpected example output: ${JSON.stringify(line)}`);
  return { backend: m[1]!, values: JSON.parse(m[2]!) as number[], rest: m[3]!.trim() };
}

const examples = readmeExamples();
let expected: number[] = [];
let dir = '';
let app = '';
let tarball = '';

describe('the packed package in a fresh project', { timeout: 180_000 }, () => {
  beforeAll(async () => {
    // the examples' computation on the float64 reference, from the sources
    setBackend('ref');
    const image = GeometricImage.from(
      [
        [2, 1, 0],
        [0, 0, -3],
        [2, 0, 1],
      ],
      0,
      2,
    );
    const { filters, shape } = invariantFilters(2, 3, 1, 0);
    const vectors = image.convolveWith(GeometricImage.from(filters[0]!, 0, 2, true, shape));
    expected = Array.from(await vectors.values());
    for (const t of [image, vectors]) t.dispose();

    if (!existsSync(join(root, 'dist', 'browser', 'geoconv.js')))
      throw new Error('package test: run `npm run build` first (dist/browser/geoconv.js is missing)');
    dir = mkdtempSync(join(tmpdir(), 'geoconv-package-'));
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], root);
    expect(pack.code, pack.text).toBe(0);
    tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    app = join(dir, 'app');
    run('mkdir', ['-p', app], dir);
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true, type: 'module' }, null, 2));
    const install = run('npm', ['install', tarball, '--prefer-offline', '--no-audit', '--no-fund', '--no-package-lock'], app, 150);
    expect(install.code, install.text).toBe(0);
    for (const name of ['main.mjs', 'main.cjs', 'main.ts', 'tsconfig.json', 'index.html', 'serve.mjs']) {
      const code = examples.get(name);
      if (code === undefined) throw new Error(`README has no example marked "${name}"`);
      writeFileSync(join(app, name), code);
    }
  }, 240_000);

  afterAll(() => {
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('the README marks every example this test runs', () => {
    expect([...examples.keys()].sort()).toEqual(['deno', 'index.html', 'main.cjs', 'main.mjs', 'main.ts', 'serve.mjs', 'tsconfig.json']);
    expect(expected.length).toBe(18); // 3×3 pixels × 2 components
    expect(expected.some((v) => v !== 0)).toBe(true);
  });

  it('the tarball: LICENSE and CHANGELOG, no tsc intermediates, maps with their sources, one chunk per wasm build, webgpu an optional peer', () => {
    const pkgDir = join(app, 'node_modules', 'geoconv');
    expect(readFileSync(join(pkgDir, 'LICENSE'), 'utf8')).toMatch(/^MIT License[\s\S]*geoconv contributors/);
    expect(readFileSync(join(pkgDir, 'CHANGELOG.md'), 'utf8')).toMatch(/^# Changelog/);
    expect(existsSync(join(pkgDir, 'dist', 'tsc'))).toBe(false);
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as Record<string, any>;
    expect(manifest.peerDependenciesMeta?.webgpu?.optional).toBe(true);
    expect(Object.keys(manifest.dependencies ?? {}).sort()).toEqual(['fft.js', 'h5wasm', 'netcdfjs', 'onnx-proto']);
    for (const dep of Object.keys(manifest.dependencies)) expect(existsSync(join(app, 'node_modules', dep, 'package.json')), dep).toBe(true);
    expect(existsSync(join(app, 'node_modules', 'webgpu')), 'an optional peer is not installed').toBe(false);
    const files: string[] = [];
    const walk = (d: string) => {
      for (const e of readdirSync(d, { withFileTypes: true })) e.isDirectory() ? walk(join(d, e.name)) : files.push(join(d, e.name));
    };
    walk(join(pkgDir, 'dist'));
    const maps = files.filter((f) => f.endsWith('.map'));
    expect(maps.length).toBeGreaterThan(10);
    for (const f of maps) {
      const map = JSON.parse(readFileSync(f, 'utf8')) as { sources: string[]; sourcesContent?: (string | null)[] };
      expect(map.sourcesContent?.length, f).toBe(map.sources.length);
      expect(
        map.sourcesContent!.every((s) => typeof s === 'string' && s.length > 0),
        f,
      ).toBe(true);
      expect(
        map.sources.every((s) => s.includes('src/')),
        f,
      ).toBe(true);
    }
    for (const build of [join(pkgDir, 'dist', 'chunks'), join(pkgDir, 'dist', 'cjs'), join(pkgDir, 'dist', 'browser', 'chunks')]) {
      // rollup's chunk hashes are 8 characters of [A-Za-z0-9_-]
      const wasmChunks = readdirSync(build)
        .map((f) => /^(wasm-(?:simd|relaxed)(?:-threads)?)-[\w-]{8}\.c?js$/.exec(f)?.[1])
        .filter((n) => n !== undefined);
      expect(wasmChunks.sort(), build).toEqual(['wasm-relaxed', 'wasm-relaxed-threads', 'wasm-simd', 'wasm-simd-threads']);
    }
  });

  const checkOutput = (stdout: string) => {
    const r = parseResult(stdout.trim().split('\n').at(-1)!);
    expect(r.backend).toBe('wasm');
    expect(r.values.length).toBe(expected.length);
    r.values.forEach((v, i) => expect(Math.abs(v - expected[i]!), `value ${i}`).toBeLessThan(1e-5));
    return r;
  };

  it('Node ESM: node main.mjs', () => {
    const r = run(process.execPath, ['main.mjs'], app);
    expect(r.code, r.text).toBe(0);
    checkOutput(r.stdout);
  });

  it('Node CommonJS: node main.cjs; only one wasm build is loaded', () => {
    const r = run(process.execPath, ['main.cjs'], app);
    expect(r.code, r.text).toBe(0);
    checkOutput(r.stdout);
    const probe = run(
      process.execPath,
      [
        '-e',
        `const g = require('geoconv');
g.init({ backend: 'wasm' }).then(() => console.log(JSON.stringify(Object.keys(require.cache).filter((k) => /wasm-(simd|relaxed)/.test(k)))));`,
      ],
      app,
    );
    expect(probe.code, probe.text).toBe(0);
    const loaded = JSON.parse(probe.stdout.trim().split('\n').at(-1)!) as string[];
    expect(loaded.length, probe.stdout).toBe(1);
  });

  it('TypeScript: tsc --noEmit against the installed types', () => {
    const r = run(bin('tsc'), ['-p', 'tsconfig.json'], app);
    expect(r.code, r.text).toBe(0);
    // and the types are really checked: a wrong call is an error
    writeFileSync(join(app, 'wrong.ts'), "import { GeometricImage } from 'geoconv';\nconst x: string = GeometricImage.from([[1]], 0, 2);\nconsole.log(x);\n");
    const bad = run(
      bin('tsc'),
      ['--noEmit', '--strict', '--skipLibCheck', '--module', 'nodenext', '--target', 'es2022', '--lib', 'es2022,dom', 'wrong.ts'],
      app,
    );
    expect(bad.code).not.toBe(0);
    expect(bad.stdout).toMatch(/wrong\.ts.*TS2322/);
  });

  it('Deno: the README command runs main.ts over the project', () => {
    const cmd = examples.get('deno')!.trim();
    expect(cmd.startsWith('deno ')).toBe(true);
    const r = run('sh', ['-c', cmd], app, 120, { PATH: `${join(root, 'node_modules', '.bin')}:${process.env.PATH}`, NO_COLOR: '1', DENO_NO_UPDATE_CHECK: '1' });
    expect(r.code, r.text).toBe(0);
    checkOutput(r.stdout);
  });

  it.skipIf(!haveChromium)('Chromium: index.html served by serve.mjs, cross-origin isolated, threads, one wasm build fetched', async () => {
    const server = spawn(process.execPath, ['serve.mjs'], { cwd: app, env: { ...process.env, PORT: '0' }, stdio: ['ignore', 'pipe', 'pipe'] });
    let log = '';
    try {
      const url = await new Promise<string>((resolve, reject) => {
        const timer = setTimeout(() => reject(new Error(`serve.mjs printed no address: ${log}`)), 20_000);
        const onData = (d: Buffer) => {
          log += d;
          const m = /http:\/\/localhost:\d+\//.exec(log);
          if (m) {
            clearTimeout(timer);
            resolve(m[0]);
          }
        };
        server.stdout!.on('data', onData);
        server.stderr!.on('data', onData);
        server.on('exit', (c) => reject(new Error(`serve.mjs exited (${c}): ${log}`)));
      });
      const browser = await chromium.launch({
        executablePath: chromiumPath,
        args: ['--no-sandbox', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      });
      try {
        const page = await browser.newPage();
        const lines: string[] = [];
        const requests: string[] = [];
        page.on('console', (m) => lines.push(`${m.type()}: ${m.text()}`));
        page.on('pageerror', (e) => lines.push(`pageerror: ${e.message}`));
        page.on('request', (r) => requests.push(r.url()));
        await page.goto(url);
        await page
          .waitForFunction(() => document.getElementById('out')?.textContent !== 'running…', null, { timeout: 60_000 })
          .catch((e: Error) => {
            throw new Error(`${e.message}\n${lines.join('\n')}`);
          });
        const text = (await page.locator('#out').textContent())!;
        const r = parseResult(text);
        expect(r.backend, lines.join('\n')).toBe('wasm');
        r.values.forEach((v, i) => expect(Math.abs(v - expected[i]!), `value ${i}`).toBeLessThan(1e-5));
        const [isolated, ...noticeJson] = r.rest.split(' ');
        expect(isolated).toBe('true');
        const notices = JSON.parse(noticeJson.join(' ')) as string[];
        expect(Array.isArray(notices)).toBe(true);
        expect(JSON.stringify(notices), 'no thread downgrade on an isolated page').not.toMatch(/thread/i);
        const wasmBuilds = requests.filter((u) => /\/chunks\/wasm-(simd|relaxed)/.test(u));
        expect(wasmBuilds.length, requests.join('\n')).toBe(1);
        expect(wasmBuilds[0]).toMatch(/wasm-(simd|relaxed)-threads-/); // 2 threads: the shared-memory build
        expect(
          requests.filter((u) => /hdf5|onnx|webgpu/.test(u)),
          'nothing unused is fetched',
        ).toEqual([]);
        const remote = requests.filter((u) => !u.startsWith(url) && !u.startsWith('blob:')); // blob: the thread pool's workers
        expect(remote, "no request leaves the page's server").toEqual([]);
      } finally {
        await browser.close();
      }
    } finally {
      server.kill();
    }
  });
});
