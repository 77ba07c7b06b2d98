/**
 * wasm `reduce` (sum, max over any set of axes): `reducePlan` turns the shape and axes into at most
 * a few contiguous passes of assembly/kernels/reduce.ts.
 *
 * Plan: size-1 axes are dropped and neighbouring axes merged when both are reduced or both kept, so
 * the shape alternates kept/reduced groups. Each reduced group is then removed by one pass,
 * innermost first: a group with nothing kept after it is `reduceInner` (contiguous rows:
 * out[o] = op x[o, 0..n)), one with kept axes of total size m after it is `reduceMiddle`
 * (out[o, j] = op_i x[o, i, j], SIMD across j). Passes before the last write a temporary from the
 * heap (freed at once); each pass shrinks the data by its group's size. No reduced axis (or only
 * size-1 ones) is a copy; an empty input gives 0 (sum) or −∞ (max) everywhere, as ref.
 *
 * Accuracy: max is exact. Sums accumulate in float32 in a blocked pairwise order (see the kernel's
 * header), so |sum − exact| ≤ depth · 2^-24 · Σ|x|, with depth ≤ 40 + ⌈log2 n⌉ per pass — about
 * 60 for a million terms, where a sequential float32 sum would allow a million.
 *
 * Parameter blocks reduceInner (outer, n) and reduceMiddle (outer, r, m, scratch) of
 * src/backends/kernelParams.ts; scratch: 2 KiB of heap owned by this kernel (recursion).
 */
import { sizeOf, type Shape } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import { opCode, type KernelExports } from './loader.js';
import type { WasmHeap } from './memory.js';
import type { ParamWriter } from './params.js';
import { writeReduceInner, writeReduceMiddle } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

/** One pass: `inner` reduces contiguous rows of n; `middle` reduces the r axis of [outer, r, m]. */
export type ReducePass =
  | { readonly kind: 'inner'; readonly outer: number; readonly n: number }
  | { readonly kind: 'middle'; readonly outer: number; readonly r: number; readonly m: number };

export type ReducePlan =
  | { readonly kind: 'empty' } // the output has no elements
  | { readonly kind: 'fill'; readonly n: number } // the input has none: the identity everywhere
  | { readonly kind: 'copy'; readonly n: number } // nothing (of size > 1) is reduced
  | { readonly kind: 'passes'; readonly passes: readonly ReducePass[] };

/** Scratch bytes reduceMiddle's pairwise recursion may use (≤ 27 levels of 64 bytes for r < 2^31). */
export const REDUCE_SCRATCH_BYTES = 2048;

export function reducePlan(shape: Shape, axes: readonly number[]): ReducePlan {
  const outSize = sizeOf(shape.filter((_, i) => !axes.includes(i)));
  if (outSize === 0) return { kind: 'empty' };
  const n = sizeOf(shape);
  if (n === 0) return { kind: 'fill', n: outSize };
  const groups: { size: number; reduced: boolean }[] = [];
  shape.forEach((d, i) => {
    if (d === 1) return;
    const reduced = axes.includes(i);
    const last = groups[groups.length - 1];
    if (last && last.reduced === reduced) last.size *= d;
    else groups.push({ size: d, reduced });
  });
  const passes: ReducePass[] = [];
  for (let g = groups.length - 1; g >= 0; g--) {
    if (!groups[g]!.reduced) continue;
    const outer = sizeOf(groups.slice(0, g).map((x) => x.size));
    const m = sizeOf(groups.slice(g + 1).map((x) => x.size)); // kept only: later groups are already gone
    const r = groups[g]!.size;
    passes.push(m === 1 ? { kind: 'inner', outer, n: r } : { kind: 'middle', outer, r, m });
    groups.splice(g, 1);
  }
  return passes.length === 0 ? { kind: 'copy', n } : { kind: 'passes', passes };
}

export function createReduce(ex: KernelExports, heap: WasmHeap, params: ParamWriter): Kernel<'reduce', number> {
  const code = { sum: opCode(ex, 'REDUCE', 'sum'), max: opCode(ex, 'REDUCE', 'max') };
  const scratch = heap.alloc(REDUCE_SCRATCH_BYTES); // lives as long as the backend
  return (out, [x], { op, axes }, shapes) => {
    const plan = reducePlan(shapes.inputs[0]!, axes);
    switch (plan.kind) {
      case 'empty':
        return;
      case 'fill':
        heap.f32().fill(op === 'sum' ? 0 : -Infinity, out >>> 2, (out >>> 2) + plan.n);
        return;
      case 'copy':
        heap.f32().copyWithin(out >>> 2, x! >>> 2, (x! >>> 2) + plan.n);
        return;
    }
    let src = x!;
    let tmp = -1;
    try {
      plan.passes.forEach((pass, i) => {
        const last = i === plan.passes.length - 1;
        const outLen = pass.kind === 'inner' ? pass.outer : pass.outer * pass.m;
        const dst = last ? out : heap.alloc(4 * outLen);
        if (pass.kind === 'inner') ex.reduceInner(code[op], src, dst, params.write(writeReduceInner({ outer: pass.outer, n: pass.n })));
        else ex.reduceMiddle(code[op], src, dst, params.write(writeReduceMiddle({ outer: pass.outer, r: pass.r, m: pass.m, scratch })));
        if (tmp >= 0) heap.free(tmp);
        tmp = last ? -1 : dst;
        src = dst;
      });
    } finally {
      if (tmp >= 0) heap.free(tmp);
    }
  };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, heap, params }: WasmKernelContext): { reduce: Kernel<'reduce', number> } {
  return { reduce: createReduce(ex, heap, params) };
}
