/**
 * ginjax model files: the six goldens saved by ginjax itself load into geoconv models whose outputs
 * equal ginjax's (ref and wasm here; webgpu in test/gpu), and save back byte for byte; the leaf
 * list generated from the config equals ginjax's own (paths, shapes, dtypes); bad files and
 * configs are refused with messages that name the leaf and the geoconv parameter.
 */
import { mkdtempSync, readFileSync, existsSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import * as gc from '../../../src/index.js';
import { buildGinjaxModel, ginjaxFromBytes, ginjaxLeaves, loadGinjax, saveGinjax, serializeGinjax } from '../../../src/io/ginjax.js';
import { npyRecord, parseNpyRecords } from '../../../src/io/npy.js';
import { GINJAX_CASES, runGinjaxCase } from '../../shared/ginjax.js';
import { main } from '../../../src/cli.js';

const DIR = fileURLToPath(new URL('../../../../shared/goldens/ginjax/', import.meta.url));
if (!existsSync(DIR)) throw new Error(`ginjax goldens not found at ${DIR} (expected ../shared/goldens beside the repository)`);
const files = (name: string) => ({
  eqx: new Uint8Array(readFileSync(join(DIR, `${name}.eqx`))),
  json: readFileSync(join(DIR, `${name}.json`), 'utf8'),
  io: new Uint8Array(readFileSync(join(DIR, `${name}.io.safetensors`))),
});
const golden = (name: string) => JSON.parse(files(name).json);
const DTYPE: Record<string, string> = { float32: 'float32', int: 'int64', float: 'float64' };

/**
 * max |Δ| / max |y| allowed. unet2d stays at 1.1e-5 (ref) to 1.3e-5 (wasm): an error spread over the
 * whole output (median 3e-7), the size of float32 rounding in this network — geoconv's own ref
 * (float64) and wasm (float32) outputs of it differ by 1.0e-5. Every other golden is within 3.1e-6.
 */
const TOLERANCE: Record<string, number> = { unet2d: 2e-5 };

const tmp = mkdtempSync(join(tmpdir(), 'geoconv-ginjax-'));
afterAll(() => rmSync(tmp, { recursive: true, force: true }));

describe("the leaf list generated from the config is ginjax's", () => {
  for (const name of GINJAX_CASES) {
    it(`${name}: paths, shapes, dtypes, and ginjax's count_params`, () => {
      const g = golden(name);
      const model = buildGinjaxModel(g);
      const leaves = ginjaxLeaves(model);
      const expected = (g.leaves as { path: string; shape: number[]; dtype: string }[]).filter((l) => l.dtype !== 'function');
      expect(leaves.map((l) => l.path)).toEqual(expected.map((l) => l.path));
      expect(leaves.map((l) => l.shape)).toEqual(expected.map((l) => l.shape));
      expect(leaves.map((l) => l.dtype)).toEqual(expected.map((l) => DTYPE[l.dtype]));
      const arrays = leaves.filter((l) => l.dtype === 'float32').reduce((n, l) => n + l.shape.reduce((p, d) => p * d, 1), 0);
      expect(arrays).toBe(g.parameters);
      model.dispose();
    });
  }
});

for (const backend of ['ref', 'wasm'] as const) {
  describe(`goldens on ${backend}: outputs equal ginjax's, save gives the same bytes`, () => {
    for (const name of GINJAX_CASES) {
      it(
        name,
        async () => {
          await gc.init({ backend });
          const r = await runGinjaxCase(gc, name, files(name));
          expect(r.rel).toBeLessThanOrEqual(TOLERANCE[name] ?? 1e-5);
          expect(r.bytesEqual).toBe(true);
          expect(r.leaked).toBe(0);
        },
        60_000,
      );
    }
  });
}

describe('paths and files', () => {
  it('loadGinjax reads a path and a file: URL; saveGinjax writes a file ginjax would', async () => {
    await gc.init({ backend: 'wasm' });
    const g = golden('dilresnet2d');
    const a = await loadGinjax(join(DIR, 'dilresnet2d.eqx'), g);
    const b = await loadGinjax(new URL(`file://${join(DIR, 'dilresnet2d.eqx')}`), g);
    const out = join(tmp, 'copy.eqx');
    await saveGinjax(out, a.model);
    expect(new Uint8Array(readFileSync(out))).toEqual(files('dilresnet2d').eqx);
    expect(await serializeGinjax(b.model)).toEqual(files('dilresnet2d').eqx);
    a.model.dispose();
    b.model.dispose();
  });

  it('the same config with a bare constructor object (no golden wrapper) loads the same model', async () => {
    const g = golden('unet2d');
    const bare = { ...g.case, conv_filters: g.filters.conv, upsample_filters: g.filters.upsample, activation: 'gelu' };
    const { model } = ginjaxFromBytes(files('unet2d').eqx, bare);
    expect(await serializeGinjax(model)).toEqual(files('unet2d').eqx);
    model.dispose();
  });
});

describe('other models round-trip (any class, option, signature and D)', () => {
  const F = { Ms: [3], ks: [0, 1, 2], parities: [0, 1] };
  const cases: [string, Record<string, unknown>][] = [
    [
      'baseline ResNet with group norm, vectors in and out',
      { model: 'ResNet', D: 2, input: [[1, 0, 1]], output: [[1, 0, 1]], depth: 3, num_blocks: 1, equivariant: false },
    ],
    [
      '3-D DilResNet with pseudovectors',
      {
        model: 'DilResNet',
        D: 3,
        input: [
          [0, 0, 1],
          [1, 1, 1],
        ],
        output: [[1, 1, 1]],
        depth: 2,
        num_blocks: 1,
        conv_filters: F,
      },
    ],
    [
      'UNet without bias, tanh, group norm',
      {
        model: 'UNet',
        D: 2,
        input: [
          [0, 0, 1],
          [2, 0, 1],
        ],
        output: [[0, 0, 1]],
        depth: 2,
        num_downsamples: 1,
        num_conv: 1,
        use_bias: false,
        activation: 'tanh',
        use_group_norm: false,
        conv_filters: F,
        upsample_filters: { Ms: [2], ks: [0, 1, 2], parities: [0, 1] },
      },
    ],
    [
      'ConvBlock with "mean" bias and a pseudoscalar',
      {
        model: 'ConvBlock',
        D: 2,
        input: [
          [0, 1, 2],
          [1, 0, 1],
        ],
        output: [
          [0, 1, 1],
          [1, 1, 2],
        ],
        use_bias: 'mean',
        use_group_norm: true,
        conv_filters: F,
      },
    ],
  ];
  for (const [what, cfg] of cases) {
    it(what, async () => {
      await gc.init({ backend: 'ref' });
      const before = gc.memory().tensors;
      const model = buildGinjaxModel(cfg);
      // fill every parameter with distinct values (a zero-biased pseudoscalar norm bias must stay 0)
      let seed = 1;
      for (const l of ginjaxLeaves(model)) {
        if (!l.tensor || l.kind === 'zeroBias') continue;
        l.tensor.backend.write(
          l.tensor.storage(),
          Float32Array.from({ length: l.tensor.size }, () => (seed = (seed * 16807) % 2147483647) / 2147483647 - 0.5),
        );
      }
      const bytes = await serializeGinjax(model);
      const back = ginjaxFromBytes(bytes, cfg).model;
      expect(await serializeGinjax(back)).toEqual(bytes);
      const D = cfg.D as number;
      const sig = (cfg.input as number[][]).map(([k, parity, channels]) => ({ k: k!, parity: parity! as 0 | 1, channels: channels! }));
      const z = gc.MultiImage.zeros(sig, D, D === 2 ? 8 : 4, 1);
      const x = new gc.MultiImage(
        gc.tensor(
          Float32Array.from({ length: z.data.size }, (_, i) => Math.sin(1.7 * i)),
          z.data.shape,
        ),
        z.signature,
        D,
        true,
      );
      z.dispose();
      const [y1, y2] = [model.call(x), back.call(x)];
      const [a, b] = [await y1.data.data(), await y2.data.data()];
      expect(Math.max(...a.map((v, i) => Math.abs(v - b[i]!)))).toBe(0);
      expect(Math.max(...a.map(Math.abs))).toBeGreaterThan(0);
      for (const t of [x, y1, y2, model, back]) t.dispose();
      expect(gc.memory().tensors).toBe(before);
    });
  }
});

describe('geoconv convert', () => {
  it("eqx → safetensors → eqx gives ginjax's bytes back, for the goldens' JSON as --config", async () => {
    for (const name of ['unet2d-baseline', 'resnet2d-groupnorm'] as const) {
      const lines: string[] = [];
      const st = join(tmp, `${name}.safetensors`);
      const back = join(tmp, `${name}.eqx`);
      expect(await main(['convert', join(DIR, `${name}.eqx`), '--config', join(DIR, `${name}.json`), '--out', st], (l) => lines.push(l))).toBe(0);
      expect(await main(['convert', st, '--out', back], (l) => lines.push(l))).toBe(0);
      expect(new Uint8Array(readFileSync(back))).toEqual(files(name).eqx);
      expect(lines.join('\n')).toMatch(/as a geoconv checkpoint[\s\S]*as a ginjax model file/);
    }
  });

  it('usage errors: a missing --config, a wrong output extension, a config that does not fit', async () => {
    const errs: string[] = [];
    const err = (l: string) => errs.push(l);
    expect(await main(['convert', join(DIR, 'unet2d.eqx'), '--out', join(tmp, 'x.safetensors')], () => {}, err)).toBe(2);
    expect(errs.join('\n')).toMatch(/needs --config CONFIG\.json/);
    expect(await main(['convert', join(DIR, 'unet2d.eqx'), '--config', join(DIR, 'unet2d.json'), '--out', join(tmp, 'x.eqx')], () => {}, err)).toBe(2);
    expect(errs.join('\n')).toMatch(/converts to a geoconv checkpoint/);
    expect(
      await main(['convert', join(DIR, 'unet2d.eqx'), '--config', join(DIR, 'dilresnet2d.json'), '--out', join(tmp, 'y.safetensors')], () => {}, err),
    ).toBe(2);
    expect(errs.join('\n')).toMatch(/leaf 0 \(\.encoder\[0\]/);
    expect(existsSync(join(tmp, 'y.safetensors'))).toBe(false);
  });
});

describe('refusals', () => {
  const g = golden('resnet2d-groupnorm');
  const eqx = files('resnet2d-groupnorm').eqx;
  const recs = parseNpyRecords(eqx);
  const noLeak = (fn: () => unknown, re: RegExp) => {
    const before = gc.memory().tensors;
    expect(fn).toThrow(re);
    expect(gc.memory().tensors).toBe(before);
  };

  it('a truncated file, naming the record and bytes', () => {
    noLeak(() => ginjaxFromBytes(eqx.subarray(0, eqx.length - 3), g), /record 122 at byte \d+: truncated data/);
    noLeak(
      () => ginjaxFromBytes(eqx.subarray(0, recs[5]!.offset), g),
      /ends before leaf 5 \(\.encoder\[0\]\.conv\.bias\[\(1, 0\)\] → geoconv enc0\.conv\.bias\["1,0"\]/,
    );
  });

  it('a foreign file (a safetensors checkpoint, random bytes)', () => {
    noLeak(() => ginjaxFromBytes(files('unet2d').io, g), /not an Equinox\/ginjax model file/);
    noLeak(() => ginjaxFromBytes(new Uint8Array([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11]), g), /no \\x93NUMPY magic/);
  });

  it('the wrong config: the first mismatching leaf, its ginjax path and the geoconv parameter', () => {
    noLeak(
      () => ginjaxFromBytes(eqx, { ...g, case: { ...g.case, depth: 5 } }),
      /leaf 0 \(\.encoder\[0\]\.conv\.weights\[\(0, 0\)\]\[\(0, 0\)\] → geoconv enc0\.conv\.weights\["0,0>0,0"\]\): the file has shape \(4, 2, 3\) float32 .* expects \(5, 2, 3\)/,
    );
    noLeak(() => ginjaxFromBytes(eqx, { ...g, case: { ...g.case, num_blocks: 1 } }), /the file has 123 leaves, the ResNet model only \d+|leaf \d+ \(/);
    noLeak(() => ginjaxFromBytes(files('unet2d').eqx, g), /leaf 0 .*shape/);
  });

  it("a dtype change and an eps that is not the model's", () => {
    const i = recs.findIndex((r) => r.dtype === 'float64');
    const bad = new Uint8Array(eqx);
    new DataView(bad.buffer).setFloat64(recs[i]!.data.byteOffset - eqx.byteOffset, 1e-3, true);
    noLeak(() => ginjaxFromBytes(bad, g), /leaf 41 \(\.blocks\[0\]\[0\]\.group_norm\.eps\) is 0\.001, the model has 0\.00001/);
    // a float32 record rewritten as float64
    const r0 = recs[0]!;
    const rec = npyRecord('float64', r0.shape, new Uint8Array(r0.data.length * 2));
    const swapped = new Uint8Array([...rec, ...eqx.subarray(recs[1]!.offset)]);
    noLeak(() => ginjaxFromBytes(swapped, g), /leaf 0 .*float64.*expects \(4, 2, 3\) float32/);
  });

  it("stored filters that are not ginjax's are refused; scaled ones (adamw decay) are folded into the weights", async () => {
    const k = recs.findIndex((_, j) => j === 6); // .encoder[0].conv.invariant_filters[...][(0, 0)]
    const at = recs[k]!.data.byteOffset - eqx.byteOffset;
    const swapped = new Uint8Array(eqx);
    // swap filters 0 and 1 of key (0,0): a different basis order
    const f = new Float32Array(swapped.buffer.slice(at, at + recs[k]!.data.length));
    const one = f.slice(0, 9);
    f.set(f.slice(9, 18), 0);
    f.set(one, 9);
    swapped.set(new Uint8Array(f.buffer), at);
    noLeak(() => ginjaxFromBytes(swapped, g), /invariant_filters\[<flat index 0>\]\[\(0, 0\)\]\): stored invariant filter 0 is not geoconv's filter 0/);

    // every stored filter of every layer scaled by 0.5 and every weight by 2: the same function
    await gc.init({ backend: 'ref' });
    const { model } = ginjaxFromBytes(eqx, g);
    const leaves = ginjaxLeaves(model);
    const scaled = new Uint8Array(eqx);
    leaves.forEach((l, j) => {
      const r = recs[j]!;
      const off = r.data.byteOffset - eqx.byteOffset;
      if (l.kind === 'filters' || /\.weights\[\(\d, \d\)\]\[/.test(l.path)) {
        const v = new Float32Array(scaled.buffer.slice(off, off + r.data.length));
        for (let q = 0; q < v.length; q++) v[q] = v[q]! * (l.kind === 'filters' ? 0.5 : 2);
        scaled.set(new Uint8Array(v.buffer), off);
      }
    });
    const other = ginjaxFromBytes(scaled, g).model;
    const x = gc.MultiImage.fromBlocks(
      new Map([
        [
          '0,0',
          gc.tensor(
            Float32Array.from({ length: 2 * 2 * 144 }, (_, i) => Math.sin(i)),
            [2, 2, 12, 12],
          ),
        ],
        [
          '1,0',
          gc.tensor(
            Float32Array.from({ length: 2 * 144 * 2 }, (_, i) => Math.cos(i)),
            [2, 1, 12, 12, 2],
          ),
        ],
      ]),
      2,
      true,
    );
    const y1 = model.call(x);
    const y2 = other.call(x);
    const [a, b] = [await y1.data.data(), await y2.data.data()];
    let d = 0;
    let s = 0;
    a.forEach((v, i) => {
      d = Math.max(d, Math.abs(v - b[i]!));
      s = Math.max(s, Math.abs(v));
    });
    expect(d / s).toBeLessThan(1e-5);
    for (const t of [x, y1, y2, model, other]) t.dispose();
  });

  it('configs ginjax computes differently from geoconv are refused, naming the difference', () => {
    const u = golden('unet2d');
    expect(() => buildGinjaxModel({ ...u, case: { ...u.case, use_bias: true } })).toThrow(/use_bias=True returns an empty MultiImage/);
    expect(() => buildGinjaxModel({ ...u, case: { ...u.case, use_bias: 'scalar' } })).toThrow(/drops every non-scalar output/);
    expect(() => buildGinjaxModel({ ...u, case: { ...u.case, use_batch_norm: true, equivariant: false } })).toThrow(/batch-norm/);
    expect(() => buildGinjaxModel({ ...u, case: { ...u.case, model: 'FNO' } })).toThrow(/config\.model/);
    expect(() => buildGinjaxModel({ ...u, filters: { conv: { Ms: [3, 5], ks: [0, 1, 2], parities: [0, 1] } } })).toThrow(/Ms/);
    expect(() => buildGinjaxModel({ ...u, activation: 'jax.nn.gelu (approximate=False)' })).toThrow(/exact gelu/);
  });

  it('a nonzero pseudoscalar norm bias is refused (ginjax adds it, geoconv scales the mean)', async () => {
    await gc.init({ backend: 'ref' });
    const cfg = {
      model: 'ResNet',
      D: 2,
      input: [[0, 1, 1]],
      output: [[0, 1, 1]],
      depth: 2,
      num_blocks: 1,
      num_conv: 1,
      conv_filters: { Ms: [3], ks: [0, 1, 2], parities: [0, 1] },
    };
    const model = buildGinjaxModel(cfg);
    const bytes = await serializeGinjax(model);
    expect(ginjaxLeaves(model).some((l) => l.kind === 'zeroBias')).toBe(true);
    const back = ginjaxFromBytes(bytes, cfg).model; // zeros load
    back.dispose();
    const leaves = ginjaxLeaves(model);
    const rs = parseNpyRecords(bytes);
    const j = leaves.findIndex((l) => l.kind === 'zeroBias');
    const bad = new Uint8Array(bytes);
    new DataView(bad.buffer).setFloat32(rs[j]!.data.byteOffset - bytes.byteOffset, 0.25, true);
    expect(() => ginjaxFromBytes(bad, cfg)).toThrow(/nonzero pseudoscalar norm bias/);
    model.dispose();
  });
});

describe('npy records', () => {
  it("headers are numpy's byte for byte (a 0-d int64, a 0-d float64, a long first axis)", () => {
    const text = (r: Uint8Array) => new TextDecoder().decode(r.subarray(10, 10 + new DataView(r.buffer).getUint16(8, true)));
    // numpy.save(f, 2): 0-d int64; the dict, spaces to a 64-byte boundary, a newline
    const dict = "{'descr': '<i8', 'fortran_order': False, 'shape': (), }";
    expect(text(npyRecord('int64', [], new Uint8Array(8)))).toBe(`${dict}${' '.repeat(128 - 10 - dict.length - 1)}\n`);
    // the goldens' float32 header of shape (4, 1, 3): 21 − 1 spaces of room for the first axis, then padding
    const g = files('unet2d').eqx;
    expect(text(npyRecord('float32', [4, 1, 3], new Uint8Array(48)))).toBe(new TextDecoder().decode(g.subarray(10, 128)));
    for (const shape of [[], [3], [1234567, 1], [4, 1, 1, 1, 1]]) {
      const n = shape.reduce((p, d) => p * d, 1);
      const r = npyRecord('float32', shape, new Uint8Array(4 * n));
      expect((10 + new DataView(r.buffer).getUint16(8, true)) % 64).toBe(0);
      expect(parseNpyRecords(r)[0]!.shape).toEqual(shape);
    }
  });
});
