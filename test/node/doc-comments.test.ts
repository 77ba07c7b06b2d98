/**
 * Every export of the public entry (src/index.ts, namespaces included) carries a doc comment, and
 * every exported class, function and value carries an @example. Read with the TypeScript compiler
 * API from the export list itself, so a new export without a comment or an example fails here.
 */
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import ts from 'typescript';

const root = fileURLToPath(new URL('../../', import.meta.url));

interface ExportDoc {
  readonly name: string;
  readonly file: string;
  readonly kind: 'class' | 'function' | 'value' | 'type' | 'namespace';
  readonly doc: string;
  readonly example: boolean;
}

let exportsDocs: ExportDoc[] = [];

beforeAll(() => {
  const program = ts.createProgram([`${root}src/index.ts`], {
    target: ts.ScriptTarget.ES2022,
    module: ts.ModuleKind.NodeNext,
    moduleResolution: ts.ModuleResolutionKind.NodeNext,
    skipLibCheck: true,
    noEmit: true,
    types: [],
  });
  const checker = program.getTypeChecker();
  const entry = checker.getSymbolAtLocation(program.getSourceFile(`${root}src/index.ts`)!)!;
  const out: ExportDoc[] = [];
  const visit = (module: ts.Symbol, prefix: string, via: ts.Symbol | null) => {
    for (const exported of checker.getExportsOfModule(module)) {
      const target = exported.flags & ts.SymbolFlags.Alias ? checker.getAliasedSymbol(exported) : exported;
      const decl = target.declarations?.[0];
      const name = prefix + exported.name;
      if (decl && ts.isSourceFile(decl)) {
        // `export * as random from …`: the namespace is documented by its file's opening comment
        const header = /^\/\*\*([\s\S]*?)\*\//.exec(decl.getFullText().trimStart());
        out.push({ name, file: decl.fileName, kind: 'namespace', doc: header?.[1]?.trim() ?? '', example: false });
        visit(target, `${name}.`, exported);
        continue;
      }
      const flags = target.flags;
      const kind = flags & ts.SymbolFlags.Class ? 'class' : flags & ts.SymbolFlags.Function ? 'function' : flags & ts.SymbolFlags.Value ? 'value' : 'type';
      out.push({
        name,
        file: decl?.getSourceFile().fileName.slice(root.length) ?? '?',
        kind,
        doc: ts.displayPartsToString(target.getDocumentationComment(checker)).trim(),
        example: target.getJsDocTags(checker).some((t) => t.name === 'example'),
      });
    }
    void via;
  };
  visit(entry, '', null);
  exportsDocs = out;
}, 60_000);

describe('doc comments on the public API', () => {
  it('reads the whole export list (namespaces included)', () => {
    const names = exportsDocs.map((e) => e.name);
    // a sample across the entry: classes, functions, types, namespace members
    for (const n of [
      'MultiImage',
      'GeometricImage',
      'Tensor',
      'ConvContract',
      'Module',
      'init',
      'train',
      'optim.adam',
      'random.key',
      'geometric.convolve',
      'PredictOptions',
      'KeyLike',
    ]) {
      expect(names).toContain(n);
    }
    expect(exportsDocs.length).toBeGreaterThan(400);
  });

  it('every export has a doc comment', () => {
    const missing = exportsDocs.filter((e) => !e.doc).map((e) => `${e.name} (${e.file})`);
    expect(missing).toEqual([]);
  });

  it('every exported class, function and value shows an @example', () => {
    const kinds = new Set(exportsDocs.map((e) => e.kind));
    for (const kind of ['class', 'function', 'value'] as const) expect(kinds, kind).toContain(kind);
    const without = exportsDocs
      .filter((e) => (e.kind === 'class' || e.kind === 'function' || e.kind === 'value') && !e.example)
      .map((e) => `${e.name} (${e.file})`);
    expect(without).toEqual([]);
  });

  it('doc comments do not send package users to files the package does not ship', () => {
    const bad = exportsDocs.filter((e) => /(^|[\s`(])(src|test|scripts|bench|assembly)\/[\w./-]+/.test(e.doc)).map((e) => `${e.name}: ${e.doc.slice(0, 80)}`);
    expect(bad).toEqual([]);
  });
});
