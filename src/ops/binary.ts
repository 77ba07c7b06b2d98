/** Elementwise binary primitives with NumPy broadcasting: y = f(a, b). Defined in ./arith.ts (see there why). */
export { binaryDef, BINARY_OPS, binary, add, sub, mul, div, maximum, minimum, scale, addScalar, sumTo, broadcastTo } from './arith.js';
