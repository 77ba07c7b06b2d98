/**
 * Pooling and upsampling layers (no parameters), plus the learned 2×2 equivariant upsampling
 * convolution of ginjax's UNet, which is a ConvContract (see `upsampleConv`).
 */
import { check } from '../../core/errors.js';
import { add, binary, div, mul, scale, sub } from '../../ops/binary.js';
import { concat } from '../../ops/concat.js';
import { max, sum } from '../../ops/reduce.js';
import { relu, sqrt, square } from '../../ops/unary.js';
import { scalar, tidy, type Tensor } from '../../tensor.js';
import type { Key } from '../../core/random.js';
import { resolveFilterSpec, type FilterSpec } from '../../geometric/filters.js';
import type { OperatorLike } from '../../geometric/group.js';
import { MultiImage } from '../../geometric/multi-image.js';
import type { SignatureLike } from '../../geometric/signature.js';
import { ConvContract, type BiasMode } from '../conv-contract.js';
import { Module, type ModuleConfig, type Params } from '../module.js';
import { checkDivisible, checkInput, checkPositiveInt } from './common.js';

/** Options of the pooling layers: the patch side. */
export interface PoolOptions {
  readonly patch: number;
}

/** Options of `MaxNormPool`. */
export interface MaxNormPoolOptions extends PoolOptions {
  /** Compare pixel Frobenius norms (default true); false compares raw values (scalar-only images). */
  readonly useNorm?: boolean;
  /**
   * Relative width τ of the near-tie band (default 0: only exact ties are shared): window
   * pixels whose norm is within τ·max of the window's largest share the output (see MaxNormPool).
   */
  readonly tieTolerance?: number;
}

/**
 * MaxNormPool's default near-tie band: 0, exact ties only. A band wide enough to absorb float32
 * rounding (τ ≳ 1e-3) changes ginjax's output wherever a window's top two norms are that close, which
 * the ginjax goldens (and any converted ginjax model) do not allow; choose τ > 0 for a model of your own.
 */
export const MAX_NORM_POOL_TIE_TOLERANCE = 0;

/** A parameter-free layer applying one patch operation of MultiImage to its input. */
abstract class PatchLayer extends Module {
  readonly config: ModuleConfig;
  readonly params: Params = {};
  readonly patch: number;

  constructor(type: string, patch: number, extra: Record<string, boolean | number> = {}) {
    super();
    this.patch = checkPositiveInt(type, 'patch', patch);
    this.config = { type, patch: this.patch, ...extra };
  }

  apply(_params: Params, x: MultiImage): MultiImage {
    checkInput(this.config.type, x, x instanceof MultiImage ? x.D : 2);
    return this.map(x);
  }

  protected abstract map(x: MultiImage): MultiImage;
}

const patchOf = (o: PoolOptions | number) => (typeof o === 'number' ? o : o.patch);
const eq = (a: Tensor, b: Tensor) => binary('eq', a, b);

/** 1 − 3t² + 2t³ of t clipped to [0, 1]. */
function smoothWeight(t: Tensor): Tensor {
  const one = scalar(1, t.backend);
  const c = sub(one, relu(sub(one, relu(t)))); // min(max(t, 0), 1)
  return add(one, mul(square(c), sub(scale(c, 2), scalar(3, t.backend))));
}

/**
 * ginjax MaxNormPool: in every non-overlapping patch^D window, each channel keeps the whole tensor
 * at its largest pixel norm. Equivariant for spatial sizes divisible by the patch. With useNorm =
 * false (the baseline UNet) it is the plain max pool of a scalar image (continuous, no tie rule).
 *
 * Near ties (geoconv, not ginjax): ginjax takes the first maximum in row-major window order. That
 * rule does not commute with the group (a rotation reorders the window), and when two norms agree
 * to float32 rounding the winner is decided by rounding, which differs between x and g·x: the output
 * jumps from one tensor to another. Here every window pixel gets the weight
 *
 *   a = s((m − n)/(τ·m)),  s(t) = 1 − 3t² + 2t³ on [0, 1], 0 beyond  (n its norm, m the window's
 *   largest, τ = tieTolerance)
 *
 * and the output is Σ a·x / Σ a. The weights depend only on norms (invariants) and are continuous
 * in them, so the pool commutes with the group, and a relative change δ of a norm moves the output
 * by at most 1.5·δ/τ times the gap between the tied tensors (by much less for near-exact ties, where
 * s is flat) instead of by the whole gap. Where the runner-up is at least τ·m below the maximum,
 * only the maximum has weight and the output is ginjax's, bit for bit. With
 * τ = 0 exactly equal maxima are averaged (still equivariant for exact ties, not for near ones).
 * NaN in a window gives NaN in that channel's output.
 * @example
 * const pool = new MaxNormPool(2); // or { patch: 2 }
 * const y = pool.call(x); // spatial sides halved
 */
export class MaxNormPool extends PatchLayer {
  readonly useNorm: boolean;
  readonly tieTolerance: number;

  constructor(o: MaxNormPoolOptions | number, _key?: Key) {
    const useNorm = typeof o === 'number' ? true : (o.useNorm ?? true);
    const tol = typeof o === 'number' ? MAX_NORM_POOL_TIE_TOLERANCE : (o.tieTolerance ?? MAX_NORM_POOL_TIE_TOLERANCE);
    check(typeof tol === 'number' && tol >= 0 && tol < 1, 'MaxNormPool', 'tieTolerance', 'a number in [0, 1)', tol);
    // The config names the band only when it is not the default, so configs written before it existed stay equal.
    super('MaxNormPool', patchOf(o), tol === MAX_NORM_POOL_TIE_TOLERANCE ? { useNorm } : { useNorm, tieTolerance: tol });
    this.useNorm = useNorm;
    this.tieTolerance = tol;
  }

  protected map(x: MultiImage): MultiImage {
    checkDivisible('MaxNormPool', x, this.patch);
    return this.useNorm ? maxNormPoolTies(x, this.patch, this.tieTolerance) : x.maxPool(this.patch, false);
  }
}

/**
 * The tie-sharing max-norm pool of MaxNormPool on every key: per block [B, ...spatial, c·T], viewed
 * as [B, P_0, p, …, P_{D−1}, p, c, T] so that the window maximum broadcasts back over its window.
 */
export function maxNormPoolTies(x: MultiImage, patch: number, tieTolerance: number): MultiImage {
  const D = x.D;
  const P = x.spatial.map((n) => n / patch);
  const win = P.flatMap((n) => [n, patch]);
  const winAxes = P.map((_, i) => 2 + 2 * i);
  const y = tidy(() => {
    const parts = x.signature.map((e) => {
      const T = D ** e.k;
      const zero = scalar(0, x.data.backend); // m = 0 (an all-zero window): t = 0/1, every weight 1
      const b = x.packedBlock(e.k, e.parity).reshape([x.batch, ...win, e.channels, T]);
      const n = sqrt(sum(square(b), [2 * D + 2])); // [B, ...win, c]
      const kept = [x.batch, ...P.flatMap((m) => [m, 1]), e.channels];
      const m = max(n, winAxes).reshape(kept);
      // t = (m − n)/(τ·m) clipped to [0, 1]; a = 1 − 3t² + 2t³ (smoothstep: flat at t = 0, so a
      // tie's weights barely move when rounding moves its norms, and flat at t = 1).
      const a = tieTolerance > 0 ? smoothWeight(div(sub(m, n), add(scale(m, tieTolerance), eq(m, zero)))) : eq(n, m);
      const total = sum(a, winAxes).reshape(kept); // >= 1: the maximum has weight 1
      const w = div(a, total);
      const pooled = sum(mul(b, w.reshape([...w.shape, 1])), winAxes);
      return pooled.reshape([x.batch, ...P, e.channels * T]);
    });
    return parts.length === 1 ? parts[0]! : concat(parts, D + 1);
  });
  return new MultiImage(y, x.signature, D, x.isTorus);
}

/**
 * ginjax average pool: the mean over non-overlapping patch^D windows, every key (MultiImage.averagePool). Equivariant.
 * @example
 * const y = new AveragePool(2).call(x);
 */
export class AveragePool extends PatchLayer {
  constructor(o: PoolOptions | number, _key?: Key) {
    super('AveragePool', patchOf(o));
  }

  protected map(x: MultiImage): MultiImage {
    checkDivisible('AveragePool', x, this.patch);
    return x.averagePool(this.patch);
  }
}

/**
 * ginjax unpool: nearest-neighbour upsampling by `patch` (each pixel becomes a patch^D block; MultiImage.unpool). Equivariant.
 * @example
 * const y = new Unpool(2).call(x); // spatial sides doubled
 */
export class Unpool extends PatchLayer {
  constructor(o: PoolOptions | number, _key?: Key) {
    super('Unpool', patchOf(o));
  }

  protected map(x: MultiImage): MultiImage {
    return x.unpool(this.patch);
  }
}

/** Options of `UpsampleConv`. */
export interface UpsampleConvOptions {
  readonly D: number;
  readonly input: SignatureLike;
  readonly output: SignatureLike;
  readonly useBias?: BiasMode;
  /** ginjax's `upsample_filters`: an even side (default M = 2, every key). */
  readonly filters?: FilterSpec;
  /** The symmetry group (default all of B_D). */
  readonly operators?: readonly OperatorLike[];
}

/**
 * The learned equivariant 2× upsampling of ginjax's UNet: a ConvContract with the invariant filters
 * of an even side M (default 2, ginjax's), lhs dilation 2 and literal padding (M/2, M/2) per axis
 * (zero padding even on a torus, as ginjax). It maps N to 2N: in 1-D with M = 2, out[2i] = C[1]·x[i]
 * and out[2i+1] = C[0]·x[i]. Only even M with symmetric padding M/2 keeps the grid centre of the
 * output where the dilated input's is, which equivariance needs.
 * @example
 * const up = upsampleConv({ D: 2, input: [[[1, 0], 8]], output: [[[1, 0], 4]] }, random.key(0));
 * const y = up.call(x); // spatial N → 2N
 */
export function upsampleConv(o: UpsampleConvOptions, key: Key): ConvContract {
  const spec = o.filters === undefined || o.filters === null ? null : resolveFilterSpec('upsampleConv', 'filters', o.filters);
  const M = spec?.M ?? 2;
  check(M % 2 === 0, 'upsampleConv', 'filters.M', 'even (a 2× upsampling stays centred only with padding M/2 on both sides)', M);
  const padding = Array.from({ length: o.D }, () => [M / 2, M / 2] as const);
  return new ConvContract(
    {
      D: o.D,
      input: o.input,
      output: o.output,
      M,
      padding,
      lhsDilation: 2,
      useBias: o.useBias,
      ...(o.filters ? { filters: o.filters } : {}),
      ...(o.operators ? { operators: o.operators } : {}),
    },
    key,
  );
}
