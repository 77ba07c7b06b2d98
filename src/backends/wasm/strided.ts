/**
 * wasm `strided` (assembly/kernels/strided.ts): the op's views planned by src/core/strided.ts
 * (unit axes dropped, contiguous runs merged, summed axes last) into block `strided`. Outputs that
 * no point reaches (a slice's adjoint writes a sub-box) are zeroed here first. Nothing is cached:
 * the block is a few dozen integers, written per call.
 */
import { sizeOf } from '../../core/shape.js';
import { planStrided } from '../../core/strided.js';
import type { Kernel } from '../../ops/op.js';
import { ELEMENTWISE_WORK, type Executor } from './conv.js';
import type { WasmHeap } from './memory.js';
import type { ParamWriter } from './params.js';
import { writeStrided } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

export function createStrided(heap: WasmHeap, params: ParamWriter, exec: Executor): Kernel<'strided', number> {
  return (out, [x], a, shapes) => {
    const total = sizeOf(shapes.out);
    if (total === 0) return;
    const plan = planStrided(a.extents, { offset: a.srcOffset, strides: a.srcStrides }, { offset: a.dstOffset, strides: a.dstStrides });
    // The written axes are injective (the op checked), so they cover every output iff they are as many.
    if (plan.count === 0 || plan.outer < total) heap.f32().fill(0, out >>> 2, (out >>> 2) + total);
    if (plan.count === 0) return;
    const block = writeStrided({
      x: x!,
      out,
      srcOff: plan.srcOffset,
      dstOff: plan.dstOffset,
      outer: plan.outer,
      R: plan.rank,
      A: plan.extents.length,
      ext: plan.extents,
      ss: plan.src,
      ds: plan.dst,
    });
    exec.run('strided', params.write(block), plan.count * ELEMENTWISE_WORK);
  };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ heap, params, exec }: WasmKernelContext): { strided: Kernel<'strided', number> } {
  return { strided: createStrided(heap, params, exec) };
}
