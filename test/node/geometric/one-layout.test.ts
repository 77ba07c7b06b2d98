/**
 * One layout: GeometricImage, the [...lead, ...spatial, (D,)*k] functions and MultiImage run the same
 * packed implementations (group action, pools, unpool, channels-last conversion). These tests check
 * the packed functions against plain-JS index arithmetic and against each other key by key, exactly.
 */
import { describe, expect, it } from 'vitest';
import { convAttrs, memory, random, tensor, tidy, type Tensor } from '../../../src/index.js';
import { perAxis, perAxisFlags } from '../../../src/core/per-axis.js';
import * as F from '../../../src/geometric/functional.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { groupElement, operators } from '../../../src/geometric/group.js';
import { checkSignature, sameSignature, signature } from '../../../src/geometric/signature.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { randomTensor, values } from '../../util.js';

const plain = (x: Tensor): number[] => Array.from(values(x), (v) => v + 0);
const KEYS: [number, number, number][] = [
  [0, 0, 2],
  [0, 1, 1],
  [1, 0, 3],
  [2, 1, 2],
];

function multi(D: number, B: number, spatial: number[], seed: number, isTorus: boolean | boolean[] = true): { m: MultiImage; blocks: Map<string, Tensor> } {
  const blocks = new Map<string, Tensor>();
  for (const [k, p, c] of KEYS) blocks.set(`${k},${p}`, randomTensor(random.key(seed++), [B, c, ...spatial, ...new Array(k).fill(D)]));
  return { m: MultiImage.fromBlocks(blocks, D, isTorus), blocks };
}

describe('toPacked / fromPacked: the one channels-last conversion', () => {
  it('packs [B, C, ...spatial, (D,)*k] channel-major then tensor component, and fromPacked inverts it', () => {
    const D = 2,
      B = 2,
      C = 3,
      spatial = [2, 3],
      k = 2,
      T = 4;
    const x = randomTensor(random.key(1), [B, C, ...spatial, D, D]);
    const xs = plain(x);
    const p = F.toPacked(x, D);
    expect([...p.shape]).toEqual([B, ...spatial, C * T]);
    const got = plain(p);
    const P = 6;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++)
        for (let q = 0; q < P; q++)
          for (let t = 0; t < T; t++) {
            expect(got[(b * P + q) * C * T + c * T + t]).toBe(xs[((b * C + c) * P + q) * T + t]);
          }
    const back = F.fromPacked(p, D, C, k);
    expect([...back.shape]).toEqual([...x.shape]);
    expect(plain(back)).toEqual(xs);
    expect(() => F.fromPacked(p, D, 2, k)).toThrow(/^fromPacked: data shape must be \[batch, \.\.\.2 spatial, 2·4\] \(got \[2,2,3,12\]\)$/);
  });

  it('MultiImage.block is fromPacked of the packed block', () => {
    const { m, blocks } = multi(3, 2, [2, 2, 3], 10);
    for (const [name, t] of blocks) expect(plain(m.block(name))).toEqual(plain(t));
  });
});

describe('packed operations equal the one-key functions, key by key and channel by channel', () => {
  for (const D of [2, 3]) {
    const spatial = D === 2 ? [4, 6] : [2, 4, 2];
    it(`D=${D}: group action, max/average pool and unpool of a 4-key MultiImage`, () => {
      const { m, blocks } = multi(D, 2, spatial, 20 + D, D === 2 ? [true, false] : true);
      const ops: [string, (x: MultiImage) => MultiImage, (t: Tensor, k: number, p: number) => Tensor][] = [
        ...[1, 3, operators(D).length - 1].map((gi): [string, (x: MultiImage) => MultiImage, (t: Tensor, k: number, p: number) => Tensor] => [
          `g${gi}`,
          (x) => x.timesGroupElement(operators(D)[gi]!),
          (t, k, p) => F.groupAction(t, D, k, p, operators(D)[gi]!),
        ]),
        ['maxPool', (x) => x.maxPool(2), (t, k) => F.maxPool(t, D, k, 2)],
        ['averagePool', (x) => x.averagePool(2), (t, k) => F.averagePool(t, D, k, 2)],
        ['unpool', (x) => x.unpool(2), (t, k) => F.unpool(t, D, k, 2)],
      ];
      for (const [name, onMulti, onBlock] of ops) {
        const y = onMulti(m);
        for (const [key, t] of blocks) {
          const [k, p] = key.split(',').map(Number) as [number, number];
          // the functional form on [B, C, ...spatial, (D,)*k]: B·C lead slices of one channel each
          expect(plain(y.block(key)), `${name} (${key})`).toEqual(plain(onBlock(t, k, p)));
        }
      }
    });
  }

  it('a GeometricImage operation equals the same MultiImage operation on its one-channel view', () => {
    const im = new GeometricImage(randomTensor(random.key(5), [4, 2, 2]), 1, 2, [false, true]);
    const view = MultiImage.fromImages([im]);
    const g = groupElement(2, 'rot90');
    const pairs: [GeometricImage, MultiImage][] = [
      [im.timesGroupElement(g), view.timesGroupElement(g)],
      [im.maxPool(2), view.maxPool(2)],
      [im.averagePool(2), view.averagePool(2)],
      [im.unpool(3), view.unpool(3)],
    ];
    for (const [a, b] of pairs) {
      expect(plain(a.data)).toEqual(plain(b.data));
      expect([...a.isTorus]).toEqual([...b.isTorus]);
    }
    // rot90 moves axis 1 to axis 0: the torus flags move with it, on both classes
    expect([...pairs[0]![0].isTorus]).toEqual([true, false]);
    expect(F.actedTorus([false, true], g)).toEqual([true, false]);
    expect(F.actedTorus([true, false, false], groupElement(3, '(y,z,x)'))).toEqual([false, false, true]);
  });

  it('the scalar max-norm pool compares |x| (a negative pixel of largest magnitude wins), by value it compares x', () => {
    const x = tensor([1, -5, 2, 3], [1, 2, 2, 1]);
    const sig = signature([[[0, 0], 1]]);
    expect(plain(F.packedMaxPool(x, 2, sig, 2))).toEqual([-5]);
    expect(plain(F.packedMaxPool(x, 2, sig, 2, false))).toEqual([3]);
    expect(() => F.packedMaxPool(tensor(new Float32Array(8), [1, 2, 2, 2]), 2, signature([[[1, 0], 1]]), 2, false)).toThrow(
      /^maxPool: useNorm must be true when the image has non-scalar keys \(got false\)$/,
    );
    expect(() => F.packedMaxPool(x, 2, signature([[[1, 0], 1]]), 2)).toThrow(/^maxPool: data width must be 2 for signature \{\(1,0\):1\} \(got 1\)$/);
  });

  it('the packed group action refuses data whose width does not match the signature', () => {
    expect(() => F.packedGroupAction(tensor(new Float32Array(12), [1, 2, 2, 3]), 2, signature([[[1, 0], 1]]), groupElement(2, 'rot90'))).toThrow(
      /^timesGroupElement: data shape must be \[batch, \.\.\.2 spatial, 2\] for signature \{\(1,0\):1\} \(got \[1,2,2,3\]\)$/,
    );
  });

  it('leaks nothing', () => {
    const { m, blocks } = multi(2, 1, [4, 4], 40);
    const before = memory().tensors;
    tidy(() => {
      m.timesGroupElement('rot90').dispose();
      m.maxPool(2).dispose();
      F.toPacked(blocks.get('1,0')!, 2).dispose();
    });
    expect(memory().tensors).toBe(before);
  });
});

describe('one per-axis normaliser, one signature check', () => {
  it('perAxis / perAxisFlags: a value for every axis or one per axis, with one error text', () => {
    expect(perAxis('f', 'stride', 2, 3)).toEqual([2, 2, 2]);
    expect(perAxis('f', 'stride', undefined, 2, { dflt: 1 })).toEqual([1, 1]);
    expect(perAxis('f', 'side', [0, 3], 2, { min: 0 })).toEqual([0, 3]);
    expect(() => perAxis('f', 'stride', undefined, 2)).toThrow(/^f: stride must be an integer >= 1 or 2 of them \(got undefined\)$/);
    expect(() => perAxis('f', 'stride', [1, 0], 2)).toThrow(/^f: stride must be an integer >= 1 or 2 of them \(got \[1,0\]\)$/);
    expect(() => perAxis('f', 'N', 2.5, 2, { what: 'a positive integer' })).toThrow(/^f: N must be a positive integer or 2 of them \(got 2\.5\)$/);
    expect(perAxisFlags('f', 'torus', undefined, 2, false)).toEqual([false, false]);
    expect(perAxisFlags('f', 'torus', [true, false], 2)).toEqual([true, false]);
    expect(() => perAxisFlags('f', 'torus', 'yes', 2)).toThrow(/^f: torus must be a boolean or 2 booleans \(got "yes"\)$/);
  });

  it('convAttrs validates through it', () => {
    expect(convAttrs(2, 3, { stride: 2, torus: [true, false] })).toMatchObject({ kernel: [3, 3], stride: [2, 2], torus: [true, false], rhsDilation: [1, 1] });
    expect(() => convAttrs(2, 3, { stride: 0 })).toThrow(/^convAttrs: stride must be an integer >= 1 or 2 of them \(got 0\)$/);
    expect(() => convAttrs(2, [3], {})).toThrow(/^convAttrs: kernel must be an integer >= 1 or 2 of them \(got \[3\]\)$/);
    expect(() => convAttrs(2, 3, { torus: [true] })).toThrow(/^convAttrs: torus must be a boolean or 2 booleans \(got \[true\]\)$/);
  });

  it('sameSignature / checkSignature, and the layers report through it', () => {
    const a = signature([
      [[0, 0], 1],
      [[1, 0], 2],
    ]);
    expect(
      sameSignature(
        a,
        signature([
          { k: 1, parity: 0, channels: 2 },
          { k: 0, parity: 0, channels: 1 },
        ]),
      ),
    ).toBe(true);
    expect(
      sameSignature(
        a,
        signature([
          [[0, 0], 1],
          [[1, 0], 3],
        ]),
      ),
    ).toBe(false);
    expect(
      sameSignature(
        a,
        signature([
          [[0, 0], 1],
          [[1, 1], 2],
        ]),
      ),
    ).toBe(false);
    expect(sameSignature(a, signature([[[0, 0], 1]]))).toBe(false);
    expect(() => checkSignature('f', 'input signature', a, signature([[[0, 0], 1]]))).toThrow(
      /^f: input signature must be \{\(0,0\):1, \(1,0\):2\} \(got "\{\(0,0\):1\}"\)$/,
    );
    const layer = new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[0, 0], 1]], M: 3 }, random.key(0));
    const x = MultiImage.zeros([[[1, 0], 1]], 2, 4);
    expect(() => layer.call(x)).toThrow(/^ConvContract: input signature must be \{\(0,0\):1\} \(got "\{\(1,0\):1\}"\)$/);
    x.dispose();
  });
});
