/** ref: comparator max pooling and its adjoint. */
import { sizeOf, type Shape } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';

/**
 * Calls visit(outPixel, channel, argmaxInPixel) for every window and channel. The argmax follows
 * jnp.argmax: NaN counts as the largest value, so the first NaN of a window wins; without a NaN, the
 * first maximum (later pixels move it only when strictly greater).
 */
function forEachWindow(x: Shape, c: Float64Array, patch: number, tensorSize: number, visit: (o: number, ch: number, i: number) => void): void {
  const D = x.length - 2;
  const spatial = x.slice(1, 1 + D);
  const pooled = spatial.map((n) => n / patch);
  const channels = x.at(-1)! / tensorSize;
  const nOut = sizeOf(pooled);
  const nWin = patch ** D;
  for (let b = 0; b < x[0]!; b++) {
    for (let o = 0; o < nOut; o++) {
      for (let ch = 0; ch < channels; ch++) {
        let best = -Infinity;
        let arg = -1;
        for (let w = 0; w < nWin; w++) {
          let ip = 0;
          for (let d = 0, ro = o, rw = w, div = nOut, wdiv = nWin; d < D; d++) {
            div /= pooled[d]!;
            wdiv /= patch;
            const od = Math.floor(ro / div);
            ro %= div;
            const wd = Math.floor(rw / wdiv);
            rw %= wdiv;
            ip = ip * spatial[d]! + od * patch + wd;
          }
          const v = c[(b * sizeOf(spatial) + ip) * channels + ch]!;
          if (arg < 0 || v > best || (v !== v && best === best)) {
            best = v;
            arg = ip;
          }
        }
        visit(b * nOut + o, ch, b * sizeOf(spatial) + arg);
      }
    }
  }
}

export const argmaxPool: Kernel<'argmaxPool', Float64Array> = (y, [x, c], { patch, tensorSize }, shapes) => {
  const C = shapes.inputs[0]!.at(-1)!;
  forEachWindow(shapes.inputs[0]!, c!, patch, tensorSize, (o, ch, i) => {
    for (let t = 0; t < tensorSize; t++) y[o * C + ch * tensorSize + t] = x![i * C + ch * tensorSize + t]!;
  });
};

export const argmaxPoolGrad: Kernel<'argmaxPoolGrad', Float64Array> = (dx, [dy, c], { patch, tensorSize, inputShape }) => {
  const C = inputShape.at(-1)!;
  dx.fill(0);
  forEachWindow(inputShape, c!, patch, tensorSize, (o, ch, i) => {
    for (let t = 0; t < tensorSize; t++) dx[i * C + ch * tensorSize + t]! += dy![o * C + ch * tensorSize + t]!;
  });
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { argmaxPool, argmaxPoolGrad };
