// gather.wgsl — out[b, i] = index[i] < 0 ? 0 : x[b, index[i]] for each of `blocks` consecutive
// blocks of x and out (src/ops/gather.ts): permutations, slices, flips, broadcasts, the group action
// and diagonal extraction all reach the GPU as this one kernel.
//
// Algorithm: one invocation per output element. The index map is uploaded once per Int32Array and
// kept on the GPU (src/backends/webgpu/kernels/indexmaps.ts), so repeated gathers with the same map
// upload nothing.
//
// Bindings (group 0):
//   0: uniform Params, block `gatherGpu` of src/backends/kernelParams.ts: n (output elements, all
//      blocks), nIndex (the map's length = one output block), nIn (one block of x)
//   1: storage, read        x: array<f32>
//   2: storage, read        index: array<i32>  (nIndex entries, each -1 or an index into a block of x)
//   3: storage, read_write  out: array<f32>
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; element = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"

//! params gatherGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> index: array<i32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_index(grid) * WG + lid;
  if (i >= params.n) {
    return;
  }
  let b = i / params.nIndex;
  let j = index[i - b * params.nIndex];
  var v = 0.0;
  if (j >= 0) {
    v = x[b * params.nIn + u32(j)];
  }
  out[i] = v;
}
