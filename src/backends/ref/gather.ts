/** ref: gather and its adjoint scatterAdd. */
import type { Kernel } from '../../ops/op.js';

export const gather: Kernel<'gather', Float64Array> = (out, [x], { index }) => {
  for (let i = 0; i < out.length; i++) out[i] = index[i]! < 0 ? 0 : x![index[i]!]!;
};

export const scatterAdd: Kernel<'scatterAdd', Float64Array> = (out, [x], { index }) => {
  out.fill(0);
  for (let i = 0; i < index.length; i++) if (index[i]! >= 0) out[index[i]!] += x![i]!;
};
