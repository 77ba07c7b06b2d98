/**
 * The reference backend: plain TypeScript loops over Float64Array storage. It is the executable
 * specification that every other backend is tested against, and float64 makes finite-difference
 * gradient checks meaningful. Never optimised.
 */
import type { Backend } from '../backend.js';
import { refKernels } from '../../generated/kernels-ref.js';

const ref: Backend<Float64Array> = {
  name: 'ref',
  alloc: (size) => new Float64Array(size),
  free: () => {},
  write: (s, data) => s.set(data),
  read: async (s) => Float32Array.from(s),
  readSync: (s) => Float32Array.from(s),
  // Assembled from each kernel file's `kernels` export (scripts/gen-kernels.mjs); typed complete.
  kernels: refKernels,
  describe: () => 'ref: plain TypeScript, float64 (the reference)',
};

/** The ref backend (one per process; its kernels import nothing from the front end, so it is a plain constant). */
export function refBackend(): Backend<Float64Array> {
  return ref;
}
