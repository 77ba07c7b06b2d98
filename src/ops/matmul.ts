/** Batched matrix product a[..., m, k] · b[..., k, n] (either side optionally transposed). */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { broadcastShapes } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import { sumTo } from './binary.js';
import type { OpDef } from './op.js';

/** (rows, inner) of a as used, (inner, cols) of b as used. */
export function matmulDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean) {
  const [am, ak] = transA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [bk, bn] = transB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  return { m: am, k: ak, bk, n: bn };
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
  vjp(dy, [a, b], _y, { transA, transB }) {
    const da = transA ? (transB ? matmul(b!, dy, true, true) : matmul(b!, dy, false, true)) : matmul(dy, b!, false, !transB);
    const db = transB ? (transA ? matmul(dy, a!, true, true) : matmul(dy, a!, true, false)) : matmul(a!, dy, !transA, false);
    return [sumTo(da, a!.shape), sumTo(db, b!.shape)];
  },
};

export function matmul(a: Tensor, b: Tensor, transA = false, transB = false): Tensor {
  return run(matmulDef, [a, b], { transA, transB });
}
