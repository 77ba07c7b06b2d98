/**
 * MultiImage (packed channels-last storage [batch, ...spatial, Σ c·D^k], canonical key order),
 * against ginjax's tests/test_multi_image.py semantics (inventory §1.4, §2.2, §7.4).
 */
import { describe, it, expect } from 'vitest';
import { random, tensor, tidy, type Tensor } from '../../../src/index.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { signature } from '../../../src/geometric/signature.js';
import { allclose, randomTensor, values } from '../../util.js';
import { expectSameImage, indices, randImg, vals } from './helpers.js';

const plain = (x: Tensor): number[] => Array.from(values(x), (v) => v + 0);
const sig = (m: MultiImage) => m.signature.map((e) => [e.k, e.parity, e.channels]);

/** Random blocks [B, c, ...spatial, (D,)*k] for the given (k, parity, channels) keys. */
function blocks(D: number, B: number, spatial: number[], keys: [number, number, number][], seed: number): Record<string, Tensor> {
  const out: Record<string, Tensor> = {};
  for (const [k, p, c] of keys) out[`${k},${p}`] = randomTensor(random.key(seed++), [B, c, ...spatial, ...new Array(k).fill(D)]);
  return out;
}

describe('MultiImage construction', () => {
  it('fromBlocks: keys given in any order end up canonical; block() round-trips', () => {
    const D = 2;
    const bl = blocks(
      D,
      2,
      [3, 4],
      [
        [2, 0, 1],
        [0, 1, 2],
        [1, 1, 1],
        [1, 0, 3],
        [0, 0, 1],
      ],
      1,
    );
    const m = MultiImage.fromBlocks(bl, D);
    expect(sig(m)).toEqual([
      [0, 0, 1],
      [0, 1, 2],
      [1, 0, 3],
      [1, 1, 1],
      [2, 0, 1],
    ]);
    expect(m.keys()).toEqual([
      { k: 0, parity: 0 },
      { k: 0, parity: 1 },
      { k: 1, parity: 0 },
      { k: 1, parity: 1 },
      { k: 2, parity: 0 },
    ]);
    expect(m.batch).toBe(2);
    expect([...m.spatial]).toEqual([3, 4]);
    expect([...m.isTorus]).toEqual([true, true]);
    expect(m.width).toBe(1 + 2 + 3 * 2 + 2 + 4);
    expect([...m.data.shape]).toEqual([2, 3, 4, 15]);
    for (const [name, t] of Object.entries(bl)) {
      const [k, p] = name.split(',').map(Number) as [number, number];
      expect(m.has(k, p)).toBe(true);
      const b = m.block(k, p);
      expect([...b.shape]).toEqual([...t.shape]);
      expect(plain(b)).toEqual(plain(t));
      expect(m.channels(k, p)).toBe(t.shape[1]);
    }
    expect(m.has(2, 1)).toBe(false);
    // Map input and an unbatched block
    const m2 = MultiImage.fromBlocks(
      new Map([
        ['1,0', bl['1,0']!],
        ['0,0', bl['0,0']!],
      ]),
      D,
      [true, false],
    );
    expect(sig(m2)).toEqual([
      [0, 0, 1],
      [1, 0, 3],
    ]);
    expect([...m2.isTorus]).toEqual([true, false]);
    const one = MultiImage.fromBlocks({ '1,1': randomTensor(random.key(9), [2, 3, 4, 2]) }, D, true, false);
    expect(one.batch).toBe(1);
    expect(sig(one)).toEqual([[1, 1, 2]]);
  });

  it('packed layout: channel-major then tensor component (c·D^k + t) per key, keys in canonical order', () => {
    const D = 3;
    const spatial = [2, 1, 2];
    const bl = blocks(
      D,
      2,
      spatial,
      [
        [1, 0, 2],
        [0, 0, 3],
        [2, 1, 1],
      ],
      20,
    );
    const m = MultiImage.fromBlocks(bl, D, false);
    const data = plain(m.data);
    const W = m.width;
    expect(W).toBe(3 + 2 * 3 + 9);
    const offsets: Record<string, number> = { '0,0': 0, '1,0': 3, '2,1': 9 };
    for (const [name, t] of Object.entries(bl)) {
      const k = Number(name[0]);
      const T = D ** k;
      const v = plain(t);
      const C = t.shape[1]!;
      for (const [b, c, x, y, z] of indices([2, C, ...spatial])) {
        const pix = (b! * 2 + x!) * 2 + z! + y!; // y is always 0
        for (let tt = 0; tt < T; tt++) {
          const src = ((((b! * C + c!) * 2 + x!) * 1 + y!) * 2 + z!) * T + tt;
          expect(data[pix * W + offsets[name]! + c! * T + tt]).toBe(v[src]);
        }
      }
    }
  });

  it('zeros and the constructor validate the packed width', () => {
    const z = MultiImage.zeros(
      [
        [[1, 0], 2],
        [[0, 0], 1],
      ],
      2,
      [3, 5],
      4,
      [false, true],
    );
    expect(sig(z)).toEqual([
      [0, 0, 1],
      [1, 0, 2],
    ]);
    expect([...z.data.shape]).toEqual([4, 3, 5, 5]);
    expect(plain(z.data).every((v) => v === 0)).toBe(true);
    expect([...z.isTorus]).toEqual([false, true]);
    expect(() => new MultiImage(tensor(new Array(12).fill(0), [1, 2, 2, 3]), [{ k: 1, parity: 0, channels: 2 }], 2)).toThrow(
      /data shape.*\[batch, \.\.\.2 spatial, 4\].*got \[1,2,2,3\]/,
    );
    expect(String(z)).toMatch(/D=2.*batch=4.*\[3,5\].*\(0,0\):1, \(1,0\):2/);
  });

  it('fromImages groups by (k, parity) in list order, batch 1', () => {
    const s1 = randImg(1, [3, 3], 0, 0, 2);
    const v1 = randImg(2, [3, 3], 1, 0, 2);
    const s2 = randImg(3, [3, 3], 0, 0, 2);
    const ps = randImg(4, [3, 3], 0, 1, 2);
    const v2 = randImg(5, [3, 3], 1, 0, 2);
    const m = MultiImage.fromImages([s1, v1, s2, ps, v2]);
    expect(m.batch).toBe(1);
    expect(sig(m)).toEqual([
      [0, 0, 2],
      [0, 1, 1],
      [1, 0, 2],
    ]);
    expect(plain(m.block(0, 0))).toEqual([...vals(s1), ...vals(s2)]);
    expect(plain(m.block(0, 1))).toEqual(vals(ps));
    expect(plain(m.block(1, 0))).toEqual([...vals(v1), ...vals(v2)]);
    // back to images: key order, then channel order
    const back = m.toImages();
    [s1, s2, ps, v1, v2].forEach((im, i) => expectSameImage(back[i]!, im, 0, `image ${i}`));
  });
});

describe('MultiImage arithmetic and structure', () => {
  const D = 2;
  const keysA: [number, number, number][] = [
    [0, 0, 1],
    [1, 0, 2],
  ];

  it('add / sub / scale act on every block', () => {
    const a = MultiImage.fromBlocks(blocks(D, 2, [3, 3], keysA, 30), D);
    const b = MultiImage.fromBlocks(blocks(D, 2, [3, 3], keysA, 40), D);
    const s = a.add(b);
    const d = a.sub(b);
    const c = a.scale(-2.5);
    for (const [k, p] of [
      [0, 0],
      [1, 0],
    ]) {
      const ab = plain(a.block(k!, p!));
      const bb = plain(b.block(k!, p!));
      allclose(
        plain(s.block(k!, p!)),
        ab.map((v, i) => v + bb[i]!),
        { rtol: 1e-12, atol: 0 },
      );
      allclose(
        plain(d.block(k!, p!)),
        ab.map((v, i) => v - bb[i]!),
        { rtol: 1e-12, atol: 0 },
      );
      allclose(
        plain(c.block(k!, p!)),
        ab.map((v) => -2.5 * v),
        { rtol: 1e-12, atol: 0 },
      );
    }
    expect(sig(s)).toEqual(sig(a));
  });

  it('add: a signature mismatch throws and names both signatures', () => {
    const a = MultiImage.fromBlocks(blocks(D, 1, [3, 3], keysA, 50), D);
    const other = MultiImage.fromBlocks(
      blocks(
        D,
        1,
        [3, 3],
        [
          [0, 0, 1],
          [1, 0, 3],
        ],
        60,
      ),
      D,
    );
    expect(() => a.add(other)).toThrow(/add: other signature must be \{\(0,0\):1, \(1,0\):2\} \(got "\{\(0,0\):1, \(1,0\):3\}"\)/);
    const keysDiffer = MultiImage.fromBlocks(
      blocks(
        D,
        1,
        [3, 3],
        [
          [0, 0, 1],
          [1, 1, 2],
        ],
        61,
      ),
      D,
    );
    expect(() => a.add(keysDiffer)).toThrow(/other signature.*\(1,1\):2/);
    const batch = MultiImage.fromBlocks(blocks(D, 2, [3, 3], keysA, 62), D);
    expect(() => a.add(batch)).toThrow(/add: other batch must be 1 \(got 2\)/);
  });

  it('concat along channels: per key, self then other; new keys inserted in canonical order', () => {
    const a = MultiImage.fromBlocks(
      blocks(
        D,
        2,
        [2, 3],
        [
          [0, 0, 1],
          [1, 0, 2],
          [2, 1, 1],
        ],
        70,
      ),
      D,
    );
    const b = MultiImage.fromBlocks(
      blocks(
        D,
        2,
        [2, 3],
        [
          [1, 0, 1],
          [0, 1, 2],
          [2, 0, 1],
        ],
        80,
      ),
      D,
    );
    const c = a.concat(b);
    expect(sig(c)).toEqual([
      [0, 0, 1],
      [0, 1, 2],
      [1, 0, 3],
      [2, 0, 1],
      [2, 1, 1],
    ]);
    const perImage = (m: MultiImage, k: number, p: number) => {
      // [B, C, ...] -> per batch element, the channel blocks
      const t = plain(m.block(k, p));
      const C = m.channels(k, p);
      const per = t.length / (m.batch * C);
      return Array.from({ length: m.batch }, (_, bi) => Array.from({ length: C }, (_, ci) => t.slice((bi * C + ci) * per, (bi * C + ci + 1) * per)));
    };
    const c10 = perImage(c, 1, 0);
    const a10 = perImage(a, 1, 0);
    const b10 = perImage(b, 1, 0);
    for (let bi = 0; bi < 2; bi++) expect(c10[bi]).toEqual([...a10[bi]!, ...b10[bi]!]);
    expect(plain(c.block(0, 0))).toEqual(plain(a.block(0, 0)));
    expect(plain(c.block(0, 1))).toEqual(plain(b.block(0, 1)));
    expect(plain(c.block(2, 0))).toEqual(plain(b.block(2, 0)));
    expect(plain(c.block(2, 1))).toEqual(plain(a.block(2, 1)));
    // other then self differs in channel order
    expect(plain(b.concat(a).block(1, 0))).not.toEqual(plain(c.block(1, 0)));
  });

  it('concat along the batch axis', () => {
    const a = MultiImage.fromBlocks(blocks(D, 2, [3, 3], keysA, 90), D);
    const b = MultiImage.fromBlocks(blocks(D, 3, [3, 3], keysA, 95), D);
    const c = a.concat(b, 'batch');
    expect(c.batch).toBe(5);
    expect(sig(c)).toEqual(sig(a));
    for (const [k, p] of [
      [0, 0],
      [1, 0],
    ] as const)
      expect(plain(c.block(k, p))).toEqual([...plain(a.block(k, p)), ...plain(b.block(k, p))]);
    const other = MultiImage.fromBlocks(
      blocks(
        D,
        3,
        [3, 3],
        [
          [0, 0, 2],
          [1, 0, 2],
        ],
        96,
      ),
      D,
    );
    expect(() => a.concat(other, 'batch')).toThrow(/concat: other signature/);
  });

  it('withKeys keeps the given keys in canonical order', () => {
    const m = MultiImage.fromBlocks(
      blocks(
        D,
        2,
        [3, 3],
        [
          [0, 0, 1],
          [1, 0, 2],
          [2, 0, 1],
          [0, 1, 3],
        ],
        100,
      ),
      D,
    );
    const w = m.withKeys([
      { k: 2, parity: 0 },
      { k: 0, parity: 1 },
    ]);
    expect(sig(w)).toEqual([
      [0, 1, 3],
      [2, 0, 1],
    ]);
    expect(plain(w.block(0, 1))).toEqual(plain(m.block(0, 1)));
    expect(plain(w.block(2, 0))).toEqual(plain(m.block(2, 0)));
  });

  it('getSubset / getOne select batch elements in the given order', () => {
    const m = MultiImage.fromBlocks(blocks(D, 3, [2, 2], keysA, 110), D, [true, false]);
    const s = m.getSubset([2, 0]);
    expect(s.batch).toBe(2);
    expect([...s.isTorus]).toEqual([true, false]);
    for (const [k, p] of [
      [0, 0],
      [1, 0],
    ] as const) {
      const full = plain(m.block(k, p));
      const per = full.length / 3;
      expect(plain(s.block(k, p))).toEqual([...full.slice(2 * per, 3 * per), ...full.slice(0, per)]);
      expect(plain(m.getOne(1).block(k, p))).toEqual(full.slice(per, 2 * per));
      expect(plain(m.getOne().block(k, p))).toEqual(full.slice(0, per));
    }
    expect(() => m.getSubset([3])).toThrow(/getSubset: index must be an integer in \[0, 3\) \(got 3\)/);
  });

  it("getComponent: ginjax's example — density, pressure, velocity x, velocity y — over 2 future steps", () => {
    // (0,0): [density t0, density t1, pressure t0, pressure t1]; (1,0): [velocity t0, velocity t1]
    const P = 4;
    const scalars = tensor(
      Array.from({ length: 2 * 4 * P }, (_, i) => 100 * (Math.floor(i / P) % 4) + 1000 * Math.floor(i / (4 * P)) + (i % P)),
      [2, 4, 2, 2],
    );
    const vectors = tensor(
      Array.from(
        { length: 2 * 2 * P * 2 },
        (_, i) => 50000 + 100 * (Math.floor(i / (2 * P)) % 2) + 10 * (i % 2) + 1000 * Math.floor(i / (4 * P)) + (Math.floor(i / 2) % P),
      ),
      [2, 2, 2, 2, 2],
    );
    const m = MultiImage.fromBlocks({ '0,0': scalars, '1,0': vectors }, 2);
    const pixels = (base: number) => [0, 1, 2, 3].map((p) => base + p);
    const expectChannels = (got: MultiImage, perBatch: number[][]) => {
      expect(sig(got)).toEqual([[0, 0, perBatch.length]]);
      expect(plain(got.block(0, 0))).toEqual([0, 1].flatMap((b) => perBatch.flatMap((ch) => pixels(ch[0]! + 1000 * b))));
    };
    expectChannels(m.getComponent(0, 2), [[0], [100]]); // density t0, t1
    expectChannels(m.getComponent(1, 2), [[200], [300]]); // pressure t0, t1
    expectChannels(m.getComponent(2, 2), [[50000], [50100]]); // velocity x t0, t1
    expectChannels(m.getComponent(-1, 2), [[50010], [50110]]); // velocity y t0, t1
    expectChannels(m.getComponent([3, 0], 2), [[50010], [50110], [0], [100]]);
    // one step: 4 scalar fields, then the 2 vectors' components
    expectChannels(m.getComponent([1, 5]), [[100], [50010]]);
    expect(() => m.getComponent(8)).toThrow(/getComponent: component must be an integer in \[-8, 8\) \(got 8\)/);
    expect(() => m.getComponent(0, 3)).toThrow(/getComponent: channels of key \(0,0\) must be a multiple of futureSteps \(3\)/);
  });

  it("getComponent equals ginjax's reshape / moveaxis / concatenate definition (D = 3, k up to 2, 3 steps)", () => {
    const D = 3;
    const steps = 3;
    const spatial = [2, 3, 2];
    const P = 12;
    const keys: [number, number, number][] = [
      [0, 0, 3],
      [1, 1, 6],
      [2, 0, 3],
    ];
    const m = MultiImage.fromBlocks(blocks(D, 2, spatial, keys, 130), D);
    // Per batch element: data[t][p] = concatenation over keys of (field, component) values.
    const perStep = (b: number) =>
      Array.from({ length: steps }, (_, t) =>
        Array.from({ length: P }, (_, p) =>
          keys.flatMap(([k, parity, C]) => {
            const T = D ** k;
            const blk = plain(m.block(k, parity));
            return Array.from({ length: (C / steps) * T }, (_, j) => {
              const f = Math.floor(j / T);
              return blk[((b * C + f * steps + t) * P + p) * T + (j % T)]!;
            });
          }),
        ),
      );
    const chosen = [4, 0, 15]; // of 1 + 2·3 + 1·9 = 16 per step
    const got = plain(m.getComponent(chosen, steps).block(0, 0));
    const want = [0, 1].flatMap((b) => {
      const data = perStep(b);
      return chosen.flatMap((j) => Array.from({ length: steps }, (_, t) => data[t]!.map((row) => row[j]!)).flat());
    });
    expect(got).toEqual(want);
  });

  it('toVector is the ravelled blocks in key order; fromVector inverts it', () => {
    const m = MultiImage.fromBlocks(
      blocks(
        D,
        2,
        [3, 2],
        [
          [1, 1, 1],
          [0, 0, 2],
          [2, 0, 1],
        ],
        120,
      ),
      D,
      false,
    );
    const v = m.toVector();
    expect([...v.shape]).toEqual([m.data.size]);
    expect(plain(v)).toEqual([...plain(m.block(0, 0)), ...plain(m.block(1, 1)), ...plain(m.block(2, 0))]);
    const r = MultiImage.fromVector(v, m);
    expect(sig(r)).toEqual(sig(m));
    expect([...r.isTorus]).toEqual([false, false]);
    expect(plain(r.data)).toEqual(plain(m.data));
    expect(() => MultiImage.fromVector(tensor([1, 2, 3]), m)).toThrow(/vector shape.*\[3\]/);
  });

  for (const Dm of [2, 3]) {
    it(`toScalarMultiImage: 1 + D + D² channels for one channel each of k = 0, 1, 2 (D=${Dm}); round trip`, () => {
      const spatial = new Array(Dm).fill(2);
      const m = MultiImage.fromBlocks(
        blocks(
          Dm,
          2,
          spatial,
          [
            [0, 0, 1],
            [1, 0, 1],
            [2, 0, 1],
          ],
          130 + Dm,
        ),
        Dm,
      );
      const s = m.toScalarMultiImage();
      expect(sig(s)).toEqual([[0, 0, 1 + Dm + Dm * Dm]]);
      // channel c·D^k + t of each key, in key order
      const sb = plain(s.block(0, 0)); // [B, C, ...spatial]
      const P = 2 ** Dm;
      const C = 1 + Dm + Dm * Dm;
      let ch = 0;
      for (const k of [0, 1, 2]) {
        const b = plain(m.block(k, 0)); // [B, 1, ...spatial, (D,)*k]
        const T = Dm ** k;
        for (let t = 0; t < T; t++, ch++) {
          for (let bi = 0; bi < 2; bi++) for (let p = 0; p < P; p++) expect(sb[(bi * C + ch) * P + p]).toBe(b[(bi * P + p) * T + t]);
        }
      }
      const back = s.fromScalarMultiImage(m.signature);
      expect(sig(back)).toEqual(sig(m));
      expect(plain(back.data)).toEqual(plain(m.data));
      expect(() => m.fromScalarMultiImage(m.signature)).toThrow(/this signature.*single \(0,0\) key/);
      expect(() => s.fromScalarMultiImage([[[1, 0], 1]])).toThrow(/layout width must be \d+ \(got \d+\)/);
    });
  }

  it('toScalarMultiImage with several channels is channel-major (c·D^k + t)', () => {
    const m = MultiImage.fromBlocks({ '1,0': tensor([1, 2, 3, 4], [1, 2, 1, 1, 2]) }, 2);
    expect(plain(m.toScalarMultiImage().block(0, 0))).toEqual([1, 2, 3, 4]); // (c0,t0),(c0,t1),(c1,t0),(c1,t1)
    expect(signature([[[1, 0], 2]])).toEqual([{ k: 1, parity: 0, channels: 2 }]);
  });
});

describe('MultiImage norm, pooling, images, equality', () => {
  const D = 2;
  const keys: [number, number, number][] = [
    [0, 0, 2],
    [0, 1, 1],
    [1, 0, 2],
    [2, 1, 1],
  ];

  it('norm(): every key into one (0,0) block, concatenated channel order; pseudoscalar norms land in (0,0)', () => {
    const m = MultiImage.fromBlocks(blocks(D, 2, [4, 2], keys, 200), D, [false, true]);
    const n = m.norm();
    expect(sig(n)).toEqual([[0, 0, 6]]);
    expect([...n.isTorus]).toEqual([false, true]);
    const images = m.toImages(); // key order, batch-major then channel
    const nb = plain(n.block(0, 0)); // [B, 6, 4, 2]
    const P = 8;
    // channel order of the norm block: (0,0) c0 c1, (0,1) c0, (1,0) c0 c1, (2,1) c0
    const perKey = [2, 1, 2, 1];
    let ch = 0;
    let imgOffset = 0;
    perKey.forEach((C) => {
      for (let c = 0; c < C; c++, ch++) {
        for (let bi = 0; bi < 2; bi++) {
          const im = images[imgOffset + bi * C + c]!;
          const expected = vals(im.norm());
          allclose(nb.slice((bi * 6 + ch) * P, (bi * 6 + ch + 1) * P), expected, { rtol: 1e-12, atol: 1e-15 });
        }
      }
      imgOffset += 2 * C;
    });
    // channelNorms is the packed [B, ...spatial, Σ c]
    expect(plain(m.channelNorms())).toEqual(plain(n.data));
  });

  it('averagePool / maxPool / unpool equal per-image GeometricImage results', () => {
    const m = MultiImage.fromBlocks(blocks(D, 2, [4, 6], keys, 210), D, [true, false]);
    const images = m.toImages();
    const cases: [string, (x: MultiImage) => MultiImage, (x: GeometricImage) => GeometricImage][] = [
      ['averagePool 2', (x) => x.averagePool(2), (x) => x.averagePool(2)],
      ['maxPool 2', (x) => x.maxPool(2), (x) => x.maxPool(2)],
      ['unpool 2', (x) => x.unpool(2), (x) => x.unpool(2)],
    ];
    for (const [what, fm, fi] of cases) {
      const out = fm(m);
      expect(sig(out)).toEqual(sig(m));
      const outImages = out.toImages();
      outImages.forEach((im, i) => expectSameImage(im, fi(images[i]!), 1e-6, `${what} image ${i}`)); // averagePool scales by a float32 1/4
    }
    // 3-D with patch 2
    const m3 = MultiImage.fromBlocks(
      blocks(
        3,
        1,
        [2, 4, 2],
        [
          [0, 1, 1],
          [1, 0, 2],
          [2, 0, 1],
        ],
        220,
      ),
      3,
    );
    const i3 = m3.toImages();
    m3.maxPool(2)
      .toImages()
      .forEach((im, i) => expectSameImage(im, i3[i]!.maxPool(2), 0, `3-D maxPool image ${i}`));
    m3.averagePool(2)
      .toImages()
      .forEach((im, i) => expectSameImage(im, i3[i]!.averagePool(2), 1e-6, `3-D averagePool image ${i}`));
    m3.unpool(3)
      .toImages()
      .forEach((im, i) => expectSameImage(im, i3[i]!.unpool(3), 0, `3-D unpool image ${i}`));
    // by value, scalar keys only
    const s = MultiImage.fromBlocks(
      blocks(
        D,
        2,
        [4, 4],
        [
          [0, 0, 2],
          [0, 1, 1],
        ],
        230,
      ),
      D,
    );
    const si = s.toImages();
    s.maxPool(2, false)
      .toImages()
      .forEach((im, i) => expectSameImage(im, si[i]!.maxPool(2, false), 0, `by value image ${i}`));
    expect(() => m.maxPool(2, false)).toThrow(/useNorm/);
  });

  it('toImages: key order, then batch, then channel; parities and torus flags', () => {
    const m = MultiImage.fromBlocks(blocks(D, 2, [3, 2], keys, 240), D, [false, true]);
    const images = m.toImages();
    expect(images.map((im) => [im.k, im.parity])).toEqual([
      [0, 0],
      [0, 0],
      [0, 0],
      [0, 0], // (0,0): 2 batch × 2 channels
      [0, 1],
      [0, 1],
      [1, 0],
      [1, 0],
      [1, 0],
      [1, 0],
      [2, 1],
      [2, 1],
    ]);
    images.forEach((im) => {
      expect([...im.spatial]).toEqual([3, 2]);
      expect([...im.isTorus]).toEqual([false, true]);
    });
    const b10 = plain(m.block(1, 0));
    const per = 6 * 2;
    for (let i = 0; i < 4; i++) expect(vals(images[6 + i]!)).toEqual(b10.slice(i * per, (i + 1) * per)); // b·C + c
  });

  it('equals: same D, torus flags, signature, and allclose', async () => {
    const bl = blocks(D, 2, [3, 3], keys, 250);
    const a = MultiImage.fromBlocks(bl, D);
    expect(await a.equals(MultiImage.fromBlocks(bl, D))).toBe(true);
    expect(await a.equals(a.scale(1.0000001))).toBe(true);
    expect(await a.equals(a.scale(1.0001))).toBe(false);
    expect(await a.equals(MultiImage.fromBlocks(bl, D, [true, false]))).toBe(false);
    expect(await a.equals(a.withKeys([{ k: 0, parity: 0 }]))).toBe(false);
    expect(await a.equals(a.concat(a, 'batch'))).toBe(false);
    expect(await a.equals(a.scale(1.01), 0.1, 0.1)).toBe(true);
  });

  it('tidy-friendly: a pipeline inside tidy returns plain numbers', () => {
    const out = tidy(() => {
      const m = MultiImage.fromBlocks(blocks(D, 1, [4, 4], keys, 260), D);
      return plain(m.averagePool(2).unpool(2).norm().data).length;
    });
    expect(out).toBe(16 * 6);
  });
});
