// convFilterGrad.wgsl — the filter gradient of conv (src/ops/conv.ts), the transpose of conv.wgsl in w:
//   dw[tap, ci, co] = Σ_{b, o} x̃[b, o·s + tap·r − lo, ci] · dy[b, o, co]
// (x̃ padded and dilated exactly as in conv.wgsl: src_axis = convSource); one pipeline for every
// shape, D = 1..3 and option.
//
// Algorithm: a reduction over batch × output pixels per (tap·Cin + ci, co) tile, as a tiled GEMM
// with rows (tap, ci) (M = taps · Cin, ci fastest — dw's own row-major layout), columns co
// (N = Cout) and the long reduction over k = (b, o) (K = B · Π O_d; dy is then the row-major
// K × N matrix). 64 invocations per workgroup, TM × TN ∈ {64×16, 32×32, 16×64} tiles (uniform),
// 4 × 4 register micro-tiles, TK = 16 steps staged in workgroup memory (vec4s grouped by
// micro-tile: lib/gemm_tile.wgsl). Each tile row's (ci, a_d·r_d) is staged once per workgroup; each
// step first stages its 16 columns' pixel origins (batch offset, o_d·s_d − lo_d), then the x̃ slice
// (neighbouring invocations read neighbouring ci of a pixel) and the dy slice. K is long and M × N small (few tiles), so the reduction is split
// (split-K): workgroup (split, tile) reduces k ∈ [split · chunkLen, (split + 1) · chunkLen) and
// writes its partial tile to partial[split, m, n]; the host then sums the partials over `split`
// with reduce.wgsl (a deterministic order, no atomics). With one split it writes dw directly.
// f32 accumulation (ref: f64).
//
// Bindings (group 0):
//   0: uniform Params: block `convFilterGrad` of src/backends/kernelParams.ts — conv's fields (D,
//      B, Cin, Cout, ax, M, N, K, groups, TM, TN, tilesM, tilesN), then splits, chunkLen
//   1: storage, read        x: array<f32>    [B, ...N_d, Cin]
//   2: storage, read        dy: array<f32>   [B, ...O_d, Cout]
//   3: storage, read_write  out: array<f32>  dw [taps, Cin, Cout], or partials [splits, M, N]
//
// Dispatch: splits · tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = (split · tilesM + tileM) · tilesN + tileN.

//! include "lib/grid.wgsl"
//! include "lib/conv_geometry.wgsl"

//! params convFilterGrad

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (ci or -1, a_0·r_0, a_1·r_1, a_2·r_2)
var<workgroup> colInfo: array<vec4<i32>, 16>; // per step column: (batch pixel offset or -1, origin_0..2)

fn store_out(index: u32, v: f32) {
  out[index] = v;
}

// The x̃ slice when Cin is a multiple of 4: the tile's rows come in runs of 4 consecutive ci of one
// tap (m0 and TM are multiples of 4), so an element of a run costs one pixel lookup per 4 rows and 4
// contiguous loads (as stage_runs in conv.wgsl). Rows >= M (= taps · Cin) come in whole runs.
fn stage_x_runs(t: Tile, lid: u32, Cin: i32) {
  for (var e = lid; e < TK * t.rs; e += 64u) {
    let mm = 4u * (e % t.rs);
    let kb = e / t.rs;
    let r = rowInfo[mm];
    let c = colInfo[kb];
    var v = vec4<f32>();
    if (r.x >= 0 && c.x >= 0) {
      let px = src_pixel(c.x, c.yzw + r.yzw);
      if (px >= 0) {
        let o = px * Cin + r.x;
        v = vec4<f32>(x[o], x[o + 1], x[o + 2], x[o + 3]);
      }
    }
    stage_a_rows(t, kb, mm, v);
  }
}

@compute @workgroup_size(64)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let g = workgroup_index(grid);
  if (g >= u32(params.groups)) {
    return;
  }
  let t = conv_tile(g); // t.outer: the split
  let mt = micro_tile(t, lid);
  let Cin = params.Cin;
  let kStart = t.outer * u32(params.chunkLen);
  let kEnd = min(t.K, kStart + u32(params.chunkLen));

  if (lid < t.TM) {
    let m = t.m0 + lid;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < t.M) {
      info = vec4<i32>(i32(m) % Cin, tap_offsets(i32(m) / Cin));
    }
    rowInfo[lid] = info;
  }

  var acc: array<vec4<f32>, 4>; // zero

  for (var k0 = kStart; k0 < kEnd; k0 += TK) {
    // Pixel origins of this step's 16 columns.
    if (lid < TK) {
      let k = k0 + lid;
      var info = vec4<i32>(-1, 0, 0, 0);
      if (k < kEnd) {
        info = out_origin(i32(k));
      }
      colInfo[lid] = info;
    }
    // Stage dy[k0.., n0..] (row-major K × N).
    for (var e = lid; e < TK * t.TN; e += 64u) {
      let nn = e % t.TN;
      let kb = e / t.TN;
      let p = k0 + kb;
      let j = t.n0 + nn;
      var v = 0.0;
      if (p < kEnd && j < t.N) {
        v = dy[p * t.N + j];
      }
      stage_b(t, kb, nn, v);
    }
    workgroupBarrier(); // rowInfo (first step) and colInfo are ready
    if (Cin % 4 == 0) {
      stage_x_runs(t, lid, Cin);
    } else {
      // Stage the x̃ slice: element (mm, kb), mm fastest.
      for (var e = lid; e < TK * t.TM; e += 64u) {
        let mm = e % t.TM;
        let kb = e / t.TM;
        let r = rowInfo[mm];
        let c = colInfo[kb];
        var v = 0.0;
        if (r.x >= 0 && c.x >= 0) {
          let px = src_pixel(c.x, c.yzw + r.yzw);
          if (px >= 0) {
            v = x[px * Cin + r.x];
          }
        }
        stage_a(t, kb, mm, v);
      }
    }
    workgroupBarrier();
    tile_step(&acc, t, mt);
    workgroupBarrier();
  }

  store_tile(&acc, t, mt);
}
