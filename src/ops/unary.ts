/** Elementwise unary primitives: y = f(x). */
import { run } from '../engine.js';
import type { Tensor } from '../tensor.js';
import { mul, sub, div, scale, addScalar } from './binary.js';
import type { OpDef, UnaryOp } from './op.js';

export const unaryDef: OpDef<'unary'> = {
  name: 'unary',
  outShape: ([x]) => x!,
  vjp(dy, [x], y, { op }) {
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
      case 'sign': case 'step': case 'geluGrad': return [null];
    }
  },
};

export function unary(op: UnaryOp, x: Tensor): Tensor {
  return run(unaryDef, [x], { op });
}

export const neg = (x: Tensor) => unary('neg', x);
export const abs = (x: Tensor) => unary('abs', x);
export const sign = (x: Tensor) => unary('sign', x);
export const square = (x: Tensor) => unary('square', x);
export const sqrt = (x: Tensor) => unary('sqrt', x);
export const recip = (x: Tensor) => unary('recip', x);
export const exp = (x: Tensor) => unary('exp', x);
export const log = (x: Tensor) => unary('log', x);
export const relu = (x: Tensor) => unary('relu', x);
/** 1 where x > 0, else 0. */
export const step = (x: Tensor) => unary('step', x);
export const tanh = (x: Tensor) => unary('tanh', x);
export const sigmoid = (x: Tensor) => unary('sigmoid', x);
/** GELU, tanh approximation (jax.nn.gelu's default, which ginjax uses). */
export const gelu = (x: Tensor) => unary('gelu', x);
