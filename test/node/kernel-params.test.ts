/**
 * The kernel parameter schema (src/backends/kernelParams.ts) and its one generator
 * (scripts/gen-params.mjs): the generated files match the schema, the TypeScript writers and the
 * AssemblyScript accessors agree field by field in the compiled wasm, a swapped field is caught,
 * and malformed schemas or values are refused with clear messages.
 */
import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
// @ts-expect-error: a plain .mjs script without declarations
import * as gen from '../../scripts/gen-params.mjs';
import { KERNEL_PARAMS, type ParamSchema } from '../../src/backends/kernelParams.js';
import * as P from '../../src/generated/params.js';
import { shaders } from '../../src/generated/shaders.js';
import { PARALLEL_KERNELS } from '../../src/generated/exports.js';
import { checkParamsFingerprint, instantiateKernels } from '../../src/backends/wasm/loader.js';

const G = gen as {
  generate(): Promise<Record<string, string>>;
  layout(s: ParamSchema): {
    fields: { field: string; kind: string; fixed: number; vars: string[]; length?: number | string }[];
    pads: { at: number; words: number }[];
    fixedWords: number;
  };
  emitTs(s: readonly ParamSchema[]): string;
  emitAs(s: readonly ParamSchema[]): string;
  fingerprint(s: readonly ParamSchema[]): number;
  wgslParams(s: readonly ParamSchema[], name: string): string;
};
const root = join(import.meta.dirname, '..', '..');
const wasmBlocks = KERNEL_PARAMS.filter((s) => s.targets.includes('wasm'));
const writer = (name: string) =>
  (P as unknown as Record<string, (f: Record<string, unknown>) => Int32Array>)[`write${name[0]!.toUpperCase()}${name.slice(1)}`]!;

/** Distinct field values (variable arrays get small lengths, so blocks stay short). */
function sample(s: ParamSchema): Record<string, number | number[]> {
  const f: Record<string, number | number[]> = {};
  Object.entries(s.fields).forEach(([name, spec], i) => {
    if (spec === 'f32') f[name] = -1.5 - i;
    else if (typeof spec === 'string') f[name] = 1000 + 37 * i;
    else f[name] = Array.from({ length: typeof spec[1] === 'number' ? spec[1] : (f[spec[1]] as number) }, (_, j) => 5000 + 100 * i + j);
  });
  // length fields must be small: give them 2 and rebuild the arrays that use them
  for (const [name, spec] of Object.entries(s.fields)) {
    if (typeof spec !== 'string' && typeof spec[1] === 'string') {
      f[spec[1]] = 2;
      f[name] = [7000 + name.length, 7001 + name.length];
    }
  }
  return f;
}

/** Every field of block `k` read back through the AssemblyScript accessors; the names whose value disagrees with `f`. */
async function mismatches(k: number, block: Int32Array, f: Record<string, number | number[]>): Promise<string[]> {
  const ex = await instantiateKernels('simd');
  const at = ex.memory.buffer.byteLength; // a fresh page past the heap
  ex.memory.grow(1);
  new Int32Array(ex.memory.buffer).set(block, at >>> 2);
  const lay = G.layout(wasmBlocks[k]!);
  const bad: string[] = [];
  lay.fields.forEach((fd, i) => {
    const got = ex.paramsProbe(k, i, at);
    if (fd.kind === 'array') {
      const words = new Int32Array(ex.memory.buffer, at + got, (f[fd.field] as number[]).length);
      if (words.join() !== (f[fd.field] as number[]).join()) bad.push(fd.field);
    } else if (got !== (fd.kind === 'f32' ? f32Bits(f[fd.field] as number) : f[fd.field])) bad.push(fd.field);
  });
  return bad;
}

const f32Bits = (v: number) => new Int32Array(Float32Array.of(v).buffer)[0]!;
/** Whether field k of block s is a variable-length array. */
const variable = (s: ParamSchema, k: string) => {
  const spec = s.fields[k]!;
  return typeof spec !== 'string' && typeof spec[1] === 'string';
};

/**
 * WGSL's uniform layout of the generated `struct Params`, computed from its text (the language's
 * rules, independently of the generator): member → word offset and words.
 */
function wgslOffsets(struct: string): Map<string, { at: number; words: number }> {
  const out = new Map<string, { at: number; words: number }>();
  let at = 0;
  for (const m of struct.matchAll(/^ {2}(\w+): (.+),$/gm)) {
    const type = m[2]!;
    const arr = /^array<vec4<(?:u32|i32|f32)>, (\d+)>$/.exec(type);
    if (arr) {
      at = Math.ceil(at / 4) * 4; // align 16 bytes
      out.set(m[1]!, { at, words: 4 * Number(arr[1]) });
      at += 4 * Number(arr[1]);
    } else {
      expect(['u32', 'i32', 'f32'], `${m[1]}: ${type}`).toContain(type);
      out.set(m[1]!, { at, words: 1 });
      at += 1;
    }
  }
  return out;
}

describe('kernel parameter schema', () => {
  it('the generated files are what the generator makes of the schema now (npm run build:gen is current)', async () => {
    const files = await G.generate();
    expect(Object.keys(files).sort()).toEqual(['assembly/kernels/params.ts', 'src/generated/exports.ts', 'src/generated/params.ts']);
    for (const [rel, text] of Object.entries(files)) expect(readFileSync(join(root, rel), 'utf8'), rel).toBe(text);
  });

  it('every wasm block: each field written by name in TypeScript reads back by name in the compiled AssemblyScript', async () => {
    expect(wasmBlocks.length).toBeGreaterThan(0);
    for (let k = 0; k < wasmBlocks.length; k++) {
      const s = wasmBlocks[k]!;
      const f = sample(s);
      expect(await mismatches(k, writer(s.name)(f), f), s.name).toEqual([]);
    }
  });

  it('a field swap is caught: two words exchanged in a block are reported by name', async () => {
    const k = wasmBlocks.findIndex((s) => s.name === 'gconv');
    const f = sample(wasmBlocks[k]!);
    const block = writer('gconv')(f);
    [block[P.GCONV.CIN], block[P.GCONV.COUT]] = [block[P.GCONV.COUT]!, block[P.GCONV.CIN]!];
    expect(await mismatches(k, block, f)).toEqual(['CIN', 'COUT']);
  });

  it('a swap in the schema moves the field in every output together and changes the fingerprint the loader checks', () => {
    const swapped = KERNEL_PARAMS.map((s) => {
      if (s.name !== 'gconv') return s;
      const { CIN, COUT, ...rest } = s.fields;
      return { ...s, fields: { B: rest.B!, COUT: COUT!, CIN: CIN!, ...rest } };
    });
    const ts = G.emitTs(swapped);
    const as = G.emitAs(swapped);
    expect(ts).toMatch(/export const GCONV = \{\n {2}B: 0,\n {2}COUT: 1,\n {2}CIN: 2,/);
    expect(as).toContain('gconv_COUT(p: usize): i32 { return load<i32>(p, 4); }');
    expect(as).toContain('gconv_CIN(p: usize): i32 { return load<i32>(p, 8); }');
    const fp = G.fingerprint(swapped);
    expect(fp).not.toBe(P.PARAMS_FINGERPRINT);
    expect(G.fingerprint(KERNEL_PARAMS)).toBe(P.PARAMS_FINGERPRINT);
    const stale = { PARAMS_FINGERPRINT: new WebAssembly.Global({ value: 'i32' }, fp) };
    expect(() => checkParamsFingerprint(stale)).toThrow(/another parameter schema .*rebuild with npm run build:gen/);
    expect(() => checkParamsFingerprint({ PARAMS_FINGERPRINT: new WebAssembly.Global({ value: 'i32' }, P.PARAMS_FINGERPRINT) })).not.toThrow();
  });

  it('writers refuse missing, fractional, out-of-range values and wrong array lengths, naming block and field', () => {
    const f = sample(KERNEL_PARAMS.find((s) => s.name === 'gconv')!);
    expect(() => P.writeGconv({ ...(f as unknown as P.GconvParams), CIN: 2.5 })).toThrow(
      /gconv parameters: CIN must be an integer in \[-2147483648, 2147483647\] \(got 2.5\)/,
    );
    expect(() => P.writeGconv({ ...(f as unknown as P.GconvParams), W: -4 })).toThrow(/gconv parameters: W must be an integer in \[0, 4294967295\]/);
    const { B: _b, ...noB } = f;
    expect(() => writer('gconv')(noB)).toThrow(/gconv parameters: B must be an integer .*got undefined/);
    const c = sample(KERNEL_PARAMS.find((s) => s.name === 'conv')!);
    expect(() => writer('conv')({ ...c, ax: new Array(25).fill(1) })).toThrow(/conv parameters: ax must hold at most 24 values \(got 25\)/);
    // type level: a misspelt or missing field does not compile
    // @ts-expect-error: Cin is spelt CIN in gconv
    expect(() => P.writeGconv({ ...(f as unknown as P.GconvParams), B: undefined as unknown as number, Cin: 1 })).toThrow(/B must be/);
  });

  it('WGSL blocks: the struct lists the fields in schema order, and the shaders embed exactly it', () => {
    for (const s of KERNEL_PARAMS.filter((b) => b.targets.includes('wgsl'))) {
      const struct = G.wgslParams(KERNEL_PARAMS, s.name);
      const members = [...struct.matchAll(/^ {2}(\w+):/gm)].map((m) => m[1]).filter((m) => !m!.startsWith('_pad'));
      // variable arrays (a block's tail) are the wasm kernel's: not in the fixed-size uniform struct
      expect(members, s.name).toEqual(Object.keys(s.fields).filter((k) => !variable(s, k)));
      const users = Object.entries(shaders).filter(([, src]) => src.includes(`// ---- begin params ${s.name} `));
      expect(users.length, `${s.name}: shaders using it`).toBeGreaterThan(0);
      for (const [shader, src] of users) expect(src, `${shader}.wgsl`).toContain(struct);
      // the writer's block is the struct's size (uniform layout: 16-byte multiple)
      expect(writer(s.name)(sample(s)).length % 4).toBe(0);
    }
  });

  it("every WGSL block: each field written by name in TypeScript sits where WGSL's uniform layout puts the struct member", () => {
    const blocks = KERNEL_PARAMS.filter((b) => b.targets.includes('wgsl'));
    expect(blocks.map((b) => b.name)).toContain('argmaxPool'); // a block for both targets, with a wasm-only tail
    for (const s of blocks) {
      const offsets = wgslOffsets(G.wgslParams(KERNEL_PARAMS, s.name));
      const f = sample(s);
      const block = writer(s.name)(f);
      const size = Math.ceil(Math.max(...[...offsets.values()].map((o) => o.at + o.words)) / 4) * 4;
      // behind the struct: only the variable arrays' values (wasm reads them), then zeros to a 16-byte multiple
      const { fixedWords } = G.layout(s);
      const tail = Object.keys(s.fields)
        .filter((k) => variable(s, k))
        .flatMap((k) => f[k] as number[]);
      expect(fixedWords, `${s.name}: fixed words`).toBeLessThanOrEqual(size);
      expect([...block.subarray(fixedWords, fixedWords + tail.length)], `${s.name}: tail`).toEqual(tail);
      expect(block.length, `${s.name}: block size`).toBe(Math.max(size, Math.ceil((fixedWords + tail.length) / 4) * 4));
      for (const [member, { at, words }] of offsets) {
        const got = [...block.subarray(at, at + words)];
        if (member.startsWith('_pad')) {
          expect(got, `${s.name}.${member}`).toEqual([0]);
          continue;
        }
        const v = f[member]!;
        const want = Array.isArray(v)
          ? [...v, ...new Array<number>(words - v.length).fill(0)]
          : [typeof s.fields[member] === 'string' && s.fields[member] === 'f32' ? f32Bits(v) : v];
        expect(got, `${s.name}.${member}`).toEqual(want);
      }
    }
  });

  it("f32 fields carry the float's bits (±inf included); anything but a number is refused", () => {
    const s = KERNEL_PARAMS.find((b) => b.name === 'reduce')!;
    const f = sample(s);
    const at = G.layout(s).fields.find((x) => x.field === 'identity')!.fixed;
    expect(new Float32Array(writer('reduce')({ ...f, identity: -Infinity }).buffer)[at]).toBe(-Infinity);
    expect(new Float32Array(writer('reduce')({ ...f, identity: 0.1 }).buffer)[at]).toBe(Math.fround(0.1));
    expect(() => writer('reduce')({ ...f, identity: '0' })).toThrow(/reduce parameters: identity must be a number \(got 0\)/);
  });

  it('no hand-written layout is left: every shader takes its Params from the schema, every wasm kernel with a block reads it through the accessors', () => {
    const dir = join(root, 'shaders');
    for (const f of readdirSync(dir).filter((x) => x.endsWith('.wgsl'))) {
      const src = readFileSync(join(dir, f), 'utf8');
      expect(src, f).toMatch(/^\/\/! params \w+$/m);
      expect(src, f).not.toMatch(/struct Params/);
    }
    // assembly/: a block is read only through ./params (no load<…>(p, offset) of a parameter block)
    const kdir = join(root, 'assembly', 'kernels');
    for (const f of readdirSync(kdir).filter((x) => x.endsWith('.ts') && x !== 'params.ts')) {
      const src = readFileSync(join(kdir, f), 'utf8')
        .replace(/\/\*[\s\S]*?\*\//g, '')
        .replace(/\/\/.*$/gm, '');
      expect(src, f).not.toMatch(/load<[iu]32>\((?:p|prm)(?:,|\))/);
    }
    // every block the schema declares is used: a writer call in src/backends, an accessor or a //! params line
    const used = (s: ParamSchema) => {
      const P = `write${s.name[0]!.toUpperCase()}${s.name.slice(1)}(`;
      const files = ['wasm', 'webgpu', 'webgpu/kernels'].flatMap((d) =>
        readdirSync(join(root, 'src/backends', d))
          .filter((x) => x.endsWith('.ts'))
          .map((x) => join(root, 'src/backends', d, x)),
      );
      return files.some((f) => readFileSync(f, 'utf8').includes(P));
    };
    for (const s of KERNEL_PARAMS) expect(used(s), `${s.name}: no write${s.name} call in src/backends`).toBe(true);
  });

  it('the generator refuses malformed blocks', () => {
    const bad =
      (fields: ParamSchema['fields'], targets: ParamSchema['targets'] = ['wasm']) =>
      () =>
        G.layout({ name: 'x', targets, doc: '', fields });
    expect(bad({ n: 'i32', a: ['i32', 'n'], b: 'i32' })).toThrow(/x\.b: a scalar after a variable-length array/);
    expect(bad({ a: ['i32', 'n'] })).toThrow(/x\.a: length "n" must name an earlier i32\/u32 field/);
    expect(bad({ n: 'i32', a: ['i32', 6] }, ['wgsl'])).toThrow(/x\.a: a WGSL array must hold a multiple of 4 values/);
    expect(bad({ n: 'i32', a: ['i32', 4], f: 'f32' })).not.toThrow(); // a fixed array may be followed by scalars
    // WGSL arrays start at 16 bytes: the generator pads (wasm-only blocks are not padded)
    expect(G.layout({ name: 'x', targets: ['wgsl'], doc: '', fields: { n: 'i32', a: ['i32', 4] } }).pads).toEqual([{ at: 1, words: 3 }]);
    expect(G.layout({ name: 'x', targets: ['wasm'], doc: '', fields: { n: 'i32', a: ['i32', 4] } }).pads).toEqual([]);
    expect(bad({ n: 'f32', a: ['i32', 'n'] })).toThrow(/x\.a: length "n" must name an earlier i32\/u32 field/);
    expect(bad({ n: 'f64' as 'i32' })).toThrow(/x\.n: unknown type "f64"/);
  });

  it('the parallel kernel list is generated from assembly/ (every (params, tid, nt) export)', () => {
    expect([...PARALLEL_KERNELS].sort()).toEqual(['binarySamePart', 'fgrad', 'gather', 'gconv', 'matmulPart', 'scatterAdd', 'strided', 'unaryPart']);
  });
});
