// binary.wgsl — out[i] = f(a[ia(i)], b[ib(i)]) for every BinaryOp (src/ops/op.ts) with NumPy
// broadcasting, one pipeline for all ops and shapes.
//
// Algorithm: one invocation per output element. The host collapses the broadcast geometry first
// (drops size-1 axes, merges neighbouring axes that are contiguous in out, a and b alike), so the
// usual cases reach the shader as rank 1 (same shape: strides 1/1; scalar operand: stride 0).
// The invocation decomposes its linear index i over the collapsed output shape (last axis fastest)
// and sums coordinate × stride for a and b, where a broadcast axis has stride 0.
// Semantics follow src/backends/ref/binary.ts, computed in f32. max/min/ge/eq follow ref's
// comparisons (max(a, b) = a >= b ? a : b, so a NaN in either operand gives b; ge/eq with a NaN give
// 0) with NaN tested explicitly on the bits: WGSL lets compilers assume there are no NaNs, and
// Mesa does rewrite `a >= b ? a : b` into fmax, which drops the NaN.
//
// Bindings (group 0):
//   0: uniform Params, block `binaryGpu` of src/backends/kernelParams.ts: op (BINARY op code below),
//      n (output elements), rank (collapsed, <= 16), shape/sa/sb: 16 u32 each, packed 4 per vec4
//      (uniform arrays need a 16-byte stride): the collapsed output shape and the element strides of
//      a and b in it
//   1: storage, read        a: array<f32>
//   2: storage, read        b: array<f32>
//   3: storage, read_write  out: array<f32>  (at least n elements)
//
// Dispatch: as unary.wgsl — ceil(n / WG) workgroups of WG invocations in a 2D grid; element index
// = (workgroup_id.y * num_workgroups.x + workgroup_id.x) * WG + local_invocation_index.
//
// The op codes must equal BINARY_CODES in src/backends/webgpu/kernels/elementwise.ts (checked when
// the backend starts).

//! include "lib/grid.wgsl"
//! include "lib/nan.wgsl"

const OP_ADD: u32 = 0u;
const OP_SUB: u32 = 1u;
const OP_MUL: u32 = 2u;
const OP_DIV: u32 = 3u;
const OP_MAX: u32 = 4u;
const OP_MIN: u32 = 5u;
const OP_GE: u32 = 6u;
const OP_EQ: u32 = 7u;

const MAX_RANK: u32 = 16u;

//! params binaryGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> a: array<f32>;
@group(0) @binding(2) var<storage, read> b: array<f32>;
@group(0) @binding(3) var<storage, read_write> out: array<f32>;

override WG: u32 = 256u;

fn apply(op: u32, u: f32, v: f32) -> f32 {
  let nan = is_nan(u) || is_nan(v);
  switch op {
    case OP_ADD: { return u + v; }
    case OP_SUB: { return u - v; }
    case OP_MUL: { return u * v; }
    case OP_DIV: { return u / v; }
    case OP_MAX: { return select(v, u, u >= v && !nan); }
    case OP_MIN: { return select(v, u, u <= v && !nan); }
    case OP_GE: { return select(0.0, 1.0, u >= v && !nan); }
    case OP_EQ: { return select(0.0, 1.0, u == v && !nan); }
    default: { return 0.0; }
  }
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_index(grid) * WG + lid;
  if (i >= params.n) {
    return;
  }
  var rem = i;
  var ia = 0u;
  var ib = 0u;
  for (var d = min(params.rank, MAX_RANK); d > 0u; d--) {
    let k = d - 1u;
    let dim = params.shape[k / 4u][k % 4u];
    let c = rem % dim;
    rem = rem / dim;
    ia += c * params.sa[k / 4u][k % 4u];
    ib += c * params.sb[k / 4u][k % 4u];
  }
  out[i] = apply(params.op, a[ia], b[ib]);
}
