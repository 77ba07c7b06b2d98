/**
 * Memory: every GeometricImage / MultiImage operation, run inside `tidy`, leaves memory() unchanged;
 * and run outside any scope, disposing its result (and nothing else) also returns memory() to where
 * it was — no intermediate handle escapes.
 */
import { describe, it, expect } from 'vitest';
import { memory, random, tidy, Tensor } from '../../../src/index.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { operators } from '../../../src/geometric/group.js';
import { expectNoLeak, randomTensor } from '../../util.js';
import { randImg, randomInvariantFilter } from './helpers.js';

type Result = GeometricImage | MultiImage | Tensor | GeometricImage[] | boolean | Promise<unknown> | void;

function disposeResult(r: Result): void {
  if (r instanceof GeometricImage || r instanceof MultiImage || r instanceof Tensor) r.dispose();
  else if (Array.isArray(r)) r.forEach((im) => im.dispose());
}

// Inputs live for the whole file (made once, outside any scope).
const x1 = randImg(1, [4, 4], 1, 0, 2);
const x1b = randImg(2, [4, 4], 1, 0, 2);
const x2 = randImg(3, [4, 4], 2, 1, 2);
const x0 = randImg(4, [4, 4], 0, 0, 2, [true, false]);
const x3 = randImg(5, [2, 2, 2], 2, 0, 3);
const x4 = randImg(16, [3, 3], 4, 0, 2);
const f2 = randomInvariantFilter(6, 2, 3, 2, 0)!;
const f1 = randomInvariantFilter(7, 2, 3, 1, 1)!;
const fEven = randImg(8, [2, 2], 0, 0, 2);
const f3 = randImg(9, [3, 3, 3], 1, 0, 3);
const g2 = operators(2)[5]!;
const g3 = operators(3)[17]!;
const mA = MultiImage.fromBlocks(
  {
    '0,0': randomTensor(random.key(10), [2, 2, 4, 4]),
    '1,0': randomTensor(random.key(11), [2, 1, 4, 4, 2]),
    '2,1': randomTensor(random.key(12), [2, 1, 4, 4, 2, 2]),
  },
  2,
);
const mB = MultiImage.fromBlocks({ '1,0': randomTensor(random.key(13), [2, 1, 4, 4, 2]), '0,1': randomTensor(random.key(14), [2, 3, 4, 4]) }, 2);
const b10 = randomTensor(random.key(17), [2, 3, 4, 4, 2]);
const b00 = randomTensor(random.key(18), [2, 1, 4, 4]);
const u10 = randomTensor(random.key(19), [3, 4, 4, 2]);
const u00 = randomTensor(random.key(20), [1, 4, 4]);
const mS = MultiImage.fromBlocks({ '0,0': randomTensor(random.key(15), [2, 2, 4, 4]) }, 2);

const imageOps: [string, () => Result][] = [
  ['zeros', () => GeometricImage.zeros(3, 2, 0, 2)],
  ['fill', () => GeometricImage.fill(3, 1, 2, [1, 2])],
  [
    'from nested',
    () =>
      GeometricImage.from(
        [
          [1, 2],
          [3, 4],
        ],
        0,
        2,
      ),
  ],
  ['add', () => x1.add(x1b)],
  ['sub', () => x1.sub(x1b)],
  ['mul (image)', () => x1.mul(x2)],
  ['mul (number)', () => x1.mul(3)],
  ['timesScalar', () => x1.timesScalar(-2)],
  ['transpose', () => x2.transpose([1, 0])],
  ['convolveWith', () => x1.convolveWith(f2)],
  [
    'convolveWith (literal padding, even filter)',
    () =>
      x1.convolveWith(fEven, {
        padding: [
          [1, 1],
          [1, 1],
        ],
      }),
  ],
  ['convolveWith (D=3)', () => x3.convolveWith(f3)],
  ['convolveContract', () => x1.convolveContract(f2)],
  ['convolveContract (k=0 image)', () => x0.convolveContract(f1)],
  ['contract', () => x2.contract(0, 1)],
  [
    'multicontract',
    () =>
      x4.multicontract([
        [0, 2],
        [1, 3],
      ]),
  ],
  ['leviCivitaContract D=2', () => x1.leviCivitaContract([0])],
  ['leviCivitaContract D=3', () => x3.leviCivitaContract([0, 1])],
  ['norm', () => x2.norm()],
  ['normalize', () => x2.normalize()],
  ['activation', () => x0.activation((t) => t.reshape(t.shape))],
  ['timesGroupElement D=2', () => x2.timesGroupElement(g2)],
  ['timesGroupElement D=3', () => x3.timesGroupElement(g3)],
  ['maxPool (norm)', () => x2.maxPool(2)],
  ['maxPool (value)', () => x0.maxPool(2, false)],
  ['averagePool', () => x1.averagePool(2)],
  ['unpool', () => x1.unpool(2)],
];
const multiOps: [string, () => Result][] = [
  ['fromBlocks', () => MultiImage.fromBlocks({ '1,0': b10, '0,0': b00 }, 2)],
  ['fromBlocks (unbatched)', () => MultiImage.fromBlocks({ '1,0': u10, '0,0': u00 }, 2, true, false)],
  ['fromImages', () => MultiImage.fromImages([x1, x0, x1b, x2])],
  ['zeros', () => MultiImage.zeros([[[1, 0], 2]], 2, 3, 2)],
  ['block', () => mA.block(1, 0)],
  ['block (2,1)', () => mA.block(2, 1)],
  ['packedBlock', () => mA.packedBlock(0, 0)],
  ['add', () => mA.add(mA)],
  ['sub', () => mA.sub(mA)],
  ['scale', () => mA.scale(2)],
  ['concat channel', () => mA.concat(mB)],
  ['concat batch', () => mA.concat(mA, 'batch')],
  [
    'withKeys',
    () =>
      mA.withKeys([
        { k: 2, parity: 1 },
        { k: 0, parity: 0 },
      ]),
  ],
  ['getSubset', () => mA.getSubset([1, 0])],
  ['getOne', () => mA.getOne(1)],
  ['getComponent', () => mA.getComponent([0, -1])],
  ['toVector', () => mA.toVector()],
  ['fromVector', () => tidy(() => MultiImage.fromVector(mA.toVector(), mA))],
  ['toScalarMultiImage', () => mA.toScalarMultiImage()],
  ['fromScalarMultiImage', () => mS.fromScalarMultiImage([[[1, 0], 1]])],
  ['timesGroupElement', () => mA.timesGroupElement(g2)],
  ['channelNorms', () => mA.channelNorms()],
  ['norm', () => mA.norm()],
  ['averagePool', () => mA.averagePool(2)],
  ['maxPool', () => mA.maxPool(2)],
  ['maxPool (value)', () => mS.maxPool(2, false)],
  ['unpool', () => mA.unpool(2)],
  ['toImages', () => mA.toImages()],
];

describe('inside tidy, memory() is unchanged', () => {
  it.each([...imageOps.map(([n, f]) => [`GeometricImage.${n}`, f] as const), ...multiOps.map(([n, f]) => [`MultiImage.${n}`, f] as const)])('%s', (name, f) => {
    expectNoLeak(() => tidy(() => void f()), name);
  });

  it('equals (async reads) allocates nothing', async () => {
    const before = memory();
    expect(await x1.equals(x1)).toBe(true);
    expect(await mA.equals(mA)).toBe(true);
    expect(memory()).toEqual(before);
  });
});

describe('outside tidy, disposing the result restores memory()', () => {
  it.each([...imageOps.map(([n, f]) => [`GeometricImage.${n}`, f] as const), ...multiOps.map(([n, f]) => [`MultiImage.${n}`, f] as const)])('%s', (name, f) => {
    expectNoLeak(() => disposeResult(f()), name);
  });
});
