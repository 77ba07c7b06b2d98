/**
 * wasm `concat` (assembly/kernels/concat.ts): along `axis`, the output is [outer, Σ rows] where
 * outer = Π out[0..axis) and each input contributes rows of in[axis]·Π out[axis+1..) elements; one
 * memory.copy per (input, outer row). Inputs with empty rows are left out of the block.
 *
 * Parameter block: [count, outer, rowOut, (ptr, row) × count] (rows in elements).
 */
import { sizeOf } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import type { KernelExports } from './loader.js';
import type { ParamWriter } from './params.js';

export function concatParams(inputs: readonly number[], inShapes: readonly (readonly number[])[], out: readonly number[], axis: number): Int32Array | null {
  if (sizeOf(out) === 0) return null;
  const outer = sizeOf(out.slice(0, axis));
  const inner = sizeOf(out.slice(axis + 1));
  const parts: number[] = [];
  inputs.forEach((ptr, t) => {
    const row = inShapes[t]![axis]! * inner;
    if (row > 0) parts.push(ptr, row);
  });
  return Int32Array.of(parts.length / 2, outer, out[axis]! * inner, ...parts);
}

export function createConcat(ex: KernelExports, params: ParamWriter): Kernel<'concat', number> {
  return (out, inputs, { axis }, shapes) => {
    const p = concatParams(inputs, shapes.inputs, shapes.out, axis);
    if (p) ex.concat(out, params.write(p));
  };
}
