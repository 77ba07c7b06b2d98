/**
 * The wasm unary and binary kernels: op codes read from the module's exports (checked against the
 * ref ops, so a missing code fails at start), one SIMD loop per call, split over the threads above
 * the elementwise threshold; binary broadcasting is planned by `binaryPlan` (params.ts).
 */
import { sizeOf } from '../../core/shape.js';
import type { BinaryOp, Kernel, UnaryOp } from '../../ops/op.js';
import { BINARY } from '../ref/binary.js';
import { UNARY } from '../ref/unary.js';
import { opCode, type KernelExports } from './loader.js';
import { binaryPlan } from './params.js';
import { writeBinarySamePart, writeUnaryPart } from '../../generated/params.js';
import { ELEMENTWISE_WORK } from './conv.js';
import type { WasmKernelContext } from './kernels.js';

function codes<Op extends string>(ex: KernelExports, prefix: string, ops: readonly Op[]): Record<Op, number> {
  return Object.fromEntries(ops.map((op) => [op, opCode(ex, prefix, op)])) as Record<Op, number>;
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, params, exec }: WasmKernelContext): { unary: Kernel<'unary', number>; binary: Kernel<'binary', number> } {
  // The ref records are typed Record<UnaryOp | BinaryOp, …>, so their keys are every op.
  const unaryCode = codes(ex, 'UNARY', Object.keys(UNARY) as UnaryOp[]);
  const binaryCode = codes(ex, 'BINARY', Object.keys(BINARY) as BinaryOp[]);

  const unary: Kernel<'unary', number> = (out, [x], { op }, shapes) => {
    const n = sizeOf(shapes.out);
    if (n === 0) return;
    if (exec.threads > 1) exec.run('unaryPart', params.write(writeUnaryPart({ op: unaryCode[op], x: x!, y: out, n })), n * ELEMENTWISE_WORK);
    else ex.unary(unaryCode[op], x!, out, n);
  };

  const binary: Kernel<'binary', number> = (out, [a, b], { op }, shapes) => {
    const plan = binaryPlan(shapes.inputs[0]!, shapes.inputs[1]!, shapes.out);
    const code = binaryCode[op];
    switch (plan.kind) {
      case 'empty':
        return;
      case 'same':
        if (exec.threads > 1)
          return exec.run('binarySamePart', params.write(writeBinarySamePart({ op: code, a: a!, b: b!, o: out, n: plan.n })), plan.n * ELEMENTWISE_WORK);
        return ex.binarySame(code, a!, b!, out, plan.n);
      case 'scalarA':
        return ex.binaryScalarA(code, a!, b!, out, plan.n);
      case 'scalarB':
        return ex.binaryScalarB(code, a!, b!, out, plan.n);
      case 'strided':
        return ex.binaryStrided(code, a!, b!, out, params.write(plan.params));
    }
  };
  return { unary, binary };
}
