/**
 * Checkpoints: safetensors bytes parsed by a hand-written reader per the spec; round trips give
 * identical outputs; truncated and corrupted files give clear errors; optimizer state round-trips;
 * saves are atomic (no temp file left, a failed write leaves the previous file intact — also when
 * the writing process hits a file-size limit mid-write).
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import ts from 'typescript';
import { afterAll, describe, expect, it } from 'vitest';
import { memory, random, tensor, version, type Tensor } from '../../../src/index.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { BatchNorm, Sequential, State } from '../../../src/nn/layers/index.js';
import { type Params } from '../../../src/nn/module.js';
import { buildModule } from '../../../src/nn/registry.js';
import { load, save } from '../../../src/io/checkpoint-node.js';
import { loadCheckpoint, saveCheckpoint } from '../../../src/io/index.js';
import { deserialize, serialize, serializeSync } from '../../../src/io/safetensors.js';
import { adam, disposeTree, type OptState } from '../../../src/train/optim.js';
import { EpochStop } from '../../../src/train/stopping.js';
import { train } from '../../../src/train/train.js';
import { leavesWithPaths } from '../../../src/train/tree.js';
import { allclose, values } from '../../util.js';

const D = 2;
const input = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const output = [
  { k: 0, parity: 0 as const, channels: 2 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const make = (seed = 2) => new ConvContract({ D, input, output, M: 3 }, random.key(seed));
const sample = () => new MultiImage(tensor(random.uniform(random.key(11), 2 * 5 * 5 * 3, -1, 1), [2, 5, 5, 3]), input, D);
const dirs: string[] = [];
const tmp = () => {
  const d = mkdtempSync(join(tmpdir(), 'geoconv-ckpt-'));
  dirs.push(d);
  return d;
};
afterAll(() =>
  dirs.forEach((d) => {
    try {
      execFileSync('chattr', ['-i', d], { stdio: 'ignore' });
    } catch {
      /* not set */
    }
    chmodSync(d, 0o700);
    rmSync(d, { recursive: true, force: true });
  }),
);

/** A safetensors file from a header object and raw data (for crafting bad files). */
function craft(header: Record<string, unknown>, data: Uint8Array, pad = true): Uint8Array {
  let json = new TextEncoder().encode(JSON.stringify(header));
  if (pad && json.length % 8) json = Uint8Array.from([...json, ...new Array(8 - (json.length % 8)).fill(0x20)]);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

/** Hand-written reader per the safetensors spec. */
function readBySpec(bytes: Uint8Array) {
  const view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const n = Number(view.getBigUint64(0, true));
  const text = new TextDecoder().decode(bytes.subarray(8, 8 + n));
  const header = JSON.parse(text) as Record<string, { dtype: string; shape: number[]; data_offsets: [number, number] }>;
  const { __metadata__: meta, ...tensors } = header as unknown as Record<string, never> & { __metadata__: Record<string, string> };
  const data: Record<string, { shape: number[]; values: number[]; offsets: [number, number]; dtype: string }> = {};
  for (const [name, info] of Object.entries(tensors) as [string, { dtype: string; shape: number[]; data_offsets: [number, number] }][]) {
    const [b, e] = info.data_offsets;
    const vals: number[] = [];
    for (let at = 8 + n + b; at < 8 + n + e; at += 4) vals.push(view.getFloat32(at, true));
    data[name] = { shape: info.shape, values: vals, offsets: info.data_offsets, dtype: info.dtype };
  }
  return { n, text, meta, data };
}

const outputOf = (model: { apply(p: Params, x: MultiImage): MultiImage }, params: Params, x: MultiImage) => {
  const y = model.apply(params, x);
  const v = Array.from(values(y.data));
  y.dispose();
  return v;
};

describe('safetensors bytes', () => {
  it('parse by the spec: header length, 8-byte alignment, JSON, metadata, F32 entries, contiguous offsets', async () => {
    const model = make();
    const bytes = await serialize(model, model.params);
    const { n, text, meta, data } = readBySpec(bytes);
    expect(n % 8).toBe(0);
    expect(text.startsWith('{')).toBe(true);
    expect(text.trimEnd().endsWith('}')).toBe(true);
    expect(meta.format).toBe('geoconv');
    expect(meta.format_version).toBe('1');
    expect(meta.geoconv_version).toBe(version);
    expect(JSON.parse(meta.config!)).toEqual(JSON.parse(JSON.stringify(model.config)));
    const leaves = leavesWithPaths(model.params);
    expect(Object.keys(data).sort()).toEqual(leaves.map(([p]) => p).sort());
    let end = 0;
    for (const [path, t] of leaves) {
      const d = data[path]!;
      expect(d.dtype).toBe('F32');
      expect(d.shape).toEqual([...t.shape]);
      expect(d.values).toEqual(Array.from(t.dataSync()));
      end = Math.max(end, d.offsets[1]);
    }
    expect(
      Object.values(data)
        .map((d) => d.offsets[0])
        .sort((a, b) => a - b)[0],
    ).toBe(0);
    expect(bytes.length).toBe(8 + n + end);
    expect(Object.keys(data)).toContain('weights.0,0>0,0');
    expect(Object.keys(data)).toContain('bias.1,0');
    expect(serializeSync(model)).toEqual(bytes);
    model.dispose();
  });

  it('round trip: the rebuilt model gives identical outputs; deserialize is leak-free', async () => {
    const model = make();
    const x = sample();
    const bytes = await serialize(model, model.params);
    const before = memory().tensors;
    const d = deserialize(bytes.slice().buffer);
    expect(d.config).toEqual(JSON.parse(JSON.stringify(model.config)));
    const rebuilt = buildModule(d.config!, random.key(99));
    expect(outputOf(rebuilt, d.params, x)).toEqual(outputOf(model, model.params, x));
    disposeTree(d.params);
    rebuilt.dispose();
    expect(memory().tensors).toBe(before);
    for (const m of [x, model]) m.dispose();
  });

  it('reads from an unaligned view (Node Buffers from pools)', async () => {
    const model = make();
    const bytes = await serialize(model);
    const shifted = new Uint8Array(bytes.length + 1);
    shifted.set(bytes, 1);
    const d = deserialize(shifted.subarray(1));
    for (const [path, t] of leavesWithPaths(model.params)) expect(Array.from(values(d.tensors.get(path)!))).toEqual(Array.from(t.dataSync()));
    disposeTree(d.params);
    model.dispose();
  });

  it('truncated files say so', async () => {
    const model = make();
    const bytes = await serialize(model);
    const n = new DataView(bytes.buffer).getUint32(0, true);
    expect(() => deserialize(bytes.slice(0, 5))).toThrow(/truncated file: 5 bytes, fewer than the 8-byte header length/);
    expect(() => deserialize(bytes.slice(0, 8 + n - 10))).toThrow(
      new RegExp(`truncated file: the header length says ${n} bytes of JSON but only ${n - 10} bytes follow`),
    );
    expect(() => deserialize(bytes.slice(0, bytes.length - 4))).toThrow(
      /truncated file: the tensors need \d+ bytes of data after the header but only \d+ are there/,
    );
    model.dispose();
  });

  it('corrupted files say what is wrong', async () => {
    const model = make();
    const bytes = await serialize(model);
    const bad = bytes.slice();
    bad[8 + 1] = 0x7b; // '{{' — not JSON
    expect(() => deserialize(bad)).toThrow(/corrupted header: invalid JSON/);
    const huge = bytes.slice();
    new DataView(huge.buffer).setUint32(4, 7, true);
    expect(() => deserialize(huge)).toThrow(/corrupted header: its length field says \d+ bytes/);
    const f4 = new Uint8Array(16);
    expect(() => deserialize(craft({ w: { dtype: 'F16', shape: [8], data_offsets: [0, 16] } }, f4))).toThrow(
      /tensor "w" has dtype F16; geoconv reads F32 only/,
    );
    expect(() => deserialize(craft({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 16] } }, f4))).toThrow(
      /tensor "w" of shape \[3\] needs 12 bytes of F32 but its data_offsets \[0, 16\] span 16/,
    );
    expect(() =>
      deserialize(craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] }, b: { dtype: 'F32', shape: [2], data_offsets: [8, 16] } }, f4)),
    ).toThrow(/tensor "b" starts at byte 8 of the data but the previous tensor ends at 4 \(gap\)/);
    expect(() => deserialize(craft({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] } }, f4))).toThrow(/8 trailing bytes after the last tensor/);
    expect(() => deserialize(craft({ a: { dtype: 'F32', shape: 'x', data_offsets: [0, 8] } }, f4))).toThrow(
      /tensor "a" has shape "x", not a list of integers >= 0/,
    );
    expect(() => deserialize(craft({ __metadata__: { config: '{oops' } }, new Uint8Array(0)))).toThrow(/corrupted metadata: "config" is not valid JSON/);
    expect(() => deserialize(craft({ __metadata__: { n: 3 } }, new Uint8Array(0)))).toThrow(/__metadata__\["n"\] must be a string/);
    const notObj = craft({}, new Uint8Array(0));
    notObj.set(new TextEncoder().encode('[1]     '), 8);
    expect(() => deserialize(notObj)).toThrow(/must be a JSON object starting with "\{"/);
    model.dispose();
  });

  it('optimizer state and step round-trip (tensors under "opt.", numbers in the metadata)', async () => {
    const model = make();
    const opt = adam({ learningRate: 0.01 });
    let state: OptState = opt.init(model.params);
    const g: Params = Object.fromEntries(Object.entries(model.params)) as Params; // any tree of the right shape
    for (let i = 0; i < 2; i++) {
      const r = opt.update(g, state, model.params);
      disposeTree(r.updates);
      disposeTree(state);
      state = r.state;
    }
    const bytes = await serialize(model, model.params, { optState: state, step: 2, metadata: { note: 'hi' } });
    const { meta, data } = readBySpec(bytes);
    expect(meta.optimizer_step).toBe('2');
    expect(meta.note).toBe('hi');
    expect(Object.keys(data)).toContain('opt.0.mu.weights.0,0>0,0');
    const d = deserialize(bytes);
    expect(d.step).toBe(2);
    const s = d.optState as [{ count: number; mu: Params; nu: Params }, object];
    expect(s[0].count).toBe(2);
    expect(s[1]).toEqual({});
    const want = leavesWithPaths(state);
    const got = leavesWithPaths(d.optState);
    expect(got.map(([p]) => p)).toEqual(want.map(([p]) => p));
    got.forEach(([, t], i) => allclose(values(t), want[i]![1].dataSync(), { rtol: 0, atol: 0 }));
    expect(Object.keys(d.params).sort()).toEqual(['bias', 'weights']);
    await expect(serialize(model, model.params, { metadata: { config: 'x' } })).rejects.toThrow(/metadata key "config" is reserved/);
    disposeTree(d.params);
    disposeTree(d.optState);
    disposeTree(state);
    model.dispose();
  });
});

describe('checkpoint files (Node)', () => {
  it('save/load: identical outputs, no temp file left, overwrite keeps one file', async () => {
    const dir = tmp();
    const path = join(dir, 'model.safetensors');
    const model = make();
    const x = sample();
    await save(path, model);
    await save(path, model); // overwrite
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    const before = memory().tensors;
    const loaded = await load(path);
    expect(loaded.model.config).toEqual(JSON.parse(JSON.stringify(model.config)));
    expect(loaded.model.params).toBe(loaded.params);
    expect(outputOf(loaded.model, loaded.model.params, x)).toEqual(outputOf(model, model.params, x));
    loaded.model.dispose();
    expect(memory().tensors).toBe(before);
    // the lazy, browser-safe entry points
    await saveCheckpoint(join(dir, 'b.safetensors'), model);
    const b = await loadCheckpoint(join(dir, 'b.safetensors'));
    expect(outputOf(b.model, b.params, x)).toEqual(outputOf(model, model.params, x));
    b.model.dispose();
    for (const m of [x, model]) m.dispose();
  });

  it('batch-norm running statistics round-trip as module state ("state.<module path>.<entry>")', async () => {
    const before = memory().tensors;
    const dir = tmp();
    const path = join(dir, 'bn.safetensors');
    const model = new Sequential([make(), new Sequential([new BatchNorm({ D, input: output })])]);
    const x = sample();
    const state = new State();
    for (let i = 0; i < 2; i++) model.apply(model.params, x, { training: true, state } as never).dispose();
    const inference = (m: Sequential, s?: State) => {
      const y = m.apply(m.params, x, { training: false, state: s } as never);
      const v = Array.from(values(y.data));
      y.dispose();
      return v;
    };
    await save(path, model, undefined, { state });
    const { data, meta } = readBySpec(readFileSync(path));
    expect(JSON.parse(meta.module_state!).sort()).toEqual(['1.0.mean', '1.0.var']);
    expect(data['state.1.0.mean']!.values.length).toBe(4); // 2 scalars + 1 vector, D = 2
    const l = await load(path);
    expect(l.state!.size).toBe(1);
    const seq = l.model as Sequential;
    // ref computes the statistics in float64; the file holds float32
    allclose(inference(seq, l.state), inference(model, state), { rtol: 1e-6, atol: 1e-7 });
    expect(inference(seq)).not.toEqual(inference(model, state)); // the saved statistics matter
    // bytes API: deserialize gives the tensors, State.fromNamed binds them to a rebuilt model
    const d = deserialize(readFileSync(path));
    const rebuilt = buildModule(d.config!, random.key(0));
    const s2 = State.fromNamed(rebuilt, d.stateTensors!);
    expect(s2.size).toBe(1);
    for (const m of [rebuilt, s2, l.model, l.state!, state, x, model]) m.dispose();
    disposeTree(d.params);
    expect(memory().tensors).toBe(before);
  });

  it('module state: clear errors for foreign modules, unknown names, wrong shapes and a config-only save', async () => {
    const model = new Sequential([make(), new BatchNorm({ D, input: output })]);
    const other = new BatchNorm({ D, input: output });
    const foreign = new State();
    foreign.set(other, { mean: tensor([0, 0, 0]), var: tensor([1, 1, 1]) });
    await expect(serialize(model, undefined, { state: foreign })).rejects.toThrow(/statistics of a BatchNorm module that is not part of the Sequential model/);
    await expect(serialize(model.config, model.params, { state: new State() })).rejects.toThrow(/needs the Module/);
    const t3 = tensor([0, 0, 0]);
    expect(() => State.fromNamed(model, new Map([['2.mean', t3]]))).toThrow(/"2.mean" names no statistic of a module of the Sequential model/);
    expect(() => State.fromNamed(model, new Map([['1.scale', t3]]))).toThrow(/"1.scale" names no statistic/);
    const t2 = tensor([0, 0]);
    expect(() => State.fromNamed(model, new Map([['1.mean', t2]]))).toThrow(/"1.mean" has shape \[2\], the module expects \[4\]/);
    // a file whose module_state lists a tensor it lacks
    const good = await serialize(model, undefined, { state: new State() });
    const { n, text } = readBySpec(good);
    const header = JSON.parse(text) as Record<string, unknown>;
    header.__metadata__ = { ...(header.__metadata__ as Record<string, string>), module_state: JSON.stringify(['1.mean']) };
    const bad = craft(header, good.subarray(8 + n));
    expect(() => deserialize(bad)).toThrow(/missing tensor "state.1.mean" of the module state/);
    for (const m of [t3, t2, other, foreign, model]) m.dispose();
  });

  it('nested models (Sequential): names are tree paths; sub-modules get the loaded parameters too', async () => {
    const dir = tmp();
    const path = join(dir, 'seq.safetensors');
    const model = new Sequential([make(), new BatchNorm({ D, input: output })]);
    const x = sample();
    await save(path, model);
    const { data } = readBySpec(readFileSync(path));
    expect(Object.keys(data).sort()).toEqual(
      leavesWithPaths(model.params)
        .map(([p]) => p)
        .sort(),
    );
    expect(Object.keys(data)).toContain('0.weights.1,0>1,0');
    expect(Object.keys(data)).toContain('1.weight');
    const l = await load(path);
    const seq = l.model as Sequential;
    expect(outputOf(seq, seq.params, x)).toEqual(outputOf(model, model.params, x));
    expect(seq.layers[0]!.params).toBe((l.params as Record<string, Params>)['0']);
    const direct = seq.layers[0]!.call(x);
    const want = model.layers[0]!.call(x);
    expect(Array.from(values(direct.data))).toEqual(Array.from(values(want.data)));
    for (const m of [direct, want, x, model, seq]) m.dispose();
  });

  it('load validates against the rebuilt model: missing tensor, shape mismatch, unexpected tensor, no config', async () => {
    const dir = tmp();
    const model = make();
    const config = JSON.stringify(model.config);
    const leaves = leavesWithPaths(model.params);
    const file = (entries: [string, number[]][]) => {
      const header: Record<string, unknown> = { __metadata__: { format: 'geoconv', config } };
      let off = 0;
      for (const [name, shape] of entries) {
        const bytes = 4 * shape.reduce((p, d) => p * d, 1);
        header[name] = { dtype: 'F32', shape, data_offsets: [off, off + bytes] };
        off += bytes;
      }
      const p = join(dir, `f${Math.random().toString(36).slice(2)}.safetensors`);
      writeFileSync(p, craft(header, new Uint8Array(off)));
      return p;
    };
    const all = leaves.map(([p, t]) => [p, [...t.shape]] as [string, number[]]);
    const before = memory().tensors;
    await expect(load(file(all.filter(([p]) => p !== 'bias.0,0')))).rejects.toThrow(/missing tensor "bias\.0,0" \(shape \[2\]\)/);
    const w = all.find(([p]) => p === 'weights.0,0>0,0')!;
    await expect(load(file(all.map(([p, s]) => (p === w[0] ? [p, [...s].reverse()] : [p, s]))))).rejects.toThrow(
      new RegExp(`shape mismatch for "weights\\.0,0>0,0": the file has \\[${[...w[1]].reverse().join(',')}\\], the model expects \\[${w[1].join(',')}\\]`),
    );
    await expect(load(file([...all, ['extra', [2]]]))).rejects.toThrow(/unexpected tensor "extra" \(not a parameter of the ConvContract model\)/);
    const noConfig = join(dir, 'plain.safetensors');
    writeFileSync(noConfig, craft({ a: { dtype: 'F32', shape: [1], data_offsets: [0, 4] } }, new Uint8Array(4)));
    await expect(load(noConfig)).rejects.toThrow(/no model config in the metadata/);
    await expect(load(join(dir, 'nope.safetensors'))).rejects.toThrow(/cannot read the file \(ENOENT\)/);
    const truncated = join(dir, 'trunc.safetensors');
    writeFileSync(truncated, (await serialize(model)).slice(0, 100));
    await expect(load(truncated)).rejects.toThrow(new RegExp(`load\\("${truncated.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}"\\): truncated file`));
    expect(memory().tensors).toBe(before);
    model.dispose();
  });

  it('resume from a checkpoint with optimizer state continues like an uninterrupted run', async () => {
    const dir = tmp();
    const x = sample();
    const teacher = make(1);
    const y = teacher.call(x);
    const model = make(2);
    const opt = adam({ learningRate: 0.03 });
    const full = await train({ model, x, y, optimizer: opt, batchSize: 1, key: random.key(8), stop: new EpochStop(4) });
    const a = await train({ model, x, y, optimizer: opt, batchSize: 1, key: random.key(8), stop: new EpochStop(2) });
    const path = join(dir, 'resume.safetensors');
    await save(path, model, a.params, { optState: a.optState, step: a.step });
    const l = await load(path);
    expect(l.step).toBe(4);
    const b = await train({ model: l.model, x, y, optimizer: opt, optState: l.optState, step: l.step, batchSize: 1, key: a.key, stop: new EpochStop(2) });
    expect(b.step).toBe(full.step);
    // the checkpoint rounds ref's float64 state to float32, so agreement is to float32 precision
    allclose(
      leavesWithPaths(b.params).flatMap(([, t]) => Array.from(values(t))),
      leavesWithPaths(full.params).flatMap(([, t]) => Array.from(values(t))),
      { rtol: 1e-4, atol: 1e-6 },
    );
    for (const r of [full, a, b]) {
      disposeTree(r.params);
      disposeTree(r.optState);
    }
    disposeTree(l.optState);
    for (const m of [x, y, teacher, model, l.model]) m.dispose();
  });

  it('a failed write (unwritable directory) leaves the previous file intact and no temp file', async (ctx) => {
    const dir = tmp();
    const path = join(dir, 'model.safetensors');
    const model = make();
    await save(path, model);
    const previous = readFileSync(path);
    const probe = () => {
      try {
        writeFileSync(join(dir, '.probe'), 'x');
        rmSync(join(dir, '.probe'));
        return true;
      } catch {
        return false;
      }
    };
    chmodSync(dir, 0o500);
    let how = 'chmod 0500';
    if (probe()) {
      chmodSync(dir, 0o700);
      try {
        execFileSync('chattr', ['+i', dir], { stdio: 'ignore' });
        how = 'chattr +i';
      } catch {
        /* unsupported */
      }
    }
    if (probe()) {
      model.dispose();
      ctx.skip('cannot make a directory unwritable here (root without CAP_LINUX_IMMUTABLE); the mid-write failure test covers failed writes');
    }
    try {
      await expect(save(path, make(3))).rejects.toThrow(
        /save: could not write ".*model\.safetensors" \((EACCES|EPERM)\): .*any previous file there is unchanged/,
      );
    } finally {
      if (how === 'chattr +i') execFileSync('chattr', ['-i', dir]);
      chmodSync(dir, 0o700);
    }
    expect(readFileSync(path).equals(previous)).toBe(true);
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
    model.dispose();
  });

  it.skipIf(process.platform === 'win32')('a write that fails mid-way (file-size limit in a child process) leaves the previous file intact', () => {
    const dir = tmp();
    const target = join(dir, 'model.safetensors');
    writeFileSync(target, 'previous contents');
    // The atomic writer has only node: imports: transpile it for a plain-Node child process.
    const source = readFileSync(new URL('../../../src/io/atomic-write-node.ts', import.meta.url), 'utf8');
    const js = ts.transpileModule(source, { compilerOptions: { module: ts.ModuleKind.ESNext, target: ts.ScriptTarget.ES2022 } }).outputText;
    const work = tmp();
    writeFileSync(join(work, 'atomic.mjs'), js);
    writeFileSync(
      join(work, 'child.mjs'),
      `import { writeFileAtomic } from './atomic.mjs';
await writeFileAtomic(${JSON.stringify(target)}, new Uint8Array(4 << 20).fill(7), 'save');
console.log('finished');`,
    );
    // ulimit -f: 64 blocks (32 or 64 KiB) — the 4 MiB write fails part-way with EFBIG.
    const r = spawnSync('/bin/sh', ['-c', `ulimit -f 64 && exec "${process.execPath}" child.mjs`], { cwd: work, encoding: 'utf8' });
    expect(r.status).not.toBe(0);
    expect(r.stdout).not.toMatch(/finished/);
    expect(r.stderr).toMatch(/save: could not write ".*model\.safetensors" \(EFBIG\).*any previous file there is unchanged/);
    expect(readFileSync(target, 'utf8')).toBe('previous contents');
    expect(readdirSync(dir)).toEqual(['model.safetensors']);
  });
});

export type { Tensor };
