// scatterAdd.wgsl — out = zeros; out[b, index[i]] += x[b, i] for each of `blocks` consecutive blocks
// of x and out (src/ops/gather.ts), deterministically and without atomics (WGSL has no atomic f32 add).
//
// Algorithm: a gather-sum over the inverse map. The host inverts the index map once per Int32Array
// (and output block size) into CSR form — for each output j of a block the sources i with
// index[i] = j, in increasing i (ref's order) — uploads it once and caches it
// (src/backends/webgpu/kernels/indexmaps.ts). One invocation per output element sums its sources of
// its block in order, in f32; outputs without sources get 0.
//
// Bindings (group 0):
//   0: uniform Params, block `scatterAddGpu` of src/backends/kernelParams.ts: n (output elements, all
//      blocks), nBlock (one output block), nIn (one block of x = the map's length)
//   1: storage, read        x: array<f32>
//   2: storage, read        csr: array<u32>  (offsets[0..nBlock] then sources: output j of block b
//                           sums x[b · nIn + csr[nBlock + 1 + p]] for p in [csr[j], csr[j + 1]))
//   3: storage, read_write  out: array<f32>
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; element = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"

//! params scatterAddGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read> csr: array<u32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_index(grid) * WG + lid;
  if (i >= params.n) {
    return;
  }
  let b = i / params.nBlock;
  let j = i - b * params.nBlock;
  let src = params.nBlock + 1u;
  let base = b * params.nIn;
  var acc = 0.0;
  for (var p = csr[j]; p < csr[j + 1u]; p++) {
    acc += x[base + csr[src + p]];
  }
  out[i] = acc;
}
