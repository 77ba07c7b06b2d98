/**
 * Equivariance under every element of B_D (D = 2: 8 elements, D = 3: 48): f(g·x) = g·f(x), the right
 * side acting with the output's parity. Relative error (max |diff| / max |value|) <= 1e-5 (ginjax
 * TINY; ref computes in float64, so the actual errors are ~1e-15). Torus images unless stated.
 */
import { describe, it, expect } from 'vitest';
import { random, tidy, type Tensor } from '../../../src/index.js';
import { randomTensor } from '../../util.js';
import { GeometricImage } from '../../../src/geometric/image.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { operators } from '../../../src/geometric/group.js';
import { invariantFilters } from '../../../src/geometric/filters.js';
import type { ConvolveOptions } from '../../../src/geometric/functional.js';
import { expectSameImage, invariantFilterImage, randImg, randomInvariantFilter, vals } from './helpers.js';

const TOL = 1e-5;

/** Asserts f(g·x) = g·f(x) for every g in B_D; returns the number of elements checked. */
function checkEquivariant(x: GeometricImage, f: (im: GeometricImage) => GeometricImage, what: string): number {
  return tidy(() => {
    const fx = f(x);
    for (const g of operators(x.D)) {
      expectSameImage(f(x.timesGroupElement(g)), fx.timesGroupElement(g), TOL, `${what}, g=${g.index} ${JSON.stringify(g.matrix)}`);
    }
    return operators(x.D).length;
  });
}

const cube = (D: number, N: number) => new Array<number>(D).fill(N);

describe('convolveContract with invariant filters is equivariant', () => {
  /** Image k in {0,1,2}, filter k in k..k+2 (kMax caps it), parities 0/1, both odd and even N. */
  function sweep(D: number, Ns: number[], kMax: number, seed0: number): number {
    let seed = seed0;
    let checked = 0;
    for (const N of Ns) {
      for (const k of [0, 1, 2]) {
        for (let kf = k; kf <= Math.min(k + 2, kMax); kf++) {
          for (const pf of [0, 1]) {
            const filter = randomInvariantFilter(seed++, D, 3, kf, pf);
            if (!filter) continue; // e.g. D=2, M=3, (0,1) has no filters
            const px = seed % 2;
            const x = randImg(seed++, cube(D, N), k, px, D);
            const what = `D=${D} N=${N} image (k=${k},p=${px}) filter (k=${kf},p=${pf})`;
            checked += checkEquivariant(x, (im) => im.convolveContract(filter), what);
            expect(x.convolveContract(filter).parity).toBe((px + pf) % 2);
            filter.dispose();
            x.dispose();
          }
        }
      }
    }
    return checked;
  }

  it('D=2, N = 5 and 4, every filter order k..k+2', () => {
    expect(sweep(2, [5, 4], 4, 1000)).toBeGreaterThan(0);
  });

  it('D=3, N = 3 and 4, every filter order k..k+2', () => {
    expect(sweep(3, [3, 4], 4, 2000)).toBeGreaterThan(0);
  });

  it('D=2: each individual M=3 filter (k <= 2, both parities) under convolveWith and convolveContract', () => {
    for (let kf = 0; kf <= 2; kf++) {
      for (const pf of [0, 1]) {
        const { count } = invariantFilters(2, 3, kf, pf);
        for (let i = 0; i < count; i++) {
          const f = invariantFilterImage(2, 3, kf, pf, i);
          const x = randImg(3000 + 10 * kf + i, [5, 5], 0, 0, 2);
          checkEquivariant(x, (im) => im.convolveWith(f), `filter (${kf},${pf}) #${i} convolveWith`);
          if (kf >= 1) {
            const v = randImg(3100 + 10 * kf + i, [4, 4], 1, 1, 2);
            checkEquivariant(v, (im) => im.convolveContract(f), `filter (${kf},${pf}) #${i} convolveContract on a pseudovector`);
          }
        }
      }
    }
  });

  it('dilated torus convolution is equivariant', () => {
    const f = randomInvariantFilter(7, 2, 3, 2, 0)!;
    checkEquivariant(randImg(8, [7, 7], 1, 0, 2), (im) => im.convolveContract(f, { rhsDilation: 2 }), 'D=2 dilation 2');
    const f3 = randomInvariantFilter(9, 3, 3, 1, 0)!;
    // N = 5: with N = 4 the taps x ± 2 coincide mod N and an odd (vector) filter gives exactly 0
    checkEquivariant(randImg(10, [5, 5, 5], 0, 0, 3), (im) => im.convolveContract(f3, { rhsDilation: 2 }), 'D=3 dilation 2');
  });

  it('literal padding ((1,1),)*D on a 2M×2M non-torus image (ginjax testUniqueInvariantFilters), M = 2 and 3', () => {
    const padding = (D: number) => ({ padding: new Array(D).fill([1, 1]) }) as ConvolveOptions;
    let seed = 4000;
    for (const M of [2, 3]) {
      for (let kf = 0; kf <= 2; kf++) {
        for (const pf of [0, 1]) {
          const { count } = invariantFilters(2, M, kf, pf);
          for (let i = 0; i < count; i++) {
            const f = invariantFilterImage(2, M, kf, pf, i);
            for (const k of [0, 1]) {
              const x = randImg(seed++, [2 * M, 2 * M], k, 0, 2, false);
              checkEquivariant(x, (im) => im.convolveWith(f, padding(2)), `D=2 M=${M} filter (${kf},${pf}) #${i} on k=${k}`);
              if (kf >= k) checkEquivariant(x, (im) => im.convolveContract(f, padding(2)), `D=2 M=${M} contract filter (${kf},${pf}) #${i} on k=${k}`);
            }
          }
        }
      }
    }
    // D = 3: random combinations, M = 2 and 3
    for (const M of [2, 3]) {
      for (const [k, kf, pf] of [
        [0, 0, 0],
        [0, 1, 0],
        [1, 1, 0],
        [1, 2, 1],
        [1, 2, 0],
      ] as const) {
        const f = randomInvariantFilter(seed++, 3, M, kf, pf);
        if (!f) continue;
        const x = randImg(seed++, cube(3, 2 * M), k, 1, 3, false);
        checkEquivariant(x, (im) => im.convolveContract(f, padding(3)), `D=3 M=${M} filter (${kf},${pf}) on k=${k}`);
      }
    }
  });

  it('a non-invariant filter is NOT equivariant (the check has teeth)', () => {
    const f = randImg(5, [3, 3], 1, 0, 2);
    expect(() => checkEquivariant(randImg(6, [5, 5], 0, 0, 2), (im) => im.convolveWith(f), 'random filter')).toThrow(/relative error/);
  });
});

describe('pixelwise operations are equivariant', () => {
  it('contraction and multicontraction (D=2 k=4, D=3 k=3)', () => {
    const x2 = randImg(11, [3, 4], 4, 1, 2);
    for (const [i, j] of [
      [0, 1],
      [0, 3],
      [2, 1],
    ] as const)
      checkEquivariant(x2, (im) => im.contract(i, j), `D=2 contract(${i},${j})`);
    checkEquivariant(
      x2,
      (im) =>
        im.multicontract([
          [0, 2],
          [1, 3],
        ]),
      'D=2 multicontract',
    );
    const x3 = randImg(12, [2, 3, 2], 3, 0, 3);
    for (const [i, j] of [
      [0, 1],
      [0, 2],
      [2, 1],
    ] as const)
      checkEquivariant(x3, (im) => im.contract(i, j), `D=3 contract(${i},${j})`);
  });

  it('Levi-Civita contraction (parity + 1)', () => {
    for (const p of [0, 1]) {
      checkEquivariant(randImg(20 + p, [3, 3], 1, p, 2), (im) => im.leviCivitaContract([0]), `D=2 k=1 p=${p}`);
      checkEquivariant(randImg(22 + p, [3, 2], 2, p, 2), (im) => im.leviCivitaContract([1]), `D=2 k=2 p=${p}`);
      checkEquivariant(randImg(24 + p, [2, 2, 3], 2, p, 3), (im) => im.leviCivitaContract([0, 1]), `D=3 k=2 p=${p}`);
      checkEquivariant(randImg(26 + p, [2, 2, 2], 3, p, 3), (im) => im.leviCivitaContract([2, 0]), `D=3 k=3 p=${p}`);
    }
  });

  it('norms (k 0..3, parity 0/1)', () => {
    for (const D of [2, 3]) {
      for (let k = 0; k <= 3; k++) {
        for (const p of [0, 1]) {
          checkEquivariant(randImg(30 + 8 * D + 2 * k + p, D === 2 ? [3, 4] : [2, 3, 2], k, p, D), (im) => im.norm(), `D=${D} k=${k} p=${p} norm`);
        }
      }
    }
  });

  it('tensor products and normalize', () => {
    const a = randImg(40, [4, 3], 1, 1, 2);
    const b = randImg(41, [4, 3], 2, 0, 2);
    // (g·a) ⊗ (g·b) = g·(a ⊗ b)
    for (const g of operators(2)) expectSameImage(a.timesGroupElement(g).mul(b.timesGroupElement(g)), a.mul(b).timesGroupElement(g), TOL, `mul g=${g.index}`);
    checkEquivariant(b, (im) => im.normalize(), 'normalize');
    const c = randImg(42, [2, 2, 2], 1, 1, 3);
    const d = randImg(43, [2, 2, 2], 1, 0, 3);
    for (const g of operators(3))
      expectSameImage(c.timesGroupElement(g).mul(d.timesGroupElement(g)), c.mul(d).timesGroupElement(g), TOL, `D=3 mul g=${g.index}`);
  });
});

describe('pooling and unpooling are equivariant', () => {
  it('max-norm pool (D=2 N=6 patch 2 and 3; D=3 N=4 patch 2), and max pool by value for scalars', () => {
    for (const k of [0, 1, 2]) {
      const x = randImg(50 + k, [6, 6], k, k % 2, 2);
      checkEquivariant(x, (im) => im.maxPool(2), `D=2 k=${k} maxPool 2`);
      checkEquivariant(x, (im) => im.maxPool(3), `D=2 k=${k} maxPool 3`);
      checkEquivariant(randImg(60 + k, [4, 4, 4], k, 1, 3), (im) => im.maxPool(2), `D=3 k=${k} maxPool 2`);
    }
    checkEquivariant(randImg(70, [6, 6], 0, 0, 2), (im) => im.maxPool(2, false), 'maxPool by value');
  });

  it('average pool', () => {
    for (const k of [0, 1, 2]) {
      checkEquivariant(randImg(80 + k, [6, 6], k, 1, 2), (im) => im.averagePool(3), `D=2 k=${k} averagePool 3`);
      checkEquivariant(randImg(85 + k, [4, 4, 4], k, 0, 3), (im) => im.averagePool(2), `D=3 k=${k} averagePool 2`);
    }
  });

  it('unpool (also on non-square images)', () => {
    for (const k of [0, 1, 2]) {
      checkEquivariant(randImg(90 + k, [2, 3], k, 1, 2), (im) => im.unpool(2), `D=2 k=${k} unpool 2`);
      checkEquivariant(randImg(95 + k, [2, 1, 2], k, 0, 3), (im) => im.unpool(2), `D=3 k=${k} unpool 2`);
    }
  });
});

describe('MultiImage.timesGroupElement equals per-key GeometricImage actions', () => {
  function multi(D: number, spatial: number[], isTorus: boolean[], seed: number): MultiImage {
    const keys: [number, number, number][] = [
      [0, 0, 2],
      [0, 1, 1],
      [1, 0, 2],
      [1, 1, 1],
      [2, 0, 1],
      [2, 1, 2],
    ];
    const B = 2;
    const blocks: Record<string, Tensor> = {};
    for (const [k, p, c] of keys) {
      const shape = [B, c, ...spatial, ...new Array(k).fill(D)];
      blocks[`${k},${p}`] = randomTensor(random.key(seed++), shape);
    }
    return MultiImage.fromBlocks(blocks, D, isTorus);
  }

  for (const D of [2, 3]) {
    it(`D=${D}, non-square, partial torus, every element`, () => {
      const spatial = D === 2 ? [3, 4] : [2, 3, 2];
      const torus = D === 2 ? [true, false] : [false, true, true];
      const x = tidy(() => multi(D, spatial, torus, 100 * D));
      const images = x.toImages();
      expect(images.length).toBe(2 * (2 + 1 + 2 + 1 + 1 + 2));
      for (const g of operators(D)) {
        tidy(() => {
          const y = x.timesGroupElement(g);
          expect([...y.isTorus]).toEqual([...images[0]!.timesGroupElement(g).isTorus]);
          const out = y.toImages();
          out.forEach((im, i) => expectSameImage(im, images[i]!.timesGroupElement(g), 0, `D=${D} g=${g.index} image ${i}`));
        });
      }
      expect(vals(images[0]!).length).toBe(spatial.reduce((a, b) => a * b, 1));
    });
  }
});
