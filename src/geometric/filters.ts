/**
 * Bases of invariant filters, built exactly as ginjax's `get_unique_invariant_filters` (inventory
 * §2.6) so that our filters equal theirs element for element and in the same order: invariant under
 * all of B_D by default, or under any subgroup passed as `operators` (more filters for a smaller
 * group; the algorithm is the same group sum over the given elements).
 */
import { check, show } from '../core/errors.js';
import { limits, showLimit } from '../core/limits.js';
import { actionMap, isFullGroup, resolveOperators, type GroupElement, type OperatorLike } from './group.js';

/**
 * How invariant filters are scaled: 'normalize' (ginjax's default, unit norm) or 'one' (largest entry 1).
 */
export type FilterScale = 'normalize' | 'one';

/** Invariant filters of one (M, k, parity): the filters as GeometricImages plus their count. */
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
  /** The group the filters are invariant under, as sorted indices into operators(D). */
  readonly operators: readonly number[];
}

/** Options of `invariantFilters` beyond (D, M, k, parity). */
export interface InvariantFilterOptions {
  readonly scale?: FilterScale;
  /** A subgroup of B_D (see `resolveOperators`); default: all of B_D. */
  readonly operators?: readonly OperatorLike[];
}

/** ginjax's TINY: the threshold below which `normalize` leaves a filter alone. */
const TINY = 1e-5;

function validate(fn: string, D: unknown, M: unknown, k: unknown, parity: unknown): void {
  check(D === 2 || D === 3, fn, 'D', '2 or 3', D);
  check(Number.isInteger(M) && (M as number) >= 1, fn, 'M', 'an integer >= 1', M);
  check(Number.isInteger(k) && (k as number) >= 0, fn, 'k', 'an integer >= 0', k);
  check(parity === 0 || parity === 1, fn, 'parity', '0 or 1', parity);
}

/**
 * The documented limits of a filter computation (limits.maxFilterSide, maxTensorOrder and
 * maxFilterWork = filters × entries per filter, estimated with the cheap count formula), checked
 * before any work: a size that cannot finish in seconds is refused at once.
 */
function checkWork(fn: string, D: number, M: number, k: number, parity: number, G: readonly GroupElement[]): void {
  check(M <= limits.maxFilterSide, fn, 'M', `an integer <= ${limits.maxFilterSide} (limits.maxFilterSide)`, M);
  check(k <= limits.maxTensorOrder, fn, 'k', `an integer <= ${limits.maxTensorOrder} (limits.maxTensorOrder)`, k);
  const entries = M ** D * D ** k;
  const work = filterCount(D, M, k, parity, G) * entries;
  if (work > limits.maxFilterWork) {
    throw new RangeError(
      `${fn}: D=${D}, M=${M}, k=${k}, parity=${parity} would build ${work} filter entries (filters × ${entries} entries each), more than ${showLimit(limits.maxFilterWork)} (limits.maxFilterWork); use a smaller M or k`,
    );
  }
}

/**
 * Number of invariant filters, by the character formula of §2.6:
 *   n = (1/|G|) Σ_g #{x : g(x − c) = x − c} · tr(g)^k · det(g)^p,
 * over B_D or the subgroup `operators`. Used as an independent cross-check of `invariantFilters`.
 * @example
 * filterCount(2, 3, 0, 0); // 3: as many as invariantFilters(2, 3, 0, 0).count
 */
export function filterCount(D: number, M: number, k: number, parity: number, operators?: readonly OperatorLike[]): number {
  validate('filterCount', D, M, k, parity);
  const G = resolveOperators('filterCount', operators, D);
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
  /** The sign of the row's zeros (+0 or −0 as ginjax's float arithmetic leaves them): ±1. */
  zero: number;
}

/**
 * numpy's generic quicksort (npysort `npy_quicksort`, which sorts the structured rows inside
 * np.unique(axis=0)): median-of-3 partitions of every range of 17 or more elements, insertion sort
 * below, heapsort past a depth of 2·⌊log2 n⌋. Not stable; replayed step by step because the order it
 * leaves equal rows in is observable (the sign of zeros). Checked against numpy 2.4's sort of
 * structured arrays on ties, and against every set of ginjax's filter goldens. In place.
 */
function numpyQuicksort<T>(a: T[], cmp: (x: T, y: T) => number): void {
  const swap = (i: number, j: number) => {
    const t = a[i]!;
    a[i] = a[j]!;
    a[j] = t;
  };
  const stack: number[] = [];
  const depths: number[] = [];
  let pl = 0;
  let pr = a.length - 1;
  let cdepth = a.length > 0 ? Math.floor(Math.log2(a.length)) * 2 : 0;
  for (;;) {
    if (cdepth < 0) heapsortRange(a, pl, pr - pl + 1, cmp);
    else {
      while (pr - pl >= 16) {
        const pm = pl + ((pr - pl) >> 1);
        if (cmp(a[pm]!, a[pl]!) < 0) swap(pm, pl);
        if (cmp(a[pr]!, a[pm]!) < 0) swap(pr, pm);
        if (cmp(a[pm]!, a[pl]!) < 0) swap(pm, pl);
        const vp = a[pm]!;
        let pi = pl;
        let pj = pr - 1;
        swap(pm, pj);
        for (;;) {
          do pi++;
          while (cmp(a[pi]!, vp) < 0);
          do pj--;
          while (cmp(vp, a[pj]!) < 0);
          if (pi >= pj) break;
          swap(pi, pj);
        }
        swap(pi, pr - 1);
        if (pi - pl < pr - pi) {
          stack.push(pi + 1, pr);
          pr = pi - 1;
        } else {
          stack.push(pl, pi - 1);
          pl = pi + 1;
        }
        depths.push(--cdepth);
      }
      for (let pi = pl + 1; pi <= pr; pi++) {
        const vp = a[pi]!;
        let pj = pi;
        while (pj > pl && cmp(vp, a[pj - 1]!) < 0) {
          a[pj] = a[pj - 1]!;
          pj--;
        }
        a[pj] = vp;
      }
    }
    if (stack.length === 0) break;
    pr = stack.pop()!;
    pl = stack.pop()!;
    cdepth = depths.pop()!;
  }
}

/** numpy's generic heapsort (npy_heapsort) of a[start … start + num − 1]. */
function heapsortRange<T>(a: T[], start: number, num: number, cmp: (x: T, y: T) => number): void {
  const at = (i: number) => start + i - 1; // 1-based
  const sift = (tmp: T, i0: number, n: number) => {
    let i = i0;
    for (let j = i << 1; j <= n;) {
      if (j < n && cmp(a[at(j)]!, a[at(j + 1)]!) < 0) j += 1;
      if (cmp(tmp, a[at(j)]!) < 0) {
        a[at(i)] = a[at(j)]!;
        i = j;
        j += j;
      } else break;
    }
    a[at(i)] = tmp;
  };
  for (let l = num >> 1; l > 0; --l) sift(a[at(l)]!, l, num);
  for (let n = num; n > 1;) {
    const tmp = a[at(n)]!;
    a[at(n)] = a[at(1)]!;
    n -= 1;
    sift(tmp, 1, n);
  }
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
 * The unique invariant filters of side M, tensor order k and parity p, in ginjax's order, for the
 * group G = B_D or the subgroup given as `operators` (a list of elements, indices or matrices that
 * must form a group; the order of the list does not matter):
 *  1–2. group-SUM every standard basis element, r_i = Σ_{g∈G} g·e_i;
 *  3.   drop zero rows;  4. make each row's first nonzero entry positive;
 *  5.   np.unique(axis=0): drop duplicates, sort rows lexicographically ascending;
 *  6.   multiply by sign(row sum), 0 counting as +1;  7. divide by max |entry|;
 *  8.   'normalize': multiply by 1/(largest pixel Frobenius norm), rounded to float32;
 *  9.   stable sort by bigness Σ_x |x|·|F(x)| / Σ_x |F(x)| over uncentred pixel indices x, computed
 *       in float32 exactly as ginjax does (its ties are broken by the last bits of that key);
 *  10.  rectify the sign (k=0: Σ F >= 0; k=1, p=0: Σ x·F >= 0; k=1, p=1, D=2: Σ x₀F₁ − x₁F₀ >= 0).
 * Entries are exact (0/±1 times one float32 scale), returned as Float32Array. Cached: the same frozen object is returned per
 * (D, M, k, parity, scale, group). The fifth argument is the scale or an options object
 * `{ scale, operators }`; the sixth, operators, is ginjax's positional order.
 * @example
 * const { count, shape, filters } = invariantFilters(2, 3, 1, 0); // vector filters of side 3: count 2, shape [3, 3, 2]
 * const flips = invariantFilters(2, 3, 0, 0, { operators: subgroup(2, 'axis-flips') }); // more filters for a smaller group
 */
export function invariantFilters(
  D: number,
  M: number,
  k: number,
  parity: number,
  scaleOrOptions: FilterScale | InvariantFilterOptions = 'normalize',
  operators?: readonly OperatorLike[],
): FilterSet {
  const fn = 'invariantFilters';
  validate(fn, D, M, k, parity);
  const opts: InvariantFilterOptions = typeof scaleOrOptions === 'object' && scaleOrOptions !== null ? scaleOrOptions : { scale: scaleOrOptions };
  const scale = opts.scale ?? 'normalize';
  if (scale !== 'normalize' && scale !== 'one') {
    throw new TypeError(`${fn}: scale must be "normalize" or "one" (got ${show(scale)})`);
  }
  check(operators === undefined || opts.operators === undefined, fn, 'operators', 'given once (as the sixth argument or in the options)', 'both');
  const G: readonly GroupElement[] = resolveOperators(fn, operators ?? opts.operators, D);
  checkWork(fn, D, M, k, parity, G);
  // The full group keeps its original key: B_D filters are computed once, whichever form asked.
  const key = `${D}|${M}|${k}|${parity}|${scale}${isFullGroup(G) ? '' : `|${G.map((g) => g.index).join(',')}`}`;
  const hit = cache.get(key);
  if (hit) return hit;

  const T = D ** k;
  const P = M ** D;
  const n = P * T;
  const spatial = new Array<number>(D).fill(M);

  // (g·e_i)[j] = sign_g[j] when index_g[j] = i, so r_i = Σ_g sign_g[j_g] e_{j_g} with j_g = index_g⁻¹[i].
  const inv = G.map((g) => {
    const { index } = actionMap(g, spatial, k, parity);
    const out = new Int32Array(n);
    for (let j = 0; j < n; j++) out[index[j]!] = j;
    return out;
  });
  const signs = G.map((g) => actionMap(g, spatial, k, parity).sign);

  // Steps 1–4 for every basis element in index order. Every r_j with j in the G-orbit of i equals
  // ±r_i, so after step 4 the rows of one orbit have equal values; they differ only in the sign of
  // their zeros (+0 times the step-4 sign), and that sign is what ginjax writes to its files.
  const order = new Int32Array(G.length);
  const cols = new Int32Array(G.length);
  const vals = new Float64Array(G.length);
  const all: Row[] = [];
  for (let i = 0; i < n; i++) {
    for (let gi = 0; gi < G.length; gi++) {
      const j = inv[gi]![i]!;
      cols[gi] = j;
      vals[gi] = signs[gi]![j]!;
      order[gi] = gi;
    }
    // Sort the |G| contributions by column and add those that land on the same column.
    order.sort((a, b) => cols[a]! - cols[b]!);
    const rc: number[] = [];
    const rv: number[] = [];
    for (let q = 0; q < G.length;) {
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
    all.push({ cols: Int32Array.from(rc), vals: Float64Array.from(rv, (v) => v * lead), zero: lead });
  }

  // Step 5, np.unique(axis=0): numpy's (unstable) quicksort of the rows, then the first row of every
  // run of equal rows survives — which decides the sign of the zeros of each filter.
  numpyQuicksort(all, compareRows);
  const rows = all.filter((r, i) => i === 0 || compareRows(all[i - 1]!, r) !== 0);

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
  const f32 = Math.fround;
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
    row.zero *= s;

    // Nonzero entries per pixel: every pixel tensor is m entries of ±1, so its norm is √m.
    const count = new Map<number, number>();
    for (let q = 0; q < row.cols.length; q++) {
      const pix = Math.floor(row.cols[q]! / T);
      count.set(pix, (count.get(pix) ?? 0) + 1);
    }
    // Step 8 as ginjax does it in float32: max pixel norm, the scale 1/max rounded to float32.
    let maxNorm = 0;
    for (const m of count.values()) maxNorm = Math.max(maxNorm, f32(Math.sqrt(m)));
    const scaleBy = scale === 'normalize' && maxNorm > TINY ? f32(1 / maxNorm) : 1;
    // Step 9's key, replaying ginjax's float32 arithmetic operation by operation: pixel norms of the
    // scaled filter (sequential float32 sums of squares), then over the pixels in row-major order
    // Σ ‖x·norm(x)‖ and Σ norm(x), and one float32 division. Filters whose exact bigness ties can
    // differ in the last bit here, and ginjax's order follows those bits, so no tolerance is used.
    const c2 = f32(scaleBy * scaleBy);
    let num = 0;
    let den = 0;
    for (let pix = 0; pix < P; pix++) {
      const m = count.get(pix);
      if (m === undefined) continue; // a zero pixel adds exactly 0 to both sums
      let s2 = 0;
      for (let q = 0; q < m; q++) s2 = f32(s2 + c2);
      const norm = f32(Math.sqrt(s2));
      let r2 = 0;
      for (let d = 0; d < D; d++) {
        const v = f32(coord[pix * D + d]! * norm);
        r2 = f32(r2 + f32(v * v));
      }
      num = f32(num + f32(Math.sqrt(r2)));
      den = f32(den + norm);
    }
    return { row, bigness: f32(num / den), scaleBy };
  });

  // Step 9: a stable sort on the float32 keys (Array.prototype.sort is stable): bit-equal keys keep
  // the step-5 order. This reproduces every set ginjax produced (test/node/filters-ginjax.test.ts).
  const ranked = built
    .map((b, pos) => ({ b, pos }))
    .sort((x, y) => x.b.bigness - y.b.bigness || x.pos - y.pos)
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
    if (row.zero * f < 0) dense.fill(-0); // the zeros ginjax writes are −0 here (see Row.zero)
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
    operators: Object.freeze(G.map((g) => g.index)),
  });
  cache.set(key, result);
  return result;
}

/**
 * An explicit filter set, as ginjax's `get_invariant_filters(Ms, ks, parities, D, operators)`
 * builds for its layers (`conv_filters`, `upsample_filters`): the invariant filters of side M for
 * every tensor order in `ks` and parity in `parities`. A layer pair whose filter key (k_in + k_out,
 * p_in + p_out) is outside the set has no filters and is skipped, as in ginjax. `M` may be written
 * as a one-element list (ginjax's Ms); a layer takes one side, because ginjax stacks the set into
 * one MultiImage whose blocks share their spatial shape.
 */
export interface FilterSpec {
  readonly M: number | readonly number[];
  /** Tensor orders of the filters; default: every order a layer needs. */
  readonly ks?: readonly number[];
  /** Default [0, 1]. */
  readonly parities?: readonly number[];
  /** Default 'normalize'. */
  readonly scale?: FilterScale;
}

/** A validated FilterSpec: one side, sorted unique ks (null: all) and parities. */
export interface ResolvedFilterSpec {
  readonly M: number;
  readonly ks: readonly number[] | null;
  readonly parities: readonly number[];
  readonly scale: FilterScale;
}

function sortedUnique(values: readonly number[]): number[] {
  return [...new Set(values)].sort((a, b) => a - b);
}

/**
 * Validates a FilterSpec for a layer (`fn`, argument `arg`); a bare number is the side alone.
 * Errors name the field: several sides, a non-integer order, a parity other than 0/1, an empty list.
 * @example
 * resolveFilterSpec('myLayer', 'filters', { M: 3, ks: [1, 0] }); // { M: 3, ks: [0, 1], parities: [0, 1], scale: 'normalize' }
 */
export function resolveFilterSpec(fn: string, arg: string, spec: FilterSpec | number): ResolvedFilterSpec {
  const s: FilterSpec = typeof spec === 'number' ? { M: spec } : spec;
  check(typeof s === 'object' && s !== null, fn, arg, 'a filter set { M, ks?, parities?, scale? } or a side M', spec);
  const Ms = Array.isArray(s.M) ? (s.M as readonly number[]) : [s.M as number];
  check(
    Ms.length === 1,
    fn,
    `${arg}.M`,
    "one filter side (a layer stacks filters of one side; the filters of a larger side already span a smaller side's, zero-padded)",
    s.M,
  );
  const M = Ms[0]!;
  check(Number.isInteger(M) && M >= 1, fn, `${arg}.M`, 'an integer >= 1', M);
  let ks: number[] | null = null;
  if (s.ks !== undefined && s.ks !== null) {
    check(
      Array.isArray(s.ks) && s.ks.length > 0 && s.ks.every((k) => Number.isInteger(k) && k >= 0),
      fn,
      `${arg}.ks`,
      'a non-empty list of integers >= 0',
      s.ks,
    );
    ks = sortedUnique(s.ks);
  }
  const parities = s.parities ?? [0, 1];
  check(
    Array.isArray(parities) && parities.length > 0 && parities.every((p) => p === 0 || p === 1),
    fn,
    `${arg}.parities`,
    'a non-empty list of 0 and/or 1',
    parities,
  );
  const scale = s.scale ?? 'normalize';
  check(scale === 'normalize' || scale === 'one', fn, `${arg}.scale`, '"normalize" or "one"', scale);
  return Object.freeze({ M, ks: ks && Object.freeze(ks), parities: Object.freeze(sortedUnique(parities)), scale });
}

/** Whether a resolved spec includes filter key (k, parity). */
export function specIncludes(spec: ResolvedFilterSpec, k: number, parity: number): boolean {
  return (spec.ks === null || spec.ks.includes(k)) && spec.parities.includes(parity);
}

/** A resolved spec as JSON (for configs): only the fields that differ from the defaults besides M. */
export function filterSpecJson(spec: ResolvedFilterSpec): { M: number; ks?: number[]; parities?: number[]; scale?: FilterScale } {
  return {
    M: spec.M,
    ...(spec.ks ? { ks: [...spec.ks] } : {}),
    ...(spec.parities.length === 2 ? {} : { parities: [...spec.parities] }),
    ...(spec.scale === 'normalize' ? {} : { scale: spec.scale }),
  };
}

/**
 * ginjax's `get_invariant_filters_list`: the FilterSets for every side in `Ms`, order in `ks` and
 * parity in `parities`, in that nesting (M outer, then k, then parity), empty sets included — so
 * several sides are allowed here (ginjax's dictionary), unlike in a layer.
 * @example
 * const bank = invariantFilterBank(2, { Ms: [3, 5], ks: [0, 1] }); // 8 FilterSets: M outer, then k, then parity
 */
export function invariantFilterBank(
  D: number,
  spec: { readonly Ms: readonly number[]; readonly ks: readonly number[]; readonly parities?: readonly number[]; readonly scale?: FilterScale },
  operators?: readonly OperatorLike[],
): FilterSet[] {
  const fn = 'invariantFilterBank';
  check(typeof spec === 'object' && spec !== null, fn, 'spec', '{ Ms, ks, parities?, scale? }', spec);
  check(Array.isArray(spec.Ms) && spec.Ms.length > 0, fn, 'spec.Ms', 'a non-empty list of sides', spec.Ms);
  check(Array.isArray(spec.ks) && spec.ks.length > 0, fn, 'spec.ks', 'a non-empty list of tensor orders', spec.ks);
  const parities = spec.parities ?? [0, 1];
  check(Array.isArray(parities) && parities.length > 0, fn, 'spec.parities', 'a non-empty list of 0 and/or 1', parities);
  const G = resolveOperators(fn, operators, D);
  const out: FilterSet[] = [];
  for (const M of spec.Ms)
    for (const k of spec.ks) for (const p of parities) out.push(invariantFilters(D, M, k, p, { scale: spec.scale ?? 'normalize', operators: G }));
  return out;
}
