/** ref: elementwise binary ops with broadcasting, in float64. */
import { broadcastStrides, stridesOf } from '../../core/shape.js';
import type { BinaryOp, Kernel } from '../../ops/op.js';

export const BINARY: Record<BinaryOp, (a: number, b: number) => number> = {
  add: (a, b) => a + b,
  sub: (a, b) => a - b,
  mul: (a, b) => a * b,
  div: (a, b) => a / b,
  max: (a, b) => (a >= b ? a : b),
  min: (a, b) => (a <= b ? a : b),
  ge: (a, b) => (a >= b ? 1 : 0),
  eq: (a, b) => (a === b ? 1 : 0),
};

export const binary: Kernel<'binary', Float64Array> = (out, [a, b], { op }, shapes) => {
  const f = BINARY[op];
  const sa = broadcastStrides(shapes.inputs[0]!, shapes.out);
  const sb = broadcastStrides(shapes.inputs[1]!, shapes.out);
  const so = stridesOf(shapes.out);
  for (let i = 0; i < out.length; i++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0; d < so.length; d++) {
      const c = Math.floor(i / so[d]!) % shapes.out[d]!;
      ia += c * sa[d]!;
      ib += c * sb[d]!;
    }
    out[i] = f(a![ia]!, b![ib]!);
  }
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { binary };
