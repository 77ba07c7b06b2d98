// reduce.wgsl — out[o] = Σ or max of x over the reduced axes (src/ops/reduce.ts), for every shape:
// one pipeline; the geometry is uniform data.
//
// Algorithm: a general strided reduction. The host collapses the input shape into alternating runs
// of kept and reduced axes (size-1 axes dropped, neighbouring axes of the same kind merged when
// contiguous), at most 8 of each, and gives their extents and element strides. Output o (row-major
// over the kept axes) starts at base(o) = Σ coord_d · keptStride_d; reduced element r (row-major over
// the reduced axes) is at base(o) + Σ coord_d · redStride_d. Two modes, picked by the host:
//   mode 0 (many outputs or short reductions): one invocation per output, a serial loop over the
//     reduced elements, the innermost reduced axis as a tight strided loop;
//   mode 1 (long reductions): one workgroup per (output, chunk). Its WG invocations stride over the
//     chunk's elements, then combine their partial results by a tree in workgroup memory (log2 WG
//     steps). With chunks > 1 the workgroup writes partial[o · chunks + chunk] and the host reduces
//     the partials with a second dispatch of this shader (shape [nOut, chunks], axis 1).
// Semantics follow src/backends/ref/reduce.ts: sum starts at 0, max at -inf (so an empty reduction
// gives 0 or -inf) and max propagates NaN (as Math.max), tested on the bits because WGSL lets
// compilers assume there are no NaNs. Sums accumulate in f32 (ref: f64), in a different order.
//
// Bindings (group 0):
//   0: uniform Params, block `reduce` of src/backends/kernelParams.ts: mode, op, nOut, nRed (reduced
//      elements per output), chunks and chunkLen (mode 1), keptRank, redRank, identity (0 or -inf,
//      written by the host: WGSL has no inf literal), innerLen and innerStride (the last reduced run;
//      1 and 1 without one), keptShape/keptStride and redShape/redStride (8 u32 each)
//   1: storage, read        x: array<f32>
//   2: storage, read_write  out: array<f32>  (nOut, or nOut · chunks partials)
//
// Dispatch: mode 0: ceil(nOut / WG) workgroups; mode 1: nOut · chunks workgroups; both in a 2D grid,
// linear workgroup index = workgroup_id.y · num_workgroups.x + workgroup_id.x. WG (override) must be
// a power of two <= 256.

//! include "lib/grid.wgsl"
//! include "lib/nan.wgsl"
//! include "lib/packed.wgsl"

const OP_SUM: u32 = 0u;
const OP_MAX: u32 = 1u;

//! params reduce

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

var<workgroup> partial: array<f32, 256>;

fn combine(a: f32, b: f32) -> f32 {
  if (params.op == OP_SUM) {
    return a + b;
  }
  // max, NaN-propagating: a NaN operand wins.
  return select(b, a, is_nan(a) || (!is_nan(b) && a >= b));
}

// Offset of output o's first element.
fn base_of(o: u32) -> u32 {
  return strided_offset(o, params.keptRank, params.keptShape, params.keptStride);
}

// Offset of reduced element r relative to the output's base.
fn red_offset(r: u32) -> u32 {
  return strided_offset(r, params.redRank, params.redShape, params.redStride);
}

fn serial(o: u32) {
  if (o >= params.nOut) {
    return;
  }
  let base = base_of(o);
  var acc = params.identity;
  let inner = params.innerLen;
  let stride = params.innerStride;
  for (var r = 0u; r < params.nRed; r += inner) {
    // r is a multiple of the last reduced extent: red_offset(r) is the start of an inner run.
    var p = base + red_offset(r);
    for (var j = 0u; j < inner; j++) {
      acc = combine(acc, x[p]);
      p += stride;
    }
  }
  out[o] = acc;
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let wgi = workgroup_index(grid);
  if (params.mode == 0u) {
    serial(wgi * WG + lid);
    return;
  }
  // mode 1: workgroup wgi reduces chunk c of output o (wgi is uniform across the workgroup).
  let o = wgi / params.chunks;
  if (o >= params.nOut) {
    return;
  }
  let c = wgi % params.chunks;
  let base = base_of(o);
  let start = c * params.chunkLen;
  let end = min(params.nRed, start + params.chunkLen);
  var acc = params.identity;
  for (var r = start + lid; r < end; r += WG) {
    acc = combine(acc, x[base + red_offset(r)]);
  }
  partial[lid] = acc;
  workgroupBarrier();
  for (var s = WG / 2u; s > 0u; s = s / 2u) {
    if (lid < s) {
      partial[lid] = combine(partial[lid], partial[lid + s]);
    }
    workgroupBarrier();
  }
  if (lid == 0u) {
    out[wgi] = partial[0];
  }
}
