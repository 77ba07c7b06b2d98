// scripts/check-cycles.mjs: value-import cycles and layering rules, on fixtures and on src/.
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
// @ts-expect-error -- a plain .mjs script without type declarations
import { findCycles, findLayerViolations, findShadowedExports, importGraph, LAYERS } from '../../scripts/check-cycles.mjs';

interface Cycle {
  modules: string[];
  path: string[];
}
interface Violation {
  from: string;
  line: number;
  to: string;
  why: string;
}
const cyclesOf = findCycles as (dir: string) => Cycle[];
const violationsOf = findLayerViolations as (dir: string, layers?: unknown) => Violation[];
const shadowedOf = findShadowedExports as (entry: string) => { name: string; from: string; wins: string }[];

const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const script = join(root, 'scripts', 'check-cycles.mjs');
const dirs: string[] = [];
afterEach(() => {
  for (const d of dirs.splice(0)) rmSync(d, { recursive: true, force: true });
});

/** A temporary source tree: { 'a.ts': 'import …', 'sub/index.ts': … }. */
function tree(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'geoconv-cycles-'));
  dirs.push(dir);
  for (const [name, text] of Object.entries(files)) {
    mkdirSync(dirname(join(dir, name)), { recursive: true });
    writeFileSync(join(dir, name), text);
  }
  return dir;
}

const cli = (dir: string) => spawnSync(process.execPath, [script, dir], { encoding: 'utf8' });

describe('check-cycles: value-import cycles', { timeout: 30_000 }, () => {
  // each CLI run is a process start
  it('finds a two-module cycle and prints it, with the importing lines; the CLI exits 1', () => {
    const dir = tree({
      'a.ts': "import { b } from './b.js';\nexport const a = () => b();\n",
      'b.ts': "// b\nimport { a } from './a.js';\nexport const b = () => 1;\nexport const c = () => a();\n",
      'c.ts': "import { a } from './a.js';\nexport const d = a;\n", // imports the loop, is not part of it
    });
    const cycles = cyclesOf(dir);
    expect(cycles).toHaveLength(1);
    expect(cycles[0]!.modules).toEqual(['a.ts', 'b.ts']);
    expect(cycles[0]!.path).toEqual(['a.ts:1', 'b.ts:2', 'a.ts']);
    const r = cli(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toContain('a.ts:1\n    → b.ts:2\n    → a.ts');
    expect(r.stdout).toMatch(/1 value-import cycle\(s\)/);
  });

  it('reports a long loop through directories, index modules and re-exports, and a self-import', () => {
    const dir = tree({
      'engine.ts': "import { get } from './backends/backend.js';\nexport const run = () => get();\n",
      'backends/backend.ts': "export { ref as get } from './ref/index.js';\n",
      'backends/ref/index.ts': "import * as k from './conv.js';\nexport const ref = () => k;\n",
      'backends/ref/conv.ts': "import { run } from '../../engine.js';\nexport const conv = run;\n",
      'self.ts': "import './self.js';\n",
      'leaf.ts': 'export const x = 1;\n',
    });
    const cycles = cyclesOf(dir);
    expect(cycles.map((c) => c.modules)).toEqual([['backends/backend.ts', 'backends/ref/conv.ts', 'backends/ref/index.ts', 'engine.ts'], ['self.ts']]);
    expect(cycles[0]!.path).toEqual(['backends/backend.ts:1', 'backends/ref/index.ts:1', 'backends/ref/conv.ts:1', 'engine.ts:1', 'backends/backend.ts']);
    expect(cycles[1]!.path).toEqual(['self.ts:1', 'self.ts']);
  });

  it('does not count imports that emit nothing at run time, nor dynamic import()', () => {
    const dir = tree({
      'a.ts': [
        "import type { B } from './b.js';",
        "import { type C } from './c.js';",
        "export type { D } from './d.js';",
        "export { type E } from './e.js';",
        "export const lazy = () => import('./b.js');",
        'export type A = B | C;',
      ].join('\n'),
      'b.ts': "import { lazy } from './a.js';\nexport type B = number;\nexport const f = lazy;\n",
      'c.ts': "import { lazy } from './a.js';\nexport type C = string;\nexport const g = lazy;\n",
      'd.ts': "import { lazy } from './a.js';\nexport type D = 1;\nexport const h = lazy;\n",
      'e.ts': "import { lazy } from './a.js';\nexport type E = 2;\nexport const i = lazy;\n",
    });
    expect(cyclesOf(dir)).toEqual([]);
    const r = cli(dir);
    expect(r.status).toBe(0);
    expect(r.stdout).toMatch(/no value-import cycle/);
  });

  it('counts a mixed import (one value binding among types), a side-effect import and export *', () => {
    for (const line of ["import { type T, v } from './b.js';", "import './b.js';", "export * from './b.js';", "import d from './b.js';"]) {
      const dir = tree({
        'a.ts': `${line}\nexport const a = 1;\n`,
        'b.ts': "import { a } from './a.js';\nexport default a;\nexport const v = a;\nexport type T = 1;\n",
      });
      expect(
        cyclesOf(dir).map((c) => c.modules),
        line,
      ).toEqual([['a.ts', 'b.ts']]);
    }
  });
});

describe('check-cycles: layering', { timeout: 30_000 }, () => {
  it('flags a kernel that value-imports the front end, not one that imports it as a type', () => {
    const dir = tree({
      'ops/conv.ts': 'export const convSource = () => 0;\nexport type Attrs = number;\n',
      'core/geometry.ts': 'export const g = 1;\n',
      'backends/ref/conv.ts':
        "import { convSource } from '../../ops/conv.js';\nimport type { Attrs } from '../../ops/conv.js';\nimport { g } from '../../core/geometry.js';\nexport const k = [convSource, g];\n",
      'backends/ref/ok.ts': "import type { Attrs } from '../../ops/conv.js';\nimport { g } from '../../core/geometry.js';\nexport const y: Attrs = g;\n",
      'backends/index.ts': "import { g } from '../core/geometry.js';\nimport { convSource } from '../ops/conv.js';\nexport const init = [g, convSource];\n", // no module of backends/ is exempt
      'init.ts': "import { convSource } from './ops/conv.js';\nexport const init = convSource;\n", // selection lives outside backends/
    });
    const v = violationsOf(dir, LAYERS);
    expect(v.map(({ from, line, to }) => ({ from, line, to }))).toEqual([
      { from: 'backends/index.ts', line: 2, to: 'ops/conv.ts' },
      { from: 'backends/ref/conv.ts', line: 1, to: 'ops/conv.ts' },
    ]);
    const r = cli(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/layering: backends\/ref\/conv\.ts:1 imports ops\/conv\.ts \(kernels do not import the front end/);
  });

  it('flags a backend registry that imports a concrete backend', () => {
    const dir = tree({
      'backends/backend.ts': "import { ref } from './ref/index.js';\nexport const get = () => ref;\n",
      'backends/ref/index.ts': 'export const ref = 1;\n',
    });
    expect(violationsOf(dir).map((x) => `${x.from} -> ${x.to}: ${x.why}`)).toEqual([
      'backends/backend.ts -> backends/ref/index.ts: the backend registry imports no backend',
    ]);
  });
});

describe('check-cycles: shadowed exports', { timeout: 60_000 }, () => {
  it("finds a name that an entry's export * loses to an explicit export, and passes an entry without one", () => {
    const dir = tree({
      'ops.ts': 'export interface ConvOptions { stride?: number }\nexport const conv = 1;\n',
      'layers.ts': 'export interface ConvOptions { filters: number }\nexport class Conv {}\nexport const conv2 = 2;\n',
      'index.ts': "export { conv, type ConvOptions } from './ops.js';\nexport * from './layers.js';\n",
      'ok.ts': "export { conv } from './ops.js';\nexport * from './layers.js';\n",
    });
    expect(shadowedOf(join(dir, 'index.ts'))).toEqual([{ name: 'ConvOptions', from: './layers.js', wins: 'ops.ts' }]);
    expect(shadowedOf(join(dir, 'ok.ts'))).toEqual([]);
    const r = cli(dir);
    expect(r.status).toBe(1);
    expect(r.stdout).toMatch(/exports: index\.ts's `export \* from '\.\/layers\.js'` does not export ConvOptions: shadowed by ops\.ts/);
  });

  it('src/index.ts shadows nothing it re-exports with export * (the Conv layer keeps its ConvOptions)', () => {
    expect(shadowedOf(join(root, 'src', 'index.ts'))).toEqual([]);
  });
});

describe('src/', () => {
  it('has no value-import cycle and keeps the layering rules (the same check npm test runs)', () => {
    const src = join(root, 'src');
    expect(cyclesOf(src)).toEqual([]);
    expect(violationsOf(src)).toEqual([]);
    // the rules still name real modules (a renamed directory would make them vacuous)
    const files = [...(importGraph as (d: string) => Map<string, unknown>)(src).keys()].map((f) => relative(src, f).split(sep).join('/'));
    for (const rule of LAYERS as { modules: string }[]) expect(files.filter((f) => f.startsWith(rule.modules)).length, rule.modules).toBeGreaterThan(0);
    const r = cli(src);
    expect(r.status, r.stdout).toBe(0);
  }, 60_000); // parses every module of src/ three times; the machine may be busy
});
