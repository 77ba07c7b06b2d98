/**
 * Argmax pooling: in each non-overlapping patch^D window, the whole tensor (T values) of the pixel
 * where a comparator is largest (the first such pixel in row-major window order) is copied. With the
 * pixel norm as comparator this is ginjax's equivariant max-norm pool, which the geometric images
 * offer as `maxPool(patch, useNorm)` (geometric.maxPool / packedMaxPool on raw data). As in JAX
 * (jnp.argmax), NaN counts as the largest comparator value: the first NaN of a window wins, so a
 * NaN in the comparator (a NaN norm from any NaN component) is passed on, never hidden.
 */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import type { Shape } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import type { OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /** x[B, ...spatial, C*T], comparator c[B, ...spatial, C] -> the whole T-vector at the first
     * argmax of c in each non-overlapping patch^D window. */
    argmaxPool: { readonly patch: number; readonly tensorSize: number };
    /** dy[B, ...spatial/patch, C*T], comparator -> dx routed to each window's argmax. */
    argmaxPoolGrad: { readonly patch: number; readonly tensorSize: number; readonly inputShape: Shape };
  }
}

/** x[B, ...spatial, C*T], comparator[B, ...spatial, C] -> pooled shape. */
function pooledShape(op: string, x: Shape, c: Shape, patch: number, tensorSize: number): Shape {
  check(Number.isInteger(patch) && patch >= 1, op, 'patch', 'an integer >= 1', patch);
  check(Number.isInteger(tensorSize) && tensorSize >= 1, op, 'tensorSize', 'an integer >= 1', tensorSize);
  check(x.length >= 3, op, 'input shape', '[batch, ...spatial, channels]', x);
  const channels = x.at(-1)! / tensorSize;
  if (!Number.isInteger(channels)) argError(op, 'channels of x', `divisible by tensorSize ${tensorSize}`, x.at(-1));
  const expected = [...x.slice(0, -1), channels];
  if (!Number.isInteger(channels) || c.length !== x.length || c.some((d, i) => d !== expected[i])) {
    argError(op, 'comparator shape', show(expected), c);
  }
  return x.map((d, i) => {
    if (i === 0 || i === x.length - 1) return d;
    if (d % patch !== 0) argError(op, `spatial size on axis ${i - 1}`, `divisible by the patch ${patch}`, d);
    return d / patch;
  });
}

export const argmaxPoolDef: OpDef<'argmaxPool'> = {
  name: 'argmaxPool',
  outShape: ([x, c], { patch, tensorSize }) => pooledShape('argmaxPool', x!, c!, patch, tensorSize),
  vjp: (dy, [x, c], _y, { patch, tensorSize }, [nx]) => [nx ? argmaxPoolGrad(dy, c!, patch, tensorSize, x!.shape) : null, null],
  reads: (_a, [nx]) => [false, !!nx, false],
};

export const argmaxPoolGradDef: OpDef<'argmaxPoolGrad'> = {
  name: 'argmaxPoolGrad',
  outShape([dy, c], { patch, tensorSize, inputShape }) {
    const pooled = pooledShape('argmaxPoolGrad', inputShape, c!, patch, tensorSize);
    check(dy!.length === pooled.length && dy!.every((d, i) => d === pooled[i]), 'argmaxPoolGrad', 'dy shape', show(pooled), dy);
    return inputShape;
  },
  vjp: (g, [, c], _y, { patch, tensorSize }, [ndy]) => [ndy ? argmaxPool(g, c!, patch, tensorSize) : null, null],
  reads: (_a, [ndy]) => [false, !!ndy, false],
};

/**
 * Argmax pooling: per patch×…×patch window and channel, the `tensorSize` components of `x` at the window's largest comparator value (a pixel norm, say); the first NaN wins. The geometric images' `maxPool` is built on it.
 * @example
 * const pooled = argmaxPool(x, norms, 2, 2); // vectors in 2-D, pooled by their norms
 */
export function argmaxPool(x: Tensor, comparator: Tensor, patch: number, tensorSize: number): Tensor {
  return run(argmaxPoolDef, [x, comparator], { patch, tensorSize });
}

/**
 * The gradient of `argmaxPool`: `dy` routed back to each window's winner.
 * @example
 * const dx = argmaxPoolGrad(dy, norms, 2, 2, x.shape);
 */
export function argmaxPoolGrad(dy: Tensor, comparator: Tensor, patch: number, tensorSize: number, inputShape: Shape): Tensor {
  return run(argmaxPoolGradDef, [dy, comparator], { patch, tensorSize, inputShape });
}
