/**
 * The wasm kernel table. Native kernels call assembly/ directly on heap offsets; every op without
 * a native kernel yet has an explicit `viaRef(op)` entry that runs the reference kernel on a
 * float64 copy and writes the result back as float32 (correct, not fast). Making an op native means
 * replacing its `viaRef` entry; the table type keeps it complete.
 */
import { sizeOf } from '../../core/shape.js';
import type { BinaryOp, Kernel, KernelTable, OpName, UnaryOp } from '../../ops/op.js';
import { BINARY } from '../ref/binary.js';
import { refBackend } from '../ref/index.js';
import { UNARY } from '../ref/unary.js';
import { opCode, type KernelExports } from './loader.js';
import type { WasmHeap } from './memory.js';
import { binaryPlan } from './params.js';
import { createConcat } from './concat.js';
import { createGather } from './gather.js';
import { createMatmul } from './matmul.js';
import { createPool } from './pool.js';
import { createReduce } from './reduce.js';
import { createConvKernels, type ConvExports, type Executor } from './conv.js';

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

const fallbacks = new WeakSet<object>();

/** Whether a table entry is the generic ref fallback. */
export const isFallback = (k: object): boolean => fallbacks.has(k);

/**
 * The fallback kernel for `op`: inputs read from wasm memory into Float64Array, the ref kernel
 * (src/backends/ref, the spec) run on them, the result written back as float32. The output buffer
 * starts zeroed, as ref storage does.
 */
export function viaRef<K extends OpName>(op: K, heap: WasmHeap): Kernel<K, number> {
  const ref = refBackend().kernels[op] as Kernel<K, Float64Array>;
  const k: Kernel<K, number> = (out, inputs, attrs, shapes) => {
    const f32 = heap.f32();
    const ins = inputs.map((p, i) => {
      const at = p >>> 2;
      return new Float64Array(f32.subarray(at, at + sizeOf(shapes.inputs[i]!)));
    });
    const res = new Float64Array(sizeOf(shapes.out));
    ref(res, ins, attrs, shapes);
    heap.f32().set(res, out >>> 2);
  };
  fallbacks.add(k);
  return k;
}

function codes<Op extends string>(ex: KernelExports, prefix: string, ops: readonly Op[]): Record<Op, number> {
  return Object.fromEntries(ops.map((op) => [op, opCode(ex, prefix, op)])) as Record<Op, number>;
}

/** One thread: every parallel kernel runs as part 0 of 1 on the calling thread. */
export const singleThread = (ex: KernelExports): Executor => ({
  threads: 1,
  run: (fn, params) => (ex as unknown as ConvExports)[fn](params, 0, 1),
});

export function createKernels(ex: KernelExports, heap: WasmHeap, exec: Executor = singleThread(ex)): KernelTable<number> {
  // The ref records are typed Record<UnaryOp | BinaryOp, …>, so their keys are every op.
  const unaryCode = codes(ex, 'UNARY', Object.keys(UNARY) as UnaryOp[]);
  const binaryCode = codes(ex, 'BINARY', Object.keys(BINARY) as BinaryOp[]);
  const params = new ParamBlock(heap);

  const unary: Kernel<'unary', number> = (out, [x], { op }, shapes) => {
    const n = sizeOf(shapes.out);
    if (n > 0) ex.unary(unaryCode[op], x!, out, n);
  };

  const binary: Kernel<'binary', number> = (out, [a, b], { op }, shapes) => {
    const plan = binaryPlan(shapes.inputs[0]!, shapes.inputs[1]!, shapes.out);
    const code = binaryCode[op];
    switch (plan.kind) {
      case 'empty': return;
      case 'same': return ex.binarySame(code, a!, b!, out, plan.n);
      case 'scalarA': return ex.binaryScalarA(code, a!, b!, out, plan.n);
      case 'scalarB': return ex.binaryScalarB(code, a!, b!, out, plan.n);
      case 'strided': return ex.binaryStrided(code, a!, b!, out, params.write(plan.params));
    }
  };

  const indexMaps = createGather(ex, heap, params);
  const pool = createPool(ex, params);

  return {
    unary,
    binary,
    reduce: createReduce(ex, heap, params),
    matmul: createMatmul(ex, heap, params),
    gather: indexMaps.gather,
    scatterAdd: indexMaps.scatterAdd,
    concat: createConcat(ex, params),
    ...createConvKernels(ex as KernelExports & ConvExports, heap, exec),
    maxPool: pool.maxPool,
    maxPoolGrad: pool.maxPoolGrad,
  };
}
