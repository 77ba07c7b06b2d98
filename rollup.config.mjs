/**
 * Bundles tsc's output (dist/tsc, from `tsc -p tsconfig.json`; a build intermediate, not shipped) —
 * no TypeScript plugin, so any tsc can produce the input:
 *   dist/index.js     ESM for Node, Deno and bundlers; lazily imported modules (the backends, each
 *                     wasm build, readers, Node-only helpers) become chunks under dist/chunks/,
 *                     loaded by relative import. Every wasm build is its own chunk (base64
 *                     inside), so an engine loads only the build it runs.
 *   dist/index.cjs    CommonJS entry; its lazily required chunks are dist/cjs/*.cjs
 *   dist/cli.js       ESM, when src/cli.ts exists (bin/geoconv.js imports it); shares chunks with index.js
 *   dist/browser/geoconv.js
 *                     ESM for browsers with no build step (`<script type=module>`, a CDN) and for
 *                     bundlers (the package's `browser` export condition): the dependencies are
 *                     bundled in (CommonJS ones wrapped by `cjsToEsm` below), `node:` modules are
 *                     replaced by stubs that throw, and its chunks (dist/browser/chunks/) load lazily
 *   dist/index.d.ts   a one-line re-export of dist/types/index.d.ts, so `import '../dist/index.js'`
 *                     type-checks (tests do that)
 * Source maps (ESM, CJS) chain through tsc's maps back to src/*.ts and carry the sources
 * (sourcesContent), except the wasm chunks (a map of a base64 string helps no one; they have none).
 * The browser build has no maps (its bundled dependencies would make them megabytes).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules, createRequire } from 'node:module';
import { dirname, join, resolve as resolvePath } from 'node:path';

const isNodeBuiltin = (id) => id.startsWith('node:') || builtinModules.includes(id);
const isBare = (id) => !(id.startsWith('.') || id.startsWith('/') || id.startsWith('\0'));
const external = (id) => isNodeBuiltin(id) || isBare(id);

/** Hands tsc's own source maps (with the sources read in) to rollup so bundles map to src/*.ts. */
const tscSourceMaps = () => ({
  name: 'tsc-sourcemaps',
  load(id) {
    if (!id.endsWith('.js') || !existsSync(`${id}.map`)) return null;
    const code = readFileSync(id, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    const map = JSON.parse(readFileSync(`${id}.map`, 'utf8'));
    const base = resolvePath(dirname(id), map.sourceRoot ?? '');
    map.sourcesContent = map.sources.map((s) => {
      const file = resolvePath(base, s);
      return existsSync(file) ? readFileSync(file, 'utf8') : null;
    });
    return { code, map };
  },
});

/** Drops the maps of the wasm chunks (a base64 string) and their sourceMappingURL comments. */
const noWasmMaps = () => ({
  name: 'no-wasm-maps',
  generateBundle(_options, bundle) {
    for (const [name, file] of Object.entries(bundle)) {
      if (file.type !== 'chunk' || !/(^|\/)wasm-(simd|relaxed)/.test(name)) continue;
      file.code = file.code.replace(/\n\/\/# sourceMappingURL=\S+\s*$/, '\n');
      delete bundle[`${name}.map`];
    }
  },
});

const clean = (dirs) => ({
  name: 'clean',
  buildStart() {
    for (const d of dirs) rmSync(d, { recursive: true, force: true }); // chunk names carry hashes: drop stale ones
  },
});

const typesShim = () => ({
  name: 'types-shim',
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'index.d.ts', source: "export * from './types/index.js';\n" });
  },
});

/**
 * A circular import among our own modules fails the build: evaluation order then decides which
 * module sees another half initialised (scripts/check-cycles.mjs, run by `npm test`, names the loop
 * from the sources). Loops inside bundled third-party packages are theirs: reported, not fatal.
 */
const onwarn = (warning, warn) => {
  if (warning.code === 'CIRCULAR_DEPENDENCY' && (warning.ids ?? []).some((id) => !id.includes('/node_modules/'))) {
    throw new Error(`rollup: circular import among geoconv's modules: ${(warning.ids ?? []).join(' -> ')}`);
  }
  warn(warning);
};

// ---- browser build: resolving and wrapping the dependencies ----

/** The package directory holding `name`, searched upwards from `fromDir` as Node does. */
function packageDir(name, fromDir) {
  for (let dir = fromDir; ; dir = dirname(dir)) {
    const candidate = join(dir, 'node_modules', name);
    if (existsSync(join(candidate, 'package.json'))) return candidate;
    if (dirname(dir) === dir) return null;
  }
}

/** The ESM file for a bare specifier (`pkg` or `pkg/sub`): exports (browser, import, default), then module, main. */
function resolveBare(id, importer) {
  const parts = id.split('/');
  const name = id.startsWith('@') ? parts.slice(0, 2).join('/') : parts[0];
  const sub = id.slice(name.length); // '' or '/x'
  const dir = packageDir(name, importer ? dirname(importer) : process.cwd());
  if (!dir) return null;
  const pkg = JSON.parse(readFileSync(join(dir, 'package.json'), 'utf8'));
  const pick = (e) => {
    if (typeof e === 'string') return e;
    if (!e || typeof e !== 'object') return null;
    for (const c of ['browser', 'import', 'module', 'default']) {
      const r = c in e ? pick(e[c]) : null;
      if (r) return r;
    }
    return null;
  };
  if (pkg.exports) {
    const key = `.${sub}`;
    const entry =
      typeof pkg.exports === 'string' || !Object.keys(pkg.exports).some((k) => k.startsWith('.')) ? (key === '.' ? pkg.exports : undefined) : pkg.exports[key];
    const target = pick(entry);
    if (target) return { file: join(dir, target), esm: pkg.type === 'module' || target.endsWith('.mjs') };
  }
  if (!sub && pkg.module) return { file: join(dir, pkg.module), esm: true };
  // CommonJS: Node's own resolution
  return { file: createRequire(join(dir, 'package.json')).resolve(id), esm: false };
}

/**
 * CommonJS dependencies (fft.js, onnx-proto with protobufjs) as ES modules with one default
 * export (`module.exports`), as Node's ESM loader presents them. Each package's `require` graph is
 * gathered from literal `require("…")` calls and emitted as a small module registry; requires
 * that are not literal (protobufjs probes optional modules through `eval`) stay runtime calls that
 * find nothing in a browser, which those packages expect.
 */
function cjsModuleSource(entry) {
  const ids = new Map();
  const order = [];
  const visit = (file) => {
    if (ids.has(file)) return ids.get(file);
    const index = order.length;
    ids.set(file, index);
    const record = { file, code: readFileSync(file, 'utf8'), deps: {} };
    order.push(record);
    const req = createRequire(file);
    for (const m of record.code.matchAll(/\brequire\(\s*(["'])([^"']+)\1\s*\)/g)) {
      const spec = m[2];
      if (spec in record.deps) continue;
      let target;
      try {
        target = req.resolve(spec);
      } catch {
        continue; // optional at run time (a try/catch around it in the package)
      }
      if (isNodeBuiltin(spec) || !target.endsWith('.js')) continue;
      record.deps[spec] = visit(target);
    }
    return index;
  };
  visit(entry);
  const defs = order.map((r) => `function (module, exports, require) {\n${r.code}\n}`).join(',\n');
  const maps = JSON.stringify(order.map((r) => r.deps));
  return `const defs = [\n${defs}\n];
const maps = ${maps};
const cache = [];
function load(i) {
  if (cache[i]) return cache[i].exports;
  const module = (cache[i] = { exports: {} });
  const require = (spec) => {
    if (!(spec in maps[i])) throw new Error('geoconv browser build: cannot require ' + spec);
    return load(maps[i][spec]);
  };
  defs[i].call(module.exports, module, module.exports, require);
  return module.exports;
}
export default load(0);
`;
}

const browserDeps = () => ({
  name: 'browser-deps',
  resolveId(id, importer) {
    if (isNodeBuiltin(id)) return `\0node-stub:${id}`;
    if (!isBare(id) || id.startsWith('\0')) return null;
    const r = resolveBare(id, importer);
    if (!r) return null;
    return r.esm ? r.file : `\0cjs:${r.file}`;
  },
  load(id) {
    if (id.startsWith('\0node-stub:')) {
      const name = id.slice('\0node-stub:'.length);
      // Named imports of the stub read properties of the default export, each a function that throws.
      return {
        code: `const fail = (what) => { throw new Error('geoconv: ' + what + ' needs Node or Deno (${name} is not available in a browser)'); };
export default new Proxy({}, { get: (_, key) => (typeof key === 'string' ? (...args) => fail(key) : undefined) });
`,
        syntheticNamedExports: 'default',
      };
    }
    if (id.startsWith('\0cjs:')) return cjsModuleSource(id.slice('\0cjs:'.length));
    return null;
  },
});

// The packages whose import() is a computed string on purpose (Node-only paths): never bundled.
const browserExternal = (id) => id === 'webgpu' || id === 'h5wasm/node';

const esmInput = { index: 'dist/tsc/index.js' };
if (existsSync('src/cli.ts')) esmInput.cli = 'dist/tsc/cli.js';

export default [
  {
    input: esmInput,
    external,
    onwarn,
    plugins: [clean(['dist/chunks']), tscSourceMaps(), typesShim(), noWasmMaps()],
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      // lazily imported modules keep their names; code shared by the entries is the `core` chunk
      chunkFileNames: (c) => (c.isDynamicEntry ? 'chunks/[name]-[hash].js' : 'chunks/core-[hash].js'),
      sourcemap: true,
    },
  },
  {
    input: { index: 'dist/tsc/index.js' },
    external,
    onwarn,
    plugins: [clean(['dist/cjs']), tscSourceMaps(), noWasmMaps()],
    output: {
      dir: 'dist',
      format: 'cjs',
      exports: 'named',
      entryFileNames: '[name].cjs',
      chunkFileNames: (c) => (c.isDynamicEntry ? 'cjs/[name]-[hash].cjs' : 'cjs/core-[hash].cjs'),
      sourcemap: true,
    },
  },
  {
    input: { geoconv: 'dist/tsc/index.js' },
    external: browserExternal,
    onwarn(warning, warn) {
      // h5wasm's Emscripten output uses eval and `this` at the top level; both are its own business
      if (warning.code === 'EVAL' || warning.code === 'THIS_IS_UNDEFINED') return;
      onwarn(warning, warn);
    },
    plugins: [clean(['dist/browser']), browserDeps()],
    output: {
      dir: 'dist/browser',
      format: 'es',
      entryFileNames: '[name].js',
      chunkFileNames: (c) => (c.isDynamicEntry ? 'chunks/[name]-[hash].js' : 'chunks/core-[hash].js'),
      sourcemap: false,
    },
  },
];
