/** geoconv: equivariant geometric convolutions for JavaScript. The public API. */
export { init, getBackend, setBackend, notices, unavailable, type InitOptions, type BackendName, type Backend } from './backends/index.js';
export { Tensor, tensor, zeros, full, scalar, tidy, keep, memory } from './tensor.js';
export * as random from './core/random.js';
export { unary, neg, abs, sign, square, sqrt, recip, exp, log, relu, step, tanh, sigmoid, gelu } from './ops/unary.js';
export { binary, add, sub, mul, div, maximum, minimum, scale, addScalar, broadcastTo, sumTo } from './ops/binary.js';
export { reduce, sum, max, mean } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export { gather, scatterAdd, permute, slice, indexMap } from './ops/gather.js';
export { concat } from './ops/concat.js';
export { conv, convInputGrad, convFilterGrad, convAttrs, type ConvOptions } from './ops/conv.js';
export { maxPool, maxPoolGrad } from './ops/pool.js';
export type { ConvAttrs, OpName, OpAttrs, UnaryOp, BinaryOp, ReduceOp } from './ops/op.js';
export { version } from './version.js';
