// lib/packed.wgsl — u32 lists in uniform Params, packed 4 per vec4 (uniform arrays need a 16-byte
// stride): up to 8 extents or strides as array<vec4<u32>, 2>.
//
// Provides:
//   fn at4(v, k) -> u32 — entry k of a packed list.
//   fn strided_offset(index, rank, shape, stride) -> u32 — Σ_d coord_d · stride_d, where coord is
//     `index` decomposed row-major over shape[0 .. rank) (last axis fastest): the element offset of a
//     linear index in a strided view.

fn at4(v: array<vec4<u32>, 2>, k: u32) -> u32 {
  return v[k / 4u][k % 4u];
}

fn strided_offset(index: u32, rank: u32, shape: array<vec4<u32>, 2>, stride: array<vec4<u32>, 2>) -> u32 {
  var rem = index;
  var off = 0u;
  for (var d = rank; d > 0u; d--) {
    let k = d - 1u;
    let n = at4(shape, k);
    off += (rem % n) * at4(stride, k);
    rem = rem / n;
  }
  return off;
}
