/**
 * The demo's data, shared by the page (main.ts) and the checkpoint script (make-checkpoint.mjs):
 * smooth periodic scalar fields on an N×N torus (a few random Fourier modes) and, as targets, what a
 * hidden "teacher" ConvContract (scalar → vector, 3×3 filters) makes of them. A student of the same
 * kind can fit the teacher exactly, so the loss can fall by orders of magnitude in seconds.
 */
import * as gc from '../../dist/index.js';

export const N = 16;
export const SCALAR = [{ k: 0, parity: 0, channels: 1 }];
export const VECTOR = [{ k: 1, parity: 0, channels: 1 }];

/** A ConvContract scalar → vector with 3×3 filters (random initialisation from `seed`). */
export const makeModel = (seed) => new gc.ConvContract({ D: 2, input: SCALAR, output: VECTOR, M: 3 }, gc.random.key(seed));

/** `count` smooth periodic N×N fields, packed [count, N, N, 1]. */
export function fields(seed, count) {
  const modes = 4;
  const r = gc.random.uniform(gc.random.key(seed), count * modes * 4);
  const out = new Float32Array(count * N * N);
  for (let b = 0; b < count; b++) {
    for (let m = 0; m < modes; m++) {
      const o = (b * modes + m) * 4;
      const kx = 1 + Math.floor(r[o] * 3),
        ky = Math.floor(r[o + 1] * 3) - 1,
        phase = 2 * Math.PI * r[o + 2],
        amp = 0.5 + r[o + 3];
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) out[(b * N + i) * N + j] += amp * Math.cos((2 * Math.PI * (kx * i + ky * j)) / N + phase);
      }
    }
  }
  return out;
}

/** Inputs (MultiImage of `count` fields) and the teacher's outputs. The caller disposes both. */
export function demoTask(seed, count) {
  const x = new gc.MultiImage(gc.tensor(fields(seed, count), [count, N, N, 1]), SCALAR, 2);
  const teacher = makeModel(1);
  const y = teacher.call(x);
  teacher.dispose();
  return { x, y };
}
