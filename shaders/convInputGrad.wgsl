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
// tiles (uniform), 4 × 4 register micro-tiles, TK = 16 steps staged in workgroup memory (vec4s grouped by
// micro-tile, as in matmul.wgsl); each
// row's batch offset and v_d are staged once per workgroup; an invocation always stages the same
// reduction index kk = lid % 16 of a step, so it splits k into (a, q, co) once per step, and
// neighbouring invocations read neighbouring co (contiguous in dy and in w). f32 accumulation.
//
// Bindings (group 0):
//   0: uniform Params: convParams layout — head = (D, B, Cin, Cout), ax[2d] = (N, O, K, stride),
//      ax[2d+1] = (lo, torus, rhsDilation, lhsDilation) — then gemm = (M, N, K, groups),
//      tile = (TM, TN, tilesM, tilesN), wraps = (Q_0, Q_1, Q_2, Q)
//   1: storage, read        dy: array<f32>  [B, ...O_d, Cout]
//   2: storage, read        w: array<f32>   [taps, Cin, Cout]
//   3: storage, read_write  dx: array<f32>  [B, ...N_d, Cin]
//
// Dispatch: tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = tileM · tilesN + tileN.

const TK: u32 = 16u;

struct Params {
  head: vec4<i32>,
  ax: array<vec4<i32>, 6>,
  gemm: vec4<i32>,
  tile: vec4<i32>,
  wraps: vec4<i32>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> w: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [TK][TM/4]: As[kk · TM/4 + i][r] = A(row i + r·TM/4, kk)
var<workgroup> Bs: array<vec4<f32>, 256>; // [TK][TN/4]: Bs[kk · TN/4 + j][c] = B(kk, column j + c·TN/4)
var<workgroup> rowInfo: array<vec4<i32>, 64>; // per tile row: (batch offset in dy pixels or -1, v_0..2)

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
  let Cout = params.head.w;
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
  let Q1 = params.wraps.y;
  let Q2 = params.wraps.z;
  let Q = params.wraps.w;
  let lidi = i32(lid);

  if (lidi < TM) {
    let m = m0 + lidi;
    var info = vec4<i32>(-1, 0, 0, 0);
    if (m < M) {
      let npix = N0 * N1 * N2;
      let b = m / npix;
      let i = m % npix;
      let i2 = i % N2;
      let i1 = (i / N2) % N1;
      let i0 = i / (N2 * N1);
      info = vec4<i32>(
        b * O0 * O1 * O2,
        i0 * params.ax[1].w + params.ax[1].x,
        i1 * params.ax[3].w + params.ax[3].x,
        i2 * params.ax[5].w + params.ax[5].x,
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
    let k = k0 + kk;
    if (k < K) {
      let co = k % Cout;
      let aq = k / Cout;
      let qi = aq % Q;
      let a = aq / Q;
      let q2 = qi % Q2;
      let q1 = (qi / Q2) % Q1;
      let q0 = qi / (Q2 * Q1);
      let a2 = (a % K2) * params.ax[5].z;
      let a1 = ((a / K2) % K1) * params.ax[3].z;
      let a0 = (a / (K2 * K1)) * params.ax[1].z;
      // A: dy at the output pixel that tap a (wrap q) of row mm comes from.
      for (var mm = lidi / i32(TK); mm < TM; mm += 64 / i32(TK)) {
        let info = rowInfo[mm];
        var v = 0.0;
        if (info.x >= 0) {
          let o0 = out_axis(info.y, a0, q0, 0u);
          let o1 = out_axis(info.z, a1, q1, 1u);
          let o2 = out_axis(info.w, a2, q2, 2u);
          if (o0 >= 0 && o1 >= 0 && o2 >= 0) {
            v = dy[(info.x + (o0 * O1 + o1) * O2 + o2) * Cout + co];
          }
        }
        As[u32(kk * rs + mm % rs)][u32(mm / rs)] = v;
      }
      // B: w[a, ci, co] for ci = n0 + nn, nn = lid / TK + 4j.
      for (var nn = lidi / i32(TK); nn < TN; nn += 64 / i32(TK)) {
        let ci = n0 + nn;
        var v = 0.0;
        if (ci < N) {
          v = w[(a * Cin + ci) * Cout + co];
        }
        Bs[u32(kk * cs + nn % cs)][u32(nn / cs)] = v;
      }
    } else {
      for (var mm = lidi / i32(TK); mm < TM; mm += 64 / i32(TK)) {
        As[u32(kk * rs + mm % rs)][u32(mm / rs)] = 0.0;
      }
      for (var nn = lidi / i32(TK); nn < TN; nn += 64 / i32(TK)) {
        Bs[u32(kk * cs + nn % cs)][u32(nn / cs)] = 0.0;
      }
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
          dx[i * N + j] = acc[r][c];
        }
      }
    }
  }
}
