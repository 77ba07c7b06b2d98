/**
 * The wasm convolution kernels (assembly/kernels/conv.ts): conv, convInputGrad, convFilterGrad.
 *
 * This side turns the geometry (src/core/kernel-geometry.ts `convSource`: stride, rhs/lhs dilation, zero or
 * periodic padding per axis, D = 1..3) into per-axis source tables, packs the filter for the
 * register-blocked micro-kernels, and runs the kernel over the executor (one thread, or workers
 * over a shared memory). Scratch (tables, packed filter, zero row, parameters) is allocated in the
 * heap for the call and freed after it.
 *
 * - conv: a gather convolution over x with tables T_d[o][a] = convSource(o, a).
 * - convInputGrad: the same gather convolution over dy, with the inverse tables (for each input
 *   index i and tap a, the output index o with convSource(o, a) = i, or -1) and the filter
 *   transposed ([tap][Cout][Cin]). Where one (i, a) is read by several o (a torus axis whose
 *   output is longer than its input), the tap axis is widened to K·M entries (M = the largest
 *   multiplicity) and the filter duplicated accordingly. For stride 1 and no lhs dilation this is
 *   the flipped-filter convolution; otherwise the tables hold -1 where stride/dilation leave holes.
 * - convFilterGrad: a blocked reduction over output pixels (tiles of one tap × CI × CO channels;
 *   dy and the gathered x packed per chunk of rows, so the tile loop streams contiguous memory).
 */
import { sizeOf, type Shape } from '../../core/shape.js';
import { convSource } from '../../core/kernel-geometry.js';
import type { ConvAttrs, Kernel } from '../../ops/op.js';
import type { KernelExports, ParallelKernel } from '../../generated/exports.js';
import { writeFgrad, writeGconv } from '../../generated/params.js';
import type { WasmHeap } from './memory.js';
import type { WasmKernelContext } from './kernels.js';

/** Runs a parallel kernel of the module: ex[fn](params, tid, nt) for every tid < nt. */
export interface Executor {
  readonly threads: number;
  /** `work` ~ flops, to decide whether waking workers pays. */
  run(fn: ParallelKernel, params: number, work: number): void;
}

export type { ParallelKernel };

/**
 * The flops an element of an elementwise or index-map op counts as for Executor.run's threshold
 * (convTuning.minParallelWork, 2 MFLOP): from about 125k elements waking the workers (20–50 µs) pays.
 */
export const ELEMENTWISE_WORK = 16;

/** One spatial axis of a gather: out size, in size, table width J and table [out][J] (-1 = padding). */
interface GatherAxis {
  readonly nOut: number;
  readonly nIn: number;
  readonly J: number;
  /** The filter size along this axis. */
  readonly K: number;
  readonly table: Int32Array;
  /** The filter tap (along this axis) of table column j. */
  readonly tapOf: (j: number) => number;
}

interface AxisGeom {
  n: number;
  o: number;
  k: number;
  s: number;
  lo: number;
  torus: boolean;
  r: number;
  l: number;
}

/** The 3 axes of the kernels: leading unit axes where D < 3, the innermost real axis last. */
function geometry(x: Shape, out: Shape, a: ConvAttrs): AxisGeom[] {
  const D = a.kernel.length;
  const axes: AxisGeom[] = [];
  for (let i = 0; i < 3 - D; i++) axes.push({ n: 1, o: 1, k: 1, s: 1, lo: 0, torus: false, r: 1, l: 1 });
  for (let d = 0; d < D; d++) {
    axes.push({
      n: x[d + 1]!,
      o: out[d + 1]!,
      k: a.kernel[d]!,
      s: a.stride[d]!,
      lo: a.padding[d]![0],
      torus: a.torus[d]!,
      r: a.rhsDilation[d]!,
      l: a.lhsDilation[d]!,
    });
  }
  return axes;
}

const src = (g: AxisGeom, o: number, a: number): number => convSource(o, a, g.n, g.s, g.lo, g.torus, g.r, g.l);

/** Forward tables: T[o][a] = the input index read by output o at tap a. */
function forwardAxis(g: AxisGeom): GatherAxis {
  const table = new Int32Array(g.o * g.k);
  for (let o = 0; o < g.o; o++) for (let a = 0; a < g.k; a++) table[o * g.k + a] = src(g, o, a);
  return { nOut: g.o, nIn: g.n, J: g.k, K: g.k, table, tapOf: (j) => j };
}

/**
 * Inverse tables: T[i][j] = the m-th output index that reads input i at tap a, with columns
 * j = (K−1−a)·M + m, so that for stride 1 and unit dilation the outputs a pixel reads increase with
 * j (o = i + lo − a): the flipped-filter convolution, whose taps are consecutive pixels.
 */
function inverseAxis(g: AxisGeom): GatherAxis {
  const lists: number[][] = Array.from({ length: g.n * g.k }, () => []);
  for (let o = 0; o < g.o; o++) {
    for (let a = 0; a < g.k; a++) {
      const i = src(g, o, a);
      if (i >= 0) lists[i * g.k + a]!.push(o);
    }
  }
  const M = Math.max(1, ...lists.map((l) => l.length));
  const J = g.k * M;
  const table = new Int32Array(g.n * J).fill(-1);
  for (let i = 0; i < g.n; i++) {
    for (let a = 0; a < g.k; a++)
      lists[i * g.k + a]!.forEach((o, m) => {
        table[i * J + (g.k - 1 - a) * M + m] = o;
      });
  }
  return { nOut: g.n, nIn: g.o, J, K: g.k, table, tapOf: (j) => g.k - 1 - Math.floor(j / M) };
}

/**
 * The rows of a [J][O] byte-offset table as runs of consecutive outputs whose sources are evenly
 * spaced (-1 entries excluded): Int32 [J + 1] start indices (in 4-int entries, counted from the
 * table start), then entries (q0, n, offset, stride). The `fgrad` block's RUNS (src/backends/kernelParams.ts).
 */
function runTable(t: Int32Array, J: number, O: number): Int32Array {
  const entries: number[] = [];
  const starts: number[] = [];
  const head = Math.ceil((J + 1) / 4); // header size in entries
  for (let j = 0; j < J; j++) {
    starts.push(head + entries.length / 4);
    let q = 0;
    while (q < O) {
      const f = t[j * O + q]!;
      if (f < 0) {
        q++;
        continue;
      }
      let n = 1;
      let stride = 0;
      if (q + 1 < O && t[j * O + q + 1]! >= 0) {
        stride = t[j * O + q + 1]! - f;
        n = 2;
        while (q + n < O && t[j * O + q + n]! >= 0 && t[j * O + q + n]! - t[j * O + q + n - 1]! === stride) n++;
      }
      entries.push(q, n, f, stride);
      q += n;
    }
  }
  starts.push(head + entries.length / 4);
  const out = new Int32Array(4 * head + entries.length);
  out.set(starts);
  out.set(entries, 4 * head);
  return out;
}

/** Tuning: config overrides (benchmarks and tests); undefined = the built-in choice. */
export const convTuning: { gather?: number; filter?: number; chunkPixels: number; minParallelWork: number } = {
  chunkPixels: 256,
  minParallelWork: 2e6,
};

export interface ConvConfigs {
  readonly gather: readonly { P: number; CB: number }[];
  readonly filter: readonly { CI: number; CO: number }[];
}

export function readConvConfigs(ex: KernelExports): ConvConfigs {
  const gather = Array.from({ length: ex.GC_NCONFIGS.value as number }, (_, i) => {
    const c = ex.gcConfig(i);
    return { P: c >> 8, CB: c & 255 };
  });
  const filter = Array.from({ length: ex.FG_NCONFIGS.value as number }, (_, i) => {
    const c = ex.fgConfig(i);
    return { CI: c >> 8, CO: c & 255 };
  });
  return { gather, filter };
}

/**
 * Preferred register blocks, measured (bench/tune notes in bench/README.md): with fused
 * multiply-add 3 pixels × 12 channels (9 accumulators) is best; without it the mul + add needs a
 * temporary register and 3 × 12 spills, so 2 × 16 / 4 × 8 lead. More than ~9 accumulators spill in
 * V8's register allocator (16 xmm registers, one reserved).
 */
const GATHER_PREF = {
  relaxed: [
    [3, 12],
    [4, 8],
    [2, 16],
    [2, 12],
    [6, 4],
  ],
  simd: [
    [2, 16],
    [4, 8],
    [2, 12],
    [6, 4],
  ],
} as const;
const FILTER_PREF = {
  relaxed: [
    [3, 12],
    [4, 8],
    [2, 16],
  ],
  simd: [
    [4, 8],
    [2, 16],
    [2, 12],
  ],
} as const;

/** The first preferred block with the least channel padding. */
function pickBlock<T extends object>(list: readonly T[], pref: readonly (readonly [number, number])[], C: number, key: (t: T) => [number, number]): number {
  let best = -1;
  let bestWaste = Infinity;
  for (const [a, b] of pref) {
    const i = list.findIndex((t) => key(t)[0] === a && key(t)[1] === b);
    if (i < 0) continue;
    const padded = Math.ceil(C / b) * b;
    const waste = (padded - C) / padded;
    if (waste < bestWaste - 1e-9) {
      best = i;
      bestWaste = waste;
    }
  }
  if (best < 0) throw new Error('wasm backend: no conv micro-kernel configuration matches (rebuild with npm run build:wasm)');
  return best;
}

export function createConvKernels(
  ex: KernelExports,
  heap: WasmHeap,
  exec: Executor,
): {
  conv: Kernel<'conv', number>;
  convInputGrad: Kernel<'convInputGrad', number>;
  convFilterGrad: Kernel<'convFilterGrad', number>;
} {
  const configs = readConvConfigs(ex);
  const variant = (ex.CONV_RELAXED.value as number) === 1 ? 'relaxed' : 'simd';

  /** Scratch blocks of one call, freed together. */
  const scratch = () => {
    const ptrs: number[] = [];
    return {
      alloc(bytes: number): number {
        const p = heap.alloc(bytes);
        ptrs.push(p);
        return p;
      },
      ints(data: Int32Array): number {
        const p = this.alloc(data.byteLength);
        heap.i32().set(data, p >>> 2);
        return p;
      },
      free() {
        for (const p of ptrs) heap.free(p);
      },
    };
  };

  /**
   * One gather convolution: out[B, axes.nOut, cout] from in[B, axes.nIn, cin] and the filter
   * `w` (element offsets: tap·sT + k·sK + c·sC for gather input channel k, output channel c).
   */
  function gather(out: number, inp: number, w: number, B: number, axes: GatherAxis[], cin: number, cout: number, sT: number, sK: number, sC: number): void {
    const s = scratch();
    try {
      const cfgIndex = convTuning.gather ?? pickBlock(configs.gather, GATHER_PREF[variant], cout, (g) => [g.P, g.CB]);
      const { P, CB } = configs.gather[cfgIndex]!;
      const [a0, a1, a2] = axes as [GatherAxis, GatherAxis, GatherAxis];
      const o2pad = Math.ceil(a2.nOut / P) * P;
      // axis 2: [J2][O2PAD] byte offsets of the source pixel in its row
      const t2 = new Int32Array(a2.J * o2pad).fill(-1);
      for (let q = 0; q < a2.nOut; q++) {
        for (let j = 0; j < a2.J; j++) {
          const v = a2.table[q * a2.J + j]!;
          t2[j * o2pad + q] = v < 0 ? -1 : v * cin * 4;
        }
      }
      // FLAGS: blocks of P pixels that each read J2 consecutive source pixels
      const flags = new Int32Array(o2pad / P);
      for (let k = 0; k < flags.length; k++) {
        let ok = (k + 1) * P <= a2.nOut;
        for (let q = k * P; ok && q < (k + 1) * P; q++) {
          const first = t2[q]!;
          for (let j = 0; ok && j < a2.J; j++) ok = first >= 0 && t2[j * o2pad + q] === first + j * cin * 4;
        }
        flags[k] = ok ? 1 : 0;
      }
      const J = a0.J * a1.J * a2.J;
      const map = new Int32Array(J);
      const K1 = a1.K;
      const K2 = a2.K;
      for (let j0 = 0, j = 0; j0 < a0.J; j0++) {
        for (let j1 = 0; j1 < a1.J; j1++) {
          for (let j2 = 0; j2 < a2.J; j2++, j++) map[j] = (a0.tapOf(j0) * K1 + a1.tapOf(j1)) * K2 + a2.tapOf(j2);
        }
      }
      const nBlocks = Math.ceil(cout / CB);
      const wp = s.alloc(nBlocks * J * cin * CB * 4);
      ex.convPackFilter(wp, w, s.ints(map), J, cin, cout, CB, sT, sK, sC);
      const zero = s.alloc(cin * 4);
      heap.f32().fill(0, zero >>> 2, (zero >>> 2) + cin);
      const prm = writeGconv({
        B,
        CIN: cin,
        COUT: cout,
        N0: a0.nIn,
        N1: a1.nIn,
        N2: a2.nIn,
        O0: a0.nOut,
        O1: a1.nOut,
        O2: a2.nOut,
        J0: a0.J,
        J1: a1.J,
        J2: a2.J,
        T0: s.ints(a0.table),
        T1: s.ints(a1.table),
        T2: s.ints(t2),
        W: wp,
        ZERO: zero,
        IN: inp,
        OUT: out,
        O2PAD: o2pad,
        CFG: (cfgIndex << 16) | (P << 8) | CB,
        FLAGS: s.ints(flags),
      });
      const work = 2 * B * a0.nOut * a1.nOut * a2.nOut * J * cin * cout;
      exec.run('gconv', s.ints(prm), work);
    } finally {
      s.free();
    }
  }

  const conv: Kernel<'conv', number> = (y, [x, w], a, shapes) => {
    const xs = shapes.inputs[0]!;
    const cin = xs.at(-1)!;
    const cout = shapes.out.at(-1)!;
    if (sizeOf(shapes.out) === 0) return;
    const geo = geometry(xs, shapes.out, a);
    if (cin === 0) return zeroFill(y, sizeOf(shapes.out));
    gather(y, x!, w!, xs[0]!, geo.map(forwardAxis), cin, cout, cin * cout, cout, 1);
  };

  const convInputGrad: Kernel<'convInputGrad', number> = (dx, [dy, w], a, shapes) => {
    const xs = a.inputShape;
    const cin = xs.at(-1)!;
    const cout = shapes.inputs[0]!.at(-1)!;
    if (sizeOf(xs) === 0) return;
    const geo = geometry(xs, shapes.inputs[0]!, a);
    if (cout === 0) return zeroFill(dx, sizeOf(xs));
    gather(dx, dy!, w!, xs[0]!, geo.map(inverseAxis), cout, cin, cin * cout, 1, cout);
  };

  const convFilterGrad: Kernel<'convFilterGrad', number> = (dw, [x, dy], a, shapes) => {
    const xs = shapes.inputs[0]!;
    const ys = shapes.inputs[1]!;
    const cin = xs.at(-1)!;
    const cout = ys.at(-1)!;
    const taps = sizeOf(a.kernel);
    if (taps * cin * cout === 0) return;
    const rows = sizeOf(ys.slice(0, -2));
    if (rows === 0 || ys.at(-2) === 0) return zeroFill(dw, taps * cin * cout);
    const s = scratch();
    try {
      const geo = geometry(xs, ys, a);
      const [g0, g1, g2] = geo.map(forwardAxis) as [GatherAxis, GatherAxis, GatherAxis];
      const cfgIndex = convTuning.filter ?? pickBlock(configs.filter, FILTER_PREF[variant], cout, (f) => [f.CI, f.CO]);
      const { CI, CO } = configs.filter[cfgIndex]!;
      const coutP = Math.ceil(cout / CO) * CO;
      const O2 = g2.nOut;
      const t2 = new Int32Array(g2.J * O2);
      for (let q = 0; q < O2; q++) {
        for (let j = 0; j < g2.J; j++) {
          const v = g2.table[q * g2.J + j]!;
          t2[j * O2 + q] = v < 0 ? -1 : v * cin * 4;
        }
      }
      let dwp = dw;
      if (coutP !== cout) dwp = s.alloc(taps * cin * coutP * 4);
      const cinP = Math.ceil((Math.ceil(cin / CI) * CI) / 4) * 4;
      const chunk = Math.max(1, Math.ceil(convTuning.chunkPixels / O2));
      const perThread = chunk * O2 * (coutP + cinP) * 4;
      const scratchPtr = s.alloc(perThread * exec.threads);
      const prm = writeFgrad({
        B: xs[0]!,
        CIN: cin,
        COUTP: coutP,
        N0: g0.nIn,
        N1: g1.nIn,
        O0: g0.nOut,
        O1: g1.nOut,
        O2,
        K0: g0.J,
        K1: g1.J,
        K2: g2.J,
        T0: s.ints(g0.table),
        T1: s.ints(g1.table),
        T2: s.ints(t2),
        X: x!,
        DY: dy!,
        DW: dwp,
        XROW: g2.nIn * cin * 4,
        O2PAD: O2,
        CHUNK: chunk,
        CFG: (cfgIndex << 16) | (CI << 8) | CO,
        COUT: cout,
        CINP: cinP,
        SCRATCH: scratchPtr,
        SCRSTRIDE: perThread,
        RUNS: s.ints(runTable(t2, g2.J, O2)),
      });
      exec.run('fgrad', s.ints(prm), 2 * rows * O2 * taps * cin * cout);
      if (dwp !== dw) ex.convCropRows(dw, dwp, taps * cin, cout, coutP);
    } finally {
      s.free();
    }
  };

  function zeroFill(p: number, n: number): void {
    heap.f32().fill(0, p >>> 2, (p >>> 2) + n);
  }

  return { conv, convInputGrad, convFilterGrad };
}

/** This file's entries of the wasm kernel table (scripts/gen-kernels.mjs collects them). */
export function kernels({ ex, heap, exec }: WasmKernelContext): ReturnType<typeof createConvKernels> {
  return createConvKernels(ex, heap, exec);
}
