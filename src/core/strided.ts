/**
 * Geometry of the strided copy (src/ops/strided.ts), shared by the op's validation and the kernels:
 * an iteration space `extents` read through one affine view (srcOffset, srcStrides) of x and
 * written through another (dstOffset, dstStrides) of the output. Plain data, no tensors.
 */

/** One side of a strided copy: element offset and per-axis element strides (>= 0). */
export interface StridedView {
  readonly offset: number;
  readonly strides: readonly number[];
}

/**
 * True when the axes of nonzero stride visit distinct elements, proved by the nesting test: sorted
 * by stride, each stride exceeds the farthest reach of the smaller ones (Σ stride·(extent − 1)).
 * Row-major views, their permutations, sub-boxes and repeats pass; some exotic injective views
 * (strides 2 and 3 over extents 3 and 2) do not, and are refused rather than risked.
 */
export function nestedInjective(extents: readonly number[], strides: readonly number[]): boolean {
  const axes = extents
    .map((e, d) => [e, strides[d]!] as const)
    .filter(([e, s]) => e > 1 && s > 0)
    .sort((a, b) => a[1] - b[1]);
  let reach = 0;
  for (const [e, s] of axes) {
    if (s <= reach) return false;
    reach += s * (e - 1);
  }
  return true;
}

/** The largest element offset a view reaches over `extents` (all extents >= 1). */
export function viewReach(extents: readonly number[], view: StridedView): number {
  return extents.reduce((r, e, d) => r + (e - 1) * view.strides[d]!, view.offset);
}

/**
 * The kernels' form of a strided copy: axes of extent 1 dropped, neighbours merged where both views
 * step over them as over one axis, and the axes the destination repeats (dst stride 0: summed into
 * one output) moved after the others, each group keeping its order. `rank` counts the leading
 * (output-distinct) axes; `outer` is the product of their extents (the outputs written).
 */
export interface StridedPlan {
  readonly extents: number[];
  readonly src: number[];
  readonly dst: number[];
  readonly srcOffset: number;
  readonly dstOffset: number;
  readonly rank: number;
  readonly outer: number;
  /** Iteration points in all (0 for an empty iteration space). */
  readonly count: number;
}

export function planStrided(extents: readonly number[], src: StridedView, dst: StridedView): StridedPlan {
  const count = extents.reduce((p, e) => p * e, 1);
  const axes: { e: number; s: number; t: number }[] = [];
  for (let d = 0; d < extents.length; d++) {
    const e = extents[d]!;
    if (e === 1) continue;
    const prev = axes.at(-1);
    const s = src.strides[d]!;
    const t = dst.strides[d]!;
    // prev (outer) and d (inner) form one axis when stepping prev equals e steps of d in both views.
    if (prev && prev.s === s * e && prev.t === t * e) {
      prev.e *= e;
      prev.s = s;
      prev.t = t;
    } else axes.push({ e, s, t });
  }
  const kept = axes.filter((a) => a.t !== 0);
  const summed = mergeSummed(axes.filter((a) => a.t === 0));
  const all = [...kept, ...summed];
  return {
    extents: all.map((a) => a.e),
    src: all.map((a) => a.s),
    dst: all.map((a) => a.t),
    srcOffset: src.offset,
    dstOffset: dst.offset,
    rank: kept.length,
    outer: kept.reduce((p, a) => p * a.e, 1),
    count,
  };
}

/** Summed axes that became neighbours once the kept axes moved out may merge too. */
function mergeSummed(axes: { e: number; s: number; t: number }[]): { e: number; s: number; t: number }[] {
  const out: { e: number; s: number; t: number }[] = [];
  for (const a of axes) {
    const prev = out.at(-1);
    if (prev && prev.s === a.s * a.e) {
      prev.e *= a.e;
      prev.s = a.s;
    } else out.push({ ...a });
  }
  return out;
}
