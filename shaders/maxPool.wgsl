// maxPool.wgsl — comparator max pooling (src/ops/pool.ts): in every non-overlapping patch^D window and
// for every channel ch, the whole T-vector x[b, p*, ch·T .. ch·T + T) at the pixel p* where the
// comparator c[b, p, ch] is largest, the FIRST such pixel in row-major window order — exactly ref's
// rule (src/backends/ref/pool.ts), jnp.argmax's: the first NaN of the window wins (NaN counts as the
// largest value, tested on the bits since WGSL lets compilers assume there are no NaNs); without a
// NaN, start with the window's first pixel and move only on a strictly greater value. One pipeline
// for every shape and D (<= 8).
//
// Algorithm: one invocation per (b, pooled pixel, ch): a scan of the patch^D window for the argmax,
// then T copies. Pixel coordinates are decomposed from linear indices over the (<= 8) spatial axes.
// The window geometry and the argmax scan are lib/pool_window.wgsl (shared with maxPoolGrad.wgsl).
//
// Bindings (group 0):
//   0: uniform Params, block `maxPool` of src/backends/kernelParams.ts: n (B · pooled pixels ·
//      channels), D, psize (the patch), nWin (= psize^D), channels, T, spatial: 8 u32 (input
//      extents), pooled: 8 u32 (output extents)
//   1: storage, read        x: array<f32>   [B, ...spatial, channels · T]
//   2: storage, read        c: array<f32>   [B, ...spatial, channels]
//   3: storage, read_write  y: array<f32>   [B, ...pooled, channels · T]
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; invocation = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"
//! include "lib/pool_window.wgsl"
//! params maxPool

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let id = workgroup_index(grid) * WG + lid;
  if (id >= params.n) {
    return;
  }
  let s = pool_site(id);
  let T = params.T;
  let src = site_element(s, window_pixel(s.o, window_argmax(s))) * T;
  let dst = id * T;
  for (var t = 0u; t < T; t++) {
    y[dst + t] = x[src + t];
  }
}
