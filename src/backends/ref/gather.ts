/** ref: gather and its adjoint scatterAdd, block by block (src/ops/op.ts). */
import type { Kernel } from '../../ops/op.js';

export const gather: Kernel<'gather', Float64Array> = (out, [x], { index, blocks }) => {
  const n = index.length;
  const nIn = x!.length / blocks;
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < n; i++) out[b * n + i] = index[i]! < 0 ? 0 : x![b * nIn + index[i]!]!;
  }
};

export const scatterAdd: Kernel<'scatterAdd', Float64Array> = (out, [x], { index, blocks }) => {
  out.fill(0);
  const n = index.length;
  const nOut = out.length / blocks;
  for (let b = 0; b < blocks; b++) {
    for (let i = 0; i < n; i++) if (index[i]! >= 0) out[b * nOut + index[i]!]! += x![b * n + i]!;
  }
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { gather, scatterAdd };
