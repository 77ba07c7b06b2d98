#!/usr/bin/env node
/**
 * The one generator of kernel-parameter code (see src/backends/kernelParams.ts, the schema):
 *   src/generated/params.ts       named writers (write<Name>) and field offsets, for TypeScript;
 *   assembly/kernels/params.ts    accessors <name>_<FIELD>(p) for AssemblyScript, PARAMS_FINGERPRINT
 *                                 and paramsProbe (a test reads every field back through them);
 *   src/generated/exports.ts      the typed exports of assembly/index.ts (KernelExports) and
 *                                 PARALLEL_KERNELS, the (params, tid, nt) kernels workers run;
 * and, for scripts/embed-shaders.mjs, `wgslParams(name)`: the WGSL `struct Params` of a block.
 * All outputs are git-ignored: `npm run build:gen` (scripts/build-wasm.mjs) runs this first.
 * Idempotent (files rewritten only when they change). Usage: node scripts/gen-params.mjs
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { writeIfChanged } from './write-generated.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
export const SCHEMA_FILE = 'src/backends/kernelParams.ts';

const fail = (msg) => {
  throw new Error(`gen-params: ${msg}`);
};

/** Evaluates the schema module (data only, no imports) after stripping its types with TypeScript. */
export async function loadSchemas(file = join(root, SCHEMA_FILE)) {
  const ts = (await import('typescript')).default;
  const js = ts.transpileModule(readFileSync(file, 'utf8'), {
    compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 },
  }).outputText;
  const mod = await import(`data:text/javascript;base64,${Buffer.from(js).toString('base64')}`);
  return mod.KERNEL_PARAMS;
}

const IDENT = /^[A-Za-z][A-Za-z0-9]*$/;

/**
 * The layout of one block: per field its kind, word offset (fixed part) or offset terms (after a
 * variable array), and array length. Throws on a malformed schema.
 */
export function layout(schema) {
  const { name, fields, targets } = schema;
  if (!IDENT.test(name)) fail(`block name ${JSON.stringify(name)} is not an identifier`);
  if (!Array.isArray(targets) || targets.length === 0 || targets.some((t) => t !== 'wasm' && t !== 'wgsl')) {
    fail(`${name}: targets must be a non-empty list of 'wasm' / 'wgsl'`);
  }
  const out = [];
  const pads = []; // WGSL: unnamed words before an array, so that it starts at a 16-byte offset
  const wgsl = targets.includes('wgsl');
  let fixed = 0; // words before the first variable array
  const varTerms = []; // lengths (field names) of the variable arrays so far
  for (const [field, spec] of Object.entries(fields)) {
    if (!IDENT.test(field)) fail(`${name}.${field}: field names are identifiers`);
    if (wgsl && Array.isArray(spec) && fixed % 4 !== 0) {
      pads.push({ at: fixed, words: 4 - (fixed % 4) });
      fixed += 4 - (fixed % 4);
    }
    const at = { fixed, vars: [...varTerms] };
    if (typeof spec === 'string') {
      if (!['i32', 'u32', 'f32', 'ptr'].includes(spec)) fail(`${name}.${field}: unknown type ${JSON.stringify(spec)}`);
      if (varTerms.length) fail(`${name}.${field}: a scalar after a variable-length array`);
      out.push({ field, kind: spec, ...at });
      fixed++;
      continue;
    }
    if (!Array.isArray(spec) || spec.length !== 2 || !['i32', 'u32'].includes(spec[0]))
      fail(`${name}.${field}: expected 'i32' | 'u32' | 'f32' | 'ptr' | ['i32' | 'u32', length]`);
    const [elem, len] = spec;
    if (typeof len === 'number') {
      if (!(Number.isInteger(len) && len > 0)) fail(`${name}.${field}: array length must be a positive integer`);
      if (varTerms.length) fail(`${name}.${field}: a fixed array after a variable-length array`);
      out.push({ field, kind: 'array', elem, length: len, ...at });
      fixed += len;
    } else {
      const ref = out.find((f) => f.field === len);
      if (!ref || !['i32', 'u32'].includes(ref.kind)) fail(`${name}.${field}: length ${JSON.stringify(len)} must name an earlier i32/u32 field`);
      out.push({ field, kind: 'array', elem, length: len, ...at });
      varTerms.push(len);
    }
  }
  if (wgsl) {
    for (const f of out) {
      if (f.kind === 'array' && typeof f.length === 'number' && f.length % 4 !== 0) {
        fail(`${name}.${f.field}: a WGSL array must hold a multiple of 4 values (uniform layout: array<vec4<…>>)`);
      }
    }
  }
  return { name, targets, fields: out, pads, fixedWords: fixed, variable: varTerms.length > 0 };
}

const pascal = (s) => s[0].toUpperCase() + s.slice(1);
const upper = (s) => s.replace(/([a-z0-9])([A-Z])/g, '$1_$2').toUpperCase();

/** FNV-1a of the canonical schema text, as an i32: compiled into the wasm and checked by the loader. */
export function fingerprint(schemas) {
  const text = JSON.stringify(schemas.map((s) => [s.name, s.targets, Object.entries(s.fields)]));
  let h = 0x811c9dc5;
  for (let i = 0; i < text.length; i++) {
    h ^= text.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}

/** src/generated/params.ts */
export function emitTs(schemas) {
  const L = [
    `// Generated by scripts/gen-params.mjs from ${SCHEMA_FILE}. Do not edit; git-ignored.`,
    '',
    `/** Fingerprint of the schema; assembly/kernels/params.ts exports the same (checked at load). */`,
    `export const PARAMS_FINGERPRINT = ${fingerprint(schemas)};`,
    '',
    'function int(block: string, field: string, v: number, lo: number, hi: number): number {',
    '  if (!(Number.isInteger(v) && v >= lo && v <= hi)) {',
    '    throw new RangeError(`${block} parameters: ${field} must be an integer in [${lo}, ${hi}] (got ${v})`);',
    '  }',
    '  return v | 0;',
    '}',
    '',
    'const F32 = new Float32Array(1);',
    'const F32_BITS = new Int32Array(F32.buffer);',
    '',
    'function f32(block: string, field: string, v: number): number {',
    "  if (typeof v !== 'number') throw new RangeError(`${block} parameters: ${field} must be a number (got ${v})`);",
    '  F32[0] = v;',
    '  return F32_BITS[0]!;',
    '}',
    '',
    'function arr(block: string, field: string, v: ArrayLike<number>, n: number, exact: boolean, lo: number, hi: number, p: Int32Array, at: number): void {',
    '  if (exact ? v.length !== n : v.length > n) {',
    "    throw new RangeError(`${block} parameters: ${field} must hold ${exact ? '' : 'at most '}${n} values (got ${v.length})`);",
    '  }',
    '  for (let i = 0; i < v.length; i++) p[at + i] = int(block, `${field}[${i}]`, v[i]!, lo, hi);',
    '}',
    '',
  ];
  const range = (kind) => (kind === 'i32' ? '-2147483648, 2147483647' : '0, 4294967295');
  for (const s of schemas) {
    const lay = layout(s);
    const P = pascal(s.name);
    L.push(`/** ${s.name} (${s.targets.join(', ')}): ${s.doc} */`);
    L.push(`export interface ${P}Params {`);
    for (const f of lay.fields) L.push(`  readonly ${f.field}: ${f.kind === 'array' ? 'ArrayLike<number>' : 'number'};`);
    L.push('}');
    L.push(`/** Word offsets of ${s.name}'s fixed fields; SIZE = the fixed words${lay.variable ? ' (variable arrays follow)' : ''}. */`);
    L.push(`export const ${upper(s.name)} = {`);
    for (const f of lay.fields) if (f.vars.length === 0) L.push(`  ${f.field}: ${f.fixed},`);
    L.push(`  SIZE: ${lay.fixedWords},`);
    L.push('} as const;');
    const pad = s.targets.includes('wgsl') ? ' (rounded up to 4 words: the WGSL struct size)' : '';
    L.push(`/** The ${s.name} block from named fields${pad}. */`);
    L.push(`export function write${P}(f: ${P}Params): Int32Array {`);
    const varLen = lay.fields.filter((f) => f.kind === 'array' && typeof f.length === 'string');
    const words = [String(lay.fixedWords), ...varLen.map((f) => `f.${f.length}`)].join(' + ');
    L.push(`  const p = new Int32Array(${s.targets.includes('wgsl') ? `Math.ceil((${words}) / 4) * 4` : words});`);
    let varOff = '';
    for (const f of lay.fields) {
      const at = `${f.fixed}${varOff}`;
      const q = JSON.stringify(s.name);
      const fq = JSON.stringify(f.field);
      if (f.kind === 'array') {
        const exact = typeof f.length === 'string';
        L.push(`  arr(${q}, ${fq}, f.${f.field}, ${exact ? `f.${f.length}` : f.length}, ${exact}, ${range(f.elem)}, p, ${at});`);
        if (exact) varOff += ` + f.${f.length}`;
      } else if (f.kind === 'f32') {
        L.push(`  p[${at}] = f32(${q}, ${fq}, f.${f.field});`);
      } else {
        L.push(`  p[${at}] = int(${q}, ${fq}, f.${f.field}, ${range(f.kind === 'ptr' ? 'u32' : f.kind)});`);
      }
    }
    L.push('  return p;');
    L.push('}');
    L.push('');
  }
  return L.join('\n');
}

/** assembly/kernels/params.ts */
export function emitAs(schemas) {
  const L = [
    `// Generated by scripts/gen-params.mjs from ${SCHEMA_FILE}. Do not edit; git-ignored.`,
    '// Accessors of the kernel parameter blocks: <block>_<FIELD>(p) reads the field of the block at p.',
    '',
    `export const PARAMS_FINGERPRINT: i32 = ${fingerprint(schemas)};`,
    '',
  ];
  const wasm = schemas.filter((s) => s.targets.includes('wasm'));
  const probe = [];
  wasm.forEach((s, k) => {
    const lay = layout(s);
    L.push(`// ${s.name}: ${s.doc}`);
    const cases = [];
    lay.fields.forEach((f, i) => {
      const fn = `${s.name}_${f.field}`;
      const varTerms = f.vars.map((v) => ` + load<i32>(p, ${lay.fields.find((g) => g.field === v).fixed << 2})`).join('');
      L.push('// @ts-ignore: decorator');
      if (f.kind === 'array') {
        L.push(`@inline export function ${fn}(p: usize): usize { return p + (<usize>(${f.fixed}${varTerms}) << 2); }`);
        cases.push(`      case ${i}: return <i32>(${fn}(p) - p);`);
      } else if (f.kind === 'ptr') {
        L.push(`@inline export function ${fn}(p: usize): usize { return <usize>load<i32>(p, ${f.fixed << 2}); }`);
        cases.push(`      case ${i}: return <i32>${fn}(p);`);
      } else if (f.kind === 'f32') {
        L.push(`@inline export function ${fn}(p: usize): f32 { return load<f32>(p, ${f.fixed << 2}); }`);
        cases.push(`      case ${i}: return reinterpret<i32>(${fn}(p));`);
      } else {
        L.push(`@inline export function ${fn}(p: usize): ${f.kind} { return load<${f.kind}>(p, ${f.fixed << 2}); }`);
        cases.push(`      case ${i}: return <i32>${fn}(p);`);
      }
    });
    probe.push(`    case ${k}: switch (field) {`, ...cases, '      default: return -1;', '    }');
    L.push('');
  });
  L.push("/** Field `field` of wasm block `block` (schema order) read through its accessor: the value, or an array's byte offset. */");
  L.push('export function paramsProbe(block: i32, field: i32, p: usize): i32 {');
  L.push('  switch (block) {', ...probe, '    default: return -1;', '  }', '}', '');
  return L.join('\n');
}

/** The WGSL struct of a wgsl block, named `Params`. */
export function wgslParams(schemas, name) {
  const s = schemas.find((b) => b.name === name);
  if (!s) fail(`no parameter block ${JSON.stringify(name)} in ${SCHEMA_FILE}`);
  if (!s.targets.includes('wgsl')) fail(`parameter block ${name} is not declared for 'wgsl'`);
  const lay = layout(s);
  const L = [`// ${s.name}: ${s.doc}`, 'struct Params {'];
  // variable arrays (the block's tail) are the wasm kernel's: a uniform struct has a fixed size
  for (const f of lay.fields.filter((g) => typeof g.length !== 'string')) {
    const pad = lay.pads.find((q) => q.at + q.words === f.fixed);
    if (pad) for (let w = 0; w < pad.words; w++) L.push(`  _pad${pad.at + w}: u32,`);
    if (f.kind === 'array') L.push(`  ${f.field}: array<vec4<${f.elem}>, ${f.length / 4}>,`);
    else L.push(`  ${f.field}: ${f.kind === 'ptr' ? 'u32' : f.kind},`);
  }
  L.push('}');
  return L.join('\n');
}

const TYPE = {
  i8: 'number',
  u8: 'number',
  i16: 'number',
  u16: 'number',
  i32: 'number',
  u32: 'number',
  usize: 'number',
  isize: 'number',
  f32: 'number',
  f64: 'number',
  bool: 'number',
  i64: 'bigint',
  u64: 'bigint',
  void: 'void',
};

/** The exports of assembly/index.ts: functions (with wasm-level types) and globals. */
export function scanExports(readAs = (rel) => readFileSync(join(root, 'assembly', rel), 'utf8')) {
  const fns = new Map();
  const globals = new Set();
  const seen = new Set();
  const resolve = (from, spec) => join(dirname(from), spec).replace(/\\/g, '/') + '.ts';
  const scan = (file, only) => {
    const text = readAs(file)
      .replace(/\/\*[\s\S]*?\*\//g, '')
      .replace(/\/\/.*$/gm, '');
    const take = (n) => only === undefined || only.has(n);
    for (const m of text.matchAll(/^export\s+\*\s+from\s+'([^']+)'/gm)) scan(resolve(file, m[1]), only);
    for (const m of text.matchAll(/^export\s*\{([^}]*)\}\s*from\s+'([^']+)'/gm)) {
      const names = new Set(
        m[1]
          .split(',')
          .map((n) => n.trim())
          .filter(Boolean),
      );
      if ([...names].some((n) => n.includes(' as '))) fail(`${file}: renamed re-exports are not supported`);
      scan(resolve(file, m[2]), new Set([...names].filter(take)));
    }
    for (const m of text.matchAll(/^(?:@inline\s+)?export\s+function\s+(\w+)\s*\(([^)]*)\)\s*:\s*(\w+)/gm)) {
      if (!take(m[1])) continue;
      const args = m[2]
        .split(',')
        .map((a) => a.trim())
        .filter(Boolean)
        .map((a) => {
          const [n, t] = a.split(':').map((x) => x.trim());
          if (!(t in TYPE) || t === 'void') fail(`${file}: ${m[1]}(${n}: ${t}): type not supported in an export`);
          return { name: n, type: t };
        });
      if (!(m[3] in TYPE)) fail(`${file}: ${m[1]} returns ${m[3]}: type not supported in an export`);
      if (seen.has(m[1])) fail(`${file}: ${m[1]} is exported twice`);
      seen.add(m[1]);
      fns.set(m[1], { args, ret: m[3], file });
    }
    for (const m of text.matchAll(/^export\s+const\s+(\w+)\s*:/gm)) if (take(m[1])) globals.add(m[1]);
  };
  scan('index.ts');
  return { fns, globals };
}

/** src/generated/exports.ts */
export function emitExports({ fns, globals }) {
  const parallel = [...fns]
    .filter(([, f]) => f.ret === 'void' && f.args.length === 3 && f.args[0].type === 'usize' && f.args[1].type === 'i32' && f.args[2].type === 'i32')
    .map(([n]) => n);
  const L = [
    '// Generated by scripts/gen-params.mjs from assembly/index.ts. Do not edit; git-ignored.',
    '',
    '/** The exports of assembly/index.ts (offsets are byte offsets into `memory`; globals are op codes and constants). */',
    'export interface KernelExports {',
    '  readonly memory: WebAssembly.Memory;',
  ];
  for (const [n, f] of fns) L.push(`  ${n}(${f.args.map((a) => `${a.name}: ${TYPE[a.type]}`).join(', ')}): ${TYPE[f.ret]}; // ${f.file}`);
  for (const g of globals) L.push(`  readonly ${g}: WebAssembly.Global;`);
  L.push('}', '');
  L.push('/** The kernels with the (params, tid, nt) signature, which the thread pool runs (by index in this list). */');
  L.push(`export const PARALLEL_KERNELS = [${parallel.map((n) => `'${n}'`).join(', ')}] as const;`);
  L.push('export type ParallelKernel = (typeof PARALLEL_KERNELS)[number];', '');
  return L.join('\n');
}

/** Every generated file: path → text. */
export async function generate() {
  const schemas = await loadSchemas();
  const names = new Set();
  for (const s of schemas) {
    if (names.has(s.name)) fail(`block ${s.name} is declared twice`);
    names.add(s.name);
  }
  const asParams = emitAs(schemas);
  // the exports include the accessors module being generated now, and the entry module that
  // scripts/gen-kernels.mjs generates: read both from memory
  const { generate: generateKernels } = await import('./gen-kernels.mjs');
  const asIndex = generateKernels()['assembly/index.ts'];
  const readAs = (rel) => (rel === 'kernels/params.ts' ? asParams : rel === 'index.ts' ? asIndex : readFileSync(join(root, 'assembly', rel), 'utf8'));
  return {
    'src/generated/params.ts': emitTs(schemas),
    'assembly/kernels/params.ts': asParams,
    'src/generated/exports.ts': emitExports(scanExports(readAs)),
  };
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  try {
    const files = await generate();
    for (const [rel, text] of Object.entries(files)) if (writeIfChanged(join(root, rel), text)) console.log(`gen-params: wrote ${rel}`);
  } catch (e) {
    console.error(e instanceof Error ? e.message : e);
    process.exit(1);
  }
}
