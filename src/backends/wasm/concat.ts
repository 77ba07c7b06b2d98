/**
 * wasm `concat` (assembly/kernels/concat.ts): along `axis`, the output is [outer, Σ rows] where
 * outer = Π out[0..axis) and each input contributes rows of in[axis]·Π out[axis+1..) elements; one
 * memory.copy per (input, outer row). Inputs with empty rows are left out of the block.
 *
 * Parameter block `concat` of src/backends/kernelParams.ts: count, outer, rowOut, src[count] (byte
 * offsets), row[count] (elements).
 */
import { sizeOf } from '../../core/shape.js';
import type { Kernel } from '../../ops/op.js';
import type { KernelExports } from './loader.js';
import type { ParamWriter } from './params.js';
import { writeConcat } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

export function concatParams(inputs: readonly number[], inShapes: readonly (readonly number[])[], out: readonly number[], axis: number): Int32Array | null {
  if (sizeOf(out) === 0) return null;
  const outer = sizeOf(out.slice(0, axis));
  const inner = sizeOf(out.slice(axis + 1));
  const src: number[] = [];
  const row: number[] = [];
  inputs.forEach((ptr, t) => {
    const r = inShapes[t]![axis]! * inner;
    if (r > 0) {
      src.push(ptr);
      row.push(r);
    }
  });
  return writeConcat({ count: src.length, outer, rowOut: out[axis]! * inner, src, row });
}

export function createConcat(ex: KernelExports, params: ParamWriter): Kernel<'concat', number> {
  return (out, inputs, { axis }, shapes) => {
    const p = concatParams(inputs, shapes.inputs, shapes.out, axis);
    if (p) ex.concat(out, params.write(p));
  };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, params }: WasmKernelContext): { concat: Kernel<'concat', number> } {
  return { concat: createConcat(ex, params) };
}
