/**
 * wasm `matmul`: a[..., m, k] · b[..., k, n] (either transposed), batch axes broadcast, through the
 * packed, register-blocked kernel of assembly/kernels/matmul.ts (4×8 f32x4 micro-kernel; FMA in
 * the relaxed build).
 *
 * `matmulPlan` (host side):
 *  - batch axes of size 1 are dropped and neighbours merged where both operands are contiguous
 *    across them (as in binaryPlan; strides counted in whole matrices, 0 where broadcast);
 *  - a B shared by every batch (no batch axes, or all broadcast) with an untransposed A that is not
 *    broadcast is FOLDED into the rows: [batch·m, k]·[k, n] is one product (the common layer case
 *    x[..., k]·W[k, n]), so B is packed once;
 *  - block sizes shrink to the problem (KC ≤ k, MC ≤ m rounded up to 4, NC ≤ n rounded up to 8),
 *    so the packing scratch (KC·NC + MC·KC + 32 floats, from the heap, freed after the call) stays
 *    small for small products;
 *  - k = 0 writes zeros; an empty output does nothing.
 *
 * Parameter block `matmul` of src/backends/kernelParams.ts (m, k, n, transA, transB, KC, MC, NC,
 * scratch, R, shape, aStride, bStride, counters: kernel scratch).
 *
 * Threads: with an executor of n > 1 threads and at least convTuning.minParallelWork flops (2 MFLOP),
 * `matmulPart` runs instead: the output rows of every batch, as 4-row panels of the flattened
 * (batch, panel) space, split into n contiguous ranges; each thread packs into its own scratch
 * (n blocks allocated here) and computes whole output elements, so the result is bit-identical to
 * one thread. Block `matmulPart`: matmul's, with a, b, c and scratchBytes in it and no counters.
 * Below the threshold (or on one thread) `matmul` runs as before.
 *
 * Accuracy: each output is a float32 dot product of length k summed in k order (one rounding per
 * term, or per fused multiply-add), so |c − exact| ≤ k · 2^-24 · Σ_p |a_ip·b_pj| (+ the final
 * rounding); the relaxed build is usually a little closer to exact than the simd one.
 */
import { broadcastStrides, sizeOf, type Shape } from '../../core/shape.js';
import { collapseBroadcast, matmulDims } from '../../core/kernel-geometry.js';
import type { Kernel } from '../../ops/op.js';
import { opCode, type KernelExports } from './loader.js';
import type { WasmHeap } from './memory.js';
import { convTuning, type Executor } from './conv.js';
import type { ParamWriter } from './params.js';
import { writeMatmul, writeMatmulPart } from '../../generated/params.js';
import type { WasmKernelContext } from './kernels.js';

/** Cache blocking: KC deep slices (a packed 8-column B panel is KC·32 bytes, 8 KiB: L1), MC rows of
 * A per packed block (MC·KC·4 = 128 KiB: L2), NC columns of B per packed block (≤ 2 MiB). */
export const MATMUL_BLOCKS = { KC: 256, MC: 120, NC: 2048 } as const;

export type MatmulPlan =
  | { readonly kind: 'empty' }
  | { readonly kind: 'zeros'; readonly n: number }
  | {
      readonly kind: 'gemm';
      readonly m: number;
      readonly k: number;
      readonly n: number;
      readonly KC: number;
      readonly MC: number;
      readonly NC: number;
      /** Merged batch axes and strides in matrices. */
      readonly batch: readonly number[];
      readonly aStride: readonly number[];
      readonly bStride: readonly number[];
      /** Floats of packing scratch. */
      readonly scratch: number;
    };

const roundUp = (x: number, q: number): number => Math.ceil(x / q) * q;

export function matmulPlan(a: Shape, b: Shape, out: Shape, transA: boolean, transB: boolean, mr = 4): MatmulPlan {
  const total = sizeOf(out);
  if (total === 0) return { kind: 'empty' };
  const { k, n } = matmulDims(a, b, transA, transB);
  let { m } = matmulDims(a, b, transA, transB);
  if (k === 0) return { kind: 'zeros', n: total };
  const batch = out.slice(0, -2);
  const geo = collapseBroadcast(batch, [broadcastStrides(a.slice(0, -2), batch), broadcastStrides(b.slice(0, -2), batch)]);
  let dims = geo.shape;
  let [as, bs] = geo.strides;
  // Fold a shared B into the rows of a contiguous, untransposed A.
  if (!transA && bs.every((s) => s === 0) && (dims.length === 0 || (dims.length === 1 && as[0] === 1))) {
    m *= dims[0] ?? 1;
    dims = [];
    as = [];
    bs = [];
  }
  const KC = Math.min(MATMUL_BLOCKS.KC, k);
  const MC = Math.min(roundUp(MATMUL_BLOCKS.MC, mr), roundUp(m, mr));
  const NC = Math.min(MATMUL_BLOCKS.NC, roundUp(n, 8));
  return { kind: 'gemm', m, k, n, KC, MC, NC, batch: dims, aStride: as, bStride: bs, scratch: KC * NC + MC * KC + 8 * mr };
}

export function createMatmul(ex: KernelExports, heap: WasmHeap, params: ParamWriter, exec?: Executor): Kernel<'matmul', number> {
  const mr = opCode(ex, 'MATMUL', 'MR');
  return (out, [a, b], { transA, transB }, shapes) => {
    const plan = matmulPlan(shapes.inputs[0]!, shapes.inputs[1]!, shapes.out, transA, transB, mr);
    if (plan.kind === 'empty') return;
    if (plan.kind === 'zeros') {
      heap.f32().fill(0, out >>> 2, (out >>> 2) + plan.n);
      return;
    }
    const R = plan.batch.length;
    // the fields both blocks (one thread: matmul; threads: matmulPart) share
    const { m, k, n, KC, MC, NC } = plan;
    const work = 2 * m * k * n * sizeOf(plan.batch);
    const fields = { m, k, n, transA: +transA, transB: +transB, KC, MC, NC, R, shape: plan.batch, aStride: plan.aStride, bStride: plan.bStride };
    if (exec && exec.threads > 1 && work >= convTuning.minParallelWork) {
      // Threaded (matmulPart): one packing scratch per thread, allocated here (workers never
      // allocate); the block is only read by the threads (no counters).
      const per = roundUp(4 * plan.scratch, 16); // 16-byte-aligned per-thread scratch
      const scratch = heap.alloc(per * exec.threads);
      try {
        const p = writeMatmulPart({ ...fields, scratch, a: a!, b: b!, c: out, scratchBytes: per });
        exec.run('matmulPart', params.write(p), work);
      } finally {
        heap.free(scratch);
      }
      return;
    }
    const scratch = heap.alloc(4 * plan.scratch);
    try {
      const p = writeMatmul({ ...fields, scratch, counters: new Array<number>(R).fill(0) });
      ex.matmul(a!, b!, out, params.write(p));
    } finally {
      heap.free(scratch);
    }
  };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, heap, params, exec }: WasmKernelContext): { matmul: Kernel<'matmul', number> } {
  return { matmul: createMatmul(ex, heap, params, exec) };
}
