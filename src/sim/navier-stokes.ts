/**
 * A built-in physical simulator: 2-D incompressible Navier–Stokes on the periodic square [0, L)²
 * (default L = 1, the FNO benchmark's domain) in vorticity form,
 *
 *   ∂ω/∂t + u·∇ω = ν Δω − α ω + f,   Δψ = −ω,   u = (∂ψ/∂y, −∂ψ/∂x),
 *
 * so ω = ∂v/∂x − ∂u/∂y. Arrays are row-major [x][y]: axis 0 is x, axis 1 is y, grid point (i, j) at
 * (iL/N, jL/N). ω and f are pseudoscalars (a reflection flips their sign), u = (vx, vy) a vector.
 *
 * Method: pseudo-spectral (derivatives and the Poisson solve in Fourier space, the product u·∇ω on
 * the grid) with Orszag's 2/3 rule: only modes with 3|m_x| < N and 3|m_y| < N are kept, so the
 * quadratic term has no aliasing on the kept modes and the truncated system conserves energy and
 * enstrophy exactly when ν = α = f = 0. Time stepping is Lawson's integrating-factor RK4: the linear
 * part −(ν|k|² + α) is integrated exactly (no viscous step limit), the advection and the forcing by
 * classical RK4 with a fixed dt. The explicit part needs the CFL number dt·max(|vx| + |vy|)·N/L to
 * stay below about 1.3 (RK4's stability interval on the imaginary axis over the largest kept
 * wavenumber); we require ≤ 1 and check it at the start and at every saved frame.
 *
 * Everything is float64 arithmetic in TypeScript over fft.js: a seed gives the same bits on every
 * run of one JavaScript engine. Engines differ in the last bit of Math.sin/cos/exp/pow (Node 20 and
 * Deno 2.9 do), which enter the FFT twiddles, the integrating factors and the forcing, so across
 * engines the float64 state agrees to ~1e-15 relative and the float32 outputs are equal or, rarely,
 * one ulp apart (test/node/sim/golden.ts).
 */
import { argError, check, checkInt } from '../core/errors.js';
import { key as seedKey, normal, permutation, split, type Key } from '../core/random.js';
import { actionMap, operators } from '../geometric/group.js';
import { MultiImage } from '../geometric/multi-image.js';
import { tensor, type Tensor } from '../tensor.js';
import { SpectralGrid, type Mixed } from './spectral.js';

/**
 * The vorticity forcing f (a field on the grid, constant in time):
 * - `'none'`: f = 0.
 * - `'fno'` / `{ type: 'fno', amplitude = 0.1 }`: f = A (sin(2π(x + y)/L) + cos(2π(x + y)/L)), the
 *   FNO Navier–Stokes benchmark's forcing when L = 1.
 * - `'kolmogorov'` / `{ type: 'kolmogorov', amplitude = 0.05, wavenumber = 4 }`: the curl of the
 *   shear body force F = (A sin(k y), 0) with k = 2π n/L, i.e. f = −A k cos(k y).
 * - an array of N² values, row-major [x][y]: f itself. Modes beyond the 2/3 cut do not act.
 */
export type ForcingSpec =
  | 'none'
  | 'fno'
  | 'kolmogorov'
  | { readonly type: 'fno'; readonly amplitude?: number }
  | { readonly type: 'kolmogorov'; readonly amplitude?: number; readonly wavenumber?: number }
  | Float32Array
  | Float64Array;

/** Options of `NavierStokesSolver`: grid, viscosity, time step, forcing. */
export interface NavierStokesSolverOptions {
  /** Grid points per side (≥ 8). Any size works; powers of two are much faster (others go through Bluestein: 96² costs 3× a 128² step). */
  N: number;
  /** Side of the periodic square (default 1). */
  L?: number;
  /** Kinematic viscosity ν ≥ 0 (default 1e-3). */
  nu?: number;
  /** Linear drag α ≥ 0 (default 0). */
  drag?: number;
  /** Solver time step (default 2L/N, i.e. CFL = 2·max(|vx| + |vy|) with velocities in L per time unit). */
  dt?: number;
  /** Vorticity forcing (default 'fno'). */
  forcing?: ForcingSpec;
}

/**
 * The Gaussian random field of the initial conditions: ω = Σ_m √λ_m ξ_m e^{ik·x}/L with ξ standard
 * complex normal (Hermitian, so ω is real), k = 2πm/L, λ_m = σ²(|k|² + τ²)^(−α) and λ_0 = 0 (zero
 * mean): the covariance σ²(−Δ + τ²)^(−α), as the FNO generator's (τ = 7, α = 2.5, σ = τ^(α−1)).
 * Only the modes kept by the 2/3 rule are drawn.
 */
export interface InitialSpectrum {
  tau?: number;
  alpha?: number;
  sigma?: number;
}

/**
 * Options of `simulateNavierStokes`: the solver options plus trajectories, steps and the initial spectrum.
 */
export interface NavierStokesOptions extends Partial<NavierStokesSolverOptions> {
  /** Independent trajectories (default 1). Trajectory i uses split(key, trajectories)[i]. */
  trajectories?: number;
  /** Saved frames per trajectory (default 20). */
  steps?: number;
  /** Solver steps between saved frames (default round(N/8): frames 0.25·L time units apart at the default dt). */
  saveEvery?: number;
  /** Frames simulated and dropped before the first saved one, to leave the initial transient (default 0). */
  burnIn?: number;
  /** Seed of the initial conditions (default 0); `key` takes precedence. */
  seed?: number;
  key?: Key;
  /**
   * 'random' (default): a Gaussian random field per trajectory. Or ω at t = 0 as an array of
   * N² values (every trajectory) or trajectories·N² values ([traj][x][y]).
   */
  initial?: 'random' | Float32Array | Float64Array;
  initialSpectrum?: InitialSpectrum;
  /**
   * 'fixed' (default): every trajectory has the same forcing. 'random': trajectory i's forcing is
   * the base forcing transformed (as a pseudoscalar, about the grid centre) by a random element g_i
   * of B_2, drawn from the trajectory's key — a data set that covers every orientation of the
   * forcing, as a symmetric physical setting would; `forcing` is then [trajectories, N, N] and
   * attrs.forcingElements lists the indices of g_i into operators(2).
   */
  forcingOrientation?: 'fixed' | 'random';
}

/** What `simulateNavierStokes` returns: vorticity and velocity trajectories. */
export interface NavierStokesResult {
  /** ω, [trajectories, steps, N, N]. */
  vorticity: Float32Array;
  /** Velocity components along x (axis 0) and y (axis 1), [trajectories, steps, N, N]. */
  vx: Float32Array;
  vy: Float32Array;
  /** Time of each saved frame: (burnIn + j)·saveEvery·dt. */
  t: Float64Array;
  /** The vorticity forcing f on the grid, [N, N] ([trajectories, N, N] with forcingOrientation 'random'), or null for 'none'. */
  forcing: Float32Array | null;
  /** [trajectories, steps, N, N]. */
  shape: [number, number, number, number];
  /** Every parameter that produced the data (JSON-friendly), for file attributes and provenance. */
  attrs: Record<string, number | string | number[]>;
}

const MAX_N = 2048;
/** Elements of one output array; beyond it the three arrays would take several GiB. */
const MAX_OUTPUT = 2 ** 28;
/** Largest accepted CFL number dt·max(|vx| + |vy|)·N/L (stability ends near 1.34). */
export const MAX_CFL = 1;

const DEFAULTS = { L: 1, nu: 1e-3, drag: 0, forcing: 'fno' as ForcingSpec, steps: 20, burnIn: 0, trajectories: 1, seed: 0 };
const FNO_SPECTRUM = { tau: 7, alpha: 2.5 };

/**
 * The default time step, 2L/N: the CFL number is then 2·max(|vx| + |vy|) (velocities in L per time
 * unit), about 0.2–0.8 for the default flow, whose velocities stay below 0.4. RK4's error at this dt
 * is ~1e-8 relative (far below float32) for the default flow.
 */
function defaultDt(N: number, L: number): number {
  return (2 * L) / N;
}

/** The default solver steps per saved frame, N/8: with the default dt, frames L/4 time units apart. */
function defaultSaveEvery(N: number): number {
  return Math.max(1, Math.round(N / 8));
}

function resolveSpectrum(fn: string, spectrum: InitialSpectrum): { tau: number; alpha: number; sigma: number } {
  check(typeof spectrum === 'object' && spectrum !== null, fn, 'initialSpectrum', 'an object { tau, alpha, sigma }', spectrum);
  const { tau = FNO_SPECTRUM.tau, alpha = FNO_SPECTRUM.alpha } = spectrum;
  check(typeof tau === 'number' && Number.isFinite(tau) && tau >= 0, fn, 'initialSpectrum.tau', 'a finite number >= 0', tau);
  check(typeof alpha === 'number' && Number.isFinite(alpha) && alpha > 0, fn, 'initialSpectrum.alpha', 'a finite number > 0', alpha);
  const { sigma = tau ** (alpha - 1) } = spectrum;
  check(typeof sigma === 'number' && Number.isFinite(sigma) && sigma >= 0, fn, 'initialSpectrum.sigma', 'a finite number >= 0', sigma);
  return { tau, alpha, sigma };
}

const isFloatArray = (v: unknown): v is Float32Array | Float64Array => v instanceof Float32Array || v instanceof Float64Array;

function checkFinite(fn: string, arg: string, a: ArrayLike<number>): void {
  for (let i = 0; i < a.length; i++) {
    if (!Number.isFinite(a[i]!)) argError(fn, arg, 'finite everywhere', `${a[i]} at index ${i}`);
  }
}

/** The forcing field on an N×N grid of side L, or null; with a JSON-friendly description. */
function forcingField(fn: string, spec: ForcingSpec, N: number, L: number): { f: Float64Array | null; name: string; params: number[] } {
  if (isFloatArray(spec)) {
    check(spec.length === N * N, fn, 'forcing', `an array of N² = ${N * N} values (row-major [x][y])`, `length ${spec.length}`);
    checkFinite(fn, 'forcing', spec);
    return { f: Float64Array.from(spec), name: 'array', params: [] };
  }
  const o = typeof spec === 'string' ? { type: spec } : spec;
  if (typeof o !== 'object' || o === null || !['none', 'fno', 'kolmogorov'].includes((o as { type: string }).type)) {
    argError(fn, 'forcing', "'none', 'fno', 'kolmogorov', { type: 'fno' | 'kolmogorov', ... } or an array of N² values", spec);
  }
  if (o.type === 'none') return { f: null, name: 'none', params: [] };
  const f = new Float64Array(N * N);
  if (o.type === 'fno') {
    const A = (o as { amplitude?: number }).amplitude ?? 0.1;
    check(Number.isFinite(A), fn, 'forcing.amplitude', 'a finite number', A);
    for (let i = 0; i < N; i++) {
      for (let j = 0; j < N; j++) {
        // 2π(x + y)/L with x = iL/N: the angle depends on (i + j) mod N only, which keeps it exact.
        const a = (2 * Math.PI * ((i + j) % N)) / N;
        f[i * N + j] = A * (Math.sin(a) + Math.cos(a));
      }
    }
    return { f, name: 'fno', params: [A] };
  }
  const { amplitude: A = 0.05, wavenumber: n = 4 } = o as { amplitude?: number; wavenumber?: number };
  check(Number.isFinite(A), fn, 'forcing.amplitude', 'a finite number', A);
  check(Number.isInteger(n) && n >= 1 && 3 * n < N, fn, 'forcing.wavenumber', `an integer in [1, N/3) (kept by the 2/3 rule; N = ${N})`, n);
  const k = (2 * Math.PI * n) / L;
  for (let j = 0; j < N; j++) {
    const v = -A * k * Math.cos((2 * Math.PI * ((n * j) % N)) / N);
    for (let i = 0; i < N; i++) f[i * N + j] = v;
  }
  return { f, name: 'kolmogorov', params: [A, n] };
}

/**
 * The solver for one configuration: wavenumbers, integrating factors and buffers built once, then
 * reused by every step and trajectory. Grid fields are arrays of N² values, row-major [x][y]; the
 * state lives in Fourier space, one entry per mode kept by the 2/3 rule. Every method first projects
 * its input onto those modes.
 * @example
 * const solver = new NavierStokesSolver({ N: 64, nu: 1e-3 });
 * const w0 = solver.randomVorticity(random.key(0));
 * const w1 = solver.advance(w0, 10);
 */
export class NavierStokesSolver {
  readonly N: number;
  readonly L: number;
  readonly nu: number;
  readonly drag: number;
  readonly dt: number;
  /** f on the grid, or null. */
  readonly forcing: Float64Array | null;
  /** Description of the forcing for attributes: its name and parameters. */
  readonly forcingInfo: { name: string; params: number[] };
  private readonly grid: SpectralGrid;
  /** Per kept mode q: k_x, k_y, 1/|k|² (0 at k = 0), λ = ν|k|² + α, e^{−λ dt}, e^{−λ dt/2}. */
  private readonly kx: Float64Array;
  private readonly ky: Float64Array;
  private readonly invK2: Float64Array;
  private readonly lambda: Float64Array;
  private readonly e1: Float64Array;
  private readonly e2: Float64Array;
  /** f̂ at the kept modes (null without forcing). */
  private readonly fr: Float64Array | null;
  private readonly fi: Float64Array | null;
  // The state ω̂ and the Runge–Kutta buffers (compact spectra).
  private readonly wr: Float64Array;
  private readonly wi: Float64Array;
  private readonly sr: Float64Array;
  private readonly si: Float64Array;
  private readonly kr: Float64Array;
  private readonly ki: Float64Array;
  private readonly accr: Float64Array;
  private readonly acci: Float64Array;
  private readonly ar: Float64Array;
  private readonly ai: Float64Array;
  private readonly br: Float64Array;
  private readonly bi: Float64Array;
  // Transform work: three mixed arrays, two complex rows, one real row, two grid fields.
  private readonly mA: Mixed;
  private readonly mB: Mixed;
  private readonly mC: Mixed;
  private readonly rowA: Float64Array;
  private readonly rowB: Float64Array;
  private readonly prod: Float64Array;
  private readonly gx: Float64Array;
  private readonly gy: Float64Array;

  constructor(options: NavierStokesSolverOptions, fn = 'NavierStokesSolver') {
    check(typeof options === 'object' && options !== null, fn, 'options', 'an object', options);
    const { N, L = DEFAULTS.L, nu = DEFAULTS.nu, drag = DEFAULTS.drag, forcing = DEFAULTS.forcing } = options;
    check(Number.isInteger(N) && N >= 8, fn, 'N', 'an integer >= 8', N);
    check(N <= MAX_N, fn, 'N', `at most ${MAX_N}`, N);
    check(typeof L === 'number' && Number.isFinite(L) && L > 0, fn, 'L', 'a finite number > 0', L);
    check(typeof nu === 'number' && Number.isFinite(nu) && nu >= 0, fn, 'nu', 'a finite number >= 0', nu);
    check(typeof drag === 'number' && Number.isFinite(drag) && drag >= 0, fn, 'drag', 'a finite number >= 0', drag);
    const dt = options.dt ?? defaultDt(N, L);
    check(typeof dt === 'number' && Number.isFinite(dt) && dt > 0, fn, 'dt', 'a finite number > 0', dt);
    this.N = N;
    this.L = L;
    this.nu = nu;
    this.drag = drag;
    this.dt = dt;
    const { f, name, params } = forcingField(fn, forcing, N, L);
    this.forcing = f;
    this.forcingInfo = { name, params };

    const grid = (this.grid = new SpectralGrid(N));
    const { K, keep, freq } = grid;
    const nA = K * K;
    const buf = (n: number) => new Float64Array(n);
    this.kx = buf(nA);
    this.ky = buf(nA);
    this.invK2 = buf(nA);
    this.lambda = buf(nA);
    this.e1 = buf(nA);
    this.e2 = buf(nA);
    const k0 = (2 * Math.PI) / L;
    for (let a = 0, q = 0; a < K; a++) {
      for (let b = 0; b < K; b++, q++) {
        const kx = k0 * freq[keep[a]!]!;
        const ky = k0 * freq[keep[b]!]!;
        const k2 = kx * kx + ky * ky;
        this.kx[q] = kx;
        this.ky[q] = ky;
        this.invK2[q] = k2 > 0 ? 1 / k2 : 0;
        const lambda = (this.lambda[q] = nu * k2 + drag);
        this.e1[q] = Math.exp(-lambda * dt);
        this.e2[q] = Math.exp(-lambda * dt * 0.5);
      }
    }
    this.wr = buf(nA);
    this.wi = buf(nA);
    this.sr = buf(nA);
    this.si = buf(nA);
    this.kr = buf(nA);
    this.ki = buf(nA);
    this.accr = buf(nA);
    this.acci = buf(nA);
    this.ar = buf(nA);
    this.ai = buf(nA);
    this.br = buf(nA);
    this.bi = buf(nA);
    this.mA = grid.mixed();
    this.mB = grid.mixed();
    this.mC = grid.mixed();
    this.rowA = buf(2 * N);
    this.rowB = buf(2 * N);
    this.prod = buf(N);
    this.gx = buf(N * N);
    this.gy = buf(N * N);
    if (f) {
      this.fr = buf(nA);
      this.fi = buf(nA);
      grid.forwardReal(f, this.mC, this.fr, this.fi);
    } else {
      this.fr = this.fi = null;
    }
  }

  /** ω advanced by `steps` solver steps (a new array; the input is not changed). */
  advance(omega: Float64Array | Float32Array, steps = 1): Float64Array {
    const fn = 'NavierStokesSolver.advance';
    checkInt(fn, 'steps', steps, 0);
    this.load(fn, omega);
    this.checkCfl(fn, 0);
    for (let s = 0; s < steps; s++) this.step();
    const out = new Float64Array(this.N * this.N);
    this.vorticityOf(out);
    if (!out.every(Number.isFinite)) argError(fn, 'dt', `small enough for a stable run (the state became non-finite within ${steps} steps)`, this.dt);
    return out;
  }

  /** dω/dt = −u·∇ω + νΔω − αω + f at the kept modes, on the grid. */
  tendency(omega: Float64Array | Float32Array): Float64Array {
    this.load('NavierStokesSolver.tendency', omega);
    const { wr, wi, kr, ki, lambda } = this;
    this.nonlinear(wr, wi, kr, ki);
    for (let q = 0; q < kr.length; q++) {
      kr[q]! -= lambda[q]! * wr[q]!;
      ki[q]! -= lambda[q]! * wi[q]!;
    }
    const out = new Float64Array(this.N * this.N);
    this.grid.inverse(kr, ki, this.mA, out, null);
    return out;
  }

  /** The velocity (vx, vy) of ω. */
  velocity(omega: Float64Array | Float32Array): { vx: Float64Array; vy: Float64Array } {
    this.load('NavierStokesSolver.velocity', omega);
    this.velocityOf();
    return { vx: this.gx.slice(), vy: this.gy.slice() };
  }

  /**
   * Domain means, computed spectrally (Parseval) at the kept modes: energy E = ½⟨|u|²⟩, enstrophy
   * Z = ½⟨ω²⟩, palinstrophy P = ½⟨|∇ω|²⟩, and the forcing's work ⟨ψ f⟩ (energy input) and ⟨ω f⟩
   * (enstrophy input). Budgets: dE/dt = −2νZ − 2αE + ⟨ψf⟩, dZ/dt = −2νP − 2αZ + ⟨ωf⟩.
   */
  diagnostics(omega: Float64Array | Float32Array): { energy: number; enstrophy: number; palinstrophy: number; energyInput: number; enstrophyInput: number } {
    this.load('NavierStokesSolver.diagnostics', omega);
    const { wr, wi, fr, fi, invK2, kx, ky } = this;
    let E = 0,
      Z = 0,
      P = 0,
      Ein = 0,
      Zin = 0;
    for (let q = 0; q < wr.length; q++) {
      const a2 = wr[q]! * wr[q]! + wi[q]! * wi[q]!;
      E += a2 * invK2[q]!;
      Z += a2;
      P += a2 * (kx[q]! * kx[q]! + ky[q]! * ky[q]!);
      if (fr && fi) {
        const c = wr[q]! * fr[q]! + wi[q]! * fi[q]!; // Re(ω̂ conj f̂)
        Ein += c * invK2[q]!;
        Zin += c;
      }
    }
    const s = 1 / (this.N * this.N) ** 2;
    return { energy: 0.5 * E * s, enstrophy: 0.5 * Z * s, palinstrophy: 0.5 * P * s, energyInput: Ein * s, enstrophyInput: Zin * s };
  }

  /** A zero-mean Gaussian random vorticity field (see InitialSpectrum), reproducible from `k`. */
  randomVorticity(k: Key, spectrum: InitialSpectrum = {}): Float64Array {
    const fn = 'NavierStokesSolver.randomVorticity';
    const { tau, alpha, sigma } = resolveSpectrum(fn, spectrum);
    const { N, L, wr, wi, invK2 } = this;
    // White noise has E|ŵ_m|² = N²; scaling mode m by √λ_m·N/L gives pointwise variance Σλ_m/L².
    this.grid.forwardReal(normal(k, N * N), this.mC, wr, wi);
    for (let q = 0; q < wr.length; q++) {
      const a = invK2[q]! === 0 ? 0 : (sigma * Math.pow(1 / invK2[q]! + tau * tau, -alpha / 2) * N) / L;
      wr[q]! *= a;
      wi[q]! *= a;
    }
    const out = new Float64Array(N * N);
    this.vorticityOf(out);
    return out;
  }

  /**
   * Runs one trajectory from ω0: `burnIn` frames dropped, then `frames` frames saved `saveEvery`
   * steps apart (frame 0 is ω0 itself when burnIn = 0), written as float32 at `offset` of the
   * three [.., N, N] targets.
   */
  rolloutInto(
    omega0: Float64Array | Float32Array,
    frames: number,
    saveEvery: number,
    burnIn: number,
    target: { vorticity: Float32Array; vx: Float32Array; vy: Float32Array; offset: number },
    fn = 'NavierStokesSolver.rolloutInto',
  ): void {
    const size = this.N * this.N;
    this.load(fn, omega0);
    for (let frame = -burnIn; frame < frames; frame++) {
      if (frame > -burnIn) for (let s = 0; s < saveEvery; s++) this.step();
      this.checkCfl(fn, (frame + burnIn) * saveEvery * this.dt); // leaves the velocity in gx, gy
      if (frame < 0) continue;
      const o = target.offset + frame * size;
      target.vx.set(this.gx, o);
      target.vy.set(this.gy, o);
      this.vorticityOf(this.gx);
      target.vorticity.set(this.gx, o);
    }
  }

  // ---- internals ----

  private load(fn: string, omega: Float64Array | Float32Array): void {
    const size = this.N * this.N;
    check(
      isFloatArray(omega) && omega.length === size,
      fn,
      'omega',
      `a Float64Array or Float32Array of N² = ${size} values`,
      isFloatArray(omega) ? `length ${omega.length}` : omega,
    );
    checkFinite(fn, 'omega', omega);
    this.grid.forwardReal(omega, this.mC, this.wr, this.wi);
  }

  /** The state's vorticity on the grid into `out`. */
  private vorticityOf(out: Float64Array): void {
    this.grid.inverse(this.wr, this.wi, this.mA, out, null);
  }

  /** The state's velocity on the grid into gx, gy: one transform of û + i v̂ = (k_x + i k_y) ψ̂ (both fields real). */
  private velocityOf(): void {
    const { ar, ai, wr, wi, kx, ky, invK2 } = this;
    for (let q = 0; q < ar.length; q++) {
      const pr = wr[q]! * invK2[q]!,
        pi = wi[q]! * invK2[q]!;
      ar[q] = kx[q]! * pr - ky[q]! * pi;
      ai[q] = kx[q]! * pi + ky[q]! * pr;
    }
    this.grid.inverse(ar, ai, this.mA, this.gx, this.gy);
  }

  /** Computes the state's velocity and throws when the CFL number is too large or the state not finite. */
  private checkCfl(fn: string, t: number): void {
    this.velocityOf();
    const { gx, gy, N, L, dt } = this;
    let m = 0;
    for (let p = 0; p < gx.length; p++) {
      const s = Math.abs(gx[p]!) + Math.abs(gy[p]!);
      if (!(s <= m)) m = s; // NaN propagates into m
    }
    if (!Number.isFinite(m)) argError(fn, 'dt', `small enough for a stable run (the flow diverged before t = ${t})`, dt);
    const cfl = (dt * m * N) / L;
    if (cfl > MAX_CFL) {
      argError(
        fn,
        'dt',
        `at most ${((MAX_CFL * L) / (m * N)).toPrecision(3)} for CFL = dt·max(|vx|+|vy|)·N/L <= ${MAX_CFL} (CFL ${cfl.toPrecision(3)} at t = ${t})`,
        dt,
      );
    }
  }

  /**
   * (outR, outI) = FFT(−u·∇ω) + f̂ at the kept modes, for the spectrum (inR, inI): two inverse
   * transforms of packed pairs of real fields (u + iv, ∂xω + i∂yω), the product row by row as the
   * rows appear, one forward transform of the (real) product.
   */
  private nonlinear(inR: Float64Array, inI: Float64Array, outR: Float64Array, outI: Float64Array): void {
    const { ar, ai, br, bi, kx, ky, invK2, fr, fi, grid, mA, mB, mC, rowA, rowB, prod, N } = this;
    const nA = ar.length;
    for (let q = 0; q < nA; q++) {
      const wr = inR[q]!,
        wi = inI[q]!;
      const kxq = kx[q]!,
        kyq = ky[q]!;
      const pr = wr * invK2[q]!,
        pi = wi * invK2[q]!;
      ar[q] = kxq * pr - kyq * pi; // û + i v̂ = (k_x + i k_y) ψ̂
      ai[q] = kxq * pi + kyq * pr;
      br[q] = -kyq * wr - kxq * wi; // ∂xω̂ + i ∂yω̂ = (−k_y + i k_x) ω̂
      bi[q] = kxq * wr - kyq * wi;
    }
    grid.inverseColumns(ar, ai, mA);
    grid.inverseColumns(br, bi, mB);
    for (let i = 0; i < N; i++) {
      grid.inverseRowConj(mA, i, rowA); // (u, −v)
      grid.inverseRowConj(mB, i, rowB); // (∂xω, −∂yω): the two negations cancel in the product
      for (let j = 0; j < N; j++) prod[j] = -(rowA[2 * j]! * rowB[2 * j]! + rowA[2 * j + 1]! * rowB[2 * j + 1]!);
      grid.forwardRealRow(prod, mC, i);
    }
    grid.forwardColumns(mC, outR, outI);
    if (fr && fi) {
      for (let q = 0; q < nA; q++) {
        outR[q]! += fr[q]!;
        outI[q]! += fi[q]!;
      }
    }
  }

  /**
   * One Lawson RK4 step of the state w, E_h = e^{−λh}:
   *   K1 = N(w), K2 = N(E_{h/2}(w + h/2 K1)), K3 = N(E_{h/2}w + h/2 K2), K4 = N(E_h w + h E_{h/2} K3),
   *   w ← E_h w + h/6 (E_h K1 + 2E_{h/2}(K2 + K3) + K4).
   */
  private step(): void {
    const { wr, wi, sr, si, kr, ki, accr, acci, e1, e2, dt: h } = this;
    const nA = wr.length;
    const h2 = h / 2,
      h6 = h / 6,
      h3 = h / 3;
    this.nonlinear(wr, wi, kr, ki);
    for (let q = 0; q < nA; q++) {
      accr[q] = h6 * e1[q]! * kr[q]!;
      acci[q] = h6 * e1[q]! * ki[q]!;
      sr[q] = e2[q]! * (wr[q]! + h2 * kr[q]!);
      si[q] = e2[q]! * (wi[q]! + h2 * ki[q]!);
    }
    this.nonlinear(sr, si, kr, ki);
    for (let q = 0; q < nA; q++) {
      accr[q]! += h3 * e2[q]! * kr[q]!;
      acci[q]! += h3 * e2[q]! * ki[q]!;
      sr[q] = e2[q]! * wr[q]! + h2 * kr[q]!;
      si[q] = e2[q]! * wi[q]! + h2 * ki[q]!;
    }
    this.nonlinear(sr, si, kr, ki);
    for (let q = 0; q < nA; q++) {
      accr[q]! += h3 * e2[q]! * kr[q]!;
      acci[q]! += h3 * e2[q]! * ki[q]!;
      sr[q] = e1[q]! * wr[q]! + h * e2[q]! * kr[q]!;
      si[q] = e1[q]! * wi[q]! + h * e2[q]! * ki[q]!;
    }
    this.nonlinear(sr, si, kr, ki);
    for (let q = 0; q < nA; q++) {
      wr[q] = e1[q]! * wr[q]! + accr[q]! + h6 * kr[q]!;
      wi[q] = e1[q]! * wi[q]! + acci[q]! + h6 * ki[q]!;
    }
  }
}

/**
 * Simulates `trajectories` runs of 2-D Navier–Stokes (see the module comment) and returns the
 * saved frames as float32 arrays [trajectories, steps, N, N]. Defaults: N = 64, L = 1, ν = 1e-3,
 * α = 0, the FNO forcing and initial field, dt = 2L/N, a frame every N/8 steps (0.25 time units),
 * 20 frames, no burn-in. That flow changes by 15 % → 5 % (relative L2 of ω) from frame to frame
 * over the 20 frames, and its spectrum at 32² is below 1e-4 of the total in the outer third of the
 * kept modes (checked by the test suite).
 * @example
 * const sim = simulateNavierStokes({ N: 32, trajectories: 4, steps: 10, seed: 1 });
 * sim.vorticity.length; // 4·10·32·32 (sim.shape = [4, 10, 32, 32])
 */
export function simulateNavierStokes(options: NavierStokesOptions = {}): NavierStokesResult {
  const fn = 'simulateNavierStokes';
  check(typeof options === 'object' && options !== null, fn, 'options', 'an object', options);
  const {
    N = 64,
    trajectories = DEFAULTS.trajectories,
    steps = DEFAULTS.steps,
    saveEvery = defaultSaveEvery(options.N ?? 64),
    burnIn = DEFAULTS.burnIn,
    seed = DEFAULTS.seed,
    initial = 'random',
    initialSpectrum = {},
  } = options;
  checkInt(fn, 'trajectories', trajectories, 1);
  checkInt(fn, 'steps', steps, 1);
  checkInt(fn, 'saveEvery', saveEvery, 1);
  checkInt(fn, 'burnIn', burnIn, 0);
  check(Number.isInteger(N) && N >= 8, fn, 'N', 'an integer >= 8', N);
  check(N <= MAX_N, fn, 'N', `at most ${MAX_N}`, N);
  const size = N * N;
  const total = trajectories * steps * size;
  check(total <= MAX_OUTPUT, fn, 'trajectories·steps·N²', `at most ${MAX_OUTPUT} (each of the three output arrays)`, total);
  const solver = new NavierStokesSolver({ ...options, N }, fn);
  const spectrum = resolveSpectrum(fn, initialSpectrum);

  let k: Key;
  if (options.key !== undefined) {
    const kk = options.key;
    check(
      Array.isArray(kk) && kk.length === 2 && kk.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32),
      fn,
      'key',
      'a key from random.key (two 32-bit words)',
      kk,
    );
    k = kk;
  } else {
    check(Number.isInteger(seed), fn, 'seed', 'an integer', seed);
    k = seedKey(seed);
  }
  let initialOf: (i: number) => Float64Array | Float32Array;
  if (initial === 'random') {
    const keys = split(k, trajectories);
    initialOf = (i) => solver.randomVorticity(keys[i]!, spectrum);
  } else if (isFloatArray(initial)) {
    check(
      initial.length === size || initial.length === trajectories * size,
      fn,
      'initial',
      `N² = ${size} or trajectories·N² = ${trajectories * size} values`,
      `length ${initial.length}`,
    );
    initialOf = (i) => (initial.length === size ? initial : initial.subarray(i * size, (i + 1) * size));
  } else {
    argError(fn, 'initial', "'random' or a Float32Array/Float64Array of vorticity values", initial);
  }

  const orientation = options.forcingOrientation ?? 'fixed';
  check(orientation === 'fixed' || orientation === 'random', fn, 'forcingOrientation', "'fixed' or 'random'", orientation);
  // One element of B_2 per trajectory, from keys of their own (the initial conditions keep theirs).
  const elements =
    orientation === 'random' && solver.forcing ? split(split(k, 2)[1]!, trajectories).map((ki) => permutation(ki, operators(2).length)[0]!) : null;
  const forcings = elements?.map((g) => orientedForcing(solver.forcing!, N, g)) ?? null;
  const solverOf = (i: number) => (forcings ? new NavierStokesSolver({ ...options, N, forcing: forcings[i]! }, fn) : solver);

  const vorticity = new Float32Array(total);
  const vx = new Float32Array(total);
  const vy = new Float32Array(total);
  for (let i = 0; i < trajectories; i++) {
    solverOf(i).rolloutInto(initialOf(i), steps, saveEvery, burnIn, { vorticity, vx, vy, offset: i * steps * size }, fn);
  }
  const t = Float64Array.from({ length: steps }, (_, j) => (burnIn + j) * saveEvery * solver.dt);
  const { tau, alpha, sigma } = spectrum;
  const attrs: NavierStokesResult['attrs'] = {
    equation: 'incompressible Navier-Stokes 2-D, vorticity form: dw/dt + u.grad(w) = nu lap(w) - drag w + f',
    method: 'pseudo-spectral, 2/3 de-aliasing, integrating-factor RK4 (Lawson), fixed dt',
    axes: 'row-major [x][y]; vorticity pseudoscalar, (vx, vy) vector',
    N,
    L: solver.L,
    nu: solver.nu,
    drag: solver.drag,
    dt: solver.dt,
    saveEvery,
    burnIn,
    steps,
    trajectories,
    forcing: solver.forcingInfo.name,
    forcingParams: solver.forcingInfo.params,
    initial: initial === 'random' ? 'gaussian random field' : 'given',
    initialSpectrum: initial === 'random' ? [tau, alpha, sigma] : [],
    key: [k[0], k[1]],
  };
  if (options.key === undefined) attrs.seed = seed;
  if (elements) attrs.forcingElements = elements;
  let forcing: Float32Array | null = null;
  if (forcings) {
    forcing = new Float32Array(trajectories * size);
    forcings.forEach((f, i) => forcing!.set(f, i * size));
  } else if (solver.forcing) {
    forcing = Float32Array.from(solver.forcing);
  }
  return {
    vorticity,
    vx,
    vy,
    t,
    forcing,
    shape: [trajectories, steps, N, N],
    attrs,
  };
}

/** g·f for the pseudoscalar forcing f on the N×N grid (the geometric image action: det(g) f(g⁻¹x) about the centre). */
function orientedForcing(f: Float64Array, N: number, g: number): Float64Array {
  const { index, sign } = actionMap(operators(2)[g]!, [N, N], 0, 1);
  return Float64Array.from(index, (src, i) => sign[i]! * f[src]!);
}

/**
 * The simulation as geometric data for batchTimeSeries: `dynamic` has batch = trajectories, key (0,1)
 * (vorticity, a pseudoscalar) and key (1,0) (velocity (vx, vy)), each with T = steps channels
 * (channel-major c·T + t, c = 1); `constant` holds the forcing as a (0,1) field of batch 1 (or
 * batch = trajectories with forcingOrientation 'random'), or is null without forcing. Both are torus images on the current backend; dispose them when done.
 * @example
 * const { dynamic, constant } = navierStokesToMultiImage(simulateNavierStokes({ N: 32, trajectories: 4 }));
 * const { x, y } = batchTimeSeries(dynamic, constant, { totalSteps: 20, pastSteps: 4, futureSteps: 1 });
 * dynamic.dispose(); constant?.dispose();
 */
export function navierStokesToMultiImage(result: NavierStokesResult): { dynamic: MultiImage; constant: MultiImage | null } {
  const fn = 'navierStokesToMultiImage';
  check(
    typeof result === 'object' && result !== null && Array.isArray(result.shape) && result.shape.length === 4,
    fn,
    'result',
    'a result of simulateNavierStokes',
    result,
  );
  const [B, T, N, N2] = result.shape;
  const total = B * T * N * N2;
  for (const name of ['vorticity', 'vx', 'vy'] as const) {
    check(
      result[name] instanceof Float32Array && result[name].length === total,
      fn,
      `result.${name}`,
      `a Float32Array of ${total} values (shape [${result.shape}])`,
      result[name]?.length,
    );
  }
  const vel = new Float32Array(2 * total);
  for (let p = 0; p < total; p++) {
    vel[2 * p] = result.vx[p]!;
    vel[2 * p + 1] = result.vy[p]!;
  }
  const blocks: Tensor[] = [tensor(result.vorticity, [B, T, N, N2]), tensor(vel, [B, T, N, N2, 2])];
  let dynamic: MultiImage;
  try {
    dynamic = MultiImage.fromBlocks({ '0,1': blocks[0]!, '1,0': blocks[1]! }, 2, true);
  } finally {
    for (const b of blocks) b.dispose();
  }
  if (!result.forcing) return { dynamic, constant: null };
  check(
    result.forcing instanceof Float32Array && (result.forcing.length === N * N2 || result.forcing.length === B * N * N2),
    fn,
    'result.forcing',
    `a Float32Array of ${N * N2} (one forcing) or ${B * N * N2} values (one per trajectory), or null`,
    result.forcing,
  );
  const f = tensor(result.forcing, [result.forcing.length / (N * N2), 1, N, N2]);
  try {
    return { dynamic, constant: MultiImage.fromBlocks({ '0,1': f }, 2, true) };
  } finally {
    f.dispose();
  }
}
