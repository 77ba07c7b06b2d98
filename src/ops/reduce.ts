/** Reductions (sum, max) over a set of axes, which are dropped from the shape. Defined in ./arith.ts (see there why). */
export { reduceDef, reduce, sum, max, mean } from './arith.js';
