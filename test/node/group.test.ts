import { describe, it, expect } from 'vitest';
import {
  actionMap,
  compose,
  elementMatrix,
  elementName,
  inverse,
  leviCivita,
  operators,
  permutationParity,
  type GroupElement,
} from '../../src/geometric/group.js';

/** Applies a signed gather to flat data. */
function act(g: GroupElement, spatial: number[], k: number, parity: number, data: ArrayLike<number>) {
  const map = actionMap(g, spatial, k, parity);
  const out = new Array<number>(map.index.length);
  for (let i = 0; i < out.length; i++) out[i] = map.sign[i]! * data[map.index[i]!]!;
  return { spatial: map.outSpatial, data: out };
}

const arange = (n: number): number[] => Array.from({ length: n }, (_, i) => i);

/** Deterministic pseudo-random numbers (a small LCG), so failures reproduce. */
function randoms(n: number, seed: number): number[] {
  let s = seed >>> 0;
  return Array.from({ length: n }, () => {
    s = (Math.imul(s, 1664525) + 1013904223) >>> 0;
    return s / 2 ** 32 - 0.5;
  });
}

function matmul(a: readonly number[], b: readonly number[], D: number): number[] {
  const out = new Array<number>(D * D).fill(0);
  for (let i = 0; i < D; i++) for (let j = 0; j < D; j++) for (let l = 0; l < D; l++) out[i * D + j]! += a[i * D + l]! * b[l * D + j]!;
  return out;
}

const transpose = (a: readonly number[], D: number): number[] => Array.from({ length: D * D }, (_, f) => a[(f % D) * D + Math.floor(f / D)]!);

/**
 * Direct transcription of the §2.4 formula, independent of the gather: out spatial |gN|,
 * source rint(gᵀ(x' − c') + c) mod N, tensor part Σ_b Π g[a_t][b_t] T[b], times det^p.
 */
function naiveAct(g: GroupElement, spatial: number[], k: number, parity: number, data: number[]) {
  const D = g.D;
  const m = g.matrix;
  const outSpatial = Array.from({ length: D }, (_, i) => Math.abs(spatial.reduce((acc, n, j) => acc + m[i * D + j]! * n, 0)));
  const T = D ** k;
  const P = outSpatial.reduce((a, b) => a * b, 1);
  const out = new Array<number>(P * T).fill(0);
  const digits = (v: number, base: readonly number[]): number[] => {
    const r = new Array<number>(base.length);
    for (let d = base.length - 1; d >= 0; d--) {
      r[d] = v % base[d]!;
      v = Math.floor(v / base[d]!);
    }
    return r;
  };
  const flat = (idx: number[], base: readonly number[]): number => idx.reduce((acc, v, d) => acc * base[d]! + v, 0);
  const tBase = new Array<number>(k).fill(D);
  for (let px = 0; px < P; px++) {
    const xo = digits(px, outSpatial);
    const y = xo.map((v, i) => v - (outSpatial[i]! - 1) / 2);
    const xs = Array.from({ length: D }, (_, j) => {
      let v = (spatial[j]! - 1) / 2;
      for (let i = 0; i < D; i++) v += m[i * D + j]! * y[i]!;
      return ((Math.round(v) % spatial[j]!) + spatial[j]!) % spatial[j]!;
    });
    const src = flat(xs, spatial);
    for (let a = 0; a < T; a++) {
      const ai = digits(a, tBase);
      let v = 0;
      for (let b = 0; b < T; b++) {
        const bi = digits(b, tBase);
        let coef = 1;
        for (let t = 0; t < k; t++) coef *= m[ai[t]! * D + bi[t]!]!;
        if (coef !== 0) v += coef * data[src * T + b]!;
      }
      out[px * T + a] = (parity === 1 ? g.det : 1) * v;
    }
  }
  return { spatial: outSpatial, data: out };
}

const factorial = (n: number): number => (n <= 1 ? 1 : n * factorial(n - 1));

describe('operators', () => {
  it('has 2^D·D! elements for D = 1..5', () => {
    for (let D = 1; D <= 5; D++) expect(operators(D).length).toBe(2 ** D * factorial(D));
  });

  it('matches the D=2 table of §2.3, in order', () => {
    const expected: [number[], number][] = [
      [[1, 0, 0, 1], 1],
      [[1, 0, 0, -1], -1],
      [[-1, 0, 0, 1], -1],
      [[-1, 0, 0, -1], 1],
      [[0, 1, 1, 0], -1],
      [[0, -1, 1, 0], 1],
      [[0, 1, -1, 0], 1],
      [[0, -1, -1, 0], -1],
    ];
    const ops = operators(2);
    expect(ops.map((g) => [Array.from(g.matrix), g.det])).toEqual(expected);
    expect(ops.map((g) => g.index)).toEqual(arange(8));
    expect(elementMatrix(ops[5]!)).toBe('[[0,-1],[1,0]]');
    expect(elementMatrix(ops[0]!)).toBe('[[1,0],[0,1]]');
  });

  it('starts with the identity and follows P @ diag(s) for D=3', () => {
    const ops = operators(3);
    expect(Array.from(ops[0]!.matrix)).toEqual([1, 0, 0, 0, 1, 0, 0, 0, 1]);
    // permutation (0,2,1), signs (1,-1,1): P has its column-1 entry in row 2, which is negated
    expect(Array.from(ops[8 + 2]!.matrix)).toEqual([1, 0, 0, 0, 0, 1, 0, -1, 0]);
    expect(ops[8 + 2]!.det).toBe(1);
    for (const g of ops) {
      const m = g.matrix;
      const det = m[0]! * (m[4]! * m[8]! - m[5]! * m[7]!) - m[1]! * (m[3]! * m[8]! - m[5]! * m[6]!) + m[2]! * (m[3]! * m[7]! - m[4]! * m[6]!);
      expect(g.det).toBe(det);
    }
  });

  it('is cached and frozen', () => {
    expect(operators(3)).toBe(operators(3));
    expect(Object.isFrozen(operators(2))).toBe(true);
    expect(Object.isFrozen(operators(2)[1])).toBe(true);
    expect(Object.isFrozen(operators(2)[1]!.matrix)).toBe(true);
  });

  it('is closed under products, and compose is the matrix product', () => {
    for (const D of [2, 3]) {
      const ops = operators(D);
      const names = new Map(ops.map((g) => [Array.from(g.matrix).join(','), g.index]));
      for (const a of ops)
        for (const b of ops) {
          const prod = matmul(a.matrix, b.matrix, D);
          expect(names.get(prod.join(','))).toBeDefined();
          expect(Array.from(compose(a, b).matrix)).toEqual(prod);
        }
    }
  });

  it('has inverse(g) = gᵀ and g·g⁻¹ = identity', () => {
    for (const D of [2, 3, 4]) {
      for (const g of operators(D)) {
        const gi = inverse(g);
        expect(Array.from(gi.matrix)).toEqual(transpose(g.matrix, D));
        expect(compose(g, gi).index).toBe(0);
        expect(compose(gi, g).index).toBe(0);
      }
    }
  });

  it('rejects bad arguments with messages that name the argument', () => {
    expect(() => operators(2.5)).toThrow(new RangeError('operators: D must be a positive integer (got 2.5)'));
    expect(() => operators(0)).toThrow(/operators: D must be a positive integer \(got 0\)/);
    expect(() => operators('2' as unknown as number)).toThrow(RangeError);
    expect(() => operators(7)).toThrow(/operators: D must be at most 6/);
    expect(() => compose(operators(2)[1]!, operators(3)[1]!)).toThrow(/compose: b\.D must be equal to a\.D = 2 \(got 3\)/);
    expect(() => inverse({ D: 2, index: 8, matrix: [], det: 1 })).toThrow(/inverse: g\.index must be an integer in \[0, 8\) \(got 8\)/);
    expect(() => elementName(null as unknown as GroupElement)).toThrow(RangeError);
  });
});

describe('actionMap', () => {
  const [, flipY, flipX, , , rot90] = operators(2) as GroupElement[];

  it('rotates a 3×3 scalar image by +90° (§2.4)', () => {
    const r = act(rot90!, [3, 3], 0, 0, arange(9));
    expect(r.spatial).toEqual([3, 3]);
    expect(r.data).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
  });

  it('flips x → −x by reversing rows (§2.4)', () => {
    expect(act(flipX!, [3, 3], 0, 0, arange(9)).data).toEqual([6, 7, 8, 3, 4, 5, 0, 1, 2]);
  });

  it('rotates a non-square 3×4 image to 4×3 (§7.2)', () => {
    const r = act(rot90!, [3, 4], 0, 0, arange(12));
    expect(r.spatial).toEqual([4, 3]);
    expect(r.data).toEqual([3, 7, 11, 2, 6, 10, 1, 5, 9, 0, 4, 8]);
  });

  it('rotates a 2×2 vector image by +90° (§7.2)', () => {
    const r = act(rot90!, [2, 2], 1, 0, arange(8));
    expect(r.data).toEqual([-3, 2, -7, 6, -1, 0, -5, 4]);
  });

  it('gives pseudo-images an extra det(g) sign', () => {
    // pseudoscalars flip sign under reflections, not under rotations
    expect(act(flipX!, [3, 3], 0, 1, arange(9)).data).toEqual([-6, -7, -8, -3, -4, -5, -0, -1, -2]);
    expect(act(rot90!, [3, 3], 0, 1, arange(9)).data).toEqual([2, 5, 8, 1, 4, 7, 0, 3, 6]);
    // pseudovectors: rotations as vectors, reflections with the opposite sign
    expect(act(rot90!, [2, 2], 1, 1, arange(8)).data).toEqual([-3, 2, -7, 6, -1, 0, -5, 4]);
    const v = act(flipY!, [2, 2], 1, 0, arange(8)).data;
    const pv = act(flipY!, [2, 2], 1, 1, arange(8)).data;
    expect(v).toEqual([2, -3, 0, -1, 6, -7, 4, -5]);
    expect(pv).toEqual(v.map((x) => -x));
    // parity is taken mod 2, as ginjax stores it
    expect(act(flipY!, [2, 2], 1, 3, arange(8)).data).toEqual(pv);
  });

  it('equals the §2.4 formula evaluated directly (D=2,3; k=0..2; odd, even, non-square)', () => {
    const cases: [number, number[][]][] = [
      [
        2,
        [
          [3, 3],
          [4, 4],
          [3, 4],
          [2, 5],
        ],
      ],
      [
        3,
        [
          [3, 3, 3],
          [2, 2, 2],
          [2, 3, 4],
        ],
      ],
    ];
    let seed = 1;
    for (const [D, shapes] of cases)
      for (const spatial of shapes)
        for (let k = 0; k <= 2; k++)
          for (const parity of [0, 1]) {
            const n = spatial.reduce((a, b) => a * b, 1) * D ** k;
            const x = randoms(n, seed++);
            for (const g of operators(D)) {
              const fast = act(g, spatial, k, parity, x);
              const slow = naiveAct(g, spatial, k, parity, x);
              expect(fast.spatial).toEqual(slow.spatial);
              expect(fast.data).toEqual(slow.data);
            }
          }
  });

  it('is a homomorphism: a·(b·x) = (ab)·x', () => {
    const cases: [number, number[][]][] = [
      [
        2,
        [
          [3, 3],
          [4, 4],
          [3, 4],
        ],
      ],
      [
        3,
        [
          [3, 3, 3],
          [2, 2, 2],
          [2, 3, 4],
        ],
      ],
    ];
    let seed = 100;
    const failures: string[] = [];
    for (const [D, shapes] of cases)
      for (const spatial of shapes)
        for (let k = 0; k <= 2; k++) {
          const parity = k % 2;
          const x = randoms(spatial.reduce((a, b) => a * b, 1) * D ** k, seed++);
          for (const b of operators(D)) {
            const bx = act(b, spatial, k, parity, x);
            for (const a of operators(D)) {
              const abx = act(a, bx.spatial, k, parity, bx.data);
              const direct = act(compose(a, b), spatial, k, parity, x);
              // one expect per failure only: deep-equality on ~20k pairs would dominate the run time
              const same = abx.spatial.join() === direct.spatial.join() && abx.data.every((v, i) => v === direct.data[i]);
              if (!same) failures.push(`D=${D} N=${spatial} k=${k} a=${a.index} b=${b.index}`);
            }
          }
        }
    expect(failures).toEqual([]);
  });

  it('returns the cached map for the same arguments', () => {
    expect(actionMap(rot90!, [5, 4], 2, 1)).toBe(actionMap(rot90!, [5, 4], 2, 1));
    expect(actionMap(rot90!, [5, 4], 2, 1)).not.toBe(actionMap(rot90!, [5, 4], 2, 0));
  });

  it('rejects bad arguments with messages that name the argument', () => {
    expect(() => actionMap(rot90!, [3, 3, 3], 0, 0)).toThrow(/actionMap: spatial must be an array of 2 positive integers \(got \[3,3,3\]\)/);
    expect(() => actionMap(rot90!, [3, 0], 0, 0)).toThrow(/actionMap: spatial/);
    expect(() => actionMap(rot90!, [3, 3], -1, 0)).toThrow(/actionMap: k must be an integer >= 0 \(got -1\)/);
    expect(() => actionMap(rot90!, [3, 3], 0, 0.5)).toThrow(/actionMap: parity must be an integer \(got 0.5\)/);
    expect(() => actionMap({ D: 2, index: -1 } as unknown as GroupElement, [3, 3], 0, 0)).toThrow(/actionMap: g\.index/);
  });
});

describe('permutationParity and leviCivita', () => {
  it('gives +1, −1 and 0 for even, odd and repeated sequences', () => {
    expect(permutationParity([1, 2, 0])).toBe(1);
    expect(permutationParity([2, 1, 0])).toBe(-1);
    expect(permutationParity([2, 1, 1])).toBe(0);
    expect(permutationParity([0, 1, 2, 3])).toBe(1);
    expect(permutationParity([1, 0, 3, 2])).toBe(1);
    expect(permutationParity([3, 0, 1, 2])).toBe(-1);
    expect(permutationParity([])).toBe(1);
    expect(() => permutationParity([0, 3])).toThrow(/permutationParity: p must be an array of integers in \[0, length\) \(got \[0,3\]\)/);
  });

  it('builds the D=2 and D=3 symbols', () => {
    expect(Array.from(leviCivita(2))).toEqual([0, 1, -1, 0]);
    const e3 = new Array<number>(27).fill(0);
    const at = (a: number, b: number, c: number): number => 9 * a + 3 * b + c;
    for (const [a, b, c] of [
      [0, 1, 2],
      [1, 2, 0],
      [2, 0, 1],
    ] as const)
      e3[at(a, b, c)] = 1;
    for (const [a, b, c] of [
      [0, 2, 1],
      [2, 1, 0],
      [1, 0, 2],
    ] as const)
      e3[at(a, b, c)] = -1;
    expect(Array.from(leviCivita(3))).toEqual(e3);
  });

  it('caches the symbol and validates D', () => {
    expect(leviCivita(3)).toBe(leviCivita(3));
    expect(() => leviCivita(1)).toThrow(/leviCivita: D must be an integer in \[2, 6\] \(got 1\)/);
  });
});
