/**
 * Binary with broadcasting: `binaryPlan` reduces any broadcast to the simplest loop. Output axes of
 * size 1 are dropped and neighbouring axes merged where both operands are contiguous across them
 * (a[i]·stride = a[i+1]·stride·size, likewise b; broadcast axes, stride 0, merge with each other).
 * Then equal shapes become one flat loop (`same`), a one-element operand a `scalarA`/`scalarB` loop,
 * and anything else (`strided`) block `binaryStrided` of src/backends/kernelParams.ts, read by
 * assembly/kernels/binary.ts: R >= 2 axes, their extents, the element strides of a and b (0 on
 * broadcast axes) and the kernel's scratch counters.
 * After merging, the innermost axis always has strides (1,1), (0,1) or (1,0) — every inner row is
 * one of the three fast SIMD loops.
 */
import { broadcastStrides, sizeOf, type Shape } from '../../core/shape.js';
import { collapseBroadcast } from '../../core/kernel-geometry.js';
import { writeBinaryStrided } from '../../generated/params.js';

export type BinaryPlan =
  | { readonly kind: 'empty' }
  | { readonly kind: 'same' | 'scalarA' | 'scalarB'; readonly n: number }
  | { readonly kind: 'strided'; readonly n: number; readonly params: Int32Array };

export function binaryPlan(a: Shape, b: Shape, out: Shape): BinaryPlan {
  const n = sizeOf(out);
  if (n === 0) return { kind: 'empty' };
  const {
    shape: dims,
    strides: [as, bs],
  } = collapseBroadcast(out, [broadcastStrides(a, out), broadcastStrides(b, out)]);
  const R = dims.length;
  if (R === 0) return { kind: 'same', n: 1 };
  const ia = as[R - 1]!;
  const ib = bs[R - 1]!;
  if (!((ia === 1 && ib === 1) || (ia === 0 && ib === 1) || (ia === 1 && ib === 0))) {
    throw new Error(`binaryPlan: internal error: inner strides (${ia}, ${ib}) for shapes [${a}] and [${b}]`);
  }
  if (R === 1) return { kind: ia === 0 ? 'scalarA' : ib === 0 ? 'scalarB' : 'same', n };
  const params = writeBinaryStrided({ R, shape: dims, aStride: as, bStride: bs, counters: new Array<number>(R).fill(0) });
  return { kind: 'strided', n, params };
}

/**
 * Writes an Int32 parameter block into wasm memory and returns its byte offset (kernels.ts
 * `ParamBlock`: one reusable block per backend, valid until the next write). Every block is
 * declared in src/backends/kernelParams.ts and written by its generated `write<Name>`.
 */
export interface ParamWriter {
  write(p: Int32Array): number;
}
