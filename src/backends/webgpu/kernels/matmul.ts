/** webgpu kernel: batched matmul with transposes and batch broadcasting, shaders/matmul.wgsl (block `matmulGpu`). */
import { broadcastStrides } from '../../../core/shape.js';
import { collapseBroadcast, matmulDims } from '../../../core/kernel-geometry.js';
import type { Kernel } from '../../../ops/op.js';
import { writeMatmulGpu } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import { chooseTile } from './tiles.js';
import type { GpuKernelContext } from '../index.js';

/** Batch axes the shader's Params hold (after collapsing). */
export const MATMUL_MAX_BATCH_RANK = 8;

export function matmulKernel(commands: Commands): Kernel<'matmul', GpuStorage> {
  return (out, [a, b], { transA, transB }, shapes) => {
    if (out.size === 0) return;
    const [as, bs] = shapes.inputs as [number[], number[]];
    const { m, k, n } = matmulDims(as, bs, transA, transB);
    const batch = shapes.out.slice(0, -2);
    const geo = collapseBroadcast(batch, [
      broadcastStrides(as.slice(0, -2), batch).map((s) => s * m * k),
      broadcastStrides(bs.slice(0, -2), batch).map((s) => s * k * n),
    ]);
    const rank = geo.shape.length;
    if (rank > MATMUL_MAX_BATCH_RANK) {
      throw new RangeError(
        `webgpu: matmul: the batch axes of ${JSON.stringify(as)} and ${JSON.stringify(bs)} need ${rank} axes ` +
          `after merging; the kernel supports ${MATMUL_MAX_BATCH_RANK}`,
      );
    }
    const nBatch = geo.shape.reduce((p, d) => p * d, 1);
    const tile = chooseTile(m, n);
    const groups = nBatch * tile.tilesM * tile.tilesN;
    const params = writeMatmulGpu({
      m,
      n,
      k,
      flags: (transA ? 1 : 0) | (transB ? 2 : 0),
      tm: tile.tm,
      tn: tile.tn,
      tilesM: tile.tilesM,
      tilesN: tile.tilesN,
      groups,
      batchRank: rank,
      batchShape: geo.shape,
      sa: geo.strides[0]!,
      sb: geo.strides[1]!,
    });
    commands.dispatchGroups('matmul', params, [a!, b!, out], groups);
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): { matmul: Kernel<'matmul', GpuStorage> } {
  return { matmul: matmulKernel(commands) };
}
