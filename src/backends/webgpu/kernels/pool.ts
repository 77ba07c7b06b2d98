/** webgpu kernels: argmaxPool and argmaxPoolGrad, both shaders/argmaxPool.wgsl (block `argmaxPool`, filled as on wasm). */
import type { Shape } from '../../../core/shape.js';
import type { Kernel } from '../../../ops/op.js';
import { argmaxPoolFields } from '../../kernelParams.js';
import { writeArgmaxPool } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { GpuKernelContext } from '../index.js';

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): {
  argmaxPool: Kernel<'argmaxPool', GpuStorage>;
  argmaxPoolGrad: Kernel<'argmaxPoolGrad', GpuStorage>;
} {
  // one invocation per (b, pooled pixel, channel)
  const run = (out: GpuStorage, src: GpuStorage, c: GpuStorage, x: Shape, patch: number, T: number, adjoint: boolean) => {
    if (out.size === 0) return;
    const f = argmaxPoolFields(x, patch, T, adjoint);
    commands.dispatch('argmaxPool', writeArgmaxPool(f), [src, c, out], f.B * f.pooled.reduce((p, v) => p * v, 1) * f.C);
  };
  return {
    argmaxPool: (out, [x, c], { patch, tensorSize }, shapes) => run(out, x!, c!, shapes.inputs[0]!, patch, tensorSize, false),
    argmaxPoolGrad: (out, [dy, c], { patch, tensorSize, inputShape }) => run(out, dy!, c!, inputShape, patch, tensorSize, true),
  };
}
