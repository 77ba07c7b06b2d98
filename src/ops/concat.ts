/** Concatenation along one axis. */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { normAxis } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import { slice } from './strided.js';
import type { OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /** Concatenation along `axis`. */
    concat: { readonly axis: number };
  }
}

export const concatDef: OpDef<'concat'> = {
  name: 'concat',
  outShape(shapes, { axis }) {
    check(shapes.length >= 1, 'concat', 'tensors', 'a non-empty list', shapes.length);
    const first = shapes[0]!;
    check(Number.isInteger(axis) && axis >= 0 && axis < first.length, 'concat', 'axis', `in [0, ${first.length})`, axis);
    let total = 0;
    shapes.forEach((s, i) => {
      if (s.length !== first.length || s.some((d, j) => j !== axis && d !== first[j])) {
        argError('concat', `tensors[${i}].shape`, `${show(first)} except on axis ${axis}`, s);
      }
      total += s[axis]!;
    });
    return first.map((d, j) => (j === axis ? total : d));
  },
  vjp(dy, inputs, _y, { axis }, needs) {
    let start = 0;
    return inputs.map((t, i) => {
      const g = needs[i] ? slice(dy, axis, start, t.shape[axis]!) : null;
      start += t.shape[axis]!;
      return g;
    });
  },
  reads: (_a, needs) => [...needs, false].map(() => false),
};

/**
 * Joins tensors along `axis` (the other axes equal).
 * @example
 * concat([tensor([1, 2]), tensor([3])], 0); // [1, 2, 3]
 */
export function concat(tensors: readonly Tensor[], axis: number): Tensor {
  const rank = tensors[0]?.shape.length ?? 1;
  return run(concatDef, tensors, { axis: normAxis('concat', axis, rank) });
}
