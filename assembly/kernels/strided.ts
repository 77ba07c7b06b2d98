/**
 * The strided copy, semantics of src/backends/ref/strided.ts, on the plan of src/core/strided.ts
 * (block `strided` of src/backends/kernelParams.ts): axes 0..R-1 are written (each point its own
 * output), axes R..A-1 are summed into one output (dst stride 0: the adjoint of a broadcast).
 *
 *   strided(p, tid, nt)   rows = the points of the written axes but the last; part tid of nt takes a
 *                         range of rows. Per row the offsets come from its index by division, then the
 *                         last written axis runs as a copy loop (memory.copy when both strides are 1)
 *                         or, with summed axes, each output sums its points in row-major order.
 *
 * Outputs no point reaches are zeroed by the caller (src/backends/wasm/strided.ts). Sums are float32
 * in the order ref visits the points.
 */
import { partOf } from './parallel';
import * as P from './params';

// @ts-ignore: decorator
@inline function at(a: usize, d: usize): usize {
  return <usize>load<i32>(a + (d << 2));
}

export function strided(p: usize, tid: i32, nt: i32): void {
  const A = <usize>P.strided_A(p);
  const R = <usize>P.strided_R(p);
  const ext = P.strided_ext(p);
  const ss = P.strided_ss(p);
  const ds = P.strided_ds(p);
  const x = P.strided_x(p);
  const out = P.strided_out(p);
  const inner: usize = R > 0 ? at(ext, R - 1) : 1;
  const sIn: usize = R > 0 ? at(ss, R - 1) : 0;
  const dIn: usize = R > 0 ? at(ds, R - 1) : 0;
  const rows = <usize>P.strided_outer(p) / inner;
  const r0 = partOf(rows, tid, nt);
  const r1 = partOf(rows, tid + 1, nt);
  for (let r = r0; r < r1; r++) {
    let q = r;
    let so = <usize>P.strided_srcOff(p);
    let dO = <usize>P.strided_dstOff(p);
    for (let d = <isize>R - 2; d >= 0; d--) {
      const e = at(ext, d);
      const i = q % e;
      q /= e;
      so += i * at(ss, d);
      dO += i * at(ds, d);
    }
    if (A == R) copyRow(x + (so << 2), out + (dO << 2), inner, sIn << 2, dIn << 2);
    else {
      for (let j: usize = 0; j < inner; j++) store<f32>(out + ((dO + j * dIn) << 2), sumPoints(x + ((so + j * sIn) << 2), ext, ss, R, A));
    }
  }
}

/** n values from src (byte stride sb) to dst (byte stride db). */
function copyRow(src: usize, dst: usize, n: usize, sb: usize, db: usize): void {
  if (sb == 4 && db == 4) {
    memory.copy(dst, src, n << 2);
    return;
  }
  if (sb == 0) {
    const v = load<f32>(src);
    for (let k: usize = 0; k < n; k++, dst += db) store<f32>(dst, v);
    return;
  }
  let k: usize = 0;
  for (; k + 4 <= n; k += 4, dst += db << 2, src += sb << 2) {
    const v0 = load<f32>(src);
    const v1 = load<f32>(src + sb);
    const v2 = load<f32>(src + 2 * sb);
    const v3 = load<f32>(src + 3 * sb);
    store<f32>(dst, v0);
    store<f32>(dst + db, v1);
    store<f32>(dst + 2 * db, v2);
    store<f32>(dst + 3 * db, v3);
  }
  for (; k < n; k++, dst += db, src += sb) store<f32>(dst, load<f32>(src));
}

/** Σ over the summed axes R..A-1 of x (byte address of the point's first element), row-major. */
function sumPoints(x: usize, ext: usize, ss: usize, R: usize, A: usize): f32 {
  const zInner = at(ext, A - 1);
  const zb = at(ss, A - 1) << 2;
  let zRows: usize = 1;
  for (let d = R; d < A - 1; d++) zRows *= at(ext, d);
  let acc: f32 = 0;
  for (let zr: usize = 0; zr < zRows; zr++) {
    let q = zr;
    let off: usize = 0;
    for (let d = <isize>A - 2; d >= <isize>R; d--) {
      const e = at(ext, d);
      off += (q % e) * at(ss, d);
      q /= e;
    }
    let a = x + (off << 2);
    for (let k: usize = 0; k < zInner; k++, a += zb) acc += load<f32>(a);
  }
  return acc;
}
