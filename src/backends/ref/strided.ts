/** ref: the strided copy (src/ops/op.ts), point by point in row-major order over `extents`. */
import type { Kernel } from '../../ops/op.js';

export const strided: Kernel<'strided', Float64Array> = (out, [x], { extents, srcOffset, srcStrides, dstOffset, dstStrides }) => {
  out.fill(0);
  const r = extents.length;
  if (extents.some((e) => e === 0)) return;
  const i = new Array<number>(r).fill(0);
  for (;;) {
    let s = srcOffset;
    let d = dstOffset;
    for (let a = 0; a < r; a++) {
      s += i[a]! * srcStrides[a]!;
      d += i[a]! * dstStrides[a]!;
    }
    out[d] = out[d]! + x![s]!;
    let a = r - 1;
    for (; a >= 0; a--) {
      if (++i[a]! < extents[a]!) break;
      i[a] = 0;
    }
    if (a < 0) return;
  }
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { strided };
