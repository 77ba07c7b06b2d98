/** webgpu kernels: maxPool and maxPoolGrad, shaders/maxPool.wgsl and shaders/maxPoolGrad.wgsl. */
import type { Shape } from '../../../core/shape.js';
import type { Kernel } from '../../../ops/op.js';
import { writeMaxPool } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import type { GpuKernelContext } from '../index.js';

/** Spatial axes the pooling shaders' Params hold. */
export const POOL_MAX_D = 8;

/** The `maxPool` block (src/backends/kernelParams.ts) for input x[B, ...spatial, C·T]; n = the invocations. */
function poolParams(op: string, x: Shape, patch: number, tensorSize: number): { params: Int32Array; n: number } {
  const D = x.length - 2;
  if (D > POOL_MAX_D) throw new RangeError(`webgpu: ${op}: ${D} spatial axes; the kernel supports ${POOL_MAX_D}`);
  const spatial = x.slice(1, 1 + D);
  const pooled = spatial.map((s) => s / patch);
  const channels = x.at(-1)! / tensorSize;
  const n = x[0]! * pooled.reduce((p, v) => p * v, 1) * channels;
  const params = writeMaxPool({ n, D, psize: patch, nWin: patch ** D, channels, T: tensorSize, spatial, pooled });
  return { params, n };
}

export function maxPoolKernel(commands: Commands): Kernel<'maxPool', GpuStorage> {
  return (out, [x, c], { patch, tensorSize }, shapes) => {
    if (out.size === 0) return;
    const { params, n } = poolParams('maxPool', shapes.inputs[0]!, patch, tensorSize);
    commands.dispatch('maxPool', params, [x!, c!, out], n);
  };
}

export function maxPoolGradKernel(commands: Commands): Kernel<'maxPoolGrad', GpuStorage> {
  return (out, [dy, c], { patch, tensorSize, inputShape }) => {
    if (out.size === 0) return;
    const { params, n } = poolParams('maxPoolGrad', inputShape, patch, tensorSize);
    commands.dispatch('maxPoolGrad', params, [dy!, c!, out], n);
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): { maxPool: Kernel<'maxPool', GpuStorage>; maxPoolGrad: Kernel<'maxPoolGrad', GpuStorage> } {
  return { maxPool: maxPoolKernel(commands), maxPoolGrad: maxPoolGradKernel(commands) };
}
