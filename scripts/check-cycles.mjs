#!/usr/bin/env node
/**
 * Fails (exit code 1) when the modules under a source directory (default: src/) import each other in
 * a cycle through VALUE imports, and prints every cycle found. A value-import cycle makes module
 * evaluation order matter: whichever module of the loop is reached first sees the others half
 * initialised (an `undefined` at import time), and which one that is depends on the entry point.
 *
 * Counted: `import … from`, `import '…'`, `export … from` and `export * from` with a relative
 * specifier. Not counted (they emit nothing at run time): `import type`, `export type`, and
 * imports/exports whose every named binding is marked `type`. Dynamic `import()` is not counted
 * either: it runs after every module has been evaluated, which is how lazily loaded backends break
 * a loop on purpose. Specifiers are resolved as TypeScript's NodeNext does for this repository
 * (`./x.js` → `./x.ts`, or `./x/index.ts`).
 *
 * It also checks the layering rules below (LAYERS): which directories a module may value-import;
 * and that no name an entry module re-exports with `export * from` is silently shadowed by another
 * export of that entry (an explicit export wins over `export *` without any warning).
 *
 * Usage: node scripts/check-cycles.mjs [dir]   (also importable: findCycles, findLayerViolations)
 */
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';
import ts from 'typescript';

/** Every .ts file (not .d.ts) under dir, recursively, as absolute paths. */
function sourceFiles(dir) {
  const out = [];
  for (const name of readdirSync(dir).sort()) {
    const p = join(dir, name);
    if (statSync(p).isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(m|c)?tsx?$/.test(name) && !/\.d\.(m|c)?ts$/.test(name)) out.push(p);
  }
  return out;
}

/** The source file a relative specifier names, or null if it leaves the checked set. */
function resolveSpecifier(from, spec, known) {
  if (!spec.startsWith('.')) return null;
  const base = resolve(dirname(from), spec);
  const stem = base.replace(/\.(m|c)?jsx?$/, '');
  const candidates = [base, `${stem}.ts`, `${stem}.tsx`, `${stem}.mts`, `${stem}.cts`, join(base, 'index.ts')];
  return candidates.find((c) => known.has(c)) ?? null;
}

/** True when an import/export declaration brings in values at run time (see the header). */
function isValueEdge(node) {
  if (ts.isImportDeclaration(node)) {
    const clause = node.importClause;
    if (!clause) return true; // `import './x'`: evaluated for its effects
    if (clause.isTypeOnly) return false;
    if (clause.name) return true; // default import
    const b = clause.namedBindings;
    if (!b) return true;
    if (ts.isNamespaceImport(b)) return true;
    // `import { type A, type B } from` is erased; `import {} from` still evaluates the module
    return b.elements.length === 0 || b.elements.some((e) => !e.isTypeOnly);
  }
  if (ts.isExportDeclaration(node)) {
    if (node.isTypeOnly) return false;
    const c = node.exportClause;
    if (!c || ts.isNamespaceExport(c)) return true; // export * (as ns) from
    return c.elements.length === 0 || c.elements.some((e) => !e.isTypeOnly);
  }
  return false;
}

/** The value-import graph: file → [{ to, line }] over the files under dir. */
export function importGraph(dir) {
  const files = sourceFiles(resolve(dir));
  const known = new Set(files);
  const graph = new Map();
  for (const file of files) {
    const text = readFileSync(file, 'utf8');
    const sf = ts.createSourceFile(file, text, ts.ScriptTarget.Latest, true);
    const edges = [];
    for (const node of sf.statements) {
      if (!(ts.isImportDeclaration(node) || ts.isExportDeclaration(node))) continue;
      const spec = node.moduleSpecifier;
      if (!spec || !ts.isStringLiteral(spec) || !isValueEdge(node)) continue;
      const to = resolveSpecifier(file, spec.text, known);
      if (to) edges.push({ to, line: sf.getLineAndCharacterOfPosition(node.getStart()).line + 1 });
    }
    graph.set(file, edges);
  }
  return graph;
}

/**
 * The value-import cycles under dir. Each strongly connected component with more than one module
 * (or a module importing itself) is one entry: its modules, and one shortest cycle through it as a
 * readable path (file:line of each import that closes the loop).
 */
export function findCycles(dir) {
  const root = resolve(dir);
  const graph = importGraph(root);
  // Tarjan's strongly connected components, iterative (deep import chains must not overflow)
  let index = 0;
  const idx = new Map();
  const low = new Map();
  const onStack = new Set();
  const stack = [];
  const components = [];
  for (const start of graph.keys()) {
    if (idx.has(start)) continue;
    const work = [[start, 0]];
    idx.set(start, index);
    low.set(start, index);
    index++;
    stack.push(start);
    onStack.add(start);
    while (work.length) {
      const frame = work[work.length - 1];
      const [v, i] = frame;
      const edges = graph.get(v);
      if (i < edges.length) {
        frame[1]++;
        const w = edges[i].to;
        if (!idx.has(w)) {
          idx.set(w, index);
          low.set(w, index);
          index++;
          stack.push(w);
          onStack.add(w);
          work.push([w, 0]);
        } else if (onStack.has(w)) {
          low.set(v, Math.min(low.get(v), idx.get(w)));
        }
        continue;
      }
      work.pop();
      if (work.length) {
        const parent = work[work.length - 1][0];
        low.set(parent, Math.min(low.get(parent), low.get(v)));
      }
      if (low.get(v) === idx.get(v)) {
        const comp = [];
        let w;
        do {
          w = stack.pop();
          onStack.delete(w);
          comp.push(w);
        } while (w !== v);
        const selfLoop = graph.get(v).some((e) => e.to === v);
        if (comp.length > 1 || selfLoop) components.push(comp);
      }
    }
  }
  const rel = (f) => relative(root, f).split('\\').join('/');
  return components
    .map((comp) => {
      const members = new Set(comp);
      const first = [...comp].sort((a, b) => rel(a).localeCompare(rel(b)))[0];
      // shortest cycle through `first`, by breadth-first search inside the component
      const prev = new Map();
      const queue = [first];
      let closing = null;
      for (let q = 0; q < queue.length && !closing; q++) {
        const v = queue[q];
        for (const e of graph.get(v)) {
          if (!members.has(e.to)) continue;
          if (e.to === first) {
            closing = { from: v, line: e.line };
            break;
          }
          if (!prev.has(e.to)) {
            prev.set(e.to, { from: v, line: e.line });
            queue.push(e.to);
          }
        }
      }
      const path = [];
      for (let step = closing, at = first; step;) {
        path.unshift(`${rel(step.from)}:${step.line}`);
        if (step.from === first) break;
        at = step.from;
        step = prev.get(at);
      }
      path.push(rel(first));
      return { modules: comp.map(rel).sort(), path };
    })
    .sort((a, b) => a.modules[0].localeCompare(b.modules[0]));
}

/**
 * Layering of src/: each rule names modules (a path prefix relative to the checked directory) and the
 * only prefixes they may value-import; type-only imports are free.
 */
export const LAYERS = [
  {
    modules: 'backends/',
    allow: ['backends/', 'core/', 'generated/'],
    why: 'kernels do not import the front end (ops, tensor, engine, nn…) except as types',
  },
  {
    modules: 'backends/backend.ts',
    allow: ['core/'],
    why: 'the backend registry imports no backend',
  },
];

/** Value imports that break a layering rule: [{ from, line, to, why }] (paths relative to dir). */
export function findLayerViolations(dir, layers = LAYERS) {
  const root = resolve(dir);
  const rel = (f) => relative(root, f).split('\\').join('/');
  const out = [];
  for (const [file, edges] of importGraph(root)) {
    const from = rel(file);
    for (const rule of layers) {
      if (!from.startsWith(rule.modules)) continue;
      for (const e of edges) {
        const to = rel(e.to);
        if (to !== from && !rule.allow.some((a) => to.startsWith(a))) out.push({ from, line: e.line, to, why: rule.why });
      }
    }
  }
  return out;
}

/**
 * Names that `export * from M` in `entry` would export but that resolve to something else in the
 * entry (shadowed by an explicit export): [{ name, from, wins }] (module paths relative to the entry).
 */
export function findShadowedExports(entry) {
  const file = resolve(entry);
  const program = ts.createProgram([file], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    noEmit: true,
    skipLibCheck: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const sf = program.getSourceFile(file);
  const entrySymbol = sf && checker.getSymbolAtLocation(sf);
  if (!entrySymbol) throw new Error(`check-cycles: cannot read the exports of ${entry}`);
  const real = (sym) => (sym.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(sym) : sym);
  const exported = new Map(checker.getExportsOfModule(entrySymbol).map((sym) => [sym.getName(), real(sym)]));
  const where = (sym) => {
    const d = sym.declarations?.[0];
    return d ? relative(dirname(file), d.getSourceFile().fileName).split('\\').join('/') : '?';
  };
  const out = [];
  for (const node of sf.statements) {
    if (!ts.isExportDeclaration(node) || node.exportClause || !node.moduleSpecifier) continue;
    const target = checker.getSymbolAtLocation(node.moduleSpecifier);
    if (!target) continue;
    for (const sym of checker.getExportsOfModule(target)) {
      const name = sym.getName();
      if (name === 'default') continue; // export * never re-exports a default
      const mine = exported.get(name);
      if (mine !== real(sym)) out.push({ name, from: node.moduleSpecifier.text, wins: mine ? where(mine) : 'nothing (ambiguous export *)' });
    }
  }
  return out;
}

const isMain = process.argv[1] && resolve(process.argv[1]) === fileURLToPath(import.meta.url);
if (isMain) {
  const here = dirname(fileURLToPath(import.meta.url));
  const dir = process.argv[2] ?? join(here, '..', 'src');
  if (!existsSync(dir)) {
    process.stderr.write(`check-cycles: no directory ${dir}\n`);
    process.exit(2);
  }
  const cycles = findCycles(dir);
  const violations = findLayerViolations(dir);
  for (const v of violations) process.stdout.write(`layering: ${v.from}:${v.line} imports ${v.to} (${v.why})\n`);
  if (violations.length > 0) process.exitCode = 1;
  const entry = join(dir, 'index.ts');
  if (existsSync(entry)) {
    const shadowed = findShadowedExports(entry);
    for (const s of shadowed)
      process.stdout.write(`exports: index.ts's \`export * from '${s.from}'\` does not export ${s.name}: shadowed by ${s.wins}; rename one of them\n`);
    if (shadowed.length > 0) process.exitCode = 1;
  }
  if (cycles.length === 0) {
    process.stdout.write(`check-cycles: no value-import cycle among the modules under ${relative(process.cwd(), resolve(dir)) || '.'}\n`);
  } else {
    for (const c of cycles) {
      process.stdout.write(`value-import cycle of ${c.modules.length} module(s):\n  ${c.path.join('\n    → ')}\n`);
      if (c.modules.length > c.path.length - 1) process.stdout.write(`  component: ${c.modules.join(', ')}\n`);
    }
    process.stdout.write(
      `check-cycles: ${cycles.length} value-import cycle(s) (type-only imports do not count; break them with \`import type\`, a lower module, or a lazy import())\n`,
    );
    process.exitCode = 1;
  }
}
