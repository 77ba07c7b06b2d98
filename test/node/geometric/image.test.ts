/**
 * GeometricImage against ginjax's tests/test_geometric_image.py and test_functional_geometric_image.py
 * (hard-coded values, inventory §7.1, §7.2), plus cross-checks against plain float64 loops.
 */
import { describe, it, expect } from 'vitest';
import { random, tensor } from '../../../src/index.js';
import { GeometricImage, TINY } from '../../../src/geometric/image.js';
import { operators, type GroupElement } from '../../../src/geometric/group.js';
import { allclose, flat } from '../../util.js';
import { arange, arangeImg, expectMeta, expectSameImage, img, indices, naiveContract, naiveConvolve, randImg, relErr, vals } from './helpers.js';

/** The operator of B_D with this (row-major) matrix. */
function op(D: number, matrix: number[][]): GroupElement {
  const m = matrix.flat();
  const g = operators(D).find((e) => e.matrix.every((v, i) => v === m[i]));
  if (!g) throw new Error(`no operator ${JSON.stringify(matrix)}`);
  return g;
}

const left90 = op(2, [
  [0, -1],
  [1, 0],
]);
const flipX = op(2, [
  [-1, 0],
  [0, 1],
]);

/** The 3×3 image and filters used throughout ginjax's convolution tests. */
const A3 = [
  [2, 1, 0],
  [0, 0, -3],
  [2, 0, 1],
];
const cornersFilter = [
  [1, 0, 1],
  [0, 0, 0],
  [1, 0, 1],
];
const dilationFilter = [
  [1, 0, 2],
  [1, -1, 0],
  [0, 0, -2],
];
const vectorFilter = [
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

describe('GeometricImage constructors', () => {
  it('zeros(N, k, parity, D, isTorus)', () => {
    const a = GeometricImage.zeros(20, 0, 0, 2);
    expect([...a.shape]).toEqual([20, 20]);
    expectMeta(a, { D: 2, k: 0, parity: 0, isTorus: [true, true] });
    expect(vals(a).every((v) => v === 0)).toBe(true);
    expect([...GeometricImage.zeros(20, 1, 0, 2).shape]).toEqual([20, 20, 2]);
    const c = GeometricImage.zeros(20, 3, 0, 2);
    expect([...c.shape]).toEqual([20, 20, 2, 2, 2]);
    expect(c.k).toBe(3);
    expect(c.pixelShape).toEqual([2, 2, 2]);
    expect(c.pixelSize).toBe(8);
    const d = GeometricImage.zeros([5, 5, 5], 1, 1, 3, false);
    expect([...d.shape]).toEqual([5, 5, 5, 3]);
    expectMeta(d, { D: 3, k: 1, parity: 1, isTorus: [false, false, false] });
    const e = GeometricImage.zeros([4, 5, 6], 0, 0, 3);
    expect([...e.shape]).toEqual([4, 5, 6]);
    expectMeta(e, { D: 3, k: 0, spatial: [4, 5, 6] });
    expect([...GeometricImage.zeros(4, 0, 0, 2, [true, false]).isTorus]).toEqual([true, false]);
  });

  it('fill(N, parity, D, fill, isTorus): ginjax argument order, k = fill rank', () => {
    const v = GeometricImage.fill(3, 1, 2, [1, 2]);
    expectMeta(v, { D: 2, k: 1, parity: 1, spatial: [3, 3], isTorus: [true, true] });
    expect(vals(v)).toEqual(new Array(9).fill(0).flatMap(() => [1, 2]));
    const s = GeometricImage.fill([2, 3], 0, 2, 5, false);
    expectMeta(s, { k: 0, spatial: [2, 3], isTorus: [false, false] });
    expect(vals(s)).toEqual(new Array(6).fill(5));
    const m = [
      [1, 2, 3],
      [4, 5, 6],
      [7, 8, 9],
    ];
    const t = GeometricImage.fill(2, 0, 3, m);
    expectMeta(t, { D: 3, k: 2, spatial: [2, 2, 2] });
    expect(vals(t)).toEqual(new Array(8).fill(0).flatMap(() => flat(m)));
  });

  it('constructor infers k from the rank and stores parity mod 2', () => {
    const k0 = new GeometricImage(tensor(new Float32Array(100), [10, 10]), 0, 2);
    expectMeta(k0, { D: 2, k: 0, isTorus: [true, true] });
    const k1 = new GeometricImage(tensor(new Float32Array(200), [10, 10, 2]), 0, 2);
    expect(k1.k).toBe(1);
    const k3 = new GeometricImage(tensor(new Float32Array(800), [10, 10, 2, 2, 2]), 3, 2);
    expectMeta(k3, { k: 3, parity: 1 });
    expect(new GeometricImage(tensor(new Float32Array(4), [2, 2]), -1, 2).parity).toBe(1);
    expect(new GeometricImage(tensor(new Float32Array(4), [2, 2]), 2, 2).parity).toBe(0);
    const d3 = new GeometricImage(tensor(new Float32Array(1000), [10, 10, 10]), 0, 3, false);
    expectMeta(d3, { D: 3, k: 0, isTorus: [false, false, false] });
    expectMeta(new GeometricImage(tensor(new Float32Array(20), [4, 5]), 0, 2), { spatial: [4, 5], k: 0 });
    expectMeta(new GeometricImage(tensor(new Float32Array(20), [2, 5, 2]), 0, 2), { spatial: [2, 5], k: 1 });
    // D does not match the rank / tensor axes of length ≠ D
    expect(() => new GeometricImage(tensor(new Float32Array(100), [10, 10]), 0, 3)).toThrow(RangeError);
    expect(() => new GeometricImage(tensor(new Float32Array(900), [10, 10, 3, 3]), 0, 2)).toThrow(RangeError);
  });

  it('from: nested arrays and flat data with a shape', () => {
    const a = GeometricImage.from(
      [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ],
      1,
      2,
      [false, true],
    );
    expectMeta(a, { D: 2, k: 1, parity: 1, spatial: [2, 2], isTorus: [false, true] });
    expect(vals(a)).toEqual(arange(8, 1));
    const b = GeometricImage.from(arange(8, 1), 1, 2, [false, true], [2, 2, 2]);
    expect(vals(b)).toEqual(arange(8, 1));
    expectMeta(b, { k: 1, parity: 1 });
    const c = GeometricImage.from(Float32Array.from(arange(27)), 0, 3, true, [3, 3, 3]);
    expectMeta(c, { D: 3, k: 0, spatial: [3, 3, 3] });
    expect(() => GeometricImage.from([[1, 2], [3]], 0, 2)).toThrow(/data.*rectangular/);
  });

  it('toString names D, spatial, k, parity, isTorus', () => {
    expect(String(GeometricImage.zeros([3, 4], 1, 1, 2, [true, false]))).toMatch(/D=2.*\[3,4\].*k=1.*parity=1.*\[true,false\]/);
  });
});

describe('GeometricImage equality (ginjax testEqual)', () => {
  const ones = (shape: number[], parity = 0, D = 2, torus: boolean | boolean[] = true) =>
    new GeometricImage(tensor(new Float32Array(shape.reduce((p, d) => p * d, 1)).fill(1), shape), parity, D, torus);

  it('same data and metadata are equal; any metadata difference is unequal', async () => {
    const a = ones([10, 10, 2]);
    expect(await a.equals(ones([10, 10, 2]))).toBe(true);
    expect(await a.equals(ones([5, 5, 2]))).toBe(false); // N
    expect(await a.equals(ones([10, 10, 2, 2]))).toBe(false); // k
    expect(await a.equals(ones([10, 10, 10], 0, 3))).toBe(false); // D
    expect(await ones([2, 2, 2], 0, 3).equals(ones([2, 2, 2], 0, 2))).toBe(false); // D=3 k=0 vs D=2 k=1
    expect(await a.equals(ones([10, 10, 2], 1))).toBe(false); // parity
    expect(await a.equals(ones([10, 10, 2], 0, 2, false))).toBe(false); // isTorus
    expect(await a.equals(ones([9, 10, 2]))).toBe(false); // non-square N
    expect(await a.equals(a.timesScalar(2))).toBe(false);
  });

  it('1.0001× is outside the tolerance, 1.0000001× is within it', async () => {
    const a = ones([10, 10, 2]);
    expect(await a.equals(a.timesScalar(1.0001))).toBe(false);
    expect(await a.equals(a.timesScalar(1.0000001))).toBe(true);
    expect(await a.equals(a.mul(1.0001))).toBe(false);
    expect(TINY).toBe(1e-5);
  });

  it('custom tolerances', async () => {
    const a = ones([3, 3]);
    expect(await a.equals(a.timesScalar(1.01), 0.1, 0.1)).toBe(true);
  });
});

describe('GeometricImage arithmetic', () => {
  const full = (v: number, shape: number[], parity = 0, D = 2, torus: boolean | boolean[] = true) =>
    new GeometricImage(tensor(new Float32Array(shape.reduce((p, d) => p * d, 1)).fill(v), shape), parity, D, torus);

  it('add / sub (testAdd, testSub)', () => {
    const a = full(1, [10, 10, 2]);
    const b = full(5, [10, 10, 2]);
    const r = a.add(b);
    expectMeta(r, { D: 2, k: 1, parity: 0, spatial: [10, 10] });
    expect(vals(r).every((v) => v === 6)).toBe(true);
    expect(vals(a).every((v) => v === 1)).toBe(true); // operands unchanged
    expect(vals(b).every((v) => v === 5)).toBe(true);
    allclose(vals(a.add(full(3.4, [10, 10, 2]))), new Array(200).fill(4.4));
    expect(vals(a.sub(b)).every((v) => v === -4)).toBe(true);
    allclose(vals(a.sub(full(3.4, [10, 10, 2]))), new Array(200).fill(-2.4));
    // mismatches
    expect(() => a.add(full(1, [10, 10, 10, 3], 0, 3))).toThrow(/D/);
    expect(() => a.add(full(1, [10, 10, 2], 1))).toThrow(/parity/);
    expect(() => a.add(full(1, [20, 20, 2]))).toThrow(/spatial/);
    expect(() => a.add(full(1, [10, 10, 2], 0, 2, false))).toThrow(/isTorus/);
    expect(() => a.add(full(1, [10, 10]))).toThrow(/k/);
    expect(() => a.sub(full(1, [10, 10, 2], 1))).toThrow(/parity/);
    expect(() => a.sub(full(1, [20, 20, 2]))).toThrow(/spatial/);
  });

  it('mul: pixelwise tensor product, parities add (testMul)', () => {
    const i1 = full(2, [3, 3]);
    const i2 = full(5, [3, 3]);
    const m12 = i1.mul(i2);
    expectMeta(m12, { k: 0, parity: 0, D: 2, spatial: [3, 3] });
    expect(vals(m12).every((v) => v === 10)).toBe(true);
    expect(vals(i2.mul(i1))).toEqual(vals(m12));

    const i3 = arangeImg([3, 3, 2], 0, 2);
    const m13 = i1.mul(i3);
    expectMeta(m13, { k: 1, parity: 0 });
    allclose(m13.data, [
      [
        [0, 2],
        [4, 6],
        [8, 10],
      ],
      [
        [12, 14],
        [16, 18],
        [20, 22],
      ],
      [
        [24, 26],
        [28, 30],
        [32, 34],
      ],
    ]);

    const i4 = arangeImg([3, 3, 2], 1, 2);
    const m34 = i3.mul(i4);
    expectMeta(m34, { k: 2, parity: 1, spatial: [3, 3] });
    const a = vals(i3);
    const expected: number[] = [];
    for (let p = 0; p < 9; p++) for (let i = 0; i < 2; i++) for (let j = 0; j < 2; j++) expected.push(a[2 * p + i]! * a[2 * p + j]!);
    expect(vals(m34)).toEqual(expected);
    // a's indices come first: (v ⊗ w)_{ij} = v_i w_j, so v⊗w = (w⊗v)ᵀ
    const v = randImg(1, [3, 3], 1, 0, 2);
    const w = randImg(2, [3, 3], 2, 1, 2);
    const vw = v.mul(w);
    expectMeta(vw, { k: 3, parity: 1 });
    expectSameImage(vw, w.mul(v).transpose([2, 0, 1]), 1e-12, 'v⊗w vs (w⊗v) transposed');
    // parity: 1 + 1 = 0
    expect(i4.mul(i4).parity).toBe(0);
    // D=3
    const u = randImg(3, [2, 2, 2], 1, 1, 3);
    const uu = u.mul(u);
    expectMeta(uu, { D: 3, k: 2, parity: 0, spatial: [2, 2, 2] });
    const uv = vals(u);
    const uuv = vals(uu);
    for (let p = 0; p < 8; p++)
      for (let i = 0; i < 3; i++) for (let j = 0; j < 3; j++) expect(uuv[p * 9 + i * 3 + j]).toBeCloseTo(uv[p * 3 + i]! * uv[p * 3 + j]!, 12);
    // mismatches
    expect(() => full(1, [10, 10]).mul(i1)).toThrow(/spatial/);
    expect(() => full(1, [3, 3, 3], 0, 3).mul(i1)).toThrow(/D/);
  });

  it('mul by a number and timesScalar scale without touching the operand (testTimeScalar)', () => {
    const i1 = full(2, [3, 3]);
    const r = i1.mul(5);
    expectMeta(r, { k: 0, parity: 0, D: 2, spatial: [3, 3] });
    expect(vals(r).every((v) => v === 10)).toBe(true);
    allclose(vals(i1.mul(3.4)), new Array(9).fill(6.8));
    expect(vals(i1).every((v) => v === 2)).toBe(true);
    const ones = full(1, [10, 10, 2], 1);
    const s = ones.timesScalar(5);
    expectMeta(s, { k: 1, parity: 1 });
    expect(vals(s).every((v) => v === 5)).toBe(true);
    allclose(vals(ones.timesScalar(3.4)), new Array(200).fill(3.4));
    expect(vals(ones).every((v) => v === 1)).toBe(true);
  });

  it('transpose permutes only the tensor axes (numpy semantics)', () => {
    const x = randImg(4, [2, 3], 3, 1, 2, [true, false]);
    const perm = [2, 0, 1];
    const y = x.transpose(perm);
    expectMeta(y, { k: 3, parity: 1, spatial: [2, 3], isTorus: [true, false] });
    const xv = vals(x);
    const yv = vals(y);
    for (let p = 0; p < 6; p++) {
      for (const b of indices([2, 2, 2])) {
        const c = [0, 0, 0];
        perm.forEach((src, t) => (c[src] = b[t]!));
        expect(yv[p * 8 + b[0]! * 4 + b[1]! * 2 + b[2]!]).toBe(xv[p * 8 + c[0]! * 4 + c[1]! * 2 + c[2]!]);
      }
    }
    const m = arangeImg([1, 1, 2, 2], 0, 2);
    expect(vals(m.transpose([1, 0]))).toEqual([0, 2, 1, 3]);
    expect(vals(m.transpose([0, 1]))).toEqual([0, 1, 2, 3]);
    expect(() => m.transpose([0, 0])).toThrow(/axes/);
  });
});

describe('GeometricImage contractions', () => {
  it('contract on arange(36) and arange(72) (testContract)', () => {
    const i1 = arangeImg([3, 3, 2, 2], 0, 2);
    const c = i1.contract(0, 1);
    expect([...c.shape]).toEqual([3, 3]);
    allclose(
      c.data,
      [
        [3, 11, 19],
        [27, 35, 43],
        [51, 59, 67],
      ],
      { rtol: 0, atol: 0 },
    );
    expect(vals(i1.contract(1, 0))).toEqual(vals(c));

    const i2 = arangeImg([3, 3, 2, 2, 2], 0, 2);
    const c01 = i2.contract(0, 1);
    expect([...c01.shape]).toEqual([3, 3, 2]);
    allclose(
      c01.data,
      [
        [
          [6, 8],
          [22, 24],
          [38, 40],
        ],
        [
          [54, 56],
          [70, 72],
          [86, 88],
        ],
        [
          [102, 104],
          [118, 120],
          [134, 136],
        ],
      ],
      { rtol: 0, atol: 0 },
    );
    expect(vals(i2.contract(1, 0))).toEqual(vals(c01));
    const c02 = i2.contract(0, 2);
    allclose(
      c02.data,
      [
        [
          [5, 9],
          [21, 25],
          [37, 41],
        ],
        [
          [53, 57],
          [69, 73],
          [85, 89],
        ],
        [
          [101, 105],
          [117, 121],
          [133, 137],
        ],
      ],
      { rtol: 0, atol: 0 },
    );
    expect(vals(i2.contract(2, 0))).toEqual(vals(c02));
    const c12 = i2.contract(1, 2);
    allclose(
      c12.data,
      [
        [
          [3, 11],
          [19, 27],
          [35, 43],
        ],
        [
          [51, 59],
          [67, 75],
          [83, 91],
        ],
        [
          [99, 107],
          [115, 123],
          [131, 139],
        ],
      ],
      { rtol: 0, atol: 0 },
    );
    expect(vals(i2.contract(2, 1))).toEqual(vals(c12));
    // parity and torus flags pass through
    const p = arangeImg([3, 3, 2, 2], 1, 2, [false, true]).contract(0, 1);
    expectMeta(p, { k: 0, parity: 1, isTorus: [false, true] });
    // k < 2
    expect(() => GeometricImage.zeros(3, 0, 0, 2).contract(0, 1)).toThrow(/k.*>= 2.*got 0/);
    expect(() => GeometricImage.zeros(3, 1, 0, 2).contract(0, 1)).toThrow(/k.*>= 2.*got 1/);
  });

  it('contract agrees with a plain loop (D=2 and D=3, every pair)', () => {
    for (const [D, k] of [
      [2, 4],
      [3, 3],
    ] as const) {
      const x = randImg(10 + D, new Array(D).fill(2), k, 0, D);
      for (let i = 0; i < k; i++) {
        for (let j = 0; j < k; j++) {
          if (i === j) continue;
          const c = x.contract(i, j);
          expect(c.k).toBe(k - 2);
          allclose(vals(c), naiveContract(vals(x), 2 ** D, D, k, i, j), { rtol: 1e-12, atol: 1e-12 }, `D=${D} contract(${i},${j})`);
        }
      }
    }
  });

  it('multicontract equals sequential contractions for every pair of pairs of 5 indices (testMulticontract)', () => {
    const x = randImg(20, [3, 3], 5, 0, 2);
    let count = 0;
    for (let i1 = 0; i1 < 5; i1++) {
      for (let j1 = i1 + 1; j1 < 5; j1++) {
        for (let i2 = i1 + 1; i2 < 5; i2++) {
          for (let j2 = i2 + 1; j2 < 5; j2++) {
            if ([i2, j2].some((v) => v === i1 || v === j1)) continue;
            count++;
            const shift = (v: number) => v - Number(v > i1) - Number(v > j1);
            const a = x.multicontract([
              [i1, j1],
              [i2, j2],
            ]);
            const b = x.contract(i1, j1).contract(shift(i2), shift(j2));
            expectSameImage(a, b, 1e-12, `multicontract ((${i1},${j1}),(${i2},${j2}))`);
            // the order of the pairs does not matter
            expectSameImage(
              x.multicontract([
                [i2, j2],
                [i1, j1],
              ]),
              a,
              1e-12,
            );
          }
        }
      }
    }
    expect(count).toBe(15); // get_contraction_indices(5, 1) has 15 entries
    expect(() =>
      x.multicontract([
        [0, 1],
        [1, 2],
      ]),
    ).toThrow(/indices.*distinct/);
    expect(() => x.multicontract([[0, 5]])).toThrow(/indices/);
  });

  it('multicontract in D=3 equals sequential contractions', () => {
    const x = randImg(21, [2, 2, 2], 4, 1, 3);
    const a = x.multicontract([
      [0, 2],
      [1, 3],
    ]);
    expectMeta(a, { k: 0, parity: 1, D: 3 });
    expectSameImage(a, x.contract(0, 2).contract(0, 1), 1e-12);
  });
});

/** ginjax's levi_civita_contract_old for one pixel. */
function leviCivitaOld(pixel: number[], D: number, k: number, index: number[]): number[] {
  const take = (data: number[], shape: number[], axis: number, i: number): { data: number[]; shape: number[] } => {
    const outShape = shape.filter((_, a) => a !== axis);
    const out: number[] = [];
    for (const c of indices(outShape)) {
      const full = [...c.slice(0, axis), i, ...c.slice(axis)];
      out.push(data[full.reduce((f, v, a) => f * shape[a]! + v, 0)]!);
    }
    return { data: out, shape: outShape };
  };
  const shape = new Array<number>(k).fill(D);
  if (D === 2) {
    const [idx] = index as [number];
    const a = take(pixel, shape, idx, 1).data;
    const b = take(pixel, shape, idx, 0).data;
    return a.flatMap((v, r) => [-v, b[r]!]);
  }
  const [i, j] = index as [number, number];
  const tt = (x: number, y: number) => take(take(pixel, shape, j, x).data, shape.slice(1), i, y).data; // take(take(data, x, axis=j), y, axis=i)
  const c0 = tt(2, 1).map((v, r) => v - tt(1, 2)[r]!);
  const c1 = tt(0, 2).map((v, r) => v - tt(2, 0)[r]!);
  const c2 = tt(1, 0).map((v, r) => v - tt(0, 1)[r]!);
  return c0.flatMap((v, r) => [v, c1[r]!, c2[r]!]);
}

describe('GeometricImage Levi-Civita contraction (testLeviCivitaContract)', () => {
  function check(x: GeometricImage, index: number[]): void {
    const y = x.leviCivitaContract(index);
    expectMeta(y, { D: x.D, k: x.k - x.D + 2, parity: (x.parity + 1) % 2, spatial: [...x.spatial] });
    const T = x.D ** x.k;
    const xv = vals(x);
    const expected: number[] = [];
    for (let p = 0; p < xv.length / T; p++) expected.push(...leviCivitaOld(xv.slice(p * T, (p + 1) * T), x.D, x.k, index));
    allclose(vals(y), expected, { rtol: 1e-12, atol: 1e-12 }, `D=${x.D} k=${x.k} indices (${index})`);
  }

  it('D=2, k=1: (−v1, v0), parity flips both ways', () => {
    const v = img(
      [
        [
          [1, 2],
          [3, -4],
        ],
      ],
      0,
      2,
    );
    const w = v.leviCivitaContract([0]);
    expect(vals(w)).toEqual([-2, 1, 4, 3]);
    expect(w.parity).toBe(1);
    check(randImg(30, [3, 3], 1, 0, 2), [0]);
    check(randImg(31, [3, 3], 1, 1, 2), [0]);
    expect(randImg(31, [3, 3], 1, 1, 2).leviCivitaContract([0]).parity).toBe(0);
  });

  it('D=2, k=2: every index', () => {
    const x = randImg(32, [3, 3], 2, 0, 2);
    check(x, [0]);
    check(x, [1]);
  });

  it('D=3, k=2: the cross-product-like formula; (1,0) differs from (0,1)', () => {
    const x = randImg(33, [3, 3, 3], 2, 0, 3);
    check(x, [0, 1]);
    // explicit: (T12 − T21, T20 − T02, T01 − T10)
    const t = arange(9, 1).map((v) => v * v);
    const y = img([[[[t.slice(0, 3), t.slice(3, 6), t.slice(6, 9)]]]], 1, 3).leviCivitaContract([0, 1]);
    const T = (i: number, j: number) => t[3 * i + j]!;
    expect(vals(y)).toEqual([T(1, 2) - T(2, 1), T(2, 0) - T(0, 2), T(0, 1) - T(1, 0)]);
    expect(y.parity).toBe(0);
    expect(relErr(vals(x.leviCivitaContract([1, 0])), vals(x.leviCivitaContract([0, 1])))).toBeGreaterThan(0.1);
  });

  it('D=3, k=3: indices (0,1), (0,2), (1,2)', () => {
    const x = randImg(34, [2, 2, 2], 3, 0, 3);
    for (const idx of [
      [0, 1],
      [0, 2],
      [1, 2],
    ])
      check(x, idx);
  });

  it('requires k >= D−1 and D−1 indices', () => {
    expect(() => GeometricImage.zeros(2, 0, 0, 2).leviCivitaContract([0])).toThrow(/k.*>= D-1.*got 0/);
    expect(() => GeometricImage.zeros(2, 1, 0, 3).leviCivitaContract([0, 1])).toThrow(/k.*got 1/);
    expect(() => GeometricImage.zeros(2, 2, 0, 3).leviCivitaContract([0])).toThrow(/indices.*2 tensor indices.*got \[0\]/);
  });
});

describe('GeometricImage norm and normalize', () => {
  it('testNorm values', async () => {
    const s = img(
      [
        [1, 2],
        [-1, 0],
      ],
      0,
      2,
    );
    expect(
      await s.norm().equals(
        img(
          [
            [1, 2],
            [1, 0],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const ps = img(
      [
        [1, 2],
        [-1, 0],
      ],
      1,
      2,
    );
    const psn = ps.norm();
    expect(psn.parity).toBe(0);
    expect(
      await psn.equals(
        img(
          [
            [1, 2],
            [1, 0],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const v = img(
      [
        [
          [1, 0],
          [-1, -1],
        ],
        [
          [0, 0],
          [-4, 3],
        ],
      ],
      0,
      2,
    );
    expect(
      await v.norm().equals(
        img(
          [
            [1, Math.SQRT2],
            [0, 5],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const s3 = img(
      [
        [
          [4, -3],
          [0, 1],
        ],
        [
          [-2, -3],
          [1, 2],
        ],
      ],
      0,
      3,
    );
    expect(
      await s3.norm().equals(
        img(
          [
            [
              [4, 3],
              [0, 1],
            ],
            [
              [2, 3],
              [1, 2],
            ],
          ],
          0,
          3,
        ),
      ),
    ).toBe(true);
    const m = img(
      [
        [
          [
            [1, 0],
            [-1, -1],
          ],
          [
            [0, 0],
            [-4, 3],
          ],
        ],
        [
          [
            [1, 2],
            [-1, 0],
          ],
          [
            [4, 0],
            [2, -4],
          ],
        ],
      ],
      0,
      2,
    );
    expect(
      await m.norm().equals(
        img(
          [
            [Math.sqrt(3), 5],
            [Math.sqrt(6), 6],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const t3 = img(
      [
        [
          [
            [
              [1, 0],
              [-1, -1],
            ],
            [
              [0, 0],
              [-4, 3],
            ],
          ],
        ],
      ],
      1,
      2,
    );
    const t3n = t3.norm();
    expectMeta(t3n, { k: 0, parity: 0, spatial: [1, 1] });
    expect(await t3n.equals(img([[Math.sqrt(28)]], 0, 2))).toBe(true);
    expect([...img([[1]], 0, 2, [false, true]).norm().isTorus]).toEqual([false, true]);
  });

  it('normalize: the largest pixel norm becomes 1 (testNormalize)', () => {
    for (const k of [0, 1, 2]) {
      const x = randImg(40 + k, [10, 10], k, 0, 2).timesScalar(3);
      const y = x.normalize();
      expectMeta(y, { k, spatial: [10, 10] });
      const n = vals(y.norm());
      expect(Math.max(...n)).toBeCloseTo(1, 12);
      expect(n.every((v) => v < 1 + TINY)).toBe(true);
      // it is x / max norm
      const scale = Math.max(...vals(x.norm()));
      allclose(
        vals(y),
        vals(x).map((v) => v / scale),
        { rtol: 1e-12, atol: 1e-15 },
      );
    }
    // max norm <= TINY: unchanged
    const tiny = img(
      [
        [1e-6, -2e-6],
        [0, 5e-6],
      ],
      1,
      2,
    );
    expect(vals(tiny.normalize())).toEqual(vals(tiny));
    expect(tiny.normalize().parity).toBe(1);
  });
});

describe('GeometricImage convolution: ginjax hard-coded values', () => {
  it('testConvolveNonSquare: arange(20) 4×5 with a 3×3 ones filter, SAME / VALID / TORUS / TORUS dilation 2', () => {
    const ones = img(
      [
        [1, 1, 1],
        [1, 1, 1],
        [1, 1, 1],
      ],
      0,
      2,
    );
    const x = arangeImg([4, 5], 0, 2, false);
    const same = x.convolveWith(ones, { padding: 'SAME' });
    expectMeta(same, { spatial: [4, 5], k: 0, isTorus: [false, false] });
    allclose(same.data, [
      [12, 21, 27, 33, 24],
      [33, 54, 63, 72, 51],
      [63, 99, 108, 117, 81],
      [52, 81, 87, 93, 64],
    ]);
    allclose(x.convolveWith(ones).data, same.data); // default for a non-torus image is SAME
    allclose(x.convolveWith(ones, { padding: 'VALID' }).data, [
      [54, 63, 72],
      [99, 108, 117],
    ]);
    const xt = arangeImg([4, 5], 0, 2, true);
    const torus = [
      [75, 69, 78, 87, 81],
      [60, 54, 63, 72, 66],
      [105, 99, 108, 117, 111],
      [90, 84, 93, 102, 96],
    ];
    allclose(xt.convolveWith(ones, { padding: 'TORUS' }).data, torus);
    allclose(xt.convolveWith(ones).data, torus); // default for a torus image is TORUS
    // SAME zero-pads even on a torus image
    allclose(xt.convolveWith(ones, { padding: 'SAME' }).data, same.data);
    allclose(xt.convolveWith(ones, { padding: 'TORUS', rhsDilation: 2 }).data, [
      [75, 84, 78, 72, 81],
      [120, 129, 123, 117, 126],
      [45, 54, 48, 42, 51],
      [90, 99, 93, 87, 96],
    ]);
    allclose(xt.convolveWith(ones, { rhsDilation: [2, 2] }).data, xt.convolveWith(ones, { padding: 'TORUS', rhsDilation: 2 }).data);
  });

  it('testConvolveWithIK0_FK0 (3×3 and 5×5)', () => {
    const x = img(A3, 0, 2);
    const f = img(cornersFilter, 0, 2);
    const y = x.convolveWith(f);
    expectMeta(y, { D: 2, spatial: [3, 3], k: 0, parity: 0, isTorus: [true, true] });
    allclose(
      y.data,
      [
        [-2, 0, 2],
        [2, 5, 5],
        [-2, -1, 3],
      ],
      { rtol: 0, atol: 1e-12 },
    );
    const x5 = img(
      [
        [9, 9, 3, 4, 5],
        [1, 3, 6, 7, 1],
        [9, 0, 6, 5, 8],
        [9, 8, 7, 5, 0],
        [0, 9, 5, 7, 5],
      ],
      0,
      2,
    );
    allclose(
      x5.convolveWith(f).data,
      [
        [18, 12, 26, 17, 15],
        [22, 27, 18, 22, 27],
        [12, 23, 23, 14, 22],
        [22, 20, 21, 24, 21],
        [22, 28, 26, 15, 27],
      ],
      { rtol: 0, atol: 1e-12 },
    );
  });

  it('testConvolveWithIK0_FK1: the antisymmetric vector filter pins down "no flip" (§2.7)', () => {
    const y = img(A3, 0, 2).convolveWith(img(vectorFilter, 0, 2));
    expectMeta(y, { k: 1, parity: 0, spatial: [3, 3] });
    allclose(
      y.data,
      [
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
      ],
      { rtol: 0, atol: 1e-12 },
    );
    // parities add
    expect(img(A3, 1, 2).convolveWith(img(vectorFilter, 0, 2)).parity).toBe(1);
    expect(img(A3, 1, 2).convolveWith(img(vectorFilter, 1, 2)).parity).toBe(0);
  });

  it('testConvolveNonTorus', () => {
    const y = img(A3, 0, 2, false).convolveWith(img(cornersFilter, 0, 2));
    expectMeta(y, { isTorus: [false, false] });
    allclose(y.data, [
      [0, -3, 0],
      [1, 5, 1],
      [0, -3, 0],
    ]);
  });

  it('testConvolveDilation (torus) and testConvolveDilationNonTorus', () => {
    allclose(img(A3, 0, 2).convolveWith(img(dilationFilter, 0, 2), { rhsDilation: [2, 2] }).data, [
      [-9, -8, 2],
      [2, -2, 3],
      [5, 5, 5],
    ]);
    const x5 = img(
      [
        [2, 1, 0, 1, 0],
        [0, 0, -3, 2, -2],
        [2, 0, 1, 0, 1],
        [1, 0, 1, 2, 2],
        [-1, -1, 0, 0, 0],
      ],
      0,
      2,
      false,
    );
    allclose(x5.convolveWith(img(dilationFilter, 0, 2), { rhsDilation: 2 }).data, [
      [-4, -1, 0, 0, 0],
      [-2, -4, -1, -2, -1],
      [-2, 2, 3, 1, 0],
      [-7, 4, -4, -2, -4],
      [3, 1, 3, -1, 1],
    ]);
  });

  it('testConvolvePartialTorus: (F,T) and (T,F)', () => {
    const y1 = img(A3, 0, 2, [false, true]).convolveWith(img(cornersFilter, 0, 2));
    expectMeta(y1, { D: 2, spatial: [3, 3], k: 0, parity: 0, isTorus: [false, true] });
    allclose(y1.data, [
      [-3, -3, 0],
      [2, 5, 5],
      [-3, -3, 0],
    ]);
    const y2 = img(A3, 0, 2, [true, false]).convolveWith(img(cornersFilter, 0, 2));
    expectMeta(y2, { isTorus: [true, false] });
    allclose(y2.data, [
      [0, 0, 0],
      [1, 5, 1],
      [1, -1, 1],
    ]);
  });
});

describe('GeometricImage convolution against a plain loop (testConvolveWithRandoms)', () => {
  it('D=2, k and k′ in 0..2, torus / non-torus / partial torus / dilation', () => {
    let seed = 100;
    for (const k of [0, 1, 2]) {
      for (const kf of [0, 1, 2]) {
        for (const torus of [true, false, [true, false]] as const) {
          const x = randImg(seed++, [4, 5], k, 0, 2, torus);
          const f = randImg(seed++, [3, 3], kf, 1, 2);
          for (const rhsDilation of [1, 2]) {
            const y = x.convolveWith(f, { rhsDilation });
            const ref = naiveConvolve(x, f, { rhsDilation });
            expect([...y.shape]).toEqual(ref.shape);
            expectMeta(y, { k: k + kf, parity: 1, isTorus: typeof torus === 'boolean' ? [torus, torus] : [...torus] });
            allclose(vals(y), ref.data, { rtol: 1e-12, atol: 1e-12 }, `k=${k} k'=${kf} torus=${torus} dil=${rhsDilation}`);
          }
        }
      }
    }
  });

  it('D=3, k and k′ in 0..2 (small)', () => {
    let seed = 200;
    for (const k of [0, 1, 2]) {
      for (const kf of [0, 1, 2]) {
        if (k + kf > 3) continue;
        const x = randImg(seed++, [3, 2, 4], k, 1, 3, [true, false, true]);
        const f = randImg(seed++, [3, 3, 3], kf, 1, 3);
        const y = x.convolveWith(f);
        const ref = naiveConvolve(x, f);
        expect([...y.shape]).toEqual(ref.shape);
        expectMeta(y, { D: 3, k: k + kf, parity: 0 });
        allclose(vals(y), ref.data, { rtol: 1e-12, atol: 1e-12 }, `D=3 k=${k} k'=${kf}`);
      }
    }
  });

  it('VALID, literal padding, stride, and an even filter with literal padding', () => {
    const x = randImg(300, [6, 5], 1, 0, 2);
    const f3 = randImg(301, [3, 3], 1, 0, 2);
    const f2 = randImg(302, [2, 2], 0, 0, 2);
    const cases: [GeometricImage, Parameters<typeof naiveConvolve>[2], Parameters<GeometricImage['convolveWith']>[1]][] = [
      [f3, { padding: 'VALID' }, { padding: 'VALID' }],
      [
        f3,
        {
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
        {
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
      ],
      [
        f3,
        {
          padding: [
            [2, 0],
            [0, 1],
          ],
        },
        {
          padding: [
            [2, 0],
            [0, 1],
          ],
        },
      ],
      [
        f3,
        {
          padding: [
            [2, 2],
            [2, 2],
          ],
        },
        { padding: 2 },
      ],
      [f3, { padding: 'TORUS', stride: 2 }, { stride: 2 }],
      [f3, { padding: 'SAME', stride: 2, rhsDilation: 2 }, { padding: 'SAME', stride: 2, rhsDilation: 2 }],
      [
        f2,
        {
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
        {
          padding: [
            [1, 1],
            [1, 1],
          ],
        },
      ],
      [f2, { padding: 'VALID' }, { padding: 'VALID' }],
    ];
    for (const [f, ro, o] of cases) {
      const y = x.convolveWith(f, o);
      const ref = naiveConvolve(x, f, ro);
      expect([...y.shape], JSON.stringify(o)).toEqual(ref.shape);
      allclose(vals(y), ref.data, { rtol: 1e-12, atol: 1e-12 }, JSON.stringify(o));
    }
  });
});

describe('GeometricImage.convolveContract == multicontract(convolveWith) over pairs (t, t+k)', () => {
  function check(D: number, N: number, k: number, kf: number, seed: number): void {
    const x = randImg(seed, new Array(D).fill(N), k, 0, D);
    const f = randImg(seed + 1, new Array(D).fill(3), k + kf, 1, D);
    const y = x.convolveContract(f);
    expectMeta(y, { D, k: kf, parity: 1, spatial: new Array(D).fill(N) });
    const full = x.convolveWith(f);
    const ref = k === 0 ? full : full.multicontract(arange(k).map((t) => [t, t + k] as const));
    expectSameImage(y, ref, 1e-10, `D=${D} k=${k} k'=${kf}`);
  }

  it('D=2, image k 0..2, filter k′ 0..2', () => {
    let seed = 400;
    for (const k of [0, 1, 2]) for (const kf of [0, 1, 2]) check(2, 4, k, kf, (seed += 2));
  });

  it('D=3, image k 0..2, filter k′ 0..2 (N=3)', () => {
    let seed = 500;
    for (const k of [0, 1, 2]) for (const kf of [0, 1, 2]) check(3, 3, k, kf, (seed += 2));
  });

  it('with non-default options (VALID, dilation, stride)', () => {
    const x = randImg(600, [5, 6], 1, 0, 2, false);
    const f = randImg(601, [3, 3], 2, 0, 2);
    for (const o of [
      { padding: 'VALID' as const },
      { rhsDilation: 2 },
      { stride: 2 },
      {
        padding: [
          [1, 0],
          [0, 1],
        ] as [number, number][],
      },
    ]) {
      expectSameImage(x.convolveContract(f, o), x.convolveWith(f, o).contract(0, 1), 1e-10, JSON.stringify(o));
    }
  });

  it('requires filter order >= image order', () => {
    expect(() => randImg(1, [3, 3], 2, 0, 2).convolveContract(randImg(2, [3, 3], 1, 0, 2))).toThrow(/filter order.*>= the image order k=2.*got 1/);
  });
});

describe('GeometricImage.timesGroupElement: exact index maps', () => {
  it('testTimesGroupElement (2D, odd and non-square)', async () => {
    const i1 = arangeImg([3, 3], 0, 2);
    const r = i1.timesGroupElement(left90);
    expectMeta(r, { D: 2, parity: 0, k: 0 });
    expect(vals(r)).toEqual(
      flat([
        [2, 5, 8],
        [1, 4, 7],
        [0, 3, 6],
      ]),
    );
    const fl = i1.timesGroupElement(flipX);
    expect(vals(fl)).toEqual(
      flat([
        [6, 7, 8],
        [3, 4, 5],
        [0, 1, 2],
      ]),
    );

    const i2 = arangeImg([3, 3], 1, 2);
    const r2 = i2.timesGroupElement(left90);
    expect(vals(r2)).toEqual(vals(r)); // rotation: no sign
    expect(r2.parity).toBe(1);
    expect(vals(i2.timesGroupElement(flipX))).toEqual(vals(fl).map((v) => 0 - v)); // reflection of a pseudoscalar

    const i3 = arangeImg([3, 3, 2], 1, 2);
    const r3 = i3.timesGroupElement(left90);
    expectMeta(r3, { k: 1, parity: 1 });
    expect(vals(r3)).toEqual(
      flat([
        [
          [-5, 4],
          [-11, 10],
          [-17, 16],
        ],
        [
          [-3, 2],
          [-9, 8],
          [-15, 14],
        ],
        [
          [-1, 0],
          [-7, 6],
          [-13, 12],
        ],
      ]),
    );

    const i4 = arangeImg([3, 3, 2, 2], 0, 2);
    const f4 = i4.timesGroupElement(flipX);
    expectMeta(f4, { k: 2, parity: 0 });
    expect(vals(f4)).toEqual(
      flat([
        [
          [
            [24, -25],
            [-26, 27],
          ],
          [
            [28, -29],
            [-30, 31],
          ],
          [
            [32, -33],
            [-34, 35],
          ],
        ],
        [
          [
            [12, -13],
            [-14, 15],
          ],
          [
            [16, -17],
            [-18, 19],
          ],
          [
            [20, -21],
            [-22, 23],
          ],
        ],
        [
          [
            [0, -1],
            [-2, 3],
          ],
          [
            [4, -5],
            [-6, 7],
          ],
          [
            [8, -9],
            [-10, 11],
          ],
        ],
      ]),
    );

    const i5 = arangeImg([3, 4], 0, 2);
    const r5 = i5.timesGroupElement(left90);
    expectMeta(r5, { spatial: [4, 3] });
    expect(vals(r5)).toEqual(
      flat([
        [3, 7, 11],
        [2, 6, 10],
        [1, 5, 9],
        [0, 4, 8],
      ]),
    );
    const f5 = i5.timesGroupElement(flipX);
    expectMeta(f5, { spatial: [3, 4] });
    expect(vals(f5)).toEqual(
      flat([
        [8, 9, 10, 11],
        [4, 5, 6, 7],
        [0, 1, 2, 3],
      ]),
    );
  });

  it('semi-toroidal images: the torus flags follow the permuted axes', () => {
    const i6 = GeometricImage.fill(5, 0, 2, [1, 1], [true, false]);
    expect([...i6.timesGroupElement(left90).isTorus]).toEqual([false, true]);
    expect([...i6.timesGroupElement(flipX).isTorus]).toEqual([true, false]);
    const j = GeometricImage.zeros([2, 3, 4], 0, 0, 3, [true, false, false]);
    const cyc = op(3, [
      [0, 1, 0],
      [0, 0, 1],
      [1, 0, 0],
    ]); // output axis i reads input axis seq[i] = (1, 2, 0)
    const y = j.timesGroupElement(cyc);
    expectMeta(y, { spatial: [3, 4, 2], isTorus: [false, false, true] });
  });

  it('testTimesGroupElementEven (even and non-square)', () => {
    const i1 = arangeImg([2, 2], 0, 2);
    expect(vals(i1.timesGroupElement(left90))).toEqual([1, 3, 0, 2]);
    expect(vals(i1.timesGroupElement(flipX))).toEqual([2, 3, 0, 1]);
    const i2 = arangeImg([2, 2, 2], 0, 2);
    expect(vals(i2.timesGroupElement(left90))).toEqual(
      flat([
        [
          [-3, 2],
          [-7, 6],
        ],
        [
          [-1, 0],
          [-5, 4],
        ],
      ]),
    );
    expect(vals(i2.timesGroupElement(flipX))).toEqual(
      flat([
        [
          [-4, 5],
          [-6, 7],
        ],
        [
          [0, 1],
          [-2, 3],
        ],
      ]),
    );
    const i3 = arangeImg([2, 4], 0, 2);
    const r3 = i3.timesGroupElement(left90);
    expectMeta(r3, { spatial: [4, 2] });
    expect(vals(r3)).toEqual(
      flat([
        [3, 7],
        [2, 6],
        [1, 5],
        [0, 4],
      ]),
    );
    const f3 = i3.timesGroupElement(flipX);
    expectMeta(f3, { spatial: [2, 4] });
    expect(vals(f3)).toEqual(
      flat([
        [4, 5, 6, 7],
        [0, 1, 2, 3],
      ]),
    );
  });

  it('testTimesGroupElement3D', () => {
    const flipDepth = op(3, [
      [-1, 0, 0],
      [0, 1, 0],
      [0, 0, 1],
    ]);
    const l90 = op(3, [
      [1, 0, 0],
      [0, 0, -1],
      [0, 1, 0],
    ]);
    const i1 = arangeImg([3, 3, 3], 0, 3);
    const f1 = i1.timesGroupElement(flipDepth);
    expectMeta(f1, { D: 3, parity: 0, k: 0, spatial: [3, 3, 3] });
    expect(vals(f1)).toEqual([...arange(9, 18), ...arange(9, 9), ...arange(9, 0)]);
    expect(vals(i1.timesGroupElement(l90))).toEqual(
      flat([
        [
          [2, 5, 8],
          [1, 4, 7],
          [0, 3, 6],
        ],
        [
          [11, 14, 17],
          [10, 13, 16],
          [9, 12, 15],
        ],
        [
          [20, 23, 26],
          [19, 22, 25],
          [18, 21, 24],
        ],
      ]),
    );
    const i2 = arangeImg([2, 3, 4], 0, 3);
    const f2 = i2.timesGroupElement(flipDepth);
    expectMeta(f2, { spatial: [2, 3, 4] });
    expect(vals(f2)).toEqual([...arange(12, 12), ...arange(12, 0)]);
    const r2 = i2.timesGroupElement(l90);
    expectMeta(r2, { spatial: [2, 4, 3] });
    expect(vals(r2)).toEqual(
      flat([
        [
          [3, 7, 11],
          [2, 6, 10],
          [1, 5, 9],
          [0, 4, 8],
        ],
        [
          [15, 19, 23],
          [14, 18, 22],
          [13, 17, 21],
          [12, 16, 20],
        ],
      ]),
    );
    // vectors and pseudo-vectors in 3D: ρ(g)v = g v, times det(g) for parity 1
    const v = img([[[[1, 2, 3]]]], 0, 3);
    expect(vals(v.timesGroupElement(flipDepth))).toEqual([-1, 2, 3]);
    expect(vals(v.timesGroupElement(l90))).toEqual([1, -3, 2]);
    const pv = img([[[[1, 2, 3]]]], 1, 3);
    expect(vals(pv.timesGroupElement(flipDepth))).toEqual([1, -2, -3]);
    expect(vals(pv.timesGroupElement(l90))).toEqual([1, -3, 2]);
  });

  it('the identity is a no-op and g then g⁻¹ = gᵀ round-trips, for every element', () => {
    for (const D of [2, 3]) {
      const x = randImg(700 + D, D === 2 ? [3, 4] : [2, 3, 2], 2, 1, D, D === 2 ? [true, false] : [false, true, true]);
      expectSameImage(x.timesGroupElement(operators(D)[0]!), x, 0);
      for (const g of operators(D)) {
        const gt = operators(D).find((h) => h.matrix.every((v, i) => v === g.matrix[(i % D) * D + Math.floor(i / D)]))!;
        expectSameImage(x.timesGroupElement(g).timesGroupElement(gt), x, 0, `D=${D} g=${g.index}`);
      }
    }
  });

  it('rejects an element of another dimension', () => {
    expect(() => arangeImg([3, 3], 0, 2).timesGroupElement(operators(3)[1]!)).toThrow(/group element D.*2.*got 3/);
  });
});

describe('GeometricImage pooling', () => {
  const P = [
    [4, 1, 0, 1],
    [0, 0, -3, 2],
    [1, 0, 1, 0],
    [1, 0, 2, 1],
  ];
  const V = [
    [
      [1, 0],
      [0, -1],
      [1, 1],
      [3, 4],
    ],
    [
      [0, 0],
      [0, 1],
      [1, 0],
      [2, 0],
    ],
    [
      [-3, 4],
      [1, 0],
      [1, 0],
      [1, 0],
    ],
    [
      [1, 0],
      [1, 0],
      [1, 0],
      [-1, 0],
    ],
  ];

  it('maxPool by norm (testMaxPoolUseNorm)', async () => {
    const x = img(P, 0, 2);
    const y = x.maxPool(2);
    expectMeta(y, { spatial: [2, 2], parity: 0, D: 2, k: 0, isTorus: [true, true] });
    expect(
      await y.equals(
        img(
          [
            [4, -3],
            [1, 2],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const y4 = x.maxPool(4);
    expectMeta(y4, { spatial: [1, 1] });
    expect(vals(y4)).toEqual([4]);
    const v = img(V, 0, 2);
    expect(
      await v.maxPool(2).equals(
        img(
          [
            [
              [1, 0],
              [3, 4],
            ],
            [
              [-3, 4],
              [1, 0],
            ],
          ],
          0,
          2,
        ),
      ),
    ).toBe(true);
    const c = arangeImg([4, 4, 4], 0, 3);
    expect(vals(c.maxPool(2))).toEqual(
      flat([
        [
          [21, 23],
          [29, 31],
        ],
        [
          [53, 55],
          [61, 63],
        ],
      ]),
    );
    // ties go to the first maximum in row-major order; parity and torus flags are kept
    const t = img(
      [
        [
          [0, 1],
          [1, 0],
        ],
        [
          [-1, 0],
          [0, -1],
        ],
      ],
      1,
      2,
      [false, true],
    );
    const tp = t.maxPool(2);
    expectMeta(tp, { parity: 1, isTorus: [false, true], k: 1 });
    expect(vals(tp)).toEqual([0, 1]);
    expect(vals(x.maxPool(1))).toEqual(vals(x));
  });

  it('maxPool by value (testMaxPool); vectors need useNorm', () => {
    const x = img(P, 0, 2);
    const y = x.maxPool(2, false);
    expectMeta(y, { spatial: [2, 2], parity: 0, k: 0, isTorus: [true, true] });
    expect(vals(y)).toEqual([4, 2, 1, 2]);
    expect(vals(x.maxPool(4, false))).toEqual([4]);
    expect(() => img(V, 0, 2).maxPool(2, false)).toThrow(/useNorm/);
    expect(vals(arangeImg([4, 4, 4], 0, 3).maxPool(2, false))).toEqual(
      flat([
        [
          [21, 23],
          [29, 31],
        ],
        [
          [53, 55],
          [61, 63],
        ],
      ]),
    );
    // a 2-tensor image by norm picks the whole tensor
    const m = randImg(800, [4, 2], 2, 0, 2);
    const mv = vals(m);
    const norms = vals(m.norm());
    const pooled = vals(m.maxPool(2));
    for (let blk = 0; blk < 2; blk++) {
      const cand = [0, 1].flatMap((di) => [0, 1].map((dj) => (2 * blk + di) * 2 + dj));
      const best = cand.reduce((b, c) => (norms[c]! > norms[b]! ? c : b));
      expect(pooled.slice(4 * blk, 4 * blk + 4)).toEqual(mv.slice(4 * best, 4 * best + 4));
    }
  });

  it('averagePool values (testAveragePool)', async () => {
    const x = img(P, 1, 2, [true, false]);
    const y = x.averagePool(2);
    expectMeta(y, { spatial: [2, 2], parity: 1, D: 2, k: 0, isTorus: [true, false] });
    allclose(y.data, [
      [1.25, 0],
      [0.5, 1],
    ]);
    allclose(vals(x.averagePool(4)), [11 / 16]);
    expect(
      await img(V, 0, 2)
        .averagePool(2)
        .equals(
          img(
            [
              [
                [0.25, 0],
                [1.75, 1.25],
              ],
              [
                [0, 1],
                [0.5, 0],
              ],
            ],
            0,
            2,
          ),
        ),
    ).toBe(true);
    allclose(arangeImg([4, 4, 4], 0, 3).averagePool(2).data, [
      [
        [10.5, 12.5],
        [18.5, 20.5],
      ],
      [
        [42.5, 44.5],
        [50.5, 52.5],
      ],
    ]);
    // non-square
    allclose(arangeImg([2, 4], 0, 2).averagePool(2).data, [[2.5, 4.5]]);
  });

  it('unpool: nearest-neighbour replication, p = 2, 3, D=3 and k=1 (testUnpool)', async () => {
    const x = img(
      [
        [4, -3],
        [1, 2],
      ],
      1,
      2,
      [false, true],
    );
    const u2 = x.unpool(2);
    expectMeta(u2, { spatial: [4, 4], parity: 1, D: 2, k: 0, isTorus: [false, true] });
    allclose(u2.data, [
      [4, 4, -3, -3],
      [4, 4, -3, -3],
      [1, 1, 2, 2],
      [1, 1, 2, 2],
    ]);
    const u3 = x.unpool(3);
    expectMeta(u3, { spatial: [6, 6] });
    allclose(u3.data, [
      [4, 4, 4, -3, -3, -3],
      [4, 4, 4, -3, -3, -3],
      [4, 4, 4, -3, -3, -3],
      [1, 1, 1, 2, 2, 2],
      [1, 1, 1, 2, 2, 2],
      [1, 1, 1, 2, 2, 2],
    ]);
    const c = img(
      [
        [
          [1, 3],
          [-2, 5],
        ],
        [
          [0, 4],
          [1, 0.3],
        ],
      ],
      0,
      3,
    );
    const cu = c.unpool(2);
    expectMeta(cu, { D: 3, spatial: [4, 4, 4] });
    expect(
      await cu.equals(
        img(
          [
            [
              [1, 1, 3, 3],
              [1, 1, 3, 3],
              [-2, -2, 5, 5],
              [-2, -2, 5, 5],
            ],
            [
              [1, 1, 3, 3],
              [1, 1, 3, 3],
              [-2, -2, 5, 5],
              [-2, -2, 5, 5],
            ],
            [
              [0, 0, 4, 4],
              [0, 0, 4, 4],
              [1, 1, 0.3, 0.3],
              [1, 1, 0.3, 0.3],
            ],
            [
              [0, 0, 4, 4],
              [0, 0, 4, 4],
              [1, 1, 0.3, 0.3],
              [1, 1, 0.3, 0.3],
            ],
          ],
          0,
          3,
        ),
      ),
    ).toBe(true);
    const v = img(
      [
        [
          [1, 0],
          [3, 4],
        ],
        [
          [-3, 4],
          [1, 0],
        ],
      ],
      0,
      2,
    );
    const vu = v.unpool(2);
    expectMeta(vu, { k: 1, spatial: [4, 4] });
    allclose(vu.data, [
      [
        [1, 0],
        [1, 0],
        [3, 4],
        [3, 4],
      ],
      [
        [1, 0],
        [1, 0],
        [3, 4],
        [3, 4],
      ],
      [
        [-3, 4],
        [-3, 4],
        [1, 0],
        [1, 0],
      ],
      [
        [-3, 4],
        [-3, 4],
        [1, 0],
        [1, 0],
      ],
    ]);
    // unpool then average pool is the identity; unpool then max pool too
    const r = randImg(900, [2, 3], 2, 0, 2);
    expectSameImage(r.unpool(3).averagePool(3), r, 1e-6); // scale(1/9) uses a float32 constant
    expectSameImage(r.unpool(2).maxPool(2), r, 0);
  });
});

describe('GeometricImage misc', () => {
  it('activation applies to scalar images only', () => {
    const x = img(
      [
        [1, -2],
        [3, -4],
      ],
      0,
      2,
    );
    const y = x.activation((t) => t.reshape(t.shape)); // identity through a Tensor function
    expect(vals(y)).toEqual([1, -2, 3, -4]);
    expect(() => arangeImg([2, 2, 2], 0, 2).activation((t) => t)).toThrow(/k.*0.*got 1/);
  });

  it('values() reads float32 data', async () => {
    const x = img([[0.1, 2]], 0, 2);
    const v = await x.values();
    expect(v).toBeInstanceOf(Float32Array);
    expect(Array.from(v)).toEqual([Math.fround(0.1), 2]);
  });

  it('random-key images are reproducible', () => {
    expect(vals(randImg(5, [3, 3], 1, 0, 2))).toEqual(vals(randImg(5, [3, 3], 1, 0, 2)));
    expect(random.uniform(random.key(1), 3)).toEqual(random.uniform(random.key(1), 3));
  });
});
