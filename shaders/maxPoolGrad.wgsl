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
//   0: uniform Params, block `maxPool` of src/backends/kernelParams.ts: n (B · pooled pixels ·
//      channels), D, psize (the patch), nWin (= psize^D), channels, T, spatial: 8 u32 (input
//      extents), pooled: 8 u32 (dy extents)
//   1: storage, read        dy: array<f32>  [B, ...pooled, channels · T]
//   2: storage, read        c: array<f32>   [B, ...spatial, channels]
//   3: storage, read_write  dx: array<f32>  [B, ...spatial, channels · T]
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; invocation = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"
//! include "lib/pool_window.wgsl"
//! params maxPool

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> dy: array<f32>;
@group(0) @binding(2) var<storage, read> c: array<f32>;
@group(0) @binding(3) var<storage, read_write> dx: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let id = workgroup_index(grid) * WG + lid;
  if (id >= params.n) {
    return;
  }
  let s = pool_site(id);
  let argw = window_argmax(s);
  let T = params.T;
  let src = id * T;
  for (var wi = 0u; wi < params.nWin; wi++) {
    let dst = site_element(s, window_pixel(s.o, wi)) * T;
    let hit = wi == argw;
    for (var t = 0u; t < T; t++) {
      dx[dst + t] = select(0.0, dy[src + t], hit);
    }
  }
}
