/** webgpu kernel: batched matmul with transposes and batch broadcasting, shaders/matmul.wgsl. */
import { broadcastStrides } from '../../../core/shape.js';
import { matmulDims } from '../../../ops/matmul.js';
import type { Kernel } from '../../../ops/op.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import { collapseBroadcast } from './elementwise.js';
import { chooseTile } from './tiles.js';

/** Batch axes the shader's Params hold (after collapsing). */
export const MATMUL_MAX_BATCH_RANK = 8;

export function matmulKernel(commands: Commands): Kernel<'matmul', GpuStorage> {
  const params = new Uint32Array(12 + 3 * 8);
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
      throw new RangeError(`webgpu: matmul: the batch axes of ${JSON.stringify(as)} and ${JSON.stringify(bs)} need ${rank} axes ` +
        `after merging; the kernel supports ${MATMUL_MAX_BATCH_RANK}`);
    }
    const nBatch = geo.shape.reduce((p, d) => p * d, 1);
    const tile = chooseTile(m, n);
    const groups = nBatch * tile.tilesM * tile.tilesN;
    params.fill(0);
    params.set([m, n, k, (transA ? 1 : 0) | (transB ? 2 : 0), tile.tm, tile.tn, tile.tilesM, tile.tilesN, groups, rank]);
    params.set(geo.shape, 12);
    params.set(geo.strides[0]!, 20);
    params.set(geo.strides[1]!, 28);
    commands.dispatchGroups('matmul', params, [a!, b!, out], groups);
  };
}
