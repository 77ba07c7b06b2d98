/**
 * The convolution family on the packed channels-last layout (src/ops/conv.ts): forward conv,
 * input gradient and filter gradient, with no im2col buffer. The JavaScript side
 * (src/backends/wasm/conv.ts) turns every geometry — stride, filter (rhs) dilation, input (lhs)
 * dilation, zero or periodic padding per axis, D = 1..3 — into per-axis source tables, so the inner
 * loops here never test a border or take a modulo:
 *
 *   gconv   a "gather" convolution (parameter block `gconv`, src/backends/kernelParams.ts). The forward conv is one directly;
 *           the input gradient is one too, over dy with the transposed filter and the inverse
 *           tables (for each input index and tap, the output index that read it), which for
 *           stride 1 is the usual flipped-filter convolution and on a torus wraps the same way.
 *           Register blocking: P output pixels of a row × CB output channels of f32x4 accumulators
 *           (convMicro.ts), looping taps × input channels (4 unrolled, constant offsets) inside;
 *           weights packed [block][tap][cin][CB] so the CB channels are contiguous loads.
 *   fgrad   the filter gradient, a blocked reduction over pixels: per chunk of output rows, dy
 *           is packed into panels [co block][pixel][CO] and, per tap, the x pixels it reads into
 *           [pixel][CINP] (contiguous runs by memory.copy); tiles of (tap, CI input × CO output
 *           channels) are held in registers over the chunk and accumulated in dw across chunks.
 *
 * Threads: each kernel takes (tid, nt) and does the tid-th of nt contiguous ranges of independent
 * outputs (rows × channel blocks for gconv, dw tiles for fgrad), so every output element is
 * computed by exactly the same instruction sequence whatever the thread count (bit-identical).
 */
import * as P from './params';
import { gcRun, fgRun } from './convMicro';
import { loadPartial } from '../lib/simd';
import { partOf } from './parallel';
export { GC_NCONFIGS, gcConfig, FG_NCONFIGS, fgConfig } from './convMicro';

/** Number of independent work units of a gather conv (rows × channel blocks). */
function gconvUnits(prm: usize): i32 {
  const cb = P.gconv_CFG(prm) & 255;
  const cout = P.gconv_COUT(prm);
  const rows = P.gconv_B(prm) * P.gconv_O0(prm) * P.gconv_O1(prm);
  return rows * ((cout + cb - 1) / cb);
}

/** The tid-th of nt parts of a gather conv (GC_CFG = config index << 16 | P << 8 | CB). */
export function gconv(prm: usize, tid: i32, nt: i32): void {
  const n = gconvUnits(prm);
  const u0 = <i32>partOf(n, tid, nt);
  const u1 = <i32>partOf(n, tid + 1, nt);
  if (u0 < u1) gcRun(P.gconv_CFG(prm) >>> 16, prm, u0, u1);
}

/** Number of independent dw tiles of a filter gradient (FG_CFG = config index << 16 | CI << 8 | CO). */
function fgradTiles(prm: usize): i32 {
  const cfg = P.fgrad_CFG(prm);
  const CI = (cfg >> 8) & 255;
  const CO = cfg & 255;
  const taps = P.fgrad_K0(prm) * P.fgrad_K1(prm) * P.fgrad_K2(prm);
  const cin = P.fgrad_CIN(prm);
  return taps * ((cin + CI - 1) / CI) * (P.fgrad_COUTP(prm) / CO);
}

/** The tid-th of nt parts of a filter gradient. Requires B·O0·O1 >= 1 rows. */
export function fgrad(prm: usize, tid: i32, nt: i32): void {
  const cfg = P.fgrad_CFG(prm);
  const id = cfg >>> 16;
  const CI = (cfg >> 8) & 255;
  const CO = cfg & 255;
  const cin = P.fgrad_CIN(prm);
  const cinP = P.fgrad_CINP(prm);
  const coutP = P.fgrad_COUTP(prm);
  const K1 = P.fgrad_K1(prm), K2 = P.fgrad_K2(prm);
  const O2 = P.fgrad_O2(prm);
  const nCo = coutP / CO;
  const nCi = (cin + CI - 1) / CI;
  const n = fgradTiles(prm);
  const t0 = <i32>partOf(n, tid, nt);
  const t1 = <i32>partOf(n, tid + 1, nt);
  if (t0 >= t1) return;
  const rows = P.fgrad_B(prm) * P.fgrad_O0(prm) * P.fgrad_O1(prm);
  const chunk = P.fgrad_CHUNK(prm);
  const DW = P.fgrad_DW(prm);
  const scratch = P.fgrad_SCRATCH(prm) + <usize>tid * <usize>P.fgrad_SCRSTRIDE(prm);
  const dyPk = scratch;
  const xPk = scratch + ((<usize>chunk * <usize>O2 * <usize>coutP) << 2);
  const dwRow = <usize>coutP << 2;
  const xs = <usize>cinP << 2;
  for (let r0 = 0; r0 < rows; r0 += chunk) {
    const r1 = min(rows, r0 + chunk);
    const npx = (r1 - r0) * O2;
    packDy(prm, dyPk, r0, npx, CO);
    let packed = -1;
    for (let t = t0; t < t1; t++) {
      const co = t % nCo;
      const rest = t / nCo;
      const ci = rest % nCi;
      const tap = rest / nCi;
      if (tap != packed) {
        packX(prm, xPk, tap / (K2 * K1), (tap / K2) % K1, tap % K2, r0, r1);
        packed = tap;
      }
      const dwp = DW + ((<usize>(tap * cin + ci * CI) * <usize>coutP + <usize>(co * CO)) << 2);
      fgRun(id, xPk + (<usize>(ci * CI) << 2), xs, dyPk + ((<usize>co * <usize>npx * <usize>CO) << 2), npx, dwp, dwRow,
        min(CI, cin - ci * CI), r0 == 0);
    }
  }
}

/** dy pixels [r0·O2, r0·O2 + npx) into panels [co block][pixel][CO] (zeros past Cout). */
function packDy(prm: usize, dst: usize, r0: i32, npx: i32, CO: i32): void {
  const cout = P.fgrad_COUT(prm);
  const coutP = P.fgrad_COUTP(prm);
  const O2 = P.fgrad_O2(prm);
  const pix = <usize>cout << 2;
  let src = P.fgrad_DY(prm) + <usize>r0 * <usize>O2 * pix;
  const panel = <usize>npx * <usize>CO << 2;
  for (let p = 0; p < npx; p++) {
    let d = dst + (<usize>(p * CO) << 2);
    for (let c0 = 0; c0 < coutP; c0 += CO) {
      for (let j = 0; j < CO; j += 4) {
        const c = c0 + j;
        const left = cout - c;
        const at = src + (<usize>c << 2);
        v128.store(d + (<usize>j << 2), left >= 4 ? v128.load(at) : left > 0 ? loadPartial(at, <usize>left) : f32x4.splat(0));
      }
      d += panel;
    }
    src += pix;
  }
}

/** The x pixels that tap (a0, a1, a2) reads for output rows [r0, r1), as [pixel][CINP] (zeros for padding). */
function packX(prm: usize, dst: usize, a0: i32, a1: i32, a2: i32, r0: i32, r1: i32): void {
  const cin = P.fgrad_CIN(prm);
  const cinP = P.fgrad_CINP(prm);
  const O0 = P.fgrad_O0(prm), O1 = P.fgrad_O1(prm), O2 = P.fgrad_O2(prm);
  const N0 = P.fgrad_N0(prm), N1 = P.fgrad_N1(prm);
  const K0 = P.fgrad_K0(prm), K1 = P.fgrad_K1(prm);
  const T0 = P.fgrad_T0(prm), T1 = P.fgrad_T1(prm);
  const T2 = P.fgrad_T2(prm) + (<usize>(a2 * P.fgrad_O2PAD(prm)) << 2);
  const X = P.fgrad_X(prm);
  const rowBytes = <usize>P.fgrad_XROW(prm);
  const pix = <usize>cinP << 2;
  const cin4 = cin & ~3;
  const zero = f32x4.splat(0);
  const RUNS = P.fgrad_RUNS(prm);
  const e0 = RUNS + (<usize>load<i32>(RUNS + (<usize>a2 << 2)) << 4);
  const e1 = RUNS + (<usize>load<i32>(RUNS + (<usize>(a2 + 1) << 2)) << 4);
  let d = dst;
  for (let row = r0; row < r1; row++) {
    const q1 = row % O1;
    const r01 = row / O1;
    const q0 = r01 % O0;
    const b = r01 / O0;
    const s0 = load<i32>(T0 + (<usize>(q0 * K0 + a0) << 2));
    const s1 = load<i32>(T1 + (<usize>(q1 * K1 + a1) << 2));
    if (s0 < 0 || s1 < 0) {
      memory.fill(d, 0, pix * <usize>O2);
      d += pix * <usize>O2;
      continue;
    }
    const xr = X + <usize>((b * N0 + s0) * N1 + s1) * rowBytes;
    if (cinP == cin) {
      // whole runs: one memory.copy where the source pixels are contiguous
      let q = 0;
      for (let e = e0; e < e1; e += 16) {
        const q0 = load<i32>(e);
        const n = load<i32>(e, 4);
        let src = xr + <usize>load<i32>(e, 8);
        const stride = <usize>load<i32>(e, 12);
        if (q0 > q) memory.fill(d + <usize>q * pix, 0, <usize>(q0 - q) * pix);
        if (stride == pix) {
          memory.copy(d + <usize>q0 * pix, src, <usize>n * pix);
        } else {
          let dd = d + <usize>q0 * pix;
          for (let k = 0; k < n; k++) {
            for (let c = 0; c < cin; c += 4) v128.store(dd + (<usize>c << 2), v128.load(src + (<usize>c << 2)));
            dd += pix;
            src += stride;
          }
        }
        q = q0 + n;
      }
      if (q < O2) memory.fill(d + <usize>q * pix, 0, <usize>(O2 - q) * pix);
      d += pix * <usize>O2;
      continue;
    }
    for (let q = 0; q < O2; q++) {
      const f = load<i32>(T2 + (<usize>q << 2));
      if (f < 0) {
        for (let c = 0; c < cinP; c += 4) v128.store(d + (<usize>c << 2), zero);
      } else {
        const s = xr + <usize>f;
        let c = 0;
        for (; c < cin4; c += 4) v128.store(d + (<usize>c << 2), v128.load(s + (<usize>c << 2)));
        if (c < cin) {
          v128.store(d + (<usize>c << 2), loadPartial(s + (<usize>c << 2), <usize>(cin - c)));
          c += 4;
        }
        for (; c < cinP; c += 4) v128.store(d + (<usize>c << 2), zero);
      }
      d += pix;
    }
  }
}

/**
 * Packs a filter for gconv: dst[blk][t][k][c] (c < CB; zero where blk·CB + c >= nC) =
 * src[map[t]·sT + k·sK + (blk·CB + c)·sC], for t < nT, k < nK. `map` is an Int32 table of nT taps.
 */
export function convPackFilter(dst: usize, src: usize, map: usize, nT: i32, nK: i32, nC: i32, CB: i32, sT: i32, sK: i32, sC: i32): void {
  const nB = (nC + CB - 1) / CB;
  let d = dst;
  for (let blk = 0; blk < nB; blk++) {
    for (let t = 0; t < nT; t++) {
      const base = src + (<usize>(load<i32>(map + (<usize>t << 2)) * sT) << 2);
      for (let k = 0; k < nK; k++) {
        const row = base + (<usize>(k * sK) << 2);
        for (let c = 0; c < CB; c++) {
          const ch = blk * CB + c;
          store<f32>(d, ch < nC ? load<f32>(row + (<usize>(ch * sC) << 2)) : 0);
          d += 4;
        }
      }
    }
  }
}

/** Copies `rows` rows of the first n of np floats into rows of n floats (drops channel padding). */
export function convCropRows(dst: usize, src: usize, rows: i32, n: i32, np: i32): void {
  const nb = <usize>n << 2;
  for (let r = 0; r < rows; r++) {
    memory.copy(dst, src, nb);
    dst += nb;
    src += <usize>np << 2;
  }
}

/** 1 in the relaxed-SIMD build (fused multiply-add), 0 in the SIMD build: the config choice differs. */
export const CONV_RELAXED: i32 = ASC_FEATURE_RELAXED_SIMD ? 1 : 0;
