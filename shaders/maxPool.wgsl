// maxPool.wgsl — comparator max pooling (src/ops/pool.ts): in every non-overlapping patch^D window and
// for every channel ch, the whole T-vector x[b, p*, ch·T .. ch·T + T) at the pixel p* where the
// comparator c[b, p, ch] is largest, the FIRST such pixel in row-major window order — exactly ref's
// rule (src/backends/ref/pool.ts): start with the window's first pixel, then move only on a strictly
// greater value. So a NaN comparator is taken only as the first pixel and then keeps its place; a
// NaN later in the window never wins (the comparisons test NaN on the bits, since WGSL lets
// compilers assume there are no NaNs). One pipeline for every shape and D (<= 8).
//
// Algorithm: one invocation per (b, pooled pixel, ch): a scan of the patch^D window for the argmax,
// then T copies. Pixel coordinates are decomposed from linear indices over the (<= 8) spatial axes.
//
// Bindings (group 0):
//   0: uniform Params { n: u32 (B · pooled pixels · channels), D, psize (the patch), nWin (= psize^D),
//      channels, T, _, _, spatial: 8 u32 (input extents), pooled: 8 u32 (output extents) }
//   1: storage, read        x: array<f32>   [B, ...spatial, channels · T]
//   2: storage, read        c: array<f32>   [B, ...spatial, channels]
//   3: storage, read_write  y: array<f32>   [B, ...pooled, channels · T]
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; invocation = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

struct Params {
  n: u32,
  D: u32,
  psize: u32,
  nWin: u32,
  channels: u32,
  T: u32,
  _pad0: u32,
  _pad1: u32,
  spatial: array<vec4<u32>, 2>,
  pooled: array<vec4<u32>, 2>,
}

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn at4(v: array<vec4<u32>, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

@compute @workgroup_size(WG)
fn main(
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
  @builtin(local_invocation_index) lid: u32,
) {
  let id = (wid.y * nwg.x + wid.x) * WG + lid;
  if (id >= params.n) {
    return;
  }
  let C = params.channels;
  let ch = id % C;
  let bo = id / C; // b · pooled pixels + o
  var npix = 1u;
  var nout = 1u;
  for (var d = 0u; d < params.D; d++) {
    npix *= at4(params.spatial, d);
    nout *= at4(params.pooled, d);
  }
  let b = bo / nout;
  let o = bo % nout;
  var best = 0.0;
  var arg = 0u;
  for (var wi = 0u; wi < params.nWin; wi++) {
    // pixel = Σ_d (o_d · patch + w_d) · (row-major input strides)
    var ro = o;
    var rw = wi;
    var ip = 0u;
    var scale = 1u;
    for (var d = params.D; d > 0u; d--) {
      let k = d - 1u;
      let od = ro % at4(params.pooled, k);
      ro = ro / at4(params.pooled, k);
      let wd = rw % params.psize;
      rw = rw / params.psize;
      ip += (od * params.psize + wd) * scale;
      scale *= at4(params.spatial, k);
    }
    let v = c[(b * npix + ip) * C + ch];
    if (wi == 0u || (!is_nan(v) && !is_nan(best) && v > best)) {
      best = v;
      arg = ip;
    }
  }
  let T = params.T;
  let src = ((b * npix + arg) * C + ch) * T;
  let dst = id * T;
  for (var t = 0u; t < T; t++) {
    y[dst + t] = x[src + t];
  }
}
