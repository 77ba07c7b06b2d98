/** Elementwise unary primitives: y = f(x). */
import { run } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { check } from '../core/errors.js';
import { add, mul, sub, div, scale, addScalar } from './binary.js';
import type { OpDef, UnaryOp } from './op.js';

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
      case 'neg': return [neg(dy)];
      case 'abs': return d(sign(x!));
      case 'square': return [mul(dy, scale(x!, 2))];
      case 'sqrt': return [div(dy, scale(y, 2))];
      case 'recip': return [neg(mul(dy, square(y)))];
      case 'exp': return d(y);
      case 'log': return [div(dy, x!)];
      case 'relu': return d(step(x!));
      case 'tanh': return d(addScalar(neg(square(y)), 1));
      case 'sigmoid': return d(sub(y, square(y)));
      case 'gelu': return d(unary('geluGrad', x!));
      case 'geluGrad': return d(geluSecond(x!));
      case 'sign': case 'step': return [null];
    }
  },
  reads({ op }) {
    switch (op) {
      case 'neg': case 'sign': case 'step': return [false, false];
      case 'sqrt': case 'recip': case 'exp': case 'tanh': case 'sigmoid': return [false, true];
      default: return [true, false];
    }
  },
};

export const UNARY_OPS: readonly UnaryOp[] = ['neg', 'abs', 'sign', 'square', 'sqrt', 'recip', 'exp', 'log', 'relu', 'step', 'tanh', 'sigmoid', 'gelu', 'geluGrad'];

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
/** 1 where x > 0, else 0. */
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
/** GELU, tanh approximation (jax.nn.gelu's default, which ginjax uses). */
export const gelu = (x: Tensor) => unary('gelu', x);
