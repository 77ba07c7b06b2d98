import { describe, it, expect } from 'vitest';
import { filterCount, invariantFilters } from '../../src/geometric/filters.js';
import { actionMap, operators } from '../../src/geometric/group.js';

// Kept first: the filter sets are cached per process, so this must see a cold build.
describe('invariantFilters speed', () => {
  it('builds D=3, M=5, k=3 in well under a second', () => {
    const t0 = performance.now();
    const fs = invariantFilters(3, 5, 3, 0);
    const ms = performance.now() - t0;
    expect(fs.count).toBe(74);
    expect(ms).toBeLessThan(1000);
  });
});

/** §7.9 tables, "p=0 / p=1" per entry: COUNTS[D][M-1][k] = [p0, p1]. */
const COUNTS_D2: [number, number][][] = [
  [
    [1, 0],
    [0, 0],
    [1, 1],
    [0, 0],
    [4, 4],
  ],
  [
    [1, 0],
    [1, 1],
    [2, 2],
    [4, 4],
    [8, 8],
  ],
  [
    [3, 0],
    [2, 2],
    [5, 5],
    [8, 8],
    [20, 20],
  ],
  [
    [3, 1],
    [4, 4],
    [8, 8],
    [16, 16],
    [32, 32],
  ],
  [
    [6, 1],
    [6, 6],
    [13, 13],
    [24, 24],
    [52, 52],
  ],
  [
    [6, 3],
    [9, 9],
    [18, 18],
    [36, 36],
    [72, 72],
  ],
  [
    [10, 3],
    [12, 12],
    [25, 25],
    [48, 48],
    [100, 100],
  ],
];
const COUNTS_D3: [number, number][][] = [
  [
    [1, 0],
    [0, 0],
    [1, 0],
    [0, 1],
  ],
  [
    [1, 0],
    [1, 0],
    [2, 1],
    [5, 4],
  ],
  [
    [4, 0],
    [3, 0],
    [8, 4],
    [16, 14],
  ],
  [
    [4, 0],
    [6, 2],
    [14, 10],
    [38, 34],
  ],
  [
    [10, 0],
    [12, 3],
    [30, 20],
    [74, 66],
  ],
];

describe('filter counts (§7.9)', () => {
  for (const [D, table] of [
    [2, COUNTS_D2],
    [3, COUNTS_D3],
  ] as const) {
    it(`match the D=${D} table and the character formula`, () => {
      table.forEach((row, m) => {
        row.forEach((pair, k) => {
          pair.forEach((expected, parity) => {
            const M = m + 1;
            expect(invariantFilters(D, M, k, parity).count, `D=${D} M=${M} k=${k} p=${parity}`).toBe(expected);
            expect(filterCount(D, M, k, parity), `formula D=${D} M=${M} k=${k} p=${parity}`).toBe(expected);
          });
        });
      });
    });
  }

  it('formula agrees with the D=2 k=5 column', () => {
    const k5 = [0, 16, 32, 64, 96, 144, 192];
    k5.forEach((n, m) => {
      expect(filterCount(2, m + 1, 5, 0)).toBe(n);
      expect(filterCount(2, m + 1, 5, 1)).toBe(n);
    });
  });
});

// Reference filters of §2.6 (D=2, scale "normalize"), written from the table's formulas. Pixel index
// x = (x0, x1), axis 0 first; tensor components row-major.
const S = Math.SQRT1_2;
type Tensor = number[]; // length 2^k
type PixelFn = (u: [number, number]) => Tensor | null; // null: zero pixel

/** Builds a filter from a per-pixel formula of the centred offset u = x − (M−1)/2. */
function build(M: number, k: number, f: PixelFn): number[] {
  const T = 2 ** k;
  const out = new Array<number>(M * M * T).fill(0);
  const c = (M - 1) / 2;
  for (let x0 = 0; x0 < M; x0++)
    for (let x1 = 0; x1 < M; x1++) {
      const t = f([x0 - c, x1 - c]);
      if (t) t.forEach((v, i) => (out[(x0 * M + x1) * T + i] = v));
    }
  return out;
}

const l1 = (u: [number, number]): number => Math.abs(u[0]) + Math.abs(u[1]);
const centre =
  (t: Tensor): PixelFn =>
  (u) =>
    l1(u) === 0 ? t : null;
const edges =
  (g: (u: [number, number]) => Tensor): PixelFn =>
  (u) =>
    l1(u) === 1 ? g(u) : null;
const corners =
  (g: (u: [number, number]) => Tensor): PixelFn =>
  (u) =>
    l1(u) === 2 ? g(u) : null;
const everywhere = (g: (u: [number, number]) => Tensor): PixelFn => g;

const R = (u: [number, number]): [number, number] => [-u[1], u[0]]; // rotation by +90°
const outer = (a: number[], b: number[]): Tensor => [a[0]! * b[0]!, a[0]! * b[1]!, a[1]! * b[0]!, a[1]! * b[1]!];
const scaled = (s: number, t: number[]): Tensor => t.map((v) => v * s);
const I: Tensor = [1, 0, 0, 1];
const EPS: Tensor = [0, 1, -1, 0];

const REFERENCE_M3: Record<string, PixelFn[]> = {
  '0,0': [centre([1]), edges(() => [1]), corners(() => [1])],
  '0,1': [],
  '1,0': [edges((u) => u), corners((u) => scaled(S, u))],
  '1,1': [edges((u) => R(u)), corners((u) => scaled(S, R(u)))],
  '2,0': [
    centre(scaled(S, I)),
    edges((u) => outer(R(u), R(u))),
    edges((u) => outer(u, u)),
    corners((u) => scaled(S, [0, u[0] * u[1], u[0] * u[1], 0])),
    corners(() => scaled(S, I)),
  ],
  '2,1': [
    centre(scaled(S, EPS)),
    edges((u) => outer(R(u), u)),
    edges((u) => outer(u, R(u))),
    corners(() => scaled(S, EPS)),
    corners((u) => scaled(S * u[0] * u[1], [1, 0, 0, -1])),
  ],
};

// M=2: u ∈ {±½}², so u/|u| = u·√2.
const REFERENCE_M2: Record<string, PixelFn[]> = {
  '0,0': [everywhere(() => [1])],
  '0,1': [],
  '1,0': [everywhere((u) => scaled(2 * S, u))],
  '1,1': [everywhere((u) => scaled(2 * S, R(u)))],
  '2,0': [everywhere((u) => scaled(S * Math.sign(u[0] * u[1]), [0, 1, 1, 0])), everywhere(() => scaled(S, I))],
  '2,1': [everywhere(() => scaled(S, EPS)), everywhere((u) => scaled(S * Math.sign(u[0] * u[1]), [1, 0, 0, -1]))],
};

function expectClose(actual: ArrayLike<number>, expected: number[], label: string): void {
  expect(actual.length, label).toBe(expected.length);
  for (let i = 0; i < expected.length; i++) {
    expect(Math.abs(actual[i]! - expected[i]!), `${label} [${i}]: ${actual[i]} vs ${expected[i]}`).toBeLessThan(1e-6);
  }
}

describe('reference filters (§2.6, D=2)', () => {
  for (const [M, table] of [
    [3, REFERENCE_M3],
    [2, REFERENCE_M2],
  ] as const) {
    for (const [key, fns] of Object.entries(table)) {
      const [k, parity] = key.split(',').map(Number) as [number, number];
      it(`M=${M} (k,p)=(${key}) equals the table, in order`, () => {
        const fs = invariantFilters(2, M, k, parity);
        expect(fs.count).toBe(fns.length);
        expect(fs.shape).toEqual([M, M, ...new Array<number>(k).fill(2)]);
        fns.forEach((f, i) => expectClose(fs.filters[i]!, build(M, k, f), `M=${M} (${key}) #${i}`));
      });
    }
  }

  it('spells out M=3 scalars and vectors literally', () => {
    expect(invariantFilters(2, 3, 0, 0).filters.map((f) => Array.from(f, (v) => v + 0))).toEqual([
      [0, 0, 0, 0, 1, 0, 0, 0, 0],
      [0, 1, 0, 1, 0, 1, 0, 1, 0],
      [1, 0, 1, 0, 0, 0, 1, 0, 1],
    ]);
    const s = Math.fround(S);
    expect(invariantFilters(2, 3, 1, 0).filters.map((f) => Array.from(f, (v) => v + 0))).toEqual([
      [0, 0, -1, 0, 0, 0, 0, -1, 0, 0, 0, 1, 0, 0, 1, 0, 0, 0],
      [-s, -s, 0, 0, -s, s, 0, 0, 0, 0, 0, 0, s, -s, 0, 0, s, s],
    ]);
  });

  it('with scale "one" has entries 0/±1 and the same directions', () => {
    for (const [k, parity] of [
      [0, 0],
      [1, 0],
      [1, 1],
      [2, 0],
      [2, 1],
    ] as const) {
      const one = invariantFilters(2, 3, k, parity, 'one');
      const norm = invariantFilters(2, 3, k, parity);
      expect(one.count).toBe(norm.count);
      one.filters.forEach((f, i) => {
        expect(Array.from(f).every((v) => v === 0 || v === 1 || v === -1)).toBe(true);
        const g = norm.filters[i]!;
        const ratio = Math.max(...Array.from(g, Math.abs));
        expectClose(
          f,
          Array.from(g, (v) => v / ratio),
          `one (${k},${parity}) #${i}`,
        );
      });
    }
  });
});

describe('invariant filter properties', () => {
  const cases: [number, number[], number[]][] = [
    [2, [1, 2, 3, 4], [0, 1, 2, 3]],
    [3, [1, 2, 3], [0, 1, 2]],
  ];

  it('every filter is invariant under every group element', () => {
    for (const [D, Ms, ks] of cases)
      for (const M of Ms)
        for (const k of ks)
          for (const parity of [0, 1]) {
            const fs = invariantFilters(D, M, k, parity);
            const spatial = new Array<number>(D).fill(M);
            for (const g of operators(D)) {
              const { index, sign } = actionMap(g, spatial, k, parity);
              for (const f of fs.filters) {
                let worst = 0;
                for (let i = 0; i < f.length; i++) worst = Math.max(worst, Math.abs(sign[i]! * f[index[i]!]! - f[i]!));
                expect(worst, `D=${D} M=${M} k=${k} p=${parity} g=${g.index}`).toBeLessThan(1e-6);
              }
            }
          }
  });

  it('filters are nonzero and mutually orthogonal, with largest pixel norm 1', () => {
    for (const [D, Ms, ks] of cases)
      for (const M of Ms)
        for (const k of ks)
          for (const parity of [0, 1]) {
            const { filters } = invariantFilters(D, M, k, parity);
            const T = D ** k;
            filters.forEach((a, i) => {
              let maxPixel = 0;
              for (let p = 0; p < a.length; p += T) {
                let s = 0;
                for (let t = 0; t < T; t++) s += a[p + t]! ** 2;
                maxPixel = Math.max(maxPixel, Math.sqrt(s));
              }
              expect(Math.abs(maxPixel - 1)).toBeLessThan(1e-6);
              for (let j = i + 1; j < filters.length; j++) {
                let dot = 0;
                for (let q = 0; q < a.length; q++) dot += a[q]! * filters[j]![q]!;
                expect(Math.abs(dot), `D=${D} M=${M} k=${k} p=${parity} (${i},${j})`).toBeLessThan(1e-6);
              }
            });
          }
  });

  it('orders filters by non-decreasing bigness (uncentred pixel indices)', () => {
    // wider than `cases`: centred and uncentred indices first order D=2 filters differently at M=9
    const wide: [number, number[], number[]][] = [
      [2, [1, 2, 3, 4, 5, 6, 7, 9], [0, 1, 2, 3]],
      [3, [1, 2, 3, 4, 5], [0, 1, 2]],
    ];
    for (const [D, Ms, ks] of wide)
      for (const M of Ms)
        for (const k of ks)
          for (const parity of [0, 1]) {
            const { filters } = invariantFilters(D, M, k, parity);
            const T = D ** k;
            const bigness = filters.map((f) => {
              let num = 0;
              let den = 0;
              for (let p = 0; p < f.length / T; p++) {
                let s = 0;
                for (let t = 0; t < T; t++) s += f[p * T + t]! ** 2;
                let r = 0;
                for (let d = 0, rest = p; d < D; d++, rest = Math.floor(rest / M)) r += (rest % M) ** 2;
                num += Math.sqrt(r) * Math.sqrt(s);
                den += Math.sqrt(s);
              }
              return num / den;
            });
            for (let i = 1; i < bigness.length; i++) expect(bigness[i]! - bigness[i - 1]!).toBeGreaterThan(-1e-6);
          }
  });

  it('without a rectify rule, sums are >= 0 and a zero-sum filter leads with a positive entry', () => {
    for (const [D, Ms, ks] of [
      [2, [2, 3, 4, 5, 6, 7], [1, 2, 3, 4]],
      [3, [2, 3, 4, 5], [1, 2, 3]],
    ] as const)
      for (const M of Ms)
        for (const k of ks)
          for (const parity of [0, 1]) {
            if (k === 1 && (parity === 0 || D === 2)) continue; // rectified instead
            invariantFilters(D, M, k, parity).filters.forEach((f, i) => {
              const label = `D=${D} M=${M} k=${k} p=${parity} #${i}`;
              const sum = f.reduce((a, b) => a + b, 0);
              expect(sum, label).toBeGreaterThan(-1e-5);
              if (Math.abs(sum) < 1e-5)
                expect(
                  f.find((v) => v !== 0)!,
                  label,
                ).toBeGreaterThan(0);
            });
          }
  });

  it('rectifies signs: scalars sum >= 0, vectors point outward, 2-D pseudovectors turn counter-clockwise', () => {
    for (const M of [2, 3, 4, 5]) {
      for (const f of invariantFilters(2, M, 0, 0).filters) expect(f.reduce((a, b) => a + b, 0)).toBeGreaterThanOrEqual(0);
      for (const [parity, score] of [
        [0, (x: number[], v: number[]) => x[0]! * v[0]! + x[1]! * v[1]!],
        [1, (x: number[], v: number[]) => x[0]! * v[1]! - x[1]! * v[0]!],
      ] as const) {
        for (const f of invariantFilters(2, M, 1, parity).filters) {
          let s = 0;
          for (let p = 0; p < M * M; p++) s += score([Math.floor(p / M), p % M], [f[2 * p]!, f[2 * p + 1]!]);
          expect(s).toBeGreaterThan(-1e-6);
        }
      }
    }
  });

  it('is cached and frozen', () => {
    const a = invariantFilters(2, 3, 2, 1);
    expect(invariantFilters(2, 3, 2, 1, 'normalize')).toBe(a);
    expect(invariantFilters(2, 3, 2, 1, 'one')).not.toBe(a);
    expect(Object.isFrozen(a)).toBe(true);
    expect(Object.isFrozen(a.filters)).toBe(true);
    expect(Object.isFrozen(a.shape)).toBe(true);
    expect(a).toMatchObject({ D: 2, M: 3, k: 2, parity: 1, scale: 'normalize', count: 5 });
  });
});

describe('argument errors', () => {
  it('name the argument, the expectation and the value', () => {
    expect(() => invariantFilters(4, 3, 0, 0)).toThrow(new RangeError('invariantFilters: D must be 2 or 3 (got 4)'));
    expect(() => invariantFilters(2, 0, 0, 0)).toThrow(new RangeError('invariantFilters: M must be an integer >= 1 (got 0)'));
    expect(() => invariantFilters(2, 2.5, 0, 0)).toThrow(/invariantFilters: M must be an integer >= 1 \(got 2.5\)/);
    expect(() => invariantFilters(2, 3, -1, 0)).toThrow(/invariantFilters: k must be an integer >= 0 \(got -1\)/);
    expect(() => invariantFilters(2, 3, 1.5, 0)).toThrow(/invariantFilters: k must be/);
    expect(() => invariantFilters(2, 3, 0, 2)).toThrow(/invariantFilters: parity must be 0 or 1 \(got 2\)/);
    expect(() => invariantFilters(2, 3, 0, 0, 'unit' as 'one')).toThrow(new TypeError('invariantFilters: scale must be "normalize" or "one" (got "unit")'));
    expect(() => filterCount(3, 3, 0, -1)).toThrow(/filterCount: parity must be 0 or 1 \(got -1\)/);
    expect(() => filterCount(1, 3, 0, 0)).toThrow(/filterCount: D must be 2 or 3 \(got 1\)/);
  });
});
