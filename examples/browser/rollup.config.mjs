/**
 * Builds the browser demo (examples/browser/) with the project's bundler: main.ts (the page) and
 * worker.ts (the module Worker that trains) → examples/browser/build/{main,worker}.js, sharing the
 * library's chunks. The library comes from the BUILT bundle (dist/index.js: run `npm run build`
 * first); TypeScript is stripped with the typescript package's transpiler (no type check here —
 * `npm run typecheck` covers these files). Run through scripts/demo.mjs (`npm run demo`), which
 * also writes the demo's checkpoint (make-checkpoint.mjs).
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import ts from 'typescript';

const require = createRequire(import.meta.url);

/** TypeScript → JavaScript, file by file. */
const typescript = () => ({
  name: 'demo-typescript',
  transform(code, id) {
    if (!id.endsWith('.ts')) return null;
    const out = ts.transpileModule(code, {
      fileName: id,
      compilerOptions: { target: ts.ScriptTarget.ES2022, module: ts.ModuleKind.ESNext, sourceMap: true },
    });
    return { code: out.outputText, map: out.sourceMapText ? JSON.parse(out.sourceMapText) : null };
  },
});

/** The library's one CommonJS dependency used in browsers (fft.js, by the simulator) as an ES module. */
const cjsFft = () => ({
  name: 'demo-fft-cjs',
  resolveId(id) {
    return id === 'fft.js' ? '\0fft.js' : null;
  },
  load(id) {
    if (id !== '\0fft.js') return null;
    const src = readFileSync(require.resolve('fft.js'), 'utf8');
    return `const module = { exports: {} };\n(function (module, exports) {\n${src}\n})(module, module.exports);\nexport default module.exports;\n`;
  },
});

/** Node-only modules stay external: the library imports them lazily, only in Node and Deno. */
const external = (id) => id.startsWith('node:') || ['h5wasm', 'netcdfjs', 'onnx-proto', 'webgpu'].includes(id);

export default {
  input: { main: 'examples/browser/main.ts', worker: 'examples/browser/worker.ts' },
  external,
  plugins: [typescript(), cjsFft()],
  onwarn(warning, warn) {
    if (warning.code === 'CIRCULAR_DEPENDENCY' || warning.code === 'SOURCEMAP_ERROR') return;
    warn(warning);
  },
  output: { dir: 'examples/browser/build', format: 'es', chunkFileNames: 'chunks/[name]-[hash].js', sourcemap: true },
};
