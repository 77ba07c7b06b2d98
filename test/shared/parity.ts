/**
 * Kernel parity against the ref backend, shared by the Node, Deno and browser suites (each passes
 * the geoconv module it loaded: the built bundle in Deno and the browser). Every primitive runs on
 * seeded inputs on ref (float64) and on the backend under test; the error of linear ops (conv and
 * its adjoints, matmul, reductions) is measured against the same op applied to |inputs| on ref, so
 * that float32 accumulation over many terms is judged by its real error bound, not by cancellation.
 */
// deno-lint-ignore-file no-explicit-any
type Lib = any;

export interface ParityCase {
  readonly name: string;
  /** Inputs: shapes (seeded random values). */
  readonly shapes: readonly (readonly number[])[];
  /** Builds the op from tensors (on the current backend); `abs`: the |inputs| run of a linear op. */
  readonly op: (lib: Lib, xs: any[], abs: boolean) => any;
  /** Linear in each input: the error bound comes from op(|inputs|). */
  readonly linear?: boolean;
  /** Tolerance: relative to the bound (linear) or to |ref| + 1 (elementwise). */
  readonly tol: number;
}

export interface ParityResult {
  readonly name: string;
  readonly error: number;
  readonly tol: number;
  readonly ok: boolean;
}

const conv = (lib: Lib, D: number, k: number, o: Record<string, unknown>) => lib.convAttrs(D, k, o);

/** The cases: every primitive with the geometry edges (torus/zero, stride, both dilations, D = 1..3, batch). */
export function parityCases(): ParityCase[] {
  const c: ParityCase[] = [];
  for (const op of ['neg', 'abs', 'square', 'sqrt', 'exp', 'log', 'relu', 'tanh', 'sigmoid', 'gelu']) {
    c.push({ name: `unary ${op}`, shapes: [[3, 37]], op: (l, [x]) => l.unary(op, op === 'sqrt' || op === 'log' ? l.addScalar(l.abs(x), 0.1) : x), tol: 4e-6 });
  }
  for (const op of ['add', 'sub', 'mul', 'div', 'max', 'min']) {
    c.push({
      name: `binary ${op} (broadcast)`,
      shapes: [
        [4, 1, 9],
        [5, 1],
      ],
      op: (l, [a, b]) => l.binary(op, a, op === 'div' ? l.addScalar(l.abs(b), 0.5) : b),
      tol: 1e-6,
    });
  }
  c.push({ name: 'reduce sum (axes 0, 2)', shapes: [[6, 5, 33]], op: (l, [x]) => l.sum(x, [0, 2]), linear: true, tol: 1e-5 });
  c.push({ name: 'reduce max (axis 1)', shapes: [[6, 5, 33]], op: (l, [x]) => l.max(x, [1]), tol: 1e-7 });
  for (const [ta, tb] of [
    [false, false],
    [true, false],
    [false, true],
    [true, true],
  ] as const) {
    c.push({
      name: `matmul ${ta ? 'Aᵀ' : 'A'}·${tb ? 'Bᵀ' : 'B'} (batch broadcast)`,
      shapes: [[2, ...(ta ? [19, 13] : [13, 19])], tb ? [21, 19] : [19, 21]],
      op: (l, [a, b]) => l.matmul(a, b, ta, tb),
      linear: true,
      tol: 1e-5,
    });
  }
  c.push({ name: 'gather (permute)', shapes: [[3, 4, 5]], op: (l, [x]) => l.permute(x, [2, 0, 1]), tol: 0 });
  c.push({ name: 'strided (upsample)', shapes: [[2, 3, 4, 2]], op: (l, [x]) => l.upsample(x, [1, 2], 2), tol: 0 });
  c.push({
    name: 'strided (summing view)',
    shapes: [[3, 4, 5]],
    op: (l, [x]) => l.strided(x, [4, 5], [3, 4, 5], { offset: 0, strides: [20, 5, 1] }, { offset: 0, strides: [0, 5, 1] }),
    linear: true,
    tol: 1e-6,
  });
  c.push({
    name: 'scatterAdd (repeated indices)',
    shapes: [[24]],
    op: (l, [x]) =>
      l.scatterAdd(
        x,
        [7],
        Int32Array.from({ length: 24 }, (_, i) => ((i * 5) % 7) - (i % 6 === 0 ? 1 : 0)),
      ),
    linear: true,
    tol: 1e-6,
  });
  c.push({ name: 'gather (4 blocks)', shapes: [[4, 5, 3]], op: (l, [x]) => l.gather(x, [4, 7], Int32Array.from([14, 0, -1, 7, 7, 3, 12]), 4), tol: 0 });
  c.push({
    name: 'scatterAdd (4 blocks, repeated indices)',
    shapes: [[4, 6]],
    op: (l, [x]) => l.scatterAdd(x, [4, 5], Int32Array.from([4, 0, 4, -1, 2, 4]), 4),
    linear: true,
    tol: 1e-6,
  });
  c.push({
    name: 'concat (axis 1)',
    shapes: [
      [2, 3, 4],
      [2, 5, 4],
    ],
    op: (l, [a, b]) => l.concat([a, b], 1),
    tol: 0,
  });
  c.push({
    name: 'argmaxPool 2-D',
    shapes: [
      [2, 6, 4, 6],
      [2, 6, 4, 3],
    ],
    op: (l, [x, cmp]) => l.argmaxPool(x, cmp, 2, 2),
    tol: 0,
  });
  const geometries: [string, number[], number[], number, number, Record<string, unknown>][] = [
    ['2-D torus 3×3', [2, 7, 6, 5], [9, 5, 11], 2, 3, { torus: true, padding: 1 }],
    ['2-D zero, stride 2, dilation 2', [1, 9, 8, 4], [9, 4, 6], 2, 3, { padding: 2, stride: 2, rhsDilation: 2 }],
    ['2-D lhs dilation 2 (upsampling), even kernel', [1, 4, 5, 3], [4, 3, 5], 2, 2, { padding: 1, lhsDilation: 2 }],
    ['2-D partial torus, non-square', [1, 5, 9, 3], [9, 3, 4], 2, 3, { torus: [true, false], padding: 1 }],
    ['2-D 1-pixel image', [3, 1, 1, 4], [9, 4, 2], 2, 3, { torus: true, padding: 1 }],
    ['2-D 48 channels', [1, 6, 6, 48], [9, 48, 48], 2, 3, { torus: true, padding: 1 }],
    ['1-D torus 5 taps', [2, 11, 3], [5, 3, 4], 1, 5, { torus: true, padding: 2 }],
    ['3-D torus 3×3×3', [1, 4, 5, 3, 3], [27, 3, 4], 3, 3, { torus: true, padding: 1 }],
  ];
  for (const [name, xs, ws, D, k, o] of geometries) {
    c.push({ name: `conv ${name}`, shapes: [xs, ws], op: (l, [x, w]) => l.conv(x, w, conv(l, D, k, o)), linear: true, tol: 1e-5 });
    // The adjoints take a cotangent dy of the output's shape (seeded, |dy| in the bound run).
    const cotangent = (l: Lib, x: any, w: any, abs: boolean) => {
      const a = conv(l, D, k, o);
      const y = l.conv(x, w, a);
      const r = l.random.normal(l.random.key(99), y.size);
      const dy = l.tensor(abs ? r.map(Math.abs) : r, y.shape);
      y.dispose();
      return { a, dy };
    };
    c.push({
      name: `convInputGrad ${name}`,
      shapes: [xs, ws],
      op: (l, [x, w], abs) => {
        const { a, dy } = cotangent(l, x, w, abs);
        return l.convInputGrad(dy, w, a, x.shape);
      },
      linear: true,
      tol: 1e-5,
    });
    c.push({
      name: `convFilterGrad ${name}`,
      shapes: [xs, ws],
      op: (l, [x, w], abs) => {
        const { a, dy } = cotangent(l, x, w, abs);
        return l.convFilterGrad(x, dy, a);
      },
      linear: true,
      tol: 1e-5,
    });
  }
  return c;
}

/** The largest |a − b| / (bound + tiny) over elements. */
function error(a: ArrayLike<number>, b: ArrayLike<number>, bound: ArrayLike<number> | null): number {
  let worst = 0;
  for (let i = 0; i < a.length; i++) {
    const d = Math.abs(a[i]! - b[i]!);
    if (Number.isNaN(a[i]!) !== Number.isNaN(b[i]!)) return Infinity;
    if (Number.isNaN(d)) continue;
    const scale = bound ? Math.abs(bound[i]!) + 1e-30 : Math.abs(b[i]!) + 1;
    worst = Math.max(worst, d / scale);
  }
  return worst;
}

/** Runs every case on `backend` and on ref; inputs are identical (generated in TypeScript). */
export async function runParity(lib: Lib, backend: 'wasm' | 'webgpu'): Promise<ParityResult[]> {
  const results: ParityResult[] = [];
  for (const [i, c] of parityCases().entries()) {
    const values = c.shapes.map((s, j) =>
      lib.random.normal(
        lib.random.key(1000 * i + j),
        s.reduce((a: number, b: number) => a * b, 1),
      ),
    );
    const on = async (name: string, abs: boolean) => {
      lib.setBackend(name);
      const xs = c.shapes.map((s, j) => lib.tensor(abs ? values[j]!.map(Math.abs) : values[j], s));
      const y = c.op(lib, xs, abs);
      const data = await y.data();
      y.dispose();
      xs.forEach((x: any) => x.dispose());
      return data;
    };
    const want = await on('ref', false);
    const bound = c.linear ? await on('ref', true) : null;
    const got = await on(backend, false);
    const e = got.length === want.length ? error(got, want, bound) : Infinity;
    results.push({ name: c.name, error: e, tol: c.tol, ok: e <= c.tol });
  }
  lib.setBackend('ref');
  return results;
}

/** Gradient parity: valueAndGrad of a small conv composite on `backend` against ref. */
export async function gradientParity(lib: Lib, backend: 'wasm' | 'webgpu'): Promise<ParityResult> {
  const run = async (name: string) => {
    lib.setBackend(name);
    const x = lib.tensor(lib.random.normal(lib.random.key(7), 2 * 6 * 6 * 3), [2, 6, 6, 3]);
    const w = lib.tensor(lib.random.normal(lib.random.key(8), 9 * 3 * 4, 0, 0.3), [9, 3, 4]);
    const a = lib.convAttrs(2, 3, { torus: true, padding: 1 });
    const { value, grads } = lib.valueAndGrad((p: any) => lib.sum(lib.tanh(lib.conv(x, p.w, a))))({ w });
    const out = [await value.data(), await grads.w.data()];
    [x, w, value, grads.w].forEach((t: any) => t.dispose());
    return out;
  };
  const [v0, g0] = await run('ref');
  const [v1, g1] = await run(backend);
  lib.setBackend('ref');
  const e = Math.max(error(v1!, v0!, null), error(g1!, g0!, null));
  return { name: 'valueAndGrad(sum(tanh(conv)))', error: e, tol: 1e-4, ok: e <= 1e-4 };
}

/**
 * Every case and the gradient on `backend` (started with init): the failures as readable lines
 * (empty when all pass). Fewer than `minCases` results also counts as a failure.
 */
export async function parityFailures(lib: Lib, backend: 'wasm' | 'webgpu', minCases = 40): Promise<string[]> {
  await lib.init({ backend });
  const results = [...(await runParity(lib, backend)), await gradientParity(lib, backend)];
  const bad = results.filter((r) => !r.ok).map((r) => `${r.name}: ${r.error} > ${r.tol}`);
  return results.length < minCases ? [...bad, `only ${results.length} parity cases ran`] : bad;
}

/**
 * The three convolutions and large elementwise and index-map ops (split between the threads above
 * ~125k elements; sizes not a multiple of 4) on wasm with 2 threads against 1 thread, bit for bit:
 * failures as lines (including when 2 threads could not start).
 */
export async function threadIdentityFailures(lib: Lib): Promise<string[]> {
  const run = async (threads: number) => {
    await lib.init({ backend: 'wasm', threads });
    const be = lib.getBackend('wasm') as { threads: number; close(): void };
    const a = lib.convAttrs(2, 3, { padding: 1, torus: true });
    const out: Float32Array[] = lib.tidy(() => {
      const x = lib.tensor(lib.random.normal(lib.random.key(1), 2 * 32 * 24 * 16), [2, 32, 24, 16]);
      const w = lib.tensor(lib.random.normal(lib.random.key(2), 9 * 16 * 20), [9, 16, 20]);
      const y = lib.conv(x, w, a);
      const u = lib.tensor(lib.random.normal(lib.random.key(3), 300_003), [300_003]);
      const v = lib.tensor(lib.random.normal(lib.random.key(4), 300_003), [300_003]);
      const rows = lib.slice(u, 0, 0, 300_000).reshape([1000, 300]);
      const map = Int32Array.from({ length: 300 }, (_, i) => (i % 7 === 0 ? -1 : (i * 13) % 290));
      return [
        y.dataSync(),
        lib.convInputGrad(y, w, a, x.shape).dataSync(),
        lib.convFilterGrad(x, y, a).dataSync(),
        lib.gelu(u).dataSync(),
        lib.mul(u, v).dataSync(),
        lib.div(u, v).dataSync(),
        lib.permute(rows.reshape([1000, 20, 15]), [0, 2, 1]).dataSync(),
        lib.scatterAdd(rows, [1000, 290], map, 1000).dataSync(),
      ];
    });
    const used = be.threads;
    be.close();
    return { used, out };
  };
  const two = await run(2);
  const one = await run(1);
  lib.setBackend('ref');
  const failures = two.used === 2 ? [] : [`expected 2 threads, got ${two.used}`];
  ['conv', 'convInputGrad', 'convFilterGrad', 'gelu', 'mul', 'div', 'gather (permute)', 'scatterAdd (blocks)'].forEach((name, k) => {
    const a = one.out[k]!;
    const b = two.out[k]!;
    if (a.length !== b.length || !a.every((v, i) => Object.is(v, b[i]))) failures.push(`${name} differs between 1 and 2 threads`);
  });
  return failures;
}
