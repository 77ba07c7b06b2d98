/**
 * The package under bundlers, as the README's Bundlers section describes it: `npm pack` of the
 * built repository, unpacked into a fresh project's node_modules (its dependencies linked from the
 * repository's), and small consumers bundled with rollup (a devDependency; resolution through the
 * package's `exports` and `sideEffects` fields, as @rollup/plugin-node-resolve does it) and, where
 * it is installed (it comes with vite), rolldown — which reads those fields itself. Checked:
 *   (a) a consumer that imports `loadCheckpoint` but no module class rebuilds a UNet checkpoint
 *       after tree-shaking and computes what the sources compute;
 *   (b) a consumer of tensor ops only carries no nn/model code, even under a bundler that ignores
 *       `"sideEffects": false` (nothing in src/ registers itself at load time);
 *   (c) the bundles run in Node; the browser build's bundle has no `node:` import.
 * Also: src/ has no top-level statement with an effect beyond the ones listed (and justified) here,
 * and a CommonJS TypeScript project type-checks and runs against the installed types.
 *
 * Needs `npm run build` first (it packs dist/).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, readFileSync, readdirSync, symlinkSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import ts from 'typescript';
import { rollup, type Plugin } from 'rollup';
import { beforeAll, describe, expect, it } from 'vitest';
import { MultiImage, UNet, memory, random, saveCheckpoint, setBackend, tensor } from '../../src/index.js';
import { tempDirs } from './support.js';

const root = fileURLToPath(new URL('../../', import.meta.url));
const tempDir = tempDirs('bundler');

function run(cmd: string, args: string[], cwd: string, timeoutS = 60) {
  const r = spawnSync(cmd, args, { cwd, encoding: 'utf8', timeout: timeoutS * 1000 });
  const text = `${cmd} ${args.join(' ')} (exit ${r.status ?? r.signal})\n${r.stdout}\n${r.stderr}`;
  if (r.error) throw new Error(`${text}\n${r.error.message}`);
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, text };
}

/** The last line a consumer printed, as JSON. */
function lastJson(stdout: string): unknown {
  return JSON.parse(stdout.trim().split('\n').at(-1)!);
}

// ---- top-level effects in the sources ----

/**
 * The top-level statements in src/ that do something when their module loads, and why each may
 * (whichever file holds it). A bundler that honours `"sideEffects": false` can drop a module whose
 * exports are not used, so each must matter only to code that imports that module anyway.
 */
const ALLOWED_EFFECTS: { statement: RegExp; why: string }[] = [
  {
    statement: /^registerBackend\(refBackend\(\)\);$/,
    why: 'ref is always available: ops reach the backend registry through tensor.ts, which registers it',
  },
  {
    statement: /^try \{\s*const os = [\s\S]*nodeThreads = /,
    why: 'reads the hardware thread count once; only hardwareThreads() in the same module reads it',
  },
];

/** Top-level statements of `file` that are neither declarations nor imports/exports, and static blocks. */
function topLevelEffects(file: string): string[] {
  const sf = ts.createSourceFile(file, readFileSync(file, 'utf8'), ts.ScriptTarget.Latest, true);
  const out: string[] = [];
  const declaration = (s: ts.Statement) =>
    ts.isFunctionDeclaration(s) ||
    ts.isClassDeclaration(s) ||
    ts.isInterfaceDeclaration(s) ||
    ts.isTypeAliasDeclaration(s) ||
    ts.isEnumDeclaration(s) ||
    ts.isModuleDeclaration(s) ||
    ts.isImportDeclaration(s) ||
    ts.isExportDeclaration(s) ||
    ts.isExportAssignment(s) ||
    ts.isVariableStatement(s) ||
    ts.isEmptyStatement(s);
  for (const s of sf.statements) if (!declaration(s)) out.push(s.getText());
  const visit = (n: ts.Node) => {
    if (ts.isClassStaticBlockDeclaration(n)) out.push(`static block: ${n.getText().slice(0, 80)}`);
    ts.forEachChild(n, visit);
  };
  visit(sf);
  return out;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(dir, { withFileTypes: true }).flatMap((e) => {
    const p = join(dir, e.name);
    if (e.isDirectory()) return e.name === 'generated' ? [] : sourceFiles(p);
    return p.endsWith('.ts') ? [p] : [];
  });
}

describe('load-time effects in src/', () => {
  it('none beyond the justified list (no registration, global patch or cache fill when a module loads)', () => {
    const found: string[] = [];
    const used = new Set<string>();
    for (const file of sourceFiles(join(root, 'src'))) {
      const rel = relative(root, file);
      for (const text of topLevelEffects(file)) {
        const allowed = ALLOWED_EFFECTS.find((a) => a.statement.test(text));
        if (allowed) used.add(String(allowed.statement));
        else found.push(`${rel}: ${text.split('\n')[0]!.slice(0, 120)}`);
      }
    }
    expect(found).toEqual([]);
    // every justification still names a statement that exists
    expect([...used].sort()).toEqual(ALLOWED_EFFECTS.map((a) => String(a.statement)).sort());
  });

  it('the scan sees the kinds of statement it must refuse', () => {
    const dir = tempDir();
    const file = join(dir, 'x.ts');
    writeFileSync(
      file,
      "import { a } from './a.js';\nexport const k = 1;\nregisterModule('X', build);\nglobalThis.foo = 1;\nif (k) a();\nclass C { static { a(); } }\nfunction f() { a(); }\n",
    );
    expect(topLevelEffects(file)).toEqual(["registerModule('X', build);", 'globalThis.foo = 1;', 'if (k) a();', 'static block: static { a(); }']);
  });
});

// ---- bundling the packed package ----

/** `pattern` of package.json's `sideEffects` (webpack's rules: no slash = any folder) as a test on a package-relative path. */
function globTest(pattern: string): (path: string) => boolean {
  const p = pattern.replace(/^\.\//, '');
  const body = p
    .split('**')
    .map((part) =>
      part
        .split('*')
        .map((s) => s.replace(/[.+?^${}()|[\]\\]/g, '\\$&'))
        .join('[^/]*'),
    )
    .join('.*');
  const re = new RegExp(p.includes('/') ? `^${body}$` : `(^|/)${body}$`);
  return (path) => re.test(path);
}

/** Whether a bundler may drop `file` of the package in `dir` when none of its exports is used. */
function declaredSideEffects(pkg: { sideEffects?: unknown }, dir: string, file: string): boolean {
  const s = pkg.sideEffects;
  if (s === false) return false;
  if (Array.isArray(s)) return s.some((g) => globTest(String(g))(relative(dir, file).split('\\').join('/')));
  return true;
}

/** The file an `exports` entry gives under `conditions` (first matching key wins, as Node and bundlers read it). */
function pickExport(entry: unknown, conditions: readonly string[]): string | null {
  if (typeof entry === 'string') return entry;
  if (!entry || typeof entry !== 'object') return null;
  for (const [key, value] of Object.entries(entry)) {
    if (key !== 'default' && !conditions.includes(key)) continue;
    const r = pickExport(value, conditions);
    if (r) return r;
  }
  return null;
}

/**
 * Resolves `geoconv` in `app`'s node_modules through its `exports` under `conditions`, and marks
 * the package's files with its `sideEffects` field (moduleSideEffects), as node-resolve does.
 * Other bare imports stay external (Node finds them in the project at run time).
 */
function packageResolve(app: string, conditions: readonly string[]): Plugin {
  const dir = join(app, 'node_modules', 'geoconv');
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8')) as { exports: Record<string, unknown>; sideEffects?: unknown };
  const inPackage = (f: string) => !relative(dir, f).startsWith('..');
  return {
    name: 'package-resolve',
    resolveId(source, importer) {
      let file: string | null = null;
      if (source === 'geoconv') file = join(dir, pickExport(pkg.exports['.'], conditions) ?? 'missing');
      else if (importer && inPackage(importer) && source.startsWith('.')) file = resolve(dirname(importer), source);
      else if (!source.startsWith('.') && !source.startsWith('/')) return { id: source, external: true };
      else return null;
      if (!existsSync(file)) this.error(`package-resolve: ${source} from ${importer ?? 'the entry'} is not in the package (${file})`);
      return { id: file, moduleSideEffects: declaredSideEffects(pkg, dir, file) };
    },
  };
}

interface Bundle {
  /** The entry file, to run with node. */
  entry: string;
  /** All emitted code, concatenated (for assertions on what was kept). */
  code: string;
  /** Characters of code loaded at start (the entry and its static imports; not the lazily imported chunks such as the wasm builds). */
  eager: number;
  /** What the bundle still imports from outside itself, statically or lazily (`node:fs`, `fft.js`, …). */
  externals: string[];
}

interface Chunk {
  type: 'chunk' | 'asset';
  fileName: string;
  isEntry?: boolean;
  imports?: string[];
  dynamicImports?: string[];
  code?: string;
}

/** A Bundle from rollup's or rolldown's output, written to `outDir`. */
function bundleOf(output: readonly Chunk[], outDir: string): Bundle {
  const chunks = new Map(output.filter((o) => o.type === 'chunk').map((o) => [o.fileName, o]));
  const entry = [...chunks.values()].find((o) => o.isEntry)!;
  const eager = new Set<string>();
  const visit = (name: string) => {
    if (eager.has(name) || !chunks.has(name)) return;
    eager.add(name);
    chunks.get(name)!.imports?.forEach(visit);
  };
  visit(entry.fileName);
  return {
    entry: join(outDir, entry.fileName),
    code: [...chunks.values()].map((o) => o.code ?? '').join('\n'),
    eager: [...eager].reduce((n, f) => n + (chunks.get(f)!.code ?? '').length, 0),
    externals: [...new Set([...chunks.values()].flatMap((o) => [...(o.imports ?? []), ...(o.dynamicImports ?? [])]).filter((i) => !chunks.has(i)))].sort(),
  };
}

/** Bundles `consumer` (an ES module in `app`) with rollup into `app/<name>/`. `ignoreSideEffects`: treat every module as having side effects. */
async function rollupBundle(app: string, name: string, consumer: string, conditions: readonly string[], ignoreSideEffects = false): Promise<Bundle> {
  const input = join(app, `${name}.src.mjs`);
  writeFileSync(input, consumer);
  const bundle = await rollup({
    input,
    plugins: [packageResolve(app, conditions)],
    treeshake: ignoreSideEffects ? { moduleSideEffects: true } : true,
    onwarn: (w, warn) => (w.code === 'CIRCULAR_DEPENDENCY' ? undefined : warn(w)),
  });
  const outDir = join(app, name);
  const { output } = await bundle.write({ dir: outDir, format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' });
  await bundle.close();
  return bundleOf(output as readonly Chunk[], outDir);
}

/** rolldown from the repository's node_modules (vite's bundler), or null where it is not installed. */
async function loadRolldown(): Promise<typeof import('rolldown') | null> {
  try {
    const at = createRequire(join(root, 'package.json')).resolve('rolldown');
    return (await import(pathToFileURL(at).href)) as typeof import('rolldown');
  } catch {
    console.warn('!!! bundler test: rolldown is not installed (it comes with vite); its checks are skipped');
    return null;
  }
}

/** Bundles `consumer` with rolldown, which resolves `geoconv` and reads `exports`/`sideEffects` itself. */
async function rolldownBundle(rd: typeof import('rolldown'), app: string, name: string, consumer: string, platform: 'node' | 'browser'): Promise<Bundle> {
  const input = join(app, `${name}.src.mjs`);
  writeFileSync(input, consumer);
  const external = platform === 'node' ? [/^node:/, /^(fft\.js|h5wasm|netcdfjs|onnx-proto|webgpu)(\/|$)/] : [/^webgpu$/, /^h5wasm\/node$/];
  const bundle = await rd.rolldown({ input, cwd: app, platform, external, logLevel: 'silent' });
  const outDir = join(app, name);
  const { output } = await bundle.write({ dir: outDir, format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' });
  await bundle.close();
  return bundleOf(output as readonly Chunk[], outDir);
}

/**
 * Code that only the nn side of the library has (each present in the checkpoint consumer's bundle:
 * checked there). A class may come out as `class X` or `var X = class` (rolldown).
 */
const NN_MARKERS = [
  ...['UNet', 'ConvContract', 'GroupNorm', 'Sequential'].map((c) => new RegExp(`\\bclass ${c}\\b|\\b${c} = class\\b`)),
  /config\.type must be one of/,
];

const CHECKPOINT_CONSUMER = `import { loadCheckpoint, MultiImage, setBackend, tensor } from 'geoconv';
setBackend('ref');
const { model, params } = await loadCheckpoint(process.argv[2]);
const input = Float32Array.from({ length: 8 * 8 * 2 }, (_, i) => Math.sin(0.7 * i) + (i % 5) / 5);
const x = new MultiImage(tensor(input, [1, 8, 8, 2]), [[[1, 0], 1]], 2);
const y = model.apply(params, x);
console.log(JSON.stringify({ type: model.config.type, y: Array.from(await y.values()) }));
`;

const TENSOR_CONSUMER = `import { tensor, add, mul, setBackend } from 'geoconv';
setBackend('ref');
const a = tensor([1, 2, 3, 4], [2, 2]);
const b = tensor([10, 20, 30, 40], [2, 2]);
console.log(JSON.stringify(Array.from(await add(mul(a, b), a).values())));
`;

/** The checkpoint consumer's computation from the sources: `model.apply` on the same input. */
async function expectedOutput(model: UNet): Promise<number[]> {
  const input = Float32Array.from({ length: 8 * 8 * 2 }, (_, i) => Math.sin(0.7 * i) + (i % 5) / 5);
  const x = new MultiImage(tensor(input, [1, 8, 8, 2]), [[[1, 0], 1]], 2);
  const y = model.apply(model.params, x);
  const out = Array.from(await y.values());
  x.dispose();
  y.dispose();
  return out;
}

describe('the packed package under bundlers', { timeout: 120_000 }, () => {
  let app = '';
  let checkpoint = '';
  let expected: number[] = [];
  const TENSOR_EXPECTED = [11, 42, 93, 164];

  beforeAll(async () => {
    if (!existsSync(join(root, 'dist', 'index.js'))) throw new Error('bundler test: run `npm run build` first (dist/index.js is missing)');
    const dir = tempDir();
    const pack = run('npm', ['pack', '--json', '--pack-destination', dir], root, 120);
    expect(pack.code, pack.text).toBe(0);
    const tarball = join(dir, (JSON.parse(pack.stdout) as { filename: string }[])[0]!.filename);
    app = join(dir, 'app');
    const pkgDir = join(app, 'node_modules', 'geoconv');
    mkdirSync(pkgDir, { recursive: true });
    const untar = run('tar', ['-xzf', tarball, '-C', pkgDir, '--strip-components=1'], dir);
    expect(untar.code, untar.text).toBe(0);
    // a CommonJS project (no "type"), so that the TypeScript check below is a CommonJS consumer; the bundles are .mjs
    writeFileSync(join(app, 'package.json'), JSON.stringify({ name: 'app', private: true }, null, 2));
    const manifest = JSON.parse(readFileSync(join(pkgDir, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    for (const dep of [...Object.keys(manifest.dependencies), '@types/node']) {
      mkdirSync(dirname(join(app, 'node_modules', dep)), { recursive: true });
      symlinkSync(join(root, 'node_modules', dep), join(app, 'node_modules', dep), 'dir');
    }

    // a UNet checkpoint and what the sources compute with it
    setBackend('ref');
    const before = memory().tensors;
    const model = new UNet({ D: 2, input: [[[1, 0], 1]], output: [[[1, 0], 1]], depth: 2, numDownsamples: 1 }, random.key(3));
    checkpoint = join(app, 'unet.safetensors');
    await saveCheckpoint(checkpoint, model, model.params);
    expected = await expectedOutput(model);
    model.dispose();
    expect(memory().tensors).toBe(before);
    expect(expected.length).toBe(8 * 8 * 2);
    expect(expected.some((v) => v !== 0)).toBe(true);
  }, 180_000);

  it('package.json declares "sideEffects": false', () => {
    const manifest = JSON.parse(readFileSync(join(app, 'node_modules', 'geoconv', 'package.json'), 'utf8')) as { sideEffects?: unknown };
    expect(manifest.sideEffects).toBe(false);
  });

  it('rollup (node conditions): loadCheckpoint alone rebuilds the UNet; tensor ops alone carry no nn code; both run in Node', async () => {
    const conditions = ['node', 'import', 'module'];
    const load = await rollupBundle(app, 'rollup-checkpoint', CHECKPOINT_CONSUMER, conditions);
    for (const m of NN_MARKERS) expect(load.code, String(m)).toMatch(m);
    const r = run('node', [load.entry, checkpoint], app);
    expect(r.code, r.text).toBe(0);
    const got = lastJson(r.stdout) as { type: string; y: number[] };
    expect(got.type).toBe('UNet');
    expect(got.y.length).toBe(expected.length);
    got.y.forEach((v, i) => expect(Math.abs(v - expected[i]!), `y[${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i]!))));

    for (const ignoreSideEffects of [false, true]) {
      const ops = await rollupBundle(app, `rollup-tensor-${ignoreSideEffects}`, TENSOR_CONSUMER, conditions, ignoreSideEffects);
      for (const m of NN_MARKERS) expect(ops.code, `${m} (sideEffects ${ignoreSideEffects ? 'ignored' : 'honoured'})`).not.toMatch(m);
      expect(ops.eager, 'tensor-only bundle vs checkpoint bundle, code loaded at start').toBeLessThan(0.25 * load.eager);
      const t = run('node', [ops.entry], app);
      expect(t.code, t.text).toBe(0);
      expect(lastJson(t.stdout)).toEqual(TENSOR_EXPECTED);
    }
  });

  it('rolldown (reads exports and sideEffects itself): the same for node; the browser build has no node: import', async () => {
    const rd = await loadRolldown();
    if (!rd) return;
    const load = await rolldownBundle(rd, app, 'rolldown-checkpoint', CHECKPOINT_CONSUMER, 'node');
    for (const m of NN_MARKERS) expect(load.code, String(m)).toMatch(m);
    const r = run('node', [load.entry, checkpoint], app);
    expect(r.code, r.text).toBe(0);
    const got = lastJson(r.stdout) as { type: string; y: number[] };
    expect(got.type).toBe('UNet');
    got.y.forEach((v, i) => expect(Math.abs(v - expected[i]!), `y[${i}]`).toBeLessThanOrEqual(1e-5 * (1 + Math.abs(expected[i]!))));
    // the node build reads files through node: modules (so the browser check below can fail)
    expect(load.externals.filter((i) => i.startsWith('node:')).length).toBeGreaterThan(0);

    for (const platform of ['node', 'browser'] as const) {
      const ops = await rolldownBundle(rd, app, `rolldown-tensor-${platform}`, TENSOR_CONSUMER, platform);
      for (const m of NN_MARKERS) expect(ops.code, `${m} (${platform})`).not.toMatch(m);
      // looser than rollup's 0.25: rolldown keeps a class that tsc's output re-assigns at the top level
      // (`_a = GeometricImage`), so the geometric classes stay, though no nn code does
      expect(ops.eager, `tensor-only bundle (${platform}) vs checkpoint bundle, code loaded at start`).toBeLessThan(0.6 * load.eager);
      if (platform === 'browser') expect(ops.externals.filter((i) => i.startsWith('node:'))).toEqual([]);
      const t = run('node', [ops.entry], app);
      expect(t.code, t.text).toBe(0);
      expect(lastJson(t.stdout)).toEqual(TENSOR_EXPECTED);
    }
  });

  it('a CommonJS TypeScript project: "module": "nodenext" type-checks against the installed types and runs (node16 is refused)', () => {
    const dir = join(app, 'ts-cjs');
    mkdirSync(dir);
    writeFileSync(
      join(dir, 'main.ts'),
      `import { tensor, add, setBackend, type Tensor } from 'geoconv';
setBackend('ref');
const t: Tensor = add(tensor([1, 2], [2]), tensor([3, 4], [2]));
t.values().then((v: Float32Array) => console.log(JSON.stringify({ cjs: typeof require === 'function', v: Array.from(v) })));
`,
    );
    const config = (module: string) =>
      JSON.stringify({
        compilerOptions: { target: 'es2022', module, moduleResolution: module, lib: ['es2022', 'dom'], strict: true, skipLibCheck: true, outDir: 'out' },
        files: ['main.ts'],
      });
    writeFileSync(join(dir, 'tsconfig.json'), config('nodenext'));
    const tsc = run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', '.'], dir, 90);
    expect(tsc.code, tsc.text).toBe(0);
    const r = run('node', [join(dir, 'out', 'main.js')], dir);
    expect(r.code, r.text).toBe(0);
    expect(lastJson(r.stdout)).toEqual({ cjs: true, v: [4, 6] });
    writeFileSync(join(dir, 'tsconfig.json'), config('node16'));
    const old = run(join(root, 'node_modules', '.bin', 'tsc'), ['-p', '.', '--noEmit'], dir, 90);
    expect(old.code, old.text).not.toBe(0);
    expect(old.stdout).toMatch(/TS1479/);
  });
});
