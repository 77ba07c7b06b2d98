/**
 * Bases of B_D-invariant filters, built exactly as ginjax's `get_unique_invariant_filters`
 * (inventory §2.6) so that our filters equal theirs element for element and in the same order.
 */
import { check, show } from '../core/errors.js';
import { actionMap, operators } from './group.js';

export type FilterScale = 'normalize' | 'one';

export interface FilterSet {
  readonly D: number;
  readonly M: number;
  readonly k: number;
  readonly parity: number;
  readonly scale: FilterScale;
  readonly count: number;
  /** (M,)*D + (D,)*k */
  readonly shape: readonly number[];
  /** Each row-major over `shape`. Shared with the cache: do not write to them. */
  readonly filters: readonly Float32Array[];
}

/** ginjax's TINY: the threshold below which `normalize` leaves a filter alone. */
const TINY = 1e-5;
/** Relative gap under which two bigness values count as tied (they differ only by rounding). */
const TIE = 1e-9;

function validate(fn: string, D: unknown, M: unknown, k: unknown, parity: unknown): void {
  check(D === 2 || D === 3, fn, 'D', '2 or 3', D);
  check(Number.isInteger(M) && (M as number) >= 1, fn, 'M', 'an integer >= 1', M);
  check(Number.isInteger(k) && (k as number) >= 0, fn, 'k', 'an integer >= 0', k);
  check(parity === 0 || parity === 1, fn, 'parity', '0 or 1', parity);
}

/**
 * Number of invariant filters, by the character formula of §2.6:
 *   n = (1/|G|) Σ_g #{x : g(x − c) = x − c} · tr(g)^k · det(g)^p.
 * Used as an independent cross-check of `invariantFilters`.
 */
export function filterCount(D: number, M: number, k: number, parity: number): number {
  validate('filterCount', D, M, k, parity);
  const G = operators(D);
  let sum = 0;
  for (const g of G) {
    const m = g.matrix;
    const col = (i: number): number => {
      for (let j = 0; j < D; j++) if (m[i * D + j] !== 0) return j;
      return -1;
    };
    // Fixed pixels factor over the cycles of the underlying permutation: a cycle whose signs
    // multiply to +1 leaves one free centred coordinate (M choices); to -1 forces it to 0, which is a
    // pixel only for odd M.
    let fixed = 1;
    const seen = new Uint8Array(D);
    for (let i0 = 0; i0 < D; i0++) {
      if (seen[i0]) continue;
      let prod = 1;
      for (let i = i0; !seen[i]; i = col(i)) {
        seen[i] = 1;
        prod *= m[i * D + col(i)]!;
      }
      fixed *= prod > 0 ? M : M % 2;
    }
    let trace = 0;
    for (let i = 0; i < D; i++) trace += m[i * D + i]!;
    sum += fixed * trace ** k * (parity === 1 ? g.det : 1);
  }
  return sum / G.length;
}

/** A sparse row: strictly increasing columns and their nonzero values. */
interface Row {
  cols: Int32Array;
  vals: Float64Array;
}

/** Lexicographic order of the dense rows, as the void-dtype sort inside np.unique(axis=0) gives. */
function compareRows(a: Row, b: Row): number {
  let i = 0;
  let j = 0;
  while (i < a.cols.length || j < b.cols.length) {
    const ca = i < a.cols.length ? a.cols[i]! : Infinity;
    const cb = j < b.cols.length ? b.cols[j]! : Infinity;
    const c = Math.min(ca, cb);
    const va = ca === c ? a.vals[i++]! : 0;
    const vb = cb === c ? b.vals[j++]! : 0;
    if (va !== vb) return va < vb ? -1 : 1;
  }
  return 0;
}

const cache = new Map<string, FilterSet>();

/**
 * The unique B_D-invariant filters of side M, tensor order k and parity p, in ginjax's order:
 *  1–2. group-SUM every standard basis element, r_i = Σ_g g·e_i;
 *  3.   drop zero rows;  4. make each row's first nonzero entry positive;
 *  5.   np.unique(axis=0): drop duplicates, sort rows lexicographically ascending;
 *  6.   multiply by sign(row sum), 0 counting as +1;  7. divide by max |entry|;
 *  8.   'normalize': divide by the largest pixel Frobenius norm;
 *  9.   stable sort by bigness Σ_x |x|·|F(x)| / Σ_x |F(x)| over uncentred pixel indices x;
 *  10.  rectify the sign (k=0: Σ F >= 0; k=1, p=0: Σ x·F >= 0; k=1, p=1, D=2: Σ x₀F₁ − x₁F₀ >= 0).
 * Computed in float64, returned as Float32Array. Cached: the same frozen object is returned per
 * (D, M, k, parity, scale).
 */
export function invariantFilters(
  D: number,
  M: number,
  k: number,
  parity: number,
  scale: FilterScale = 'normalize',
): FilterSet {
  const fn = 'invariantFilters';
  validate(fn, D, M, k, parity);
  if (scale !== 'normalize' && scale !== 'one') {
    throw new TypeError(`${fn}: scale must be "normalize" or "one" (got ${show(scale)})`);
  }
  const key = `${D}|${M}|${k}|${parity}|${scale}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const T = D ** k;
  const P = M ** D;
  const n = P * T;
  const spatial = new Array<number>(D).fill(M);
  const G = operators(D);

  // (g·e_i)[j] = sign_g[j] when index_g[j] = i, so r_i = Σ_g sign_g[j_g] e_{j_g} with j_g = index_g⁻¹[i].
  const inv = G.map((g) => {
    const { index } = actionMap(g, spatial, k, parity);
    const out = new Int32Array(n);
    for (let j = 0; j < n; j++) out[index[j]!] = j;
    return out;
  });
  const signs = G.map((g) => actionMap(g, spatial, k, parity).sign);

  // Every r_j with j in the orbit of i equals ±r_i (r_{h·i} = ±Σ_g g h e_i), so after step 4 it is
  // the same row and np.unique would drop it; computing one row per orbit gives the identical set.
  const visited = new Uint8Array(n);
  const order = new Int32Array(G.length);
  const cols = new Int32Array(G.length);
  const vals = new Float64Array(G.length);
  let rows: Row[] = [];
  for (let i = 0; i < n; i++) {
    if (visited[i]) continue;
    for (let gi = 0; gi < G.length; gi++) {
      const j = inv[gi]![i]!;
      visited[j] = 1;
      cols[gi] = j;
      vals[gi] = signs[gi]![j]!;
      order[gi] = gi;
    }
    // Sort the |G| contributions by column and add those that land on the same column.
    order.sort((a, b) => cols[a]! - cols[b]!);
    const rc: number[] = [];
    const rv: number[] = [];
    for (let q = 0; q < G.length; ) {
      const c = cols[order[q]!]!;
      let v = 0;
      for (; q < G.length && cols[order[q]!] === c; q++) v += vals[order[q]!]!;
      if (v !== 0) {
        rc.push(c);
        rv.push(v);
      }
    }
    if (rc.length === 0) continue; // step 3: the stabiliser acts with a -1 somewhere, the orbit cancels
    const lead = rv[0]! > 0 ? 1 : -1; // step 4
    rows.push({ cols: Int32Array.from(rc), vals: Float64Array.from(rv, (v) => v * lead) });
  }

  // Step 5. Rows from distinct orbits have disjoint supports, so duplicates cannot survive the orbit
  // shortcut; the adjacent-equal filter is kept so that this step is literally np.unique.
  rows.sort(compareRows);
  rows = rows.filter((r, i) => i === 0 || compareRows(rows[i - 1]!, r) !== 0);

  // Uncentred pixel coordinates, row-major.
  const coord = new Int32Array(P * D);
  for (let pix = 0; pix < P; pix++) {
    for (let d = D - 1, rest = pix; d >= 0; d--, rest = Math.floor(rest / M)) coord[pix * D + d] = rest % M;
  }

  interface Built {
    row: Row;
    bigness: number;
    scaleBy: number;
  }
  const built: Built[] = rows.map((row) => {
    // Steps 6–7: entries become exactly 0/±1 (all nonzero entries of an orbit sum share one magnitude).
    let sum = 0;
    let maxAbs = 0;
    for (const v of row.vals) {
      sum += v;
      maxAbs = Math.max(maxAbs, Math.abs(v));
    }
    const s = sum < 0 ? -1 : 1;
    for (let q = 0; q < row.vals.length; q++) row.vals[q] = (row.vals[q]! * s) / maxAbs;

    // Pixel Frobenius norms, for bigness (step 9) and normalize (step 8).
    const sq = new Map<number, number>();
    for (let q = 0; q < row.cols.length; q++) {
      const pix = Math.floor(row.cols[q]! / T);
      sq.set(pix, (sq.get(pix) ?? 0) + row.vals[q]! ** 2);
    }
    let num = 0;
    let den = 0;
    let maxNorm = 0;
    for (const [pix, s2] of sq) {
      const norm = Math.sqrt(s2);
      let r2 = 0;
      for (let d = 0; d < D; d++) r2 += coord[pix * D + d]! ** 2;
      num += Math.sqrt(r2) * norm;
      den += norm;
      maxNorm = Math.max(maxNorm, norm);
    }
    const scaleBy = scale === 'normalize' && maxNorm > TINY ? 1 / maxNorm : 1;
    return { row, bigness: num / den, scaleBy };
  });

  // Step 9: Array.prototype.sort is stable, so ties keep the step-5 order as ginjax's do. Bigness is
  // scale-free, and values equal up to rounding are treated as ties rather than ordered by noise.
  const ranked = built
    .map((b, pos) => ({ b, pos }))
    .sort((x, y) => {
      const gap = x.b.bigness - y.b.bigness;
      if (Math.abs(gap) <= TIE * Math.max(1, Math.abs(x.b.bigness))) return x.pos - y.pos;
      return gap;
    })
    .map((e) => e.b);

  const filters = ranked.map(({ row, scaleBy }) => {
    // Step 10 on the 0/±1 entries: the sums are exact integers, so a zero sum never flips by rounding.
    let score = 0;
    if (k === 0) {
      for (const v of row.vals) score += v;
    } else if (k === 1 && parity === 0) {
      for (let q = 0; q < row.cols.length; q++) {
        const pix = Math.floor(row.cols[q]! / D);
        score += coord[pix * D + (row.cols[q]! % D)]! * row.vals[q]!;
      }
    } else if (k === 1 && D === 2) {
      for (let q = 0; q < row.cols.length; q++) {
        const pix = Math.floor(row.cols[q]! / 2);
        const comp = row.cols[q]! % 2;
        // x₀F₁ − x₁F₀ (the 2-D cross product)
        score += comp === 1 ? coord[pix * 2]! * row.vals[q]! : -coord[pix * 2 + 1]! * row.vals[q]!;
      }
    }
    const f = score < 0 ? -scaleBy : scaleBy;
    const dense = new Float32Array(n);
    for (let q = 0; q < row.cols.length; q++) dense[row.cols[q]!] = row.vals[q]! * f;
    return dense;
  });

  const result: FilterSet = Object.freeze({
    D,
    M,
    k,
    parity,
    scale,
    count: filters.length,
    shape: Object.freeze([...spatial, ...new Array<number>(k).fill(D)]),
    filters: Object.freeze(filters),
  });
  cache.set(key, result);
  return result;
}

