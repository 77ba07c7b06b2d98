/**
 * Layers and models built for a subgroup H of B_D (operators) and with explicit filter sets
 * (convFilters / upsampleFilters): equivariant under every element of H, generically NOT under
 * elements outside H (so the equivariance check can fail), GroupAverage over H, configs and
 * checkpoints that rebuild the same model, and clear errors.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { buildModule, invariantFilters, loadCheckpoint, memory, operators, saveCheckpoint, subgroup, tensor, type GroupElement } from '../../../src/index.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { upsampleConv } from '../../../src/nn/layers/index.js';
import { ConvBlock, DilResNet, GroupAverage, ResNet, UNet, ginjaxParameterCount } from '../../../src/nn/models.js';
import type { Module } from '../../../src/nn/module.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { random } from '../../../src/index.js';
import { values } from '../../util.js';
import { randomMulti, relErr } from './layers-helpers.js';

const S = (k: number, parity: 0 | 1, channels: number) => ({ k, parity, channels });
/** Scalars, pseudoscalars, vectors, pseudovectors. */
const SIG = [S(0, 0, 1), S(0, 1, 1), S(1, 0, 1), S(1, 1, 1)];

/** Per element g: relative error between model(g·x) and g·model(x) (inference mode). */
function errors(model: Module, x: MultiImage, elements: readonly GroupElement[]): number[] {
  const y = model.call(x);
  const out = elements.map((g) => {
    const gx = x.timesGroupElement(g);
    const a = model.call(gx);
    const b = y.timesGroupElement(g);
    const e = relErr(values(a.data), values(b.data));
    for (const t of [gx, a, b]) t.dispose();
    return e;
  });
  y.dispose();
  return out;
}

/** Max error inside H, and max error over the elements of B_D outside H. */
function insideOutside(model: Module, x: MultiImage, H: readonly GroupElement[]): { inside: number; outside: number } {
  const outsideEls = operators(x.D).filter((g) => !H.includes(g));
  return { inside: Math.max(...errors(model, x, H)), outside: outsideEls.length ? Math.max(...errors(model, x, outsideEls)) : 0 };
}

const CASES: [string, number, readonly GroupElement[]][] = [];
for (const D of [2, 3]) {
  CASES.push([`reflections (axis ${D - 1})`, D, subgroup(D, 'reflections', D - 1)]);
  CASES.push(['rotations', D, subgroup(D, 'rotations')]);
  CASES.push(['axis-flips', D, subgroup(D, 'axis-flips')]);
}

describe('ConvContract on a subgroup', () => {
  for (const [name, D, H] of CASES) {
    it(`${name}, D=${D}: equivariant under H, not under the rest of B_D`, () => {
      const sig = D === 2 ? [...SIG, S(2, 0, 1), S(2, 1, 1)] : SIG;
      const layer = new ConvContract({ D, input: sig, output: sig, M: 3, operators: H }, random.key(1));
      expect(layer.operators).toBe(H);
      const x = randomMulti(2, sig, D, D === 2 ? 7 : 5);
      const { inside, outside } = insideOutside(layer, x, H);
      expect(inside).toBeLessThan(1e-6);
      expect(outside).toBeGreaterThan(1e-2);
      x.dispose();
      layer.dispose();
    });
  }

  it("the weights hold one coefficient per filter of the subgroup's basis", () => {
    const H = subgroup(2, 'axis-flips');
    const layer = new ConvContract({ D: 2, input: [S(0, 0, 2)], output: [S(0, 1, 3)], M: 3, operators: H }, random.key(1));
    // scalar → pseudoscalar has no B_2 filter at M=3, but one under the axis flips
    expect(invariantFilters(2, 3, 0, 1).count).toBe(0);
    expect(layer.missingFilter).toBe(false);
    expect([...(layer.params.weights as unknown as Record<string, { shape: number[] }>)['0,0>0,1']!.shape]).toEqual([3, 2, 1]);
    layer.dispose();
  });
});

describe('models on a subgroup', { timeout: 120_000 }, () => {
  for (const [name, D, H] of CASES) {
    it(`UNet, ${name}, D=${D}`, () => {
      const m = new UNet(
        { D, input: SIG, output: [S(0, 1, 1), S(1, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1, useGroupNorm: true, operators: H },
        random.key(5),
      );
      const x = randomMulti(6, SIG, D, D === 2 ? 8 : 4, 1);
      const { inside, outside } = insideOutside(m, x, H);
      expect(inside).toBeLessThan(1e-4);
      expect(outside).toBeGreaterThan(1e-2);
      x.dispose();
      m.dispose();
    });
  }

  it('ConvBlock, ResNet and DilResNet on the axis flips of a non-square lat–lon-like grid (isTorus [true, false])', () => {
    const H = subgroup(2, 'axis-flips');
    const sig = [S(0, 0, 1), S(0, 1, 1), S(1, 0, 1)];
    const models: Module[] = [
      new ConvBlock({ D: 2, input: sig, output: sig, useGroupNorm: true, operators: H }, random.key(1)),
      new ResNet({ D: 2, input: sig, output: sig, depth: 2, numBlocks: 1, operators: H }, random.key(2)),
      new DilResNet({ D: 2, input: sig, output: sig, depth: 1, numBlocks: 1, operators: H }, random.key(3)),
    ];
    const x = randomMulti(7, sig, 2, [12, 6], 1, [true, false]);
    for (const m of models) {
      expect(Math.max(...errors(m, x, H)), m.config.type).toBeLessThan(1e-4);
      m.dispose();
    }
    // a square grid lets the elements outside be applied: the ResNet breaks under them
    const r = new ResNet({ D: 2, input: sig, output: sig, depth: 2, numBlocks: 1, operators: H }, random.key(2));
    const sq = randomMulti(8, sig, 2, 8, 1, true);
    expect(insideOutside(r, sq, H).outside).toBeGreaterThan(1e-2);
    for (const t of [r, sq, x]) t.dispose();
  });

  it('a full-group model equals the default one (same parameters, same outputs)', () => {
    const a = new ResNet({ D: 2, input: SIG, output: SIG, depth: 1, numBlocks: 1 }, random.key(9));
    const b = new ResNet({ D: 2, input: SIG, output: SIG, depth: 1, numBlocks: 1, operators: [...operators(2)].reverse() }, random.key(9));
    expect(b.config).toEqual(a.config);
    const x = randomMulti(10, SIG, 2, 6, 1);
    const ya = a.call(x);
    const yb = b.call(x);
    expect(Array.from(values(yb.data))).toEqual(Array.from(values(ya.data)));
    for (const t of [a, b, x, ya, yb]) t.dispose();
  });
});

describe('GroupAverage over a subgroup', () => {
  it('is equivariant under the subgroup and not under the rest (baseline ResNet inside)', () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    for (const H of [subgroup(2, 'rotations'), subgroup(2, 'reflections', 1), subgroup(2, 'axis-flips')]) {
      const base = new ResNet({ D: 2, input: sig, output: sig, depth: 3, numBlocks: 1, equivariant: false }, random.key(11));
      const avg = new GroupAverage({ model: base, operators: H });
      expect(avg.operators).toBe(H);
      const x = randomMulti(12, sig, 2, 8, 1);
      const { inside, outside } = insideOutside(avg, x, H);
      expect(inside).toBeLessThan(1e-4);
      expect(outside).toBeGreaterThan(1e-2);
      x.dispose();
      avg.dispose();
    }
  });

  it('its config rebuilds the same average (indices and D stored); full group is the default', () => {
    const sig = [S(0, 0, 1)];
    const base = new ResNet({ D: 2, input: sig, output: sig, depth: 2, numBlocks: 1, equivariant: false }, random.key(1));
    const avg = new GroupAverage({ model: base, operators: subgroup(2, 'rotations') });
    expect(avg.config.operators).toEqual([0, 3, 5, 6]);
    const rebuilt = buildModule(JSON.parse(JSON.stringify(avg.config)), random.key(2)) as GroupAverage;
    expect(rebuilt.config).toEqual(avg.config);
    const x = randomMulti(3, sig, 2, 8, 1);
    const y1 = avg.call(x);
    const y2 = rebuilt.apply(avg.params, x);
    expect(Array.from(values(y2.data))).toEqual(Array.from(values(y1.data)));
    expect(new GroupAverage({ model: base, operators: operators(2) }).operators).toBe(null);
    for (const t of [avg, rebuilt, x, y1, y2]) t.dispose();
  });

  it('errors: indices without D, operators of another D than the model or the input', () => {
    const sig = [S(0, 0, 1)];
    const base = new ResNet({ D: 2, input: sig, output: sig, depth: 1, numBlocks: 1, equivariant: false }, random.key(1));
    expect(() => new GroupAverage({ model: base, operators: subgroup(3, 'rotations') })).toThrow(/GroupAverage: operators must be a subgroup of B_2/);
    const wrapped = new GroupAverage({ model: new GroupAverage({ model: base }), operators: [0, 1], D: 2 });
    expect(wrapped.operators!.map((g) => g.index)).toEqual([0, 1]);
    expect(() => new GroupAverage({ model: new GroupAverage({ model: base }), operators: [0, 1] })).toThrow(
      'GroupAverage: D must be given when the operators are plain indices',
    );
    const x3 = randomMulti(1, sig, 3, 4, 1);
    const avg3 = new GroupAverage({ model: new GroupAverage({ model: base }), operators: subgroup(2, 'axis-flips') });
    expect(() => avg3.call(x3)).toThrow('GroupAverage: input D must be 2 (the D of its operators) (got 3)');
    for (const t of [base, x3]) t.dispose();
  });
});

describe('explicit filter sets (convFilters, upsampleFilters)', { timeout: 120_000 }, () => {
  it('ConvContract skips the pairs outside the set, as ginjax does for absent keys', () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    const all = new ConvContract({ D: 2, input: sig, output: sig, M: 3 }, random.key(1));
    const some = new ConvContract({ D: 2, input: sig, output: sig, filters: { M: 3, ks: [0, 1] } }, random.key(1));
    expect(Object.keys(all.params.weights as object).sort()).toEqual(['0,0>0,0', '0,0>1,0', '1,0>0,0', '1,0>1,0']);
    expect(Object.keys(some.params.weights as object).sort()).toEqual(['0,0>0,0', '0,0>1,0', '1,0>0,0']); // vector→vector needs k = 2
    expect(some.missingFilter).toBe(true);
    // and the skipped pair really contributes nothing: changing only the input vectors leaves the
    // output vectors as they were (they come from the scalars alone), unlike with every pair
    const x = randomMulti(2, sig, 2, 5, 1);
    const x2 = new MultiImage(
      tensor(
        Array.from(values(x.data), (v, i) => (i % 3 === 0 ? v : 0.3 - 2 * v)),
        x.data.shape,
      ),
      x.signature,
      2,
      x.isTorus,
    );
    const vecCols = (t: MultiImage) => Array.from(values(t.data)).filter((_, i) => i % 3 !== 0);
    const [y, y2, a, a2] = [some.call(x), some.call(x2), all.call(x), all.call(x2)];
    expect(relErr(vecCols(y2), vecCols(y))).toBeLessThan(1e-6);
    expect(relErr(vecCols(a2), vecCols(a))).toBeGreaterThan(1e-2);
    for (const t of [all, some, x, x2, y, y2, a, a2]) t.dispose();
  });

  it('sides, parities and scale reach the layer; config round trip', () => {
    const sig = [S(0, 0, 2), S(1, 1, 1)];
    const layer = new ConvContract(
      { D: 2, input: sig, output: sig, filters: { M: [5], parities: [1], scale: 'one' }, operators: subgroup(2, 'rotations') },
      random.key(3),
    );
    const H = subgroup(2, 'rotations');
    // only pairs with filter parity 1: scalar ↔ pseudovector
    expect(Object.keys(layer.params.weights as object).sort()).toEqual(['0,0>1,1', '1,1>0,0']);
    expect((layer.params.weights as unknown as Record<string, { shape: number[] }>)['0,0>1,1']!.shape[2]).toBe(
      invariantFilters(2, 5, 1, 1, { operators: H }).count,
    );
    expect(layer.config).toMatchObject({ M: 5, filters: { M: 5, parities: [1], scale: 'one' }, operators: [0, 3, 5, 6] });
    const rebuilt = buildModule(JSON.parse(JSON.stringify(layer.config)), random.key(3));
    expect(rebuilt.config).toEqual(layer.config);
    const x = randomMulti(4, sig, 2, 7, 1);
    const [y1, y2] = [layer.call(x), rebuilt.call(x)];
    expect(Array.from(values(y2.data))).toEqual(Array.from(values(y1.data)));
    expect(Math.max(...errors(layer, x, H))).toBeLessThan(1e-6);
    for (const t of [layer, rebuilt, x, y1, y2]) t.dispose();
  });

  it('UNet with convFilters M=5 and upsampleFilters M=4 on a subgroup: equivariant, N → N, stored filters counted', () => {
    const H = subgroup(2, 'axis-flips');
    const m = new UNet(
      {
        D: 2,
        input: SIG,
        output: [S(1, 0, 1)],
        depth: 1,
        numDownsamples: 1,
        numConv: 1,
        operators: H,
        convFilters: { M: 5 },
        upsampleFilters: { M: 4, ks: [0, 1, 2] },
      },
      random.key(5),
    );
    const x = randomMulti(6, SIG, 2, 8, 1);
    const y = m.call(x);
    expect([...y.data.shape]).toEqual([1, 8, 8, 2]);
    const { inside, outside } = insideOutside(m, x, H);
    expect(inside).toBeLessThan(1e-4);
    expect(outside).toBeGreaterThan(1e-2);
    const up = m.children.get('up0') as ConvContract;
    expect(up.config).toMatchObject({
      M: 4,
      padding: [
        [2, 2],
        [2, 2],
      ],
      lhsDilation: 2,
      operators: [0, 1, 2, 3],
    });
    // ginjax counts the stored filter dictionaries: the upsample layer's is M=4, k ∈ {0,1,2}, both parities
    let upStored = 0;
    for (const k of [0, 1, 2]) for (const p of [0, 1]) upStored += invariantFilters(2, 4, k, p, { operators: H }).count * 16 * 2 ** k;
    expect(ginjaxParameterCount(up)).toBe(up.parameterCount() + upStored);
    for (const t of [m, x, y]) t.dispose();
  });

  it('upsampleConv takes only even sides', () => {
    expect(() => upsampleConv({ D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1)], filters: { M: 3 } }, random.key(1))).toThrow(
      'upsampleConv: filters.M must be even (a 2× upsampling stays centred only with padding M/2 on both sides) (got 3)',
    );
  });

  it('errors: an output key without filters, M clashes, baselines, several sides', () => {
    expect(
      () =>
        new UNet(
          { D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1), S(1, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1, convFilters: { M: 3, ks: [0] } },
          random.key(1),
        ),
    ).toThrow(
      /UNet: convFilters must be a filter set with filters for every key the output needs: none of its keys \(k_in \+ k_out, p_in \+ p_out\) links the layer's input \{\(0,0\)\} to \(1,0\) \(got "\{\\"M\\":3,\\"ks\\":\[0\]\}"\)/,
    );
    // an output none of whose pairs has filters fails in the layer itself, naming the set
    expect(
      () =>
        new UNet({ D: 2, input: [S(0, 0, 1)], output: [S(1, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1, convFilters: { M: 3, ks: [0] } }, random.key(1)),
    ).toThrow(
      'ConvContract: signatures must be such that some input/output pair has invariant filters (got "none for M=3 with filter keys k ∈ [0], parity ∈ [0,1]")',
    );
    expect(
      () =>
        new DilResNet(
          { D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1), S(1, 1, 1)], depth: 1, numBlocks: 1, convFilters: { M: 3, ks: [0, 1], parities: [0] } },
          random.key(1),
        ),
    ).toThrow(/DilResNet: convFilters must be a filter set with filters for every key the output needs: .* to \(1,1\)/);
    expect(() => new ConvBlock({ D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1)], M: 5, convFilters: { M: 3 } }, random.key(1))).toThrow(
      'ConvBlock: M must be equal to convFilters.M = 3 when both are given (got 5)',
    );
    expect(
      () => new ResNet({ D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1)], depth: 1, equivariant: false, operators: subgroup(2, 'rotations') }, random.key(1)),
    ).toThrow(/ResNet: operators must be left out for a baseline .*GroupAverage/);
    expect(() => new UNet({ D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1)], depth: 1, equivariant: false, upsampleFilters: { M: 2 } }, random.key(1))).toThrow(
      /UNet: upsampleFilters must be left out for a baseline/,
    );
    expect(() => new DilResNet({ D: 2, input: [S(0, 0, 1)], output: [S(0, 0, 1)], depth: 1, convFilters: { M: [3, 5] } }, random.key(1))).toThrow(
      /DilResNet: convFilters.M must be one filter side/,
    );
    expect(() => new UNet({ D: 3, input: [S(0, 0, 1)], output: [S(0, 0, 1)], depth: 1, operators: subgroup(2, 'rotations') }, random.key(1))).toThrow(
      /UNet: operators must be a subgroup of B_3/,
    );
    expect(() => new ConvContract({ D: 2, input: [S(0, 0, 1)], output: [S(0, 1, 1)], M: 3 }, random.key(1))).toThrow(
      /ConvContract: signatures must be such that some input\/output pair has invariant filters \(got "none for M=3"\)/,
    );
    expect(
      () =>
        new ConvContract(
          { D: 2, input: [S(0, 0, 1)], output: [S(1, 0, 1)], filters: { M: 3, parities: [1] }, operators: subgroup(2, 'axis-flips') },
          random.key(1),
        ),
    ).toThrow(/none for M=3 with filter keys k ∈ any, parity ∈ \[1\] under the 4-element subgroup/);
  });
});

describe('checkpoints rebuild subgroup models', () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoconv-subgroups-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('save → load: same config (operators, convFilters, upsampleFilters), same outputs, no leak', async () => {
    const m = new UNet(
      {
        D: 2,
        input: SIG,
        output: [S(0, 1, 1), S(1, 0, 1)],
        depth: 1,
        numDownsamples: 1,
        numConv: 1,
        operators: subgroup(2, 'reflections', 1),
        convFilters: { M: 3, ks: [0, 1, 2] },
        upsampleFilters: { M: 2 },
      },
      random.key(21),
    );
    expect(m.config).toMatchObject({ operators: [0, 1], convFilters: { M: 3, ks: [0, 1, 2] }, upsampleFilters: { M: 2 } });
    const path = join(dir, 'unet.safetensors');
    await saveCheckpoint(path, m);
    const x = randomMulti(22, SIG, 2, 8, 1);
    const y1 = m.call(x);
    const before = memory().tensors;
    const loaded = await loadCheckpoint(path);
    expect(loaded.model.config).toEqual(JSON.parse(JSON.stringify(m.config)));
    const y2 = loaded.model.call(x);
    expect(Array.from(values(y2.data))).toEqual(Array.from(values(y1.data)));
    for (const t of [y2]) t.dispose();
    loaded.model.dispose();
    expect(memory().tensors).toBe(before);
    for (const t of [m, x, y1]) t.dispose();
  });

  it('a config without operators (older checkpoints) builds the full-group model, and the subgroup one differs in shape', () => {
    const opts = { D: 2, input: SIG, output: SIG, depth: 1, numBlocks: 1 } as const;
    const full = new DilResNet(opts, random.key(1));
    const legacy = { ...full.config };
    expect('operators' in legacy).toBe(false);
    const rebuilt = buildModule(legacy, random.key(1));
    expect(rebuilt.parameterCount()).toBe(full.parameterCount());
    const sub = new DilResNet({ ...opts, operators: subgroup(2, 'axis-flips') }, random.key(1));
    expect(sub.parameterCount()).toBeGreaterThan(full.parameterCount());
    for (const t of [full, rebuilt, sub]) t.dispose();
  });
});

describe('no leaks', () => {
  it('building, applying and disposing subgroup models and averages', () => {
    const run = () => {
      const m = new UNet(
        { D: 2, input: SIG, output: SIG, depth: 1, numDownsamples: 1, numConv: 1, operators: subgroup(2, 'rotations'), upsampleFilters: { M: 2 } },
        random.key(1),
      );
      const avg = new GroupAverage({ model: m, operators: subgroup(2, 'axis-flips') });
      const x = randomMulti(1, SIG, 2, 4, 1);
      const y = avg.call(x);
      for (const t of [avg, x, y]) t.dispose();
      try {
        new UNet({ D: 2, input: [S(0, 0, 1)], output: [S(1, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1, convFilters: { M: 3, ks: [0] } }, random.key(1));
      } catch {
        /* the failed build must dispose what it made */
      }
    };
    run();
    const before = memory().tensors;
    run();
    expect(memory().tensors).toBe(before);
  });
});
