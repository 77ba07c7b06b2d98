/**
 * Pseudo-spectral machinery for the periodic n×n square, row-major [x][y] (axis 0 = x), for spectra
 * truncated by Orszag's 2/3 rule: only modes with 3|m_x| < n and 3|m_y| < n are kept. Spectra are
 * stored compactly, one entry per kept mode: q = a·K + b is the mode (keep[a], keep[b]).
 *
 * 2-D transforms go in two passes through an n×n complex work array ("mixed": transformed along x,
 * not yet along y), so that the truncation saves work and the grid values of a row can be consumed
 * as soon as they exist: an inverse transforms only the K kept columns along x, then each row along
 * y; a forward transforms each row (a real row through fft.js's real transform when n is a power of
 * two), then only the kept columns. Every 1-D transform is a forward DFT of src/core/fft.ts (fft.js),
 * the inverses through ifft(X) = conj(fft(conj X))/n, the 1/n² folded into the first pass.
 */
import FFT from 'fft.js';
import { fftFreqInt, plan1, type Plan1 } from '../core/fft.js';

/** An n×n interleaved complex work array, with one view per row. Columns outside `keep` stay zero. */
export interface Mixed {
  readonly data: Float64Array;
  readonly rows: readonly Float64Array[];
}

export class SpectralGrid {
  readonly n: number;
  /** Integer frequency of each index along an axis (numpy fftfreq · n). */
  readonly freq: Int32Array;
  /** Indices along an axis whose frequency m has 3|m| < n, ascending. */
  readonly keep: Int32Array;
  /** keep.length; the compact spectrum has K² entries. */
  readonly K: number;
  private readonly plan: Plan1;
  /** fft.js's real transform for rows, powers of two only. */
  private readonly real: FFT | null;
  private readonly line: Float64Array;
  private readonly out: Float64Array;
  private readonly rowBuffer: Float64Array;
  private readonly rowComplex: Float64Array;

  constructor(n: number) {
    this.n = n;
    this.freq = fftFreqInt(n);
    const keep: number[] = [];
    for (let j = 0; j < n; j++) if (3 * Math.abs(this.freq[j]!) < n) keep.push(j);
    this.keep = Int32Array.from(keep);
    this.K = keep.length;
    this.plan = plan1(n);
    this.real = n >= 4 && (n & (n - 1)) === 0 ? new FFT(n) : null;
    this.line = new Float64Array(2 * n);
    this.out = new Float64Array(2 * n);
    this.rowBuffer = new Float64Array(n);
    this.rowComplex = new Float64Array(2 * n);
  }

  mixed(): Mixed {
    const data = new Float64Array(2 * this.n * this.n);
    const rows = Array.from({ length: this.n }, (_, i) => data.subarray(2 * i * this.n, 2 * (i + 1) * this.n));
    return { data, rows };
  }

  /** First pass of an inverse: the kept columns of M become conj(fft_x(conj X))/n² for the compact spectrum X = re + i·im. */
  inverseColumns(re: Float64Array, im: Float64Array, M: Mixed): void {
    const { n, K, keep, line, out, plan } = this;
    const s = 1 / (n * n);
    const d = M.data;
    for (let b = 0; b < K; b++) {
      line.fill(0);
      for (let a = 0, q = b; a < K; a++, q += K) {
        const i = keep[a]!;
        line[2 * i] = re[q]! * s;
        line[2 * i + 1] = -im[q]! * s;
      }
      plan.transform(out, line, false);
      const j = keep[b]!;
      for (let i = 0, p = 2 * j; i < n; i++, p += 2 * n) {
        d[p] = out[2 * i]!;
        d[p + 1] = out[2 * i + 1]!;
      }
    }
  }

  /**
   * Second pass of an inverse, row i: `row` (2n, interleaved) receives the grid values of row i with
   * their imaginary parts NEGATED (the conj of the identity above, left to the caller: for a packed
   * pair of real fields f + i·g, row[2j] = f and row[2j+1] = −g).
   */
  inverseRowConj(M: Mixed, i: number, row: Float64Array): void {
    this.plan.transform(row, M.rows[i]!, false);
  }

  /** First pass of a forward transform of a real field: row i (n reals) → its kept y-frequencies in row i of M. */
  forwardRealRow(values: Float64Array, M: Mixed, i: number): void {
    const { n, K, keep, out } = this;
    if (this.real) {
      this.real.realTransform(out, values);
    } else {
      const line = this.line;
      for (let j = 0; j < n; j++) {
        line[2 * j] = values[j]!;
        line[2 * j + 1] = 0;
      }
      this.plan.transform(out, line, false);
    }
    // The real transform fills frequencies 0..n/2; negative kept ones are the conjugates (real input).
    const r = M.rows[i]!;
    for (let b = 0; b < K; b++) {
      const j = keep[b]!;
      if (2 * j <= n) {
        r[2 * j] = out[2 * j]!;
        r[2 * j + 1] = out[2 * j + 1]!;
      } else {
        r[2 * j] = out[2 * (n - j)]!;
        r[2 * j + 1] = -out[2 * (n - j) + 1]!;
      }
    }
  }

  /** Second pass of a forward transform: the kept columns of M along x → the compact spectrum (re, im). */
  forwardColumns(M: Mixed, re: Float64Array, im: Float64Array): void {
    const { n, K, keep, line, out, plan } = this;
    const d = M.data;
    for (let b = 0; b < K; b++) {
      const j = keep[b]!;
      for (let i = 0, p = 2 * j; i < n; i++, p += 2 * n) {
        line[2 * i] = d[p]!;
        line[2 * i + 1] = d[p + 1]!;
      }
      plan.transform(out, line, false);
      for (let a = 0, q = b; a < K; a++, q += K) {
        const i = keep[a]!;
        re[q] = out[2 * i]!;
        im[q] = out[2 * i + 1]!;
      }
    }
  }

  /** The compact spectrum of a real n×n field (row-major), truncated to the kept modes. */
  forwardReal(field: ArrayLike<number>, M: Mixed, re: Float64Array, im: Float64Array): void {
    const { n } = this;
    const row = this.rowBuffer;
    for (let i = 0; i < n; i++) {
      for (let j = 0; j < n; j++) row[j] = field[i * n + j]!;
      this.forwardRealRow(row, M, i);
    }
    this.forwardColumns(M, re, im);
  }

  /**
   * The grid values of the compact spectrum X = re + i·im of a pair of real fields f + i·g (g = 0
   * when X is Hermitian): f into `f`, g into `g` (either may be null).
   */
  inverse(re: Float64Array, im: Float64Array, M: Mixed, f: Float64Array | null, g: Float64Array | null): void {
    const { n } = this;
    this.inverseColumns(re, im, M);
    const row = this.rowComplex;
    for (let i = 0; i < n; i++) {
      this.inverseRowConj(M, i, row);
      const base = i * n;
      if (f) for (let j = 0; j < n; j++) f[base + j] = row[2 * j]!;
      if (g) for (let j = 0; j < n; j++) g[base + j] = -row[2 * j + 1]!;
    }
  }
}
