/**
 * The hyperoctahedral group B_D (signed permutation matrices) and its action on geometric images,
 * in ginjax's conventions (inventory §1.1, §1.5, §2.3–§2.5).
 *
 * Every element is a signed permutation: row i of g has its single nonzero entry, ±1, in column
 * `seq[i]`. We keep that sparse form next to the dense matrix, because it turns the group action on
 * an image into an exact signed gather (no float arithmetic, no rounding) and makes composition and
 * lookup O(D).
 */
import { argError, check, checkInt, show } from '../core/errors.js';

/**
 * An element of the hyperoctahedral group B_D (a signed permutation matrix), identified by (D, index) in `operators(D)`. Get one by name with `groupElement`.
 * @example
 * const r = groupElement(2, 'rot90'); // r.matrix = [0, -1, 1, 0], r.det = 1
 */
export interface GroupElement {
  readonly D: number;
  /** Position in `operators(D)`; an element is identified by (D, index). */
  readonly index: number;
  /** Row-major D×D, entries -1/0/1. */
  readonly matrix: readonly number[];
  readonly det: 1 | -1;
}

/**
 * The action of one element on one image shape, as a signed gather over the row-major flattened
 * data of shape `spatial + (D,)*k`: `out[i] = sign[i] * in[index[i]]`. Results are cached and shared:
 * treat them as read-only.
 */
export interface ActionMap {
  readonly outSpatial: number[];
  readonly index: Int32Array;
  readonly sign: Int8Array;
}

/** 2^D·D! grows fast; 6 (46080 elements) is the largest size ginjax tests. */
const MAX_D = 6;

/** Sparse form of an element: row i has `signs[i]` in column `cols[i]`. */
interface Signed {
  readonly cols: readonly number[];
  readonly signs: readonly number[];
}

const operatorCache = new Map<number, readonly GroupElement[]>();
const signedCache = new Map<number, readonly Signed[]>();

function checkD(fn: string, D: unknown): asserts D is number {
  check(Number.isInteger(D) && (D as number) >= 1, fn, 'D', 'a positive integer', D);
  check((D as number) <= MAX_D, fn, 'D', `at most ${MAX_D} (the group has 2^D·D! elements)`, D);
}

/** Permutations of 0..D-1 in lexicographic order, as itertools.permutations(range(D)) yields them. */
function permutations(D: number): number[][] {
  const out: number[][] = [];
  const used = new Array<boolean>(D).fill(false);
  const cur: number[] = [];
  const rec = (): void => {
    if (cur.length === D) {
      out.push(cur.slice());
      return;
    }
    for (let v = 0; v < D; v++) {
      if (used[v]) continue;
      used[v] = true;
      cur.push(v);
      rec();
      cur.pop();
      used[v] = false;
    }
  };
  rec();
  return out;
}

/** Parity (+1/-1) of a permutation of 0..n-1 given without repeats, by counting cycles. */
function cycleParity(p: readonly number[]): 1 | -1 {
  const n = p.length;
  const seen = new Uint8Array(n);
  let cycles = 0;
  for (let j = 0; j < n; j++) {
    if (seen[j]) continue;
    cycles++;
    for (let i = j; !seen[i]; i = p[i]!) seen[i] = 1;
  }
  return (n - cycles) % 2 === 0 ? 1 : -1;
}

/**
 * B_D in ginjax's order (inventory §2.3): permutations outer (lexicographic), sign tuples of
 * itertools.product([1,-1], repeat=D) inner (first entry slowest), matrix P @ diag(s) with
 * P[i, seq[i]] = 1. The identity is index 0. Cached per D; the array and its elements are frozen.
 * @example
 * const B2 = operators(2);            // 8 elements, identity first
 * B2.map((g) => elementName(g));      // ['identity', 'flipY', 'flipX', 'rot180', …]
 */
export function operators(D: number): readonly GroupElement[] {
  checkD('operators', D);
  const hit = operatorCache.get(D);
  if (hit) return hit;
  const elements: GroupElement[] = [];
  const signed: Signed[] = [];
  for (const seq of permutations(D)) {
    const permParity = cycleParity(seq);
    for (let t = 0; t < 1 << D; t++) {
      // bit (D-1-j) of t set <=> s[j] = -1, so s[0] varies slowest as in itertools.product
      const s = Array.from({ length: D }, (_, j) => ((t >> (D - 1 - j)) & 1 ? -1 : 1));
      const matrix = new Array<number>(D * D).fill(0);
      const signs: number[] = [];
      let det = permParity as number;
      for (let i = 0; i < D; i++) {
        const c = seq[i]!;
        matrix[i * D + c] = s[c]!; // column c of P scaled by s[c]
        signs.push(s[c]!);
        det *= s[c]!;
      }
      elements.push(Object.freeze({ D, index: elements.length, matrix: Object.freeze(matrix), det: det as 1 | -1 }));
      signed.push(Object.freeze({ cols: Object.freeze(seq.slice()), signs: Object.freeze(signs) }));
    }
  }
  const frozen = Object.freeze(elements);
  operatorCache.set(D, frozen);
  signedCache.set(D, Object.freeze(signed));
  return frozen;
}

/**
 * Validates `g` as an element of some B_D (a GroupElement, or a name: see `groupElement`) and
 * returns the canonical (cached) one with its sparse form. A name whose D is ambiguous (flipX
 * exists for D = 2 and 3) takes `D` from the context.
 */
function resolve(fn: string, arg: string, g: unknown, D?: number): [GroupElement, Signed] {
  if (typeof g === 'string') {
    const dims = D === undefined ? namedDims(g) : [D];
    if (dims.length !== 1) {
      argError(
        fn,
        arg,
        dims.length === 0 ? nameHelp(undefined) : `a group element; the name names one in D = ${dims.join(' and ')}: use groupElement(D, ${show(g)})`,
        g,
      );
    }
    const i = nameIndex(dims[0]!, g);
    if (i < 0) argError(fn, arg, `${nameHelp(dims[0])} with D = ${dims[0]} entries`, g);
    return [operators(dims[0]!)[i]!, signedCache.get(dims[0]!)![i]!];
  }
  const el = g as Partial<GroupElement> | null;
  if (typeof el !== 'object' || el === null) argError(fn, arg, 'a group element from operators(D), or its name (groupElement)', g);
  const d = el.D;
  check(Number.isInteger(d) && (d as number) >= 1 && (d as number) <= MAX_D, fn, `${arg}.D`, `an integer in [1, ${MAX_D}]`, d);
  const ops = operators(d as number);
  const i = el.index;
  check(Number.isInteger(i) && (i as number) >= 0 && (i as number) < ops.length, fn, `${arg}.index`, `an integer in [0, ${ops.length})`, i);
  return [ops[i as number]!, signedCache.get(d as number)![i as number]!];
}

/** The D a group-element argument carries (an element object), else undefined. */
const elementDim = (g: unknown): number | undefined =>
  typeof g === 'object' && g !== null && Number.isInteger((g as GroupElement).D) ? (g as GroupElement).D : undefined;

/**
 * Resolves a group-element argument (an element or its name) in dimension `D`, checking that an
 * element object has that D. For callers that know D: image methods, layers.
 */
export function toElement(fn: string, arg: string, g: GroupElement | string, D: number): GroupElement {
  const [el] = resolve(fn, arg, g, typeof g === 'string' ? D : undefined);
  check(el.D === D, fn, `${arg} D`, `${D}`, el.D);
  return el;
}

/** Index in operators(D) of the signed permutation with row i = signs[i] at column cols[i]. */
function lookup(D: number, cols: readonly number[], signs: readonly number[]): number {
  // lexicographic rank of the permutation
  let rank = 0;
  let fact = 1;
  for (let i = D - 1; i >= 0; i--) {
    let smaller = 0;
    for (let j = i + 1; j < D; j++) if (cols[j]! < cols[i]!) smaller++;
    rank += smaller * fact;
    fact *= D - i;
  }
  // sign tuple: s[cols[i]] = signs[i]; s[0] is the most significant bit
  let t = 0;
  for (let i = 0; i < D; i++) if (signs[i]! < 0) t |= 1 << (D - 1 - cols[i]!);
  return rank * (1 << D) + t;
}

/**
 * The product a·b (matrix product; act with b first, then a).
 * @example
 * compose('rot90', 'rot90') === groupElement(2, 'rot180'); // true
 */
export function compose(a: GroupElement | string, b: GroupElement | string): GroupElement {
  const D0 = elementDim(a) ?? elementDim(b);
  const [ea, sa] = resolve('compose', 'a', a, typeof a === 'string' ? D0 : undefined);
  const [eb, sb] = resolve('compose', 'b', b, typeof b === 'string' ? (D0 ?? ea.D) : undefined);
  check(ea.D === eb.D, 'compose', 'b.D', `equal to a.D = ${ea.D}`, eb.D);
  const D = ea.D;
  // (ab)[i][.]: a routes row i to column l = a.cols[i], b routes row l to b.cols[l]
  const cols = sa.cols.map((l) => sb.cols[l]!);
  const signs = sa.cols.map((l, i) => sa.signs[i]! * sb.signs[l]!);
  return operators(D)[lookup(D, cols, signs)]!;
}

/**
 * g⁻¹ = gᵀ (every element is orthogonal).
 * @example
 * inverse('rot90') === groupElement(2, 'rot270'); // true
 */
export function inverse(g: GroupElement | string): GroupElement {
  const [el, s] = resolve('inverse', 'g', g);
  const D = el.D;
  const cols = new Array<number>(D);
  const signs = new Array<number>(D);
  for (let i = 0; i < D; i++) {
    cols[s.cols[i]!] = i;
    signs[s.cols[i]!] = s.signs[i]!;
  }
  return operators(D)[lookup(D, cols, signs)]!;
}

/** Axis letters of the signed-permutation spelling: x, y, z up to D = 3, else x0, x1, …. */
function axisNames(D: number): string[] {
  return D <= 3 ? ['x', 'y', 'z'].slice(0, D) : Array.from({ length: D }, (_, i) => `x${i}`);
}

/**
 * Friendly names per D, as the coordinates each element sends (x, y, z) to; axis 0 is x, and in
 * plots x points right and y up, so rot90 turns a picture counter-clockwise.
 */
const FRIENDLY: Readonly<Record<number, readonly (readonly [string, string])[]>> = {
  2: [
    ['identity', '(x,y)'],
    ['rot90', '(-y,x)'],
    ['rot180', '(-x,-y)'],
    ['rot270', '(y,-x)'],
    ['flipX', '(-x,y)'],
    ['flipY', '(x,-y)'],
    ['transpose', '(y,x)'],
    ['antiTranspose', '(-y,-x)'],
  ],
  3: [
    ['identity', '(x,y,z)'],
    ['inversion', '(-x,-y,-z)'],
    ['flipX', '(-x,y,z)'],
    ['flipY', '(x,-y,z)'],
    ['flipZ', '(x,y,-z)'],
    // right-handed rotations by +90° about an axis: rotX90 sends y to z, rotY90 z to x, rotZ90 x to y
    ['rotX90', '(x,-z,y)'],
    ['rotX180', '(x,-y,-z)'],
    ['rotX270', '(x,z,-y)'],
    ['rotY90', '(z,y,-x)'],
    ['rotY180', '(-x,y,-z)'],
    ['rotY270', '(-z,y,x)'],
    ['rotZ90', '(-y,x,z)'],
    ['rotZ180', '(-x,-y,z)'],
    ['rotZ270', '(y,-x,z)'],
  ],
};
/** Other accepted spellings of the friendly names (lower case). */
const ALIASES: Readonly<Record<string, string>> = { flipdiagonal: 'transpose', flipantidiagonal: 'antitranspose', id: 'identity', e: 'identity' };

/** The signed-permutation spelling of an element: the image of the coordinates, e.g. "(-y,x)". */
function spelling(el: GroupElement): string {
  const names = axisNames(el.D);
  const parts: string[] = [];
  for (let i = 0; i < el.D; i++) {
    const row = el.matrix.slice(i * el.D, (i + 1) * el.D);
    const c = row.findIndex((v) => v !== 0);
    parts.push(`${row[c]! < 0 ? '-' : ''}${names[c]!}`);
  }
  return `(${parts.join(',')})`;
}

/** Index of a signed-permutation spelling "(-y,x)" (parentheses and spaces optional) in operators(D), or -1. */
function parseSpelling(D: number, text: string): number {
  const body = text.replace(/\s+/g, '').replace(/^\((.*)\)$/, '$1');
  const parts = body.split(',');
  if (parts.length !== D) return -1;
  const names = axisNames(D);
  const cols: number[] = [];
  const signs: number[] = [];
  for (const part of parts) {
    const m = /^([+-]?)(.+)$/.exec(part);
    const c = m ? names.indexOf(m[2]!.toLowerCase()) : -1;
    if (c < 0) return -1;
    cols.push(c);
    signs.push(m![1] === '-' ? -1 : 1);
  }
  return new Set(cols).size === D ? lookup(D, cols, signs) : -1;
}

/** The dimensions in which `name` names an element (friendly names, aliases, spellings). */
function namedDims(name: string): number[] {
  const lower = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  const dims: number[] = [];
  for (let D = 1; D <= MAX_D; D++) {
    const friendly = (FRIENDLY[D] ?? []).some(([n]) => n.toLowerCase() === lower) || lower === 'identity';
    if (friendly || parseSpelling(D, name) >= 0) dims.push(D);
  }
  return dims;
}

/** Index in operators(D) of a name, or -1. */
function nameIndex(D: number, name: string): number {
  const lower = ALIASES[name.toLowerCase()] ?? name.toLowerCase();
  if (lower === 'identity') return 0;
  const hit = (FRIENDLY[D] ?? []).find(([n]) => n.toLowerCase() === lower);
  return hit ? parseSpelling(D, hit[1]) : parseSpelling(D, name);
}

/** What a name may be, for error messages. */
function nameHelp(D: number | undefined): string {
  const friendly = D === undefined ? [...FRIENDLY[2]!, ...FRIENDLY[3]!.slice(1)] : (FRIENDLY[D] ?? [['identity', '']]);
  const example = D === undefined || D === 2 ? '"(-y,x)"' : D === 3 ? '"(-y,z,x)"' : `"(${axisNames(D).reverse().join(',')})"`;
  return `an element name (${[...new Set(friendly.map(([n]) => n))].join(', ')}) or a signed-permutation spelling such as ${example}`;
}

/**
 * The element of B_D called `name`: a friendly name (D = 2: identity, rot90, rot180, rot270, flipX,
 * flipY, transpose, antiTranspose; D = 3: identity, inversion, flipX/Y/Z, rotX90 … rotZ270 about
 * each axis), or, for every element of any D, its signed-permutation spelling: where it sends the
 * coordinates, "(-y,x)" for rot90 (x, y, z; x0, x1, … above D = 3). Case-insensitive. `elementName`
 * is the inverse. Axis 0 is x; plots draw x to the right and y up, so rot90 turns a picture
 * counter-clockwise.
 * @example
 * const r = groupElement(2, 'rot90');          // operators(2)[5], the matrix [[0,-1],[1,0]]
 * groupElement(3, '(-y,x,z)') === groupElement(3, 'rotZ90'); // true
 */
export function groupElement(D: number, name: string): GroupElement {
  checkD('groupElement', D);
  check(typeof name === 'string', 'groupElement', 'name', nameHelp(D), name);
  const i = nameIndex(D, name);
  if (i < 0) argError('groupElement', 'name', `${nameHelp(D)} with D = ${D} entries`, name);
  return operators(D)[i]!;
}

/**
 * The name of an element: its friendly name where it has one (see `groupElement`: "rot90",
 * "flipX", "rotZ270", …), else its signed-permutation spelling such as "(-y,z,x)". `groupElement`
 * reads either back.
 * @example
 * operators(2).map(elementName); // ['identity', 'flipY', 'flipX', 'rot180', 'transpose', 'rot90', 'rot270', 'antiTranspose']
 */
export function elementName(g: GroupElement | string): string {
  const [el] = resolve('elementName', 'g', g);
  const s = spelling(el);
  return (FRIENDLY[el.D] ?? []).find(([, sp]) => sp === s)?.[0] ?? (el.index === 0 ? 'identity' : s);
}

/**
 * The matrix as nested rows, e.g. "[[0,-1],[1,0]]" (ginjax identifies operators by matrix).
 * @example
 * elementMatrix(groupElement(2, 'rot90')); // '[[0,-1],[1,0]]'
 */
export function elementMatrix(g: GroupElement | string): string {
  const [el] = resolve('elementMatrix', 'g', g);
  const rows: string[] = [];
  for (let i = 0; i < el.D; i++) rows.push(el.matrix.slice(i * el.D, (i + 1) * el.D).join(','));
  return `[[${rows.join('],[')}]]`;
}

// Bounded so that long runs over many image shapes cannot grow memory without limit; oldest out first.
const ACTION_CACHE_LIMIT = 4096;
const actionCache = new Map<string, ActionMap>();

/**
 * The action of g on a geometric image of spatial shape `spatial` (any sizes, non-square and even
 * allowed), tensor order k and parity p (inventory §2.4):
 *   (g·A)(x') = det(g)^p ρ_k(g) A(rint(gᵀ(x' − c') + c)),  N' = |g N|, c' = (N' − 1)/2, c = (N − 1)/2.
 * For a signed permutation the source coordinate is exactly x[seq[i]] = x'_i or N[seq[i]] − 1 − x'_i,
 * and each output tensor component is ± one input component, so the whole action is a signed gather.
 * @example
 * const { outSpatial, index, sign } = actionMap(groupElement(2, 'rot90'), [3, 3], 1, 0);
 * // out[i] = sign[i] * in[index[i]] over the flat [3, 3, 2] data
 */
export function actionMap(g: GroupElement, spatial: readonly number[], k: number, parity: number): ActionMap {
  const fn = 'actionMap';
  const [el, s] = resolve(fn, 'g', g);
  const D = el.D;
  check(
    Array.isArray(spatial) && spatial.length === D && spatial.every((n) => Number.isInteger(n) && n >= 1),
    fn,
    'spatial',
    `an array of ${D} positive integers`,
    spatial,
  );
  checkInt(fn, 'k', k, 0);
  check(Number.isInteger(parity), fn, 'parity', 'an integer', parity);
  const p = ((parity % 2) + 2) % 2;
  const key = `${D}|${el.index}|${spatial.join(',')}|${k}|${p}`;
  const hit = actionCache.get(key);
  if (hit) return hit;

  // Tensor part: output component (a_1..a_k) reads input component (seq[a_1]..seq[a_k]).
  let tIdx = new Int32Array([0]);
  let tSgn = new Int8Array([p === 1 ? el.det : 1]); // det(g)^p folded in once
  for (let level = 0; level < k; level++) {
    const nIdx = new Int32Array(tIdx.length * D);
    const nSgn = new Int8Array(tIdx.length * D);
    for (let q = 0; q < tIdx.length; q++) {
      for (let a = 0; a < D; a++) {
        nIdx[q * D + a] = tIdx[q]! * D + s.cols[a]!;
        nSgn[q * D + a] = tSgn[q]! * s.signs[a]!;
      }
    }
    tIdx = nIdx;
    tSgn = nSgn;
  }
  const T = tIdx.length;

  // Spatial part: output axis i has size N[seq[i]] and walks input axis seq[i], reversed if the sign is -1.
  const inStrides = new Array<number>(D);
  let stride = 1;
  for (let d = D - 1; d >= 0; d--) {
    inStrides[d] = stride;
    stride *= spatial[d]!;
  }
  const outSpatial = s.cols.map((c) => spatial[c]!);
  let pix = new Int32Array([0]);
  for (let i = 0; i < D; i++) {
    const c = s.cols[i]!;
    const n = spatial[c]!;
    const st = inStrides[c]!;
    const next = new Int32Array(pix.length * n);
    for (let q = 0; q < pix.length; q++) {
      for (let v = 0; v < n; v++) next[q * n + v] = pix[q]! + (s.signs[i]! > 0 ? v : n - 1 - v) * st;
    }
    pix = next;
  }

  const total = pix.length * T;
  const index = new Int32Array(total);
  const sign = new Int8Array(total);
  for (let q = 0, o = 0; q < pix.length; q++) {
    const base = pix[q]! * T;
    for (let t = 0; t < T; t++, o++) {
      index[o] = base + tIdx[t]!;
      sign[o] = tSgn[t]!;
    }
  }
  const result: ActionMap = Object.freeze({ outSpatial: Object.freeze(outSpatial) as number[], index, sign });
  if (actionCache.size >= ACTION_CACHE_LIMIT) actionCache.delete(actionCache.keys().next().value!);
  actionCache.set(key, result);
  return result;
}

/**
 * +1 for an even permutation of 0..n-1, -1 for an odd one, 0 if any entry repeats (inventory §1.1;
 * ginjax counts cycles as SymPy does).
 * @example
 * permutationParity([1, 0, 2]); // -1
 */
export function permutationParity(p: readonly number[]): -1 | 0 | 1 {
  const n = Array.isArray(p) ? p.length : -1;
  check(n >= 0 && p.every((v) => Number.isInteger(v) && v >= 0 && v < n), 'permutationParity', 'p', `an array of integers in [0, length)`, p);
  if (new Set(p).size !== n) return 0;
  return cycleParity(p);
}

const leviCivitaCache = new Map<number, Float32Array>();

/**
 * The Levi-Civita symbol of shape (D,)*D, row-major: entry (i_1..i_D) = permutationParity(i).
 * Cached: the same array is returned on every call, so do not write to it.
 * @example
 * leviCivita(2); // Float32Array [0, 1, -1, 0]
 */
export function leviCivita(D: number): Float32Array {
  check(Number.isInteger(D) && D >= 2 && D <= MAX_D, 'leviCivita', 'D', `an integer in [2, ${MAX_D}]`, D);
  const hit = leviCivitaCache.get(D);
  if (hit) return hit;
  const size = D ** D;
  const out = new Float32Array(size);
  const idx = new Array<number>(D).fill(0);
  for (let flat = 0; flat < size; flat++) {
    out[flat] = permutationParity(idx);
    // row-major odometer: the last index varies fastest
    for (let d = D - 1; d >= 0; d--) {
      if (++idx[d]! < D) break;
      idx[d] = 0;
    }
  }
  leviCivitaCache.set(D, out);
  return out;
}

/**
 * One element of an operator list, in any of the forms ginjax users hold: a `GroupElement`, its
 * index in `operators(D)`, its name (`groupElement`: "rot90", "(-y,x)"), or the D×D signed
 * permutation matrix as rows (ginjax passes NumPy matrices). An index or a friendly name needs D
 * from context; the other forms carry it.
 * @example
 * subgroup(2, 'rotations'); generateGroup(2, ['rot90']); generateGroup(2, [[[0, -1], [1, 0]]]);
 */
export type OperatorLike = GroupElement | number | string | readonly (readonly number[])[];

/** The names `subgroup` knows. */
export type SubgroupName = 'full' | 'trivial' | 'rotations' | 'axis-flips' | 'reflections';

/** Canonical subgroups per key `D|i,j,…` (sorted indices), so equal lists share one frozen array. */
const subgroupCache = new Map<string, readonly GroupElement[]>();
/** Arrays already validated as canonical subgroups (resolveOperators returns them as they are). */
const canonicalLists = new WeakSet<readonly GroupElement[]>();

function canonical(D: number, indices: readonly number[]): readonly GroupElement[] {
  const sorted = [...indices].sort((a, b) => a - b);
  const all = operators(D);
  if (sorted.length === all.length) return all;
  const key = `${D}|${sorted.join(',')}`;
  const hit = subgroupCache.get(key);
  if (hit) return hit;
  const out = Object.freeze(sorted.map((i) => all[i]!));
  subgroupCache.set(key, out);
  canonicalLists.add(out);
  return out;
}

/** D of an element form that carries it (a GroupElement or a matrix), else undefined. */
function dimensionOf(op: unknown): number | undefined {
  if (Array.isArray(op)) return op.length;
  if (typeof op === 'object' && op !== null && 'D' in op) return (op as { D: unknown }).D as number;
  if (typeof op === 'string') {
    const dims = namedDims(op);
    return dims.length === 1 ? dims[0] : undefined;
  }
  return undefined;
}

/** The index in operators(D) of one OperatorLike, validated (names the entry in errors). */
function indexOf(fn: string, arg: string, D: number, op: unknown): number {
  const n = operators(D).length;
  if (typeof op === 'number') {
    check(Number.isInteger(op) && op >= 0 && op < n, fn, arg, `an index into operators(${D}), an integer in [0, ${n})`, op);
    return op;
  }
  if (typeof op === 'string') {
    const i = nameIndex(D, op);
    if (i < 0) argError(fn, arg, `${nameHelp(D)} with D = ${D} entries`, op);
    return i;
  }
  if (Array.isArray(op)) {
    const rows = op as unknown[];
    check(rows.length === D && rows.every((r) => Array.isArray(r) && r.length === D), fn, arg, `a ${D}×${D} matrix given as ${D} rows`, rows);
    const cols: number[] = [];
    const signs: number[] = [];
    for (const r of rows as number[][]) {
      const nz = r.flatMap((v, j) => (v === 0 ? [] : [j]));
      check(
        r.every((v) => v === 0 || v === 1 || v === -1) && nz.length === 1,
        fn,
        arg,
        'a signed permutation matrix (entries 0/±1, exactly one nonzero per row and column)',
        rows,
      );
      cols.push(nz[0]!);
      signs.push(r[nz[0]!]!);
    }
    check(new Set(cols).size === D, fn, arg, 'a signed permutation matrix (entries 0/±1, exactly one nonzero per row and column)', rows);
    return lookup(D, cols, signs);
  }
  const [el] = resolve(fn, arg, op);
  check(el.D === D, fn, `${arg}.D`, `${D} (every operator acts in the same dimension)`, el.D);
  return el.index;
}

/**
 * Validates an operator list as a subgroup of B_D and returns it canonically: the elements of
 * `operators(D)` sorted by index, frozen, one shared array per subgroup (the full group is
 * `operators(D)` itself). Every entry must be a signed permutation of dimension D; the list must
 * contain the identity, be closed under composition and have no repeats (a repeated element would
 * weight a group sum or average unevenly). Without `ops` the full group. D may be omitted when the
 * entries carry it (elements or matrices).
 * @example
 * resolveOperators('myLayer', ['identity', 'rot180'], 2); // the 2-element subgroup, canonical
 */
export function resolveOperators(fn: string, ops: readonly OperatorLike[] | undefined | null, D?: number, arg = 'operators'): readonly GroupElement[] {
  if (ops === undefined || ops === null) {
    checkD(fn, D);
    return operators(D);
  }
  if (canonicalLists.has(ops as readonly GroupElement[]) || (Array.isArray(ops) && ops.length > 0 && ops === operatorCache.get(dimensionOf(ops[0]) ?? -1))) {
    const d = (ops[0] as GroupElement).D;
    check(D === undefined || D === d, fn, arg, `a subgroup of B_${D}`, `a subgroup of B_${d}`);
    return ops as readonly GroupElement[];
  }
  check(
    Array.isArray(ops) && ops.length > 0,
    fn,
    arg,
    'a non-empty list of group elements (GroupElement, index into operators(D), or signed permutation matrix)',
    ops,
  );
  const dim = D ?? dimensionOf(ops[0]);
  check(dim !== undefined, fn, 'D', 'given when the operators are plain indices or names such as "identity" that exist in several dimensions', D);
  check(Number.isInteger(dim) && (dim as number) >= 1 && (dim as number) <= MAX_D, fn, `${arg}[0]`, `an operator of dimension 1..${MAX_D}`, dim);
  const d = dim as number;
  const idx = ops.map((op, i) => {
    const di = dimensionOf(op);
    check(di === undefined || di === d, fn, `${arg}[${i}]`, `an operator of dimension D = ${d}`, di);
    return indexOf(fn, `${arg}[${i}]`, d, op);
  });
  const seen = new Set<number>();
  idx.forEach((v, i) => {
    check(!seen.has(v), fn, `${arg}[${i}]`, 'distinct from the earlier entries (a group lists each element once)', elementMatrix(operators(d)[v]!));
    seen.add(v);
  });
  check(
    seen.has(0),
    fn,
    arg,
    'a group: it must contain the identity',
    idx.map((v) => elementMatrix(operators(d)[v]!)),
  );
  const all = operators(d);
  for (const a of idx) {
    for (const b of idx) {
      const ab = compose(all[a]!, all[b]!);
      if (!seen.has(ab.index)) {
        argError(
          fn,
          arg,
          `a group, closed under composition: ${elementMatrix(all[a]!)}·${elementMatrix(all[b]!)} = ${elementMatrix(ab)} is missing (the closure is subgroup(D, ...) or generateGroup(...))`,
          idx.map((v) => elementMatrix(all[v]!)),
        );
      }
    }
  }
  return canonical(d, idx);
}

/**
 * True when `ops` (a list from resolveOperators) is all of B_D.
 * @example
 * isFullGroup(operators(3)); // true
 */
export function isFullGroup(ops: readonly GroupElement[]): boolean {
  return ops.length > 0 && ops.length === operators(ops[0]!.D).length;
}

/**
 * The smallest subgroup of B_D containing `generators` (any OperatorLike forms), canonical as in
 * `resolveOperators`. E.g. generateGroup(2, [[[0, -1], [1, 0]]]) is the four rotations.
 * @example
 * generateGroup(2, ['rot90']).length;           // 4: the rotations
 * generateGroup(3, ['rotX90', 'rotY90']).length; // 24: the rotations of the cube
 */
export function generateGroup(D: number, generators: readonly OperatorLike[]): readonly GroupElement[] {
  const fn = 'generateGroup';
  checkD(fn, D);
  check(Array.isArray(generators), fn, 'generators', 'a list of group elements', generators);
  const all = operators(D);
  const gens = generators.map((g, i) => {
    const di = dimensionOf(g);
    check(di === undefined || di === D, fn, `generators[${i}]`, `an operator of dimension D = ${D}`, di);
    return all[indexOf(fn, `generators[${i}]`, D, g)]!;
  });
  const found = new Set<number>([0]);
  const queue = [0];
  while (queue.length > 0) {
    const h = all[queue.pop()!]!;
    for (const g of gens) {
      const gh = compose(g, h);
      if (!found.has(gh.index)) {
        found.add(gh.index);
        queue.push(gh.index);
      }
    }
  }
  return canonical(D, [...found]);
}

/**
 * Named subgroups of B_D, as sorted element lists (every one contains the identity):
 *  - 'full': all 2^D·D! signed permutations (`operators(D)`);
 *  - 'trivial': the identity alone (filters are then every standard basis element: no symmetry);
 *  - 'rotations': the elements of determinant +1 (2^(D−1)·D!): the four 90° rotations for D = 2,
 *    the 24 rotations of the cube for D = 3;
 *  - 'axis-flips': the 2^D diagonal ±1 matrices, flipping any set of axes (ginjax's make_C2_group;
 *    for D = 2: identity, y → −y, x → −x and the 180° rotation). This is the symmetry of a
 *    non-square or latitude–longitude grid, where 90° rotations would mix unlike axes;
 *  - 'reflections': the identity and the one reflection x_axis → −x_axis (order 2, no rotation).
 *    On the shallow-water layout (axis 0 longitude, axis 1 latitude) axis 1 is the equator flip,
 *    axis 0 the east–west flip.
 * @example
 * const G = subgroup(2, 'axis-flips'); // identity, flipX, flipY, rot180
 * const layer = new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[0, 0], 4]], M: 3, operators: G }, random.key(0));
 */
export function subgroup(D: number, name: SubgroupName, axis = 0): readonly GroupElement[] {
  const fn = 'subgroup';
  checkD(fn, D);
  const all = operators(D);
  switch (name) {
    case 'full':
      return all;
    case 'trivial':
      return canonical(D, [0]);
    case 'rotations':
      return canonical(
        D,
        all.filter((g) => g.det === 1).map((g) => g.index),
      );
    case 'axis-flips':
      // identity permutation (rank 0): indices 0..2^D−1, one per sign tuple, in ginjax's order
      return canonical(
        D,
        Array.from({ length: 1 << D }, (_, t) => t),
      );
    case 'reflections': {
      check(Number.isInteger(axis) && axis >= 0 && axis < D, fn, 'axis', `an integer in [0, ${D})`, axis);
      const signs = Array.from({ length: D }, (_, i) => (i === axis ? -1 : 1));
      return canonical(D, [
        0,
        lookup(
          D,
          Array.from({ length: D }, (_, i) => i),
          signs,
        ),
      ]);
    }
    default:
      return argError(fn, 'name', '"full", "trivial", "rotations", "axis-flips" or "reflections"', name);
  }
}
