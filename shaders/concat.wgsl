// concat.wgsl — copies one input of a concatenation into its slab of the output (src/ops/concat.ts).
//
// Algorithm: the output is viewed as [outer, rowOut] with rowOut = Σ_t extent_t · inner, input t as
// [outer, row] with row = extent_t · inner; input t occupies columns [offset, offset + row) of every
// output row. The host issues one dispatch per non-empty input (in the same batch, so a concat of
// T tensors costs T dispatches and no submits); one invocation per input element:
// out[o · rowOut + offset + c] = x[o · row + c].
//
// Bindings (group 0):
//   0: uniform Params, block `concatGpu` of src/backends/kernelParams.ts: n (input elements =
//      outer · row), row, rowOut, offset
//   1: storage, read        x: array<f32>
//   2: storage, read_write  out: array<f32>
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; element = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"

//! params concatGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_index(grid) * WG + lid;
  if (i >= params.n) {
    return;
  }
  let o = i / params.row;
  let c = i % params.row;
  out[o * params.rowOut + params.offset + c] = x[i];
}
