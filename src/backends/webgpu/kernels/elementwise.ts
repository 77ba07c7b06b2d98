/**
 * webgpu kernels: elementwise unary (shaders/unary.wgsl) and binary with broadcasting
 * (shaders/binary.wgsl), blocks `unaryGpu` and `binaryGpu` of src/backends/kernelParams.ts.
 */
import type { ShaderName } from '../../../generated/shaders.js';
import { broadcastStrides } from '../../../core/shape.js';
import { collapseBroadcast } from '../../../core/kernel-geometry.js';
import type { BinaryOp, Kernel, UnaryOp } from '../../../ops/op.js';
import { writeBinaryGpu, writeUnaryGpu } from '../../../generated/params.js';
import type { GpuStorage } from '../buffers.js';
import type { Commands } from '../commands.js';
import type { GpuKernelContext } from '../index.js';

/** Op codes of shaders/unary.wgsl (`const OP_<NAME>: u32 = <code>u;`; checked at start-up). */
export const UNARY_CODES: Readonly<Record<UnaryOp, number>> = {
  neg: 0,
  abs: 1,
  sign: 2,
  square: 3,
  sqrt: 4,
  recip: 5,
  exp: 6,
  log: 7,
  relu: 8,
  step: 9,
  tanh: 10,
  sigmoid: 11,
  gelu: 12,
  geluGrad: 13,
};

/** Op codes of shaders/binary.wgsl. */
export const BINARY_CODES: Readonly<Record<BinaryOp, number>> = {
  add: 0,
  sub: 1,
  mul: 2,
  div: 3,
  max: 4,
  min: 5,
  ge: 6,
  eq: 7,
};

/** Axes the binary shader's Params hold (after collapsing). */
export const BINARY_MAX_RANK = 16;

/** Checks that `codes` match the `const OP_<NAME>: u32 = <n>u;` declarations of a shader source. */
export function checkOpCodes(shader: ShaderName, source: string, codes: Readonly<Record<string, number>>): void {
  for (const [op, code] of Object.entries(codes)) {
    const name = `OP_${op.replace(/[A-Z]/g, (c) => `_${c}`).toUpperCase()}`;
    const m = new RegExp(`const\\s+${name}\\s*:\\s*u32\\s*=\\s*(\\d+)u\\s*;`).exec(source);
    if (!m || Number(m[1]) !== code) {
      throw new Error(`webgpu: shaders/${shader}.wgsl declares ${m ? `${name} = ${m[1]}` : `no ${name}`}, but the kernel uses code ${code} for '${op}'`);
    }
  }
}

export function unaryKernel(commands: Commands): Kernel<'unary', GpuStorage> {
  return (out, [x], { op }) => {
    const code = UNARY_CODES[op];
    if (code === undefined) throw new RangeError(`webgpu: unary: unknown op ${JSON.stringify(op)}`);
    const n = out.size;
    if (n === 0) return;
    commands.dispatch('unary', writeUnaryGpu({ op: code, n }), [x!, out], n);
  };
}

export function binaryKernel(commands: Commands): Kernel<'binary', GpuStorage> {
  return (out, [a, b], { op }, shapes) => {
    const code = BINARY_CODES[op];
    if (code === undefined) throw new RangeError(`webgpu: binary: unknown op ${JSON.stringify(op)}`);
    const n = out.size;
    if (n === 0) return;
    const geo = collapseBroadcast(shapes.out, [broadcastStrides(shapes.inputs[0]!, shapes.out), broadcastStrides(shapes.inputs[1]!, shapes.out)]);
    const rank = geo.shape.length;
    if (rank > BINARY_MAX_RANK) {
      throw new RangeError(
        `webgpu: binary: broadcasting ${JSON.stringify(shapes.inputs[0])} with ${JSON.stringify(shapes.inputs[1])} ` +
          `needs ${rank} axes after merging; the kernel supports ${BINARY_MAX_RANK}`,
      );
    }
    const params = writeBinaryGpu({ op: code, n, rank, shape: geo.shape, sa: geo.strides[0]!, sb: geo.strides[1]! });
    commands.dispatch('binary', params, [a!, b!, out], n);
  };
}

/** This file's entries of the webgpu kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ commands }: GpuKernelContext): { unary: Kernel<'unary', GpuStorage>; binary: Kernel<'binary', GpuStorage> } {
  return { unary: unaryKernel(commands), binary: binaryKernel(commands) };
}
