/**
 * Losses between MultiImages (ginjax ml/losses.py), composed from primitives so they differentiate
 * and run on every backend. Blocks are paired BY KEY: y must have exactly x's signature (same keys,
 * same channel counts), which is checked (ginjax pairs blocks by dict position and its assert
 * compares x with itself, so y is never checked — neither is reproduced). Since both packed
 * layouts follow the canonical key order, equal signatures mean column-for-column pairing.
 */
import { argError, check, show } from '../core/errors.js';
import { sameShape, sizeOf } from '../core/shape.js';
import { MultiImage } from '../geometric/multi-image.js';
import { blockOffsets, signatureToString } from '../geometric/signature.js';
import { add, addScalar, binary, div, mul, scale, sub } from '../ops/binary.js';
import { max, mean, sum } from '../ops/reduce.js';
import { slice } from '../ops/gather.js';
import { square } from '../ops/unary.js';
import { Tensor, tidy } from '../tensor.js';

function checkPair(fn: string, x: MultiImage, y: MultiImage, sameSignature = true): void {
  check(x instanceof MultiImage, fn, 'x', 'a MultiImage', x);
  check(y instanceof MultiImage, fn, 'y', 'a MultiImage', y);
  check(y.D === x.D, fn, 'y.D', `x.D = ${x.D}`, y.D);
  check(y.batch === x.batch, fn, 'y batch', `x's batch ${x.batch}`, y.batch);
  if (!sameShape(y.spatial, x.spatial)) argError(fn, 'y spatial shape', `x's ${show(x.spatial)}`, y.spatial);
  if (sameSignature && signatureToString(y.signature) !== signatureToString(x.signature)) {
    argError(fn, "y's signature", `x's signature ${signatureToString(x.signature)} (blocks are paired by key)`, signatureToString(y.signature));
  }
}

/**
 * Mean of (a − b)² over every entry (Tensors, or the packed data of two MultiImages of equal signature).
 * @example
 * const a = tensor([1, 2, 3]);
 * const b = tensor([1, 2, 5]);
 * await mse(a, b).values(); // Float32Array [1.333…] (shape [])
 */
export function mse(a: Tensor | MultiImage, b: Tensor | MultiImage): Tensor {
  if (a instanceof MultiImage || b instanceof MultiImage) {
    checkPair('mse', a as MultiImage, b as MultiImage);
    return mse((a as MultiImage).data, (b as MultiImage).data);
  }
  check(a instanceof Tensor && b instanceof Tensor, 'mse', 'arguments', 'two Tensors or two MultiImages', [a, b]);
  if (!sameShape(a.shape, b.shape)) argError('mse', 'b shape', `a's shape ${show(a.shape)}`, b.shape);
  return tidy(() => mean(square(sub(a, b))));
}

const spatialAxes = (D: number) => Array.from({ length: D }, (_, i) => i + 1);

/**
 * ginjax smse_loss: per batch element Σ_keys Σ_(channels, spatial, tensor) (x − y)² / Π spatial;
 * 'mean' gives the batch mean (a scalar, shape []), null the vector [batch].
 * @example
 * const loss = smseLoss(model.apply(params, x), y);       // scalar: the batch mean
 * const perSample = smseLoss(model.apply(params, x), y, null); // [batch]
 */
export function smseLoss(x: MultiImage, y: MultiImage, reduce: 'mean' | null = 'mean'): Tensor {
  checkPair('smseLoss', x, y);
  check(reduce === 'mean' || reduce === null, 'smseLoss', 'reduce', '"mean" or null', reduce);
  return tidy(() => {
    const per = scale(sum(square(sub(x.data, y.data)), [...spatialAxes(x.D), x.D + 1]), 1 / sizeOf(x.spatial));
    return reduce === 'mean' ? mean(per) : per;
  });
}

/**
 * ginjax timestep_smse_loss: every key's channels are (c, nSteps) channel-major (c·nSteps + t);
 * loss[b, t] = Σ_keys Σ_(c, spatial, tensor) (x − y)² / Π spatial. 'mean': the batch mean [nSteps];
 * 'max': the row [nSteps] of the batch element with the largest total (rows that tie are averaged);
 * null: [batch, nSteps].
 * @example
 * // y: 5 rollout steps per channel (c·5 + t); loss per step, batch mean
 * const perStep = timestepSmseLoss(autoregressiveMap(model, params, x, { futureSteps: 5 }), y, 5); // [5]
 */
export function timestepSmseLoss(x: MultiImage, y: MultiImage, nSteps: number, reduce: 'mean' | 'max' | null = 'mean'): Tensor {
  checkPair('timestepSmseLoss', x, y);
  check(Number.isInteger(nSteps) && nSteps >= 1, 'timestepSmseLoss', 'nSteps', 'an integer >= 1', nSteps);
  check(reduce === 'mean' || reduce === 'max' || reduce === null, 'timestepSmseLoss', 'reduce', '"mean", "max" or null', reduce);
  for (const e of x.signature) {
    if (e.channels % nSteps !== 0) argError('timestepSmseLoss', `channels of key (${e.k},${e.parity})`, `a multiple of nSteps = ${nSteps}`, e.channels);
  }
  const D = x.D;
  const B = x.batch;
  return tidy(() => {
    const sq = square(sub(x.data, y.data));
    const offsets = blockOffsets(x.signature, D);
    let loss: Tensor | null = null;
    x.signature.forEach((e, i) => {
      const T = D ** e.k;
      const block = x.signature.length === 1 ? sq : slice(sq, D + 1, offsets[i]!, e.channels * T);
      const r = block.reshape([B, ...x.spatial, e.channels / nSteps, nSteps, T]);
      const part = sum(r, [...spatialAxes(D), D + 1, D + 3]);
      loss = loss ? add(loss, part) : part;
    });
    const perStep = scale(loss!, 1 / sizeOf(x.spatial)); // [B, nSteps]
    if (reduce === null) return perStep;
    if (reduce === 'mean') return mean(perStep, [0]);
    const totals = sum(perStep, [1]);
    const mask = binary('eq', totals, max(totals).reshape([1])).reshape([B, 1]);
    return div(sum(mul(perStep, mask), [0]), sum(mask).reshape([1]));
  });
}

/**
 * ginjax normalized_smse_loss: per key of y, (x − y)² / (‖y‖²_pixel + eps) with ‖y‖ the Frobenius
 * norm of each (batch, channel, pixel) tensor; summed over the non-batch axes, divided by Π spatial,
 * summed over the keys; the batch mean (or the vector [batch] with reduce null). x must hold every
 * key of y with the same channel count (extra keys of x are ignored, as ginjax indexes by y's keys).
 * @example
 * const relative = normalizedSmseLoss(model.apply(params, x), y); // error relative to |y|²
 */
export function normalizedSmseLoss(x: MultiImage, y: MultiImage, eps = 1e-5, reduce: 'mean' | null = 'mean'): Tensor {
  checkPair('normalizedSmseLoss', x, y, false);
  check(reduce === 'mean' || reduce === null, 'normalizedSmseLoss', 'reduce', '"mean" or null', reduce);
  for (const e of y.signature) {
    if (!x.has(e.k, e.parity) || x.channels(e.k, e.parity) !== e.channels) {
      argError(
        'normalizedSmseLoss',
        `x's key (${e.k},${e.parity})`,
        `present with y's ${e.channels} channels (x: ${signatureToString(x.signature)})`,
        signatureToString(y.signature),
      );
    }
  }
  const D = x.D;
  const B = x.batch;
  return tidy(() => {
    let total: Tensor | null = null;
    for (const e of y.signature) {
      const T = D ** e.k;
      const shape = [B, ...y.spatial, e.channels, T];
      const yb = y.packedBlock(e.k, e.parity).reshape(shape);
      const xb = x.packedBlock(e.k, e.parity).reshape(shape);
      const norm2 = sum(square(yb), [D + 2]).reshape([B, ...y.spatial, e.channels, 1]);
      const ratio = div(square(sub(xb, yb)), addScalar(norm2, eps));
      const part = sum(ratio, [...spatialAxes(D), D + 1, D + 2]);
      total = total ? add(total, part) : part;
    }
    const per = scale(total!, 1 / sizeOf(y.spatial));
    return reduce === 'mean' ? mean(per) : per;
  });
}
