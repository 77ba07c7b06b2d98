/**
 * Documented resource limits (issue 12, item 2): sizes that cannot finish are refused up front with
 * a message naming the limit, quickly and without leaking; sizes inside the limits still work.
 */
import { availableParallelism } from 'node:os';
import { describe, expect, it } from 'vitest';
import { init, memory, setBackend, tensor, zeros } from '../../src/index.js';
import { limits } from '../../src/core/limits.js';
import { filterCount, invariantFilters } from '../../src/geometric/filters.js';
import { main } from '../../src/cli.js';

setBackend('ref');

/** Runs fn and returns how long it took (ms) and the error it threw. */
function timed(fn: () => unknown): { ms: number; error: Error | null } {
  const t0 = performance.now();
  try {
    fn();
    return { ms: performance.now() - t0, error: null };
  } catch (e) {
    return { ms: performance.now() - t0, error: e as Error };
  }
}

describe('tensor size', () => {
  it('zeros([1e5, 1e5]) is refused by the element limit, not "Invalid typed array length"', () => {
    const before = memory();
    const { error } = timed(() => zeros([1e5, 1e5]));
    expect(error?.message).toMatch(
      /full: shape must be of at most 2\^30 elements \(limits\.maxTensorElements\) \(got "\[100000,100000\], 10000000000 elements"\)/,
    );
    expect(memory()).toEqual(before);
  });

  it('an allocation over the element limit is refused for every maker (tensor, full, ops)', () => {
    expect(() => tensor(new Float32Array(0), [2 ** 16, 2 ** 16, 0])).not.toThrow(); // zero elements are fine
    const rank = new Array(limits.maxRank + 1).fill(1);
    expect(() => zeros(rank)).toThrow(/rank <= 32 \(limits\.maxRank\)/);
    expect(() => tensor([1], rank)).toThrow(/rank <= 32 \(limits\.maxRank\)/);
  });

  it('just below the limit is not refused by the check (a small tensor of rank 32 works)', () => {
    const t = zeros(new Array(limits.maxRank).fill(1));
    expect(t.size).toBe(1);
    t.dispose();
  });
});

describe('invariant filters', () => {
  it('D = 3, M = 5, k = 3 (both parities) finishes in under a second and matches the count formula', () => {
    for (const p of [0, 1]) {
      const { ms, error } = timed(() => invariantFilters(3, 5, 3, p, 'one'));
      expect(error).toBeNull();
      expect(ms).toBeLessThan(1000);
      expect(invariantFilters(3, 5, 3, p, 'one').count).toBe(filterCount(3, 5, 3, p));
    }
  });

  for (const [D, M, k, what] of [
    [2, 3, 40, /k must be an integer <= 8 \(limits\.maxTensorOrder\)/],
    [2, 3, 24, /k must be an integer <= 8 \(limits\.maxTensorOrder\)/],
    [3, 301, 0, /M must be an integer <= 65 \(limits\.maxFilterSide\)/],
    [3, 21, 2, /limits\.maxFilterWork/],
    [3, 15, 3, /limits\.maxFilterWork/],
  ] as const) {
    it(`invariantFilters(${D}, ${M}, ${k}, 0) is refused at once`, () => {
      const { ms, error } = timed(() => invariantFilters(D, M, k, 0));
      expect(error?.message).toMatch(what);
      expect(ms).toBeLessThan(200);
    });
  }

  it('geoconv filters --D 3 --M 301 and --D 2 --M 3 --k 40 exit with 2 at once', async () => {
    const err: string[] = [];
    for (const argv of [
      ['filters', '--D', '3', '--M', '301', '--k', '0'],
      ['filters', '--D', '2', '--M', '3', '--k', '40'],
    ]) {
      const t0 = performance.now();
      expect(
        await main(
          argv,
          () => undefined,
          (s) => err.push(s),
        ),
      ).toBe(2);
      expect(performance.now() - t0).toBeLessThan(500);
    }
    expect(err.join('\n')).toMatch(/limits\.maxFilterSide/);
    expect(err.join('\n')).toMatch(/limits\.maxTensorOrder/);
  });
});

describe('threads', () => {
  it('init({ threads: 1000 }) is refused, also with allowOversubscription (limits.maxThreads)', async () => {
    await expect(init({ backend: 'wasm', threads: 1000 })).rejects.toThrow(/init: threads must be <= 64 \(limits\.maxThreads\)/);
    await expect(init({ backend: 'wasm', threads: 1000, allowOversubscription: true })).rejects.toThrow(/limits\.maxThreads/);
    setBackend('ref');
  });

  it('more threads than hardware threads are refused unless allowOversubscription', async () => {
    const hw = Math.max(
      (globalThis as { navigator?: { hardwareConcurrency?: number } }).navigator?.hardwareConcurrency ?? availableParallelism(),
      limits.minThreadsAllowed,
    );
    await expect(init({ backend: 'wasm', threads: hw + 1 })).rejects.toThrow(new RegExp(`init: threads must be <= ${hw} .*allowOversubscription: true`));
    await expect(init({ backend: 'ref', allowOversubscription: 'yes' as never })).rejects.toThrow(/allowOversubscription must be a boolean/);
    setBackend('ref');
  });
});
