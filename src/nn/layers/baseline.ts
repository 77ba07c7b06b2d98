/**
 * Non-equivariant baseline layers (ginjax's `equivariant=False` path, which wraps equinox layers):
 * a dense convolution and a transposed convolution on scalar-only MultiImages, batch norm, identity.
 * Weights use the packed conv layout [taps, Cin, Cout] of the conv primitive.
 */
import { argError, check } from '../../core/errors.js';
import { perAxis } from '../../core/per-axis.js';
import { split, type Key } from '../../core/random.js';
import { MultiImage } from '../../geometric/multi-image.js';
import { signatureWidth, type Signature, type SignatureLike } from '../../geometric/signature.js';
import { add, addScalar, div, mul, scale, sub as subT } from '../../ops/binary.js';
import { conv } from '../../ops/conv.js';
import { gather, indexMap } from '../../ops/gather.js';
import type { ConvAttrs } from '../../ops/op.js';
import { mean } from '../../ops/reduce.js';
import { sqrt, square } from '../../ops/unary.js';
import { full, tidy, zeros, type Tensor } from '../../tensor.js';
import { Module, initUniform, leaf, type Json, type ModuleConfig, type Params } from '../module.js';
import { checkD, checkInput, checkNonNegative, checkPositiveInt, parseSignature, sigJson, type LayerCallOptions } from './common.js';

const scalarSig = (channels: number): Signature => [{ k: 0, parity: 0, channels }];

/** The input of a baseline conv must be scalar-only with `channels` channels (use toScalarMultiImage first). */
function checkScalarInput(fn: string, x: unknown, D: number, channels: number): asserts x is MultiImage {
  checkInput(fn, x, D);
  const s = x.signature;
  if (s.length !== 1 || s[0]!.k !== 0 || s[0]!.parity !== 0 || s[0]!.channels !== channels) {
    argError(
      fn,
      'input signature',
      `{(0,0):${channels}} (a scalar-only MultiImage; see toScalarMultiImage)`,
      `{${s.map((e) => `(${e.k},${e.parity}):${e.channels}`).join(', ')}}`,
    );
  }
}

/** eqx's initialisation of a dense conv: weight [taps, Cin, Cout] and bias [Cout] ~ U(±1/√(Cin·taps)). */
function denseParams(fn: string, kernel: readonly number[], cin: number, cout: number, useBias: unknown, key: Key): Params {
  check(typeof useBias === 'boolean', fn, 'useBias', 'true or false', useBias);
  const taps = kernel.reduce((q, k) => q * k, 1);
  const bound = 1 / Math.sqrt(cin * taps);
  const [kw, kb] = split(key, 2) as [Key, Key];
  const weight = initUniform(kw, [taps, cin, cout], -bound, bound);
  return useBias ? { weight, bias: initUniform(kb, [cout], -bound, bound) } : { weight };
}

// ---------------------------------------------------------------------------------------------
// Conv

/** 'SAME' and 'CIRCULAR' pad so that out = ⌈N/stride⌉ (lax's SAME split: lo = ⌊total/2⌋); CIRCULAR wraps. */
export type ConvPadding = 'SAME' | 'VALID' | 'CIRCULAR' | number | readonly (readonly [number, number])[];

/** Options of the plain (non-equivariant) `Conv` layer. */
export interface ConvOptions {
  readonly D: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Kernel side(s). */
  readonly kernel: number | readonly number[];
  readonly stride?: number | readonly number[];
  /** Default 'SAME': zero padding even on torus data, as ginjax's baselines. */
  readonly padding?: ConvPadding;
  readonly rhsDilation?: number | readonly number[];
  /** Default true (ginjax's 'auto' becomes True for the baselines). */
  readonly useBias?: boolean;
}

/**
 * A plain dense convolution (eqx.nn.Conv) on a scalar-only MultiImage {(0,0): inChannels} →
 * {(0,0): outChannels}: y = x ⋆ W + b, a cross-correlation. W [taps, Cin, Cout] and b [Cout] are
 * initialised U(±1/√fan_in), fan_in = Cin·taps (eqx's default for both). Not equivariant.
 * Params: `{ weight: [taps, Cin, Cout], bias?: [Cout] }`.
 * @example
 * const conv = new Conv({ D: 2, inChannels: 3, outChannels: 8, kernel: 3, padding: 'SAME' }, random.key(0));
 * const y = conv.call(x.toScalarMultiImage()); // a baseline layer on scalar channels
 */
export class Conv extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly D: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly #kernel: number[];
  readonly #stride: number[];
  readonly #dilation: number[];
  readonly #padding: ConvPadding;

  constructor(o: ConvOptions, key: Key) {
    super();
    const fn = 'Conv';
    this.D = checkD(fn, o.D);
    this.inChannels = checkPositiveInt(fn, 'inChannels', o.inChannels);
    this.outChannels = checkPositiveInt(fn, 'outChannels', o.outChannels);
    this.#kernel = perAxis(fn, 'kernel', o.kernel, this.D, { dflt: 1 });
    this.#stride = perAxis(fn, 'stride', o.stride, this.D, { dflt: 1 });
    this.#dilation = perAxis(fn, 'rhsDilation', o.rhsDilation, this.D, { dflt: 1 });
    this.#padding = o.padding ?? 'SAME';
    resolvePadding(fn, this.#padding, this.D, [], this.#kernel, this.#stride, this.#dilation, true);
    const useBias = o.useBias ?? true;
    this.params = denseParams(fn, this.#kernel, this.inChannels, this.outChannels, useBias, key);
    this.config = {
      type: 'Conv',
      D: this.D,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernel: this.#kernel,
      stride: this.#stride,
      padding: this.#padding as Json,
      rhsDilation: this.#dilation,
      useBias,
    };
  }

  attrs(spatial: readonly number[]): ConvAttrs {
    const { padding, torus } = resolvePadding('Conv', this.#padding, this.D, spatial, this.#kernel, this.#stride, this.#dilation, false);
    return { kernel: this.#kernel, stride: this.#stride, padding, torus, rhsDilation: this.#dilation, lhsDilation: new Array<number>(this.D).fill(1) };
  }

  apply(params: Params, x: MultiImage): MultiImage {
    checkScalarInput('Conv', x, this.D, this.inChannels);
    const y = tidy(() => {
      const out = conv(x.data, leaf(params, 'weight'), this.attrs(x.spatial));
      return params.bias ? add(out, leaf(params, 'bias')) : out;
    });
    return new MultiImage(y, scalarSig(this.outChannels), this.D, x.isTorus);
  }
}

/** Padding amounts per axis for the baseline conv ('SAME'/'CIRCULAR' need the input sizes unless `validateOnly`). */
function resolvePadding(
  fn: string,
  p: ConvPadding,
  D: number,
  spatial: readonly number[],
  kernel: readonly number[],
  stride: readonly number[],
  dilation: readonly number[],
  validateOnly: boolean,
): { padding: [number, number][]; torus: boolean[] } {
  const noTorus = new Array<boolean>(D).fill(false);
  if (p === 'SAME' || p === 'CIRCULAR') {
    if (validateOnly) return { padding: [], torus: noTorus };
    const padding = spatial.map((n, i): [number, number] => {
      const out = Math.ceil(n / stride[i]!);
      const total = Math.max((out - 1) * stride[i]! + (kernel[i]! - 1) * dilation[i]! + 1 - n, 0);
      return [Math.floor(total / 2), total - Math.floor(total / 2)];
    });
    return { padding, torus: new Array<boolean>(D).fill(p === 'CIRCULAR') };
  }
  if (p === 'VALID') return { padding: Array.from({ length: D }, () => [0, 0]), torus: noTorus };
  if (typeof p === 'number') {
    check(Number.isInteger(p) && p >= 0, fn, 'padding', 'an integer >= 0', p);
    return { padding: Array.from({ length: D }, () => [p, p]), torus: noTorus };
  }
  if (Array.isArray(p)) {
    const pairs = p as readonly (readonly number[])[];
    check(
      pairs.length === D && pairs.every((q) => q.length === 2 && q.every((e) => Number.isInteger(e) && e >= 0)),
      fn,
      'padding',
      `${D} pairs [lo, hi] of integers >= 0`,
      pairs.map((q) => `[${q}]`),
    );
    return { padding: pairs.map((q) => [q[0]!, q[1]!]), torus: noTorus };
  }
  return argError(fn, 'padding', '"SAME", "VALID", "CIRCULAR", an integer or [lo, hi] pairs', p);
}

// ---------------------------------------------------------------------------------------------
// ConvTranspose

/** Options of the plain `ConvTranspose` layer. */
export interface ConvTransposeOptions {
  readonly D: number;
  readonly inChannels: number;
  readonly outChannels: number;
  /** Kernel side(s) (ginjax's UNet: 2). */
  readonly kernel: number | readonly number[];
  /** Default: the kernel (ginjax's UNet: 2). */
  readonly stride?: number | readonly number[];
  /** 'VALID' (default) or a number / [lo, hi] pairs cropped from the full output. */
  readonly padding?: 'VALID' | number | readonly (readonly [number, number])[];
  readonly rhsDilation?: number | readonly number[];
  readonly useBias?: boolean;
}

/**
 * Transposed convolution (eqx.nn.ConvTranspose) on a scalar-only MultiImage: the scatter form
 * y[s·i + d·t − lo] += W[t]ᵀ x[i] (+ b), out = (N − 1)·s + d·(K − 1) + 1 − lo − hi per axis (with
 * kernel 2, stride 2, 'VALID': N → 2N). Computed by the conv primitive on the lhs-dilated input with
 * the taps flipped and padding d·(K − 1) − lo, d·(K − 1) − hi, as eqx/lax do. W [taps, Cin, Cout]
 * (taps in the scatter orientation above) and b [Cout] ~ U(±1/√(Cin·taps)).
 * Params: `{ weight: [taps, Cin, Cout], bias?: [Cout] }`.
 * @example
 * const up = new ConvTranspose({ D: 2, inChannels: 8, outChannels: 4, kernel: 2, stride: 2 }, random.key(0));
 */
export class ConvTranspose extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly D: number;
  readonly inChannels: number;
  readonly outChannels: number;
  readonly #kernel: number[];
  readonly #stride: number[];
  readonly #dilation: number[];
  readonly #crop: [number, number][];
  readonly #flip: Int32Array;

  constructor(o: ConvTransposeOptions, key: Key) {
    super();
    const fn = 'ConvTranspose';
    this.D = checkD(fn, o.D);
    this.inChannels = checkPositiveInt(fn, 'inChannels', o.inChannels);
    this.outChannels = checkPositiveInt(fn, 'outChannels', o.outChannels);
    this.#kernel = perAxis(fn, 'kernel', o.kernel, this.D, { dflt: 1 });
    this.#stride = perAxis(fn, 'stride', o.stride ?? this.#kernel, this.D, { dflt: 1 });
    this.#dilation = perAxis(fn, 'rhsDilation', o.rhsDilation, this.D, { dflt: 1 });
    const p = o.padding ?? 'VALID';
    check(p === 'VALID' || typeof p === 'number' || Array.isArray(p), fn, 'padding', '"VALID", an integer or [lo, hi] pairs', p);
    this.#crop =
      p === 'VALID'
        ? Array.from({ length: this.D }, () => [0, 0])
        : resolvePadding(fn, p, this.D, [], this.#kernel, this.#stride, this.#dilation, false).padding;
    this.#crop.forEach(([lo, hi], i) => {
      const full = this.#dilation[i]! * (this.#kernel[i]! - 1);
      check(lo <= full && hi <= full, fn, `padding on axis ${i}`, `at most rhsDilation·(kernel − 1) = ${full}`, [lo, hi]);
    });
    const useBias = o.useBias ?? true;
    this.params = denseParams(fn, this.#kernel, this.inChannels, this.outChannels, useBias, key);
    const taps = this.#kernel.reduce((q, k) => q * k, 1);
    // Tap flip: flipped[a] = weight[taps − 1 − a] (row-major taps: reversing the flat tap index flips every axis).
    const C = this.inChannels * this.outChannels;
    this.#flip = indexMap([taps, C], ([a, j]) => (taps - 1 - a!) * C + j!);
    this.config = {
      type: 'ConvTranspose',
      D: this.D,
      inChannels: this.inChannels,
      outChannels: this.outChannels,
      kernel: this.#kernel,
      stride: this.#stride,
      padding: p as Json,
      rhsDilation: this.#dilation,
      useBias,
    };
  }

  attrs(): ConvAttrs {
    return {
      kernel: this.#kernel,
      stride: new Array<number>(this.D).fill(1),
      padding: this.#crop.map(([lo, hi], i) => [this.#dilation[i]! * (this.#kernel[i]! - 1) - lo, this.#dilation[i]! * (this.#kernel[i]! - 1) - hi] as const),
      torus: new Array<boolean>(this.D).fill(false),
      rhsDilation: this.#dilation,
      lhsDilation: this.#stride,
    };
  }

  apply(params: Params, x: MultiImage): MultiImage {
    checkScalarInput('ConvTranspose', x, this.D, this.inChannels);
    const y = tidy(() => {
      const w = leaf(params, 'weight');
      const out = conv(x.data, gather(w, w.shape, this.#flip), this.attrs());
      return params.bias ? add(out, leaf(params, 'bias')) : out;
    });
    return new MultiImage(y, scalarSig(this.outChannels), this.D, x.isTorus);
  }
}

// ---------------------------------------------------------------------------------------------
// BatchNorm

/** Options of `BatchNorm`. */
export interface BatchNormOptions {
  readonly D: number;
  readonly input: SignatureLike;
  /** Running-statistics momentum: running ← momentum·running + (1 − momentum)·batch (default 0.99, eqx). */
  readonly momentum?: number;
  readonly eps?: number;
}

/**
 * Batch norm (eqx.nn.BatchNorm) for the baselines: every packed column (a channel of the scalar
 * image; each tensor component of a non-scalar key) is normalised over batch and space, then
 * scaled and shifted (weight init 1, bias init 0). Not equivariant for non-scalar keys.
 *
 * State: the running mean/variance (biased batch variance, as eqx) live outside the parameters.
 * - `apply(params, x, { training: true, state })` normalises with the batch statistics and, when a
 *   `State` is passed, stores the updated running statistics in it (under this module).
 * - `apply(params, x)` / `{ training: false, state }` normalises with the running statistics from
 *   `state` if it holds some for this module, else the initial ones (mean 0, variance 1), which
 *   are this module's buffers.
 * Params: `{ weight: [W], bias: [W] }`, W = Σ channels·D^k.
 * @example
 * const bn = new BatchNorm({ D: 2, input: [[[0, 0], 8]] });
 * const state = new State();
 * const y = bn.apply(bn.params, x, { training: true, state });
 */
export class BatchNorm extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly input: Signature;
  readonly D: number;
  readonly momentum: number;
  readonly eps: number;
  /** The initial running statistics { mean: zeros [W], var: ones [W] }. */
  readonly initialState: Readonly<Record<'mean' | 'var', Tensor>>;

  constructor(o: BatchNormOptions, _key?: Key) {
    super();
    const fn = 'BatchNorm';
    this.D = checkD(fn, o.D);
    this.input = parseSignature(fn, o.input);
    this.momentum = o.momentum ?? 0.99;
    check(typeof this.momentum === 'number' && this.momentum >= 0 && this.momentum <= 1, fn, 'momentum', 'a number in [0, 1]', this.momentum);
    this.eps = checkNonNegative(fn, 'eps', o.eps ?? 1e-5);
    const W = signatureWidth(this.input, this.D);
    this.params = { weight: full([W], 1), bias: zeros([W]) };
    this.initialState = { mean: zeros([W]), var: full([W], 1) };
    this.config = { type: 'BatchNorm', D: this.D, input: sigJson(this.input), momentum: this.momentum, eps: this.eps };
  }

  override buffers(): Tensor[] {
    return [this.initialState.mean, this.initialState.var];
  }

  apply(params: Params, x: MultiImage, options: LayerCallOptions = {}): MultiImage {
    checkInput('BatchNorm', x, this.D, this.input);
    const axes = Array.from({ length: this.D + 1 }, (_, i) => i);
    const running = options.state?.get(this) ?? this.initialState;
    const { y, update } = tidy(() => {
      let m: Tensor;
      let v: Tensor;
      let next: Record<'mean' | 'var', Tensor> | null = null;
      if (options.training) {
        m = mean(x.data, axes);
        v = mean(square(subT(x.data, m)), axes);
        const a = this.momentum;
        if (options.state) next = { mean: add(scale(leaf(running, 'mean'), a), scale(m, 1 - a)), var: add(scale(leaf(running, 'var'), a), scale(v, 1 - a)) };
      } else {
        m = leaf(running, 'mean');
        v = leaf(running, 'var');
      }
      const normed = div(subT(x.data, m), sqrt(addScalar(v, this.eps)));
      return { y: add(mul(normed, leaf(params, 'weight')), leaf(params, 'bias')), update: next };
    });
    if (update) options.state!.set(this, update);
    return new MultiImage(y, this.input, this.D, x.isTorus);
  }
}

// ---------------------------------------------------------------------------------------------
// Identity

/**
 * The identity (ginjax handle_activation(None) / eqx.nn.Identity). Returns a new handle on the same data.
 * @example
 * const same = new Identity().call(x); // a new handle on x's data
 */
export class Identity extends Module {
  readonly config: ModuleConfig = { type: 'Identity' };
  readonly params: Params = {};

  constructor(_o?: unknown, _key?: Key) {
    super();
  }

  apply(_params: Params, x: MultiImage): MultiImage {
    checkInput('Identity', x, x instanceof MultiImage ? x.D : 2);
    return new MultiImage(x.data.reshape(x.data.shape), x.signature, x.D, x.isTorus);
  }
}
