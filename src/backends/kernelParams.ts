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
 * Fields, in memory order (32-bit words): 'i32' and 'u32' integers, 'f32' a float (its bits),
 * 'ptr' a byte offset into wasm memory (the accessor returns usize), [type, n] an array of at most n
 * integers (the rest zero) or [type, 'F'] one of exactly F, F an earlier integer field (variable
 * arrays come last; the accessor returns the array's address). WGSL blocks hold arrays of a
 * multiple of 4 values (uniform layout: array<vec4<…>>); the generator pads the words before an
 * array so that it starts at a 16-byte offset (struct members _pad<word>, written as zero). A block
 * for both targets may end with variable arrays: its WGSL struct stops before them (a uniform has a
 * fixed size), so they are the wasm kernel's alone and the shader never reads them.
 *
 * This file has no imports: the generator transpiles and evaluates it on its own. Besides the
 * schema it holds the derivation of a block that every backend fills alike from the same shapes.
 */

export type ParamScalar = 'i32' | 'u32' | 'f32' | 'ptr';
export type ParamField = ParamScalar | readonly ['i32' | 'u32', number | string];
export type ParamTarget = 'wasm' | 'wgsl';

export interface ParamSchema {
  readonly name: string;
  readonly targets: readonly ParamTarget[];
  readonly doc: string;
  readonly fields: Readonly<Record<string, ParamField>>;
}

export function defineParams(name: string, targets: readonly ParamTarget[], doc: string, fields: Readonly<Record<string, ParamField>>): ParamSchema {
  return { name, targets, doc, fields };
}

/** The geometry shared by the three WGSL convolutions: per axis d < 3, ax[8d..8d+8) = N, O, K, stride, lo, torus, rhsDilation, lhsDilation. */
const convGpuHead = {
  D: 'i32',
  B: 'i32',
  Cin: 'i32',
  Cout: 'i32',
  ax: ['i32', 24],
  M: 'i32',
  N: 'i32',
  K: 'i32',
  groups: 'i32',
  TM: 'i32',
  TN: 'i32',
  tilesM: 'i32',
  tilesN: 'i32',
} as const;

/** The fields the wasm matmul's one-thread and threaded blocks share, in order: sizes, transposes, cache blocks, packing scratch, batch rank. */
const matmulHead = {
  m: 'i32',
  k: 'i32',
  n: 'i32',
  transA: 'i32',
  transB: 'i32',
  KC: 'i32',
  MC: 'i32',
  NC: 'i32',
  scratch: 'ptr',
  R: 'i32',
} as const;

export const KERNEL_PARAMS: readonly ParamSchema[] = [
  defineParams(
    'gconv',
    ['wasm'],
    'Gather convolution (conv forward and input gradient), assembly/kernels/conv.ts gconv. ' +
      'T0 [O0][J0], T1 [O1][J1]: source indices; T2 [J2][O2PAD]: byte offsets of the source pixel in its row (-1 = padding); ' +
      'W: filter packed [block][j][cin][CB]; ZERO: a row of CIN zeros; CFG = config << 16 | P << 8 | CB; ' +
      'FLAGS[q2 / P] = 1 where a block of P pixels reads J2 consecutive source pixels.',
    {
      B: 'i32',
      CIN: 'i32',
      COUT: 'i32',
      N0: 'i32',
      N1: 'i32',
      N2: 'i32',
      O0: 'i32',
      O1: 'i32',
      O2: 'i32',
      J0: 'i32',
      J1: 'i32',
      J2: 'i32',
      T0: 'ptr',
      T1: 'ptr',
      T2: 'ptr',
      W: 'ptr',
      ZERO: 'ptr',
      IN: 'ptr',
      OUT: 'ptr',
      O2PAD: 'i32',
      CFG: 'i32',
      FLAGS: 'ptr',
    },
  ),
  defineParams(
    'fgrad',
    ['wasm'],
    'Filter gradient, assembly/kernels/conv.ts fgrad: dw has COUTP columns (COUT rounded up to the tile); ' +
      'T0, T1, T2 the forward tables (T2 [K2][O2PAD] byte offsets); XROW: bytes of one input row; CHUNK: rows per chunk; ' +
      "CFG = config << 16 | CI << 8 | CO; SCRATCH + tid · SCRSTRIDE: a thread's packing space; RUNS: the run table of T2.",
    {
      B: 'i32',
      CIN: 'i32',
      COUTP: 'i32',
      N0: 'i32',
      N1: 'i32',
      O0: 'i32',
      O1: 'i32',
      O2: 'i32',
      K0: 'i32',
      K1: 'i32',
      K2: 'i32',
      T0: 'ptr',
      T1: 'ptr',
      T2: 'ptr',
      X: 'ptr',
      DY: 'ptr',
      DW: 'ptr',
      XROW: 'i32',
      O2PAD: 'i32',
      CHUNK: 'i32',
      CFG: 'i32',
      COUT: 'i32',
      CINP: 'i32',
      SCRATCH: 'ptr',
      SCRSTRIDE: 'i32',
      RUNS: 'ptr',
    },
  ),
  defineParams('conv', ['wgsl'], 'shaders/conv.wgsl: the geometry, the GEMM view (M, N, K, groups) and the tile (TM, TN, tilesM, tilesN).', convGpuHead),
  defineParams('convInputGrad', ['wgsl'], "shaders/convInputGrad.wgsl: conv's block plus the torus wraps per axis (q0, q1, q2) and Q = q0·q1·q2.", {
    ...convGpuHead,
    q0: 'i32',
    q1: 'i32',
    q2: 'i32',
    Q: 'i32',
  }),
  defineParams('convFilterGrad', ['wgsl'], "shaders/convFilterGrad.wgsl: conv's block plus the split-K plan (splits chunks of chunkLen pixels).", {
    ...convGpuHead,
    splits: 'i32',
    chunkLen: 'i32',
  }),
  defineParams(
    'argmaxPool',
    ['wasm', 'wgsl'],
    'Argmax pooling (adjoint 0) and its adjoint (1), src/ops/pool.ts: assembly/kernels/pool.ts argmaxPool, shaders/argmaxPool.wgsl. ' +
      'Input [B, ...spatial, C·T], D <= 8 spatial axes, psize = the patch (a reserved word in WGSL), pooled[d] = spatial[d] / psize, ' +
      'nWin = psize^D window elements; ' +
      'winOff[w] = pixel offset of window element w (row-major; read by wasm only, behind the WGSL struct). Filled by argmaxPoolFields.',
    {
      adjoint: 'u32',
      B: 'u32',
      C: 'u32',
      T: 'u32',
      D: 'u32',
      psize: 'u32',
      nWin: 'u32',
      spatial: ['u32', 8],
      pooled: ['u32', 8],
      winOff: ['u32', 'nWin'],
    },
  ),
  defineParams('reduceInner', ['wasm'], 'assembly/kernels/reduce.ts reduceInner: out[o] = op over x[o·n .. o·n + n) for o < outer.', {
    outer: 'i32',
    n: 'i32',
  }),
  defineParams(
    'reduceMiddle',
    ['wasm'],
    'assembly/kernels/reduce.ts reduceMiddle: out[o, j] = op over i < r of x[(o·r + i)·m + j]; ' +
      'scratch: 2 KiB of heap for the pairwise recursion (src/backends/wasm/reduce.ts REDUCE_SCRATCH_BYTES).',
    { outer: 'i32', r: 'i32', m: 'i32', scratch: 'ptr' },
  ),
  defineParams(
    'matmul',
    ['wasm'],
    'assembly/kernels/matmul.ts matmul: C[b] = op(A[b]) · op(B[b]) for the batches of R merged batch axes ' +
      '(shape; aStride, bStride in whole matrices, 0 where broadcast); trans 1 = transposed; KC, MC, NC the cache blocks (MC a multiple ' +
      "of 4, NC of 8); scratch: KC·NC + MC·KC + 32 floats of heap; counters: the kernel's scratch.",
    { ...matmulHead, shape: ['i32', 'R'], aStride: ['i32', 'R'], bStride: ['i32', 'R'], counters: ['i32', 'R'] },
  ),
  defineParams(
    'matmulPart',
    ['wasm'],
    "assembly/kernels/matmul.ts matmulPart (threads): matmul's fields with the operands a, b, c in the " +
      'block and one packing scratch per thread (scratch + tid · scratchBytes); read only (no counters).',
    { ...matmulHead, a: 'ptr', b: 'ptr', c: 'ptr', scratchBytes: 'i32', shape: ['i32', 'R'], aStride: ['i32', 'R'], bStride: ['i32', 'R'] },
  ),
  defineParams(
    'matmulGpu',
    ['wgsl'],
    'shaders/matmul.wgsl: C[batch] = op(A) · op(B), m × k times k × n; flags bit 0 transA, bit 1 transB; ' +
      'the tile (tm, tn, tilesM, tilesN) and groups = batches · tilesM · tilesN workgroups; batchRank merged batch axes (batchShape), ' +
      "sa and sb the element offset of a's and b's matrix per unit of each (0 where broadcast).",
    {
      m: 'u32',
      n: 'u32',
      k: 'u32',
      flags: 'u32',
      tm: 'u32',
      tn: 'u32',
      tilesM: 'u32',
      tilesN: 'u32',
      groups: 'u32',
      batchRank: 'u32',
      batchShape: ['u32', 8],
      sa: ['u32', 8],
      sb: ['u32', 8],
    },
  ),
  defineParams(
    'gather',
    ['wasm'],
    'assembly/kernels/gather.ts gather: out[b, i] = idx[i] < 0 ? 0 : x[b, idx[i]] for i < n and b < blocks; ' +
      'idx: the Int32 index map in the heap; nIn: elements of one block of x.',
    { x: 'ptr', idx: 'ptr', out: 'ptr', n: 'i32', blocks: 'i32', nIn: 'i32' },
  ),
  defineParams(
    'scatterAdd',
    ['wasm'],
    'assembly/kernels/gather.ts scatterAdd: out = 0; out[b, idx[i]] += x[b, i] for i < n where idx[i] >= 0, ' +
      'b < blocks; nOut: elements of one block of out.',
    { x: 'ptr', idx: 'ptr', out: 'ptr', n: 'i32', blocks: 'i32', nOut: 'i32' },
  ),
  defineParams(
    'gatherGpu',
    ['wgsl'],
    "shaders/gather.wgsl: n output elements (all blocks), nIndex = the map's length (one output block), " + 'nIn = one block of x.',
    { n: 'u32', nIndex: 'u32', nIn: 'u32' },
  ),
  defineParams(
    'scatterAddGpu',
    ['wgsl'],
    'shaders/scatterAdd.wgsl: n output elements (all blocks), nBlock = one output block, ' + "nIn = one block of x (the map's length).",
    { n: 'u32', nBlock: 'u32', nIn: 'u32' },
  ),
  defineParams(
    'strided',
    ['wasm'],
    'assembly/kernels/strided.ts strided: the strided copy planned by src/core/strided.ts planStrided: ' +
      'A axes (extents ext, element strides ss in x and ds in out, offsets srcOff, dstOff); the first R are the written axes ' +
      '(outer = the product of their extents, each one output), the last A - R are summed (ds = 0).',
    {
      x: 'ptr',
      out: 'ptr',
      srcOff: 'i32',
      dstOff: 'i32',
      outer: 'i32',
      R: 'i32',
      A: 'i32',
      ext: ['i32', 'A'],
      ss: ['i32', 'A'],
      ds: ['i32', 'A'],
    },
  ),
  defineParams(
    'stridedGpu',
    ['wgsl'],
    'shaders/strided.wgsl: n output elements; the plan of src/core/strided.ts with the rank written ' +
      'axes sorted by decreasing dst stride, then axes - rank summed ones (zCount points); extents ext, strides ss (x) and ds (out).',
    {
      n: 'u32',
      rank: 'u32',
      axes: 'u32',
      zCount: 'u32',
      srcOff: 'u32',
      dstOff: 'u32',
      ext: ['u32', 16],
      ss: ['u32', 16],
      ds: ['u32', 16],
    },
  ),
  defineParams('unaryPart', ['wasm'], 'assembly/kernels/unary.ts unaryPart (threads): y[i] = op(x[i]) for i < n (op: a UNARY_ code).', {
    op: 'i32',
    x: 'ptr',
    y: 'ptr',
    n: 'i32',
  }),
  defineParams('binarySamePart', ['wasm'], 'assembly/kernels/binary.ts binarySamePart (threads): o[i] = op(a[i], b[i]) for i < n ' + '(op: a BINARY_ code).', {
    op: 'i32',
    a: 'ptr',
    b: 'ptr',
    o: 'ptr',
    n: 'i32',
  }),
  defineParams(
    'binaryStrided',
    ['wasm'],
    'assembly/kernels/binary.ts binaryStrided: R >= 2 merged output axes (shape), the element ' +
      "strides of a and b (0 where broadcast; the innermost pair is (1, 1), (0, 1) or (1, 0)); counters: the kernel's scratch.",
    {
      R: 'i32',
      shape: ['i32', 'R'],
      aStride: ['i32', 'R'],
      bStride: ['i32', 'R'],
      counters: ['i32', 'R'],
    },
  ),
  defineParams('unaryGpu', ['wgsl'], 'shaders/unary.wgsl: op (a code of the shader), n elements.', { op: 'u32', n: 'u32' }),
  defineParams(
    'binaryGpu',
    ['wgsl'],
    'shaders/binary.wgsl: op (a code of the shader), n output elements, rank (<= 16) collapsed axes: ' +
      'the output shape and the element strides of a and b in it (0 where broadcast).',
    {
      op: 'u32',
      n: 'u32',
      rank: 'u32',
      shape: ['u32', 16],
      sa: ['u32', 16],
      sb: ['u32', 16],
    },
  ),
  defineParams(
    'concat',
    ['wasm'],
    'assembly/kernels/concat.ts concat: output rows of rowOut elements, outer of them; input t < count ' +
      'starts at byte offset src[t] and gives each output row row[t] elements (inputs with empty rows are left out).',
    {
      count: 'i32',
      outer: 'i32',
      rowOut: 'i32',
      src: ['u32', 'count'],
      row: ['i32', 'count'],
    },
  ),
  defineParams(
    'concatGpu',
    ['wgsl'],
    'shaders/concat.wgsl (one input per dispatch): n = outer · row input elements, each output row of ' +
      "rowOut elements takes the input's row of `row` at `offset`.",
    { n: 'u32', row: 'u32', rowOut: 'u32', offset: 'u32' },
  ),
  defineParams(
    'reduce',
    ['wgsl'],
    'shaders/reduce.wgsl: mode 0 serial / 1 tree; op 0 sum / 1 max; nOut outputs of nRed reduced elements ' +
      '(mode 1: chunks of chunkLen per output); identity 0 or -inf (WGSL has no inf literal); innerLen, innerStride: the last reduced run ' +
      '(1, 1 without one); kept and reduced runs (extents, element strides in x), at most 8 each, outermost first.',
    {
      mode: 'u32',
      op: 'u32',
      nOut: 'u32',
      nRed: 'u32',
      chunks: 'u32',
      chunkLen: 'u32',
      keptRank: 'u32',
      redRank: 'u32',
      identity: 'f32',
      innerLen: 'u32',
      innerStride: 'u32',
      keptShape: ['u32', 8],
      keptStride: ['u32', 8],
      redShape: ['u32', 8],
      redStride: ['u32', 8],
    },
  ),
];

/**
 * The fields of block `argmaxPool` for input x[B, ...spatial, C·T] (the wasm and WebGPU kernels
 * write the same block from it); `adjoint` for the gradient, argmaxPoolGrad.
 */
export function argmaxPoolFields(x: readonly number[], patch: number, T: number, adjoint: boolean) {
  const D = x.length - 2;
  const spatial = x.slice(1, 1 + D);
  const nWin = patch ** D;
  const winOff: number[] = [];
  for (let w = 0; w < nWin; w++) {
    let off = 0;
    for (let d = D - 1, r = w, stride = 1; d >= 0; stride *= spatial[d]!, d--, r = Math.floor(r / patch)) off += (r % patch) * stride;
    winOff.push(off);
  }
  const pooled = spatial.map((s) => s / patch);
  return { adjoint: adjoint ? 1 : 0, B: x[0]!, C: x.at(-1)! / T, T, D, psize: patch, nWin, spatial, pooled, winOff };
}
