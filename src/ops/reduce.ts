/** Reductions (sum, max) over a set of axes, which are dropped from the shape. */
import { run } from '../engine.js';
import { check } from '../core/errors.js';
import { normAxis } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import { binary, broadcastTo, div, mul, scale as scaleBy } from './binary.js';
import type { OpDef, ReduceOp } from './op.js';

export const reduceDef: OpDef<'reduce'> = {
  name: 'reduce',
  outShape([x], { op, axes }) {
    check(op === 'sum' || op === 'max', `reduce(${op})`, 'op', 'one of sum, max', op);
    check(new Set(axes).size === axes.length && axes.every((a) => Number.isInteger(a) && a >= 0 && a < x!.length),
      `reduce(${op})`, 'axes', `distinct axes in [0, ${x!.length})`, axes);
    return x!.filter((_, i) => !axes.includes(i));
  },
  vjp(dy, [x], y, { op, axes }, [need]) {
    if (!need) return [null];
    const kept = x!.shape.map((d, i) => (axes.includes(i) ? 1 : d));
    const g = broadcastTo(dy.reshape(kept), x!.shape);
    if (op === 'sum') return [g];
    // Ties share the gradient equally.
    const mask = binary('eq', x!, broadcastTo(y.reshape(kept), x!.shape));
    return [div(mul(g, mask), broadcastTo(reduce('sum', mask, axes).reshape(kept), x!.shape))];
  },
  reads: ({ op }) => (op === 'max' ? [true, true] : [false, false]),
};

/**
 * Reduces `axes` away with sum or max.
 * @example
 * reduce('sum', tensor([1, 2, 3, 4], [2, 2]), [1]); // [3, 7]
 */
export function reduce(op: ReduceOp, x: Tensor, axes: readonly number[]): Tensor {
  return run(reduceDef, [x], { op, axes: axes.map((a) => normAxis(`reduce(${op})`, a, x.shape.length)).sort((a, b) => a - b) });
}

/** Sum over `axes` (all axes by default). */
export function sum(x: Tensor, axes: readonly number[] = x.shape.map((_, i) => i)): Tensor {
  return reduce('sum', x, axes);
}

/**
 * The maximum over `axes` (default all).
 * @example
 * max(tensor([1, 7, 3])); // shape [], 7
 */
export function max(x: Tensor, axes: readonly number[] = x.shape.map((_, i) => i)): Tensor {
  return reduce('max', x, axes);
}

/**
 * The mean over `axes` (default all).
 * @example
 * mean(tensor([1, 2, 3, 4], [2, 2]), [0]); // [2, 3]
 */
export function mean(x: Tensor, axes: readonly number[] = x.shape.map((_, i) => i)): Tensor {
  const n = axes.reduce((p, a) => p * x.shape[normAxis('mean', a, x.shape.length)]!, 1);
  const s = sum(x, axes);
  const m = scaleBy(s, 1 / n);
  s.dispose();
  return m;
}
