/**
 * The arithmetic primitives: elementwise binary ops with NumPy broadcasting (y = f(a, b)),
 * elementwise unary ops (y = f(x)), and reductions (sum, max) over a set of axes. They share one
 * module because their gradient rules call one another (a broadcast sum's rule multiplies, a
 * product's rule sums the broadcast axes away, −x appears in both directions): split into
 * modules, they would import each other in a loop. ops/binary.ts, ops/unary.ts and ops/reduce.ts
 * name each family's public functions.
 */
import { run } from '../engine.js';
import { check } from '../core/errors.js';
import { broadcastShapes, normAxis, sameShape, type Shape } from '../core/shape.js';
import { scalar, type Tensor } from '../tensor.js';
import { broadcastTo } from './strided.js';
import type { BinaryOp, OpDef, ReduceOp, UnaryOp } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /** y = f(x), elementwise. */
    unary: { readonly op: UnaryOp };
    /** y = f(a, b) with NumPy broadcasting. */
    binary: { readonly op: BinaryOp };
    /** Reduction over `axes` (dropped from the output shape). */
    reduce: { readonly op: ReduceOp; readonly axes: readonly number[] };
  }
}

// ---- binary: y = f(a, b) with NumPy broadcasting ----

export const binaryDef: OpDef<'binary'> = {
  name: 'binary',
  outShape([a, b], { op }) {
    check(BINARY_OPS.includes(op), 'binary', 'op', `one of ${BINARY_OPS.join(', ')}`, op);
    return broadcastShapes(op, a!, b!);
  },
  vjp(dy, [a, b], y, { op }, [needA, needB]) {
    // Each side's cotangent is built only when asked for (a constant operand, such as the number in
    // `scale`, gets none), then summed down to its shape where it was broadcast.
    const both = (da: () => Tensor, db: () => Tensor) => [needA ? sumTo(da(), a!.shape) : null, needB ? sumTo(db(), b!.shape) : null];
    switch (op) {
      case 'add':
        return both(
          () => dy,
          () => dy,
        );
      case 'sub':
        return both(
          () => dy,
          () => neg(dy),
        );
      case 'mul':
        return both(
          () => mul(dy, b!),
          () => mul(dy, a!),
        );
      case 'div':
        return both(
          () => div(dy, b!),
          () => neg(div(mul(dy, y), b!)),
        );
      case 'max':
      case 'min': {
        const toA = op === 'max' ? binary('ge', a!, b!) : binary('ge', b!, a!); // ties go to a
        const dA = mul(dy, toA);
        return both(
          () => dA,
          () => sub(dy, dA),
        );
      }
      case 'ge':
      case 'eq':
        return [null, null];
    }
  },
  reads({ op }, [needA, needB]) {
    switch (op) {
      case 'add':
      case 'sub':
      case 'ge':
      case 'eq':
        return [false, false, false];
      case 'mul':
        return [!!needB, !!needA, false];
      case 'div':
        return [false, true, !!needB];
      case 'max':
      case 'min':
        return [true, true, false];
    }
  },
};

export const BINARY_OPS: readonly BinaryOp[] = ['add', 'sub', 'mul', 'div', 'max', 'min', 'ge', 'eq'];

/**
 * Applies a binary primitive by name, broadcasting numpy style.
 * @example
 * binary('max', tensor([1, 5]), tensor([3], [1])); // [3, 5]
 */
export function binary(op: BinaryOp, a: Tensor, b: Tensor): Tensor {
  return run(binaryDef, [a, b], { op });
}

/**
 * a + b (broadcasting).
 * @example
 * add(tensor([1, 2]), tensor([10], [1])); // [11, 12]
 */
export const add = (a: Tensor, b: Tensor) => binary('add', a, b);
/**
 * a − b (broadcasting).
 * @example
 * sub(tensor([3]), tensor([1])); // [2]
 */
export const sub = (a: Tensor, b: Tensor) => binary('sub', a, b);
/**
 * a · b elementwise (broadcasting).
 * @example
 * mul(tensor([2, 3]), tensor([4, 5])); // [8, 15]
 */
export const mul = (a: Tensor, b: Tensor) => binary('mul', a, b);
/**
 * a / b elementwise (broadcasting).
 * @example
 * div(tensor([1]), tensor([4])); // [0.25]
 */
export const div = (a: Tensor, b: Tensor) => binary('div', a, b);
/**
 * Elementwise maximum (broadcasting).
 * @example
 * maximum(tensor([1, 5]), tensor([3, 3])); // [3, 5]
 */
export const maximum = (a: Tensor, b: Tensor) => binary('max', a, b);
/**
 * Elementwise minimum (broadcasting).
 * @example
 * minimum(tensor([1, 5]), tensor([3, 3])); // [1, 3]
 */
export const minimum = (a: Tensor, b: Tensor) => binary('min', a, b);

/**
 * x * s for a number s.
 * @example
 * scale(tensor([1, 2]), 3); // [3, 6]
 */
export function scale(x: Tensor, s: number): Tensor {
  const c = scalar(s, x.backend);
  const y = mul(x, c);
  c.dispose();
  return y;
}

/**
 * x + s for a number s.
 * @example
 * addScalar(tensor([1, 2]), 0.5); // [1.5, 2.5]
 */
export function addScalar(x: Tensor, s: number): Tensor {
  const c = scalar(s, x.backend);
  const y = add(x, c);
  c.dispose();
  return y;
}

/**
 * Sums a broadcast result back down to `shape` (the adjoint of broadcasting).
 * @example
 * sumTo(tensor([1, 2, 3, 4, 5, 6], [2, 3]), [1, 3]); // [[5, 7, 9]]: the gradient of a broadcast from [1, 3]
 */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const off = x.shape.length - shape.length;
  const axes = x.shape.map((_, i) => i).filter((i) => i < off || (shape[i - off] === 1 && x.shape[i] !== 1));
  const r = reduce('sum', x, axes);
  const out = r.reshape(shape);
  r.dispose();
  return out;
}

// broadcastTo is a strided copy (ops/strided.ts); named here with the other broadcasting helpers.
export { broadcastTo };

// ---- unary: y = f(x) ----

export const unaryDef: OpDef<'unary'> = {
  name: 'unary',
  outShape([x], { op }) {
    check(UNARY_OPS.includes(op), 'unary', 'op', `one of ${UNARY_OPS.join(', ')}`, op);
    return x!;
  },
  vjp(dy, [x], y, { op }, [need]) {
    if (!need) return [null];
    const d = (t: Tensor) => [mul(dy, t)];
    switch (op) {
      case 'neg':
        return [neg(dy)];
      case 'abs':
        return d(sign(x!));
      case 'square':
        return [mul(dy, scale(x!, 2))];
      case 'sqrt':
        return [div(dy, scale(y, 2))];
      case 'recip':
        return [neg(mul(dy, square(y)))];
      case 'exp':
        return d(y);
      case 'log':
        return [div(dy, x!)];
      case 'relu':
        return d(step(x!));
      case 'tanh':
        return d(addScalar(neg(square(y)), 1));
      case 'sigmoid':
        return d(sub(y, square(y)));
      case 'gelu':
        return d(unary('geluGrad', x!));
      case 'geluGrad':
        return d(geluSecond(x!));
      case 'sign':
      case 'step':
        return [null];
    }
  },
  reads({ op }) {
    switch (op) {
      case 'neg':
      case 'sign':
      case 'step':
        return [false, false];
      case 'sqrt':
      case 'recip':
      case 'exp':
      case 'tanh':
      case 'sigmoid':
        return [false, true];
      default:
        return [true, false];
    }
  },
};

export const UNARY_OPS: readonly UnaryOp[] = [
  'neg',
  'abs',
  'sign',
  'square',
  'sqrt',
  'recip',
  'exp',
  'log',
  'relu',
  'step',
  'tanh',
  'sigmoid',
  'gelu',
  'geluGrad',
];

const GELU_C = Math.sqrt(2 / Math.PI);
const GELU_A = 0.044715;

/**
 * gelu''(x) for the tanh form, composed from ops: with u = c(x + a x³), t = tanh u, u' = c(1 + 3a x²),
 * gelu'' = (1 − t²)(u' − x t u'² + 3 a c x²).
 */
function geluSecond(x: Tensor): Tensor {
  const x2 = square(x);
  const t = tanh(scale(mul(x, addScalar(scale(x2, GELU_A), 1)), GELU_C));
  const du = scale(addScalar(scale(x2, 3 * GELU_A), 1), GELU_C);
  const inner = add(sub(du, mul(mul(x, t), square(du))), scale(x2, 3 * GELU_A * GELU_C));
  return mul(addScalar(neg(square(t)), 1), inner);
}

/**
 * Applies a pointwise primitive by name.
 * @example
 * const y = unary('exp', tensor([0, 1])); // [1, 2.718…]
 */
export function unary(op: UnaryOp, x: Tensor): Tensor {
  return run(unaryDef, [x], { op });
}

/**
 * −x.
 * @example
 * neg(tensor([1, -2])); // [-1, 2]
 */
export const neg = (x: Tensor) => unary('neg', x);
/**
 * |x|.
 * @example
 * abs(tensor([-3])); // [3]
 */
export const abs = (x: Tensor) => unary('abs', x);
/**
 * The sign (−1, 0, 1; NaN stays NaN, as jnp.sign).
 * @example
 * sign(tensor([-2, 0, 5])); // [-1, 0, 1]
 */
export const sign = (x: Tensor) => unary('sign', x);
/**
 * x².
 * @example
 * square(tensor([3])); // [9]
 */
export const square = (x: Tensor) => unary('square', x);
/**
 * √x.
 * @example
 * sqrt(tensor([4])); // [2]
 */
export const sqrt = (x: Tensor) => unary('sqrt', x);
/**
 * 1/x.
 * @example
 * recip(tensor([4])); // [0.25]
 */
export const recip = (x: Tensor) => unary('recip', x);
/**
 * eˣ.
 * @example
 * exp(tensor([0])); // [1]
 */
export const exp = (x: Tensor) => unary('exp', x);
/**
 * Natural logarithm.
 * @example
 * log(tensor([1])); // [0]
 */
export const log = (x: Tensor) => unary('log', x);
/**
 * max(x, 0) (NaN stays NaN, as jax.nn.relu).
 * @example
 * relu(tensor([-1, 2])); // [0, 2]
 */
export const relu = (x: Tensor) => unary('relu', x);
/**
 * 1 where x > 0, else 0.
 * @example
 * step(tensor([-1, 0, 2])); // [0, 0, 1]
 */
export const step = (x: Tensor) => unary('step', x);
/**
 * Hyperbolic tangent.
 * @example
 * tanh(tensor([0])); // [0]
 */
export const tanh = (x: Tensor) => unary('tanh', x);
/**
 * 1 / (1 + e⁻ˣ).
 * @example
 * sigmoid(tensor([0])); // [0.5]
 */
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/**
 * GELU, tanh approximation (jax.nn.gelu's default, which ginjax uses).
 * @example
 * gelu(tensor([-1, 0, 1])); // ≈ [-0.159, 0, 0.841]
 */
export const gelu = (x: Tensor) => unary('gelu', x);

// ---- reduce: sum or max over a set of axes, which are dropped from the shape ----

export const reduceDef: OpDef<'reduce'> = {
  name: 'reduce',
  outShape([x], { op, axes }) {
    check(op === 'sum' || op === 'max', `reduce(${op})`, 'op', 'one of sum, max', op);
    check(
      new Set(axes).size === axes.length && axes.every((a) => Number.isInteger(a) && a >= 0 && a < x!.length),
      `reduce(${op})`,
      'axes',
      `distinct axes in [0, ${x!.length})`,
      axes,
    );
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

/**
 * Sum over `axes` (all axes by default).
 * @example
 * sum(tensor([1, 2, 3, 4], [2, 2]));      // shape [], 10
 * sum(tensor([1, 2, 3, 4], [2, 2]), [0]); // [4, 6]
 */
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
  const m = scale(s, 1 / n);
  s.dispose();
  return m;
}
