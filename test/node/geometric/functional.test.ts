/**
 * Tensor-level geometric ops (src/geometric/functional.ts) with batch and channel axes, against
 * ginjax's tests/test_functional_geometric_image.py (inventory §7.1).
 */
import { describe, it, expect } from 'vitest';
import { slice, tensor, tidy, type Tensor } from '../../../src/index.js';
import * as F from '../../../src/geometric/functional.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { operators } from '../../../src/geometric/group.js';
import { allclose, randomTensor, t, values } from '../../util.js';
import { random } from '../../../src/index.js';

const T2 = [true, true] as const;
const plain = (x: Tensor): number[] => Array.from(values(x));

/** Channel c of batch element b of [B, C, ...]: a GeometricImage. */
function imageAt(x: Tensor, b: number, c: number, D: number, parity = 0): GeometricImage {
  const C = x.shape[1]!;
  const rest = x.shape.slice(2);
  const flatX = x.reshape([x.shape[0]! * C, ...rest]);
  return new GeometricImage(slice(flatX, 0, b * C + c, 1).reshape(rest), parity, D);
}

describe('functional convolve (batch and channels)', () => {
  it('testConvolveNonSquare through the functional API', () => {
    const x = tensor(
      Array.from({ length: 20 }, (_, i) => i),
      [1, 1, 4, 5],
    );
    const f = tensor(new Array(9).fill(1), [1, 1, 3, 3]);
    const same = F.convolve(x, f, 2, 0, 0, [false, false], { padding: 'SAME' });
    expect([...same.shape]).toEqual([1, 1, 4, 5]);
    allclose(same, [
      [
        [
          [12, 21, 27, 33, 24],
          [33, 54, 63, 72, 51],
          [63, 99, 108, 117, 81],
          [52, 81, 87, 93, 64],
        ],
      ],
    ]);
    allclose(F.convolve(x, f, 2, 0, 0, [false, false], { padding: 'VALID' }), [
      [
        [
          [54, 63, 72],
          [99, 108, 117],
        ],
      ],
    ]);
    allclose(F.convolve(x, f, 2, 0, 0, T2, { padding: 'TORUS' }), [
      [
        [
          [75, 69, 78, 87, 81],
          [60, 54, 63, 72, 66],
          [105, 99, 108, 117, 111],
          [90, 84, 93, 102, 96],
        ],
      ],
    ]);
    allclose(F.convolve(x, f, 2, 0, 0, T2, { padding: 'TORUS', rhsDilation: [2, 2] }), [
      [
        [
          [75, 84, 78, 72, 81],
          [120, 129, 123, 117, 126],
          [45, 54, 48, 42, 51],
          [90, 99, 93, 87, 96],
        ],
      ],
    ]);
  });

  it('testConvolveDepth: 2 input channels', () => {
    const x = t([
      [
        [
          [2, 1, 0],
          [0, 0, -3],
          [2, 0, 1],
        ],
        [
          [-7, 4, -4],
          [3, 1, 3],
          [-4, -1, 1],
        ],
      ],
    ]);
    const f = t([
      [
        [
          [1, 0, 1],
          [0, 0, 0],
          [1, 0, 1],
        ],
        [
          [0, 1, 0],
          [1, 0, 1],
          [0, 1, 0],
        ],
      ],
    ]);
    const y = F.convolve(x, f, 2, 0, 0, T2);
    expect([...y.shape]).toEqual([1, 1, 3, 3]);
    allclose(y, [
      [
        [
          [-3, -11, 3],
          [-5, 14, 6],
          [-6, 1, -3],
        ],
      ],
    ]);
  });

  it('testConvolveDepth_IK0_FK1: the same vector filter at both depths', () => {
    const x = t([
      [
        [
          [2, 1, 0],
          [0, 0, -3],
          [2, 0, 1],
        ],
        [
          [-7, 4, -4],
          [3, 1, 3],
          [-4, -1, 1],
        ],
      ],
    ]);
    const vf = [
      [
        [0, 0],
        [0, 1],
        [0, 0],
      ],
      [
        [-1, 0],
        [0, 0],
        [1, 0],
      ],
      [
        [0, 0],
        [0, -1],
        [0, 0],
      ],
    ];
    const f = t([[vf, vf]]);
    const y = F.convolve(x, f, 2, 0, 1, T2);
    expect([...y.shape]).toEqual([1, 1, 3, 3, 2]);
    const a = [
      [
        [1, 2],
        [-2, 0],
        [1, 4],
      ],
      [
        [3, 0],
        [-3, 1],
        [0, -1],
      ],
      [
        [-1, -2],
        [-1, -1],
        [2, -3],
      ],
    ];
    const b = [
      [
        [8, -7],
        [3, -2],
        [-11, -2],
      ],
      [
        [-2, -3],
        [0, 5],
        [2, -5],
      ],
      [
        [-2, 10],
        [5, -3],
        [-3, 7],
      ],
    ];
    allclose(y, [[a.map((row, i) => row.map((p, j) => p.map((v, c) => v + b[i]![j]![c]!)))]]);
  });

  it('testConvolveDepthMultiChannelsBatch: equals single-channel convolutions summed over in-channels (k, k′ in 0..2)', () => {
    const D = 2;
    const [B, C, O, N] = [3, 4, 2, 3];
    let seed = 1;
    for (const k of [0, 1, 2]) {
      const x = randomTensor(random.key(seed++), [B, C, N, N, ...new Array(k).fill(D)]);
      for (const kf of [0, 1, 2]) {
        const f = randomTensor(random.key(seed++), [O, C, 3, 3, ...new Array(kf).fill(D)]);
        tidy(() => {
          const y = F.convolve(x, f, D, k, kf, T2);
          expect([...y.shape]).toEqual([B, O, N, N, ...new Array(k + kf).fill(D)]);
          const expected: number[] = [];
          for (let b = 0; b < B; b++) {
            for (let o = 0; o < O; o++) {
              let acc: number[] | null = null;
              for (let c = 0; c < C; c++) {
                const one = plain(imageAt(x, b, c, D).convolveWith(imageAt(f, o, c, D)).data);
                acc = acc ? acc.map((v, i) => v + one[i]!) : one;
              }
              expected.push(...acc!);
            }
          }
          allclose(plain(y), expected, { rtol: 1e-10, atol: 1e-12 }, `k=${k} k'=${kf}`);
          // and convolveContract over channels equals the contraction of the multi-channel convolve
          if (kf >= k) {
            const yc = F.convolveContract(x, f, D, k, kf, T2);
            const ref =
              k === 0
                ? y
                : F.multicontract(
                    y,
                    D,
                    k + kf,
                    Array.from({ length: k }, (_, i) => [i, i + k] as const),
                  );
            allclose(yc, ref, { rtol: 1e-10, atol: 1e-12 }, `contract k=${k} k'=${kf}`);
          }
        });
      }
    }
  });

  it('filter in-channels must match the image channels', () => {
    const x = tensor(new Array(18).fill(0), [1, 2, 3, 3]);
    const f = tensor(new Array(27).fill(0), [1, 3, 3, 3]);
    expect(() => F.convolve(x, f, 2, 0, 0, T2)).toThrow(/in-channels.*2.*got 3/);
    const g = tensor(new Array(24).fill(0), [1, 2, 3, 4]);
    expect(() => F.convolve(x, g, 2, 0, 0, T2)).toThrow(/filter spatial shape.*square.*\[3,4\]/);
  });
});

describe('functional ops with leading axes', () => {
  it('groupAction over [batch, channels, ...] equals per-image actions', () => {
    for (const D of [2, 3]) {
      const k = 1;
      const shape = [2, 3, ...(D === 2 ? [3, 4] : [2, 3, 2]), ...new Array(k).fill(D)];
      const x = randomTensor(random.key(40 + D), shape);
      for (const g of [operators(D)[1]!, operators(D).at(-3)!]) {
        tidy(() => {
          const y = F.groupAction(x, D, k, 1, g);
          const expected: number[] = [];
          for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) expected.push(...plain(imageAt(x, b, c, D, 1).timesGroupElement(g).data));
          allclose(plain(y), expected, { rtol: 0, atol: 0 });
        });
      }
    }
  });

  it('pooling and unpooling over leading axes equal per-image results', () => {
    const D = 2;
    const x = randomTensor(random.key(50), [2, 3, 4, 4, 2]);
    tidy(() => {
      const per = (fn: (im: GeometricImage) => GeometricImage) => {
        const out: number[] = [];
        for (let b = 0; b < 2; b++) for (let c = 0; c < 3; c++) out.push(...plain(fn(imageAt(x, b, c, D)).data));
        return out;
      };
      allclose(
        plain(F.averagePool(x, D, 1, 2)),
        per((im) => im.averagePool(2)),
        { rtol: 1e-12, atol: 1e-12 },
      );
      allclose(
        plain(F.maxPool(x, D, 1, 2)),
        per((im) => im.maxPool(2)),
        { rtol: 0, atol: 0 },
      );
      allclose(
        plain(F.unpool(x, D, 1, 3)),
        per((im) => im.unpool(3)),
        { rtol: 0, atol: 0 },
      );
      expect([...F.unpool(x, D, 1, 3).shape]).toEqual([2, 3, 12, 12, 2]);
    });
  });

  it('splitShape validates the tensor axes', () => {
    expect(F.splitShape('f', [2, 3, 4, 5, 2, 2], 2, 2)).toEqual({ lead: [2, 3], spatial: [4, 5], tensor: [2, 2] });
    expect(() => F.splitShape('f', [4, 5, 3], 2, 1)).toThrow(/f: tensor axes must be all of length D=2 \(got \[4,5,3\]\)/);
    expect(() => F.splitShape('f', [4, 5], 2, 1)).toThrow(/data shape/);
    expect(() => F.splitShape('f', [1, 4, 5, 2], 2, 1, 2)).toThrow(/data shape.*rank 5/);
  });
});
