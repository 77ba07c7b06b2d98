import { describe, expect, it } from 'vitest';
import { random } from '../../../src/index.js';

describe('random.key', () => {
  it('takes safe integers only, with a clear error', () => {
    for (const bad of [1.5, NaN, Infinity, 2 ** 53, '7' as unknown as number, null as unknown as number]) {
      expect(() => random.key(bad)).toThrow(/random\.key: seed must be a safe integer/);
    }
  });

  it('gives distinct keys to seeds that share a low word, including negative ones', () => {
    const seeds = [0, 1, -1, 2 ** 32 - 1, 2 ** 32, -(2 ** 32), 2 ** 53 - 1, -(2 ** 53 - 1)];
    const keys = seeds.map((s) => random.key(s).join(','));
    expect(new Set(keys).size).toBe(seeds.length);
  });

  it('keeps the keys of non-negative seeds as before (data, initial weights and batches stay reproducible)', () => {
    // values of the previous implementation (every seed >= 0 maps as before)
    expect(random.key(0)).toEqual([0, 2462723854]);
    expect(random.key(7)).toEqual([415870660, 2462723854]);
    expect(random.key(2 ** 40 + 5)).toEqual([3423425485, 2581923472]);
  });
});
