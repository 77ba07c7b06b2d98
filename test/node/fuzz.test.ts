/**
 * Fuzzing (issue 12): valid checkpoints and CLI argument lists, mutated with the repo's seeded PRNG,
 * within a time budget. Every case must end in a correct result or a clear error — never a hang
 * (each case is timed), a crash (an error that is not ours: stack overflow, "Invalid typed array
 * length", a TypeError from reading undefined), a leak (memory() is compared) or a partial file (a
 * loaded checkpoint is saved and read back; no temp file may remain). Prints how many cases ran.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { memory, random, setBackend, type Tensor } from '../../src/index.js';
import { ConvContract } from '../../src/nn/conv-contract.js';
import { Sequential } from '../../src/nn/layers/index.js';
import { UNet } from '../../src/nn/models.js';
import { checkpointFromBytes } from '../../src/io/checkpoint.js';
import { load, save } from '../../src/io/checkpoint-node.js';
import { deserialize, serializeSync } from '../../src/io/safetensors.js';
import { leavesWithPaths } from '../../src/train/tree.js';
import { main } from '../../src/cli.js';

setBackend('ref');
const SEED = 20_261_206;
/** Seconds of fuzzing per suite (the whole file stays well under a minute). */
const BUDGET_S = { checkpoints: 14, cli: 10 };
/** A single case taking longer than this is a hang. */
const CASE_MS = 3000;

/** A stream of uniform numbers in [0, 1) from the repo's PRNG (random.key / split / uniform). */
class Rng {
  #key: random.Key;
  #buf: Float32Array = new Float32Array(0);
  #at = 0;
  constructor(seed: number) {
    this.#key = random.key(seed);
  }
  next(): number {
    if (this.#at === this.#buf.length) {
      const [k, sub] = random.split(this.#key, 2) as [random.Key, random.Key];
      this.#key = k;
      this.#buf = random.uniform(sub, 4096);
      this.#at = 0;
    }
    return this.#buf[this.#at++]!;
  }
  int(n: number): number {
    return Math.min(n - 1, Math.floor(this.next() * n));
  }
  pick<T>(xs: readonly T[]): T {
    return xs[this.int(xs.length)]!;
  }
}

/** Errors that mean a bug, not a clear refusal. */
const CRASH =
  /Maximum call stack|Invalid typed array length|Invalid array length|Cannot read properties|is not a function|is not iterable|out of memory|undefined \(reading/;

const dirs: string[] = [];
afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

const scalar = [{ k: 0, parity: 0 as const, channels: 1 }];
const vec = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];

function seeds(): Uint8Array[] {
  const models = [
    new ConvContract({ D: 2, input: vec, output: vec, M: 3 }, random.key(1)),
    new UNet({ D: 2, input: scalar, output: scalar, depth: 1, numDownsamples: 1, numConv: 1, M: 3 }, random.key(2)),
    new Sequential([
      new ConvContract({ D: 2, input: scalar, output: vec, M: 3 }, random.key(3)),
      new ConvContract({ D: 2, input: vec, output: scalar, M: 3 }, random.key(4)),
    ]),
  ];
  const out = models.map((m) => serializeSync(m));
  models.forEach((m) => m.dispose());
  return out;
}

const enc = new TextEncoder();
const dec = new TextDecoder();

/** One mutation of a valid file: bytes, lengths, the header text, or the config inside it. */
function mutate(rng: Rng, base: Uint8Array): Uint8Array {
  const b = base.slice();
  const n = Number(new DataView(b.buffer).getBigUint64(0, true));
  const header = dec.decode(b.subarray(8, 8 + n));
  const data = b.subarray(8 + n);
  const rebuild = (text: string, body: Uint8Array = data): Uint8Array => {
    const json = enc.encode(text);
    const out = new Uint8Array(8 + json.length + body.length);
    new DataView(out.buffer).setUint32(0, json.length, true);
    out.set(json, 8);
    out.set(body, 8 + json.length);
    return out;
  };
  switch (rng.int(9)) {
    case 0: {
      // flip bytes anywhere
      for (let i = 1 + rng.int(4); i > 0; i--) b[rng.int(b.length)] = rng.int(256);
      return b;
    }
    case 1: // truncate or extend
      return rng.next() < 0.5 ? b.slice(0, rng.int(b.length)) : Uint8Array.from([...b, ...new Array(1 + rng.int(16)).fill(rng.int(256))]);
    case 2: {
      // the length field
      const v = new DataView(b.buffer);
      v.setUint32(rng.next() < 0.8 ? 0 : 4, rng.pick([0, 1, n - 1, n + 1, n + 8, 0xffffffff, rng.int(2 ** 20)]), true);
      return b;
    }
    case 3: {
      // a number in the header
      const nums = [...header.matchAll(/\d+/g)];
      if (!nums.length) return b;
      const m = rng.pick(nums);
      const repl = rng.pick(['0', '-1', '1.5', '4e0', '99999999999999999999', String(Number(m[0]) + 1), String(Number(m[0]) * 1000), '1e308']);
      return rebuild(header.slice(0, m.index) + repl + header.slice(m.index! + m[0].length));
    }
    case 4: {
      // a character of the header text
      const i = rng.int(header.length);
      return rebuild(header.slice(0, i) + rng.pick(['{', '}', '[', ']', '"', ',', ':', '\\', '\ufeff', '']) + header.slice(i + rng.int(2)));
    }
    case 5: {
      // duplicate or drop an entry of the header
      const h = JSON.parse(header) as Record<string, unknown>;
      const names = Object.keys(h);
      const name = rng.pick(names);
      const entry = `${JSON.stringify(name)}:${JSON.stringify(h[name])}`;
      if (rng.next() < 0.5) return rebuild(`{${entry},${header.trim().slice(1)}`);
      delete h[name];
      return rebuild(JSON.stringify(h));
    }
    case 6: {
      // rename a tensor (legal but odd names included)
      const h = JSON.parse(header) as Record<string, unknown>;
      const names = Object.keys(h).filter((k) => k !== '__metadata__');
      if (!names.length) return b;
      const name = rng.pick(names);
      const to = rng.pick(['constructor', '__proto__', 'toString', `${name}.x`, '', 'a'.repeat(300), 'weights', name.split('.')[0]!]);
      return rebuild(header.replace(JSON.stringify(name), JSON.stringify(to)));
    }
    default: {
      // the model config: numbers, types, nesting
      const h = JSON.parse(header) as { __metadata__: Record<string, string> };
      const config = JSON.parse(h.__metadata__.config!) as Record<string, unknown>;
      const wrapped = { type: 'ModelWrapper', model: JSON.parse(h.__metadata__.config!) as unknown, output: scalar };
      const edit = (o: Record<string, unknown>, depth: number): void => {
        const keys = Object.keys(o);
        const k = rng.pick(keys);
        const v = o[k];
        if (v && typeof v === 'object' && depth < 4 && rng.next() < 0.6) edit(v as Record<string, unknown>, depth + 1);
        else o[k] = rng.pick([0, -1, 1.5, 3, 1500, 100_000, 1e9, null, 'x', '__proto__', [], {}, true, wrapped]);
      };
      edit(config, 0);
      h.__metadata__.config = JSON.stringify(config);
      return rebuild(JSON.stringify(h));
    }
  }
}

/** Loads `bytes`; on success checks the values against the file and a save/load round trip. */
async function tryLoad(bytes: Uint8Array, dir: string): Promise<'loaded' | 'refused'> {
  let loaded: ReturnType<typeof checkpointFromBytes>;
  try {
    loaded = checkpointFromBytes(bytes);
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    expect(e).toBeInstanceOf(Error);
    expect(m.length).toBeGreaterThan(10);
    expect(m.length).toBeLessThan(4000);
    if (CRASH.test(m)) throw new Error(`a crash, not a clear error: ${m.slice(0, 600)}`);
    return 'refused';
  }
  try {
    const file = deserialize(bytes);
    for (const [path, t] of leavesWithPaths(loaded.params)) {
      expect(Array.from(t.dataSync())).toEqual(Array.from(file.tensors.get(path)!.dataSync()));
    }
    for (const t of file.tensors.values()) t.dispose();
    if (file.optState) for (const [, t] of leavesWithPaths(file.optState)) t.dispose();
    const path = join(dir, 'roundtrip.safetensors');
    await save(path, loaded.model);
    const again = await load(path);
    expect(leavesWithPaths(again.params).length).toBe(leavesWithPaths(loaded.params).length);
    again.model.dispose();
    expect(readdirSync(dir).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  } finally {
    loaded.model.dispose();
    loaded.state?.dispose?.();
    if (loaded.optState) for (const [, t] of leavesWithPaths(loaded.optState) as [string, Tensor][]) t.dispose();
  }
  return 'loaded';
}

describe('fuzz (seeded, time-bounded)', () => {
  it(`mutated checkpoints: a correct load or a clear error, no hang, crash, leak or partial file (seed ${SEED})`, async () => {
    const dir = mkdtempSync(join(tmpdir(), 'geoconv-fuzz-'));
    dirs.push(dir);
    const rng = new Rng(SEED);
    const bases = seeds();
    const before = memory();
    const counts = { loaded: 0, refused: 0 };
    const end = performance.now() + BUDGET_S.checkpoints * 1000;
    let cases = 0;
    while (performance.now() < end) {
      const bytes = mutate(rng, rng.pick(bases));
      const t0 = performance.now();
      counts[await tryLoad(bytes, dir)]++;
      const ms = performance.now() - t0;
      if (ms > CASE_MS) throw new Error(`fuzz case ${cases} took ${ms.toFixed(0)} ms (a hang)`);
      expect(memory()).toEqual(before);
      cases++;
    }
    console.log(
      `fuzz: ${cases} mutated checkpoints (${counts.loaded} loaded correctly, ${counts.refused} refused with a clear error) in ${BUDGET_S.checkpoints} s, seed ${SEED}`,
    );
    expect(cases).toBeGreaterThan(50);
    expect(counts.refused).toBeGreaterThan(0);
  }, 60_000);

  it(`mutated CLI argument lists: exit 0 or 2, no uncaught exception, no hang, no leak (seed ${SEED})`, async () => {
    const rng = new Rng(SEED + 1);
    const valid: string[][] = [
      ['filters', '--D', '2', '--M', '3', '--k', '1', '--parity', '0'],
      ['filters', '--D', '3', '--M', '3', '--k', '0', '--json'],
      ['filters', '--D', '2', '--M', '5', '--k', '2', '--scale', 'one'],
      ['help'],
      ['convert', '/nonexistent/geoconv-fuzz.eqx', '--out', '/nonexistent/out.safetensors'],
      ['export', '/nonexistent/geoconv-fuzz.safetensors', '--out', '/nonexistent/out.onnx'],
    ];
    const values = [
      '',
      '0',
      '-1',
      '1.5',
      '1e9',
      'NaN',
      'Infinity',
      '__proto__',
      'toString',
      'constructor',
      '--',
      '-',
      '301',
      '40',
      '2',
      '3',
      'one',
      'x'.repeat(500),
    ];
    const flags = ['--D', '--M', '--k', '--parity', '--scale', '--json', '--threads', '--__proto__', '--constructor', '--help', '--out', '--'];
    const before = memory();
    const end = performance.now() + BUDGET_S.cli * 1000;
    const codes = new Map<number, number>();
    let cases = 0;
    while (performance.now() < end) {
      const argv = [...rng.pick(valid)];
      for (let m = 1 + rng.int(3); m > 0; m--) {
        const i = 1 + rng.int(Math.max(1, argv.length - 1));
        switch (rng.int(5)) {
          case 0:
            argv[i] = rng.pick(values);
            break;
          case 1:
            argv.splice(i, 0, rng.pick(flags), rng.pick(values));
            break;
          case 2:
            argv.splice(i, 1);
            break;
          case 3:
            argv.push(argv[i] ?? '--D', rng.pick(values));
            break; // a repeated flag
          default:
            argv.splice(i, 0, rng.pick(flags));
        }
      }
      const t0 = performance.now();
      let code: number;
      try {
        code = await main(
          argv,
          () => undefined,
          () => undefined,
        );
      } catch (e) {
        throw new Error(`main(${JSON.stringify(argv)}) threw instead of returning an exit code: ${e instanceof Error ? e.message : String(e)}`);
      }
      const ms = performance.now() - t0;
      if (ms > CASE_MS) throw new Error(`main(${JSON.stringify(argv)}) took ${ms.toFixed(0)} ms (a hang)`);
      if (code !== 0 && code !== 2) throw new Error(`main(${JSON.stringify(argv)}) exited with ${code}, not 0 or 2`);
      codes.set(code, (codes.get(code) ?? 0) + 1);
      expect(memory()).toEqual(before);
      cases++;
    }
    setBackend('ref');
    console.log(
      `fuzz: ${cases} mutated CLI argument lists (exit 0: ${codes.get(0) ?? 0}, exit 2: ${codes.get(2) ?? 0}) in ${BUDGET_S.cli} s, seed ${SEED + 1}`,
    );
    expect(cases).toBeGreaterThan(50);
  }, 60_000);
});
