/**
 * Argmax pooling and its adjoint, semantics of src/backends/ref/pool.ts: in each non-overlapping
 * patch^D window and each channel, the pixel with the largest comparator value — the FIRST such
 * pixel in row-major window order — passes its whole T-vector. NaN counts as the largest value
 * (jnp.argmax), so the first NaN of a window wins; otherwise later pixels win only when strictly
 * greater, so ties keep the earlier one, exactly as ref.
 *
 *   adjoint 0 (argmaxPool):      y[b, o, ch·T + t]  = x[b, argmax, ch·T + t]
 *   adjoint 1 (argmaxPoolGrad):  dx = 0; dx[b, argmax, ch·T + t] += dy[b, o, ch·T + t]
 *
 * p = block `argmaxPool` (src/backends/kernelParams.ts): B, C channels of T values, D axes, psize
 * (the patch), nWin = psize^D, spatial and pooled extents, winOff = the window's pixel offsets in row-major
 * window order (winOff[0] = 0). The argmax runs on 4 channels at a time: per lane, a pixel is taken
 * when it is greater (f32x4.gt) or when it is the first NaN (v ≠ v while best = best), then
 * bitselect keeps it.
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
  const B = <usize>P.argmaxPool_B(p);
  const C = <usize>P.argmaxPool_C(p);
  const T = <usize>P.argmaxPool_T(p);
  const D = <usize>P.argmaxPool_D(p);
  const patch = <usize>P.argmaxPool_psize(p);
  const nWin = <usize>P.argmaxPool_nWin(p);
  const spatial = P.argmaxPool_spatial(p);
  const pooled = P.argmaxPool_pooled(p);
  const win = P.argmaxPool_winOff(p);
  const CT = C * T;
  let S: usize = 1; // input pixels per image
  let nOut: usize = 1;
  for (let d: usize = 0; d < D; d++) {
    S *= <usize>load<u32>(spatial + (d << 2));
    nOut *= <usize>load<u32>(pooled + (d << 2));
  }
  if (idof<Dir>() == idof<Bwd>()) memory.fill(dst, 0, (B * S * CT) << 2);
  const cRow = C << 2;
  // pooled pixels in rows along the last axis: a row's first window pixel is decomposed once, the
  // next window along the row starts `patch` pixels further
  const nLast = <usize>load<u32>(pooled + ((D - 1) << 2));
  for (let b: usize = 0; b < B; b++) {
    for (let row: usize = 0, o: usize = 0; row < nOut / nLast; row++) {
      // Σ_d o_d · patch · (pixel stride of axis d) over the other axes, o_d row-major over pooled
      let rowBase: usize = 0;
      for (let d = D - 1, ro = row, stride = <usize>load<u32>(spatial + ((D - 1) << 2)); d > 0; d--) {
        const q = (d - 1) << 2;
        const n = <usize>load<u32>(pooled + q);
        rowBase += (ro % n) * patch * stride;
        ro /= n;
        stride *= <usize>load<u32>(spatial + q);
      }
      for (let base = rowBase; base < rowBase + nLast * patch; base += patch, o++) {
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
      }
    }
  }
}

/** argmaxPool (adjoint 0: src = x, dst = y) or argmaxPoolGrad (adjoint 1: src = dy, dst = dx). */
export function argmaxPool(src: usize, c: usize, dst: usize, p: usize): void {
  if (P.argmaxPool_adjoint(p)) pool<Bwd>(src, c, dst, p);
  else pool<Fwd>(src, c, dst, p);
}
