/**
 * Invariant filters in ginjax's exact order, values and signs: every set ginjax produced
 * (../shared/goldens/ginjax/invariant-filters.json, D = 2 with M 2–5 and D = 3 with M 2–3, k 0–3,
 * both parities). The order among filters whose bigness ties mathematically is decided by the
 * float32 rounding of ginjax's key; a float64 key with a tie tolerance swaps D = 3, M = 3 sets.
 * Even the signs of zeros are checked: they are what ginjax writes into its model files.
 */
import { existsSync, readFileSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { filterCount, invariantFilters } from '../../src/geometric/filters.js';
import { actionMap, operators } from '../../src/geometric/group.js';

const FILE = fileURLToPath(new URL('../../../shared/goldens/ginjax/invariant-filters.json', import.meta.url));
if (!existsSync(FILE)) throw new Error(`ginjax goldens not found at ${FILE} (expected ../shared/goldens beside the repository)`);
interface GoldenSet {
  D: number;
  M: number;
  k: number;
  parity: number;
  filters: number[][];
}
const golden = JSON.parse(readFileSync(FILE, 'utf8')) as { sets: GoldenSet[] };

describe("ginjax's invariant filters, set by set", () => {
  it('the file covers D = 2 (M 2–5) and D = 3 (M 2–3), k 0–3, both parities', () => {
    expect(golden.sets.length).toBe(4 * 4 * 2 + 2 * 4 * 2);
  });

  for (const s of golden.sets) {
    it(`D=${s.D} M=${s.M} k=${s.k} p=${s.parity}: ${s.filters.length} filters, same order, values and signs`, () => {
      const fs = invariantFilters(s.D, s.M, s.k, s.parity);
      expect(fs.count).toBe(s.filters.length);
      s.filters.forEach((g, i) => {
        const ours = fs.filters[i]!;
        expect(ours.length).toBe(g.length);
        // float32 precision: the golden values are float32 numbers written out in full
        for (let j = 0; j < g.length; j++) {
          if (Math.abs(ours[j]! - g[j]!) > 1e-7) {
            throw new Error(`filter ${i}, entry ${j}: geoconv ${ours[j]} vs ginjax ${g[j]}`);
          }
          // ginjax's zeros are +0 or −0 depending on which duplicate row np.unique kept; its files
          // hold those bits, so a byte-identical save needs them
          if (g[j] === 0 && !Object.is(ours[j], g[j]))
            throw new Error(`filter ${i}, entry ${j}: zero of sign ${Object.is(ours[j], -0) ? '−' : '+'}, ginjax's is the other`);
        }
      });
    });
  }
});

describe('beyond the file: D = 3, M = 5 and D = 2, M = 7', () => {
  /** g·F as a dense gather with signs. */
  const act = (g: ReturnType<typeof operators>[number], F: Float32Array, M: number, k: number, p: number): Float32Array => {
    const { index, sign } = actionMap(g, new Array(g.D).fill(M), k, p);
    return Float32Array.from(index, (src, i) => sign[i]! * F[src]!);
  };
  for (const [D, M] of [
    [3, 5],
    [2, 7],
  ] as const) {
    for (const k of [0, 1, 2, 3]) {
      for (const p of [0, 1]) {
        if (D === 2 && k === 3 && p === 1) continue; // same pattern as p = 0, keeps the suite short
        it(`D=${D} M=${M} k=${k} p=${p}: count, invariance, orthogonality, sorted float32 keys`, () => {
          const fs = invariantFilters(D, M, k, p);
          expect(fs.count).toBe(filterCount(D, M, k, p));
          const G = operators(D);
          for (const F of fs.filters) {
            for (const g of [G[1]!, G[G.length - 1]!, G[Math.floor(G.length / 2)]!]) {
              const gF = act(g, F, M, k, p);
              let worst = 0;
              for (let i = 0; i < F.length; i++) worst = Math.max(worst, Math.abs(gF[i]! - F[i]!));
              expect(worst).toBeLessThan(1e-7);
            }
          }
          for (let a = 0; a < fs.count; a++) {
            for (let b = a + 1; b < Math.min(fs.count, a + 4); b++) {
              let dot = 0;
              fs.filters[a]!.forEach((v, i) => (dot += v * fs.filters[b]![i]!));
              expect(dot).toBe(0);
            }
          }
          // the key, recomputed independently in float64 from the dense filters, never decreases
          // by more than float32 rounding along the returned order
          const P = M ** D;
          const T = D ** k;
          const keys = fs.filters.map((F) => {
            let num = 0;
            let den = 0;
            for (let pix = 0; pix < P; pix++) {
              let s2 = 0;
              for (let t = 0; t < T; t++) s2 += F[pix * T + t]! ** 2;
              const n = Math.sqrt(s2);
              let r2 = 0;
              for (let d = D - 1, rest = pix; d >= 0; d--, rest = Math.floor(rest / M)) r2 += (rest % M) ** 2;
              num += Math.sqrt(r2) * n;
              den += n;
            }
            return num / den;
          });
          for (let i = 1; i < keys.length; i++) expect(keys[i]!).toBeGreaterThan(keys[i - 1]! - 1e-6 * keys[i - 1]!);
        }, 30_000);
      }
    }
  }
});
