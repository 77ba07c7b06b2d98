/**
 * webgpu kernels: the dense convolution and its two adjoints — shaders/conv.wgsl,
 * shaders/convInputGrad.wgsl, shaders/convFilterGrad.wgsl. Each writes its parameter block
 * (src/backends/kernelParams.ts: the geometry of `convParams`, its GEMM view and tile), and
 * dispatches one tiled implicit GEMM (the filter gradient adds a split-K partial sum reduced by
 * reduce.wgsl). See the shader headers for the algorithms.
 */
import { sizeOf } from '../../../core/shape.js';
import { CONV_AXIS_FIELDS, convParams } from '../../../core/kernel-geometry.js';
import type { ConvAttrs, Kernel } from '../../../ops/op.js';
import { CONV, writeConv, writeConvFilterGrad, writeConvInputGrad } from '../../../generated/params.js';
import type { Buffers, GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import type { Reducer } from './reduce.js';
import { chooseTile } from './tiles.js';
import type { GpuKernelContext } from '../index.js';

/** Per-axis fields of convParams for axis d (0..2): N, O, K, stride, lo, torus, rhsDilation, lhsDilation. */
const axis = (p: Int32Array, d: number) => {
  const o = CONV.ax + d * CONV_AXIS_FIELDS;
  return { N: p[o]!, O: p[o + 1]!, K: p[o + 2]!, s: p[o + 3]!, torus: p[o + 5]! !== 0 };
};

/** The geometry fields of the `conv` blocks (src/backends/kernelParams.ts) from convParams. */
const geometry = (p: Int32Array) => ({
  D: p[CONV.D]!,
  B: p[CONV.B]!,
  Cin: p[CONV.Cin]!,
  Cout: p[CONV.Cout]!,
  ax: p.subarray(CONV.ax, CONV.ax + 3 * CONV_AXIS_FIELDS),
});

/** The GEMM view and tile fields of the `conv` blocks. */
function gemm(M: number, N: number, K: number, groupsPerTile = 1) {
  const tile = chooseTile(M, N);
  const groups = tile.tilesM * tile.tilesN * groupsPerTile;
  return { M, N, K, groups, TM: tile.tm, TN: tile.tn, tilesM: tile.tilesM, tilesN: tile.tilesN };
}

export function convKernel(commands: Commands): Kernel<'conv', GpuStorage> {
  return (y, [x, w], a, shapes) => {
    if (y.size === 0) return;
    const xs = shapes.inputs[0]!;
    const cout = shapes.out.at(-1)!;
    const M = sizeOf(shapes.out.slice(0, -1)); // B · output pixels
    const g = gemm(M, cout, sizeOf(a.kernel) * xs.at(-1)!);
    commands.dispatchGroups('conv', writeConv({ ...geometry(convParams(xs, cout, a)), ...g }), [x!, w!, y], g.groups);
  };
}

/**
 * Wraps per axis for the input gradient: on a torus axis, how many multiples of N can separate the
 * output positions o·s (o < O) that reach one input pixel through one tap.
 */
export function convWraps(p: Int32Array): [number, number, number] {
  const q = [0, 1, 2].map((d) => {
    const { N, O, s, torus } = axis(p, d);
    return torus ? Math.floor(((O - 1) * s) / N) + 1 : 1;
  });
  return q as [number, number, number];
}

export function convInputGradKernel(commands: Commands): Kernel<'convInputGrad', GpuStorage> {
  return (dx, [dy, w], a, shapes) => {
    if (dx.size === 0) return;
    const cout = shapes.inputs[0]!.at(-1)!;
    const p = convParams(a.inputShape, cout, a);
    const [q0, q1, q2] = convWraps(p);
    const Q = q0 * q1 * q2;
    const cin = a.inputShape.at(-1)!;
    const M = sizeOf(a.inputShape.slice(0, -1)); // B · input pixels
    const g = gemm(M, cin, sizeOf(a.kernel) * Q * cout);
    commands.dispatchGroups('convInputGrad', writeConvInputGrad({ ...geometry(p), ...g, q0, q1, q2, Q }), [dy!, w!, dx], g.groups);
  };
}

/** Workgroups the filter gradient aims for by splitting its reduction (and the shortest chunk). */
const FILTER_GRAD_TARGET_GROUPS = 128;
const FILTER_GRAD_MIN_CHUNK = 256;

/** Split-K plan for the filter gradient: chunks of the K = B · output pixels reduction. */
export function filterGradSplit(M: number, N: number, K: number): { splits: number; chunkLen: number } {
  const tile = chooseTile(M, N);
  const tiles = tile.tilesM * tile.tilesN;
  let splits = Math.max(1, Math.min(Math.ceil(FILTER_GRAD_TARGET_GROUPS / tiles), Math.floor(K / FILTER_GRAD_MIN_CHUNK)));
  const chunkLen = Math.max(16, Math.ceil(Math.ceil(K / splits) / 16) * 16);
  splits = Math.max(1, Math.ceil(K / chunkLen));
  return { splits, chunkLen };
}

export function convFilterGradKernel(commands: Commands, buffers: Buffers, reducer: Reducer): Kernel<'convFilterGrad', GpuStorage> {
  return (dw, [x, dy], a: ConvAttrs, shapes) => {
    if (dw.size === 0) return;
    const xs = shapes.inputs[0]!;
    const cout = shapes.out.at(-1)!;
    const M = sizeOf(a.kernel) * xs.at(-1)!; // taps · Cin
    const K = sizeOf(shapes.inputs[1]!.slice(0, -1)); // B · output pixels
    const { splits, chunkLen } = filterGradSplit(M, cout, K);
    const g = gemm(M, cout, K, splits);
    const { groups } = g;
    const params = writeConvFilterGrad({ ...geometry(convParams(xs, cout, a)), ...g, splits, chunkLen });
    if (splits === 1) {
      commands.dispatchGroups('convFilterGrad', params, [x!, dy!, dw], groups);
      return;
    }
    const partial = buffers.alloc(splits * M * cout);
    try {
      commands.dispatchGroups('convFilterGrad', params, [x!, dy!, partial], groups);
      reducer.run('sum', partial, dw, { kept: { shape: [M * cout], strides: [1] }, red: { shape: [splits], strides: [M * cout] } });
    } finally {
      buffers.free(partial);
    }
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands, buffers, reducer }: GpuKernelContext): {
  conv: Kernel<'conv', GpuStorage>;
  convInputGrad: Kernel<'convInputGrad', GpuStorage>;
  convFilterGrad: Kernel<'convFilterGrad', GpuStorage>;
} {
  return { conv: convKernel(commands), convInputGrad: convInputGradKernel(commands), convFilterGrad: convFilterGradKernel(commands, buffers, reducer) };
}
