/**
 * Concatenation along one axis, semantics of src/backends/ref/concat.ts. Seen as [outer, axis·inner]
 * rows: output row o is the inputs' rows o side by side. The TypeScript side
 * (src/backends/wasm/concat.ts) writes
 *
 *   p = [count, outer, rowOut, (ptr, row) × count]      (rows in elements, ptr a byte offset)
 *
 * and skips inputs with empty rows. Each row is one memory.copy (rows of ≥ 256 bytes) or an inline
 * v128 copy loop (shorter rows): bit-exact copies.
 */

export function concat(out: usize, p: usize): void {
  const count = <usize>load<i32>(p);
  const outer = <usize>load<i32>(p, 4);
  const rowOut = <usize>load<i32>(p, 8) << 2;
  let offset: usize = 0;
  for (let t: usize = 0; t < count; t++) {
    const q = p + 12 + (t << 3);
    let src = <usize>load<i32>(q);
    const row = <usize>load<i32>(q, 4) << 2;
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
