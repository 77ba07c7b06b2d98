/**
 * The parameter blocks of the native kernels, declared once. scripts/gen-params.mjs (run by
 * `npm run build:gen`) reads this file and emits, for every block:
 *   - src/generated/params.ts: `write<Name>(fields)` (named fields, range-checked) → Int32Array,
 *     and `<NAME>` (the field offsets);
 *   - assembly/kernels/params.ts (wasm blocks): one accessor `<name>_<FIELD>(p)` per field;
 *   - the WGSL `struct Params` (wgsl blocks) that shaders pull in with `//! params <name>`;
 * and, from assembly/index.ts, src/generated/exports.ts: the typed wasm exports and the list of
 * parallel kernels. Adding a field is one line here plus its uses (writer call, kernel).
 *
 * Fields, in memory order (Int32 words): 'i32' and 'u32' numbers, 'ptr' a byte offset into wasm
 * memory (the accessor returns usize), [type, n] an array of at most n values (the rest zero) or
 * [type, 'F'] one of exactly F values, F an earlier scalar field (variable arrays come last; the
 * accessor returns the array's address). WGSL blocks put arrays at 16-byte offsets with a length
 * that is a multiple of 4 (uniform layout: array<vec4<…>>).
 *
 * This file is data only (no imports): the generator transpiles and evaluates it on its own.
 */

export type ParamScalar = 'i32' | 'u32' | 'ptr';
export type ParamField = ParamScalar | readonly ['i32' | 'u32', number | string];
export type ParamTarget = 'wasm' | 'wgsl';

export interface ParamSchema {
  readonly name: string;
  readonly targets: readonly ParamTarget[];
  readonly doc: string;
  readonly fields: Readonly<Record<string, ParamField>>;
}

export function defineParams(name: string, targets: readonly ParamTarget[], doc: string,
  fields: Readonly<Record<string, ParamField>>): ParamSchema {
  return { name, targets, doc, fields };
}

/** The geometry shared by the three WGSL convolutions: per axis d < 3, ax[8d..8d+8) = N, O, K, stride, lo, torus, rhsDilation, lhsDilation. */
const convGpuHead = {
  D: 'i32', B: 'i32', Cin: 'i32', Cout: 'i32', ax: ['i32', 24],
  M: 'i32', N: 'i32', K: 'i32', groups: 'i32', TM: 'i32', TN: 'i32', tilesM: 'i32', tilesN: 'i32',
} as const;

export const KERNEL_PARAMS: readonly ParamSchema[] = [
  defineParams('gconv', ['wasm'], 'Gather convolution (conv forward and input gradient), assembly/kernels/conv.ts gconv. '
    + 'T0 [O0][J0], T1 [O1][J1]: source indices; T2 [J2][O2PAD]: byte offsets of the source pixel in its row (-1 = padding); '
    + 'W: filter packed [block][j][cin][CB]; ZERO: a row of CIN zeros; CFG = config << 16 | P << 8 | CB; '
    + 'FLAGS[q2 / P] = 1 where a block of P pixels reads J2 consecutive source pixels.', {
    B: 'i32', CIN: 'i32', COUT: 'i32', N0: 'i32', N1: 'i32', N2: 'i32', O0: 'i32', O1: 'i32', O2: 'i32',
    J0: 'i32', J1: 'i32', J2: 'i32', T0: 'ptr', T1: 'ptr', T2: 'ptr', W: 'ptr', ZERO: 'ptr', IN: 'ptr', OUT: 'ptr',
    O2PAD: 'i32', CFG: 'i32', FLAGS: 'ptr',
  }),
  defineParams('fgrad', ['wasm'], 'Filter gradient, assembly/kernels/conv.ts fgrad: dw has COUTP columns (COUT rounded up to the tile); '
    + 'T0, T1, T2 the forward tables (T2 [K2][O2PAD] byte offsets); XROW: bytes of one input row; CHUNK: rows per chunk; '
    + 'CFG = config << 16 | CI << 8 | CO; SCRATCH + tid · SCRSTRIDE: a thread\'s packing space; RUNS: the run table of T2.', {
    B: 'i32', CIN: 'i32', COUTP: 'i32', N0: 'i32', N1: 'i32', O0: 'i32', O1: 'i32', O2: 'i32',
    K0: 'i32', K1: 'i32', K2: 'i32', T0: 'ptr', T1: 'ptr', T2: 'ptr', X: 'ptr', DY: 'ptr', DW: 'ptr',
    XROW: 'i32', O2PAD: 'i32', CHUNK: 'i32', CFG: 'i32', COUT: 'i32', CINP: 'i32', SCRATCH: 'ptr', SCRSTRIDE: 'i32', RUNS: 'ptr',
  }),
  defineParams('conv', ['wgsl'], 'shaders/conv.wgsl: the geometry, the GEMM view (M, N, K, groups) and the tile (TM, TN, tilesM, tilesN).',
    convGpuHead),
  defineParams('convInputGrad', ['wgsl'], 'shaders/convInputGrad.wgsl: conv\'s block plus the torus wraps per axis (q0, q1, q2) and Q = q0·q1·q2.',
    { ...convGpuHead, q0: 'i32', q1: 'i32', q2: 'i32', Q: 'i32' }),
  defineParams('convFilterGrad', ['wgsl'], 'shaders/convFilterGrad.wgsl: conv\'s block plus the split-K plan (splits chunks of chunkLen pixels).',
    { ...convGpuHead, splits: 'i32', chunkLen: 'i32' }),
  defineParams('pool', ['wasm'], 'Max pooling, assembly/kernels/pool.ts maxPool / maxPoolGrad, input [B, ...spatial, C·T]: S input pixels '
    + 'per image, nWin = patch^D window elements; pooled[d] = spatial[d] / patch, step[d] = patch · pixel stride of axis d, '
    + 'counters: the kernel\'s scratch, winOff[w] = pixel offset of window element w (row-major).', {
    B: 'i32', S: 'i32', C: 'i32', T: 'i32', nWin: 'i32', D: 'i32',
    pooled: ['i32', 'D'], step: ['i32', 'D'], counters: ['i32', 'D'], winOff: ['i32', 'nWin'],
  }),
  defineParams('maxPool', ['wgsl'], 'shaders/maxPool.wgsl and maxPoolGrad.wgsl: n = B · pooled pixels · channels, D <= 8 axes, '
    + 'psize = patch, nWin = patch^D, channels of T values; spatial and pooled extents per axis.', {
    n: 'u32', D: 'u32', psize: 'u32', nWin: 'u32', channels: 'u32', T: 'u32', pad0: 'u32', pad1: 'u32',
    spatial: ['u32', 8], pooled: ['u32', 8],
  }),
];
