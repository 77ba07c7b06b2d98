// argmaxPool.wgsl — argmax pooling and its adjoint (src/ops/pool.ts), one pipeline for both, for
// every shape and D (<= 8). In every non-overlapping patch^D window and for every channel ch, the
// window's argmax pixel p* is the FIRST pixel in row-major window order where the comparator
// c[b, p, ch] is largest — exactly ref's rule (src/backends/ref/pool.ts), jnp.argmax's: the first NaN
// of the window wins (NaN counts as the largest value, tested on the bits since WGSL lets compilers
// assume there are no NaNs); without a NaN, start with the window's first pixel and move only on a
// strictly greater value. Then, by params.adjoint (uniform, so every invocation takes one branch):
//   0 (argmaxPool):     dst[b, o, ch·T + t] = src[b, p*, ch·T + t]                  (src = x, dst = y)
//   1 (argmaxPoolGrad): dst[b, p, ch·T + t] = src[b, o, ch·T + t] if p = p*, else 0 (src = dy, dst = dx)
//
// Algorithm: one invocation per (b, pooled pixel o, ch): a scan of the window for the argmax, then T
// copies (forward), or a second pass over the window writing all T components of every window pixel
// (adjoint). Windows do not overlap, so every dx element is written exactly once, by one invocation:
// deterministic, no atomics, no separate zero fill. Pixel coordinates are decomposed from linear
// indices over the spatial axes.
//
// Bindings (group 0):
//   0: uniform Params, block `argmaxPool` of src/backends/kernelParams.ts: adjoint, B, C (channels),
//      T, D, psize (the patch), nWin (= psize^D), spatial: 8 u32 (input extents), pooled: 8 u32 (output extents)
//   1: storage, read        src: array<f32>  x [B, ...spatial, C · T] or dy [B, ...pooled, C · T]
//   2: storage, read        c: array<f32>    [B, ...spatial, C]
//   3: storage, read_write  dst: array<f32>  y [B, ...pooled, C · T] or dx [B, ...spatial, C · T]
//
// Dispatch: ceil(B · pooled pixels · C / WG) workgroups of WG in a 2D grid; invocation =
// (workgroup_id.y · num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"
//! include "lib/nan.wgsl"
//! include "lib/packed.wgsl"
//! params argmaxPool

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> src: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> dst: array<f32>;

override WG: u32 = 256u;

// the input pixel (row-major over the spatial axes) of window element wi of pooled pixel o:
// Σ_d (o_d · psize + w_d) · (row-major input strides)
fn window_pixel(o: u32, wi: u32) -> u32 {
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
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let id = workgroup_index(grid) * WG + lid;
  let C = params.C;
  var npix = 1u; // input pixels per batch
  var nout = 1u;
  for (var d = 0u; d < params.D; d++) {
    npix *= at4(params.spatial, d);
    nout *= at4(params.pooled, d);
  }
  if (id >= params.B * nout * C) {
    return;
  }
  let bo = id / C; // b · pooled pixels + o
  let b = bo / nout;
  let o = bo % nout;
  let ch = id % C;
  // the window element of the first maximum; once best is NaN nothing replaces it, a NaN v
  // replaces any number, numbers compare as usual
  var best = 0.0;
  var argw = 0u;
  for (var wi = 0u; wi < params.nWin; wi++) {
    let v = c[(b * npix + window_pixel(o, wi)) * C + ch];
    if (wi == 0u || (!is_nan(best) && (is_nan(v) || v > best))) {
      best = v;
      argw = wi;
    }
  }
  let T = params.T;
  if (params.adjoint == 0u) {
    let first = ((b * npix + window_pixel(o, argw)) * C + ch) * T;
    for (var t = 0u; t < T; t++) {
      dst[id * T + t] = src[first + t];
    }
    return;
  }
  for (var wi = 0u; wi < params.nWin; wi++) {
    let pix = ((b * npix + window_pixel(o, wi)) * C + ch) * T;
    let hit = wi == argw;
    for (var t = 0u; t < T; t++) {
      dst[pix + t] = select(0.0, src[id * T + t], hit);
    }
  }
}
