// matmul.wgsl — out[b, i, j] = Σ_p A[b, i, p] · B[b, p, j] (src/ops/matmul.ts), A = a or aᵀ, B = b or bᵀ
// on the last two axes, batch axes broadcast; one pipeline for every shape and both transposes.
//
// Algorithm: a tiled GEMM. Each workgroup of 64 invocations computes one TM × TN tile of one batch
// matrix, where (TM, TN) ∈ {(64, 16), (32, 32), (16, 64)} is uniform (the host picks the one that
// wastes least on the edges); invocation (ty, tx) owns a 4 × 4 micro-tile, rows ty + r·TM/4 and
// columns tx + c·TN/4 (r, c < 4), accumulated in registers (4 vec4). The reduction runs in steps of
// TK = 16: the workgroup stages A's TM × TK and B's TK × TN slices in workgroup memory, synchronises,
// and every invocation does 16 rank-1 updates of its micro-tile, each from ONE vec4 of A (its 4
// rows) and ONE vec4 of B (its 4 columns): the tiles are stored as vec4s grouped by micro-tile
// (see As/Bs; 2 × 256 vec4 = 8 KiB, also kept small because some drivers compile WGSL's
// zero-initialisation of workgroup memory element by element — Mesa lavapipe under wgpu took
// minutes for 2 × 1040 floats). Staging
// loads walk the contiguous axis of each operand (k for A, m for Aᵀ; n for B, k for Bᵀ) across
// neighbouring invocations. Out-of-range elements stage as 0, so edges need no special case.
// Accumulation is f32 (ref: f64), summed in order of p.
//
// Batch broadcasting: the host collapses the batch geometry (see collapseBroadcast) to <= 8 axes and
// passes per axis the output extent and the matrix-offset strides of a and b (0 on broadcast axes).
//
// Bindings (group 0):
//   0: uniform Params (below)
//   1: storage, read        a: array<f32>
//   2: storage, read        b: array<f32>
//   3: storage, read_write  out: array<f32>  [batch, m, n]
//
// Dispatch: batch · tilesM · tilesN workgroups of 64 in a 2D grid; linear workgroup index
// g = workgroup_id.y · num_workgroups.x + workgroup_id.x = (batch · tilesM + tileM) · tilesN + tileN.

const TK: u32 = 16u;

struct Params {
  m: u32,
  n: u32,
  k: u32,
  flags: u32,      // bit 0: transA, bit 1: transB
  tm: u32,
  tn: u32,
  tilesM: u32,
  tilesN: u32,
  groups: u32,     // batch · tilesM · tilesN
  batchRank: u32,
  _pad0: u32,
  _pad1: u32,
  batchShape: array<vec4<u32>, 2>,
  sa: array<vec4<u32>, 2>,   // element offset of a's matrix per unit of each batch axis
  sb: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

var<workgroup> As: array<vec4<f32>, 256>; // [TK][TM/4]: As[kk · TM/4 + i][r] = A(row i + r·TM/4, kk)
var<workgroup> Bs: array<vec4<f32>, 256>; // [TK][TN/4]: Bs[kk · TN/4 + j][c] = B(kk, column j + c·TN/4)

fn at4(v: array<vec4<u32>, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

@compute @workgroup_size(64)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let g = wid.y * nwg.x + wid.x;
  if (g >= params.groups) {
    return;
  }
  let M = params.m;
  let N = params.n;
  let K = params.k;
  let TM = params.tm;
  let TN = params.tn;
  let tileN = g % params.tilesN;
  let tileM = (g / params.tilesN) % params.tilesM;
  let batch = g / (params.tilesN * params.tilesM);
  var rem = batch;
  var offA = 0u;
  var offB = 0u;
  for (var d = params.batchRank; d > 0u; d--) {
    let e = d - 1u;
    let ext = at4(params.batchShape, e);
    let c = rem % ext;
    rem = rem / ext;
    offA += c * at4(params.sa, e);
    offB += c * at4(params.sb, e);
  }
  let transA = (params.flags & 1u) != 0u;
  let transB = (params.flags & 2u) != 0u;
  let m0 = tileM * TM;
  let n0 = tileN * TN;
  let tx = lid % (TN / 4u);
  let ty = lid / (TN / 4u);
  let rs = TM / 4u;
  let cs = TN / 4u;

  var acc: array<vec4<f32>, 4>;
  for (var r = 0u; r < 4u; r++) {
    acc[r] = vec4<f32>(0.0);
  }

  for (var k0 = 0u; k0 < K; k0 += TK) {
    // Stage A[m0.., k0..] (TM × TK).
    for (var e = lid; e < TK * TM; e += 64u) {
      var mm: u32;
      var kk: u32;
      if (transA) {
        mm = e % TM;
        kk = e / TM;
      } else {
        kk = e % TK;
        mm = e / TK;
      }
      let i = m0 + mm;
      let p = k0 + kk;
      var v = 0.0;
      if (i < M && p < K) {
        v = a[offA + select(i * K + p, p * M + i, transA)];
      }
      As[kk * rs + mm % rs][mm / rs] = v;
    }
    // Stage B[k0.., n0..] (TK × TN).
    for (var e = lid; e < TK * TN; e += 64u) {
      var nn: u32;
      var kk: u32;
      if (transB) {
        kk = e % TK;
        nn = e / TK;
      } else {
        nn = e % TN;
        kk = e / TN;
      }
      let j = n0 + nn;
      let p = k0 + kk;
      var v = 0.0;
      if (j < N && p < K) {
        v = b[offB + select(p * N + j, j * K + p, transB)];
      }
      Bs[kk * cs + nn % cs][nn / cs] = v;
    }
    workgroupBarrier();
    for (var kk = 0u; kk < TK; kk++) {
      let av = As[kk * rs + ty]; // rows ty + r·TM/4
      let bv = Bs[kk * cs + tx]; // columns tx + c·TN/4
      acc[0] += av.x * bv;
      acc[1] += av.y * bv;
      acc[2] += av.z * bv;
      acc[3] += av.w * bv;
    }
    workgroupBarrier();
  }

  let outBase = batch * M * N;
  for (var r = 0u; r < 4u; r++) {
    let i = m0 + ty + r * rs;
    if (i < M) {
      for (var c = 0u; c < 4u; c++) {
        let j = n0 + tx + c * cs;
        if (j < N) {
          out[outBase + i * N + j] = acc[r][c];
        }
      }
    }
  }
}
