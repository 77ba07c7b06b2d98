/**
 * webgpu `strided` (shaders/strided.wgsl): the op's views planned by src/core/strided.ts, the
 * written axes sorted by decreasing dst stride (the shader splits each output index by successive
 * division), summed axes after them in order. The whole move fits in the uniform block: nothing is
 * uploaded or cached per call.
 */
import { planStrided } from '../../../core/strided.js';
import type { Kernel } from '../../../ops/op.js';
import { writeStridedGpu } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import type { GpuKernelContext } from '../index.js';

/** Axes the shader takes (written + summed, after merging). */
export const STRIDED_MAX_AXES = 16;

export function stridedKernel(commands: Commands): Kernel<'strided', GpuStorage> {
  return (out, [x], a) => {
    if (out.size === 0) return;
    const plan = planStrided(a.extents, { offset: a.srcOffset, strides: a.srcStrides }, { offset: a.dstOffset, strides: a.dstStrides });
    const axes = plan.extents.length;
    if (axes > STRIDED_MAX_AXES) {
      throw new RangeError(`webgpu strided: the copy needs ${axes} axes after merging; the kernel supports ${STRIDED_MAX_AXES}`);
    }
    // An empty iteration space leaves zeros: one axis of extent 0 that no output splits into.
    const order = plan.count === 0 ? [] : [...Array(plan.rank).keys()].sort((i, j) => plan.dst[j]! - plan.dst[i]!);
    const all = [...order, ...Array.from({ length: plan.count === 0 ? 0 : axes - plan.rank }, (_, k) => plan.rank + k)];
    const pick = (v: readonly number[]) => all.map((d) => v[d]!);
    const params = writeStridedGpu({
      n: out.size,
      rank: plan.count === 0 ? 0 : plan.rank,
      axes: all.length,
      zCount: plan.count === 0 ? 0 : plan.count / plan.outer,
      srcOff: plan.srcOffset,
      dstOff: plan.count === 0 ? out.size : plan.dstOffset,
      ext: pick(plan.extents),
      ss: pick(plan.src),
      ds: pick(plan.dst),
    });
    commands.dispatch('strided', params, [x!, out], out.size);
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): { strided: Kernel<'strided', GpuStorage> } {
  return { strided: stridedKernel(commands) };
}
