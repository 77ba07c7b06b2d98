/**
 * Hostile checkpoints (issue 12, items 1 and 4): the header parser accepts and refuses what the
 * reference safetensors parser (Rust, serde_json) accepts and refuses, case by case; every legal
 * tensor name loads; error messages stay short; a small file whose config describes a huge model
 * is refused before anything big is built, without leaking.
 */
import { describe, expect, it } from 'vitest';
import { memory, random, setBackend } from '../../../src/index.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { UNet } from '../../../src/nn/models.js';
import { checkpointFromBytes } from '../../../src/io/checkpoint.js';
import { deserialize, parseHeader, serializeSync } from '../../../src/io/safetensors.js';

setBackend('ref');

/** A safetensors file from a header TEXT (so that duplicates, BOMs and odd numbers survive) and data. */
function raw(text: string, data: Uint8Array = new Uint8Array(0), prefix: number[] = []): Uint8Array {
  const body = new TextEncoder().encode(text);
  const json = new Uint8Array(prefix.length + body.length);
  json.set(prefix);
  json.set(body, prefix.length);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

const f32 = (name: string, shape: number[], begin: number) => {
  const n = 4 * shape.reduce((p, d) => p * d, 1);
  return `${JSON.stringify(name)}:{"dtype":"F32","shape":${JSON.stringify(shape)},"data_offsets":[${begin},${begin + n}]}`;
};
const A = f32('a', [1], 0);
const four = new Uint8Array(4);
const eight = new Uint8Array(8);

interface Case {
  readonly name: string;
  /** What the reference parser (safetensors Rust crate, serde_json) does with it. */
  readonly reference: string;
  readonly bytes: () => Uint8Array;
  /** 'accept', or a pattern the SafetensorsError message must match. */
  readonly geoconv: 'accept' | RegExp;
}

/*
 * The table. `reference` records the Rust crate's behaviour (HashMetadata: `__metadata__` an
 * Option<HashMap<String,String>> field, tensors a flattened HashMap<String, TensorInfo>; TensorInfo
 * {dtype: enum, shape: Vec<usize>, data_offsets: (usize, usize)}; serde_json's recursion limit of
 * 128; validate() then checks that sorted offsets tile the data and sizes match).
 */
const cases: Case[] = [
  {
    name: 'UTF-8 BOM before "{"',
    reference: 'InvalidHeaderDeserialization (a BOM is not JSON)',
    bytes: () => raw(`{${A}}`, four, [0xef, 0xbb, 0xbf]),
    geoconv: /invalid JSON.*byte order mark|byte order mark/,
  },
  { name: 'leading whitespace', reference: 'accepted (serde_json skips whitespace)', bytes: () => raw(` \n{${A}}`, four), geoconv: 'accept' },
  { name: 'trailing spaces (the alignment padding)', reference: 'accepted', bytes: () => raw(`{${A}}   `, four), geoconv: 'accept' },
  {
    name: 'trailing garbage after the object',
    reference: 'InvalidHeaderDeserialization (trailing characters)',
    bytes: () => raw(`{${A}} x`, four),
    geoconv: /invalid JSON.*trailing/,
  },
  {
    name: 'two __metadata__ objects',
    reference: 'duplicate field `__metadata__`',
    bytes: () => raw(`{"__metadata__":{"config":"x"},"__metadata__":{"y":"z"},${A}}`, four),
    geoconv: /"__metadata__" appears twice/,
  },
  { name: '__metadata__: null', reference: 'accepted (Option::None)', bytes: () => raw(`{"__metadata__":null,${A}}`, four), geoconv: 'accept' },
  {
    name: '__metadata__ a string',
    reference: 'refused (not a map)',
    bytes: () => raw(`{"__metadata__":"x",${A}}`, four),
    geoconv: /"__metadata__" must be an object of strings/,
  },
  {
    name: 'a metadata value that is a number',
    reference: 'refused (HashMap<String, String>)',
    bytes: () => raw(`{"__metadata__":{"a":1},${A}}`, four),
    geoconv: /__metadata__\["a"\] must be a string/,
  },
  {
    name: 'a duplicate metadata key',
    reference: 'accepted, the last value wins (HashMap insert)',
    bytes: () => raw(`{"__metadata__":{"k":"1","k":"2"},${A}}`, four),
    geoconv: 'accept',
  },
  {
    name: 'a duplicate tensor name, entries differ',
    reference: "InvalidOffset (the last entry wins, the first one's bytes become a gap)",
    bytes: () => raw(`{${A},${f32('a', [1], 4)}}`, eight),
    geoconv: /tensor "a" appears twice in the header/,
  },
  {
    name: 'a duplicate tensor name, identical entries',
    reference: 'accepted (the last entry wins and tiles the data)',
    bytes: () => raw(`{${A},${A}}`, four),
    geoconv: 'accept',
  },
  {
    name: 'a duplicate field inside a tensor entry',
    reference: 'duplicate field `dtype`',
    bytes: () => raw('{"a":{"dtype":"F32","dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four),
    geoconv: /field "dtype" appears twice/,
  },
  {
    name: 'an unknown field in a tensor entry',
    reference: 'accepted (unknown fields are ignored)',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"extra":{"x":[1,2]}}}', four),
    geoconv: 'accept',
  },
  { name: 'a missing field', reference: 'missing field `data_offsets`', bytes: () => raw('{"a":{"dtype":"F32","shape":[1]}}', four), geoconv: /data_offsets/ },
  {
    name: 'an unknown dtype',
    reference: 'unknown variant `F33`',
    bytes: () => raw('{"a":{"dtype":"F33","shape":[1],"data_offsets":[0,4]}}', four),
    geoconv: /dtype "F33" is not a safetensors dtype/,
  },
  {
    name: 'a float in a shape (2.0)',
    reference: 'invalid type: floating point, expected usize',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[1.0],"data_offsets":[0,4]}}', four),
    geoconv: /shape/,
  },
  {
    name: 'an exponent in offsets (4e0)',
    reference: 'invalid type: floating point, expected usize',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4e0]}}', four),
    geoconv: /data_offsets/,
  },
  {
    name: 'a negative offset',
    reference: 'invalid value: integer `-4`, expected usize',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[-4,0]}}', four),
    geoconv: /data_offsets/,
  },
  {
    name: 'three data offsets',
    reference: 'invalid length 3, expected a tuple of size 2',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4,4]}}', four),
    geoconv: /data_offsets/,
  },
  {
    name: 'an element count that overflows',
    reference: 'ValidationOverflow',
    bytes: () => raw('{"a":{"dtype":"F32","shape":[4294967296,4294967296,4294967296],"data_offsets":[0,4]}}', four),
    geoconv: /shape/,
  },
  {
    name: 'a lone surrogate escape in a name',
    reference: 'lone leading surrogate in hex escape',
    bytes: () => raw(`{"\\ud800":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}`, four),
    geoconv: /surrogate/,
  },
  {
    name: 'a raw control character in a string',
    reference: 'control character (\\u0000-\\u001F) found while parsing a string',
    bytes: () => raw('{"a\tb":{"dtype":"F32","shape":[1],"data_offsets":[0,4]}}', four),
    geoconv: /control character/,
  },
  {
    name: 'JSON nested 10 000 deep in an ignored field',
    reference: 'recursion limit exceeded (128)',
    bytes: () => raw(`{"a":{"dtype":"F32","shape":[1],"data_offsets":[0,4],"x":${'['.repeat(10_000)}${']'.repeat(10_000)}}}`, four),
    geoconv: /nested 128 or more levels deep/,
  },
  { name: 'a gap between tensors', reference: 'InvalidOffset', bytes: () => raw(`{${A},${f32('b', [1], 8)}}`, new Uint8Array(12)), geoconv: /gap/ },
  { name: 'bytes after the last tensor', reference: 'MetadataIncompleteBuffer', bytes: () => raw(`{${A}}`, eight), geoconv: /trailing bytes/ },
  {
    name: 'F16 (a valid dtype geoconv does not read)',
    reference: 'accepted',
    bytes: () => raw('{"a":{"dtype":"F16","shape":[2],"data_offsets":[0,4]}}', four),
    geoconv: /geoconv reads F32 only/,
  },
  {
    name: 'rank 1 000 000 (all ones)',
    reference: 'accepted (no rank limit)',
    bytes: () => raw(`{"a":{"dtype":"F32","shape":[${new Array(1_000_000).fill(1).join(',')}],"data_offsets":[0,4]}}`, four),
    geoconv: /rank <= 32 \(limits\.maxRank\)/,
  },
];

describe('the header parser against the reference parser, case by case', () => {
  for (const c of cases) {
    it(`${c.name} — reference: ${c.reference}`, () => {
      const before = memory().tensors;
      if (c.geoconv === 'accept') {
        const d = deserialize(c.bytes());
        for (const t of d.tensors.values()) t.dispose();
      } else {
        expect(() => deserialize(c.bytes())).toThrow(c.geoconv);
        let message = '';
        try {
          parseHeader(c.bytes());
        } catch (e) {
          message = (e as Error).message;
        }
        expect(message.length).toBeGreaterThan(0);
        expect(message.length).toBeLessThan(600);
      }
      expect(memory().tensors).toBe(before);
    });
  }

  it('a duplicate metadata key keeps the last value, as the reference does', () => {
    const d = deserialize(raw(`{"__metadata__":{"k":"1","k":"2"},${A}}`, four));
    expect(d.metadata.k).toBe('2');
    for (const t of d.tensors.values()) t.dispose();
  });
});

describe('every legal name loads', () => {
  const names = ['constructor', 'toString', '__proto__', 'hasOwnProperty', 'valueOf', 'x.constructor', 'y.__proto__'];
  it('tensor names that are Object.prototype members load as own entries', () => {
    const entries = names.map((n, i) => f32(n, [1], 4 * i)).join(',');
    const data = new Uint8Array(Float32Array.from(names.map((_, i) => i + 1)).buffer);
    const before = memory().tensors;
    const d = deserialize(raw(`{${entries}}`, data));
    expect([...d.tensors.keys()].sort()).toEqual([...names].sort());
    names.forEach((n, i) => expect(Array.from(d.tensors.get(n)!.dataSync())).toEqual([i + 1]));
    const p = d.params as Record<string, unknown>;
    expect(Object.hasOwn(p, 'constructor') && Object.hasOwn(p, 'toString') && Object.hasOwn(p, '__proto__')).toBe(true);
    expect(Object.getPrototypeOf(p)).toBe(Object.prototype); // no prototype was replaced
    expect((p.x as Record<string, unknown>).constructor).toBe(d.tensors.get('x.constructor'));
    expect(({} as Record<string, unknown>).y).toBeUndefined(); // no pollution
    for (const t of d.tensors.values()) t.dispose();
    expect(memory().tensors).toBe(before);
  });

  it('a "__proto__" metadata key is kept as an own key, not dropped', () => {
    const d = deserialize(raw(`{"__metadata__":{"__proto__":"kept","toString":"also"},${A}}`, four));
    expect(Object.hasOwn(d.metadata, '__proto__')).toBe(true);
    expect(d.metadata['__proto__' as keyof typeof d.metadata]).toBe('kept');
    expect(d.metadata.toString).toBe('also');
    for (const t of d.tensors.values()) t.dispose();
  });
});

/** A valid UNet checkpoint (a few KB) whose config is then edited. */
function smallUNet(): { bytes: Uint8Array; config: Record<string, unknown> } {
  const model = new UNet(
    { D: 2, input: [{ k: 0, parity: 0, channels: 1 }], output: [{ k: 0, parity: 0, channels: 1 }], depth: 1, numDownsamples: 1, numConv: 1, M: 3 },
    random.key(0),
  );
  const bytes = serializeSync(model);
  const config = JSON.parse(JSON.stringify(model.config)) as Record<string, unknown>;
  model.dispose();
  return { bytes, config };
}

/** The same file with its config replaced (the tensors unchanged). */
function withConfig(bytes: Uint8Array, config: unknown): Uint8Array {
  const h = parseHeader(bytes);
  const header: Record<string, unknown> = { __metadata__: { ...h.metadata, config: typeof config === 'string' ? config : JSON.stringify(config) } };
  for (const t of h.tensors) header[t.name] = { dtype: t.dtype, shape: t.shape, data_offsets: t.data_offsets };
  let json = new TextEncoder().encode(JSON.stringify(header));
  if (json.length % 8) json = Uint8Array.from([...json, ...new Array(8 - (json.length % 8)).fill(0x20)]);
  const data = bytes.subarray(h.dataStart);
  const out = new Uint8Array(8 + json.length + data.length);
  new DataView(out.buffer).setUint32(0, json.length, true);
  out.set(json, 8);
  out.set(data, 8 + json.length);
  return out;
}

describe('a checkpoint config is validated against its tensors before anything big is built', () => {
  it('the small UNet file loads (the control case)', () => {
    const { bytes } = smallUNet();
    expect(bytes.length).toBeLessThan(16_384);
    const before = memory().tensors;
    const loaded = checkpointFromBytes(bytes);
    loaded.model.dispose();
    expect(memory().tensors).toBe(before);
  });

  for (const depth of [1500, 100_000]) {
    it(`depth: ${depth} in a few-KB file is refused at once, without leaking`, () => {
      const { bytes, config } = smallUNet();
      const evil = withConfig(bytes, { ...config, depth });
      const before = memory();
      const t0 = performance.now();
      expect(() => checkpointFromBytes(evil)).toThrow(/more parameters than the file holds|limits\.maxChannels/);
      expect(performance.now() - t0).toBeLessThan(2000);
      expect(memory()).toEqual(before);
    });
  }

  it('numDownsamples and numConv beyond the layer limit are refused by name', () => {
    const { bytes, config } = smallUNet();
    expect(() => checkpointFromBytes(withConfig(bytes, { ...config, numConv: 1e9 }))).toThrow(/numConv.*limits\.maxLayers/);
    expect(() => checkpointFromBytes(withConfig(bytes, { ...config, numDownsamples: 5000 }))).toThrow(/numDownsamples.*limits\.maxLayers/);
  });

  it('a config nested 20 000 deep is refused with a clear error (not a stack overflow)', () => {
    const { bytes } = smallUNet();
    const deep = `${'{"type":"ModelWrapper","output":[{"k":0,"parity":0,"channels":1}],"model":'.repeat(20_000)}{"type":"Identity"}${'}'.repeat(20_000)}`;
    const before = memory();
    let message = '';
    try {
      checkpointFromBytes(withConfig(bytes, deep));
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/nested deeper than 64 \(limits\.maxConfigNesting\)/);
    expect(message).not.toMatch(/call stack/);
    expect(memory()).toEqual(before);
  });

  it('a model that fails half-way through its build leaves nothing allocated', () => {
    // Two valid blocks, then a bad signature: the first blocks' tensors must be freed.
    const cfg = {
      type: 'Sequential',
      layers: [
        new ConvContract({ D: 2, input: [{ k: 0, parity: 0, channels: 1 }], output: [{ k: 0, parity: 0, channels: 1 }], M: 3 }, random.key(1)).config,
        { type: 'ConvContract', D: 2, input: [{ k: 0, parity: 0, channels: 1 }], output: [{ k: 0, parity: 0, channels: -1 }], M: 3 },
      ],
    };
    const before = memory();
    // one tensor large enough for the first layer's parameters, so that the build gets that far
    const file = raw(`{"__metadata__":{"config":${JSON.stringify(JSON.stringify(cfg))}},${f32('a', [1000], 0)}}`, new Uint8Array(4000));
    expect(() => checkpointFromBytes(file)).toThrow(/cannot rebuild the model.*channels of key \(0,0\)/);
    expect(memory()).toEqual(before);
  });

  it('100 000 unexpected tensors give a short message that counts them', () => {
    const { bytes } = smallUNet();
    const h = parseHeader(bytes);
    const extra = Array.from(
      { length: 100_000 },
      (_, i) => `"junk${i}":{"dtype":"F32","shape":[0],"data_offsets":[${bytes.length - h.dataStart},${bytes.length - h.dataStart}]}`,
    ).join(',');
    const keep = h.tensors
      .map((t) => `${JSON.stringify(t.name)}:${JSON.stringify({ dtype: t.dtype, shape: t.shape, data_offsets: t.data_offsets })}`)
      .join(',');
    const file = raw(`{"__metadata__":${JSON.stringify(h.metadata)},${keep},${extra}}`, bytes.subarray(h.dataStart));
    let message = '';
    const before = memory();
    try {
      checkpointFromBytes(file);
    } catch (e) {
      message = (e as Error).message;
    }
    expect(message).toMatch(/unexpected tensor "junk0"/);
    expect(message).toMatch(/and 99990 more problems/);
    expect(message.length).toBeLessThan(2000);
    expect(memory()).toEqual(before);
  });
});
