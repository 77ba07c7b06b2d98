/**
 * Concatenation along one axis, semantics of src/backends/ref/concat.ts. Seen as [outer, axis·inner]
 * rows: output row o is the inputs' rows o side by side. The TypeScript side
 * (src/backends/wasm/concat.ts) writes block `concat` of src/backends/kernelParams.ts (count,
 * outer, rowOut, src[count] byte offsets, row[count] in elements) and skips inputs with empty rows. Each row is one memory.copy (rows of ≥ 256 bytes) or an inline
 * v128 copy loop (shorter rows): bit-exact copies.
 */

import * as P from './params';

export function concat(out: usize, p: usize): void {
  const count = <usize>P.concat_count(p);
  const outer = <usize>P.concat_outer(p);
  const rowOut = <usize>P.concat_rowOut(p) << 2;
  const srcs = P.concat_src(p);
  const rows = P.concat_row(p);
  let offset: usize = 0;
  for (let t: usize = 0; t < count; t++) {
    let src = <usize>load<u32>(srcs + (t << 2));
    const row = <usize>load<i32>(rows + (t << 2)) << 2;
    let dst = out + offset;
    if (row >= 256) {
      for (let o: usize = 0; o < outer; o++, src += row, dst += rowOut) memory.copy(dst, src, row);
    } else {
      // Short rows: an inline loop (memory.copy is a call into the engine, ~5 ns each).
      const vec = row & ~(<usize>15);
      for (let o: usize = 0; o < outer; o++, src += row, dst += rowOut) {
        let b: usize = 0;
        for (; b < vec; b += 16) v128.store(dst + b, v128.load(src + b));
        for (; b < row; b += 4) store<f32>(dst + b, load<f32>(src + b));
      }
    }
    offset += row;
  }
}
