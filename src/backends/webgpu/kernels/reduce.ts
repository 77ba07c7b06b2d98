/**
 * webgpu kernel: reduce (sum/max over any axes), shaders/reduce.wgsl. Also used internally to sum
 * split-K partials (convFilterGrad). Parameter block `reduce` of src/backends/kernelParams.ts.
 */
import { writeReduce } from '../../../generated/params.js';
import type { Kernel, ReduceOp } from '../../../ops/op.js';
import type { Buffers, GpuStorage } from '../buffers.js';
import type { Commands, Pipelines } from '../commands.js';
import type { GpuKernelContext } from '../index.js';

/** Kept and reduced runs the shader's Params hold (after collapsing). */
export const REDUCE_MAX_RUNS = 8;

export interface ReduceGeometry {
  kept: { shape: number[]; strides: number[] };
  red: { shape: number[]; strides: number[] };
}

/**
 * Collapses x's shape for a reduction over `axes`: drops size-1 axes and merges each run of
 * neighbouring axes of the same kind (kept or reduced) into one axis (row-major x: neighbours are
 * always contiguous). Returns the runs with their element strides in x, outermost first.
 */
export function reduceGeometry(shape: readonly number[], axes: readonly number[]): ReduceGeometry {
  const kept = { shape: [] as number[], strides: [] as number[] };
  const red = { shape: [] as number[], strides: [] as number[] };
  let stride = 1;
  let lastKind: 'kept' | 'red' | null = null;
  for (let d = shape.length - 1; d >= 0; d--) {
    const n = shape[d]!;
    if (n !== 1) {
      const kind = axes.includes(d) ? 'red' : 'kept';
      const g = kind === 'red' ? red : kept;
      if (kind === lastKind)
        g.shape[0]! *= n; // extends the run (its stride is the innermost one)
      else {
        g.shape.unshift(n);
        g.strides.unshift(stride);
      }
      lastKind = kind;
    }
    stride *= n;
  }
  return { kept, red };
}

export class Reducer {
  constructor(
    private readonly commands: Commands,
    private readonly buffers: Buffers,
    private readonly pipelines: Pipelines,
  ) {}

  /** out[nOut] = op over the geometry's reduced runs of x; nOut = product of the kept runs. */
  run(op: ReduceOp, x: GpuStorage, out: GpuStorage, geo: ReduceGeometry): void {
    const nOut = geo.kept.shape.reduce((p, n) => p * n, 1);
    const nRed = geo.red.shape.reduce((p, n) => p * n, 1);
    if (nOut === 0) return;
    if (geo.kept.shape.length > REDUCE_MAX_RUNS || geo.red.shape.length > REDUCE_MAX_RUNS) {
      throw new RangeError(
        `webgpu: reduce: the axes form ${geo.kept.shape.length} kept and ${geo.red.shape.length} reduced runs ` +
          `after merging; the kernel supports ${REDUCE_MAX_RUNS} of each`,
      );
    }
    const wg = this.pipelines.wg;
    // Serial: enough outputs to fill the GPU, or reductions too short for a workgroup each.
    if (nRed <= 128 || nOut >= 16384) {
      this.#dispatch(0, op, x, out, geo, nOut, nRed, 1, nRed, Math.ceil(nOut / wg));
      return;
    }
    // Tree: one workgroup per (output, chunk); chunks of >= 16·WG elements, about 256 workgroups.
    let chunks = Math.max(1, Math.min(Math.ceil(nRed / (16 * wg)), Math.floor(256 / nOut)));
    const chunkLen = Math.ceil(nRed / chunks);
    chunks = Math.ceil(nRed / chunkLen);
    if (chunks === 1) {
      this.#dispatch(1, op, x, out, geo, nOut, nRed, 1, chunkLen, nOut);
      return;
    }
    const partial = this.buffers.alloc(nOut * chunks);
    try {
      this.#dispatch(1, op, x, partial, geo, nOut, nRed, chunks, chunkLen, nOut * chunks);
      this.run(op, partial, out, { kept: { shape: [nOut], strides: [chunks] }, red: { shape: [chunks], strides: [1] } });
    } finally {
      this.buffers.free(partial);
    }
  }

  #dispatch(
    mode: number,
    op: ReduceOp,
    x: GpuStorage,
    out: GpuStorage,
    geo: ReduceGeometry,
    nOut: number,
    nRed: number,
    chunks: number,
    chunkLen: number,
    groups: number,
  ): void {
    const redRank = geo.red.shape.length;
    const p = writeReduce({
      mode,
      op: op === 'sum' ? 0 : 1,
      nOut,
      nRed,
      chunks,
      chunkLen,
      keptRank: geo.kept.shape.length,
      redRank,
      identity: op === 'sum' ? 0 : -Infinity,
      innerLen: redRank ? geo.red.shape[redRank - 1]! : 1,
      innerStride: redRank ? geo.red.strides[redRank - 1]! : 1,
      keptShape: geo.kept.shape,
      keptStride: geo.kept.strides,
      redShape: geo.red.shape,
      redStride: geo.red.strides,
    });
    this.commands.dispatchGroups('reduce', p, [x, out], groups);
  }
}

export function reduceKernel(reducer: Reducer): Kernel<'reduce', GpuStorage> {
  return (out, [x], { op, axes }, shapes) => {
    if (op !== 'sum' && op !== 'max') throw new RangeError(`webgpu: reduce: unknown op ${JSON.stringify(op)}`);
    reducer.run(op, x!, out, reduceGeometry(shapes.inputs[0]!, axes));
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ reducer }: GpuKernelContext): { reduce: Kernel<'reduce', GpuStorage> } {
  return { reduce: reduceKernel(reducer) };
}
