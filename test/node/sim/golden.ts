/**
 * The cross-runtime check of the simulator, shared by the Node, Deno and browser suites (each passes
 * the geoconv module it loaded: the sources in Node, the built bundle elsewhere). JavaScript engines
 * do not agree on the last bit of Math.sin/cos/exp/pow (Node 20's V8 and Deno 2.9's differ), which
 * enter the FFT twiddles, the integrating factors and the forcing; so a float64 state is compared to
 * 1e-12 relative (sampled values and weighted sums over all values), and the float32 outputs through
 * weighted sums to 1e-9 relative (a few one-ulp flips pass, any real difference fails). The FNV-1a
 * digests show whether a run is bit-identical to Node's; they are reported, not required.
 * EXPECTED holds Node's numbers: after a change of the solver's arithmetic, rerun the Node test
 * (test/node/sim/runtime.test.ts) and paste its output here.
 */
// deno-lint-ignore-file no-explicit-any
type Lib = any;

export const CASES = [
  { N: 16, trajectories: 2, steps: 3, saveEvery: 2, seed: 5 },
  { N: 12, trajectories: 1, steps: 2, saveEvery: 3, seed: 6, nu: 0.002, drag: 0.1, forcing: { type: 'kolmogorov', amplitude: 0.05, wavenumber: 2 } },
] as const;

/** FNV-1a (32 bits) over the bytes of typed arrays, as 8 hex digits. */
export function digest(...arrays: (Float32Array | Float64Array)[]): string {
  let h = 0x811c9dc5;
  for (const a of arrays) {
    const bytes = new Uint8Array(a.buffer, a.byteOffset, a.byteLength);
    for (let i = 0; i < bytes.length; i++) h = Math.imul(h ^ bytes[i]!, 0x01000193) >>> 0;
  }
  return h.toString(16).padStart(8, '0');
}

/** Four weighted sums Σ w_i a_i with fixed pseudo-random weights in [−0.5, 0.5), and Σ|a_i| for scale. */
export function projections(a: ArrayLike<number>): number[] {
  const out = [0, 0, 0, 0, 0];
  for (let i = 0; i < a.length; i++) {
    const v = a[i]!;
    for (let j = 0; j < 4; j++) {
      let h = Math.imul(i + 1 + 1000003 * j, 2654435761);
      h ^= h >>> 15;
      h = Math.imul(h, 0x2c1b3c6d);
      h ^= h >>> 12;
      out[j]! += v * ((h >>> 0) / 4294967296 - 0.5);
    }
    out[4]! += Math.abs(v);
  }
  return out;
}

export interface GoldenRun {
  /** Per case: the projections of vorticity, vx, vy (float32 outputs). */
  readonly outputs: number[][];
  /** Every 8th value of a float64 solver state and its projections. */
  readonly state: number[];
  readonly stateProjections: number[];
  /** FNV-1a digests: one per case (vorticity, vx, vy, forcing bytes), one of the float64 state. */
  readonly digests: string[];
}

export function goldenRun(lib: Lib): GoldenRun {
  const outputs: number[][] = [];
  const digests: string[] = [];
  for (const c of CASES) {
    const r = lib.simulateNavierStokes(c);
    outputs.push([...projections(r.vorticity), ...projections(r.vx), ...projections(r.vy)]);
    digests.push(digest(r.vorticity, r.vx, r.vy, ...(r.forcing ? [r.forcing] : [])));
  }
  const solver = new lib.NavierStokesSolver({ N: 16, dt: 0.05, nu: 0.003 });
  const w: Float64Array = solver.advance(
    solver.randomVorticity(lib.random.key(9)).map((v: number) => 5 * v),
    6,
  );
  digests.push(digest(w));
  return { outputs, state: Array.from(w.filter((_, i) => i % 8 === 0)), stateProjections: projections(w), digests };
}

/** Node's results (see the header). */
export const EXPECTED: GoldenRun = {
  outputs: [
    [
      -0.9962639114062852, 0.6702475496544089, -1.8571014832688502, 3.4670278336959797, 236.62182083346488, 0.05885676324602286, -0.14212142419766288,
      0.35449957284743083, 0.09236652354489969, 16.93776327673595, 0.32898273873854395, -0.15283002058202427, -0.21142815365717033, 0.3740931614006759,
      26.934192836320108,
    ],
    [
      -0.5600165165709339, -0.09667686690124813, -0.8037925399694048, 1.8536992303068072, 46.51140799029963, 0.05687597685880948, 0.0805499268474306,
      -0.009606809904791087, 0.06833123201925628, 4.400971676189329, -0.07511577137568512, 0.04849690205534755, -0.05290421053687566, -0.03338550560216658,
      2.0397198363716598,
    ],
  ],
  state: [
    0.7837015934890649, -0.6594422606013722, 1.0190055976582324, -0.6079285848643609, 1.1743141537703778, -0.44928027733643766, 1.299726585703203,
    -0.45678556497784734, 1.2734136645748844, -0.7692434349950774, 0.9889425198200427, -1.001507445295662, 0.7433929427319663, -0.9495570625796073,
    0.7763850706071784, -0.9109158045958912, 0.8309777811700716, -0.9782632889540492, 0.680742752533227, -0.8462081386816707, 0.4507970896237315,
    -0.4581465543209426, 0.2533082702464958, -0.19579239356027436, 0.12065123803200262, -0.3378017876047672, 0.13383590942701884, -0.6683535742503138,
    0.2863740854334931, -0.7936103211698593, 0.5116758428301942, -0.7078534813360926,
  ],
  stateProjections: [1.2080353507738812, -1.8896548015163668, 4.236241804862491, 6.782493133165331, 189.7622152610662],
  digests: ['bd6ea3af', '98a8b271', 'c058ec66'],
};

/** Mismatches of a run against EXPECTED (empty when it agrees), and whether it is bit-identical. */
export function goldenCompare(run: GoldenRun): { failures: string[]; bitIdentical: boolean; identical: boolean[]; maxStateError: number } {
  const failures: string[] = [];
  const close = (what: string, got: number, want: number, scale: number, tol: number) => {
    if (!(Math.abs(got - want) <= tol * scale)) failures.push(`${what}: ${got} vs Node's ${want} (tolerance ${tol} × ${scale})`);
  };
  const sums = (what: string, got: number[], want: number[], tol: number) => {
    if (got.length !== want.length) failures.push(`${what}: ${got.length} numbers vs ${want.length}`);
    for (let i = 0; i < want.length; i++) close(`${what}[${i}]`, got[i]!, want[i]!, want[i - (i % 5) + 4]!, tol);
  };
  EXPECTED.outputs.forEach((want, c) => sums(`case ${c} outputs`, run.outputs[c] ?? [], want, 1e-9));
  sums('state projections', run.stateProjections, EXPECTED.stateProjections, 1e-12);
  const top = Math.max(...EXPECTED.state.map(Math.abs));
  EXPECTED.state.forEach((want, i) => close(`state[${8 * i}]`, run.state[i]!, want, top, 1e-12));
  const bitIdentical = run.digests.length === EXPECTED.digests.length && run.digests.every((d, i) => d === EXPECTED.digests[i]);
  const maxStateError = Math.max(...EXPECTED.state.map((want, i) => Math.abs(run.state[i]! - want) / top));
  const identical = EXPECTED.digests.map((d, i) => run.digests[i] === d);
  return { failures, bitIdentical, identical, maxStateError };
}
