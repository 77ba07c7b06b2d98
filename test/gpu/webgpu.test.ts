/**
 * The webgpu backend against the ref backend (the spec), on whatever adapter this machine has —
 * in CI, Dawn (the `webgpu` package) on Mesa llvmpipe through OpenGL: WEBGPU_BACKEND=opengl,
 * EGL_PLATFORM=surfaceless (vitest.config.ts, project `gpu`). No silent skip: without an adapter
 * `init({ backend: 'webgpu' })` throws and every test fails with the reason.
 *
 * Tolerances: float32 against ref's float64 result rounded to float32 ("r"), in units of the float32
 * spacing at r (ulp(r)). The WGSL spec fixes the accuracy of each builtin (§ "Floating Point
 * Accuracy"): + - * are correctly rounded, so they must match exactly; x/y is 2.5 ulp; exp is
 * 3 + 2|x| ulp; inverseSqrt 2 ulp; log 3 ulp (absolute 2^-21 on [0.5, 2], which is why the shader
 * has its own series there). Our composite formulas (tanh, sigmoid, gelu, geluGrad) inherit exp's
 * error and add a few roundings; where a function is ill-conditioned (gelu in its left tail,
 * geluGrad at its zero crossing) the bound grows with the conditioning, and ref's own float64
 * formula has an absolute error of ~|x|·1e-16 there. WGSL also allows flushing subnormals, hence the
 * 2^-126 absolute floor on ops whose results can be subnormal. Each bound gets +0.5 ulp for ref's
 * rounding to float32.
 */
import { execFileSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { BinaryOp, Tensor, UnaryOp } from '../../src/index.js';
import type { WebGPUBackend, WebGPUBackendOptions } from '../../src/backends/webgpu/index.js';
import { sizeClass } from '../../src/backends/webgpu/buffers.js';
import { collapseBroadcast } from '../../src/core/kernel-geometry.js';
import { GpuContext, isSoftwareAdapter } from '../../src/backends/webgpu/device.js';

const { key, split, normal, uniform } = g.random;

// The shaders are embedded by the build; regenerate here too so that a test run always sees the
// current shaders/*.wgsl (idempotent, a few ms). Nothing above imports src/generated/shaders.ts
// (static imports run before this line): the backend module is loaded only by init() and by
// `createWebGPUBackend` below.
execFileSync(process.execPath, [fileURLToPath(new URL('../../scripts/embed-shaders.mjs', import.meta.url))], { stdio: 'pipe' });
const createWebGPUBackend = async (opts: WebGPUBackendOptions) => (await import('../../src/backends/webgpu/index.js')).createWebGPUBackend(opts);

let gpu: WebGPUBackend;

beforeAll(async () => {
  // Must succeed: a CI machine without an adapter fails here with init's reason.
  await g.init({ backend: 'webgpu' });
  gpu = g.getBackend('webgpu') as WebGPUBackend;
  console.log(gpu.describe());
});

/** Runs fn on `backend`, returns the data of its result, disposes everything fn made. */
async function on(backend: 'ref' | 'webgpu', fn: () => Tensor): Promise<Float32Array> {
  g.setBackend(backend);
  const t = g.tidy(fn);
  const data = await t.data();
  t.dispose();
  return data;
}

/** float32 spacing at |r| (subnormal spacing below 2^-126). */
function ulp(r: number): number {
  const a = Math.abs(r);
  if (a < 2 ** -126) return 2 ** -149;
  return 2 ** (Math.floor(Math.log2(a)) - 23);
}

const FTZ = 2 ** -126;
/** Worst error seen per op as a fraction of its tolerance, with its ulp count (printed at the end). */
const worst = new Map<string, { used: number; ulps: number; at: number }>();

/**
 * Checks got[i] against want[i] within tol(x[i], want[i]) (absolute); NaN must meet NaN and an
 * infinity the same infinity. Reports the first 5 offenders with their inputs.
 */
function expectClose(label: string, got: Float32Array, want: Float32Array, xs: ArrayLike<number>[], tol: (i: number, r: number) => number): void {
  expect(got.length, `${label}: length`).toBe(want.length);
  const bad: string[] = [];
  const op = label.split(' ')[0]!;
  let w = worst.get(op) ?? { used: 0, ulps: 0, at: 0 };
  for (let i = 0; i < want.length; i++) {
    const r = want[i]!;
    const v = got[i]!;
    if (!Number.isFinite(r) || !Number.isFinite(v)) {
      if (!(Object.is(r, v) || (Number.isNaN(r) && Number.isNaN(v)) || r === v)) bad.push(`[${i}] x=${xs.map((x) => x[i]).join(',')}: got ${v}, want ${r}`);
      continue;
    }
    const err = Math.abs(v - r);
    const t = tol(i, r);
    const used = err === 0 ? 0 : err / t;
    if (used > w.used) w = { used, ulps: err / ulp(r), at: xs[0]?.[i] ?? i };
    if (!(err <= t))
      bad.push(
        `[${i}] x=${xs.map((x) => x[i]).join(',')}: got ${v}, want ${r} (err ${err.toExponential(2)} = ${(err / ulp(r)).toFixed(1)} ulp, tol ${tol(i, r).toExponential(2)})`,
      );
  }
  worst.set(op, w);
  expect(bad.slice(0, 5), `${label}: ${bad.length} of ${want.length} outside tolerance`).toEqual([]);
}

afterAll(() => {
  const rows = [...worst].filter(([, w]) => w.used > 0).map(([op, w]) => `${op} ${(100 * w.used).toFixed(0)} % (${w.ulps.toPrecision(3)} ulp at x=${w.at})`);
  console.log(`largest error vs ref as a share of the tolerance (exact elsewhere): ${rows.join('; ')}`);
});

const GELU_C = Math.sqrt(2 / Math.PI);
const geluU = (x: number) => GELU_C * (x + 0.044715 * x * x * x);

/** Allowed absolute error of each unary op at input x with float32 reference r. */
const UNARY_TOL: Record<UnaryOp, (x: number, r: number) => number> = {
  // exact in IEEE float32 (sign changes, comparisons, one correctly rounded multiply)
  neg: () => 0,
  abs: () => 0,
  sign: () => 0,
  relu: () => 0,
  step: () => 0,
  square: () => 0,
  recip: (_, r) => 3 * ulp(r), // 1.0 / x: 2.5 ulp
  sqrt: (_, r) => 5 * ulp(r), // inherited from 1.0 / inverseSqrt(x): 2 + 2.5 ulp
  exp: (x, r) => (3.5 + 2 * Math.abs(x)) * ulp(r) + FTZ,
  log: (_, r) => 4 * ulp(r), // series on [0.5, 2] (~2 ulp), builtin 3 ulp elsewhere
  // polynomial (< 2 ulp) or (1-e)/(1+e): exp's error times 2e/(1-e²) <= 1.6, + 3 roundings
  tanh: (_, r) => 10 * ulp(r),
  sigmoid: (x, r) => (5.5 + 2 * Math.abs(x)) * ulp(r) + FTZ, // exp(-|x|), then one add, one divide
  // x·sigmoid(2u): exp at 2u, plus u's own rounding amplified by |2u|(1 - sigmoid)
  gelu: (x, r) => (6 + 8 * Math.abs(geluU(x))) * ulp(r) + Math.abs(x) * 2 ** -50 + FTZ,
  // s + 2x·s·(1-s)·u': each part as gelu's; the sum can cancel (zero near x = -0.75), so the bound
  // is relative to the size of the parts, not of the result
  geluGrad: (x) => {
    const u = geluU(x);
    const s = 1 / (1 + Math.exp(-2 * u));
    const part2 = Math.abs(2 * x * s * (1 - s) * GELU_C * (1 + 3 * 0.044715 * x * x));
    return (8 + 8 * Math.abs(u)) * ulp(Math.abs(s) + part2) + (1 + Math.abs(x)) * 2 ** -50 + FTZ;
  },
};

const UNARY_OPS = Object.keys(UNARY_TOL) as UnaryOp[];
const SIZES = [1, 5, 1000, 70000]; // 70000 > 256 · 256: many workgroups

/** Seeded inputs in each op's domain: N(0, 3²) (|x| up to ~15), log-uniform positives for sqrt/log. */
function unaryInput(op: UnaryOp, n: number, seed: number): Float32Array {
  const k = key(seed);
  if (op === 'sqrt' || op === 'log') {
    const e = uniform(k, n, -7, 5);
    const near1 = uniform(split(k)[0]!, n, 0.45, 2.2); // the series branch of log, and x ≈ 1
    return Float32Array.from(e, (v, i) => (i % 2 ? Math.exp(v) : near1[i]!));
  }
  return normal(k, n, 0, 3);
}

describe('unary vs ref', () => {
  it.each(UNARY_OPS.flatMap((op) => SIZES.map((n) => [op, n] as const)))('%s, %i elements', async (op, n) => {
    const x = unaryInput(op, n, 1000 + n + UNARY_OPS.indexOf(op));
    const want = await on('ref', () => g.unary(op, g.tensor(x)));
    const got = await on('webgpu', () => g.unary(op, g.tensor(x)));
    expectClose(`${op} n=${n}`, got, want, [x], (i, r) => UNARY_TOL[op](x[i]!, r));
  });

  // IEEE special values as ref gives them. WGSL allows an implementation to assume there are no
  // infinities or NaNs; this documents what the CI adapter (Dawn/llvmpipe) does and guards our
  // select-based NaN handling. Subnormal inputs are left out (WGSL may flush them to zero), and
  // geluGrad(±inf), where the shader gives the limits 1 and 0 but ref's formula gives NaN (inf·0).
  it.each(UNARY_OPS)('%s on special values', async (op) => {
    const base = [0, -0, Infinity, -Infinity, NaN, 1, -1, 0.5, 2, 1e30, -1e30, 3.4e38, 20.5, -20.5, 88, -87];
    const x = Float32Array.from(op === 'geluGrad' ? base.filter((v) => Number.isNaN(v) || Number.isFinite(v)) : base);
    const want = await on('ref', () => g.unary(op, g.tensor(x)));
    const got = await on('webgpu', () => g.unary(op, g.tensor(x)));
    expectClose(`${op} specials`, got, want, [x], (i, r) => UNARY_TOL[op](x[i]!, r));
  });
});

/** a/b shapes: same shape at every test size, scalars, broadcasting both ways, rank 5 alternating. */
const BINARY_SHAPES: [number[], number[]][] = [
  [[1], [1]],
  [[5], [5]],
  [[1000], [1000]],
  [[70000], [70000]],
  [[], []],
  [[5], []],
  [[], [1000]],
  [[70000], [1]],
  [[70, 1000], [1000]],
  [
    [70, 1],
    [70, 1000],
  ],
  [
    [4, 1, 5],
    [3, 1],
  ],
  [
    [2, 3, 4, 5],
    [3, 1, 5],
  ],
  [
    [2, 1, 3, 1, 4],
    [1, 5, 1, 6, 1],
  ],
  [[0], [1]],
  [
    [3, 0],
    [3, 1],
  ],
];

/** + - * exact (correctly rounded in WGSL and ref alike); / 2.5 ulp; the rest select or compare. */
const BINARY_TOL: Record<BinaryOp, (r: number) => number> = {
  add: () => 0,
  sub: () => 0,
  mul: () => 0,
  div: (r) => 3 * ulp(r),
  max: () => 0,
  min: () => 0,
  ge: () => 0,
  eq: () => 0,
};
const BINARY_OPS = Object.keys(BINARY_TOL) as BinaryOp[];
const shapeSize = (s: number[]) => s.reduce((p, d) => p * d, 1);

describe('binary vs ref', () => {
  it.each(BINARY_OPS.flatMap((op) => BINARY_SHAPES.map(([a, b]) => [op, JSON.stringify(a), JSON.stringify(b), a, b] as const)))(
    '%s %s with %s',
    async (op, _sa, _sb, sa, sb) => {
      const [ka, kb] = split(key(7 + BINARY_OPS.indexOf(op) * 100 + shapeSize(sa)));
      // Comparisons get values on a 0.5 grid so that ties (a == b) occur often.
      const grid = op === 'max' || op === 'min' || op === 'ge' || op === 'eq';
      const draw = (k: g.random.Key, n: number) => {
        const v = normal(k, n, 0, 2);
        return grid ? v.map((x) => Math.round(x * 2) / 2) : v;
      };
      const a = draw(ka!, shapeSize(sa));
      const b = draw(kb!, shapeSize(sb));
      const want = await on('ref', () => g.binary(op, g.tensor(a, sa), g.tensor(b, sb)));
      const got = await on('webgpu', () => g.binary(op, g.tensor(a, sa), g.tensor(b, sb)));
      expectClose(`${op} ${_sa}·${_sb}`, got, want, [], (_, r) => BINARY_TOL[op](r));
    },
  );

  it.each(BINARY_OPS)('%s on special values (NaN, ±inf, ±0, division by zero)', async (op) => {
    const a = Float32Array.from([1, -1, 0, -0, Infinity, -Infinity, NaN, 2, NaN, Infinity, 3]);
    const b = Float32Array.from([0, 0, 0, 0, Infinity, 1, 1, NaN, NaN, -Infinity, -0]);
    const want = await on('ref', () => g.binary(op, g.tensor(a), g.tensor(b)));
    const got = await on('webgpu', () => g.binary(op, g.tensor(a), g.tensor(b)));
    expectClose(`${op} specials`, got, want, [a, b], (_, r) => BINARY_TOL[op](r));
  });

  it('output shapes follow broadcasting', async () => {
    g.setBackend('webgpu');
    const y = g.tidy(() => g.mul(g.tensor(new Float32Array(4 * 5), [4, 1, 5]), g.tensor(new Float32Array(3), [3, 1])));
    expect(y.shape).toEqual([4, 3, 5]);
    y.dispose();
  });
});

describe('host-side geometry', () => {
  it('collapseBroadcast merges contiguous and broadcast runs, drops size-1 axes', () => {
    // same shape: one axis
    expect(
      collapseBroadcast(
        [2, 3, 4],
        [
          [12, 4, 1],
          [12, 4, 1],
        ],
      ),
    ).toEqual({ shape: [24], strides: [[1], [1]] });
    // [2,3,4] + [4]: b broadcast over the first two axes
    expect(
      collapseBroadcast(
        [2, 3, 4],
        [
          [12, 4, 1],
          [0, 0, 1],
        ],
      ),
    ).toEqual({
      shape: [6, 4],
      strides: [
        [4, 1],
        [0, 1],
      ],
    });
    // scalar operand and size-1 axes
    expect(
      collapseBroadcast(
        [1, 5, 1],
        [
          [0, 1, 0],
          [0, 0, 0],
        ],
      ),
    ).toEqual({ shape: [5], strides: [[1], [0]] });
    expect(collapseBroadcast([], [[], []])).toEqual({ shape: [], strides: [[], []] });
  });

  it('size classes are 16-byte multiples with at most 25 % slack', () => {
    for (const bytes of [1, 4, 16, 17, 255, 256, 257, 1000, 4096, 4097, 280000, 2 ** 20 + 4]) {
      const c = sizeClass(bytes);
      expect(c % 16).toBe(0);
      expect(c).toBeGreaterThanOrEqual(bytes);
      expect(c).toBeLessThanOrEqual(Math.max(16, bytes * 1.25 + 16));
    }
  });
});

describe('memory', () => {
  it('1,000 alloc/op/dispose rounds inside tidy: memory() unchanged, the pool does not grow, work is batched', async () => {
    g.setBackend('webgpu');
    const x = g.tensor(normal(key(3), 1000), [1000]);
    const data = normal(key(4), 1000);
    const round = (keepResult = false) =>
      g.tidy(() => {
        const t = g.tensor(data, [1000]);
        const y = g.add(g.mul(t, x), g.scale(t, 0.5));
        return keepResult ? y : undefined;
      });
    for (let i = 0; i < 5; i++) round(); // warm the pool
    await gpu.sync();
    const mem0 = g.memory();
    const pool0 = gpu.poolStats();
    const cmd0 = gpu.commandStats();
    for (let i = 0; i < 1000; i++) round();
    const last = round(true)!;
    const got = await last.data();
    last.dispose();
    await gpu.sync();
    expect(g.memory()).toEqual(mem0);
    const pool1 = gpu.poolStats();
    expect(pool1.created, 'no new GPU buffers after warm-up').toBe(pool0.created);
    expect(pool1.pooled).toBe(pool0.pooled);
    expect(pool1.live).toBe(pool0.live);
    const cmd1 = gpu.commandStats();
    expect(cmd1.dispatches - cmd0.dispatches).toBe(3 * 1001);
    expect(cmd1.submits - cmd0.submits, 'dispatches are batched into few submits').toBeLessThan(100);
    const xs = await x.data();
    for (let i = 0; i < 1000; i++) {
      expect(got[i]).toBeCloseTo(Math.fround(data[i]! * xs[i]!) + Math.fround(data[i]! * 0.5), 5);
    }
    x.dispose();
  });

  it('a freed buffer reused while the batch that read it is still open keeps both results right', async () => {
    g.setBackend('webgpu');
    const ys: Tensor[] = [];
    for (let i = 0; i < 50; i++) {
      const t = g.tensor(new Float32Array(300).fill(i), [300]); // reuses the previous t's buffer
      ys.push(g.mul(t, t));
      t.dispose();
    }
    for (let i = 0; i < 50; i++) {
      const d = await ys[i]!.data();
      expect([d[0], d[299]]).toEqual([i * i, i * i]);
      ys[i]!.dispose();
    }
  });

  it('Float64Array input, empty tensors, and the async-only read', async () => {
    g.setBackend('webgpu');
    const t = g.tensor(Float64Array.from([1.5, -2.25, 1 / 3]), [3]);
    expect(Array.from(await t.data())).toEqual([1.5, -2.25, Math.fround(1 / 3)]);
    expect(() => t.dataSync()).toThrow(/webgpu backend reads asynchronously/);
    const e = g.tensor([], [2, 0]);
    const y = g.add(g.neg(e), g.tensor([1, 2], [2, 1]));
    expect(y.shape).toEqual([2, 0]);
    expect((await y.data()).length).toBe(0);
    for (const u of [t, e, y]) u.dispose();
  });
});

describe('backend contract', () => {
  it('names its adapter and says whether it is a software one', () => {
    expect(gpu.name).toBe('webgpu');
    expect(gpu.describe()).toMatch(/^webgpu: .+feature level (core|compatibility)/);
    expect(typeof gpu.software).toBe('boolean');
    if (gpu.software) expect(gpu.describe()).toMatch(/software \(CPU\) adapter/);
    console.log(`adapter: ${gpu.describe()} (software: ${gpu.software})`);
  });

  it('the kernel table is complete: every op (of the ref table) has a WGSL kernel', async () => {
    expect(Object.keys(gpu.kernels).sort()).toEqual(Object.keys(g.getBackend('ref').kernels).sort());
    expect(Object.keys(gpu.kernels)).toContain('argmaxPoolGrad');
    // each op has its shader file, shaders/<op>.wgsl, or a gradient shares its forward op's
    // (argmaxPoolGrad is argmaxPool.wgsl with adjoint = 1)
    const { shaders } = await import('../../src/generated/shaders.js');
    for (const op of Object.keys(gpu.kernels)) expect(Object.keys(shaders), op).toContain(op in shaders ? op : op.replace(/Grad$/, ''));
  });

  it('recognises software adapters by flag or by name', () => {
    expect(isSoftwareAdapter({ device: 'llvmpipe-llvm-15-0-6-256-bits-', description: 'OpenGL version 4.5 (Core Profile) Mesa 22.3.6' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'google', architecture: 'swiftshader' })).toBe(true);
    expect(isSoftwareAdapter({ description: 'llvmpipe (LLVM 15.0.6, 256 bits)', vendor: 'mesa' })).toBe(true);
    expect(isSoftwareAdapter({ device: 'lavapipe' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'microsoft', description: 'Microsoft Basic Render Driver' })).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'nvidia', architecture: 'ada', description: 'NVIDIA GeForce RTX 4090' })).toBe(false);
    expect(isSoftwareAdapter({ vendor: 'apple', architecture: 'metal-3' }, true)).toBe(true);
    expect(isSoftwareAdapter({ vendor: 'intel', isFallbackAdapter: true })).toBe(true);
  });

  it("init({ backend: 'auto' }) skips a software adapter with a notice; an explicit 'webgpu' still uses it", async () => {
    const picked = await g.init({ backend: 'auto' });
    if (gpu.software) {
      expect(picked).not.toBe('webgpu');
      expect(
        g.notices.some((n) => /software/i.test(n)),
        g.notices.join(' | '),
      ).toBe(true);
    } else {
      expect(picked).toBe('webgpu');
    }
    expect(await g.init({ backend: 'webgpu' })).toBe('webgpu');
  });

  it('out-of-memory: a failed allocation is reported at the next use, naming the size and purpose', async () => {
    // Mesa llvmpipe allocates lazily (even 2 GiB succeeds), so a real OOM cannot be provoked here:
    // this drives GpuContext with a device whose error scope reports an out-of-memory error.
    const fake = {
      lost: new Promise(() => {}),
      limits: {},
      addEventListener: () => {},
      pushErrorScope: () => {},
      popErrorScope: () => Promise.resolve({ message: 'Not enough memory left.' }),
      createBuffer: (d: { size: number }) => {
        if (d.size > 2 ** 40) throw new RangeError('size too large');
        return {};
      },
    };
    const ctx = new GpuContext(fake as unknown as GPUDevice, { info: {} } as unknown as GPUAdapter, 'core', 'test');
    ctx.createBuffer({ size: 3 * 2 ** 30, usage: 0x80 }, 'a tensor of 805306368 float32');
    await new Promise((r) => setTimeout(r, 0));
    expect(() => ctx.check('alloc')).toThrow(
      /out of GPU memory: a 3072\.0 MiB buffer for a tensor of 805306368 float32 could not be allocated \(Not enough memory left\.\); dispose tensors/,
    );
    expect(() => ctx.check('alloc')).not.toThrow(); // reported once
    expect(() => ctx.createBuffer({ size: 2 ** 41, usage: 0x80 }, 'a gather index map')).toThrow(
      /creating a 2097152\.0 MiB GPU buffer for a gather index map failed: size too large/,
    );
  });
});

describe("a device with WebGPU's default limits (compat: 128 invocations, 16 KiB workgroup memory)", () => {
  let dflt: WebGPUBackend;
  beforeAll(async () => {
    dflt = await createWebGPUBackend({ defaultLimits: true });
  });
  afterAll(() => dflt?.destroy());

  /** Runs a kernel of `dflt` on `inputs` and returns its output. */
  const run = async (op: string, attrs: unknown, inputs: [Float32Array, number[]][], out: number[]) => {
    const ins = inputs.map(([d]) => {
      const st = dflt.alloc(d.length);
      dflt.write(st, d);
      return st;
    });
    const o = dflt.alloc(sizeOf(out));
    (dflt.kernels as Record<string, (...a: unknown[]) => void>)[op]!(o, ins, attrs, { inputs: inputs.map(([, s]) => s), out });
    const data = await dflt.read(o, sizeOf(out));
    for (const st of [...ins, o]) dflt.free(st);
    return data;
  };

  it('every kernel family runs within the default limits and matches ref', async () => {
    const l = dflt.context.limits;
    console.log(
      `default limits: ${l.maxComputeInvocationsPerWorkgroup} invocations, ${l.maxComputeWorkgroupStorageSize} B workgroup memory, ` +
        `${l.maxStorageBuffersPerShaderStage} storage buffers per stage`,
    );
    expect(l.maxStorageBuffersPerShaderStage).toBeGreaterThanOrEqual(3); // the most any shader binds
    // the most workgroup memory a shader declares: convFilterGrad, 2 × 4 KiB tiles + 1 KiB + 256 B of pixel origins
    expect(l.maxComputeWorkgroupStorageSize).toBeGreaterThanOrEqual(9472);
    const a = g.convAttrs(2, 3, { padding: 1, torus: [true, false], stride: [1, 2] });
    const xs = [2, 7, 8, 48];
    const ws = [9, 48, 20];
    const ys = [2, 7, 4, 20];
    const x = normal(key(31), sizeOf(xs));
    const w = normal(key(32), sizeOf(ws));
    const dy = normal(key(33), sizeOf(ys));
    const long = normal(key(34), 3 * 40000);
    const cases: [string, string, unknown, [Float32Array, number[]][], number[], () => Tensor, number][] = [
      [
        'conv',
        'conv',
        a,
        [
          [x, xs],
          [w, ws],
        ],
        ys,
        () => g.conv(g.tensor(x, xs), g.tensor(w, ws), a),
        1e-4,
      ],
      [
        'convInputGrad',
        'convInputGrad',
        { ...a, inputShape: xs },
        [
          [dy, ys],
          [w, ws],
        ],
        xs,
        () => g.convInputGrad(g.tensor(dy, ys), g.tensor(w, ws), a, xs),
        1e-4,
      ],
      [
        'convFilterGrad',
        'convFilterGrad',
        a,
        [
          [x, xs],
          [dy, ys],
        ],
        ws,
        () => g.convFilterGrad(g.tensor(x, xs), g.tensor(dy, ys), a),
        1e-4,
      ],
      [
        'matmul',
        'matmul',
        { transA: true, transB: false },
        [
          [x.subarray(0, 48 * 70), [48, 70]],
          [w.subarray(0, 48 * 20), [48, 20]],
        ],
        [70, 20],
        () => g.matmul(g.tensor(x.subarray(0, 48 * 70), [48, 70]), g.tensor(w.subarray(0, 48 * 20), [48, 20]), true, false),
        1e-4,
      ],
      ['reduce sum, tree + partials', 'reduce', { op: 'sum', axes: [1] }, [[long, [3, 40000]]], [3], () => g.sum(g.tensor(long, [3, 40000]), [1]), 1e-4],
      ['reduce max, tree', 'reduce', { op: 'max', axes: [0, 2] }, [[long, [4, 3000, 10]]], [3000], () => g.max(g.tensor(long, [4, 3000, 10]), [0, 2]), 0],
      [
        'argmaxPool',
        'argmaxPool',
        { patch: 2, tensorSize: 2 },
        [
          [x.subarray(0, 2 * 8 * 8 * 4), [2, 8, 8, 4]],
          [w.subarray(0, 2 * 8 * 8 * 2), [2, 8, 8, 2]],
        ],
        [2, 4, 4, 4],
        () => g.argmaxPool(g.tensor(x.subarray(0, 2 * 8 * 8 * 4), [2, 8, 8, 4]), g.tensor(w.subarray(0, 2 * 8 * 8 * 2), [2, 8, 8, 2]), 2, 2),
        0,
      ],
    ];
    for (const [name, op, attrs, inputs, out, reference, rel] of cases) {
      const got = await run(op, attrs, inputs, out);
      g.setBackend('ref');
      const t = g.tidy(reference);
      const want = await t.data();
      t.dispose();
      // sums: float32 against float64 over <= 432 (conv) / 40000 (reduce) terms of size ~1: within 1e-4 of max|ref|
      const scale = want.reduce((m, v) => Math.max(m, Math.abs(v)), 0);
      let err = 0;
      for (let i = 0; i < want.length; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
      expect(err, name).toBeLessThanOrEqual(rel * scale);
    }
  });
});

const REV = Int32Array.from({ length: 70000 }, (_, i) => 69999 - i);
const sizeOf = (s: number[]) => s.reduce((p, d) => p * d, 1);

describe('a second device with a tiny grid limit', () => {
  let small: WebGPUBackend;
  beforeAll(async () => {
    // 20 workgroups per dimension: 70000 elements = 274 workgroups of 256 run as a 20 × 14 grid
    // (the last 6 workgroups are past the end and return at once).
    small = await createWebGPUBackend({ maxWorkgroupsPerDimension: 20 });
  });

  const run = async (n: number, kernel: (out: unknown, ins: unknown[]) => void, inputs: Float32Array[]) => {
    const ins = inputs.map((d) => {
      const s = small.alloc(d.length);
      small.write(s, d);
      return s;
    });
    const out = small.alloc(n);
    kernel(out, ins);
    const data = await small.read(out, n);
    for (const s of [...ins, out]) small.free(s);
    return data;
  };

  it('unary and broadcasting binary dispatch over a 2D grid of workgroups', async () => {
    const n = 70000;
    const x = normal(key(11), n);
    const y = await run(n, (out, [a]) => small.kernels.unary(out as never, [a as never], { op: 'neg' }, { inputs: [[n]], out: [n] }), [x]);
    expect(y).toEqual(x.map((v) => -v));
    const row = normal(key(12), 1000);
    const z = await run(
      n,
      (out, [a, b]) => small.kernels.binary(out as never, [a as never, b as never], { op: 'sub' }, { inputs: [[70, 1000], [1000]], out: [70, 1000] }),
      [x, row],
    );
    expect(z).toEqual(x.map((v, i) => Math.fround(v - row[i % 1000]!)));
  });

  it('the workgroup-indexed kernels (conv family, matmul, reduce tree, gather) run over 2D grids', async () => {
    // Each dispatch below needs more than 20 workgroups: conv 2·32·32 rows / 64 = 32 tiles; the
    // input gradient likewise; matmul a batch of 30; reduce 3 outputs × 10 chunks; gather 274.
    const a = g.convAttrs(2, 3, { padding: 1, torus: true });
    const xs = [2, 32, 32, 2];
    const ws = [9, 2, 3];
    const ys = [2, 32, 32, 3];
    const x = normal(key(21), 2 * 32 * 32 * 2);
    const w = normal(key(22), 9 * 2 * 3);
    const dy = normal(key(23), 2 * 32 * 32 * 3);
    const cases: [string, number, (out: never, ins: never[]) => void, Float32Array[], () => Tensor][] = [
      ['conv', sizeOf(ys), (o, i) => small.kernels.conv(o, i, a, { inputs: [xs, ws], out: ys }), [x, w], () => g.conv(g.tensor(x, xs), g.tensor(w, ws), a)],
      [
        'convInputGrad',
        sizeOf(xs),
        (o, i) => small.kernels.convInputGrad(o, i, { ...a, inputShape: xs }, { inputs: [ys, ws], out: xs }),
        [dy, w],
        () => g.convInputGrad(g.tensor(dy, ys), g.tensor(w, ws), a, xs),
      ],
      [
        'matmul',
        30 * 4,
        (o, i) =>
          small.kernels.matmul(
            o,
            i,
            { transA: false, transB: false },
            {
              inputs: [
                [30, 2, 3],
                [3, 2],
              ],
              out: [30, 2, 2],
            },
          ),
        [x.subarray(0, 180), w.subarray(0, 6)],
        () => g.matmul(g.tensor(x.subarray(0, 180), [30, 2, 3]), g.tensor(w.subarray(0, 6), [3, 2])),
      ],
      [
        'reduce',
        3,
        (o, i) => small.kernels.reduce(o, i, { op: 'max', axes: [1] }, { inputs: [[3, 40000]], out: [3] }),
        [normal(key(24), 120000)],
        () => g.max(g.tensor(normal(key(24), 120000), [3, 40000]), [1]),
      ],
      [
        'gather',
        70000,
        (o, i) => small.kernels.gather(o, i, { shape: [70000], index: REV, blocks: 1 }, { inputs: [[70000]], out: [70000] }),
        [normal(key(25), 70000)],
        () => g.gather(g.tensor(normal(key(25), 70000), [70000]), [70000], REV),
      ],
    ];
    for (const [name, n, kernel, inputs, reference] of cases) {
      const got = await run(n, kernel as never, inputs);
      g.setBackend('ref');
      const t = g.tidy(reference);
      const want = await t.data();
      t.dispose();
      const tol = name === 'reduce' || name === 'gather' ? 0 : 1e-4; // sums: float32 against float64
      let err = 0;
      for (let i = 0; i < n; i++) err = Math.max(err, Math.abs(got[i]! - want[i]!));
      expect(err, name).toBeLessThanOrEqual(tol);
    }
  });

  it('reports uncaptured GPU errors at the next use, once', async () => {
    small.context.device.createBuffer({ size: 4, usage: 0xffff }); // invalid usage: a validation error
    await new Promise((r) => setTimeout(r, 50));
    expect(() => small.alloc(4)).toThrow(/webgpu: the GPU reported an error before alloc: .*/);
    small.free(small.alloc(4)); // consumed: usable again
  });

  it('after device loss every use throws the reason', async () => {
    const s = small.alloc(4);
    small.destroy();
    expect(() => small.alloc(4)).toThrow(/webgpu: the GPU device was lost \(destroyed by backend.destroy\(\)\)/);
    expect(() => small.write(s, new Float32Array(4))).toThrow(/device was lost/);
    await expect(small.read(s, 4)).rejects.toThrow(/device was lost/);
    small.free(s); // freeing stays possible (tensors are disposed after a loss too)
  });
});
