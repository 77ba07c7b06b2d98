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
// micro-tile, as in matmul.wgsl). Each tile row's (ci, a_d·r_d) is staged once per workgroup; each
// step first stages its 16 columns' pixel origins (batch offset, o_d·s_d − lo_d), then the x̃ slice
// (neighbouring invocations read neighbouring ci of a pixel) and the dy slice. K is long and M × N small (few tiles), so the reduction is split
// (split-K): workgroup (split, tile) reduces k ∈ [split · chunkLen, (split + 1) · chunkLen) and
// writes its partial tile to partial[split, m, n]; the host then sums the partials over `split`
// with reduce.wgsl (a deterministic order, no atomics). With one split it writes dw directly.
// f32 accumulation (ref: f64).
//
// Bindings (group 0):
//   0: uniform Params: convParams layout — head = (D, B, Cin, Cout), ax[2d] = (N, O, K, stride),
//      ax[2d+1] = (lo, torus, rhsDilation, lhsDilation) — then gemm = (M, N, K, groups),
//      tile = (TM, TN, tilesM, tilesN), split = (splits, chunkLen, 0, 0)
//   1: storage, read        x: array<f32>    [B, ...N_d, Cin]
//   2: storage, read        dy: array<f32>   [B, ...O_d, Cout]
//   3: storage, read_write  out: array<f32>  dw [taps, Cin, Cout], or partials [splits, M, N]
//
// Dispatch: splits · tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = (split · tilesM + tileM) · tilesN + tileN.

const TK: u32 = 16u;

struct Params {
  head: vec4<i32>,
  ax: array<vec4<i32>, 6>,
  gemm: vec4<i32>,
  tile: vec4<i32>,
  split: vec4<i32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> dy: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [TK][TM/4]: As[kk · TM/4 + i][r] = A(row i + r·TM/4, kk)
var<workgroup> Bs: array<vec4<f32>, 256>; // [TK][TN/4]: Bs[kk · TN/4 + j][c] = B(kk, column j + c·TN/4)
var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (ci or -1, a_0·r_0, a_1·r_1, a_2·r_2)
var<workgroup> colInfo: array<vec4<i32>, 16>; // per step column: (batch pixel offset or -1, origin_0..2)

// ((p mod n) + n) mod n — the torus wrap of convSource — with only non-negative dividends: WGSL
// defines % on negative i32 (truncated remainder), but some drivers get it wrong (Mesa 22.3
// lavapipe through wgpu/naga returns -1 % 10 = 5), so negative operands are never divided.
fn wrap(p: i32, n: i32) -> i32 {
  if (p >= 0) {
    return p % n;
  }
  let r = (-p) % n;
  return select(n - r, 0, r == 0);
}

// Input index along axis d read at padded position p, or -1 for padding (convSource).
// Inside the image (the common case) and without lhs dilation it divides nothing.
fn src_axis(p: i32, d: u32) -> i32 {
  let n = params.ax[2u * d].x;
  let g = params.ax[2u * d + 1u];
  if (g.y != 0) {
    if (p >= 0 && p < n) {
      return p;
    }
    return wrap(p, n);
  }
  let l = g.w;
  if (p < 0) {
    return -1;
  }
  if (l == 1) {
    return select(-1, p, p < n);
  }
  if (p % l != 0) {
    return -1;
  }
  let i = p / l;
  return select(-1, i, i < n);
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let g = i32(wid.y * nwg.x + wid.x);
  if (g >= params.gemm.w) {
    return;
  }
  let Cin = params.head.z;
  let M = params.gemm.x;
  let N = params.gemm.y;
  let K = params.gemm.z;
  let TM = params.tile.x;
  let TN = params.tile.y;
  let tilesM = params.tile.z;
  let tilesN = params.tile.w;
  let tileN = g % tilesN;
  let tileM = (g / tilesN) % tilesM;
  let split = g / (tilesN * tilesM);
  let m0 = tileM * TM;
  let n0 = tileN * TN;
  let kStart = split * params.split.y;
  let kEnd = min(K, kStart + params.split.y);
  let N0 = params.ax[0].x;
  let N1 = params.ax[2].x;
  let N2 = params.ax[4].x;
  let O0 = params.ax[0].y;
  let O1 = params.ax[2].y;
  let O2 = params.ax[4].y;
  let K1 = params.ax[2].z;
  let K2 = params.ax[4].z;
  let lidi = i32(lid);

  if (lidi < TM) {
    let m = m0 + lidi;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < M) {
      let t = m / Cin;
      info = vec4<i32>(
        m % Cin,
        (t / (K2 * K1)) * params.ax[1].z,
        ((t / K2) % K1) * params.ax[3].z,
        (t % K2) * params.ax[5].z,
      );
    }
    rowInfo[lid] = info;
  }

  let tx = lidi % (TN / 4);
  let ty = lidi / (TN / 4);
  let rs = TM / 4;
  let cs = TN / 4;
  var acc: array<vec4<f32>, 4>;
  for (var r = 0; r < 4; r++) {
    acc[r] = vec4<f32>(0.0);
  }

  for (var k0 = kStart; k0 < kEnd; k0 += i32(TK)) {
    // Pixel origins of this step's 16 columns.
    if (lidi < i32(TK)) {
      let k = k0 + lidi;
      var info = vec4<i32>(-1, 0, 0, 0);
      if (k < kEnd) {
        let opix = O0 * O1 * O2;
        let b = k / opix;
        let o = k % opix;
        let o2 = o % O2;
        let o1 = (o / O2) % O1;
        let o0 = o / (O2 * O1);
        info = vec4<i32>(
          b * N0 * N1 * N2,
          o0 * params.ax[0].w - params.ax[1].x,
          o1 * params.ax[2].w - params.ax[3].x,
          o2 * params.ax[4].w - params.ax[5].x,
        );
      }
      colInfo[lid] = info;
    }
    // Stage dy[k0.., n0..] (row-major K × N).
    for (var e = lidi; e < i32(TK) * TN; e += 64) {
      let nn = e % TN;
      let kb = e / TN;
      let p = k0 + kb;
      let j = n0 + nn;
      var v = 0.0;
      if (p < kEnd && j < N) {
        v = dy[p * N + j];
      }
      Bs[u32(kb * cs + nn % cs)][u32(nn / cs)] = v;
    }
    workgroupBarrier(); // rowInfo (first step) and colInfo are ready
    // Stage the x̃ slice: element (mm, kb), mm fastest.
    for (var e = lidi; e < i32(TK) * TM; e += 64) {
      let mm = e % TM;
      let kb = e / TM;
      let r = rowInfo[mm];
      let c = colInfo[kb];
      var v = 0.0;
      if (r.x >= 0 && c.x >= 0) {
        let i0 = src_axis(c.y + r.y, 0u);
        let i1 = src_axis(c.z + r.z, 1u);
        let i2 = src_axis(c.w + r.w, 2u);
        if (i0 >= 0 && i1 >= 0 && i2 >= 0) {
          v = x[(c.x + (i0 * N1 + i1) * N2 + i2) * Cin + r.x];
        }
      }
      As[u32(kb * rs + mm % rs)][u32(mm / rs)] = v;
    }
    workgroupBarrier();
    for (var q = 0u; q < TK; q++) {
      let av = As[q * u32(rs) + u32(ty)]; // rows ty + r·TM/4
      let bv = Bs[q * u32(cs) + u32(tx)]; // columns tx + c·TN/4
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }

  let outBase = split * M * N;
  for (var r = 0; r < 4; r++) {
    let i = m0 + ty + r * rs;
    if (i < M) {
      for (var c = 0; c < 4; c++) {
        let j = n0 + tx + c * cs;
        if (j < N) {
          out[outBase + i * N + j] = acc[r][c];
        }
      }
    }
  }
}
