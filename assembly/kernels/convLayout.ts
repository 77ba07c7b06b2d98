/**
 * Int32 parameter blocks of the convolution kernels (field indices). The TypeScript side
 * (src/backends/wasm/conv.ts) writes the same layout; keep the two in sync.
 *
 * Gather convolution (forward conv and input gradient), `gconv`:
 *   out[b, q0, q1, q2, :] = Σ_{j0, j1, j2} Σ_c in[b, T0[q0, j0], T1[q1, j1], T2[j2, q2], c] · Wp[j, c, :]
 * over the 3 spatial axes (leading unit axes where D < 3; axis 2 is the innermost real one).
 * T0 [O0][J0] and T1 [O1][J1] hold source indices, T2 [J2][O2PAD] byte offsets of the source pixel
 * in its input row (index · CIN · 4); -1 marks padding (skipped on axes 0–1, read from the ZERO row
 * on axis 2). Wp is the weight packed per block of CB output channels: [block][j][cin][CB].
 * FLAGS[q2 / P] = 1 where every pixel of that block of P reads J2 consecutive source pixels (no
 * padding, no wrap, unit dilation): the kernel then runs one channel loop over J2 · CIN floats.
 */
export const GC_B: i32 = 0;
export const GC_CIN: i32 = 1;
export const GC_COUT: i32 = 2;
export const GC_N0: i32 = 3;
export const GC_N1: i32 = 4;
export const GC_N2: i32 = 5;
export const GC_O0: i32 = 6;
export const GC_O1: i32 = 7;
export const GC_O2: i32 = 8;
export const GC_J0: i32 = 9;
export const GC_J1: i32 = 10;
export const GC_J2: i32 = 11;
export const GC_T0: i32 = 12;
export const GC_T1: i32 = 13;
export const GC_T2: i32 = 14;
export const GC_W: i32 = 15;
export const GC_ZERO: i32 = 16;
export const GC_IN: i32 = 17;
export const GC_OUT: i32 = 18;
export const GC_O2PAD: i32 = 19;
export const GC_CFG: i32 = 20;
export const GC_FLAGS: i32 = 21;
export const GC_SIZE: i32 = 22;

/**
 * Filter gradient, `fgrad`: dw[tap, ci, co] = Σ_{b, q} x[b, src(q, tap), ci] · dy[b, q, co], with the
 * forward tables (T0 [O0][K0], T1 [O1][K1], T2 [K2][O2PAD] byte offsets). dw has COUTP columns
 * (Cout rounded up to the tile's CO; the caller compacts). The output pixels are taken in chunks of
 * CHUNK rows; per chunk each thread packs dy into panels [co block][pixel][CO] and, per tap, the
 * gathered x into [pixel][CINP] (zeros for padding), in its own SCRATCH + tid · SCRSTRIDE bytes.
 * RUNS describes each row of T2 as runs of consecutive output pixels whose sources are evenly
 * spaced: Int32 [K2 + 1] start indices, then entries (q0, n, byte offset, byte stride), so packing
 * copies whole runs (memory.copy where the pixels are contiguous).
 * Tiles (tap, ci block, co block) are split over threads; each sums its pixels in the same order
 * (chunk by chunk, pixel by pixel) whatever the thread count.
 */
export const FG_B: i32 = 0;
export const FG_CIN: i32 = 1;
export const FG_COUTP: i32 = 2;
export const FG_N0: i32 = 3;
export const FG_N1: i32 = 4;
export const FG_O0: i32 = 5;
export const FG_O1: i32 = 6;
export const FG_O2: i32 = 7;
export const FG_K0: i32 = 8;
export const FG_K1: i32 = 9;
export const FG_K2: i32 = 10;
export const FG_T0: i32 = 11;
export const FG_T1: i32 = 12;
export const FG_T2: i32 = 13;
export const FG_X: i32 = 14;
export const FG_DY: i32 = 15;
export const FG_DW: i32 = 16;
export const FG_XROW: i32 = 17;
export const FG_O2PAD: i32 = 18;
export const FG_CHUNK: i32 = 19;
export const FG_CFG: i32 = 20;
export const FG_COUT: i32 = 21;
export const FG_CINP: i32 = 22;
export const FG_SCRATCH: i32 = 23;
export const FG_SCRSTRIDE: i32 = 24;
export const FG_RUNS: i32 = 25;
export const FG_SIZE: i32 = 26;
