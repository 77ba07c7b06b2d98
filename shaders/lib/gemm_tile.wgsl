// lib/gemm_tile.wgsl — the register-tiled GEMM core of matmul.wgsl and the conv family: one
// workgroup of 64 invocations computes one TM × TN tile of out (M × N) = A (M × K) · B (K × N),
// (TM, TN) ∈ {(64, 16), (32, 32), (16, 64)} (uniform; src/backends/webgpu/kernels/tiles.ts).
// Invocation (ty, tx) owns a 4 × 4 micro-tile, rows ty + r·TM/4 and columns tx + c·TN/4 (r, c < 4),
// accumulated in registers (4 vec4). The reduction runs in steps of TK = 16: the shader stages A's
// TM × TK and B's TK × TN slices in workgroup memory (stage_a, stage_b), synchronises, and every
// invocation does 16 rank-1 updates of its micro-tile (tile_step), each from ONE vec4 of A (its 4
// rows) and ONE vec4 of B (its 4 columns): the slices are stored as vec4s grouped by micro-tile
// (As/Bs: 2 × 256 vec4 = 8 KiB, also kept small because some drivers compile WGSL's
// zero-initialisation of workgroup memory element by element — Mesa lavapipe under wgpu took
// minutes for 2 × 1040 floats). Accumulation is f32, summed in order of k.
//
// Provides:
//   TK, As, Bs (the staged slices);
//   struct Tile + fn tile_of(g, mnk, tile) — workgroup g's tile (uniform across the workgroup) in a
//     dispatch of outer · tilesM · tilesN workgroups, g = (outer · tilesM + tileM) · tilesN + tileN;
//     outer is the batch matrix (matmul) or the split (convFilterGrad), 0 elsewhere;
//   fn micro_tile(t, lid) -> vec2<u32> — invocation lid's (tx, ty);
//   fn stage_a(t, kk, mm, v), fn stage_b(t, kk, nn, v) — store A(m0 + mm, k0 + kk) or
//     B(k0 + kk, n0 + nn) of the current step;
//   fn stage_a_run(t, kk, mm, v), fn stage_b_run(t, kk, nn, v) — the same for a run of 4
//     reduction indices kk..kk+3 (v[e] at kk + e); fn stage_a_rows(t, kk, mm, v) — a run of 4
//     rows mm..mm+3 of A (v[e] at mm + e);
//   fn tile_step(&acc, t, mt) — the 16 rank-1 updates of one step;
//   fn store_tile(&acc, t, mt) — writes the micro-tile to out[outer, i, j] (row-major M × N per
//     outer) through the including shader's store_out, skipping rows >= M and columns >= N.
// Requires: the including shader defines fn store_out(index: u32, v: f32) (its output binding).

const TK: u32 = 16u;

var<workgroup> As: array<vec4<f32>, 256>; // [TK][TM/4]: As[kk · TM/4 + i][r] = A(row i + r·TM/4, kk)
var<workgroup> Bs: array<vec4<f32>, 256>; // [TK][TN/4]: Bs[kk · TN/4 + j][c] = B(kk, column j + c·TN/4)

struct Tile {
  M: u32,
  N: u32,
  K: u32,
  TM: u32,
  TN: u32,
  rs: u32, // TM / 4: row stride of the micro-tiles
  cs: u32, // TN / 4: column stride
  m0: u32, // first row
  n0: u32, // first column
  outer: u32,
}

// mnk = (M, N, K); tile = (TM, TN, tilesM, tilesN).
fn tile_of(g: u32, mnk: vec3<u32>, tile: vec4<u32>) -> Tile {
  let tileN = g % tile.w;
  let tileM = (g / tile.w) % tile.z;
  let outer = g / (tile.w * tile.z);
  let rs = tile.x / 4u;
  let cs = tile.y / 4u;
  return Tile(mnk.x, mnk.y, mnk.z, tile.x, tile.y, rs, cs, tileM * tile.x, tileN * tile.y, outer);
}

fn micro_tile(t: Tile, lid: u32) -> vec2<u32> {
  return vec2<u32>(lid % t.cs, lid / t.cs);
}

fn stage_a(t: Tile, kk: u32, mm: u32, v: f32) {
  As[kk * t.rs + mm % t.rs][mm / t.rs] = v;
}

fn stage_b(t: Tile, kk: u32, nn: u32, v: f32) {
  Bs[kk * t.cs + nn % t.cs][nn / t.cs] = v;
}

fn stage_a_run(t: Tile, kk: u32, mm: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    stage_a(t, kk + e, mm, v[e]);
  }
}

fn stage_b_run(t: Tile, kk: u32, nn: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    stage_b(t, kk + e, nn, v[e]);
  }
}

fn stage_a_rows(t: Tile, kk: u32, mm: u32, v: vec4<f32>) {
  for (var e = 0u; e < 4u; e++) {
    stage_a(t, kk, mm + e, v[e]);
  }
}

fn tile_step(acc: ptr<function, array<vec4<f32>, 4>>, t: Tile, mt: vec2<u32>) {
  for (var kk = 0u; kk < TK; kk++) {
    let av = As[kk * t.rs + mt.y]; // rows ty + r·TM/4
    let bv = Bs[kk * t.cs + mt.x]; // columns tx + c·TN/4
    (*acc)[0] += av.x * bv;
    (*acc)[1] += av.y * bv;
    (*acc)[2] += av.z * bv;
    (*acc)[3] += av.w * bv;
  }
}

fn store_tile(acc: ptr<function, array<vec4<f32>, 4>>, t: Tile, mt: vec2<u32>) {
  let base = t.outer * t.M * t.N;
  for (var r = 0u; r < 4u; r++) {
    let i = t.m0 + mt.y + r * t.rs;
    if (i < t.M) {
      for (var c = 0u; c < 4u; c++) {
        let j = t.n0 + mt.x + c * t.cs;
        if (j < t.N) {
          store_out(base + i * t.N + j, (*acc)[r][c]);
        }
      }
    }
  }
}
