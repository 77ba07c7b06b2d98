/**
 * Comparator max pooling and its adjoint, semantics of src/backends/ref/pool.ts: in each
 * non-overlapping patch^D window and each channel, the pixel with the largest comparator value —
 * the FIRST such pixel in row-major window order — passes its whole T-vector. NaN counts as the
 * largest value (jnp.argmax), so the first NaN of a window wins; otherwise later pixels win only when
 * strictly greater, so ties keep the earlier one, exactly as ref.
 *
 *   maxPool(x, c, y, p)        y[b, o, ch·T + t]  = x[b, argmax, ch·T + t]
 *   maxPoolGrad(dy, c, dx, p)  dx = 0; dx[b, argmax, ch·T + t] += dy[b, o, ch·T + t]
 *
 * p = block `pool` (src/backends/kernelParams.ts): B, S, C, T, nWin, D, pooled[D], step[D], counters[D], winOff[nWin]:
 * S input pixels per image, C channels, T values per channel, step[d] = patch·(input pixel stride of
 * spatial axis d), winOff = the window's pixel offsets in row-major window order (winOff[0] = 0).
 * The argmax runs on 4 channels at a time: per lane, a pixel is taken when it is greater (f32x4.gt)
 * or when it is the first NaN (v ≠ v while best = best), then bitselect keeps it.
 */
import * as P from './params';

class Fwd {}
class Bwd {}

/** Routes the T-vector of channel ch between input pixel `pix` and output pixel `opix`. */
// @ts-ignore: decorator
@inline function route<Dir>(src: usize, dst: usize, pix: usize, opix: usize, ch: usize, CT: usize, T: usize): void {
  const i = (pix * CT + ch * T) << 2;
  const o = (opix * CT + ch * T) << 2;
  for (let t: usize = 0; t < T << 2; t += 4) {
    if (idof<Dir>() == idof<Fwd>()) store<f32>(dst + o + t, load<f32>(src + i + t)); // y[o] = x[argmax]
    else store<f32>(dst + i + t, load<f32>(dst + i + t) + load<f32>(src + o + t)); // dx[argmax] += dy[o]
  }
}

// @ts-ignore: decorator
@inline function pool<Dir>(src: usize, c: usize, dst: usize, p: usize): void {
  const B = <usize>P.pool_B(p);
  const S = <usize>P.pool_S(p);
  const C = <usize>P.pool_C(p);
  const T = <usize>P.pool_T(p);
  const nWin = <usize>P.pool_nWin(p);
  const D = <usize>P.pool_D(p);
  const pooled = P.pool_pooled(p);
  const step = P.pool_step(p);
  const ctr = P.pool_counters(p);
  const win = P.pool_winOff(p);
  const CT = C * T;
  let nOut: usize = 1;
  for (let d: usize = 0; d < D; d++) nOut *= <usize>load<i32>(pooled + (d << 2));
  if (idof<Dir>() == idof<Bwd>()) memory.fill(dst, 0, (B * S * CT) << 2);
  const cRow = C << 2;
  for (let b: usize = 0; b < B; b++) {
    for (let d: usize = 0; d < D; d++) store<i32>(ctr + (d << 2), 0);
    let base: usize = 0; // first pixel of the window (within image b)
    for (let o: usize = 0; o < nOut; o++) {
      const img = b * S + base;
      const opix = b * nOut + o;
      const cw = c + img * cRow;
      let ch: usize = 0;
      for (; ch + 4 <= C; ch += 4) {
        const cc = cw + (ch << 2);
        let best = v128.load(cc);
        let arg = i32x4.splat(0);
        for (let w: usize = 1; w < nWin; w++) {
          const off = load<i32>(win + (w << 2));
          const v = v128.load(cc + <usize>off * cRow);
          const take = v128.or(f32x4.gt(v, best), v128.andnot(f32x4.ne(v, v), f32x4.ne(best, best)));
          best = v128.bitselect(v, best, take);
          arg = v128.bitselect(i32x4.splat(off), arg, take);
        }
        route<Dir>(src, dst, img + <usize>i32x4.extract_lane(arg, 0), opix, ch, CT, T);
        route<Dir>(src, dst, img + <usize>i32x4.extract_lane(arg, 1), opix, ch + 1, CT, T);
        route<Dir>(src, dst, img + <usize>i32x4.extract_lane(arg, 2), opix, ch + 2, CT, T);
        route<Dir>(src, dst, img + <usize>i32x4.extract_lane(arg, 3), opix, ch + 3, CT, T);
      }
      for (; ch < C; ch++) {
        const cc = cw + (ch << 2);
        let best = load<f32>(cc);
        let arg: i32 = 0;
        for (let w: usize = 1; w < nWin; w++) {
          const off = load<i32>(win + (w << 2));
          const v = load<f32>(cc + <usize>off * cRow);
          const take = (v > best) | ((v != v) & (best == best));
          best = select<f32>(v, best, take);
          arg = select<i32>(off, arg, take);
        }
        route<Dir>(src, dst, img + <usize>arg, opix, ch, CT, T);
      }
      // odometer over the pooled axes
      for (let d = <isize>D - 1; d >= 0; d--) {
        const q = <usize>d << 2;
        const cnt = load<i32>(ctr + q) + 1;
        const st = <usize>load<i32>(step + q);
        if (cnt < load<i32>(pooled + q)) {
          store<i32>(ctr + q, cnt);
          base += st;
          break;
        }
        store<i32>(ctr + q, 0);
        base -= st * <usize>(cnt - 1);
      }
    }
  }
}

export function maxPool(x: usize, c: usize, y: usize, p: usize): void {
  pool<Fwd>(x, c, y, p);
}

export function maxPoolGrad(dy: usize, c: usize, dx: usize, p: usize): void {
  pool<Bwd>(dy, c, dx, p);
}
