/** webgpu kernel: concat, shaders/concat.wgsl (block `concatGpu`; one dispatch per non-empty input, one batch). */
import { sizeOf } from '../../../core/shape.js';
import type { Kernel } from '../../../ops/op.js';
import { writeConcatGpu } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import type { GpuKernelContext } from '../index.js';

export function concatKernel(commands: Commands): Kernel<'concat', GpuStorage> {
  return (out, inputs, { axis }, shapes) => {
    if (out.size === 0) return;
    const outer = sizeOf(shapes.out.slice(0, axis));
    const inner = sizeOf(shapes.out.slice(axis + 1));
    const rowOut = shapes.out[axis]! * inner;
    let offset = 0;
    inputs.forEach((x, t) => {
      const row = shapes.inputs[t]![axis]! * inner;
      if (row > 0) {
        commands.dispatch('concat', writeConcatGpu({ n: outer * row, row, rowOut, offset }), [x, out], outer * row);
      }
      offset += row;
    });
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): { concat: Kernel<'concat', GpuStorage> } {
  return { concat: concatKernel(commands) };
}
