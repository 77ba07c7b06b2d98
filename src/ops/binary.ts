/** Elementwise binary primitives with NumPy broadcasting: y = f(a, b). */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { broadcastShapes, broadcastStrides, sameShape, sizeOf, stridesOf, type Shape } from '../core/shape.js';
import { scalar, type Tensor } from '../tensor.js';
import { gather, memoIndex } from './gather.js';
import type { BinaryOp, OpDef } from './op.js';
import { reduce } from './reduce.js';
import { neg } from './unary.js';

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
      case 'add': return both(() => dy, () => dy);
      case 'sub': return both(() => dy, () => neg(dy));
      case 'mul': return both(() => mul(dy, b!), () => mul(dy, a!));
      case 'div': return both(() => div(dy, b!), () => neg(div(mul(dy, y), b!)));
      case 'max': case 'min': {
        const toA = op === 'max' ? binary('ge', a!, b!) : binary('ge', b!, a!); // ties go to a
        const dA = mul(dy, toA);
        return both(() => dA, () => sub(dy, dA));
      }
      case 'ge': case 'eq': return [null, null];
    }
  },
  reads({ op }, [needA, needB]) {
    switch (op) {
      case 'add': case 'sub': case 'ge': case 'eq': return [false, false, false];
      case 'mul': return [!!needB, !!needA, false];
      case 'div': return [false, true, !!needB];
      case 'max': case 'min': return [true, true, false];
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

/** x * s for a number s. */
export function scale(x: Tensor, s: number): Tensor {
  const c = scalar(s, x.backend);
  const y = mul(x, c);
  c.dispose();
  return y;
}

/** x + s for a number s. */
export function addScalar(x: Tensor, s: number): Tensor {
  const c = scalar(s, x.backend);
  const y = add(x, c);
  c.dispose();
  return y;
}

/** Sums a broadcast result back down to `shape` (the adjoint of broadcasting). */
export function sumTo(x: Tensor, shape: Shape): Tensor {
  if (sameShape(x.shape, shape)) return x;
  const off = x.shape.length - shape.length;
  const axes = x.shape.map((_, i) => i).filter((i) => i < off || (shape[i - off] === 1 && x.shape[i] !== 1));
  const r = reduce('sum', x, axes);
  const out = r.reshape(shape);
  r.dispose();
  return out;
}

/** Broadcasts x to `shape` (materialised). Leading axes that x already has in full are blocks. */
export function broadcastTo(x: Tensor, shape: Shape): Tensor {
  if (!sameShape(broadcastShapes('broadcastTo', x.shape, shape), shape)) argError('broadcastTo', 'shape', `a shape that ${show(x.shape)} broadcasts to`, shape);
  if (sameShape(x.shape, shape)) return x.reshape(shape);
  let lead = 0;
  if (x.shape.length === shape.length) while (x.shape[lead] === shape[lead]) lead++;
  const from = x.shape.slice(lead);
  const to = shape.slice(lead);
  const index = memoIndex(`broadcast ${from} | ${to}`, () => {
    const src = broadcastStrides(from, to);
    const dst = stridesOf(to);
    const map = new Int32Array(sizeOf(to));
    for (let i = 0; i < map.length; i++) {
      let j = 0;
      for (let d = 0; d < to.length; d++) j += Math.floor(i / dst[d]!) % to[d]! * src[d]!;
      map[i] = j;
    }
    return map;
  });
  return gather(x, shape, index, sizeOf(shape.slice(0, lead)));
}
