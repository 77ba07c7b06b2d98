/**
 * The oracle of ginjax's utils.power for the spectrum tests of Node, Deno and Chromium, written out
 * independently of src/eval/spectrum.ts (direct DFT, no FFT, explicit binning): for each bin b in
 * 1..⌊min/2⌋, the modes (u, v) with b − 1 < |k| ≤ b, |k| from the signed integer frequencies, weight 1 on column v = 0 (and v = ny − 1 when ny is even), else 2;
 * power from a direct DFT Σ_x Σ_y f e^{−2πi(ux/nx + vy/ny)}, batch mean, channel sum.
 */
export function referencePower(vals: ArrayLike<number>, [B, C, nx, ny]: readonly [number, number, number, number] | number[]) {
  if (B === undefined || C === undefined || nx === undefined || ny === undefined) throw new Error('referencePower: shape must be [B, C, nx, ny]');
  const freq = (j: number, n: number) => (j <= (n - 1) / 2 ? j : j - n);
  const power = (u: number, v: number) => {
    let total = 0;
    for (let b = 0; b < B; b++)
      for (let c = 0; c < C; c++) {
        let re = 0,
          im = 0;
        for (let x = 0; x < nx; x++)
          for (let y = 0; y < ny; y++) {
            const a = -2 * Math.PI * ((u * x) / nx + (v * y) / ny);
            const f = vals[((b * C + c) * nx + x) * ny + y]!;
            re += f * Math.cos(a);
            im += f * Math.sin(a);
          }
        total += (re * re + im * im) / B;
      }
    return total;
  };
  const kmax = Math.floor(Math.min(nx, ny) / 2);
  const out = { k: [] as number[], power: [] as number[], counts: [] as number[] };
  for (let bin = 1; bin <= kmax; bin++) {
    let ks = 0,
      ps = 0,
      ws = 0;
    for (let u = 0; u < nx; u++)
      for (let v = 0; v < ny; v++) {
        const k = Math.hypot(freq(u, nx), freq(v, ny));
        if (!(k > bin - 1 && k <= bin)) continue;
        const w = v === 0 || (ny % 2 === 0 && v === ny - 1) ? 1 : 2;
        ks += w * k;
        ps += w * power(u, v);
        ws += w;
      }
    out.k.push(ks / ws);
    out.power.push(ps / ws);
    out.counts.push(ws);
  }
  return out;
}
