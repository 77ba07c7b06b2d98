/**
 * wasm `argmaxPool` / `argmaxPoolGrad` (assembly/kernels/pool.ts, one export for both directions):
 * argmax pooling over non-overlapping patch^D windows, the first maximum in row-major window order,
 * or the first NaN if the window has one (jnp.argmax's rule, as ref). Block `argmaxPool`
 * (src/backends/kernelParams.ts), filled by argmaxPoolFields as on WebGPU.
 */
import { sizeOf, type Shape } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import { argmaxPoolFields } from '../kernelParams.js';
import { writeArgmaxPool } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, params }: WasmKernelContext): {
  argmaxPool: Kernel<'argmaxPool', number>;
  argmaxPoolGrad: Kernel<'argmaxPoolGrad', number>;
} {
  const run = (src: number, c: number, dst: number, x: Shape, patch: number, T: number, adjoint: boolean) => {
    if (sizeOf(x) > 0) ex.argmaxPool(src, c, dst, params.write(writeArgmaxPool(argmaxPoolFields(x, patch, T, adjoint))));
  };
  return {
    argmaxPool: (out, [x, c], { patch, tensorSize }, shapes) => run(x!, c!, out, shapes.inputs[0]!, patch, tensorSize, false),
    argmaxPoolGrad: (out, [dy, c], { patch, tensorSize, inputShape }) => run(dy!, c!, out, inputShape, patch, tensorSize, true),
  };
}
