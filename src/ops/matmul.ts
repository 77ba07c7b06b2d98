/** Batched matrix product a[..., m, k] · b[..., k, n] (either side optionally transposed). */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { matmulDims } from '../core/kernel-geometry.js';
import { broadcastShapes } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import { sumTo } from './binary.js';
import { permute } from './strided.js';
import type { OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /** a[..., m, k] · b[..., k, n] (optionally transposed), batch axes broadcast. */
    matmul: { readonly transA: boolean; readonly transB: boolean };
  }
}

export const matmulDef: OpDef<'matmul'> = {
  name: 'matmul',
  outShape([a, b], { transA, transB }) {
    check(a!.length >= 2, 'matmul', 'a', 'of rank >= 2', a);
    check(b!.length >= 2, 'matmul', 'b', 'of rank >= 2', b);
    const { m, k, bk, n } = matmulDims(a!, b!, transA, transB);
    if (k !== bk) argError('matmul', 'inner dimensions', 'equal', `${show(a)}${transA ? 'ᵀ' : ''} · ${show(b)}${transB ? 'ᵀ' : ''}`);
    return [...broadcastShapes('matmul', a!.slice(0, -2), b!.slice(0, -2)), m, n];
  },
  vjp(dy, [a, b], _y, { transA, transB }, [needA, needB]) {
    // A matrix shared by a whole batch (e.g. a channel-mixing weight) gets its gradient from one
    // product over the batch folded into the inner dimension, not from a per-batch stack summed after.
    // A constant side (a fixed filter basis, an image) gets none.
    const da = !needA
      ? null
      : a!.shape.length === 2 && b!.shape.length > 2
        ? sharedGradient(dy, b!, transB, transA, 'a')
        : batchedGradient(dy, a!, b!, transA, transB, 'a');
    const db = !needB
      ? null
      : b!.shape.length === 2 && a!.shape.length > 2
        ? sharedGradient(dy, a!, transA, transB, 'b')
        : batchedGradient(dy, a!, b!, transA, transB, 'b');
    return [da, db];
  },
  reads: (_a, [needA, needB]) => [!!needB, !!needA, false],
};

/** The cotangent of `which` by the batched rule (summed down to its shape where it was broadcast). */
function batchedGradient(dy: Tensor, a: Tensor, b: Tensor, transA: boolean, transB: boolean, which: 'a' | 'b'): Tensor {
  if (which === 'a') {
    const da = transA ? (transB ? matmul(b, dy, true, true) : matmul(b, dy, false, true)) : matmul(dy, b, false, !transB);
    return sumTo(da, a.shape);
  }
  const db = transB ? (transA ? matmul(dy, a, true, true) : matmul(dy, a, true, false)) : matmul(a, dy, !transA, false);
  return sumTo(db, b.shape);
}

/**
 * The cotangent of the unbatched operand (`which`, 2-D) when the other operand `other` [R..., ·, ·] is
 * batched: Σ_r over the batch as one matrix product with the batch folded into the summed dimension.
 */
function sharedGradient(dy: Tensor, other: Tensor, transOther: boolean, transShared: boolean, which: 'a' | 'b'): Tensor {
  const [p, q] = other.shape.slice(-2) as [number, number];
  const R = other.size / (p * q);
  const [m, n] = dy.shape.slice(-2) as [number, number];
  // op(other)[r] as rows over the folded dimension: for which = 'a' we need [R·n, k], for 'b' [R·m, k].
  const rows = (t: Tensor, transposed: boolean) => (transposed ? t.reshape([R * p, q]) : permute(t.reshape([R, p, q]), [0, 2, 1]).reshape([R * q, p]));
  let g: Tensor;
  if (which === 'a') {
    // d op(a) [m, k] = Σ_r dy[r] · op(b)[r]ᵀ = dy as [m, R·n] · op(b)ᵀ as [R·n, k]
    const dyRows = permute(dy.reshape([R, m, n]), [1, 0, 2]).reshape([m, R * n]);
    g = matmul(dyRows, rows(other, transOther));
  } else {
    // d op(b) [k, n] = Σ_r op(a)[r]ᵀ · dy[r] = op(a) as [R·m, k]ᵀ · dy as [R·m, n]
    g = matmul(rows(other, !transOther), dy.reshape([R * m, n]), true, false);
  }
  return transShared ? permute(g, [1, 0]) : g;
}

/**
 * Matrix product of the last two axes (leading axes batch), optionally transposing either operand.
 * @example
 * matmul(tensor([1, 2, 3, 4], [2, 2]), tensor([1, 0], [2, 1])); // [[1], [3]]
 */
export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  return run(matmulDef, [a, b], { transA, transB });
}
