// lib/pool_window.wgsl — the window geometry and comparator argmax of max pooling, shared by the
// forward pass and its adjoint so that both pick the same pixel: in the non-overlapping patch^D
// window of pooled pixel o, the FIRST pixel (row-major window order) whose comparator is largest —
// ref's rule (src/backends/ref/pool.ts), which is jnp.argmax's: NaN counts as the largest value, so
// the first NaN of the window wins; otherwise start with the window's first pixel and move only on a
// strictly greater value. NaN is tested on the bits (WGSL lets compilers assume there are none).
//
// Provides:
//   struct PoolSite + fn pool_site(id) — invocation id's (b, pooled pixel o, channel ch) and the
//     input pixels per batch;
//   fn window_pixel(o, wi) — the input pixel (row-major over the spatial axes) of window element wi;
//   fn site_element(s, pixel) — the index of (b, pixel, ch) in [B, ...spatial, channels] (times T:
//     the first of its T components in the T-vector tensors);
//   fn window_argmax(s) -> u32 — the window element wi of the first maximum of the comparator.
// Requires: `params` (binding 0) of block `maxPool` (src/backends/kernelParams.ts: n, D, psize,
//   nWin, channels, T, spatial and pooled extents) and the comparator `c: array<f32>` [B, ...spatial,
//   channels] declared by the including shader.

//! include "lib/nan.wgsl"
//! include "lib/packed.wgsl"

struct PoolSite {
  b: u32,
  o: u32,
  ch: u32,
  npix: u32, // input pixels per batch
}

fn pool_site(id: u32) -> PoolSite {
  let C = params.channels;
  let bo = id / C; // b · pooled pixels + o
  var npix = 1u;
  var nout = 1u;
  for (var d = 0u; d < params.D; d++) {
    npix *= at4(params.spatial, d);
    nout *= at4(params.pooled, d);
  }
  return PoolSite(bo / nout, bo % nout, id % C, npix);
}

// pixel = Σ_d (o_d · patch + w_d) · (row-major input strides)
fn window_pixel(o: u32, wi: u32) -> u32 {
  var ro = o;
  var rw = wi;
  var ip = 0u;
  var scale = 1u;
  for (var d = params.D; d > 0u; d--) {
    let k = d - 1u;
    let od = ro % at4(params.pooled, k);
    ro = ro / at4(params.pooled, k);
    let wd = rw % params.psize;
    rw = rw / params.psize;
    ip += (od * params.psize + wd) * scale;
    scale *= at4(params.spatial, k);
  }
  return ip;
}

fn site_element(s: PoolSite, pixel: u32) -> u32 {
  return (s.b * s.npix + pixel) * params.channels + s.ch;
}

fn window_argmax(s: PoolSite) -> u32 {
  var best = 0.0;
  var arg = 0u;
  for (var wi = 0u; wi < params.nWin; wi++) {
    let v = c[site_element(s, window_pixel(s.o, wi))];
    // Once best is NaN nothing replaces it; a NaN v replaces any number; numbers compare as usual.
    if (wi == 0u || (!is_nan(best) && (is_nan(v) || v > best))) {
      best = v;
      arg = wi;
    }
  }
  return arg;
}
