/**
 * Bad input to GeometricImage / MultiImage gives a RangeError that names the function, the argument,
 * what was expected and what was given ("fn: arg must be expected (got value)").
 */
import { describe, it, expect } from 'vitest';
import { random, tensor } from '../../../src/index.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { operators } from '../../../src/geometric/group.js';
import { randomTensor } from '../../util.js';
import { randImg } from './helpers.js';

const mi = (D: number, spatial: number[], keys: [number, number, number][], batch = 1, isTorus: boolean | boolean[] = true) => {
  const blocks: Record<string, ReturnType<typeof tensor>> = {};
  keys.forEach(([k, p, c], i) => (blocks[`${k},${p}`] = randomTensor(random.key(i), [batch, c, ...spatial, ...new Array(k).fill(D)])));
  return MultiImage.fromBlocks(blocks, D, isTorus);
};

describe('mismatched D', () => {
  it('GeometricImage add / sub / mul / convolve', () => {
    const a = randImg(1, [3, 3], 1, 0, 2);
    const b = randImg(2, [3, 3, 3], 0, 0, 3);
    expect(() => a.add(b)).toThrow(/^add: other\.D must be 2 \(got 3\)$/);
    expect(() => a.sub(b)).toThrow(/sub: other\.D must be 2 \(got 3\)/);
    expect(() => a.mul(b)).toThrow(/mul: other\.D must be 2 \(got 3\)/);
    expect(() => a.convolveWith(b)).toThrow(/convolveWith: filter\.D must be 2 \(got 3\)/);
    expect(() => a.convolveContract(b)).toThrow(/convolveContract: filter\.D must be 2 \(got 3\)/);
    expect(() => a.timesGroupElement(operators(3)[0]!)).toThrow(/timesGroupElement: group element D must be 2 \(got 3\)/);
  });

  it('MultiImage add / concat / fromImages / timesGroupElement', () => {
    const a = mi(2, [2, 2], [[0, 0, 1]]);
    const b = mi(3, [2, 2, 2], [[0, 0, 1]]);
    expect(() => a.add(b)).toThrow(/add: other\.D must be 2 \(got 3\)/);
    expect(() => a.concat(b)).toThrow(/concat: other\.D must be 2 \(got 3\)/);
    expect(() => MultiImage.fromImages([randImg(1, [2, 2], 0, 0, 2), randImg(2, [2, 2, 2], 0, 0, 3)])).toThrow(/fromImages: image D must be 2 \(got 3\)/);
    expect(() => a.timesGroupElement(operators(3)[5]!)).toThrow(/timesGroupElement: group element D must be 2 \(got 3\)/);
  });

  it('D itself must be 2 or 3', () => {
    expect(() => GeometricImage.zeros(3, 0, 0, 4)).toThrow(/D must be 2 or 3 \(got 4\)/);
    expect(() => new GeometricImage(tensor([1, 2], [2]), 0, 1)).toThrow(/GeometricImage: D must be 2 or 3 \(got 1\)/);
    expect(() => MultiImage.zeros([[[0, 0], 1]], 4, 2)).toThrow(/D must be 2 or 3 \(got 4\)/);
  });
});

describe('mismatched spatial sizes', () => {
  it('GeometricImage add / sub / mul', () => {
    const a = randImg(1, [3, 3], 0, 0, 2);
    const b = randImg(2, [4, 3], 0, 0, 2);
    expect(() => a.add(b)).toThrow(/^add: other spatial shape must be \[3,3\] \(got \[4,3\]\)$/);
    expect(() => a.sub(b)).toThrow(/sub: other spatial shape must be \[3,3\] \(got \[4,3\]\)/);
    expect(() => a.mul(b)).toThrow(/mul: other spatial shape must be \[3,3\] \(got \[4,3\]\)/);
  });

  it('MultiImage add / concat (channel and batch) / fromBlocks', () => {
    const a = mi(2, [3, 3], [[0, 0, 1]]);
    const b = mi(2, [4, 4], [[0, 0, 1]]);
    expect(() => a.add(b)).toThrow(/add: other spatial shape must be \[3,3\] \(got \[4,4\]\)/);
    expect(() => a.concat(b)).toThrow(/concat: other spatial shape must be \[3,3\] \(got \[4,4\]\)/);
    expect(() => a.concat(b, 'batch')).toThrow(/concat: other spatial shape must be \[3,3\] \(got \[4,4\]\)/);
    expect(() => MultiImage.fromBlocks({ '0,0': randomTensor(random.key(1), [1, 1, 3, 3]), '1,0': randomTensor(random.key(2), [1, 1, 3, 4, 2]) }, 2)).toThrow(
      /fromBlocks: spatial shape of block \(1,0\) must be \[3,3\] \(got \[3,4\]\)/,
    );
    expect(() => MultiImage.fromBlocks({ '0,0': randomTensor(random.key(1), [1, 1, 3, 3]), '1,0': randomTensor(random.key(2), [2, 1, 3, 3, 2]) }, 2)).toThrow(
      /fromBlocks: batch of block \(1,0\) must be 1 \(got 2\)/,
    );
  });

  it('other metadata mismatches name the argument', () => {
    const a = randImg(1, [3, 3], 1, 0, 2);
    expect(() => a.add(randImg(2, [3, 3], 1, 1, 2))).toThrow(/add: other\.parity must be 0 \(got 1\)/);
    expect(() => a.add(randImg(2, [3, 3], 2, 0, 2))).toThrow(/add: other\.k must be 1 \(got 2\)/);
    expect(() => a.add(randImg(2, [3, 3], 1, 0, 2, [true, false]))).toThrow(/add: other\.isTorus must be \[true,true\] \(got \[true,false\]\)/);
    const m = mi(2, [3, 3], [[0, 0, 1]], 2);
    expect(() => m.concat(mi(2, [3, 3], [[0, 0, 1]], 3))).toThrow(/concat: other batch must be 2 \(got 3\)/);
    expect(() => m.add(mi(2, [3, 3], [[0, 0, 1]], 2, [false, true]))).toThrow(/add: other\.isTorus must be \[true,true\] \(got \[false,true\]\)/);
  });
});

describe('unknown keys', () => {
  const m = mi(
    2,
    [2, 2],
    [
      [0, 0, 1],
      [1, 0, 2],
    ],
  );
  it('block / channels / packedBlock / withKeys name the known keys', () => {
    expect(() => m.block(2, 1)).toThrow(/^block: key must be one of \{\(0,0\):1, \(1,0\):2\} \(got "\(2,1\)"\)$/);
    expect(() => m.channels(0, 1)).toThrow(/channels: key must be one of \{\(0,0\):1, \(1,0\):2\} \(got "\(0,1\)"\)/);
    expect(() => m.packedBlock(3, 0)).toThrow(/packedBlock: key.*got "\(3,0\)"/);
    expect(() =>
      m.withKeys([
        { k: 0, parity: 0 },
        { k: 1, parity: 1 },
      ]),
    ).toThrow(/withKeys: key must be one of \{\(0,0\):1, \(1,0\):2\} \(got "\(1,1\)"\)/);
  });

  it('badly formed block keys and duplicate signature keys', () => {
    expect(() => MultiImage.fromBlocks({ vector: randomTensor(random.key(1), [1, 1, 2, 2, 2]) }, 2)).toThrow(
      /fromBlocks: block key must be "k,parity", e\.g\. "1,0" \(got "vector"\)/,
    );
    expect(() => MultiImage.fromBlocks({}, 2)).toThrow(/fromBlocks: blocks must be at least one block \(got 0\)/);
    expect(() =>
      MultiImage.zeros(
        [
          [[0, 0], 1],
          [[0, 0], 2],
        ],
        2,
        2,
      ),
    ).toThrow(/signature must be without duplicate keys \(got "two entries for \(0,0\)"\)/);
    expect(() => MultiImage.zeros([[[0, 0], 0]], 2, 2)).toThrow(/channels of key \(0,0\) must be an integer >= 1 \(got 0\)/);
  });
});

describe('even filters need explicit padding', () => {
  const f2 = randImg(1, [2, 2], 0, 0, 2);
  it.each([
    ['TORUS', true],
    ['SAME', true],
    ['SAME', false],
    [undefined, true],
    [undefined, false],
  ] as const)('padding %s on a torus=%s image', (padding, torus) => {
    const x = randImg(2, [4, 4], 0, 0, 2, torus);
    const mode = padding ?? (torus ? 'TORUS' : 'SAME');
    const o = padding ? { padding } : {};
    expect(() => x.convolveWith(f2, o)).toThrow(new RegExp(`convolve(With)?: filter side M must be odd with padding ${mode} .*\\(got 2\\)`));
    expect(() => x.convolveContract(f2, o)).toThrow(/M.*odd.*got 2/);
  });

  it('explicit padding and VALID accept even filters', () => {
    const x = randImg(2, [4, 4], 0, 0, 2);
    expect([
      ...x.convolveWith(f2, {
        padding: [
          [1, 1],
          [1, 1],
        ],
      }).spatial,
    ]).toEqual([5, 5]);
    expect([...x.convolveWith(f2, { padding: 'VALID' }).spatial]).toEqual([3, 3]);
  });

  it('bad padding, stride and dilation values', () => {
    const x = randImg(2, [4, 4], 0, 0, 2);
    const f = randImg(3, [3, 3], 0, 0, 2);
    expect(() => x.convolveWith(f, { padding: [[1, 1]] })).toThrow(/padding must be 2 pairs \[lo, hi\] \(got \["\[1,1\]"\]\)/);
    expect(() => x.convolveWith(f, { padding: -1 })).toThrow(/padding must be an integer >= 0 \(got -1\)/);
    expect(() => x.convolveWith(f, { padding: 'FULL' as never })).toThrow(
      /padding must be "TORUS", "SAME", "VALID", an integer or \[lo, hi\] pairs \(got "FULL"\)/,
    );
    expect(() => x.convolveWith(f, { stride: 0 })).toThrow(/stride must be an integer >= 1 or 2 of them \(got 0\)/);
    expect(() => x.convolveWith(f, { rhsDilation: [1, 1.5] })).toThrow(/rhsDilation must be an integer >= 1 or 2 of them \(got \[1,1\.5\]\)/);
    expect(() => x.convolveWith(randImg(4, [3, 5], 0, 0, 2))).toThrow(/filter spatial shape must be square \(M,\)\*D \(got \[3,5\]\)/);
  });
});

describe('non-integer sizes', () => {
  it('zeros / fill with N = 2.5, k = 1.5', () => {
    expect(() => GeometricImage.zeros(2.5, 0, 0, 2)).toThrow(/^GeometricImage\.zeros: N must be a positive integer or 2 of them \(got 2\.5\)$/);
    expect(() => GeometricImage.zeros([3, 2.5], 0, 0, 2)).toThrow(/N must be a positive integer or 2 of them \(got \[3,2\.5\]\)/);
    expect(() => GeometricImage.zeros([3, 3], 0, 0, 3)).toThrow(/N must be a positive integer or 3 of them \(got \[3,3\]\)/);
    expect(() => GeometricImage.zeros(3, 1.5, 0, 2)).toThrow(/zeros: k must be an integer >= 0 \(got 1\.5\)/);
    expect(() => GeometricImage.fill(2.5, 0, 2, 1)).toThrow(/GeometricImage\.fill: N must be a positive integer or 2 of them \(got 2\.5\)/);
  });

  it('pool / unpool patch 1.5 and 0', () => {
    const x = randImg(1, [4, 4], 1, 0, 2);
    expect(() => x.maxPool(1.5)).toThrow(/^maxPool: patch must be an integer >= 1 \(got 1\.5\)$/);
    expect(() => x.averagePool(1.5)).toThrow(/averagePool: patch must be an integer >= 1 \(got 1\.5\)/);
    expect(() => x.unpool(1.5)).toThrow(/unpool: patch must be an integer >= 1 \(got 1\.5\)/);
    expect(() => x.unpool(0)).toThrow(/unpool: patch must be an integer >= 1 \(got 0\)/);
    const m = mi(2, [4, 4], [[1, 0, 1]]);
    expect(() => m.averagePool(1.5)).toThrow(/averagePool: patch must be an integer >= 1 \(got 1\.5\)/);
    expect(() => m.maxPool(1.5)).toThrow(/maxPool: patch must be an integer >= 1 \(got 1\.5\)/);
    expect(() => m.unpool(1.5)).toThrow(/unpool: patch must be an integer >= 1 \(got 1\.5\)/);
  });

  it('spatial size not divisible by the patch', () => {
    const x = randImg(1, [4, 6], 1, 0, 2);
    expect(() => x.maxPool(4)).toThrow(/^maxPool: spatial size on axis 1 must be divisible by the patch 4 \(got 6\)$/);
    expect(() => x.averagePool(4)).toThrow(/averagePool: spatial size on axis 1 must be divisible by the patch 4 \(got 6\)/);
    expect(() => randImg(1, [4, 4, 5], 0, 0, 3).averagePool(2)).toThrow(/axis 2 must be divisible by the patch 2 \(got 5\)/);
    const m = mi(
      2,
      [6, 4],
      [
        [0, 0, 1],
        [1, 0, 1],
      ],
    );
    expect(() => m.averagePool(4)).toThrow(/averagePool: spatial size on axis 0 must be divisible by the patch 4 \(got 6\)/);
    expect(() => m.maxPool(4)).toThrow(/maxPool: spatial size on axis 0 must be divisible by the patch 4 \(got 6\)/);
  });
});

describe('tensor axes, parity and isTorus', () => {
  it('tensor axes not of length D', () => {
    expect(() => new GeometricImage(tensor(new Array(27).fill(0), [3, 3, 3]), 0, 2)).toThrow(
      /GeometricImage: tensor axes must be all of length D=2 \(got \[3,3,3\]\)/,
    );
    expect(() => new GeometricImage(tensor(new Array(16).fill(0), [2, 2, 2, 2]), 0, 3)).toThrow(/tensor axes must be all of length D=3 \(got \[2,2,2,2\]\)/);
    expect(() => new GeometricImage(tensor(new Array(4).fill(0), [2, 2]), 0, 3)).toThrow(/GeometricImage: data shape must be of rank >= D=3 \(got \[2,2\]\)/);
    expect(() => GeometricImage.fill(3, 0, 2, [1, 2, 3])).toThrow(/GeometricImage\.fill: fill must be a \(D,\)\*k nested array with D=2 \(got "shape \[3\]"\)/);
    expect(() => MultiImage.fromBlocks({ '1,0': randomTensor(random.key(1), [1, 1, 3, 3, 3]) }, 2)).toThrow(
      /fromBlocks\(1,0\): tensor axes must be all of length D=2 \(got \[1,1,3,3,3\]\)/,
    );
    expect(() => MultiImage.fromBlocks({ '2,0': randomTensor(random.key(1), [1, 1, 3, 3, 2]) }, 2)).toThrow(/fromBlocks\(2,0\): data shape must be of rank 6/);
  });

  it('invalid parity', () => {
    expect(() => new GeometricImage(tensor([1, 2, 3, 4], [2, 2]), 0.5, 2)).toThrow(/^GeometricImage: parity must be an integer \(got 0\.5\)$/);
    expect(() => GeometricImage.zeros(2, 0, NaN, 2)).toThrow(/parity must be an integer \(got NaN\)/);
    expect(() => MultiImage.zeros([[[0, 2], 1]], 2, 2)).toThrow(/MultiImage\.zeros: parity must be 0 or 1 \(got 2\)/);
    expect(() => MultiImage.fromBlocks({ '0,2': randomTensor(random.key(1), [1, 1, 2, 2]) }, 2)).toThrow(/fromBlocks: parity must be 0 or 1 \(got 2\)/);
    expect(() =>
      mi(2, [2, 2], [[0, 0, 7]])
        .toScalarMultiImage()
        .fromScalarMultiImage([{ k: 1, parity: -1 as 0, channels: 1 }]),
    ).toThrow(/fromScalarMultiImage: parity must be 0 or 1 \(got -1\)/);
  });

  it('bad isTorus length', () => {
    expect(() => GeometricImage.zeros(3, 0, 0, 2, [true])).toThrow(/^GeometricImage: isTorus must be a boolean or 2 booleans \(got \[true\]\)$/);
    expect(() => GeometricImage.zeros(3, 0, 0, 3, [true, false])).toThrow(/isTorus must be a boolean or 3 booleans \(got \[true,false\]\)/);
    expect(() => GeometricImage.zeros(3, 0, 0, 2, [true, 1 as never])).toThrow(/isTorus must be a boolean or 2 booleans \(got \[true,1\]\)/);
    expect(() => MultiImage.zeros([[[0, 0], 1]], 2, 2, 1, [true, false, true])).toThrow(
      /MultiImage: isTorus must be a boolean or 2 booleans \(got \[true,false,true\]\)/,
    );
  });
});
