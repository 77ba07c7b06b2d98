// matmul.wgsl — out[b, i, j] = Σ_p A[b, i, p] · B[b, p, j] (src/ops/matmul.ts), A = a or aᵀ, B = b or bᵀ
// on the last two axes, batch axes broadcast; one pipeline for every shape and both transposes.
//
// Algorithm: a tiled GEMM (lib/gemm_tile.wgsl, shared with the conv family). Each workgroup of 64
// invocations computes one TM × TN tile of one batch matrix, where (TM, TN) ∈ {(64, 16), (32, 32),
// (16, 64)} is uniform (the host picks the one that wastes least on the edges); invocation (ty, tx)
// owns a 4 × 4 micro-tile, rows ty + r·TM/4 and columns tx + c·TN/4 (r, c < 4), accumulated in
// registers (4 vec4). The reduction runs in steps of TK = 16: the workgroup stages A's TM × TK and
// B's TK × TN slices in workgroup memory, synchronises, and every invocation does 16 rank-1 updates
// of its micro-tile, each from ONE vec4 of A (its 4 rows) and ONE vec4 of B (its 4 columns): the
// tiles are stored as vec4s grouped by micro-tile (see As/Bs in lib/gemm_tile.wgsl, also on why
// they are kept small). Staging loads (stage_operand, one function for both operands) walk the
// contiguous axis of each operand (k for A, m for Aᵀ; n for B, k for Bᵀ) across neighbouring
// invocations. Out-of-range elements stage as 0, so edges need no special case.
// Accumulation is f32 (ref: f64), summed in order of p.
//
// Batch broadcasting: the host collapses the batch geometry (see collapseBroadcast) to <= 8 axes and
// passes per axis the output extent and the matrix-offset strides of a and b (0 on broadcast axes).
//
// Bindings (group 0):
//   0: uniform Params, block `matmulGpu` of src/backends/kernelParams.ts: m, n, k, flags (bit 0
//      transA, bit 1 transB), the tile (tm, tn, tilesM, tilesN), groups (batch · tilesM · tilesN),
//      batchRank, batchShape, sa and sb (element offset of a's / b's matrix per unit of each batch axis)
//   1: storage, read        a: array<f32>
//   2: storage, read        b: array<f32>
//   3: storage, read_write  out: array<f32>  [batch, m, n]
//
// Dispatch: batch · tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = (batch · tilesM + tileM) · tilesN + tileN.

//! include "lib/grid.wgsl"
//! include "lib/gemm_tile.wgsl"
//! include "lib/packed.wgsl"

//! params matmulGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

fn store_out(index: u32, v: f32) {
  out[index] = v;
}

// Stages this step's slice of one operand: A's TM × TK slice (rows m0..) into As, or (isB) B's
// TK × TN slice (columns n0..) into Bs; off is the batch matrix's offset in a or b. Along x (m for
// A, n for B) the operand has extent E and the slice `width` elements. Element (x, p) is at
// x·K + p when k is the operand's contiguous axis (A, Bᵀ), else at p·E + x (Aᵀ, B); consecutive e
// walk that contiguous axis.
fn stage_operand(isB: bool, t: Tile, lid: u32, k0: u32, off: u32) {
  let width = select(t.TM, t.TN, isB);
  let x0 = select(t.m0, t.n0, isB);
  let E = select(t.M, t.N, isB);
  let kFast = select((params.flags & 1u) == 0u, (params.flags & 2u) != 0u, isB);
  for (var e = lid; e < TK * width; e += 64u) {
    var xx: u32;
    var kk: u32;
    if (kFast) {
      kk = e % TK;
      xx = e / TK;
    } else {
      xx = e % width;
      kk = e / width;
    }
    let x = x0 + xx;
    let p = k0 + kk;
    var v = 0.0;
    if (x < E && p < t.K) {
      let i = off + select(p * E + x, x * t.K + p, kFast);
      if (isB) {
        v = b[i];
      } else {
        v = a[i];
      }
    }
    if (isB) {
      stage_b(t, kk, xx, v);
    } else {
      stage_a(t, kk, xx, v);
    }
  }
}

@compute @workgroup_size(64)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let g = workgroup_index(grid);
  if (g >= params.groups) {
    return;
  }
  let mnk = vec3<u32>(params.m, params.n, params.k);
  let t = tile_of(g, mnk, vec4<u32>(params.tm, params.tn, params.tilesM, params.tilesN));
  let mt = micro_tile(t, lid);
  // t.outer: the batch matrix.
  let offA = strided_offset(t.outer, params.batchRank, params.batchShape, params.sa);
  let offB = strided_offset(t.outer, params.batchRank, params.batchShape, params.sb);

  var acc: array<vec4<f32>, 4>; // zero
  for (var k0 = 0u; k0 < t.K; k0 += TK) {
    stage_operand(false, t, lid, k0, offA);
    stage_operand(true, t, lid, k0, offB);
    workgroupBarrier();
    tile_step(&acc, t, mt);
    workgroupBarrier();
  }

  store_tile(&acc, t, mt);
}
