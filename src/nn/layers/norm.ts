/**
 * Equivariant normalisation: GroupNorm and LayerNorm (= one group) of ginjax, with the k = 1
 * whitening computed differentiably from primitives (coupled Newton–Schulz instead of eigh), and an
 * equivariant rule for k >= 2 (ginjax raises there).
 */
import { check } from '../../core/errors.js';
import type { Key } from '../../core/random.js';
import { MultiImage } from '../../geometric/multi-image.js';
import { keyName, type Signature, type SignatureLike } from '../../geometric/signature.js';
import { add, addScalar, div, mul, scale, sub as subT } from '../../ops/binary.js';
import { permute } from '../../ops/gather.js';
import { matmul } from '../../ops/matmul.js';
import { mean, sum } from '../../ops/reduce.js';
import { sqrt, square } from '../../ops/unary.js';
import { full, tensor, tidy, zeros, type Tensor } from '../../tensor.js';
import { Module, leaf, subtree, type ModuleConfig, type Params } from '../module.js';
import { checkD, checkInput, checkNonNegative, checkPositiveInt, keyBlocks, packBlocks, parseSignature, sigJson } from './common.js';

/**
 * Default Newton–Schulz iterations: converges (relative error < 1e-8) for eigenvalue ratios λ_min/‖A‖_F down to ~5e-8 — below float32 resolution.
 * @example
 * const Z = inverseSqrtSym(A, 1e-5, 2 * WHITEN_ITERATIONS); // more iterations for an ill-conditioned A
 */
export const WHITEN_ITERATIONS = 24;

/**
 * (A + eps·I)^{-1/2} for symmetric positive (semi-)definite A [..., n, n], batched, from matmuls
 * only (so it is differentiable and runs on every backend). Coupled Newton–Schulz iteration on
 * A' = (A + eps·I)/c with c = ‖A + eps·I‖_F / 2 (so the spectrum of A' lies in (0, 2], where the
 * iteration converges):
 *
 *   Y₀ = A', Z₀ = I;  T = (3I − Z Y)/2;  Y ← Y T;  Z ← T Z;   Z → A'^{-1/2},  result = Z / √c.
 *
 * An eigenvalue ratio ρ = λ/c needs about log(1/√ρ)/log(1.5) + 5 iterations (ρ = 1e-5: 19; 1e-7:
 * 24). The map commutes with orthogonal conjugation (A ↦ gAgᵀ gives gA^{-1/2}gᵀ), which is what
 * makes the whitening equivariant; it equals ginjax's U(Λ + eps)^{-1/2}Uᵀ from eigh.
 * @example
 * const A = tensor([4, 0, 0, 9], [2, 2]);
 * inverseSqrtSym(A); // ≈ [[0.5, 0], [0, 0.333]]
 */
export function inverseSqrtSym(A: Tensor, eps = 0, iterations = WHITEN_ITERATIONS): Tensor {
  const n = A.shape.at(-1)!;
  check(A.shape.length >= 2 && A.shape.at(-2) === n, 'inverseSqrtSym', 'A shape', '[..., n, n]', A.shape);
  checkPositiveInt('inverseSqrtSym', 'iterations', iterations, 1);
  return tidy(() => {
    const eye = new Float32Array(n * n);
    for (let i = 0; i < n; i++) eye[i * n + i] = 1;
    const I = tensor(eye, [n, n], A.backend);
    const I15 = scale(I, 1.5);
    const Ae = eps === 0 ? A : add(A, scale(I, eps));
    const batch = A.shape.slice(0, -2);
    const c = scale(sqrt(sum(square(Ae), [A.shape.length - 2, A.shape.length - 1])), 0.5).reshape([...batch, 1, 1]);
    let Y = div(Ae, c);
    // First step with Z₀ = I: T = (3I − Y)/2, Y ← Y T, Z ← T.
    let Z = subT(I15, scale(Y, 0.5));
    Y = matmul(Y, Z);
    for (let it = 1; it < iterations; it++) {
      const T = subT(I15, scale(matmul(Z, Y), 0.5));
      Y = matmul(Y, T);
      Z = matmul(T, Z);
    }
    return div(Z, sqrt(c));
  });
}

/** Options of `GroupNorm`. */
export interface GroupNormOptions {
  readonly D: number;
  readonly input: SignatureLike;
  /** Number of groups; must divide the channels of every key. */
  readonly groups: number;
  /** Added to variances / covariance eigenvalues (default 1e-5). */
  readonly eps?: number;
  /** Newton–Schulz iterations of the k = 1 whitening (default WHITEN_ITERATIONS). */
  readonly iterations?: number;
}

/**
 * ginjax GroupNorm (LayerNorm = 1 group). Statistics are per batch element and per group G of
 * c/groups consecutive channels, over (channels in G) × space. Per key, with mean_c(x) the
 * per-channel spatial mean of the INPUT (a tensor of the key's type):
 *
 * - k = 0, scalars (0,0): the standard group norm (x − μ_G)/√(σ²_G + eps)·scale_c + bias_c (eqx).
 * - k = 0, pseudoscalars (0,1): the same normalisation, but the bias enters as bias_c·mean_c(x):
 *   ginjax adds bias_c, which is not a pseudoscalar and breaks equivariance once trained. We do not
 *   add a constant to a pseudoscalar (the mean form is ConvContract's bias for non-scalar keys).
 * - k = 1 (both parities): whitening as ginjax: μ_G ∈ ℝ^D, Σ = XᵀX/n over the centred vectors
 *   X = x − μ_G (biased, n = (c/groups)·pixels), out = (Σ + eps·I)^{-1/2}(x − μ_G)·scale_c +
 *   bias_c·mean_c(x). ginjax's eigh form U(Λ + eps)^{-1/2}Uᵀ is the same matrix; here it comes from
 *   `inverseSqrtSym` (Newton–Schulz), differentiable and batched over (batch, group).
 * - k >= 2 (ginjax raises NotImplementedError): the isotropic rule of the scalar case with the
 *   pixel Frobenius norm: μ_G the group-mean tensor, v_G = mean_G ‖x − μ_G‖², out =
 *   (x − μ_G)/√(v_G + eps)·scale_c + bias_c·mean_c(x). Every term is built from tensors of the
 *   key's type and invariant scalars, so it is equivariant.
 *
 * Params: `{ scale: { "k,p": [c] } (init 1), bias: { "k,p": [c] } (init 0) }`.
 * @example
 * const gn = new GroupNorm({ D: 2, input: [[[0, 0], 8], [[1, 0], 8]], groups: 2 });
 */
export class GroupNorm extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly input: Signature;
  readonly D: number;
  readonly groups: number;
  readonly eps: number;
  readonly iterations: number;

  constructor(o: GroupNormOptions, _key?: Key, type = 'GroupNorm') {
    super();
    const fn = type;
    this.D = checkD(fn, o.D);
    this.input = parseSignature(fn, o.input);
    this.groups = checkPositiveInt(fn, 'groups', o.groups);
    this.eps = checkNonNegative(fn, 'eps', o.eps ?? 1e-5);
    this.iterations = checkPositiveInt(fn, 'iterations', o.iterations ?? WHITEN_ITERATIONS);
    for (const e of this.input) {
      check(
        e.channels % this.groups === 0,
        fn,
        `groups (${this.groups})`,
        `a divisor of the channels of every key`,
        `${e.channels} channels for key (${e.k},${e.parity})`,
      );
    }
    const scaleP: Record<string, Tensor> = {};
    const biasP: Record<string, Tensor> = {};
    for (const e of this.input) {
      scaleP[keyName(e.k, e.parity)] = full([e.channels], 1);
      biasP[keyName(e.k, e.parity)] = zeros([e.channels]);
    }
    this.params = { scale: scaleP, bias: biasP };
    this.config =
      type === 'LayerNorm'
        ? { type, D: this.D, input: sigJson(this.input), eps: this.eps, iterations: this.iterations }
        : { type, D: this.D, input: sigJson(this.input), groups: this.groups, eps: this.eps, iterations: this.iterations };
  }

  apply(params: Params, x: MultiImage): MultiImage {
    const fn = this.config.type;
    checkInput(fn, x, this.D, this.input);
    const scaleP = subtree(params, 'scale');
    const biasP = subtree(params, 'bias');
    const B = x.batch;
    const P = x.data.size / (B * x.width);
    const G = this.groups;
    const y = tidy(() =>
      packBlocks(
        x,
        keyBlocks(x).map((b) => {
          const { channels: c, T } = b;
          const cg = c / G;
          const name = keyName(b.k, b.parity);
          const xr = b.data.reshape([B, P, G, cg, T]);
          const mu = mean(xr, [1, 3]).reshape([B, 1, G, 1, T]);
          const xc = subT(xr, mu);
          let normed: Tensor;
          if (b.k === 1) {
            const n = P * cg;
            const rows = G === 1 ? xc.reshape([B, 1, n, T]) : permute(xc, [0, 2, 1, 3, 4]).reshape([B, G, n, T]);
            const cov = scale(matmul(rows, rows, true, false), 1 / n); // [B, G, D, D]
            const S = inverseSqrtSym(cov, this.eps, this.iterations).reshape([B, 1, G, T, T]);
            normed = matmul(xc, S, false, true); // rows (x − μ)ᵀ Sᵀ = (S (x − μ))ᵀ
          } else {
            const v = mean(sum(square(xc), [4]), [1, 3]).reshape([B, 1, G, 1, 1]);
            normed = div(xc, sqrt(addScalar(v, this.eps)));
          }
          const scaled = mul(normed.reshape([B, P, c, T]), leaf(scaleP, name).reshape([c, 1]));
          const bias = leaf(biasP, name).reshape([c, 1]);
          const withBias =
            b.k === 0 && b.parity === 0 ? add(scaled, bias) : add(scaled, mul(mean(b.data.reshape([B, P, c, T]), [1]).reshape([B, 1, c, T]), bias));
          return withBias.reshape([B * P, c, T]);
        }),
      ),
    );
    return new MultiImage(y, this.input, this.D, x.isTorus);
  }
}

/** Options of `LayerNorm`. */
export interface LayerNormOptions {
  readonly D: number;
  readonly input: SignatureLike;
  readonly eps?: number;
  readonly iterations?: number;
}

/**
 * ginjax LayerNorm: GroupNorm with one group (statistics over all channels of a key and space).
 * @example
 * const ln = new LayerNorm({ D: 2, input: [[[0, 0], 8], [[1, 0], 8]] });
 * const y = ln.call(x);
 */
export class LayerNorm extends GroupNorm {
  constructor(o: LayerNormOptions, key?: Key) {
    super({ ...o, groups: 1 }, key, 'LayerNorm');
  }
}
