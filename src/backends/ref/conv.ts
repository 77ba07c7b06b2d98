/**
 * ref: the dense convolution and its two adjoints, as direct loops in float64. All three walk the
 * same (output position, tap) pairs through `convSource`, so they are exact transposes of each other.
 */
import { sizeOf } from '../../core/shape.js';
import { convSource } from '../../core/kernel-geometry.js';
import type { ConvAttrs, Kernel } from '../../ops/op.js';
import type { Shape } from '../../core/shape.js';

/** Calls visit(batch, outPixel, tap, inPixel) for every pair whose input is not padding. */
function forEachTap(x: Shape, out: readonly number[], a: ConvAttrs, visit: (b: number, op: number, tap: number, ip: number) => void): void {
  const D = a.kernel.length;
  const spatial = x.slice(1, 1 + D);
  const nOut = sizeOf(out);
  const nTap = sizeOf(a.kernel);
  const oc = new Array<number>(D);
  const tc = new Array<number>(D);
  for (let b = 0; b < x[0]!; b++) {
    for (let o = 0; o < nOut; o++) {
      for (let d = D - 1, r = o; d >= 0; d--) {
        oc[d] = r % out[d]!;
        r = Math.floor(r / out[d]!);
      }
      for (let t = 0; t < nTap; t++) {
        for (let d = D - 1, r = t; d >= 0; d--) {
          tc[d] = r % a.kernel[d]!;
          r = Math.floor(r / a.kernel[d]!);
        }
        let ip = 0;
        let d = 0;
        for (; d < D; d++) {
          const s = convSource(oc[d]!, tc[d]!, spatial[d]!, a.stride[d]!, a.padding[d]![0], a.torus[d]!, a.rhsDilation[d]!, a.lhsDilation[d]!);
          if (s < 0) break;
          ip = ip * spatial[d]! + s;
        }
        if (d === D) visit(b, b * nOut + o, t, b * sizeOf(spatial) + ip);
      }
    }
  }
}

export const conv: Kernel<'conv', Float64Array> = (y, [x, w], a, shapes) => {
  const cin = shapes.inputs[0]!.at(-1)!;
  const cout = shapes.out.at(-1)!;
  y.fill(0);
  forEachTap(shapes.inputs[0]!, shapes.out.slice(1, -1), a, (_b, o, t, i) => {
    for (let ci = 0; ci < cin; ci++) {
      const xv = x![i * cin + ci]!;
      for (let co = 0; co < cout; co++) y[o * cout + co]! += xv * w![(t * cin + ci) * cout + co]!;
    }
  });
};

export const convInputGrad: Kernel<'convInputGrad', Float64Array> = (dx, [dy, w], a, shapes) => {
  const cin = a.inputShape.at(-1)!;
  const cout = shapes.inputs[0]!.at(-1)!;
  dx.fill(0);
  forEachTap(a.inputShape, shapes.inputs[0]!.slice(1, -1), a, (_b, o, t, i) => {
    for (let ci = 0; ci < cin; ci++) {
      let acc = 0;
      for (let co = 0; co < cout; co++) acc += dy![o * cout + co]! * w![(t * cin + ci) * cout + co]!;
      dx[i * cin + ci]! += acc;
    }
  });
};

export const convFilterGrad: Kernel<'convFilterGrad', Float64Array> = (dw, [x, dy], a, shapes) => {
  const cin = shapes.inputs[0]!.at(-1)!;
  const cout = shapes.out.at(-1)!;
  dw.fill(0);
  forEachTap(shapes.inputs[0]!, shapes.inputs[1]!.slice(1, -1), a, (_b, o, t, i) => {
    for (let ci = 0; ci < cin; ci++) {
      const xv = x![i * cin + ci]!;
      for (let co = 0; co < cout; co++) dw[(t * cin + ci) * cout + co]! += xv * dy![o * cout + co]!;
    }
  });
};

/** This file's entries of the ref kernel table (scripts/gen-kernels.mjs collects them). */
export const kernels = { conv, convInputGrad, convFilterGrad };
