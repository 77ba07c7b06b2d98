/**
 * The reference backend: plain TypeScript loops over Float64Array storage. It is the executable
 * specification that every other backend is tested against, and float64 makes finite-difference
 * gradient checks meaningful. Never optimised.
 */
import type { Backend } from '../backend.js';
import { binary } from './binary.js';
import { concat } from './concat.js';
import { conv, convFilterGrad, convInputGrad } from './conv.js';
import { gather, scatterAdd } from './gather.js';
import { matmul } from './matmul.js';
import { maxPool, maxPoolGrad } from './pool.js';
import { reduce } from './reduce.js';
import { strided } from './strided.js';
import { unary } from './unary.js';

const ref: Backend<Float64Array> = {
  name: 'ref',
  alloc: (size) => new Float64Array(size),
  free: () => {},
  write: (s, data) => s.set(data),
  read: async (s) => Float32Array.from(s),
  readSync: (s) => Float32Array.from(s),
  kernels: { unary, binary, reduce, matmul, gather, scatterAdd, strided, concat, conv, convInputGrad, convFilterGrad, maxPool, maxPoolGrad },
  describe: () => 'ref: plain TypeScript, float64 (the reference)',
};

/** The ref backend (one per process; its kernels import nothing from the front end, so it is a plain constant). */
export function refBackend(): Backend<Float64Array> {
  return ref;
}
