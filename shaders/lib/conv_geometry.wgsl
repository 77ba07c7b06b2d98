// lib/conv_geometry.wgsl — the geometry of convParams (src/ops/conv.ts) for the three conv shaders:
// their GEMM tile, per-axis views of the Int32 layout, row-major index splits, and the padded-input
// mapping convSource. Unused axes (D < 3) have N = O = K = 1 (and stride = dilations = 1, lo = 0),
// so every function works on 3 axes.
//
// No % ever sees a negative i32: WGSL defines % on negative operands (truncated remainder), but some
// drivers get it wrong (Mesa 22.3 lavapipe through wgpu/naga, i.e. Deno, returns -1 % 10 = 5), so
// positions that may be negative go through wrap(), and everything split with % is non-negative.
//
// Provides:
//   fn conv_tile(g) -> Tile — workgroup g's GEMM tile from (M, N, K) and (TM, TN, tilesM,
//     tilesN) (lib/gemm_tile.wgsl, included here);
//   fn conv_axes(field) -> vec3<i32> — one field of the three axes: AX_N (input extent), AX_O
//     (output extent), AX_K (kernel extent), AX_STRIDE, AX_LO (low padding), AX_RHS (filter
//     dilation r), AX_LHS (input dilation l);
//   fn split_index(m, e) -> vec4<i32> — (outer, i_0, i_1, i_2) of m >= 0 row-major over
//     outer × e.x × e.y × e.z (pixels of a batch, taps of a kernel, torus wraps);
//   fn out_origin(m) -> vec4<i32> — output pixel m (over B · Π O_d): (b · Π N_d, o_d·s_d − lo_d);
//   fn tap_offsets(t) -> vec3<i32> — tap t's offsets a_d·r_d;
//   fn wrap(p, n) — ((p mod n) + n) mod n with only non-negative dividends;
//   fn src_axis(p, d) — convSource on axis d: the input index read at padded position p, or -1;
//   fn src_pixel(b, p) -> i32 — the input pixel (b + row-major over N_d) read at padded position
//     p, or -1 when any axis is padding.
// Requires: the including shader's `params` has the fields of block `conv` (src/backends/
//   kernelParams.ts): ax: array<vec4<i32>, 6> (ax[2d] = (N, O, K, stride), ax[2d+1] = (lo, torus,
//   rhsDilation, lhsDilation)), M, N, K, groups and TM, TN, tilesM, tilesN.

//! include "lib/gemm_tile.wgsl"

// Fields of the per-axis rows ax[2d] = (N, O, K, stride), ax[2d + 1] = (lo, torus, rhsDilation,
// lhsDilation), numbered 0..7.
const AX_N: u32 = 0u;
const AX_O: u32 = 1u;
const AX_K: u32 = 2u;
const AX_STRIDE: u32 = 3u;
const AX_LO: u32 = 4u;
const AX_RHS: u32 = 6u;
const AX_LHS: u32 = 7u;

fn conv_tile(g: u32) -> Tile {
  return tile_of(g, vec3<u32>(u32(params.M), u32(params.N), u32(params.K)), vec4<u32>(u32(params.TM), u32(params.TN), u32(params.tilesM), u32(params.tilesN)));
}

fn conv_axes(field: u32) -> vec3<i32> {
  let r = field / 4u;
  let c = field % 4u;
  return vec3<i32>(params.ax[r][c], params.ax[2u + r][c], params.ax[4u + r][c]);
}

fn split_index(m: i32, e: vec3<i32>) -> vec4<i32> {
  let inner = m % (e.x * e.y * e.z);
  return vec4<i32>(m / (e.x * e.y * e.z), inner / (e.z * e.y), (inner / e.z) % e.y, inner % e.z);
}

fn out_origin(m: i32) -> vec4<i32> {
  let n = conv_axes(AX_N);
  let o = split_index(m, conv_axes(AX_O));
  return vec4<i32>(o.x * n.x * n.y * n.z, o.yzw * conv_axes(AX_STRIDE) - conv_axes(AX_LO));
}

fn tap_offsets(t: i32) -> vec3<i32> {
  return split_index(t, conv_axes(AX_K)).yzw * conv_axes(AX_RHS);
}

fn wrap(p: i32, n: i32) -> i32 {
  if (p >= 0) {
    return p % n;
  }
  let r = (-p) % n;
  return select(n - r, 0, r == 0);
}

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

fn src_pixel(b: i32, p: vec3<i32>) -> i32 {
  let i0 = src_axis(p.x, 0u);
  let i1 = src_axis(p.y, 1u);
  let i2 = src_axis(p.z, 2u);
  if (i0 >= 0 && i1 >= 0 && i2 >= 0) {
    let n = conv_axes(AX_N);
    return b + (i0 * n.y + i1) * n.z + i2;
  }
  return -1;
}
