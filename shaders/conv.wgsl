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
// workgroup memory (as vec4s grouped by micro-tile, as in matmul.wgsl), then does 16 rank-1
// updates, each from one vec4 of each slice. The im2col slice is gathered on the fly:
//   - once per workgroup, each row's origin o_d·s_d − lo_d and batch offset go to workgroup memory;
//   - an invocation always stages the same reduction index kk = lid % 16 of a step (64 = 4 · TK),
//     so it splits k into (tap, ci) and the tap into per-axis offsets a_d·r_d once per step;
//   - per element and axis, p = origin + a·r goes through src_axis — exactly convSource: wrapped
//     modulo N on torus axes; elsewhere padding (−1) unless 0 <= p, p ≡ 0 (mod l) and p/l < N.
//   Neighbouring invocations stage neighbouring ci of one pixel (contiguous in channels-last x).
// Unused axes (D < 3) have N = O = K = 1 and cost nothing. Accumulation in f32 (ref: f64).
//
// Bindings (group 0):
//   0: uniform Params: the Int32 layout of convParams (src/ops/conv.ts) — head = (D, B, Cin, Cout),
//      ax[2d] = (N, O, K, stride), ax[2d+1] = (lo, torus, rhsDilation, lhsDilation) for d < 3 —
//      then gemm = (M, N, K, groups) and tile = (TM, TN, tilesM, tilesN)
//   1: storage, read        x: array<f32>   [B, ...N_d, Cin]
//   2: storage, read        w: array<f32>   [taps, Cin, Cout]
//   3: storage, read_write  y: array<f32>   [B, ...O_d, Cout]
//
// Dispatch: tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = tileM · tilesN + tileN.

const TK: u32 = 16u;

struct Params {
  head: vec4<i32>,
  ax: array<vec4<i32>, 6>,
  gemm: vec4<i32>,
  tile: vec4<i32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [TK][TM/4]: As[kk · TM/4 + i][r] = A(row i + r·TM/4, kk)
var<workgroup> Bs: array<vec4<f32>, 256>; // [TK][TN/4]: Bs[kk · TN/4 + j][c] = B(kk, column j + c·TN/4)
var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (batch pixel offset or -1, origin_0..2)

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
  let tilesN = params.tile.w;
  let m0 = (g / tilesN) * TM;
  let n0 = (g % tilesN) * TN;
  let N0 = params.ax[0].x;
  let N1 = params.ax[2].x;
  let N2 = params.ax[4].x;
  let O0 = params.ax[0].y;
  let O1 = params.ax[2].y;
  let O2 = params.ax[4].y;
  let K1 = params.ax[2].z;
  let K2 = params.ax[4].z;
  let lidi = i32(lid);

  // Row origins of this tile (one row per invocation; TM <= 64).
  if (lidi < TM) {
    let m = m0 + lidi;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < M) {
      let opix = O0 * O1 * O2;
      let b = m / opix;
      let o = m % opix;
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
  let kk = lidi % i32(TK);

  workgroupBarrier();
  for (var k0 = 0; k0 < K; k0 += i32(TK)) {
    // Stage the implicit im2col slice: element (mm, kk) for mm = lid / TK + 4j.
    let k = k0 + kk;
    if (k < K) {
      let t = k / Cin;
      let ci = k % Cin;
      let a2 = (t % K2) * params.ax[5].z;
      let a1 = ((t / K2) % K1) * params.ax[3].z;
      let a0 = (t / (K2 * K1)) * params.ax[1].z;
      for (var mm = lidi / i32(TK); mm < TM; mm += 64 / i32(TK)) {
        let info = rowInfo[mm];
        var v = 0.0;
        if (info.x >= 0) {
          let i0 = src_axis(info.y + a0, 0u);
          let i1 = src_axis(info.z + a1, 1u);
          let i2 = src_axis(info.w + a2, 2u);
          if (i0 >= 0 && i1 >= 0 && i2 >= 0) {
            v = x[(info.x + (i0 * N1 + i1) * N2 + i2) * Cin + ci];
          }
        }
        As[u32(kk * rs + mm % rs)][u32(mm / rs)] = v;
      }
    } else {
      for (var mm = lidi / i32(TK); mm < TM; mm += 64 / i32(TK)) {
        As[u32(kk * rs + mm % rs)][u32(mm / rs)] = 0.0;
      }
    }
    // Stage w[k0.., n0..] (row-major K × N).
    for (var e = lidi; e < i32(TK) * TN; e += 64) {
      let nn = e % TN;
      let kb = e / TN;
      let p = k0 + kb;
      let j = n0 + nn;
      var v = 0.0;
      if (p < K && j < N) {
        v = w[p * N + j];
      }
      Bs[u32(kb * cs + nn % cs)][u32(nn / cs)] = v;
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

  for (var r = 0; r < 4; r++) {
    let i = m0 + ty + r * rs;
    if (i < M) {
      for (var c = 0; c < 4; c++) {
        let j = n0 + tx + c * cs;
        if (j < N) {
          y[i * N + j] = acc[r][c];
        }
      }
    }
  }
}
