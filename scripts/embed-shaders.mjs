#!/usr/bin/env node
/**
 * Embeds the WGSL sources: reads shaders/*.wgsl and writes src/generated/shaders.ts (git-ignored)
 * exporting `shaders` (file stem → source text, includes expanded) and the `ShaderName` union, so
 * that Node, Deno, browsers and bundlers get the shaders without file paths. The webgpu backend
 * imports it.
 *
 * Includes (WGSL has none): a line
 *   //! include "lib/<name>.wgsl"
 * is replaced by that file of shaders/lib/ (paths are relative to shaders/), between the marker
 * lines `// ---- begin lib/<name>.wgsl` and `// ---- end lib/<name>.wgsl`. Expansion is recursive
 * and once per file: a file already included into the same shader (directly or through another
 * library) becomes a one-line comment. A missing file, a path outside shaders/lib/, a cycle or any
 * other `//!` line is an error naming the file and line. Compiler messages count lines of the
 * expanded text (src/generated/shaders.ts); the markers show which file a line came from.
 *
 * Parameter blocks: a line `//! params <name>` (in a shader, not a library) is replaced by the
 * WGSL `struct Params` of block <name> of src/backends/kernelParams.ts (scripts/gen-params.mjs
 * `wgslParams`, the generator of the TypeScript writer the host uses), between
 * `// ---- begin params <name>` and `// ---- end params <name>`. A shader has at most one; a block
 * declared for 'wgsl' that no shader uses is an error.
 *
 * Checks each shader (shaders/*.wgsl): a @compute entry point, a header comment with its Algorithm,
 * Bindings and Dispatch, at most 4 storage buffers (counted after expansion). Checks each library
 * (shaders/lib/*.wgsl): a header comment saying what it Provides, and no entry point, binding or
 * override of its own (those belong to the shaders); a library that nothing includes is an error.
 * Which files include a library is computed from the include lines, never written by hand (a
 * hand-kept "Used by" list made every new shader edit each library it includes, and a header that
 * still carries one is an error): src/generated/shaders.ts lists the includers of each library.
 *
 * Usage: node scripts/embed-shaders.mjs [--check]
 *   Idempotent: the file is rewritten only when its content changes (mtime untouched otherwise).
 *   --check: write nothing; exit 1 if src/generated/shaders.ts is missing or stale.
 * scripts/build-wasm.mjs runs it as its last step.
 */
import { existsSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { loadSchemas, wgslParams } from './gen-params.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const srcDir = join(root, 'shaders');
const libDir = join(srcDir, 'lib');
const outFile = join(root, 'src', 'generated', 'shaders.ts');
const checkOnly = process.argv.includes('--check');

const fail = (msg) => {
  console.error(`embed-shaders: ${msg}`);
  process.exit(1);
};

const read = (rel) => readFileSync(join(srcDir, rel), 'utf8').replace(/\r\n/g, '\n');
const headerOf = (source) => (source.match(/^(?:\/\/.*\n)+/) ?? [''])[0];

if (!existsSync(srcDir)) fail(`${srcDir} does not exist`);
const files = readdirSync(srcDir)
  .filter((f) => f.endsWith('.wgsl'))
  .sort();
if (files.length === 0) fail(`no .wgsl files in ${srcDir}`);
const libs = existsSync(libDir)
  ? readdirSync(libDir)
      .filter((f) => f.endsWith('.wgsl'))
      .sort()
      .map((f) => `lib/${f}`)
  : [];

// Libraries: what they may hold, and their header.
for (const lib of libs) {
  const stem = lib.slice('lib/'.length, -'.wgsl'.length);
  if (!/^[a-z][A-Za-z0-9_]*$/.test(stem)) fail(`shaders/${lib}: the file stem must be an identifier ([a-z][A-Za-z0-9_]*)`);
  const source = read(lib);
  const header = headerOf(source);
  if (!header.includes('Provides:')) fail(`shaders/${lib}: the header comment must say what the library provides ("Provides:"; see the other libraries)`);
  if (/^\/\/\s*Used by:/m.test(header))
    fail(`shaders/${lib}: a "Used by:" list in the header; remove it — the includers are computed (src/generated/shaders.ts lists them)`);
  // Comments stripped, so that a header may mention what the library does not declare.
  const code = source.replace(/\/\/.*$/gm, '');
  for (const [re, what] of [
    [/@compute\b/, 'an entry point'],
    [/@group\b|@binding\b|var\s*<\s*(?:storage|uniform)\b/, 'a binding'],
    [/\boverride\b/, 'an override'],
  ]) {
    if (re.test(code)) fail(`shaders/${lib}: declares ${what}; a library has none of its own (they belong to the shaders that include it)`);
  }
}

const DIRECTIVE = /^\/\/!\s*include\s+"([^"]*)"\s*$/;
const PARAMS = /^\/\/!\s*params\s+([A-Za-z][A-Za-z0-9]*)\s*$/;
const schemas = await loadSchemas();
const paramsUsed = new Set();

/**
 * Expands the includes of `rel` (a path relative to shaders/). `stack`: the files being expanded
 * (for cycles); `done`: the files already included into this shader; `usedBy`: lib → includers.
 */
function expand(rel, stack, done, usedBy) {
  const lines = read(rel).split('\n');
  const out = [];
  lines.forEach((line, i) => {
    if (!line.startsWith('//!')) {
      out.push(line);
      return;
    }
    const where = `shaders/${rel}:${i + 1}`;
    const pm = PARAMS.exec(line);
    if (pm) {
      if (rel.startsWith('lib/')) fail(`${where}: //! params belongs to the shader, not a library`);
      if (out.some((l) => l.startsWith('// ---- begin params '))) fail(`${where}: a second //! params line`);
      let struct;
      try {
        struct = wgslParams(schemas, pm[1]);
      } catch (e) {
        fail(`${where}: ${e.message}`);
      }
      paramsUsed.add(pm[1]);
      out.push(`// ---- begin params ${pm[1]} (src/backends/kernelParams.ts)`, struct, `// ---- end params ${pm[1]}`);
      return;
    }
    const m = DIRECTIVE.exec(line);
    if (!m) fail(`${where}: unknown directive ${JSON.stringify(line)}; the directives are //! include "lib/<name>.wgsl" and //! params <block>`);
    const target = m[1];
    if (!/^lib\/[A-Za-z0-9_]+\.wgsl$/.test(target)) fail(`${where}: include "${target}": only files of shaders/lib/ can be included, as "lib/<name>.wgsl"`);
    if (!libs.includes(target)) fail(`${where}: include "${target}": no such file (shaders/${target})`);
    (usedBy.get(target) ?? usedBy.set(target, new Set()).get(target)).add(rel);
    if (stack.includes(target)) fail(`${where}: include "${target}": include cycle ${[...stack, target].join(' → ')}`);
    if (done.has(target)) {
      out.push(`// ---- ${target}: included above`);
      return;
    }
    done.add(target);
    out.push(
      `// ---- begin ${target}`,
      ...expand(target, [...stack, target], done, usedBy)
        .replace(/\n+$/, '')
        .split('\n'),
      `// ---- end ${target}`,
    );
  });
  return out.join('\n');
}

const usedBy = new Map();
const entries = files.map((f) => {
  const name = f.slice(0, -'.wgsl'.length);
  if (!/^[a-z][A-Za-z0-9_]*$/.test(name)) fail(`shaders/${f}: the file stem must be an identifier ([a-z][A-Za-z0-9_]*)`);
  const own = read(f);
  if (!/@compute\b/.test(own)) fail(`shaders/${f}: no @compute entry point`);
  // The conventions of shaders/ (src/backends/webgpu/commands.ts): a header comment naming the
  // algorithm, the bindings and the dispatch; at most 4 storage buffers (the compatibility-mode
  // minimum of maxStorageBuffersPerShaderStage).
  const header = headerOf(own);
  for (const part of ['Algorithm', 'Bindings', 'Dispatch']) {
    if (!header.includes(part)) fail(`shaders/${f}: the header comment must describe the ${part} (see the other shaders)`);
  }
  const source = expand(f, [f], new Set(), usedBy);
  const storages = (source.match(/var<storage\b/g) ?? []).length;
  if (storages > 4) fail(`shaders/${f}: ${storages} storage buffers; at most 4 (compatibility-mode devices allow no more)`);
  return { name, source };
});

for (const b of schemas) {
  if (b.targets.includes('wgsl') && !paramsUsed.has(b.name)) fail(`parameter block ${b.name} is declared for 'wgsl' but no shader has //! params ${b.name}`);
}

// Every library is included; its includers (computed) are listed in the generated file.
const includersOf = libs.map((lib) => {
  const includers = [...(usedBy.get(lib) ?? [])].sort();
  if (includers.length === 0) fail(`shaders/${lib}: no shader includes it (remove it, or include it with //! include "${lib}")`);
  return `//   ${lib}: ${includers.join(', ')}`;
});

const text = [
  '// Generated by scripts/embed-shaders.mjs from shaders/*.wgsl (includes from shaders/lib/ expanded). Do not edit; git-ignored.',
  ...(libs.length ? ['// Libraries and the files that include them (from the //! include lines):', ...includersOf] : []),
  `export type ShaderName = ${entries.map((e) => JSON.stringify(e.name)).join(' | ')};`,
  '',
  '/** WGSL source of each shaders/<name>.wgsl, with its `//! include` lines expanded. */',
  'export const shaders: Record<ShaderName, string> = {',
  ...entries.map((e) => `  ${e.name}: ${JSON.stringify(e.source)},`),
  '};',
  '',
].join('\n');

const current = existsSync(outFile) ? readFileSync(outFile, 'utf8') : null;
if (checkOnly) {
  if (current !== text) fail(`${outFile} is ${current === null ? 'missing' : 'stale'}; run node scripts/embed-shaders.mjs`);
  console.log(`embed-shaders: up to date (${entries.length} shaders, ${libs.length} libraries)`);
} else if (current === text) {
  console.log(`embed-shaders: src/generated/shaders.ts up to date (${entries.map((e) => e.name).join(', ')})`);
} else {
  mkdirSync(dirname(outFile), { recursive: true });
  writeFileSync(outFile, text);
  console.log(
    `embed-shaders: wrote src/generated/shaders.ts (${entries.map((e) => e.name).join(', ')}; libraries: ${libs.map((l) => l.slice(4, -5)).join(', ') || 'none'})`,
  );
}
