/**
 * The wasm kernel table: every op has a native kernel that calls assembly/ directly on heap offsets;
 * the table type keeps it complete.
 */
import { sizeOf } from '../../core/shape.js';
import type { BinaryOp, Kernel, KernelTable, UnaryOp } from '../../ops/op.js';
import { BINARY } from '../ref/binary.js';
import { UNARY } from '../ref/unary.js';
import { opCode, type KernelExports } from './loader.js';
import type { WasmHeap } from './memory.js';
import { binaryPlan } from './params.js';
import { writeBinarySamePart, writeUnaryPart } from '../../generated/params.js';
import { createConcat } from './concat.js';
import { createGather } from './gather.js';
import { createMatmul } from './matmul.js';
import { createPool } from './pool.js';
import { createReduce } from './reduce.js';
import { createStrided } from './strided.js';
import { createConvKernels, ELEMENTWISE_WORK, type Executor } from './conv.js';

/** A reusable Int32 parameter block in the heap (grown on demand, never freed while the backend lives). */
class ParamBlock {
  #ptr: number;
  #bytes: number;
  constructor(private readonly heap: WasmHeap, bytes = 256) {
    this.#ptr = heap.alloc(bytes);
    this.#bytes = bytes;
  }

  /** Copies `p` into the block; returns its byte offset. */
  write(p: Int32Array): number {
    if (p.byteLength > this.#bytes) {
      this.heap.free(this.#ptr);
      this.#bytes = Math.max(p.byteLength, 2 * this.#bytes);
      this.#ptr = this.heap.alloc(this.#bytes);
    }
    this.heap.i32().set(p, this.#ptr >>> 2);
    return this.#ptr;
  }
}

function codes<Op extends string>(ex: KernelExports, prefix: string, ops: readonly Op[]): Record<Op, number> {
  return Object.fromEntries(ops.map((op) => [op, opCode(ex, prefix, op)])) as Record<Op, number>;
}

/** One thread: every parallel kernel runs as part 0 of 1 on the calling thread. */
export const singleThread = (ex: KernelExports): Executor => ({
  threads: 1,
  run: (fn, params) => ex[fn](params, 0, 1),
});

export function createKernels(ex: KernelExports, heap: WasmHeap, exec: Executor = singleThread(ex)): KernelTable<number> {
  // The ref records are typed Record<UnaryOp | BinaryOp, …>, so their keys are every op.
  const unaryCode = codes(ex, 'UNARY', Object.keys(UNARY) as UnaryOp[]);
  const binaryCode = codes(ex, 'BINARY', Object.keys(BINARY) as BinaryOp[]);
  const params = new ParamBlock(heap);

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
      case 'empty': return;
      case 'same':
        if (exec.threads > 1) return exec.run('binarySamePart', params.write(writeBinarySamePart({ op: code, a: a!, b: b!, o: out, n: plan.n })), plan.n * ELEMENTWISE_WORK);
        return ex.binarySame(code, a!, b!, out, plan.n);
      case 'scalarA': return ex.binaryScalarA(code, a!, b!, out, plan.n);
      case 'scalarB': return ex.binaryScalarB(code, a!, b!, out, plan.n);
      case 'strided': return ex.binaryStrided(code, a!, b!, out, params.write(plan.params));
    }
  };

  const indexMaps = createGather(heap, params, exec);
  const pool = createPool(ex, params);

  return {
    unary,
    binary,
    reduce: createReduce(ex, heap, params),
    matmul: createMatmul(ex, heap, params, exec),
    gather: indexMaps.gather,
    scatterAdd: indexMaps.scatterAdd,
    strided: createStrided(heap, params, exec),
    concat: createConcat(ex, params),
    ...createConvKernels(ex, heap, exec),
    maxPool: pool.maxPool,
    maxPoolGrad: pool.maxPoolGrad,
  };
}
