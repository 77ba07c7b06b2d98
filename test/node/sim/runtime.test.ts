/**
 * The simulator's golden run (test/node/sim/golden.ts), which the Deno and browser suites compare
 * with through the built bundle. Also checks that the comparison has teeth: a one-ulp change of one
 * float32 output value changes its digest, and a 1e-10 relative change of one float64 state value
 * fails the comparison.
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../../src/index.js';
import { digest, goldenCompare, goldenRun, projections } from './golden.js';

describe('simulator golden run (shared with Deno and Chromium)', () => {
  it('Node reproduces the recorded run bit for bit', () => {
    const run = goldenRun(gc);
    console.log(JSON.stringify(run));
    const { failures, bitIdentical } = goldenCompare(run);
    expect(failures).toEqual([]);
    expect(bitIdentical).toBe(true);
  });

  it('the comparison sees small changes', () => {
    const a = new Float32Array([1, 2, 3]);
    const b = Float32Array.from(a);
    new Uint32Array(b.buffer)[1]! += 1;
    expect(digest(a)).not.toBe(digest(b));
    expect(digest(a)).toBe(digest(Float32Array.from(a)));
    const run = goldenRun(gc);
    const state = [...run.state];
    state[3] = state[3]! * (1 + 1e-10);
    expect(goldenCompare({ ...run, state }).failures.length).toBe(1);
    const w = Float64Array.from({ length: 256 }, (_, i) => Math.sin(i));
    const p = projections(w);
    w[77] = w[77]! * (1 + 1e-9);
    const q = projections(w);
    expect(q.slice(0, 4).some((v, i) => Math.abs(v - p[i]!) > 1e-12 * p[4]!)).toBe(true);
  });
});
