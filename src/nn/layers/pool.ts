/**
 * Pooling and upsampling layers (no parameters), plus the learned 2×2 equivariant upsampling
 * convolution of ginjax's UNet, which is a ConvContract (see `upsampleConv`).
 */
import { check } from '../../core/errors.js';
import type { Key } from '../../core/random.js';
import { resolveFilterSpec, type FilterSpec } from '../../geometric/filters.js';
import type { OperatorLike } from '../../geometric/group.js';
import { MultiImage } from '../../geometric/multi-image.js';
import type { SignatureLike } from '../../geometric/signature.js';
import { ConvContract, type BiasMode } from '../conv-contract.js';
import { Module, registerModule, type ModuleConfig, type Params } from '../module.js';
import { checkDivisible, checkInput, checkPositiveInt } from './common.js';

export interface PoolOptions {
  readonly patch: number;
}

export interface MaxNormPoolOptions extends PoolOptions {
  /** Compare pixel Frobenius norms (default true); false compares raw values (scalar-only images). */
  readonly useNorm?: boolean;
}

/** A parameter-free layer applying one patch operation of MultiImage to its input. */
abstract class PatchLayer extends Module {
  readonly config: ModuleConfig;
  readonly params: Params = {};
  readonly patch: number;

  constructor(type: string, patch: number, extra: Record<string, boolean> = {}) {
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

/**
 * ginjax MaxNormPool: in every non-overlapping patch^D window, each channel keeps the whole tensor
 * at its largest pixel norm (first maximum in row-major window order). Equivariant for spatial
 * sizes divisible by the patch (ties aside). With useNorm = false (the baseline UNet) it is the
 * plain max pool of a scalar image. (MultiImage.maxPool.)
 */
export class MaxNormPool extends PatchLayer {
  readonly useNorm: boolean;

  constructor(o: MaxNormPoolOptions | number, _key?: Key) {
    const useNorm = typeof o === 'number' ? true : o.useNorm ?? true;
    super('MaxNormPool', patchOf(o), { useNorm });
    this.useNorm = useNorm;
  }

  protected map(x: MultiImage): MultiImage {
    checkDivisible('MaxNormPool', x, this.patch);
    return x.maxPool(this.patch, this.useNorm);
  }
}

/** ginjax average pool: the mean over non-overlapping patch^D windows, every key (MultiImage.averagePool). Equivariant. */
export class AveragePool extends PatchLayer {
  constructor(o: PoolOptions | number, _key?: Key) {
    super('AveragePool', patchOf(o));
  }

  protected map(x: MultiImage): MultiImage {
    checkDivisible('AveragePool', x, this.patch);
    return x.averagePool(this.patch);
  }
}

/** ginjax unpool: nearest-neighbour upsampling by `patch` (each pixel becomes a patch^D block; MultiImage.unpool). Equivariant. */
export class Unpool extends PatchLayer {
  constructor(o: PoolOptions | number, _key?: Key) {
    super('Unpool', patchOf(o));
  }

  protected map(x: MultiImage): MultiImage {
    return x.unpool(this.patch);
  }
}

registerModule('MaxNormPool', (c, key) => new MaxNormPool(c as unknown as MaxNormPoolOptions, key));
registerModule('AveragePool', (c, key) => new AveragePool(c as unknown as PoolOptions, key));
registerModule('Unpool', (c, key) => new Unpool(c as unknown as PoolOptions, key));

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
 */
export function upsampleConv(o: UpsampleConvOptions, key: Key): ConvContract {
  const spec = o.filters === undefined || o.filters === null ? null : resolveFilterSpec('upsampleConv', 'filters', o.filters);
  const M = spec?.M ?? 2;
  check(M % 2 === 0, 'upsampleConv', 'filters.M', 'even (a 2× upsampling stays centred only with padding M/2 on both sides)', M);
  const padding = Array.from({ length: o.D }, () => [M / 2, M / 2] as const);
  return new ConvContract({
    D: o.D, input: o.input, output: o.output, M, padding, lhsDilation: 2, useBias: o.useBias,
    ...(o.filters ? { filters: o.filters } : {}), ...(o.operators ? { operators: o.operators } : {}),
  }, key);
}
