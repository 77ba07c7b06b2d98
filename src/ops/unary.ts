/** Elementwise unary primitives: y = f(x). Defined in ./arith.ts (see there why). */
export { unaryDef, UNARY_OPS, unary, neg, abs, sign, square, sqrt, recip, exp, log, relu, step, tanh, sigmoid, gelu } from './arith.js';
