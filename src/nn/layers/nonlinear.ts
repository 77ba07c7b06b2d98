/**
 * Nonlinearities on MultiImages: the equivariant Vector Neuron nonlinearity (ginjax
 * VectorNeuronNonlinear), an equivariant norm-gated nonlinearity (not in ginjax), and the pointwise
 * (non-equivariant for k > 0) activation used by the baselines. All are composed from primitives on
 * the packed layout, one key block at a time.
 */
import { split, type Key } from '../../core/random.js';
import { MultiImage } from '../../geometric/multi-image.js';
import { keyName, type Signature, type SignatureLike } from '../../geometric/signature.js';
import { add, addScalar, div, mul, scale, sub as subT } from '../../ops/binary.js';
import { permute } from '../../ops/gather.js';
import { matmul } from '../../ops/matmul.js';
import { sum } from '../../ops/reduce.js';
import { abs, sqrt, square } from '../../ops/unary.js';
import { tidy, zeros, type Tensor } from '../../tensor.js';
import { Module, initUniform, leaf, subtree, type ModuleConfig, type Params } from '../module.js';
import {
  activate,
  checkActivation,
  checkD,
  checkInput,
  checkNonNegative,
  keyBlocks,
  packBlocks,
  parseSignature,
  sigJson,
  type ActivationName,
} from './common.js';

// ---------------------------------------------------------------------------------------------
// VectorNeuronNonlinear

/** Options of `VectorNeuronNonlinear`. */
export interface VectorNeuronOptions {
  readonly D: number;
  readonly input: SignatureLike;
  /** σ (default 'relu', as ginjax). */
  readonly activation?: ActivationName;
  /** Both ε terms (default 1e-5). */
  readonly eps?: number;
}

/**
 * ginjax VectorNeuronNonlinear (arXiv 2104.12229 with one weight matrix per key). (0,0) gets σ(x);
 * every other key (pseudoscalars included), per channel i and pixel, with W [c, c]:
 *
 *   q_i = Σ_j W_ij x_j,  q̂_i = q_i / (‖q_i‖ + ε),  s_i = ⟨x_i, q̂_i⟩,  x∥_i = s_i q̂_i,
 *   out_i = σ(s_i)/(|s_i| + ε) · x∥_i + (x_i − x∥_i)
 *
 * ⟨·,·⟩ contracts all k tensor indices; ‖·‖ is the pixel Frobenius norm. s_i is invariant (x_i and
 * q̂_i have the same type), so the output has the type of x_i. Init (ginjax): per key ≠ (0,0) in
 * signature order, `key, sk = split(key)`, W ~ U(±1/√c).
 * Params: `{ weights: { "k,p": [c, c] } }` (no entry for (0,0)).
 *
 * Same function, different arithmetic where ginjax's is ill-conditioned (see `vectorNeuron`): for
 * scalar-type keys (k = 0, e.g. pseudoscalars) and for keys with one channel, q_i ∥ x_i by
 * construction and x − x∥ is computed as x · ε(2‖q‖+ε)/(‖q‖+ε)² instead of as a difference.
 * @example
 * const vn = new VectorNeuronNonlinear({ D: 2, input: [[[0, 0], 4], [[1, 0], 4]] }, random.key(0));
 * const y = vn.call(x);
 */
export class VectorNeuronNonlinear extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly input: Signature;
  readonly D: number;
  readonly activation: ActivationName;
  readonly eps: number;

  constructor(o: VectorNeuronOptions, key: Key) {
    super();
    const fn = 'VectorNeuronNonlinear';
    this.D = checkD(fn, o.D);
    this.input = parseSignature(fn, o.input);
    this.activation = checkActivation(fn, o.activation ?? 'relu');
    this.eps = checkNonNegative(fn, 'eps', o.eps ?? 1e-5);
    const weights: Record<string, Tensor> = {};
    let k = key;
    for (const e of this.input) {
      if (e.k === 0 && e.parity === 0) continue;
      const [next, sk] = split(k) as [Key, Key];
      k = next;
      const b = 1 / Math.sqrt(e.channels);
      weights[keyName(e.k, e.parity)] = initUniform(sk, [e.channels, e.channels], -b, b);
    }
    this.params = { weights };
    this.config = { type: 'VectorNeuronNonlinear', D: this.D, input: sigJson(this.input), activation: this.activation, eps: this.eps };
  }

  apply(params: Params, x: MultiImage): MultiImage {
    checkInput('VectorNeuronNonlinear', x, this.D, this.input);
    const weights = subtree(params, 'weights');
    const y = tidy(() =>
      packBlocks(
        x,
        keyBlocks(x).map((b) => {
          if (b.k === 0 && b.parity === 0) return activate(this.activation, b.data);
          return vectorNeuron(b.data, leaf(weights, keyName(b.k, b.parity)), this.activation, this.eps);
        }),
      ),
    );
    return new MultiImage(y, this.input, this.D, x.isTorus);
  }
}

/**
 * The VN rule on x [R, c, T] with W [c, c]. It runs on x's transpose [R, T, c], where W·x at every
 * pixel is ONE matmul of the R·T rows by Wᵀ: as R products [c, c]·[c, T] it was the slowest part of
 * a UNet's nonlinearities (wasm, R = 4096, c = 32, T = 2: 3.1 ms a call, 2.7 GFLOP/s).
 *
 * Parallel case (T = 1, i.e. k = 0 of either parity, or c = 1): q_i = λ x_i, so x∥ = x·‖q‖²/(‖q‖+ε)²
 * and ginjax's x − x∥ is x·ε(2‖q‖+ε)/(‖q‖+ε)² computed as the difference of two numbers that agree
 * to ~ε/‖q‖: in float32 that leaves a few correct bits (and none that commute with the group). When
 * the gate closes (σ(s) ≈ 0, e.g. relu with λ < 0) this remainder IS the output, and the norms and
 * max-norm pools that follow blew its rounding up into O(1) equivariance errors. Here the output is
 * x · (gate·‖q‖² + ε(2‖q‖+ε))/(‖q‖+ε)²: an invariant scale times x, products and sums of positive
 * terms only, so exact to a few ulps and equivariant up to that. With ‖q‖ = 0 the scale is 1 (out = x),
 * as ginjax's. In exact arithmetic both forms are the same function.
 *
 * General case (T > 1 and c > 1): ginjax's formula as written; x_i and q_i are then parallel only by
 * accident, and x − x∥ is well conditioned relative to ‖x‖.
 * @example
 * // R = 64 pixels, c = 4 vector channels, T = 2 components; W mixes the channels
 * const y = vectorNeuron(zeros([64, 4, 2]), initUniform(random.key(0), [4, 4], -0.5, 0.5), 'relu', 1e-5); // [64, 4, 2]
 */
export function vectorNeuron(x: Tensor, W: Tensor, activation: ActivationName, eps: number): Tensor {
  return tidy(() => {
    const [R, c, T] = x.shape as [number, number, number];
    if (T === 1 || c === 1) return vectorNeuronParallel(x, W, activation, eps);
    const xt = permute(x, [0, 2, 1]);
    const q = matmul(xt.reshape([R * T, c]), W, false, true).reshape([R, T, c]);
    const qNorm = sqrt(sum(square(q), [1])).reshape([R, 1, c]);
    const qHat = div(q, addScalar(qNorm, eps));
    const s = sum(mul(xt, qHat), [1]).reshape([R, 1, c]);
    const parallel = mul(s, qHat);
    const gate = div(activate(activation, s), addScalar(abs(s), eps));
    return permute(add(mul(gate, parallel), subT(xt, parallel)), [0, 2, 1]);
  });
}

/** vectorNeuron when q_i ∥ x_i by construction (T = 1 or c = 1): out = x · scale, scale invariant. */
function vectorNeuronParallel(x: Tensor, W: Tensor, activation: ActivationName, eps: number): Tensor {
  const [R, c, T] = x.shape as [number, number, number];
  // q [R, c, T]: for T = 1 one matmul of the R rows; for c = 1 the single weight times x.
  const q = T === 1 ? matmul(x.reshape([R, c]), W, false, true).reshape([R, c, 1]) : mul(x, W.reshape([1, 1, 1]));
  const qNorm = T === 1 ? abs(q) : sqrt(sum(square(q), [2])).reshape([R, c, 1]);
  const den = addScalar(qNorm, eps);
  const s = div(T === 1 ? mul(x, q) : sum(mul(x, q), [2]).reshape([R, c, 1]), den); // ⟨x, q̂⟩
  const gate = div(activate(activation, s), addScalar(abs(s), eps));
  // (gate·‖q‖² + ε(2‖q‖ + ε)) / (‖q‖ + ε)²
  const num = add(mul(gate, square(qNorm)), scale(addScalar(scale(qNorm, 2), eps), eps));
  return mul(x, div(num, square(den)));
}

// ---------------------------------------------------------------------------------------------
// NormNonlinear

/** Options of `NormNonlinear`. */
export interface NormNonlinearOptions {
  readonly D: number;
  readonly input: SignatureLike;
  /** σ of the gate (default 'relu'). */
  readonly activation?: ActivationName;
  /** Smoothing of the norm (default 1e-5). */
  readonly eps?: number;
}

/**
 * An equivariant norm-gated nonlinearity (ginjax has none; cf. e3nn's Gate / norm activations).
 * (0,0) gets σ(x). Every other key (pseudoscalars included), per channel c and pixel:
 *
 *   n = √(‖x‖² + ε²),   out = x · σ(n + b_c) / n
 *
 * with ‖·‖ the pixel Frobenius norm and b a learned per-channel bias (init 0). n is invariant and
 * > 0, so the gate σ(n + b)/n is an invariant scalar: the output has the type of x (for a
 * pseudoscalar the map is odd in x). The ε² smoothing makes it differentiable at x = 0 (where the
 * output is 0). With relu and b = 0 it is ≈ the identity; b < 0 zeroes tensors with ‖x‖ < −b.
 * Params: `{ bias: { "k,p": [c] } }` (no entry for (0,0)).
 * @example
 * const nl = new NormNonlinear({ D: 2, input: [[[1, 0], 4]], activation: 'gelu' });
 */
export class NormNonlinear extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly input: Signature;
  readonly D: number;
  readonly activation: ActivationName;
  readonly eps: number;

  constructor(o: NormNonlinearOptions, _key?: Key) {
    super();
    const fn = 'NormNonlinear';
    this.D = checkD(fn, o.D);
    this.input = parseSignature(fn, o.input);
    this.activation = checkActivation(fn, o.activation ?? 'relu');
    this.eps = checkNonNegative(fn, 'eps', o.eps ?? 1e-5);
    const bias: Record<string, Tensor> = {};
    for (const e of this.input) if (!(e.k === 0 && e.parity === 0)) bias[keyName(e.k, e.parity)] = zeros([e.channels]);
    this.params = { bias };
    this.config = { type: 'NormNonlinear', D: this.D, input: sigJson(this.input), activation: this.activation, eps: this.eps };
  }

  apply(params: Params, x: MultiImage): MultiImage {
    checkInput('NormNonlinear', x, this.D, this.input);
    const bias = subtree(params, 'bias');
    const eps2 = this.eps * this.eps;
    const y = tidy(() =>
      packBlocks(
        x,
        keyBlocks(x).map((b) => {
          if (b.k === 0 && b.parity === 0) return activate(this.activation, b.data);
          const [R, c] = b.data.shape as [number, number, number];
          const n = sqrt(addScalar(sum(square(b.data), [2]), eps2)); // [R, c]
          const gate = div(activate(this.activation, add(n, leaf(bias, keyName(b.k, b.parity)))), n);
          return mul(b.data, gate.reshape([R, c, 1]));
        }),
      ),
    );
    return new MultiImage(y, this.input, this.D, x.isTorus);
  }
}

// ---------------------------------------------------------------------------------------------
// Activation (pointwise)

/** Options of `Activation`. */
export interface ActivationOptions {
  readonly activation: ActivationName;
}

/**
 * σ applied to every entry of every key: the baselines' activation (ginjax wraps a plain function
 * in a LayerWrapper). Equivariant only for scalars; any signature is accepted. No params.
 * @example
 * const act = new Activation('relu'); // scalar images only are equivariant
 */
export class Activation extends Module {
  readonly config: ModuleConfig;
  readonly params: Params = {};
  readonly activation: ActivationName;

  constructor(o: ActivationOptions | ActivationName, _key?: Key) {
    super();
    this.activation = checkActivation('Activation', typeof o === 'string' ? o : o.activation);
    this.config = { type: 'Activation', activation: this.activation };
  }

  apply(_params: Params, x: MultiImage): MultiImage {
    checkInput('Activation', x, x instanceof MultiImage ? x.D : 2);
    return new MultiImage(activate(this.activation, x.data), x.signature, x.D, x.isTorus);
  }
}
