/**
 * The Navier–Stokes solver against known physics: exact decaying solutions (Taylor–Green and other
 * single-|k| fields, where the nonlinear term cancels), the tendency of a two-mode field against its
 * closed form, the laminar Kolmogorov state, the energy and enstrophy budgets (conservation when
 * inviscid and unforced; dE/dt and dZ/dt from finite differences in time), incompressibility and
 * curl of the returned velocity, and the 2-D transforms against core/fft's fftn.
 */
import { describe, expect, it } from 'vitest';
import { NavierStokesSolver, simulateNavierStokes } from '../../../src/sim/navier-stokes.js';
import { SpectralGrid } from '../../../src/sim/spectral.js';
import { fftFreqInt, fftn } from '../../../src/core/fft.js';
import { key } from '../../../src/core/random.js';

const TAU = 2 * Math.PI;

/** A grid field f(x, y) on [0, L)², row-major [x][y]. */
function field(N: number, L: number, f: (x: number, y: number) => number): Float64Array {
  const out = new Float64Array(N * N);
  for (let i = 0; i < N; i++) for (let j = 0; j < N; j++) out[i * N + j] = f((i * L) / N, (j * L) / N);
  return out;
}

function maxAbs(a: ArrayLike<number>): number {
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]!));
  return m;
}
function maxDiff(a: ArrayLike<number>, b: ArrayLike<number>): number {
  expect(a.length).toBe(b.length);
  let m = 0;
  for (let i = 0; i < a.length; i++) m = Math.max(m, Math.abs(a[i]! - b[i]!));
  return m;
}

describe('SpectralGrid (2/3-truncated transforms) against fftn', () => {
  for (const N of [32, 24, 9]) {
    it(`N = ${N}: forward keeps the DFT at kept modes; inverse equals ifftn of the zero-padded spectrum`, () => {
      const g = new SpectralGrid(N);
      const freq = fftFreqInt(N);
      const kept = [...g.keep];
      expect(kept.every((j) => 3 * Math.abs(freq[j]!) < N)).toBe(true);
      expect(kept.length).toBe(freq.filter((m) => 3 * Math.abs(m) < N).length);
      const f = field(N, 1, (x, y) => Math.sin(3.1 * x + 0.4) * Math.cos(7.3 * y) + x * x - 0.3 * y);
      const re = new Float64Array(g.K * g.K),
        im = new Float64Array(g.K * g.K);
      g.forwardReal(f, g.mixed(), re, im);
      const fr = Float64Array.from(f),
        fi = new Float64Array(N * N);
      fftn(fr, fi, [N, N]);
      let err = 0;
      for (let a = 0; a < g.K; a++) {
        for (let b = 0; b < g.K; b++) {
          const p = g.keep[a]! * N + g.keep[b]!;
          err = Math.max(err, Math.abs(re[a * g.K + b]! - fr[p]!), Math.abs(im[a * g.K + b]! - fi[p]!));
        }
      }
      expect(err).toBeLessThan(1e-11 * maxAbs(fr));
      // inverse of an arbitrary (non-Hermitian) compact spectrum: a complex pair of fields
      const sr = re.map((v, q) => v + Math.sin(q)),
        si = im.map((v, q) => v - Math.cos(3 * q));
      const zr = new Float64Array(N * N),
        zi = new Float64Array(N * N);
      for (let a = 0; a < g.K; a++)
        for (let b = 0; b < g.K; b++) {
          zr[g.keep[a]! * N + g.keep[b]!] = sr[a * g.K + b]!;
          zi[g.keep[a]! * N + g.keep[b]!] = si[a * g.K + b]!;
        }
      fftn(zr, zi, [N, N], true);
      const outR = new Float64Array(N * N),
        outI = new Float64Array(N * N);
      g.inverse(sr, si, g.mixed(), outR, outI);
      expect(maxDiff(outR, zr)).toBeLessThan(1e-12 * maxAbs(zr));
      expect(maxDiff(outI, zi)).toBeLessThan(1e-12 * maxAbs(zi));
    });
  }
});

describe('exact decaying solutions', () => {
  it('Taylor–Green vortex ω = 2k sin(kx) sin(ky) decays as exp(−(2νk² + α)t), L = 1 and L = 2π, odd and even N', () => {
    for (const [N, L, m, nu, drag] of [
      [32, 1, 2, 0.01, 0],
      [24, TAU, 3, 0.02, 0.1],
      [33, 1, 5, 0.003, 0],
    ] as const) {
      const k = (TAU * m) / L;
      const dt = 0.01,
        steps = 40;
      const s = new NavierStokesSolver({ N, L, nu, drag, dt, forcing: 'none' });
      const w0 = field(N, L, (x, y) => 2 * k * Math.sin(k * x) * Math.sin(k * y));
      const w = s.advance(w0, steps);
      const decay = Math.exp(-(2 * nu * k * k + drag) * dt * steps);
      expect(decay).toBeLessThan(0.98); // the decay is measurable
      expect(
        maxDiff(
          w,
          w0.map((v) => v * decay),
        ),
      ).toBeLessThan(1e-12 * maxAbs(w0));
      // its velocity is (sin kx cos ky, −cos kx sin ky)·decay
      const { vx, vy } = s.velocity(w);
      expect(
        maxDiff(
          vx,
          field(N, L, (x, y) => decay * Math.sin(k * x) * Math.cos(k * y)),
        ),
      ).toBeLessThan(1e-12);
      expect(
        maxDiff(
          vy,
          field(N, L, (x, y) => -decay * Math.cos(k * x) * Math.sin(k * y)),
        ),
      ).toBeLessThan(1e-12);
    }
  });

  it('a mixture of modes of one |k| (3,4), (5,0), (4,−3) is a nonlinear steady state of Euler: it only decays viscously', () => {
    const N = 32,
      nu = 0.002,
      dt = 0.02,
      steps = 50;
    const w0 = field(N, 1, (x, y) => Math.cos(TAU * (3 * x + 4 * y)) + 0.7 * Math.sin(TAU * 5 * x) + 0.3 * Math.cos(TAU * (4 * x - 3 * y) + 1));
    const s = new NavierStokesSolver({ N, nu, dt, forcing: 'none' });
    // the nonlinear term is computed (each pair of the modes advects the other), and cancels
    const tend = s.tendency(w0);
    expect(
      maxDiff(
        tend,
        w0.map((v) => -nu * TAU * TAU * 25 * v),
      ),
    ).toBeLessThan(1e-12);
    const w = s.advance(w0, steps);
    const decay = Math.exp(-nu * TAU * TAU * 25 * dt * steps);
    expect(
      maxDiff(
        w,
        w0.map((v) => v * decay),
      ),
    ).toBeLessThan(1e-12);
  });

  it('tendency of ω = A cos(k1 x) + B sin(k2 y), k2 = 2k1, with FNO forcing and drag equals its closed form', () => {
    // ψ = A cos(k1x)/k1² + B sin(k2y)/k2², u = ∂ψ/∂y = (B/k2) cos(k2y), v = −∂ψ/∂x = (A/k1) sin(k1x),
    // u·∇ω = AB (k2/k1 − k1/k2) sin(k1x) cos(k2y) = 1.5 AB sin(k1x) cos(k2y).
    const N = 32,
      nu = 0.003,
      drag = 0.2,
      A = 0.8,
      B = -1.3,
      k1 = TAU,
      k2 = 2 * TAU;
    const s = new NavierStokesSolver({ N, nu, drag, dt: 0.01, forcing: 'fno' });
    const w = field(N, 1, (x, y) => A * Math.cos(k1 * x) + B * Math.sin(k2 * y));
    const expected = field(
      N,
      1,
      (x, y) =>
        -1.5 * A * B * Math.sin(k1 * x) * Math.cos(k2 * y) -
        nu * (k1 * k1 * A * Math.cos(k1 * x) + k2 * k2 * B * Math.sin(k2 * y)) -
        drag * (A * Math.cos(k1 * x) + B * Math.sin(k2 * y)) +
        0.1 * (Math.sin(TAU * (x + y)) + Math.cos(TAU * (x + y))),
    );
    expect(maxDiff(s.tendency(w), expected)).toBeLessThan(1e-12);
    const { vx, vy } = s.velocity(w);
    expect(
      maxDiff(
        vx,
        field(N, 1, (_, y) => (B / k2) * Math.cos(k2 * y)),
      ),
    ).toBeLessThan(1e-14);
    expect(
      maxDiff(
        vy,
        field(N, 1, (x) => (A / k1) * Math.sin(k1 * x)),
      ),
    ).toBeLessThan(1e-14);
  });

  it('Kolmogorov forcing from rest approaches the laminar state f/(νk² + α) as f/λ·(1 − e^{−λt})', () => {
    const N = 32,
      nu = 0.01,
      drag = 0.1,
      A = 0.05,
      n = 2,
      dt = 0.05,
      steps = 60;
    const k = TAU * n;
    const s = new NavierStokesSolver({ N, nu, drag, dt, forcing: { type: 'kolmogorov', amplitude: A, wavenumber: n } });
    const f = field(N, 1, (_, y) => -A * k * Math.cos(k * y));
    expect(maxDiff(s.forcing!, f)).toBeLessThan(1e-14);
    const lambda = nu * k * k + drag;
    const w = s.advance(new Float64Array(N * N), steps);
    const expected = f.map((v) => (v / lambda) * (1 - Math.exp(-lambda * dt * steps)));
    // Lawson RK4 integrates a constant forcing with error O((λdt)^5) per step: here λdt ≈ 0.08
    expect(maxDiff(w, expected)).toBeLessThan(1e-7 * maxAbs(expected));
  });
});

describe('energy and enstrophy budgets', () => {
  it('inviscid, unforced: energy and enstrophy are conserved up to the time-stepping error, which shrinks as dt⁴ or faster', () => {
    const N = 32;
    const probe = new NavierStokesSolver({ N, nu: 0, forcing: 'none', dt: 0.01 });
    const w0 = probe.randomVorticity(key(11)).map((v) => 8 * v); // strongly nonlinear: rms ω ≈ 2
    const { vx, vy } = probe.velocity(w0);
    const umax = Math.max(...vx.map((v, p) => Math.abs(v) + Math.abs(vy[p]!)));
    const T = 200 * (0.4 / (umax * N)); // 200 steps at CFL 0.4
    const drift = (steps: number) => {
      const s = new NavierStokesSolver({ N, nu: 0, forcing: 'none', dt: T / steps });
      const d0 = s.diagnostics(w0);
      const w = s.advance(w0, steps);
      const d1 = s.diagnostics(w);
      return {
        w,
        dE: Math.abs(d1.energy - d0.energy) / d0.energy,
        dZ: Math.abs(d1.enstrophy - d0.enstrophy) / d0.enstrophy,
        P: d1.palinstrophy / d0.palinstrophy,
      };
    };
    const a = drift(200),
      b = drift(400);
    // the flow did change (the conservation is not trivial) and gradients sharpened (P is no invariant)
    expect(maxDiff(a.w, w0)).toBeGreaterThan(0.3 * maxAbs(w0));
    expect(a.P).toBeGreaterThan(1.05);
    // measured: 3.7e-7 and 1.0e-5 (enstrophy reaches the cut-off, where RK4's damping acts most)
    expect(a.dE).toBeLessThan(1e-6);
    expect(a.dZ).toBeLessThan(3e-5);
    // halving dt cuts the drift by ≥ 16 (RK4 is 4th order); an aliasing or spatial error would not
    // shrink with dt, so this separates them from the time-stepping error (floor: roundoff, ~1e-14)
    expect(b.dE).toBeLessThan(Math.max(a.dE / 16, 1e-13));
    expect(b.dZ).toBeLessThan(Math.max(a.dZ / 16, 1e-13));
  });

  /**
   * dE/dt and dZ/dt at t_c from the solver's own trajectory: central differences D(h) over t_c ± h
   * and D(h/2), whose errors are c·h² + O(h⁴) (checked: the error ratio is ≈ 4), and the Richardson
   * value (4D(h/2) − D(h))/3, accurate to O(h⁴) plus RK4's error (measured: ≤ 2e-6 of the terms at
   * h = 0.02, and independent of dt, so the O(h⁴) term dominates),
   * against the budget. A wrong budget (a factor 2 in ν, a missing drag or forcing term) is off by
   * more than 1 %; the tolerance is 2e-5 of the largest term.
   */
  for (const [name, nu, drag, forcing] of [
    ['viscous, unforced', 0.004, 0, 'none'],
    ['viscous with drag, FNO forcing', 0.002, 0.3, 'fno'],
    ['viscous, Kolmogorov forcing', 0.003, 0.05, { type: 'kolmogorov', amplitude: 0.1, wavenumber: 2 }],
  ] as const) {
    it(`${name}: dE/dt = −2νZ − 2αE + ⟨ψf⟩ and dZ/dt = −2νP − 2αZ + ⟨ωf⟩`, () => {
      const N = 32,
        dt = 0.005,
        m = 2,
        h = 2 * m * dt;
      const s = new NavierStokesSolver({ N, nu, drag, dt, forcing });
      const chain = [
        s.advance(
          s.randomVorticity(key(3)).map((v) => 3 * v),
          20,
        ),
      ]; // t_c − h
      for (let i = 0; i < 4; i++) chain.push(s.advance(chain[i]!, m)); // t_c − h/2, t_c, t_c + h/2, t_c + h
      const d = chain.map((w) => s.diagnostics(w));
      const d0 = d[2]!;
      for (const [q, terms] of [
        ['energy', [-2 * nu * d0.enstrophy, -2 * drag * d0.energy, d0.energyInput]],
        ['enstrophy', [-2 * nu * d0.palinstrophy, -2 * drag * d0.enstrophy, d0.enstrophyInput]],
      ] as const) {
        const budget = terms.reduce((a, b) => a + b);
        const scale = Math.max(...terms.map(Math.abs));
        const Dh = (d[4]![q] - d[0]![q]) / (2 * h);
        const Dh2 = (d[3]![q] - d[1]![q]) / h;
        const ratio = (Dh - budget) / (Dh2 - budget);
        expect(ratio, `${q}: FD error ratio`).toBeGreaterThan(3.5);
        expect(ratio, `${q}: FD error ratio`).toBeLessThan(4.5);
        expect(Math.abs((4 * Dh2 - Dh) / 3 - budget), q).toBeLessThan(2e-5 * scale);
        if (forcing !== 'none') {
          // the forcing work is a sizeable part of the budget: leaving it out breaks it
          expect(Math.abs(terms[2]!)).toBeGreaterThan(0.05 * scale);
        } else {
          expect(terms[2]).toBe(0);
        }
      }
    });
  }
});

describe('the returned velocity', () => {
  it('is divergence-free and its curl is the returned vorticity (spectral derivatives of the float32 outputs)', () => {
    const N = 32,
      T = 3;
    const r = simulateNavierStokes({ N, trajectories: 2, steps: T, seed: 4 });
    const freq = fftFreqInt(N);
    const size = N * N;
    for (let f = 0; f < 2 * T; f++) {
      const ux = Float64Array.from(r.vx.subarray(f * size, (f + 1) * size)),
        uxi = new Float64Array(size);
      const uy = Float64Array.from(r.vy.subarray(f * size, (f + 1) * size)),
        uyi = new Float64Array(size);
      const w = Float64Array.from(r.vorticity.subarray(f * size, (f + 1) * size)),
        wi = new Float64Array(size);
      fftn(ux, uxi, [N, N]);
      fftn(uy, uyi, [N, N]);
      fftn(w, wi, [N, N]);
      let div = 0,
        curlErr = 0,
        grad = 0,
        wmax = 0;
      for (let i = 0; i < N; i++) {
        for (let j = 0; j < N; j++) {
          const p = i * N + j,
            kx = TAU * freq[i]!,
            ky = TAU * freq[j]!;
          // i k·û and i(k_x v̂ − k_y û): real and imaginary parts
          const dr = -(kx * uxi[p]! + ky * uyi[p]!),
            di = kx * ux[p]! + ky * uy[p]!;
          const cr = -(kx * uyi[p]! - ky * uxi[p]!),
            ci = kx * uy[p]! - ky * ux[p]!;
          div = Math.max(div, Math.hypot(dr, di));
          curlErr = Math.max(curlErr, Math.hypot(cr - w[p]!, ci - wi[p]!));
          grad = Math.max(grad, Math.hypot(kx * ux[p]!, kx * uxi[p]!));
          wmax = Math.max(wmax, Math.hypot(w[p]!, wi[p]!));
        }
      }
      // float32 rounding of the outputs is the only error left (≈ 6e-8 relative)
      expect(div).toBeLessThan(1e-5 * grad);
      expect(curlErr).toBeLessThan(1e-5 * wmax);
    }
  });
});
