import { describe, expect, it } from 'vitest';
import { fftn, fftFreqInt, plan1 } from '../../../src/core/fft.js';

/** The definition, O(n²), as the oracle. */
function dft(re: number[], im: number[], inverse: boolean): [number[], number[]] {
  const n = re.length,
    s = inverse ? 1 : -1;
  const outR: number[] = [],
    outI: number[] = [];
  for (let k = 0; k < n; k++) {
    let r = 0,
      i = 0;
    for (let j = 0; j < n; j++) {
      const a = (s * 2 * Math.PI * ((j * k) % n)) / n;
      r += re[j]! * Math.cos(a) - im[j]! * Math.sin(a);
      i += re[j]! * Math.sin(a) + im[j]! * Math.cos(a);
    }
    outR.push(inverse ? r / n : r);
    outI.push(inverse ? i / n : i);
  }
  return [outR, outI];
}

function rand(n: number, seed: number): number[] {
  let s = seed;
  return Array.from({ length: n }, () => (s = (s * 1103515245 + 12345) % 2 ** 31) / 2 ** 31 - 0.5);
}

describe('fft', () => {
  for (const n of [1, 2, 3, 5, 8, 12, 16, 96, 100, 192]) {
    for (const inverse of [false, true]) {
      it(`length ${n} ${inverse ? 'inverse' : 'forward'} equals the DFT definition`, () => {
        const re = rand(n, n),
          im = rand(n, n + 7);
        const [er, ei] = dft(re, im, inverse);
        const input = new Float64Array(2 * n),
          out = new Float64Array(2 * n);
        re.forEach((v, j) => {
          input[2 * j] = v;
          input[2 * j + 1] = im[j]!;
        });
        plan1(n).transform(out, input, inverse);
        const scale = Math.max(1, ...er.map(Math.abs), ...ei.map(Math.abs));
        for (let k = 0; k < n; k++) {
          expect(Math.abs(out[2 * k]! - er[k]!) / scale).toBeLessThan(1e-12);
          expect(Math.abs(out[2 * k + 1]! - ei[k]!) / scale).toBeLessThan(1e-12);
        }
      });
    }
  }

  it('fftn over a 2-D non-square array equals row then column DFTs, and ifftn inverts it', () => {
    const nx = 6,
      ny = 8;
    const re0 = Float64Array.from(rand(nx * ny, 3)),
      im0 = Float64Array.from(rand(nx * ny, 4));
    const re = re0.slice(),
      im = im0.slice();
    fftn(re, im, [nx, ny]);
    // oracle: X[a,b] = Σ x[i,j] e^{-2πi(ai/nx + bj/ny)}
    for (const [a, b] of [
      [0, 0],
      [1, 3],
      [5, 7],
      [2, 4],
    ] as const) {
      let r = 0,
        i = 0;
      for (let x = 0; x < nx; x++)
        for (let y = 0; y < ny; y++) {
          const t = -2 * Math.PI * ((a * x) / nx + (b * y) / ny);
          r += re0[x * ny + y]! * Math.cos(t) - im0[x * ny + y]! * Math.sin(t);
          i += re0[x * ny + y]! * Math.sin(t) + im0[x * ny + y]! * Math.cos(t);
        }
      expect(re[a * ny + b]).toBeCloseTo(r, 10);
      expect(im[a * ny + b]).toBeCloseTo(i, 10);
    }
    fftn(re, im, [nx, ny], true);
    for (let j = 0; j < nx * ny; j++) {
      expect(re[j]).toBeCloseTo(re0[j]!, 12);
      expect(im[j]).toBeCloseTo(im0[j]!, 12);
    }
  });

  it('fftFreqInt is numpy fftfreq(n)·n', () => {
    expect(Array.from(fftFreqInt(5))).toEqual([0, 1, 2, -2, -1]);
    expect(Array.from(fftFreqInt(4))).toEqual([0, 1, -2, -1]);
  });

  it('refuses bad lengths and mismatched buffers', () => {
    expect(() => plan1(0)).toThrow(/fft: length must be an integer >= 1/);
    expect(() => fftn(new Float64Array(4), new Float64Array(3), [2, 2])).toThrow(/fftn: re and im must be of length 4/);
  });
});
