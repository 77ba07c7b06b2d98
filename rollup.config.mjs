/**
 * Bundles tsc's output (dist/tsc, from `tsc -p tsconfig.json`) — no TypeScript plugin, so any tsc
 * can produce the input:
 *   dist/index.js   ESM; the lazily imported backends (wasm, webgpu) become chunks under
 *                   dist/chunks/, loaded by relative import, so Node, Deno and browsers load it with
 *                   no other file paths (the wasm is base64-embedded in its chunk)
 *   dist/index.cjs  CommonJS, one file (dynamic imports inlined)
 *   dist/cli.js     ESM, when src/cli.ts exists (bin/geoconv.js imports it); shares chunks with index.js
 *   dist/index.d.ts a one-line re-export of dist/types/index.d.ts, so `import '../dist/index.js'`
 *                   type-checks (tests do that)
 * Source maps chain through tsc's maps back to src/*.ts.
 * External: Node builtins and every bare package specifier (the package has no runtime
 * dependencies; the Node-only `webgpu` package is imported dynamically by name and stays external).
 */
import { existsSync, readFileSync, rmSync } from 'node:fs';
import { builtinModules } from 'node:module';

const external = (id) =>
  id.startsWith('node:') || builtinModules.includes(id) || !(id.startsWith('.') || id.startsWith('/') || id.startsWith('\0'));

/** Hands tsc's own source maps to rollup so the bundle maps to src/*.ts, not dist/tsc/*.js. */
const tscSourceMaps = () => ({
  name: 'tsc-sourcemaps',
  load(id) {
    if (!id.endsWith('.js') || !existsSync(`${id}.map`)) return null;
    const code = readFileSync(id, 'utf8').replace(/\n\/\/# sourceMappingURL=.*\s*$/, '\n');
    return { code, map: JSON.parse(readFileSync(`${id}.map`, 'utf8')) };
  },
});

const typesShim = () => ({
  name: 'types-shim',
  buildStart() {
    rmSync('dist/chunks', { recursive: true, force: true }); // chunk names carry hashes: drop stale ones
  },
  generateBundle() {
    this.emitFile({ type: 'asset', fileName: 'index.d.ts', source: "export * from './types/index.js';\n" });
  },
});

const onwarn = (warning, warn) => {
  // tsc output has `this` only in class bodies; circular imports between ops and the engine are intended.
  if (warning.code === 'CIRCULAR_DEPENDENCY') return;
  warn(warning);
};

const esmInput = { index: 'dist/tsc/index.js' };
if (existsSync('src/cli.ts')) esmInput.cli = 'dist/tsc/cli.js';

export default [
  {
    input: esmInput,
    external,
    onwarn,
    plugins: [tscSourceMaps(), typesShim()],
    output: {
      dir: 'dist',
      format: 'es',
      entryFileNames: '[name].js',
      // lazily imported backends keep their names; code shared by the entries is the `core` chunk
      chunkFileNames: (c) => (c.isDynamicEntry ? 'chunks/[name]-[hash].js' : 'chunks/core-[hash].js'),
      sourcemap: true,
    },
  },
  {
    input: 'dist/tsc/index.js',
    external,
    onwarn,
    plugins: [tscSourceMaps()],
    output: {
      file: 'dist/index.cjs',
      format: 'cjs',
      exports: 'named',
      inlineDynamicImports: true,
      sourcemap: true,
    },
  },
];
