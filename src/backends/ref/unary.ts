/** ref: elementwise unary ops, in float64. */
import type { Kernel, UnaryOp } from '../../ops/op.js';

const GELU_C = Math.sqrt(2 / Math.PI);

/** The scalar definition of every unary op (the spec the other backends follow). */
export const UNARY: Record<UnaryOp, (x: number) => number> = {
  neg: (x) => -x,
  abs: Math.abs,
  // NaN propagates through sign and relu (jnp.sign, jax.nn.relu): a diverging model must show it.
  // step, relu's derivative mask, is 0 at NaN like JAX's relu gradient where(x > 0, g, 0).
  sign: (x) => (x > 0 ? 1 : x < 0 ? -1 : x === 0 ? 0 : x),
  square: (x) => x * x,
  sqrt: Math.sqrt,
  recip: (x) => 1 / x,
  exp: Math.exp,
  log: Math.log,
  relu: (x) => (x > 0 || x !== x ? x : 0),
  step: (x) => (x > 0 ? 1 : 0),
  tanh: Math.tanh,
  sigmoid: (x) => 1 / (1 + Math.exp(-x)),
  gelu: (x) => 0.5 * x * (1 + Math.tanh(GELU_C * (x + 0.044715 * x * x * x))),
  geluGrad: (x) => {
    const t = Math.tanh(GELU_C * (x + 0.044715 * x * x * x));
    return 0.5 * (1 + t) + 0.5 * x * (1 - t * t) * GELU_C * (1 + 3 * 0.044715 * x * x);
  },
};

export const unary: Kernel<'unary', Float64Array> = (out, [x], { op }) => {
  const f = UNARY[op];
  for (let i = 0; i < out.length; i++) out[i] = f(x![i]!);
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { unary };
