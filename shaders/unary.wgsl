// unary.wgsl — y[i] = f(x[i]) for every UnaryOp (src/ops/op.ts), one pipeline for all ops and shapes.
//
// Algorithm: one invocation per element; the op is a uniform op code, so the switch is uniform
// control flow. Semantics follow src/backends/ref/unary.ts (the spec), computed in f32:
//   - sign/relu/step are computed on the bits with integer ops (WGSL lets compilers assume no NaN,
//     and Mesa rewrites the float selects: `x > 0 ? x : 0` into fmax, sign(±0) into -0), so that
//     they give exactly what ref gives, as JAX: sign(NaN) = relu(NaN) = NaN (the input itself, so
//     that a diverging model shows its NaNs), step(NaN) = 0 (relu's gradient mask,
//     where(x > 0, g, 0)), sign(±0) = relu(-0) = +0;
//   - sigmoid is evaluated in the overflow-free form (e^x/(1+e^x) for x < 0), and
//     gelu(x) = 0.5·x·(1 + tanh(u)) is evaluated as x·sigmoid(2u) (the same function), which keeps
//     full relative accuracy in the left tail where 1 + tanh(u) cancels (ref's float64 formula
//     itself is off there by ~|x|·1e-16 absolute; geluGrad likewise, and geluGrad(±inf) gives the
//     limits 1/0 where ref's formula gives NaN);
//   - log on [0.5, 2] is 2·atanh((x-1)/(x+1)) by its odd series (~2 ulp): WGSL only promises an
//     absolute error of 2^-21 there, which is all of the relative accuracy near x = 1 (llvmpipe's
//     builtin is off by ~3500 ulp at x = 1 - 4e-5); elsewhere the builtin (3 ulp);
//   - tanh is not the builtin (WGSL lets it be as loose as sinh/cosh, which loses all relative
//     accuracy near 0 on some drivers): a degree-11 odd Taylor polynomial for |x| < 0.3, else
//     (1 - e)/(1 + e) with e = exp(-2|x|) (at most ~2 ulp over an exact exp; never overflows).
//   WGSL lets implementations assume no NaN/Inf, so special values are only as IEEE as the driver.
//
// Bindings (group 0):
//   0: uniform Params, block `unaryGpu` of src/backends/kernelParams.ts: op (UNARY op code below),
//      n (elements)
//   1: storage, read        x: array<f32>   (at least n elements)
//   2: storage, read_write  y: array<f32>   (at least n elements)
//
// Dispatch: workgroups of WG invocations (pipeline-overridable constant), ceil(n / WG) workgroups
// laid out in 2D (x up to maxComputeWorkgroupsPerDimension, then y rows); element index =
// (workgroup_id.y * num_workgroups.x + workgroup_id.x) * WG + local_invocation_index.
//
// The op codes must equal UNARY_CODES in src/backends/webgpu/kernels/elementwise.ts (checked when
// the backend starts).

//! include "lib/grid.wgsl"
//! include "lib/nan.wgsl"

const OP_NEG: u32 = 0u;
const OP_ABS: u32 = 1u;
const OP_SIGN: u32 = 2u;
const OP_SQUARE: u32 = 3u;
const OP_SQRT: u32 = 4u;
const OP_RECIP: u32 = 5u;
const OP_EXP: u32 = 6u;
const OP_LOG: u32 = 7u;
const OP_RELU: u32 = 8u;
const OP_STEP: u32 = 9u;
const OP_TANH: u32 = 10u;
const OP_SIGMOID: u32 = 11u;
const OP_GELU: u32 = 12u;
const OP_GELU_GRAD: u32 = 13u;

//! params unaryGpu

@group(0) @binding(0) var<uniform> params: Params;
@group(0) @binding(1) var<storage, read> x: array<f32>;
@group(0) @binding(2) var<storage, read_write> y: array<f32>;

override WG: u32 = 256u;

const GELU_C: f32 = 0.7978845608028654; // sqrt(2 / pi)
const GELU_A: f32 = 0.044715;

fn sigmoid_(v: f32) -> f32 {
  if (v < 0.0) {
    let e = exp(v);
    return e / (1.0 + e);
  }
  return 1.0 / (1.0 + exp(-v));
}

fn tanh_(v: f32) -> f32 {
  let a = abs(v);
  if (a < 0.3) {
    // Taylor: x - x^3/3 + 2x^5/15 - 17x^7/315 + 62x^9/2835 - 1382x^11/155925 (error < 1 ulp here)
    let x2 = v * v;
    var p = -0.008863235529902197; // -1382/155925
    p = p * x2 + 0.021869488536155203; // 62/2835
    p = p * x2 - 0.05396825396825397; // -17/315
    p = p * x2 + 0.13333333333333333; // 2/15
    p = p * x2 - 0.3333333333333333; // -1/3
    return v + v * x2 * p;
  }
  let e = exp(-2.0 * a);
  let r = (1.0 - e) / (1.0 + e);
  return select(r, -r, v < 0.0);
}

fn log_(v: f32) -> f32 {
  if (v >= 0.5 && v <= 2.0) {
    // x - 1 is exact here (Sterbenz); |s| <= 1/3, so the terms up to s^15/15 reach f32 precision.
    let s = (v - 1.0) / (v + 1.0);
    let s2 = s * s;
    var p = 1.0 / 15.0;
    p = p * s2 + 1.0 / 13.0;
    p = p * s2 + 1.0 / 11.0;
    p = p * s2 + 1.0 / 9.0;
    p = p * s2 + 1.0 / 7.0;
    p = p * s2 + 1.0 / 5.0;
    p = p * s2 + 1.0 / 3.0;
    return 2.0 * (s + s * s2 * p);
  }
  return log(v);
}

// u(x) = sqrt(2/pi) (x + 0.044715 x^3), clamped so that x^3 cannot overflow into inf/NaN:
// sigmoid(±100) is already 1 or 0 in f32 (and in f64).
fn gelu_u(v: f32) -> f32 {
  let vc = clamp(v, -100.0, 100.0);
  return GELU_C * (vc + GELU_A * vc * vc * vc);
}

fn gelu_(v: f32) -> f32 {
  return v * sigmoid_(2.0 * gelu_u(v));
}

// d/dx gelu = s + 2 x s (1 - s) u'(x), s = sigmoid(2u), 1 - s computed as sigmoid(-2u) (no
// cancellation). For |x| > 20 the f64 reference is exactly the step (the second term underflows).
fn gelu_grad_(v: f32) -> f32 {
  if (abs(v) > 20.0) {
    return select(0.0, 1.0, v > 0.0);
  }
  let u = gelu_u(v);
  let s = sigmoid_(2.0 * u);
  let sm = sigmoid_(-2.0 * u);
  let du = GELU_C * (1.0 + 3.0 * GELU_A * v * v);
  return s + 2.0 * v * s * sm * du;
}

// sign, relu and step decide on the bit pattern b, with integer ops only: float selects get
// rewritten (Mesa turns `x > 0 ? x : 0` into fmax, and on llvmpipe the nested-select sign returned
// -0 at ±0, even through integer selects of constants compared in float); these keep a NaN's own
// bits, give +0 at ±0, and treat subnormals as ref does even where the float unit flushes them.
//   positive (subnormal ... +inf): 1 <= b <= 0x7f800000; NaN: is_nan(v).
fn is_pos_bits(b: u32) -> bool {
  return b - 1u < 0x7f800000u;
}

fn sign_(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  let one = (b & 0x80000000u) | 0x3f800000u; // ±1.0 with v's sign
  return bitcast<f32>(select(select(0u, one, (b & 0x7fffffffu) != 0u), b, is_nan(v)));
}

fn relu_(v: f32) -> f32 {
  let b = bitcast<u32>(v);
  return bitcast<f32>(select(0u, b, is_pos_bits(b) || is_nan(v)));
}

fn step_(v: f32) -> f32 {
  return bitcast<f32>(select(0u, 0x3f800000u, is_pos_bits(bitcast<u32>(v))));
}

fn apply(op: u32, v: f32) -> f32 {
  switch op {
    case OP_NEG: { return -v; }
    case OP_ABS: { return abs(v); }
    case OP_SIGN: { return sign_(v); }
    case OP_SQUARE: { return v * v; }
    case OP_SQRT: { return sqrt(v); }
    case OP_RECIP: { return 1.0 / v; }
    case OP_EXP: { return exp(v); }
    case OP_LOG: { return log_(v); }
    case OP_RELU: { return relu_(v); }
    case OP_STEP: { return step_(v); }
    case OP_TANH: { return tanh_(v); }
    case OP_SIGMOID: { return sigmoid_(v); }
    case OP_GELU: { return gelu_(v); }
    case OP_GELU_GRAD: { return gelu_grad_(v); }
    default: { return v; }
  }
}

@compute @workgroup_size(WG)
fn main(grid: Grid, @builtin(local_invocation_index) lid: u32) {
  let i = workgroup_index(grid) * WG + lid;
  if (i >= params.n) {
    return;
  }
  y[i] = apply(params.op, x[i]);
}
