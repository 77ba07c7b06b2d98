/** ref: concatenation along an axis. */
import { sizeOf } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';

export const concat: Kernel<'concat', Float64Array> = (out, inputs, { axis }, shapes) => {
  const outer = sizeOf(shapes.out.slice(0, axis));
  const inner = sizeOf(shapes.out.slice(axis + 1));
  const rowOut = shapes.out[axis]! * inner;
  let offset = 0;
  inputs.forEach((x, t) => {
    const row = shapes.inputs[t]![axis]! * inner;
    for (let o = 0; o < outer; o++) out.set(x.subarray(o * row, (o + 1) * row), o * rowOut + offset);
    offset += row;
  });
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { concat };
