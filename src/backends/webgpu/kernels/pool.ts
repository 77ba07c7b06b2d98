/** webgpu kernels: maxPool and maxPoolGrad, shaders/maxPool.wgsl and shaders/maxPoolGrad.wgsl. */
import type { Shape } from '../../../core/shape.js';
import type { Kernel } from '../../../ops/op.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';

/** Spatial axes the pooling shaders' Params hold. */
export const POOL_MAX_D = 8;

function poolParams(op: string, params: Uint32Array, x: Shape, patch: number, tensorSize: number): number {
  const D = x.length - 2;
  if (D > POOL_MAX_D) throw new RangeError(`webgpu: ${op}: ${D} spatial axes; the kernel supports ${POOL_MAX_D}`);
  const spatial = x.slice(1, 1 + D);
  const pooled = spatial.map((n) => n / patch);
  const channels = x.at(-1)! / tensorSize;
  const n = x[0]! * pooled.reduce((p, v) => p * v, 1) * channels;
  params.fill(0);
  params.set([n, D, patch, patch ** D, channels, tensorSize]);
  params.set(spatial, 8);
  params.set(pooled, 16);
  return n;
}

export function maxPoolKernel(commands: Commands): Kernel<'maxPool', GpuStorage> {
  const params = new Uint32Array(24);
  return (out, [x, c], { patch, tensorSize }, shapes) => {
    if (out.size === 0) return;
    const n = poolParams('maxPool', params, shapes.inputs[0]!, patch, tensorSize);
    commands.dispatch('maxPool', params, [x!, c!, out], n);
  };
}

export function maxPoolGradKernel(commands: Commands): Kernel<'maxPoolGrad', GpuStorage> {
  const params = new Uint32Array(24);
  return (out, [dy, c], { patch, tensorSize, inputShape }) => {
    if (out.size === 0) return;
    const n = poolParams('maxPoolGrad', params, inputShape, patch, tensorSize);
    commands.dispatch('maxPoolGrad', params, [dy!, c!, out], n);
  };
}
