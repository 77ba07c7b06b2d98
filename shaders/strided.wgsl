// strided.wgsl — the strided copy (src/ops/strided.ts): out = zeros; out[dst(i)] += x[src(i)] over
// the points i of the extents, for views dst, src given by offsets and strides. Permutations,
// slices, broadcasts, nearest-neighbour repeats and their adjoints (which sum) are all this kernel;
// nothing but the uniform Params describes the move (no index map is built or uploaded).
//
// Algorithm: one invocation per output element o, in gather form. The written axes come sorted by
// decreasing dst stride and are non-overlapping (checked by the op), so o - dstOff splits into at
// most one point by successive division; an output it does not split into (outside a sub-box, or a
// remainder left) is 0. With summed axes (dst stride 0) the output adds their zCount points in
// row-major order.
//
// Bindings (group 0):
//   0: uniform Params, block `stridedGpu` of src/backends/kernelParams.ts: n (output elements),
//      rank (written axes), axes (written + summed, <= 16), zCount, srcOff, dstOff, ext, ss, ds
//   1: storage, read        x: array<f32>
//   2: storage, read_write  out: array<f32>
//
// Dispatch: ceil(n / WG) workgroups of WG in a 2D grid; element = (workgroup_id.y ·
// num_workgroups.x + workgroup_id.x) · WG + local_invocation_index.

//! include "lib/grid.wgsl"

//! params stridedGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

const MAX_AXES: u32 = 16u;

fn ext(d: u32) -> u32 { return params.ext[d / 4u][d % 4u]; }
fn ss(d: u32) -> u32 { return params.ss[d / 4u][d % 4u]; }
fn ds(d: u32) -> u32 { return params.ds[d / 4u][d % 4u]; }

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let o = workgroup_index(grid) * WG + lid;
  if (o >= params.n) {
    return;
  }
  var v = 0.0;
  if (o >= params.dstOff) {
    var rem = o - params.dstOff;
    var so = params.srcOff;
    var hit = true;
    let rank = min(params.rank, MAX_AXES);
    for (var d = 0u; d < rank; d++) {
      let i = rem / ds(d);
      if (i >= ext(d)) {
        hit = false;
        break;
      }
      rem -= i * ds(d);
      so += i * ss(d);
    }
    if (hit && rem == 0u) {
      let axes = min(params.axes, MAX_AXES);
      if (axes == rank) {
        v = x[so];
      } else {
        for (var z = 0u; z < params.zCount; z++) {
          var q = z;
          var off = 0u;
          for (var d = axes; d > rank; d--) {
            let e = ext(d - 1u);
            off += (q % e) * ss(d - 1u);
            q = q / e;
          }
          v += x[so + off];
        }
      }
    }
  }
  out[o] = v;
}
