/** ref: batched matmul with broadcast batch axes, float64 accumulation. */
import { broadcastStrides, sizeOf, stridesOf } from '../../core/shape.js';
import { matmulDims } from '../../core/kernel-geometry.js';
import type { Kernel } from '../../ops/op.js';

export const matmul: Kernel<'matmul', Float64Array> = (out, [a, b], { transA, transB }, shapes) => {
  const [as, bs] = shapes.inputs as [number[], number[]];
  const { m, k, n } = matmulDims(as, bs, transA, transB);
  const batch = shapes.out.slice(0, -2);
  const sa = broadcastStrides(as.slice(0, -2), batch);
  const sb = broadcastStrides(bs.slice(0, -2), batch);
  const so = stridesOf(batch);
  for (let bi = 0; bi < sizeOf(batch); bi++) {
    let oa = 0;
    let ob = 0;
    so.forEach((s, d) => {
      const c = Math.floor(bi / s) % batch[d]!;
      oa += c * sa[d]! * m * k;
      ob += c * sb[d]! * k * n;
    });
    for (let i = 0; i < m; i++) {
      for (let j = 0; j < n; j++) {
        let acc = 0;
        for (let p = 0; p < k; p++) {
          acc += a![oa + (transA ? p * m + i : i * k + p)]! * b![ob + (transB ? j * k + p : p * n + j)]!;
        }
        out[bi * m * n + i * n + j] = acc;
      }
    }
  }
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { matmul };
