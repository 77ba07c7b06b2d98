import { describe, expect, it } from 'vitest';
import { GeometricImage, geometric, random, tidy } from '../../../src/index.js';

const { contractionIndices, kroneckerDelta } = geometric;

describe('contractionIndices (ginjax get_contraction_indices)', () => {
  it('gives ginjax tested counts', () => {
    expect(contractionIndices(3, 1)).toHaveLength(3);
    expect(contractionIndices(3, 1, [[0, 1]])).toHaveLength(2);
    expect(contractionIndices(5, 3)).toHaveLength(10);
    expect(contractionIndices(5, 1)).toHaveLength(15);
    expect(contractionIndices(5, 1, [[0, 1]])).toHaveLength(9);
    expect(
      contractionIndices(5, 1, [
        [0, 1],
        [2, 3],
      ]),
    ).toHaveLength(6);
    expect(contractionIndices(3, 1)).toEqual([[[0, 1]], [[0, 2]], [[1, 2]]]);
    expect(contractionIndices(3, 1, [[0, 1]])).toEqual([[[0, 1]], [[0, 2]]]);
    expect(contractionIndices(4, 4)).toEqual([[]]);
  });

  it('swappable indices: the lists dropped give the same results on a tensor symmetric in them', async () => {
    // T_{abc} symmetric in (a, b): contracting (1, 2) equals contracting (0, 2), which is the one kept.
    const data = random.normal(random.key(1), 3 * 3 * 8);
    const sym = new Float32Array(data.length);
    for (let p = 0; p < 9; p++)
      for (let a = 0; a < 2; a++)
        for (let b = 0; b < 2; b++)
          for (let c = 0; c < 2; c++) {
            sym[p * 8 + a * 4 + b * 2 + c] = data[p * 8 + a * 4 + b * 2 + c]! + data[p * 8 + b * 4 + a * 2 + c]!;
          }
    const img = GeometricImage.from(sym, 0, 2, true, [3, 3, 2, 2, 2]);
    const [kept, dropped] = tidy(() => [img.contract(0, 2).data, img.contract(1, 2).data]);
    expect(Array.from(await dropped!.data())).toEqual(Array.from(await kept!.data()));
  });

  it('rejects impossible orders', () => {
    expect(() => contractionIndices(3, 2)).toThrow(
      /contractionIndices: initialK, finalK must be integers with initialK >= finalK >= 0 and an even difference \(got \[3,2\]\)/,
    );
  });
});

describe('Kronecker delta (ginjax KroneckerDeltaSymbol, get_kronecker_delta_image)', () => {
  it('has ones exactly where all indices agree', () => {
    expect(Array.from(kroneckerDelta(2, 2))).toEqual([1, 0, 0, 1]);
    const d3 = kroneckerDelta(3, 3);
    expect([...d3.keys()].filter((i) => d3[i] === 1)).toEqual([0, 13, 26]);
  });

  it('contracting image ⊗ δ over δ gives D·image; over one index of each gives the image (ginjax testKroneckerAdd)', async () => {
    for (const D of [2, 3]) {
      const N = D === 2 ? 4 : 3;
      const v = GeometricImage.from(random.normal(random.key(D), N ** D * D), 0, D, true, [...new Array(D).fill(N), D]);
      const delta = GeometricImage.kroneckerDelta(N, D, 2);
      const prod = v.mul(delta); // indices: v's a, then δ's (b, c)
      const traced = prod.contract(1, 2);
      const mixed = prod.contract(0, 1);
      const want = await v.values();
      const got = await traced.values();
      got.forEach((x, i) => expect(x).toBeCloseTo(D * want[i]!, 5));
      expect(Array.from(await mixed.values()).map((x) => +x.toFixed(5))).toEqual(Array.from(want).map((x) => +x.toFixed(5)));
    }
  });
});

describe('GeometricImage.pixel (torus indexing, ginjax hash)', () => {
  it('wraps indices modulo the spatial sizes', async () => {
    const img = GeometricImage.from(
      Array.from({ length: 4 * 5 * 2 }, (_, i) => i),
      0,
      2,
      true,
      [4, 5, 2],
    );
    expect(Array.from(await img.pixel([1, 2]))).toEqual([14, 15]);
    expect(Array.from(await img.pixel([-3, 7]))).toEqual([14, 15]);
    await expect(img.pixel([1])).rejects.toThrow(/pixel: index must be 2 integers \(got \[1\]\)/);
  });
});
