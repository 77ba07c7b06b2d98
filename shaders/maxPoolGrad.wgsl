// maxPoolGrad.wgsl — the adjoint of maxPool (src/ops/pool.ts): dx[b, p, ch·T + t] = dy[b, o, ch·T + t]
// where p is the argmax pixel of window o for channel ch (the FIRST maximum of the comparator in
// row-major window order, NaN as in maxPool.wgsl), and 0 at every other pixel of the window. One
// pipeline for every shape and D (<= 8).
//
// Algorithm: one invocation per (b, pooled pixel, ch): the argmax scan of maxPool.wgsl, then a second
// pass over the window writing all T components of every window pixel (dy at the argmax, 0
// elsewhere). Windows do not overlap, so every dx element is written exactly once, by one
// invocation: deterministic, no atomics, no separate zero fill.
//
// Bindings (group 0):
//   0: uniform Params { n: u32 (B · pooled pixels · channels), D, psize (the patch), nWin (= psize^D),
//      channels, T, _, _, spatial: 8 u32 (input extents), pooled: 8 u32 (dy extents) }
//   1: storage, read        dy: array<f32>  [B, ...pooled, channels · T]
//   2: storage, read        c: array<f32>   [B, ...spatial, channels]
//   3: storage, read_write  dx: array<f32>  [B, ...spatial, channels · T]
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
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}

fn at4(v: array<vec4<u32>, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

// Input pixel (row-major over the spatial axes) of window element wi of pooled pixel o.
fn pixel(o: u32, wi: u32) -> u32 {
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
  return ip;
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
  let bo = id / C;
  var npix = 1u;
  var nout = 1u;
  for (var d = 0u; d < params.D; d++) {
    npix *= at4(params.spatial, d);
    nout *= at4(params.pooled, d);
  }
  let b = bo / nout;
  let o = bo % nout;
  var best = 0.0;
  var argw = 0u;
  for (var wi = 0u; wi < params.nWin; wi++) {
    let v = c[(b * npix + pixel(o, wi)) * C + ch];
    if (wi == 0u || (!is_nan(v) && !is_nan(best) && v > best)) {
      best = v;
      argw = wi;
    }
  }
  let T = params.T;
  let src = id * T;
  for (var wi = 0u; wi < params.nWin; wi++) {
    let dst = ((b * npix + pixel(o, wi)) * C + ch) * T;
    let hit = wi == argw;
    for (var t = 0u; t < T; t++) {
      dx[dst + t] = select(0.0, dy[src + t], hit);
    }
  }
}
