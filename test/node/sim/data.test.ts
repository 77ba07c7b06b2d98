/**
 * simulateNavierStokes as a data source: B_2-equivariance of the solver (transform the initial
 * condition and the forcing by g → the trajectory transforms, vorticity as a pseudoscalar and
 * velocity as a vector), reproducibility from a seed, the random initial field's spectrum, the
 * MultiImage conversion consumed by batchTimeSeries, the default flow (non-trivial, smooth), and the
 * errors for bad options.
 */
import { describe, expect, it } from 'vitest';
import { memory, tidy } from '../../../src/index.js';
import { NavierStokesSolver, navierStokesToMultiImage, simulateNavierStokes, type NavierStokesResult } from '../../../src/sim/navier-stokes.js';
import { actionMap, operators } from '../../../src/geometric/group.js';
import { batchTimeSeries } from '../../../src/train/data.js';
import { fftFreqInt, fftn } from '../../../src/core/fft.js';
import { key, split } from '../../../src/core/random.js';

const TAU = 2 * Math.PI;

/** The action of g on a [frames, N, N, (2)] stack of images of tensor order k and parity p. */
function act(
  g: typeof operators extends (D: number) => readonly (infer E)[] ? E : never,
  data: ArrayLike<number>,
  N: number,
  k: 0 | 1,
  parity: 0 | 1,
  frames: number,
): Float64Array {
  const map = actionMap(g, [N, N], k, parity);
  const per = map.index.length;
  const out = new Float64Array(frames * per);
  for (let f = 0; f < frames; f++) {
    for (let o = 0; o < per; o++) out[f * per + o] = map.sign[o]! * data[f * per + map.index[o]!]!;
  }
  return out;
}

/** Interleaves (vx, vy) into [.., N, N, 2]. */
const vectorField = (r: NavierStokesResult) => Float64Array.from({ length: 2 * r.vx.length }, (_, i) => (i % 2 ? r.vy : r.vx)[i >> 1]!);

function relDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let d = 0,
    m = 0;
  for (let i = 0; i < a.length; i++) {
    d = Math.max(d, Math.abs(a[i]! - b[i]!));
    m = Math.max(m, Math.abs(b[i]!));
  }
  return d / m;
}

describe('equivariance of the solver under B_2', () => {
  // 24: even and not a power of two (Bluestein; the grid centre falls between pixels); 16: fft.js's
  // real transform; 15: odd (the centre is a pixel).
  for (const N of [24, 16, 15]) {
    it(`N = ${N}, all 8 elements g: simulate(g·ω0, g·f) = g·simulate(ω0, f), ω and f pseudoscalars, u a vector (float32 level)`, () => {
      const T = 4;
      const s = new NavierStokesSolver({ N, forcing: 'none' });
      const [k1, k2] = split(key(21 + N));
      const w0 = s.randomVorticity(k1!).map((v) => 4 * v);
      const f = s.randomVorticity(k2!).map((v) => 0.5 * v); // a forcing with no symmetry
      const opts = { N, steps: T, saveEvery: 3, dt: 0.02, nu: 2e-3, drag: 0.05 };
      const base = simulateNavierStokes({ ...opts, initial: w0, forcing: f });
      let failuresWithoutForcing = 0;
      for (const g of operators(2)) {
        const r = simulateNavierStokes({ ...opts, initial: act(g, w0, N, 0, 1, 1), forcing: act(g, f, N, 0, 1, 1) });
        const tag = `g = ${g.index} ${JSON.stringify(g.matrix)}`;
        expect(relDiff(r.vorticity, act(g, base.vorticity, N, 0, 1, T)), tag).toBeLessThan(1e-6);
        expect(relDiff(vectorField(r), act(g, vectorField(base), N, 1, 0, T)), tag).toBeLessThan(1e-6);
        expect(relDiff(r.forcing!, act(g, base.forcing!, N, 0, 1, 1)), tag).toBeLessThan(1e-6);
        if (g.index === 0 || N !== 24) continue;
        // the flow is nonlinear over the run and the forcing matters: without transforming it, it fails
        const wrong = simulateNavierStokes({ ...opts, initial: act(g, w0, N, 0, 1, 1), forcing: f });
        if (relDiff(wrong.vorticity, act(g, base.vorticity, N, 0, 1, T)) > 1e-3) failuresWithoutForcing++;
      }
      if (N === 24) expect(failuresWithoutForcing).toBe(7);
    });
  }

  it('a scalar (parity 0) reading of the vorticity is NOT equivariant under reflections (the pseudoscalar sign matters)', () => {
    const N = 16,
      T = 2;
    const s = new NavierStokesSolver({ N, forcing: 'none' });
    const w0 = s.randomVorticity(key(5)).map((v) => 4 * v);
    const opts = { N, steps: T, saveEvery: 2, dt: 0.02, forcing: 'none' as const };
    const base = simulateNavierStokes({ ...opts, initial: w0 });
    for (const g of operators(2)) {
      const r = simulateNavierStokes({ ...opts, initial: act(g, w0, N, 0, 0, 1) });
      const err = relDiff(r.vorticity, act(g, base.vorticity, N, 0, 0, T));
      if (g.det === 1) expect(err).toBeLessThan(1e-6);
      else expect(err).toBeGreaterThan(1e-2);
    }
  });

  it('MultiImage.timesGroupElement of the converted data equals the simulation of the transformed inputs', async () => {
    const N = 16,
      T = 3;
    const s = new NavierStokesSolver({ N, forcing: 'none' });
    const w0 = s.randomVorticity(key(8)).map((v) => 4 * v);
    const f = s.randomVorticity(key(9)).map((v) => 0.3 * v);
    const opts = { N, steps: T, saveEvery: 2, dt: 0.02 };
    const before = memory();
    const base = navierStokesToMultiImage(simulateNavierStokes({ ...opts, initial: w0, forcing: f }));
    for (const g of [operators(2)[1]!, operators(2)[6]!]) {
      // a reflection and the rotation by 90°
      const want = navierStokesToMultiImage(simulateNavierStokes({ ...opts, initial: act(g, w0, N, 0, 1, 1), forcing: act(g, f, N, 0, 1, 1) }));
      const got = base.dynamic.timesGroupElement(g);
      const gotC = base.constant!.timesGroupElement(g);
      expect(relDiff(await got.data.data(), await want.dynamic.data.data())).toBeLessThan(1e-6);
      expect(relDiff(await gotC.data.data(), await want.constant!.data.data())).toBeLessThan(1e-6);
      for (const m of [got, gotC, want.dynamic, want.constant!]) m.dispose();
    }
    base.dynamic.dispose();
    base.constant!.dispose();
    expect(memory()).toEqual(before);
  });
});

describe('reproducibility', () => {
  it('the same seed gives identical arrays; another seed different ones; trajectory i does not depend on the count', () => {
    const o = { N: 16, steps: 3, saveEvery: 2 };
    const a = simulateNavierStokes({ ...o, trajectories: 3, seed: 7 });
    const b = simulateNavierStokes({ ...o, trajectories: 3, seed: 7 });
    const c = simulateNavierStokes({ ...o, trajectories: 3, seed: 8 });
    const one = simulateNavierStokes({ ...o, trajectories: 1, seed: 7 });
    const viaKey = simulateNavierStokes({ ...o, trajectories: 3, key: key(7) });
    for (const name of ['vorticity', 'vx', 'vy'] as const) {
      expect(b[name]).toEqual(a[name]);
      expect(viaKey[name]).toEqual(a[name]);
      expect(one[name]).toEqual(a[name].subarray(0, one[name].length));
      expect(relDiff(c[name], a[name])).toBeGreaterThan(0.1);
      // the trajectories of one run differ from each other
      const S = 3 * 16 * 16;
      expect(relDiff(a[name].subarray(0, S), a[name].subarray(S, 2 * S))).toBeGreaterThan(0.1);
    }
    expect(a.attrs.seed).toBe(7);
    expect(viaKey.attrs.seed).toBeUndefined();
    expect(viaKey.attrs.key).toEqual(a.attrs.key);
  });

  it('burnIn drops the first frames: the frames of a run with burnIn = 2 are frames 2.. of a run without', () => {
    const o = { N: 16, trajectories: 2, saveEvery: 3, seed: 4 };
    const a = simulateNavierStokes({ ...o, steps: 5 });
    const b = simulateNavierStokes({ ...o, steps: 3, burnIn: 2 });
    const S = 16 * 16;
    for (const name of ['vorticity', 'vx', 'vy'] as const) {
      for (let tr = 0; tr < 2; tr++) expect(b[name].subarray(tr * 3 * S, (tr + 1) * 3 * S)).toEqual(a[name].subarray((tr * 5 + 2) * S, (tr + 1) * 5 * S));
    }
    expect([...b.t]).toEqual([...a.t.subarray(2)]);
    expect([...a.t]).toEqual([0, 1, 2, 3, 4].map((j) => j * 3 * (a.attrs.dt as number)));
  });

  it('the random initial field has zero mean and the spectrum E|ω̂_m|² = λ_m N⁴/L² on the kept modes, none beyond', () => {
    const N = 32,
      L = 1,
      samples = 8,
      tau = 7,
      alpha = 2.5,
      sigma = 7 ** 1.5;
    const s = new NavierStokesSolver({ N, L, forcing: 'none' });
    const freq = fftFreqInt(N);
    let ratio = 0,
      count = 0,
      outside = 0,
      total = 0;
    for (let i = 0; i < samples; i++) {
      const w = s.randomVorticity(key(100 + i));
      const re = Float64Array.from(w),
        im = new Float64Array(N * N);
      fftn(re, im, [N, N]);
      for (let a = 0; a < N; a++) {
        for (let b = 0; b < N; b++) {
          const p = a * N + b,
            mx = freq[a]!,
            my = freq[b]!;
          const power = re[p]! ** 2 + im[p]! ** 2;
          total += power;
          if (mx === 0 && my === 0) {
            expect(Math.abs(re[p]!)).toBeLessThan(1e-12);
          } else if (3 * Math.abs(mx) < N && 3 * Math.abs(my) < N) {
            const k2 = (TAU / L) ** 2 * (mx * mx + my * my);
            const lambda = sigma ** 2 * (k2 + tau * tau) ** -alpha;
            ratio += power / ((lambda * N ** 4) / L ** 2);
            count++;
          } else {
            outside += power;
          }
        }
      }
    }
    // mean of `count` ≈ 3500 exponential(1) variables (pairs ±m are one): ±3 % is > 4 standard errors
    expect(Math.abs(ratio / count - 1)).toBeLessThan(0.03);
    expect(outside).toBeLessThan(1e-20 * total);
  });
});

describe('navierStokesToMultiImage', () => {
  it('packs vorticity as (0,1) and velocity as (1,0) with T channels each (c·T + t), forcing as a constant (0,1) field; batchTimeSeries consumes it', async () => {
    const B = 2,
      T = 5,
      N = 16;
    const r = simulateNavierStokes({ N, trajectories: B, steps: T, saveEvery: 1, seed: 3 });
    const before = memory();
    const { dynamic, constant } = navierStokesToMultiImage(r);
    expect(dynamic.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 1, T],
      [1, 0, T],
    ]);
    expect(dynamic.batch).toBe(B);
    expect(dynamic.spatial).toEqual([N, N]);
    expect(dynamic.isTorus).toEqual([true, true]);
    const vort = tidy(() => dynamic.block(0, 1));
    expect([...(await vort.data())]).toEqual([...r.vorticity]);
    vort.dispose();
    const vel = tidy(() => dynamic.block(1, 0));
    expect(vel.shape).toEqual([B, T, N, N, 2]);
    const v = await vel.data();
    vel.dispose();
    for (const p of [0, 7, 300, B * T * N * N - 1]) {
      expect(v[2 * p]).toBe(r.vx[p]);
      expect(v[2 * p + 1]).toBe(r.vy[p]);
    }
    expect(constant!.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([[0, 1, 1]]);
    expect(constant!.batch).toBe(1);
    expect([...(await constant!.data.data())]).toEqual([...r.forcing!]);
    const { x, y } = batchTimeSeries(dynamic, constant, { totalSteps: T, pastSteps: 2, futureSteps: 1 });
    expect(x.batch).toBe(B * (T - 2));
    expect(x.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 1, 3],
      [1, 0, 2],
    ]);
    expect(y.signature.map((e) => [e.k, e.parity, e.channels])).toEqual([
      [0, 1, 1],
      [1, 0, 1],
    ]);
    // sample 0's target vorticity is frame 2 of trajectory 0
    const yw = tidy(() => y.block(0, 1));
    expect([...(await yw.data()).subarray(0, N * N)]).toEqual([...r.vorticity.subarray(2 * N * N, 3 * N * N)]);
    for (const m of [yw, x, y, dynamic, constant!]) m.dispose();
    expect(memory()).toEqual(before);
    const none = navierStokesToMultiImage(simulateNavierStokes({ N, steps: 2, forcing: 'none' }));
    expect(none.constant).toBeNull();
    none.dynamic.dispose();
    expect(memory()).toEqual(before);
  });
});

describe("the default flow (the main job's data)", () => {
  it('is non-trivial from frame to frame, smooth at the saved resolution, and below the CFL limit', () => {
    const N = 32,
      B = 8,
      T = 20;
    const t0 = performance.now();
    const r = simulateNavierStokes({ N, trajectories: B, steps: T, seed: 1 });
    const ms = performance.now() - t0;
    console.log(`default flow: ${B} trajectories × ${T} frames at ${N}² in ${ms.toFixed(0)} ms (dt ${r.attrs.dt}, saveEvery ${r.attrs.saveEvery})`);
    expect(r.attrs).toMatchObject({ forcing: 'fno', nu: 1e-3, L: 1, dt: 2 / N, saveEvery: N / 8 });
    expect(r.t[1]! - r.t[0]!).toBeCloseTo(0.25, 12);
    const S = N * N,
      freq = fftFreqInt(N);
    let change = 0,
      norm = 0,
      umax = 0,
      high = 0,
      all = 0;
    for (let b = 0; b < B; b++) {
      for (let t = 0; t < T; t++) {
        const o = (b * T + t) * S;
        for (let p = 0; p < S; p++) {
          if (t > 0) change += (r.vorticity[o + p]! - r.vorticity[o - S + p]!) ** 2;
          if (t > 0) norm += r.vorticity[o - S + p]! ** 2;
          umax = Math.max(umax, Math.abs(r.vx[o + p]!) + Math.abs(r.vy[o + p]!));
        }
        if (t === T - 1) {
          const re = Float64Array.from(r.vorticity.subarray(o, o + S)),
            im = new Float64Array(S);
          fftn(re, im, [N, N]);
          for (let p = 0; p < S; p++) {
            const m = Math.max(Math.abs(freq[(p / N) | 0]!), Math.abs(freq[p % N]!));
            const e = re[p]! ** 2 + im[p]! ** 2;
            all += e;
            if (m > 6) high += e; // the outer third of the kept modes (|m| ≤ 10)
          }
        }
      }
    }
    const rel = Math.sqrt(change / norm);
    expect(rel).toBeGreaterThan(0.03); // the next frame is not the same frame
    expect(rel).toBeLessThan(0.3); // nor an unrelated one
    expect(high / all).toBeLessThan(1e-4); // the spectrum has decayed well before the cut-off
    expect(umax * (2 / N) * N).toBeLessThan(1); // CFL at the default dt
  });
});

describe('bad options', () => {
  const run = (o: object) => () => simulateNavierStokes(o as never);
  it('name the function, the argument, the expectation and the value', () => {
    expect(run({ N: 4 })).toThrow(/simulateNavierStokes: N must be an integer >= 8 \(got 4\)/);
    expect(run({ N: 12.5 })).toThrow(/N must be an integer >= 8 \(got 12.5\)/);
    expect(run({ N: 4096 })).toThrow(/N must be at most 2048 \(got 4096\)/);
    expect(run({ N: 16, nu: -1 })).toThrow(/nu must be a finite number >= 0 \(got -1\)/);
    expect(run({ N: 16, drag: -0.1 })).toThrow(/drag must be a finite number >= 0/);
    expect(run({ N: 16, dt: 0 })).toThrow(/dt must be a finite number > 0 \(got 0\)/);
    expect(run({ N: 16, dt: Number.NaN })).toThrow(/dt must be a finite number > 0 \(got NaN\)/);
    expect(run({ N: 16, L: 0 })).toThrow(/L must be a finite number > 0/);
    expect(run({ N: 16, steps: 0 })).toThrow(/steps must be an integer >= 1 \(got 0\)/);
    expect(run({ N: 16, saveEvery: 1.5 })).toThrow(/saveEvery must be an integer >= 1/);
    expect(run({ N: 16, burnIn: -1 })).toThrow(/burnIn must be an integer >= 0/);
    expect(run({ N: 16, trajectories: 0 })).toThrow(/trajectories must be an integer >= 1/);
    expect(run({ N: 16, forcing: 'gravity' })).toThrow(/forcing must be 'none', 'fno', 'kolmogorov'.*\(got "gravity"\)/);
    expect(run({ N: 16, forcing: new Float32Array(10) })).toThrow(/forcing must be an array of N² = 256 values.*length 10/);
    expect(run({ N: 16, forcing: new Float64Array(256).fill(Number.NaN) })).toThrow(/forcing must be finite everywhere/);
    expect(run({ N: 16, forcing: { type: 'kolmogorov', wavenumber: 6 } })).toThrow(/forcing.wavenumber must be an integer in \[1, N\/3\)/);
    expect(run({ N: 16, initial: new Float32Array(100) })).toThrow(/initial must be N² = 256 or trajectories·N² = 256 values \(got "length 100"\)/);
    expect(run({ N: 16, initial: 'zero' })).toThrow(/initial must be 'random' or a Float32Array/);
    expect(run({ N: 16, initialSpectrum: { alpha: 0 } })).toThrow(/initialSpectrum.alpha must be a finite number > 0/);
    expect(run({ N: 16, key: [1, -2] })).toThrow(/key must be a key from random.key/);
    expect(run({ N: 1024, trajectories: 100, steps: 100 })).toThrow(
      /trajectories·steps·N² must be at most 268435456 \(each of the three output arrays\) \(got 10485760000\)/,
    );
  });

  it('a time step above the CFL limit is refused before it diverges, with the largest stable dt', () => {
    const N = 32;
    const strong = new NavierStokesSolver({ N, forcing: 'none' }).randomVorticity(key(2)).map((v) => 50 * v);
    expect(() => simulateNavierStokes({ N, initial: strong, forcing: 'none' })).toThrow(
      /simulateNavierStokes: dt must be at most [0-9.e-]+ for CFL = dt·max\(\|vx\|\+\|vy\|\)·N\/L <= 1 \(CFL [0-9.]+ at t = 0\) \(got 0.0625\)/,
    );
    const msg = (() => {
      try {
        simulateNavierStokes({ N, initial: strong, forcing: 'none' });
      } catch (e) {
        return (e as Error).message;
      }
      return '';
    })();
    const suggested = Number(/at most ([0-9.e-]+)/.exec(msg)![1]);
    // the suggested dt runs (at CFL 1 it is stable), a third of it as well
    expect(() => simulateNavierStokes({ N, initial: strong, forcing: 'none', dt: suggested / 3, steps: 3, saveEvery: 4 })).not.toThrow();
    const solver = new NavierStokesSolver({ N, forcing: 'none', dt: 0.0625 });
    expect(() => solver.advance(strong, 1)).toThrow(/NavierStokesSolver.advance: dt must be at most/);
    expect(() => solver.advance(new Float64Array(10))).toThrow(
      /NavierStokesSolver.advance: omega must be a Float64Array or Float32Array of N² = 1024 values \(got "length 10"\)/,
    );
    expect(() => solver.advance(new Float64Array(1024), -1)).toThrow(/steps must be an integer >= 0/);
  });
});
