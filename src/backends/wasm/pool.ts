/**
 * wasm `maxPool` / `maxPoolGrad` (assembly/kernels/pool.ts): comparator max pooling over
 * non-overlapping patch^D windows, the first maximum in row-major window order, or the first NaN
 * if the window has one (jnp.argmax's rule, as ref).
 *
 * Parameter block `pool` (src/backends/kernelParams.ts): S = input pixels per image, C channels
 * of T values, pooled = spatial / patch, step[d] = patch · (pixel stride of spatial axis d),
 * winOff[w] = pixel offset of window element w (row-major), counters the kernel's scratch.
 */
import { sizeOf, stridesOf, type Shape } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import type { KernelExports } from '../../generated/exports.js';
import { writePool } from '../../generated/params.js';
import type { ParamWriter } from './params.js';
import type { WasmKernelContext } from './kernels.js';

/** The block for input shape x[B, ...spatial, C·T]; null when there is nothing to do. */
export function poolParams(x: Shape, patch: number, tensorSize: number): Int32Array | null {
  if (sizeOf(x) === 0) return null;
  const D = x.length - 2;
  const spatial = x.slice(1, 1 + D);
  const strides = stridesOf(spatial);
  const nWin = patch ** D;
  const win = new Array<number>(nWin);
  for (let w = 0; w < nWin; w++) {
    let off = 0;
    for (let d = D - 1, r = w; d >= 0; d--, r = Math.floor(r / patch)) off += (r % patch) * strides[d]!;
    win[w] = off;
  }
  return writePool({
    B: x[0]!,
    S: sizeOf(spatial),
    C: x.at(-1)! / tensorSize,
    T: tensorSize,
    nWin,
    D,
    pooled: spatial.map((s) => s / patch),
    step: strides.map((s) => s * patch),
    counters: new Array<number>(D).fill(0),
    winOff: win,
  });
}

export function createPool(ex: KernelExports, params: ParamWriter): { maxPool: Kernel<'maxPool', number>; maxPoolGrad: Kernel<'maxPoolGrad', number> } {
  return {
    maxPool: (out, [x, c], { patch, tensorSize }, shapes) => {
      const p = poolParams(shapes.inputs[0]!, patch, tensorSize);
      if (p) ex.maxPool(x!, c!, out, params.write(p));
    },
    maxPoolGrad: (out, [dy, c], { patch, tensorSize, inputShape }) => {
      const p = poolParams(inputShape, patch, tensorSize);
      if (p) ex.maxPoolGrad(dy!, c!, out, params.write(p));
    },
  };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, params }: WasmKernelContext): ReturnType<typeof createPool> {
  return createPool(ex, params);
}
