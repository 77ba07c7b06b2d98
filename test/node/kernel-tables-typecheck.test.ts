/**
 * The generated kernel tables (scripts/gen-kernels.mjs) are typed complete: an op without a kernel
 * on a backend, an op that two files of one backend implement and a `kernels` key that is not an op
 * must each fail to compile, with an error naming the op. This suite proves it with the TypeScript
 * compiler API instead of by hand: it emits each backend's table with the real generator from the
 * real kernel files into a temporary directory (imports pointed back at src/ by absolute path), adds
 * one scratch file per broken case, compiles with the repository's tsconfig options (all of src/, so
 * every op module's `OpAttrs` entry is merged), and reads the diagnostics of the scratch files.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import * as gen from '../../scripts/gen-kernels.mjs';

interface Backend {
  name: string;
  dir: string;
  storage: string;
  context?: [string, string];
  storageFrom?: string;
}
const G = gen as {
  BACKENDS: Backend[];
  kernelParts(b: Backend): string[];
  emitTable(b: Backend, stems: readonly string[]): string;
};

const root = join(import.meta.dirname, '..', '..');
const src = join(root, 'src').replaceAll('\\', '/');
/** The op added through declaration merging, and the key that no OpAttrs entry declares. */
const NEW_OP = 'typecheckProbeOp';
const NOT_AN_OP = 'typecheckNotAnOp';

/** The repository's compiler options (tsconfig.json) and its files (all of src/), without emit. */
function repoConfig(): { options: ts.CompilerOptions; files: string[] } {
  const parsed = ts.getParsedCommandLineOfConfigFile(join(root, 'tsconfig.json'), undefined, {
    ...ts.sys,
    onUnRecoverableConfigFileDiagnostic: (d) => {
      throw new Error(ts.flattenDiagnosticMessageText(d.messageText, '\n'));
    },
  });
  if (!parsed) throw new Error('tsconfig.json: unreadable');
  expect(parsed.errors).toEqual([]);
  // rootDir would refuse the scratch files outside src/; nothing is emitted
  const { rootDir: _r, outDir: _o, declarationDir: _d, ...options } = parsed.options;
  return { options: { ...options, noEmit: true, declaration: false, sourceMap: false }, files: parsed.fileNames };
}

const flat = (d: ts.Diagnostic) => ts.flattenDiagnosticMessageText(d.messageText, '\n');
/** A diagnostic as one line: file:line (the source line's text) message. */
function describeDiag(d: ts.Diagnostic): string {
  if (!d.file || d.start === undefined) return flat(d);
  const { line } = d.file.getLineAndCharacterOfPosition(d.start);
  const text = d.file.text.split('\n')[line]!.trim();
  return `${d.file.fileName}:${line + 1} [${text.slice(0, 120)}] ${flat(d)}`;
}

let tmp: string;
let host: ts.CompilerHost;
let config: { options: ts.CompilerOptions; files: string[] };
let previous: ts.Program | undefined;

/** Writes a scratch file into the temporary directory; returns its path. */
function scratch(file: string, text: string): string {
  const path = join(tmp, file).replaceAll('\\', '/');
  writeFileSync(path, text);
  return path;
}

/**
 * The generator's table for `stems`, written into the temporary directory: its imports point at
 * src/ by absolute path, except those of `local` stems, which are scratch files beside it.
 */
function table(b: Backend, stems: readonly string[], file: string, local: readonly string[] = []): string {
  let text = G.emitTable(b, stems).replaceAll("from '../", `from '${src}/`);
  for (const s of local) text = text.replaceAll(`'${src}/${b.dir.slice('src/'.length)}/${s}.js'`, `'./${s}.js'`);
  return scratch(file, text);
}

/** Compiles src/ plus `extra`; returns the program and the diagnostics of `extra` plus the global ones. */
function compile(extra: readonly string[]): { program: ts.Program; diagnostics: Map<string, ts.Diagnostic[]>; global: ts.Diagnostic[] } {
  const program = ts.createProgram({ rootNames: [...config.files, ...extra], options: config.options, host, oldProgram: previous });
  previous = program;
  const diagnostics = new Map<string, ts.Diagnostic[]>();
  for (const f of extra) {
    const sf = program.getSourceFile(f);
    if (!sf) throw new Error(`${f}: not in the program`);
    diagnostics.set(f, [...program.getSyntacticDiagnostics(sf), ...program.getSemanticDiagnostics(sf)]);
  }
  return { program, diagnostics, global: [...program.getOptionsDiagnostics(), ...program.getGlobalDiagnostics()] };
}

/** The ops a kernel file contributes: the keys of its `kernels` export (of its result, for a function of a context). */
function partOps(program: ts.Program, b: Backend, stem: string): string[] {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(join(root, b.dir, `${stem}.ts`).replaceAll('\\', '/'));
  if (!sf) throw new Error(`${b.dir}/${stem}.ts: not in the program`);
  const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === 'kernels');
  if (!sym) throw new Error(`${b.dir}/${stem}.ts: no kernels export`);
  let type = checker.getTypeOfSymbolAtLocation(sym, sf);
  if (b.context) type = checker.getReturnTypeOfSignature(type.getCallSignatures()[0]!);
  return type
    .getProperties()
    .map((p) => p.name)
    .sort();
}

/** The names declared by OpAttrs (every op module's merged entry). */
function opNames(program: ts.Program): string[] {
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(`${src}/ops/op.ts`)!;
  const sym = checker.getExportsOfModule(checker.getSymbolAtLocation(sf)!).find((s) => s.name === 'OpAttrs')!;
  return checker
    .getDeclaredTypeOfSymbol(sym)
    .getProperties()
    .map((p) => p.name)
    .sort();
}

interface Plan {
  b: Backend;
  stems: string[];
  control: string;
  /** Each kernel file and the ops of its `kernels`. */
  parts: { s: string; ops: string[] }[];
  /** The part with the fewest ops: dropped (missing case) and repeated (duplicate case). */
  stem: string;
  ops: string[];
}
const plans: Plan[] = [];
let ops: string[] = [];
let control: ReturnType<typeof compile>;

beforeAll(() => {
  tmp = mkdtempSync(join(tmpdir(), 'geoconv-kernel-tables-'));
  // the scratch files are ES modules, like src/ (package.json "type": "module")
  scratch('package.json', '{ "type": "module" }\n');
  config = repoConfig();
  host = ts.createCompilerHost(config.options);
  const cache = new Map<string, ts.SourceFile | undefined>();
  const getSourceFile = host.getSourceFile.bind(host);
  // src/ is parsed once for all the programs; the scratch files are rewritten per case
  host.getSourceFile = (file, lang, onError, fresh) => {
    if (file.startsWith(tmp.replaceAll('\\', '/'))) return getSourceFile(file, lang, onError, fresh);
    if (!cache.has(file)) cache.set(file, getSourceFile(file, lang, onError, fresh));
    return cache.get(file);
  };
  for (const b of G.BACKENDS) {
    const stems = G.kernelParts(b);
    plans.push({ b, stems, control: table(b, stems, `${b.name}-control.ts`), parts: [], stem: '', ops: [] });
  }
  control = compile(plans.map((p) => p.control));
  ops = opNames(control.program);
  for (const p of plans) {
    p.parts = p.stems.map((s) => ({ s, ops: partOps(control.program, p.b, s) }));
    const least = p.parts.filter((x) => x.ops.length > 0).sort((x, y) => x.ops.length - y.ops.length || (x.s < y.s ? -1 : 1))[0];
    if (!least) throw new Error(`${p.b.dir}: no kernels part has an op`);
    p.stem = least.s;
    p.ops = least.ops;
  }
});

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('generated kernel tables: type-checked completeness', () => {
  it('control: each backend table as generated compiles cleanly, and its parts cover exactly the ops of OpAttrs', () => {
    const { diagnostics, global } = control;
    expect(global.map(describeDiag)).toEqual([]);
    expect(ops.length).toBeGreaterThan(5);
    expect(ops).toContain('conv');
    for (const p of plans) {
      expect(diagnostics.get(p.control)!.map(describeDiag), p.b.name).toEqual([]);
      expect([...new Set(p.parts.flatMap((x) => x.ops))].sort(), p.b.name).toEqual(ops);
    }
  });

  it('a missing op, a repeated op and a key that is not an op each fail, naming the op', () => {
    const cases: { p: Plan; kind: 'missing' | 'repeated' | 'notAnOp'; file: string; expected: string[]; at: string }[] = [];
    for (const p of plans) {
      const { b, stem } = p;
      // (1) a part left out: the table lacks its ops
      cases.push({
        p,
        kind: 'missing',
        file: table(
          b,
          p.stems.filter((s) => s !== stem),
          `${b.name}-missing.ts`,
        ),
        expected: p.ops,
        at: 'KernelTable<',
      });
      // (2) a second file exporting the same part: each of its ops comes from two files
      const dup = `typecheck_dup_${b.name}`;
      scratch(`${dup}.ts`, `export { kernels } from '${src}/${b.dir.slice('src/'.length)}/${stem}.js';\n`);
      cases.push({ p, kind: 'repeated', file: table(b, [...p.stems, dup], `${b.name}-repeated.ts`, [dup]), expected: p.ops, at: `${b.name}OneKernelPerOp` });
      // (3) a file whose `kernels` has a key that OpAttrs does not declare
      const extra = `typecheck_extra_${b.name}`;
      const kernel = `(_out: ${b.context ? 'number' : 'Float64Array'}): void => {}`;
      scratch(
        `${extra}.ts`,
        b.context
          ? `import type { ${b.context[0]} } from '${src}/${b.context[1].slice('../'.length)}';\n` +
              `export function kernels(_c: ${b.context[0]}) {\n  return { ${NOT_AN_OP}: ${kernel} };\n}\n`
          : `export const kernels = { ${NOT_AN_OP}: ${kernel} };\n`,
      );
      cases.push({ p, kind: 'notAnOp', file: table(b, [...p.stems, extra], `${b.name}-not-an-op.ts`, [extra]), expected: [NOT_AN_OP], at: `${b.name}OnlyOps` });
      // the scratch parts themselves compile; only the tables that include them fail
      cases.push({ p, kind: 'repeated', file: join(tmp, `${dup}.ts`).replaceAll('\\', '/'), expected: [], at: '' });
      cases.push({ p, kind: 'notAnOp', file: join(tmp, `${extra}.ts`).replaceAll('\\', '/'), expected: [], at: '' });
    }
    const { diagnostics, global } = compile([...plans.map((p) => p.control), ...cases.map((c) => c.file)]);
    expect(global.map(describeDiag)).toEqual([]);
    for (const p of plans) expect(diagnostics.get(p.control)!.map(describeDiag), `${p.b.name} control`).toEqual([]);
    for (const c of cases) {
      const found = diagnostics.get(c.file)!.map(describeDiag);
      const label = `${c.p.b.name} ${c.kind} (${c.file})`;
      if (c.expected.length === 0) {
        expect(found, label).toEqual([]);
        continue;
      }
      expect(found.length, `${label}: compiled cleanly`).toBeGreaterThan(0);
      // every error is on the line that carries the check, and that line's error names the op(s)
      for (const f of found) expect(f, label).toContain(c.at);
      // exactly the case's ops are blamed (TypeScript lists at most four missing properties by name)
      const blamed = found.flatMap(missingProperties);
      if (c.expected.length <= 4) expect([...new Set(blamed)].sort(), label).toEqual(c.expected);
      else expect(blamed.length > 0 && blamed.every((op) => c.expected.includes(op)), `${label}: ${blamed}`).toBe(true);
    }
  });

  it('an op declared through OpAttrs declaration merging without kernels fails every backend table, naming it', () => {
    const decl = scratch(
      'new-op.ts',
      `import type {} from '${src}/ops/op.js';\n` +
        `declare module '${src}/ops/op.js' {\n  interface OpAttrs {\n    ${NEW_OP}: { readonly axis: number };\n  }\n}\n`,
    );
    const { program, diagnostics, global } = compile([decl, ...plans.map((p) => p.control)]);
    expect(global.map(describeDiag)).toEqual([]);
    // the merge took effect: the new name is an op now
    expect(opNames(program)).toEqual([...ops, NEW_OP].sort());
    expect(diagnostics.get(decl)!.map(describeDiag)).toEqual([]);
    for (const p of plans) {
      const found = diagnostics.get(p.control)!.map(describeDiag);
      expect(found.length, `${p.b.name}: compiled cleanly`).toBeGreaterThan(0);
      for (const f of found) expect(f, p.b.name).toContain('KernelTable<');
      expect([...new Set(found.flatMap(missingProperties))], p.b.name).toEqual([NEW_OP]);
    }
  });
});

/** The property names a "missing property" message of `describeDiag` names (the quoted source line left out). */
function missingProperties(line: string): string[] {
  const message = line.replace(/^[^\n]*?\] /, '');
  const one = [...message.matchAll(/Property '(\w+)' is missing/g)].map((m) => m[1]!);
  const many = [...message.matchAll(/missing the following properties from type '[^']*': ([\w, ]+)/g)].flatMap((m) =>
    m[1]!
      .split(',')
      .map((x) => x.trim())
      .filter((x) => x && !/^and \d+ more$/.test(x)),
  );
  return [...one, ...many];
}
