/**
 * Subgroups of B_D and the filters invariant under them: the named subgroups and their elements,
 * operator-list validation, ginjax's axis-flip counts, the character-formula cross-check, exact
 * invariance under the subgroup (and its failure outside it), and explicit filter sets.
 */
import { describe, expect, it } from 'vitest';
import {
  actionMap,
  compose,
  generateGroup,
  invariantFilterBank,
  invariantFilters,
  filterCount,
  operators,
  resolveFilterSpec,
  resolveOperators,
  subgroup,
  type GroupElement,
  type SubgroupName,
} from '../../src/index.js';

const rows = (g: GroupElement): number[][] => Array.from({ length: g.D }, (_, i) => [...g.matrix.slice(i * g.D, (i + 1) * g.D)]);
const idx = (G: readonly GroupElement[]): number[] => G.map((g) => g.index);
const NAMES: SubgroupName[] = ['full', 'trivial', 'rotations', 'axis-flips', 'reflections'];

/** g·F for a filter F of side M, order k, parity p (the exact signed gather). */
function act(g: GroupElement, F: Float32Array, M: number, k: number, p: number): Float32Array {
  const { index, sign } = actionMap(g, new Array(g.D).fill(M), k, p);
  return Float32Array.from(index, (src, i) => sign[i]! * F[src]!);
}

const same = (a: Float32Array, b: Float32Array): boolean => a.every((v, i) => Math.abs(v - b[i]!) < 1e-6);

describe('named subgroups', () => {
  it('D=2: which elements each holds (indices into operators(2))', () => {
    expect(idx(subgroup(2, 'full'))).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    expect(idx(subgroup(2, 'trivial'))).toEqual([0]);
    expect(idx(subgroup(2, 'rotations'))).toEqual([0, 3, 5, 6]); // I, −I, ±90°
    expect(subgroup(2, 'rotations').map(rows)).toContainEqual([
      [0, -1],
      [1, 0],
    ]);
    expect(idx(subgroup(2, 'axis-flips'))).toEqual([0, 1, 2, 3]);
    expect(idx(subgroup(2, 'reflections'))).toEqual([0, 2]); // x → −x
    expect(rows(subgroup(2, 'reflections', 1)[1]!)).toEqual([
      [1, 0],
      [0, -1],
    ]); // the equator flip on (lon, lat)
  });

  it("axis-flips are ginjax's make_C2_group, in its order: diag(s) for s in product([1, -1], repeat=D)", () => {
    for (const D of [2, 3]) {
      const expected: number[][][] = [];
      for (let t = 0; t < 1 << D; t++) {
        const s = Array.from({ length: D }, (_, j) => ((t >> (D - 1 - j)) & 1 ? -1 : 1));
        expected.push(s.map((v, i) => s.map((_, j) => (i === j ? v : 0))));
      }
      expect(subgroup(D, 'axis-flips').map(rows)).toEqual(expected);
    }
  });

  it('D=3: sizes, determinants, and every named list is a group', () => {
    expect(subgroup(3, 'rotations').length).toBe(24);
    expect(subgroup(3, 'rotations').every((g) => g.det === 1)).toBe(true);
    expect(subgroup(3, 'axis-flips').length).toBe(8);
    expect(subgroup(3, 'axis-flips').every((g) => rows(g).every((r, i) => r.every((v, j) => (i === j) === (v !== 0))))).toBe(true);
    for (const axis of [0, 1, 2]) {
      const [, r] = subgroup(3, 'reflections', axis);
      expect(r!.det).toBe(-1);
      expect(rows(r!)[axis]![axis]).toBe(-1);
    }
    for (const D of [2, 3]) {
      for (const name of NAMES) {
        const G = subgroup(D, name);
        // closed under composition, contains the identity
        expect(G.map((g) => g.index)).toContain(0);
        for (const a of G) for (const b of G) expect(G).toContain(compose(a, b));
        expect(resolveOperators('test', G.map(rows))).toBe(G);
      }
    }
  });

  it('generateGroup closes a generating set', () => {
    expect(
      generateGroup(2, [
        [
          [0, -1],
          [1, 0],
        ],
      ]),
    ).toBe(subgroup(2, 'rotations'));
    expect(
      generateGroup(2, [
        [
          [-1, 0],
          [0, 1],
        ],
        [
          [1, 0],
          [0, -1],
        ],
      ]),
    ).toBe(subgroup(2, 'axis-flips'));
    expect(generateGroup(2, [2, 4])).toBe(operators(2)); // x-flip and the diagonal swap generate B_2
    expect(generateGroup(3, [])).toBe(subgroup(3, 'trivial'));
    expect(idx(generateGroup(3, [subgroup(3, 'reflections', 2)[1]!]))).toEqual(idx(subgroup(3, 'reflections', 2)));
  });

  it('bad names and axes', () => {
    expect(() => subgroup(2, 'mirror' as SubgroupName)).toThrow(
      'subgroup: name must be "full", "trivial", "rotations", "axis-flips" or "reflections" (got "mirror")',
    );
    expect(() => subgroup(2, 'reflections', 2)).toThrow('subgroup: axis must be an integer in [0, 2) (got 2)');
  });
});

describe('operator lists are validated as subgroups', () => {
  const fn = 'f';
  it('any order and any element form give the one canonical list', () => {
    const G = subgroup(2, 'rotations');
    expect(resolveOperators(fn, [6, 0, 5, 3], 2)).toBe(G);
    expect(
      resolveOperators(fn, [
        [
          [0, 1],
          [-1, 0],
        ],
        operators(2)[3]!,
        [
          [1, 0],
          [0, 1],
        ],
        5,
      ]),
    ).toBe(G);
    expect(resolveOperators(fn, undefined, 3)).toBe(operators(3));
    expect(resolveOperators(fn, [...operators(3)].reverse())).toBe(operators(3));
  });

  it('errors name the entry and what is wrong', () => {
    expect(() =>
      resolveOperators(
        fn,
        [
          [
            [1, 0],
            [0, 2],
          ],
        ],
        2,
      ),
    ).toThrow(/f: operators\[0\] must be a signed permutation matrix .*got \[\[1,0\],\[0,2\]\]/);
    expect(() =>
      resolveOperators(
        fn,
        [
          [
            [1, 1],
            [0, 1],
          ],
        ],
        2,
      ),
    ).toThrow(/operators\[0\] must be a signed permutation matrix/);
    expect(() =>
      resolveOperators(
        fn,
        [
          [
            [1, 0],
            [1, 0],
          ],
        ],
        2,
      ),
    ).toThrow(/operators\[0\] must be a signed permutation matrix/);
    expect(() =>
      resolveOperators(
        fn,
        [
          [
            [1, 0, 0],
            [0, 1, 0],
            [0, 0, 1],
          ],
        ],
        2,
      ),
    ).toThrow('f: operators[0] must be an operator of dimension D = 2 (got 3)');
    expect(() => resolveOperators(fn, [operators(2)[0]!, operators(3)[1]!])).toThrow(/operators\[1\] must be an operator of dimension D = 2/);
    expect(() => resolveOperators(fn, [0, 8], 2)).toThrow('f: operators[1] must be an index into operators(2), an integer in [0, 8) (got 8)');
    expect(() => resolveOperators(fn, [0, 1])).toThrow('f: D must be given when the operators are plain indices');
    expect(() => resolveOperators(fn, [], 2)).toThrow(/f: operators must be a non-empty list/);
    expect(() => resolveOperators(fn, [1, 2, 3], 2)).toThrow(/f: operators must be a group: it must contain the identity/);
    expect(() => resolveOperators(fn, [0, 5], 2)).toThrow(
      /f: operators must be a group, closed under composition: \[\[0,-1\],\[1,0\]\]·\[\[0,-1\],\[1,0\]\] = \[\[-1,0\],\[0,-1\]\] is missing/,
    );
    expect(() => resolveOperators(fn, [0, 2, 2], 2)).toThrow(/f: operators\[2\] must be distinct from the earlier entries/);
    expect(() => resolveOperators(fn, subgroup(2, 'rotations'), 3)).toThrow(/operators must be a subgroup of B_3/);
  });
});

describe('filters invariant under a subgroup', () => {
  it("ginjax's axis-flip counts, D=2, M=3: (0,0)=4, (0,1)=1, (1,·)=4/4, (2,·)=10/10", () => {
    const G = subgroup(2, 'axis-flips');
    const counts = [0, 1, 2].map((k) => [0, 1].map((p) => invariantFilters(2, 3, k, p, { operators: G }).count));
    expect(counts).toEqual([
      [4, 1],
      [4, 4],
      [10, 10],
    ]);
    // ginjax's positional order (…, scale, operators) gives the same set
    expect(invariantFilters(2, 3, 2, 1, 'normalize', G)).toBe(invariantFilters(2, 3, 2, 1, { operators: G }));
  });

  it("golden: the x → −x reflection group, M=2, vectors (values, signs and order of an independent NumPy run of ginjax's algorithm)", () => {
    // Computed outside this repo in float64 with ginjax's steps and a stable argsort; pixels
    // (0,0),(0,1),(1,0),(1,1), components (x, y). The two bigness ties keep the step-5 order.
    const set = invariantFilters(2, 2, 1, 0, { operators: subgroup(2, 'reflections', 0) });
    expect(set.filters.map((f) => Array.from(f, (v) => v + 0))).toEqual([
      [0, 1, 0, 0, 0, 1, 0, 0],
      [-1, 0, 0, 0, 1, 0, 0, 0],
      [0, 0, 0, 1, 0, 0, 0, 1],
      [0, 0, -1, 0, 0, 0, 1, 0],
    ]);
  });

  it('counts equal the character formula over the subgroup, and the trivial group gives every basis element', () => {
    for (const [D, Ms, kmax] of [
      [2, [1, 2, 3, 4], 2],
      [3, [2, 3], 2],
    ] as const) {
      for (const name of NAMES) {
        for (const axis of name === 'reflections' ? Array.from({ length: D }, (_, a) => a) : [0]) {
          const G = subgroup(D, name, axis);
          for (const M of Ms)
            for (let k = 0; k <= kmax; k++)
              for (const p of [0, 1]) {
                const n = invariantFilters(D, M, k, p, { operators: G }).count;
                expect(n, `${name} D=${D} M=${M} k=${k} p=${p}`).toBe(filterCount(D, M, k, p, G));
                if (name === 'trivial') expect(n).toBe(M ** D * D ** k);
                if (name === 'full') expect(n).toBe(filterCount(D, M, k, p));
              }
        }
      }
    }
  });

  it("a smaller group has at least as many filters, whose span holds the larger group's (exactly)", () => {
    const chains: [number, SubgroupName[]][] = [
      [2, ['full', 'rotations', 'trivial']],
      [2, ['full', 'axis-flips', 'reflections', 'trivial']],
      [3, ['full', 'axis-flips', 'reflections']],
      [3, ['full', 'rotations', 'trivial']],
    ];
    for (const [D, chain] of chains) {
      for (const k of [0, 1, 2])
        for (const p of [0, 1]) {
          for (let i = 0; i + 1 < chain.length; i++) {
            const big = invariantFilters(D, 3, k, p, { operators: subgroup(D, chain[i]!) });
            const small = invariantFilters(D, 3, k, p, { operators: subgroup(D, chain[i + 1]!) });
            expect(small.count).toBeGreaterThanOrEqual(big.count);
            // small's filters are orthogonal: project each of big's onto them and compare
            for (const f of big.filters) {
              const rebuilt = new Float64Array(f.length);
              for (const h of small.filters) {
                let fh = 0;
                let hh = 0;
                for (let j = 0; j < f.length; j++) {
                  fh += f[j]! * h[j]!;
                  hh += h[j]! * h[j]!;
                }
                for (let j = 0; j < f.length; j++) rebuilt[j]! += (fh / hh) * h[j]!;
              }
              for (let j = 0; j < f.length; j++) expect(Math.abs(rebuilt[j]! - f[j]!)).toBeLessThan(1e-6);
            }
          }
        }
    }
  });

  it('every filter is invariant under every element of its subgroup, and some is not under each element outside', () => {
    for (const D of [2, 3]) {
      const all = operators(D);
      for (const name of ['rotations', 'axis-flips', 'reflections'] as const) {
        const G = subgroup(D, name, D - 1);
        const M = 3;
        // the orders and parities whose filters tell G from any larger group
        const sets = [0, 1, 2].flatMap((k) => [0, 1].map((p) => ({ k, p, set: invariantFilters(D, M, k, p, { operators: G }) })));
        for (const { k, p, set } of sets) for (const g of G) for (const F of set.filters) expect(same(act(g, F, M, k, p), F), `${name} ${k},${p}`).toBe(true);
        for (const g of all.filter((h) => !G.includes(h))) {
          const broken = sets.some(({ k, p, set }) => set.filters.some((F) => !same(act(g, F, M, k, p), F)));
          expect(broken, `${name}, D=${D}: element ${g.index} outside`).toBe(true);
        }
      }
    }
  });

  it("filters of a subgroup are orthogonal and normalised like the full group's (largest pixel norm 1)", () => {
    const set = invariantFilters(2, 3, 1, 1, { operators: subgroup(2, 'reflections', 1) });
    const T = 2;
    for (const [a, F] of set.filters.entries()) {
      let maxNorm = 0;
      for (let pix = 0; pix < 9; pix++) maxNorm = Math.max(maxNorm, Math.hypot(...F.slice(pix * T, pix * T + T)));
      expect(maxNorm).toBeCloseTo(1, 6);
      for (const G of set.filters.slice(a + 1)) expect(F.reduce((s, v, i) => s + v * G[i]!, 0)).toBeCloseTo(0, 6);
    }
    expect(
      invariantFilters(2, 3, 1, 1, { scale: 'one', operators: subgroup(2, 'reflections', 1) }).filters.every((F) =>
        F.every((v) => v === 0 || Math.abs(v) === 1),
      ),
    ).toBe(true);
  });

  it('the full group given explicitly, in any form, is the default set itself', () => {
    for (const [k, p] of [
      [0, 0],
      [1, 0],
      [2, 1],
    ]) {
      const def = invariantFilters(2, 3, k!, p!);
      expect(invariantFilters(2, 3, k!, p!, 'normalize', [...operators(2)].reverse().map(rows))).toBe(def);
      expect(def.operators).toEqual([0, 1, 2, 3, 4, 5, 6, 7]);
    }
    expect(invariantFilters(2, 3, 0, 0, { operators: subgroup(2, 'rotations') }).operators).toEqual([0, 3, 5, 6]);
  });

  it('bad operator arguments', () => {
    expect(() => invariantFilters(2, 3, 0, 0, { operators: [0, 5] })).toThrow(/invariantFilters: operators must be a group, closed under composition/);
    expect(() => invariantFilters(2, 3, 0, 0, { operators: subgroup(3, 'axis-flips') })).toThrow(/invariantFilters: operators must be a subgroup of B_2/);
    expect(() => invariantFilters(2, 3, 0, 0, { operators: [0] }, [0])).toThrow(/operators must be given once/);
    expect(() =>
      filterCount(2, 3, 0, 0, [
        [
          [1, 0],
          [0, 0],
        ],
      ]),
    ).toThrow(/filterCount: operators\[0\] must be a signed permutation matrix/);
  });
});

describe('explicit filter sets', () => {
  it("invariantFilterBank is ginjax's get_invariant_filters_list: M outer, then k, then parity, empty sets kept", () => {
    const G = subgroup(2, 'axis-flips');
    const bank = invariantFilterBank(2, { Ms: [2, 3], ks: [0, 1], parities: [0, 1] }, G);
    expect(bank.map((s) => [s.M, s.k, s.parity])).toEqual([
      [2, 0, 0],
      [2, 0, 1],
      [2, 1, 0],
      [2, 1, 1],
      [3, 0, 0],
      [3, 0, 1],
      [3, 1, 0],
      [3, 1, 1],
    ]);
    expect(bank.map((s) => s.count)).toEqual([1, 1, 2, 2, 4, 1, 4, 4].map((_, i) => filterCount(2, bank[i]!.M, bank[i]!.k, bank[i]!.parity, G)));
    expect(invariantFilterBank(2, { Ms: [3], ks: [0] }).map((s) => s.count)).toEqual([3, 0]);
  });

  it('resolveFilterSpec: defaults, normal form, and clear errors', () => {
    expect(resolveFilterSpec('L', 'filters', 3)).toEqual({ M: 3, ks: null, parities: [0, 1], scale: 'normalize' });
    expect(resolveFilterSpec('L', 'filters', { M: [5], ks: [2, 0, 2], parities: [1], scale: 'one' })).toEqual({
      M: 5,
      ks: [0, 2],
      parities: [1],
      scale: 'one',
    });
    expect(() => resolveFilterSpec('L', 'filters', { M: [3, 5] })).toThrow(/L: filters.M must be one filter side .* \(got \[3,5\]\)/);
    expect(() => resolveFilterSpec('L', 'filters', { M: 0 })).toThrow('L: filters.M must be an integer >= 1 (got 0)');
    expect(() => resolveFilterSpec('L', 'filters', { M: 3, ks: [] })).toThrow('L: filters.ks must be a non-empty list of integers >= 0 (got [])');
    expect(() => resolveFilterSpec('L', 'filters', { M: 3, ks: [1.5] })).toThrow(/filters.ks must be/);
    expect(() => resolveFilterSpec('L', 'filters', { M: 3, parities: [2] })).toThrow('L: filters.parities must be a non-empty list of 0 and/or 1 (got [2])');
    expect(() => resolveFilterSpec('L', 'filters', { M: 3, scale: 'unit' as 'one' })).toThrow('L: filters.scale must be "normalize" or "one" (got "unit")');
  });
});
