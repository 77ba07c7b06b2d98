// convInputGrad.wgsl — the input gradient of conv (src/ops/conv.ts), the exact transpose of conv.wgsl:
//   dx[b, i, ci] = Σ over (o, tap) with convSource(o, tap) = i of Σ_co dy[b, o, co] · w[tap, ci, co]
// as a gather (each dx element is written once, no atomics, no im2col buffer); one pipeline for
// every shape, D = 1..3 and option.
//
// Which (o, tap) reach input pixel i, per axis (derived from convSource): tap a reads padded
// position p = o·s + a·r − lo.
//   - zero-padded axis: p = i·l, so o·s = v − a·r with v = i·l + lo; a tap contributes iff
//     w = v − a·r >= 0, w ≡ 0 (mod s) and o = w/s < O — at most one o per tap;
//   - torus axis (l = 1): p ≡ i (mod N), so o·s = w + q·N for some integer q. With w' = w mod N
//     (in [0, N)), the candidates are w' + q·N for q = 0 .. Q_d − 1, where the host takes
//     Q_d = floor((O − 1)·s / N) + 1 (at most that many multiples of N fit in o·s ∈ [0, (O−1)·s]);
//     each is valid iff ≡ 0 (mod s) and /s < O. Q_d = 1 on ordinary SAME/torus geometries; more
//     only when the padded line wraps around the image more than once (tiny images, big padding).
//
// Algorithm: a tiled GEMM like conv.wgsl. Rows: the input pixels of every batch (M = B · Π N_d),
// columns: the input channels (N = Cin), reduction over (tap, q, co) (K = taps · Q · Cout, co
// fastest, Q = Π Q_d): A[m, (a, q, co)] = dy[b, o(i, a, q), co] (0 when no such o) and
// B[(a, q, co), ci] = w[a, ci, co]. 64 invocations per workgroup, TM × TN ∈ {64×16, 32×32, 16×64}
// tiles (uniform), 4 × 4 register micro-tiles, TK = 16 steps staged in workgroup memory (vec4s
// grouped by micro-tile: lib/gemm_tile.wgsl); each row's batch offset and v_d are staged once per
// workgroup; an invocation always stages the same reduction index kk = lid % 16 of a step, so it
// splits k into (a, q, co) once per step, and neighbouring invocations read neighbouring co
// (contiguous in dy and in w). When Cout is a multiple of 4 (uniform), stage_runs stages runs of 4
// co per invocation instead: one output-pixel lookup per run. f32 accumulation.
//
// Bindings (group 0):
//   0: uniform Params: block `convInputGrad` of src/backends/kernelParams.ts — conv's fields (D, B,
//      Cin, Cout, ax, M, N, K, groups, TM, TN, tilesM, tilesN), then the wraps q0, q1, q2, Q
//   1: storage, read        dy: array<f32>  [B, ...O_d, Cout]
//   2: storage, read        w: array<f32>   [taps, Cin, Cout]
//   3: storage, read_write  dx: array<f32>  [B, ...N_d, Cin]
//
// Dispatch: tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = tileM · tilesN + tileN.

//! include "lib/grid.wgsl"
//! include "lib/conv_geometry.wgsl"

//! params convInputGrad

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (batch offset in dy pixels or -1, v_0..2)

fn store_out(index: u32, v: f32) {
  dx[index] = v;
}

// Output index along axis d for tap offset ar = a·r and wrap q, or -1 (stride 1 and an in-image
// position divide nothing).
fn out_axis(v: i32, ar: i32, q: i32, d: u32) -> i32 {
  let g = params.ax[2u * d];
  let n = g.x;
  let s = g.w;
  var wv = v - ar;
  if (params.ax[2u * d + 1u].y != 0) {
    if (wv < 0 || wv >= n) {
      wv = wrap(wv, n);
    }
    wv += q * n;
  }
  if (wv < 0) {
    return -1;
  }
  if (s == 1) {
    return select(-1, wv, wv < g.y);
  }
  if (wv % s != 0) {
    return -1;
  }
  let o = wv / s;
  return select(-1, o, o < g.y);
}

// Both slices when Cout is a multiple of 4: invocation lid fills the run of 4 reduction indices
// kq..kq+3 (kq = 4·(lid % 4)) of A's rows and B's columns lid / 4 + 16j. A run is 4 consecutive co
// of one (tap, wrap) — K = taps · Q · Cout comes in whole runs — so a row costs one output-pixel
// lookup and 4 contiguous loads of dy, a column 4 contiguous loads of w (as stage_runs in conv.wgsl).
fn stage_runs(t: Tile, k0: u32, lid: u32, O: vec3<i32>) {
  let Cin = params.Cin;
  let Cout = params.Cout;
  let Q = params.Q;
  let kq = (lid % 4u) * 4u;
  let k = k0 + kq;
  let inside = k < t.K;
  let co = i32(k) % Cout;
  let aq = i32(k) / Cout;
  let q = split_index(aq % Q, vec3<i32>(params.q0, params.q1, params.q2)).yzw;
  let a = aq / Q;
  let ar = tap_offsets(a);
  for (var mm = lid / 4u; mm < t.TM; mm += 16u) {
    let info = rowInfo[mm];
    var v = vec4<f32>();
    if (inside && info.x >= 0) {
      let o0 = out_axis(info.y, ar.x, q.x, 0u);
      let o1 = out_axis(info.z, ar.y, q.y, 1u);
      let o2 = out_axis(info.w, ar.z, q.z, 2u);
      if (o0 >= 0 && o1 >= 0 && o2 >= 0) {
        let o = (info.x + (o0 * O.y + o1) * O.z + o2) * Cout + co;
        v = vec4<f32>(dy[o], dy[o + 1], dy[o + 2], dy[o + 3]);
      }
    }
    stage_a_run(t, kq, mm, v);
  }
  for (var nn = lid / 4u; nn < t.TN; nn += 16u) {
    let ci = t.n0 + nn;
    var v = vec4<f32>();
    if (inside && ci < t.N) {
      let o = (a * Cin + i32(ci)) * Cout + co;
      v = vec4<f32>(w[o], w[o + 1], w[o + 2], w[o + 3]);
    }
    stage_b_run(t, kq, nn, v);
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
  let Cout = params.Cout;
  let O = conv_axes(AX_O);
  let Q = params.Q;

  if (lid < t.TM) {
    let m = t.m0 + lid;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < t.M) {
      let i = split_index(i32(m), conv_axes(AX_N));
      info = vec4<i32>(i.x * O.x * O.y * O.z, i.yzw * conv_axes(AX_LHS) + conv_axes(AX_LO));
    }
    rowInfo[lid] = info;
  }

  var acc: array<vec4<f32>, 4>; // zero
  let kk = lid % TK;

  workgroupBarrier();
  for (var k0 = 0u; k0 < t.K; k0 += TK) {
    if (Cout % 4 == 0) {
      stage_runs(t, k0, lid, O);
    } else {
      let k = k0 + kk;
      if (k < t.K) {
        let co = i32(k) % Cout;
        let aq = i32(k) / Cout;
        let q = split_index(aq % Q, vec3<i32>(params.q0, params.q1, params.q2)).yzw;
        let a = aq / Q;
        let ar = tap_offsets(a);
        // A: dy at the output pixel that tap a (wrap q) of row mm comes from.
        for (var mm = lid / TK; mm < t.TM; mm += 64u / TK) {
          let info = rowInfo[mm];
          var v = 0.0;
          if (info.x >= 0) {
            let o0 = out_axis(info.y, ar.x, q.x, 0u);
            let o1 = out_axis(info.z, ar.y, q.y, 1u);
            let o2 = out_axis(info.w, ar.z, q.z, 2u);
            if (o0 >= 0 && o1 >= 0 && o2 >= 0) {
              v = dy[(info.x + (o0 * O.y + o1) * O.z + o2) * Cout + co];
            }
          }
          stage_a(t, kk, mm, v);
        }
        // B: w[a, ci, co] for ci = n0 + nn, nn = lid / TK + 4j.
        for (var nn = lid / TK; nn < t.TN; nn += 64u / TK) {
          let ci = t.n0 + nn;
          var v = 0.0;
          if (ci < t.N) {
            v = w[(a * Cin + i32(ci)) * Cout + co];
          }
          stage_b(t, kk, nn, v);
        }
      } else {
        for (var mm = lid / TK; mm < t.TM; mm += 64u / TK) {
          stage_a(t, kk, mm, 0.0);
        }
        for (var nn = lid / TK; nn < t.TN; nn += 64u / TK) {
          stage_b(t, kk, nn, 0.0);
        }
      }
    }
    workgroupBarrier();
    tile_step(&acc, t, mt);
    workgroupBarrier();
  }

  store_tile(&acc, t, mt);
}
