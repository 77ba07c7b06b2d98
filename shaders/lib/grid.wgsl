// lib/grid.wgsl — the 2D grid of workgroups every shader is dispatched on (commands.ts `grid`: up
// to maxComputeWorkgroupsPerDimension workgroups along x, then rows along y), and its linear index.
//
// Provides:
//   struct Grid — the entry point's uniform builtins workgroup_id and num_workgroups, taken as
//     `fn main(grid: Grid, @builtin(local_invocation_index) lid: u32)`. local_invocation_index
//     stays a separate parameter: it is not uniform, and a struct holding it would make everything
//     derived from the workgroup index non-uniform (no barrier could follow).
//   fn workgroup_index(grid) -> u32 — workgroup_id.y · num_workgroups.x + workgroup_id.x. The
//     elementwise shaders take element = workgroup_index(grid) · WG + lid.

struct Grid {
  @builtin(workgroup_id) wid: vec3<u32>,
  @builtin(num_workgroups) nwg: vec3<u32>,
}

fn workgroup_index(grid: Grid) -> u32 {
  return grid.wid.y * grid.nwg.x + grid.wid.x;
}
