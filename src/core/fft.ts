/**
 * Discrete Fourier transforms over float64, built on fft.js (radix-4, powers of two). Other lengths
 * go through Bluestein's chirp-z identity, which turns a length-n DFT into a circular convolution of
 * power-of-two length m >= 2n − 1 done with the same library. Conventions as numpy.fft: the forward
 * transform has no factor, the inverse divides by the length.
 */
import FFT from 'fft.js';
import { check } from './errors.js';

/** A 1-D complex DFT of one length, reusable; data interleaved [re0, im0, re1, im1, …]. */
export interface Plan1 {
  readonly n: number;
  /** out = DFT(input) (or its inverse, divided by n); `out` and `input` must differ. */
  transform(out: Float64Array, input: Float64Array, inverse: boolean): void;
}

const isPow2 = (n: number) => n >= 2 && (n & (n - 1)) === 0;

class Pow2Plan implements Plan1 {
  private readonly fft: FFT;
  constructor(readonly n: number) {
    this.fft = new FFT(n);
  }
  transform(out: Float64Array, input: Float64Array, inverse: boolean): void {
    // fft.js only indexes its arguments, so typed arrays work in place of its plain arrays.
    if (inverse) this.fft.inverseTransform(out as unknown as number[], input as unknown as number[]);
    else this.fft.transform(out as unknown as number[], input as unknown as number[]);
  }
}

class BluesteinPlan implements Plan1 {
  private readonly m: number;
  private readonly inner: Pow2Plan;
  /** w_j = exp(−iπ j²/n), j < n. */
  private readonly chirp: Float64Array;
  /** FFT of the conjugate chirp, wrapped to length m. */
  private readonly kernel: Float64Array;
  private readonly a: Float64Array;
  private readonly b: Float64Array;

  constructor(readonly n: number) {
    let m = 2;
    while (m < 2 * n - 1) m *= 2;
    this.m = m;
    this.inner = new Pow2Plan(m);
    this.chirp = new Float64Array(2 * n);
    for (let j = 0; j < n; j++) {
      const angle = (Math.PI * ((j * j) % (2 * n))) / n; // j² mod 2n keeps the angle exact for large j
      this.chirp[2 * j] = Math.cos(angle);
      this.chirp[2 * j + 1] = -Math.sin(angle);
    }
    const k = new Float64Array(2 * m);
    for (let j = 0; j < n; j++) {
      k[2 * j] = this.chirp[2 * j]!;
      k[2 * j + 1] = -this.chirp[2 * j + 1]!;
      if (j > 0) {
        k[2 * (m - j)] = k[2 * j]!;
        k[2 * (m - j) + 1] = k[2 * j + 1]!;
      }
    }
    this.kernel = new Float64Array(2 * m);
    this.inner.transform(this.kernel, k, false);
    this.a = new Float64Array(2 * m);
    this.b = new Float64Array(2 * m);
  }

  transform(out: Float64Array, input: Float64Array, inverse: boolean): void {
    const { n, m, chirp, a, b, kernel } = this;
    // The inverse DFT is the conjugate of the forward DFT of the conjugate, divided by n.
    const s = inverse ? -1 : 1;
    a.fill(0);
    for (let j = 0; j < n; j++) {
      const xr = input[2 * j]!,
        xi = s * input[2 * j + 1]!;
      const cr = chirp[2 * j]!,
        ci = chirp[2 * j + 1]!;
      a[2 * j] = xr * cr - xi * ci;
      a[2 * j + 1] = xr * ci + xi * cr;
    }
    this.inner.transform(b, a, false);
    for (let j = 0; j < m; j++) {
      const br = b[2 * j]!,
        bi = b[2 * j + 1]!,
        kr = kernel[2 * j]!,
        ki = kernel[2 * j + 1]!;
      b[2 * j] = br * kr - bi * ki;
      b[2 * j + 1] = br * ki + bi * kr;
    }
    this.inner.transform(a, b, true);
    const scale = inverse ? 1 / n : 1;
    for (let j = 0; j < n; j++) {
      const yr = a[2 * j]!,
        yi = a[2 * j + 1]!;
      const cr = chirp[2 * j]!,
        ci = chirp[2 * j + 1]!;
      out[2 * j] = (yr * cr - yi * ci) * scale;
      out[2 * j + 1] = s * (yr * ci + yi * cr) * scale;
    }
  }
}

class TrivialPlan implements Plan1 {
  readonly n = 1;
  transform(out: Float64Array, input: Float64Array): void {
    out[0] = input[0]!;
    out[1] = input[1]!;
  }
}

const plans = new Map<number, Plan1>();

/** The (cached) 1-D plan for length n: fft.js for powers of two, Bluestein over fft.js otherwise. */
export function plan1(n: number): Plan1 {
  check(Number.isInteger(n) && n >= 1, 'fft', 'length', 'an integer >= 1', n);
  let p = plans.get(n);
  if (!p) {
    p = n === 1 ? new TrivialPlan() : isPow2(n) ? new Pow2Plan(n) : new BluesteinPlan(n);
    plans.set(n, p);
  }
  return p;
}

/**
 * In-place complex DFT over every axis of a row-major array of the given shape (numpy's fftn /
 * ifftn). `re` and `im` hold the real and imaginary parts, each of length Π shape.
 */
export function fftn(re: Float64Array, im: Float64Array, shape: readonly number[], inverse = false): void {
  const size = shape.reduce((a, b) => a * b, 1);
  check(re.length === size && im.length === size, 'fftn', 're and im', `of length ${size} (shape [${shape.join(',')}])`, [re.length, im.length]);
  let stride = size;
  for (const n of shape) {
    stride /= n;
    if (n === 1) continue;
    const p = plan1(n);
    const line = new Float64Array(2 * n);
    const out = new Float64Array(2 * n);
    const outer = size / (n * stride);
    for (let o = 0; o < outer; o++) {
      for (let s = 0; s < stride; s++) {
        const base = o * n * stride + s;
        for (let j = 0; j < n; j++) {
          line[2 * j] = re[base + j * stride]!;
          line[2 * j + 1] = im[base + j * stride]!;
        }
        p.transform(out, line, inverse);
        for (let j = 0; j < n; j++) {
          re[base + j * stride] = out[2 * j]!;
          im[base + j * stride] = out[2 * j + 1]!;
        }
      }
    }
  }
}

/** numpy.fft.fftfreq(n) · n: the integer frequency of each DFT index (0, 1, …, −1). */
export function fftFreqInt(n: number): Int32Array {
  const f = new Int32Array(n);
  for (let j = 0; j < n; j++) f[j] = j < Math.ceil(n / 2) ? j : j - n;
  return f;
}
