// lib/nan.wgsl — a NaN test that survives fast math.
//
// Provides:
//   fn is_nan(v: f32) -> bool — tested on the bit pattern (integer ops, which no fast-math rewrite
//     touches): WGSL lets compilers assume there are no NaNs, and Mesa does fold float comparisons.

fn is_nan(v: f32) -> bool {
  return (bitcast<u32>(v) & 0x7fffffffu) > 0x7f800000u;
}
