// conv.wgsl — the fused geometric convolution's dense core (src/ops/conv.ts):
//   y[b, o, co] = Σ_{tap, ci} x̃[b, o·s + tap·r − lo, ci] · w[tap, ci, co]
// with x̃ the input lhs-dilated by l and padded periodically (torus axes) or with zeros, D = 1..3;
// one pipeline for every shape, D and option (all uniform data).
//
// Algorithm: a tiled implicit GEMM without an im2col buffer. Rows are the output pixels of every
// batch (M = B · Π O_d), columns the output channels (N = Cout), the reduction runs over
// (tap, ci) (K = taps · Cin, ci fastest) — w is then just the row-major K × N matrix. Each workgroup
// of 64 invocations computes one TM × TN tile, (TM, TN) ∈ {(64, 16), (32, 32), (16, 64)} (uniform,
// picked by the host for the least edge waste); invocation (ty, tx) owns a 4 × 4 micro-tile (rows
// ty + r·TM/4, columns tx + c·TN/4) in registers. Per step of TK = 16 reduction indices the
// workgroup stages the TM × TK slice of the implicit im2col matrix and the TK × TN slice of w in
// workgroup memory (as vec4s grouped by micro-tile: lib/gemm_tile.wgsl), then does 16 rank-1
// updates, each from one vec4 of each slice. The im2col slice is gathered on the fly:
//   - once per workgroup, each row's origin o_d·s_d − lo_d and batch offset go to workgroup memory;
//   - an invocation always stages the same reduction index kk = lid % 16 of a step (64 = 4 · TK),
//     so it splits k into (tap, ci) and the tap into per-axis offsets a_d·r_d once per step;
//   - per element and axis, p = origin + a·r goes through src_axis — exactly convSource: wrapped
//     modulo N on torus axes; elsewhere padding (−1) unless 0 <= p, p ≡ 0 (mod l) and p/l < N
//     (lib/conv_geometry.wgsl, shared with convFilterGrad.wgsl).
//   Neighbouring invocations stage neighbouring ci of one pixel (contiguous in channels-last x).
//   When Cin is a multiple of 4 (uniform), stage_runs replaces this: runs of 4 ci per invocation, one
//   pixel lookup per run.
// Unused axes (D < 3) have N = O = K = 1 and cost nothing. Accumulation in f32 (ref: f64).
//
// Bindings (group 0):
//   0: uniform Params: block `conv` of src/backends/kernelParams.ts (//! params) — D, B, Cin, Cout,
//      ax[2d] = (N, O, K, stride), ax[2d+1] = (lo, torus, rhsDilation, lhsDilation) for d < 3,
//      the GEMM M, N, K, groups and the tile TM, TN, tilesM, tilesN
//   1: storage, read        x: array<f32>   [B, ...N_d, Cin]
//   2: storage, read        w: array<f32>   [taps, Cin, Cout]
//   3: storage, read_write  y: array<f32>   [B, ...O_d, Cout]
//
// Dispatch: tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = tileM · tilesN + tileN.

//! include "lib/grid.wgsl"
//! include "lib/conv_geometry.wgsl"

//! params conv

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (batch pixel offset or -1, origin_0..2)

fn store_out(index: u32, v: f32) {
  y[index] = v;
}

// The im2col slice when Cin is a multiple of 4: invocation lid fills the run of 4 reduction indices
// kq..kq+3 (kq = 4·(lid % 4)) of rows lid / 4 + 16j. A run then lies within one tap, so each row costs
// one pixel lookup and 4 contiguous loads instead of 4 lookups. The lookups, not the multiply-adds,
// bounded the per-element path (on llvmpipe S1 ran 2.2× faster with them stubbed out); this path
// made S1 and S4 1.5× faster there.
fn stage_runs(t: Tile, k0: u32, lid: u32, Cin: i32) {
  let kq = (lid % 4u) * 4u;
  let k = k0 + kq;
  let inside = k < t.K;
  let ci = i32(k) % Cin;
  let a = tap_offsets(i32(k) / Cin);
  for (var mm = lid / 4u; mm < t.TM; mm += 16u) {
    let info = rowInfo[mm];
    var v = vec4<f32>();
    if (inside && info.x >= 0) {
      let px = src_pixel(info.x, info.yzw + a);
      if (px >= 0) {
        let o = px * Cin + ci;
        v = vec4<f32>(x[o], x[o + 1], x[o + 2], x[o + 3]);
      }
    }
    stage_a_run(t, kq, mm, v);
  }
}

@compute @workgroup_size(64)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let g = workgroup_index(grid);
  if (g >= u32(params.groups)) {
    return;
  }
  let t = conv_tile(g);
  let mt = micro_tile(t, lid);
  let Cin = params.Cin;

  // Row origins of this tile (one row per invocation; TM <= 64).
  if (lid < t.TM) {
    let m = t.m0 + lid;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < t.M) {
      info = out_origin(i32(m));
    }
    rowInfo[lid] = info;
  }

  var acc: array<vec4<f32>, 4>; // zero
  let kk = lid % TK;

  workgroupBarrier();
  for (var k0 = 0u; k0 < t.K; k0 += TK) {
    if (Cin % 4 == 0) {
      stage_runs(t, k0, lid, Cin);
    } else {
      // Stage the implicit im2col slice: element (mm, kk) for mm = lid / TK + 4j.
      let k = k0 + kk;
      if (k < t.K) {
        let ci = i32(k) % Cin;
        let a = tap_offsets(i32(k) / Cin);
        for (var mm = lid / TK; mm < t.TM; mm += 64u / TK) {
          let info = rowInfo[mm];
          var v = 0.0;
          if (info.x >= 0) {
            let px = src_pixel(info.x, info.yzw + a);
            if (px >= 0) {
              v = x[px * Cin + ci];
            }
          }
          stage_a(t, kk, mm, v);
        }
      } else {
        for (var mm = lid / TK; mm < t.TM; mm += 64u / TK) {
          stage_a(t, kk, mm, 0.0);
        }
      }
    }
    // Stage w[k0.., n0..] (row-major K × N).
    for (var e = lid; e < TK * t.TN; e += 64u) {
      let nn = e % t.TN;
      let kb = e / t.TN;
      let p = k0 + kb;
      let j = t.n0 + nn;
      var v = 0.0;
      if (p < t.K && j < t.N) {
        v = w[p * t.N + j];
      }
      stage_b(t, kb, nn, v);
    }
    workgroupBarrier();
    tile_step(&acc, t, mt);
    workgroupBarrier();
  }

  store_tile(&acc, t, mt);
}
