/** ref: sum / max over axes, in float64. */
import { stridesOf } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';

export const reduce: Kernel<'reduce', Float64Array> = (out, [x], { op, axes }, shapes) => {
  const inShape = shapes.inputs[0]!;
  const si = stridesOf(inShape);
  const kept = inShape.map((_, i) => i).filter((i) => !axes.includes(i));
  const so = stridesOf(kept.map((i) => inShape[i]!));
  out.fill(op === 'sum' ? 0 : -Infinity);
  for (let i = 0; i < x!.length; i++) {
    let o = 0;
    kept.forEach((d, j) => (o += (Math.floor(i / si[d]!) % inShape[d]!) * so[j]!));
    out[o] = op === 'sum' ? out[o]! + x![i]! : Math.max(out[o]!, x![i]!);
  }
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { reduce };
