/**
 * Models (ginjax models.py): ConvBlock, UNet, ResNet, DilResNet, ModelWrapper, GroupAverage — each
 * with its `equivariant: false` baseline. The equivariant path works on MultiImages of any
 * signature with ConvContract, VectorNeuron activations and equivariant norms; the baseline path
 * flattens every tensor component into a scalar channel (toScalarMultiImage, free on our packed
 * layout), runs plain convolutions with zero 'SAME' padding, and reads the result back as the
 * output signature — exactly ginjax's comparison, asymmetries included (inventory §4, §10 item 15).
 */
import { check } from '../core/errors.js';
import { split, type Key } from '../core/random.js';
import { filterSpecJson, invariantFilters, resolveFilterSpec, type FilterSpec, type ResolvedFilterSpec } from '../geometric/filters.js';
import { operators, inverse, isFullGroup, resolveOperators, type GroupElement, type OperatorLike } from '../geometric/group.js';
import { MultiImage } from '../geometric/multi-image.js';
import { signature, signatureWidth, type Signature, type SignatureEntry, type SignatureLike } from '../geometric/signature.js';
import type { Tensor } from '../tensor.js';
import { ConvContract, type BiasMode } from './conv-contract.js';
import {
  Activation,
  BatchNorm,
  Conv,
  ConvTranspose,
  LayerNorm,
  MaxNormPool,
  VectorNeuronNonlinear,
  NormNonlinear,
  upsampleConv,
  type ActivationName,
  type LayerCallOptions,
} from './layers/index.js';
import { checkInput } from './layers/common.js';
import { GroupNorm } from './layers/norm.js';
import { lastInputStep } from '../train/autoregressive.js';
import { Module, subtree, type Json, type ModuleConfig, type Params } from './module.js';

const sigJson = (s: Signature): Json => s.map((e) => ({ k: e.k, parity: e.parity, channels: e.channels }));

/**
 * ginjax signature_union: every key of a and b, each with `channels` channels (canonical order).
 * @example
 * signatureUnion(signature([[[0, 0], 1]]), signature([[[1, 0], 2]]), 4); // (0,0) and (1,0), 4 channels each
 */
export function signatureUnion(a: Signature, b: Signature, channels: number): Signature {
  const keys = new Map([...a, ...b].map((e) => [`${e.k},${e.parity}`, { k: e.k, parity: e.parity, channels }] as const));
  return signature([...keys.values()]);
}

/** A module built from named children; params and buffers are theirs. */
abstract class Composite extends Module {
  readonly params: Params;
  readonly children: ReadonlyMap<string, Module>;

  constructor(children: readonly (readonly [string, Module])[]) {
    super();
    this.children = new Map(children);
    this.params = Object.fromEntries(children.map(([n, m]) => [n, m.params]));
  }

  override buffers(): Tensor[] {
    return [...this.children.values()].flatMap((m) => m.buffers());
  }

  /** Applies child `name`; disposes `x` when `consume` (an intermediate of this forward pass). */
  protected run(name: string, params: Params, x: MultiImage, options: LayerCallOptions | undefined, consume: boolean): MultiImage {
    const y = this.children.get(name)!.apply(subtree(params, name), x, options);
    if (consume) x.dispose();
    return y;
  }

  override submodules(): readonly Module[] {
    return [...this.children.values()];
  }
}

/**
 * ginjax's count_params: the trainable parameters plus the invariant-filter dictionary that every
 * ginjax ConvContract stores as an array leaf (we keep only the bases each layer needs, as buffers).
 * @example
 * console.log(model.parameterCount(), ginjaxParameterCount(model)); // ours, and what ginjax's count_params reports
 */
export function ginjaxParameterCount(model: Module): number {
  const stored = (m: Module): number => (m instanceof ConvContract ? storedFilterFloats(m) : 0) + m.submodules().reduce((n, c) => n + stored(c), 0);
  return model.parameterCount() + stored(model);
}

/**
 * The floats of the filter dictionary ginjax stores on a ConvContract: invariant filters of side M
 * (under the layer's group) for the orders of its filter set — by default k = 0..(max k_in +
 * max k_out) — and its parities (459 for M=3, k ≤ 2 in 2-D; 84 for M=2, under all of B_2).
 */
export function storedFilterFloats(layer: ConvContract): number {
  const { D, M, filters } = layer.config as unknown as { D: number; M: number; filters?: FilterSpec };
  const spec = filters ? resolveFilterSpec('storedFilterFloats', 'filters', filters) : null;
  const kmax = Math.max(...layer.input.map((e) => e.k)) + Math.max(...layer.output.map((e) => e.k));
  const ks = spec?.ks ?? Array.from({ length: kmax + 1 }, (_, k) => k);
  let n = 0;
  for (const k of ks)
    for (const p of spec?.parities ?? [0, 1])
      n += invariantFilters(D, M, k, p, { scale: spec?.scale ?? 'normalize', operators: layer.operators }).count * M ** D * D ** k;
  return n;
}

/** Options shared by the blocks and models. */
export interface BlockOptions {
  readonly D: number;
  readonly useBias?: BiasMode;
  /** null: no activation. */
  readonly activation?: ActivationName | null;
  /**
   * How an equivariant ConvBlock applies `activation` to its tensors: 'vector-neuron' (default,
   * ginjax's VectorNeuronNonlinear) or 'norm' (NormNonlinear: a per-channel gate on each tensor's
   * norm; about twice as fast, and the more accurate of the two on the Navier–Stokes emulation, see
   * the README). Baselines apply `activation` pointwise and take neither.
   */
  readonly nonlinearity?: EquivariantNonlinearity;
  readonly equivariant?: boolean;
  /** Equivariant conv filter side (default 3). */
  readonly M?: number;
  /** Baseline kernel side (default 3). */
  readonly kernel?: number;
  readonly useGroupNorm?: boolean;
  readonly useBatchNorm?: boolean;
  readonly preactivation?: boolean;
  readonly rhsDilation?: number;
  /**
   * The symmetry group of the equivariant path: a subgroup of B_D as elements, indices into
   * operators(D) or signed permutation matrices (e.g. `subgroup(2, 'axis-flips')`). Every
   * convolution uses filters invariant under exactly this group, so the model is equivariant under
   * it (and, generically, under nothing more). Default: all of B_D.
   */
  readonly operators?: readonly OperatorLike[];
  /**
   * ginjax's `conv_filters`: the explicit filter set of every convolution ({ M, ks, parities,
   * scale }); pairs whose key lies outside it are skipped. Default: side `M`, every key.
   */
  readonly convFilters?: FilterSpec;
}

/** Options of `ConvBlock`: the block options plus its input and output signatures. */
export interface ConvBlockOptions extends BlockOptions {
  readonly input: SignatureLike;
  readonly output: SignatureLike;
}

/**
 * ginjax ConvBlock: conv → norm → activation (or, with preactivation, norm → activation → conv).
 * Equivariant: ConvContract, LayerNorm, VectorNeuronNonlinear. Baseline (scalar channels): Conv with
 * zero 'SAME' padding and bias (ginjax turns 'auto' into True), GroupNorm(1 group) or BatchNorm,
 * pointwise activation.
 * @example
 * const block = new ConvBlock({ D: 2, input: [[[0, 0], 1], [[1, 0], 1]], output: [[[0, 0], 4], [[1, 0], 4]], activation: 'gelu' }, random.key(0));
 * const y = block.call(x);
 */
export class ConvBlock extends Composite {
  readonly config: ModuleConfig;
  readonly input: Signature;
  readonly output: Signature;
  readonly #order: string[];

  constructor(o: ConvBlockOptions, key: Key) {
    const eq = o.equivariant ?? true;
    symmetryOf('ConvBlock', o);
    const input = signature(o.input, 'ConvBlock input');
    const declared = signature(o.output, 'ConvBlock output');
    const [kConv, kAct] = split(key, 2) as [Key, Key];
    const conv = makeConv(o, input, declared, kConv);
    const output = conv instanceof ConvContract ? conv.output : declared;
    const normKeys = o.preactivation ? input : output;
    const children: [string, Module][] = [['conv', conv]];
    if (o.useGroupNorm) children.push(['norm', eq ? new LayerNorm({ D: o.D, input: normKeys }) : new GroupNorm({ D: o.D, input: normKeys, groups: 1 })]);
    else if (o.useBatchNorm) {
      check(!eq, 'ConvBlock', 'useBatchNorm', 'false for equivariant blocks (batch norm is not equivariant)', true);
      children.push(['norm', new BatchNorm({ D: o.D, input: normKeys })]);
    }
    const activation = o.activation === undefined ? 'gelu' : o.activation;
    if (activation) children.push(['act', eq ? equivariantNonlinear(o, normKeys, activation, kAct) : new Activation(activation)]);
    super(children);
    this.input = input;
    this.output = output;
    const names = children.map(([n]) => n);
    this.#order = o.preactivation ? [...names.filter((n) => n !== 'conv'), 'conv'] : names;
    this.config = { type: 'ConvBlock', ...blockJson(o), input: sigJson(input), output: sigJson(declared) };
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    return this.#order.reduce((y, name) => this.run(name, params, y, options, y !== x), x);
  }
}

/** How an equivariant block applies its activation to tensors: VectorNeuronNonlinear ('vector-neuron') or NormNonlinear ('norm'). */
export type EquivariantNonlinearity = 'vector-neuron' | 'norm';

function equivariantNonlinear(o: BlockOptions, input: Signature, activation: ActivationName, key: Key): Module {
  return (o.nonlinearity ?? 'vector-neuron') === 'norm'
    ? new NormNonlinear({ D: o.D, input, activation })
    : new VectorNeuronNonlinear({ D: o.D, input, activation }, key);
}

/**
 * The group and conv filter set of block/model options, validated: a baseline takes neither
 * (it has no invariant filters; wrap it in GroupAverage({ operators }) instead), M and
 * convFilters.M must agree, and the default is (B_D, side M or 3, every key).
 */
function symmetryOf(
  fn: string,
  o: BlockOptions & { upsampleFilters?: FilterSpec },
): { G: readonly GroupElement[] | null; conv: ResolvedFilterSpec | null; M: number } {
  const eq = o.equivariant ?? true;
  check(
    o.nonlinearity === undefined || o.nonlinearity === 'vector-neuron' || o.nonlinearity === 'norm',
    fn,
    'nonlinearity',
    "'vector-neuron' or 'norm'",
    o.nonlinearity,
  );
  for (const field of ['operators', 'convFilters', 'upsampleFilters'] as const) {
    check(
      eq || o[field] === undefined || o[field] === null,
      fn,
      field,
      'left out for a baseline (equivariant: false has no invariant filters; use GroupAverage({ model, operators }) for a symmetrised baseline)',
      'given',
    );
  }
  check(eq || o.nonlinearity === undefined, fn, 'nonlinearity', 'left out for a baseline (it applies `activation` pointwise)', o.nonlinearity);
  const conv = o.convFilters === undefined || o.convFilters === null ? null : resolveFilterSpec(fn, 'convFilters', o.convFilters);
  check(o.M === undefined || o.M === null || conv === null || o.M === conv.M, fn, 'M', `equal to convFilters.M = ${conv?.M} when both are given`, o.M);
  const G = eq ? resolveOperators(fn, o.operators, o.D) : null;
  return { G, conv, M: conv?.M ?? o.M ?? 3 };
}

/** Operators as config JSON: the sorted indices into operators(D), or nothing for the full group. */
function operatorsJson(G: readonly GroupElement[] | null): Record<string, Json> {
  return G === null || isFullGroup(G) ? {} : { operators: G.map((g) => g.index) };
}

function blockJson(o: BlockOptions): Record<string, Json> {
  const { G, conv, M } = symmetryOf('config', o);
  return {
    D: o.D,
    useBias: o.useBias ?? 'auto',
    activation: o.activation === undefined ? 'gelu' : o.activation,
    equivariant: o.equivariant ?? true,
    M,
    kernel: o.kernel ?? 3,
    useGroupNorm: o.useGroupNorm ?? false,
    useBatchNorm: o.useBatchNorm ?? false,
    preactivation: o.preactivation ?? false,
    rhsDilation: o.rhsDilation ?? 1,
    ...operatorsJson(G),
    ...(conv ? { convFilters: filterSpecJson(conv) } : {}),
    // only when not ginjax's: configs of models without the option stay as they were
    ...(o.nonlinearity === 'norm' ? { nonlinearity: o.nonlinearity } : {}),
  };
}

/** ginjax make_conv: ConvContract, or a plain Conv on scalar channels (zero SAME padding, bias on for 'auto'). */
function makeConv(o: BlockOptions, input: Signature, output: Signature, key: Key, extra: { lhsDilation?: number; kernel?: number } = {}): Module {
  if (o.equivariant ?? true) {
    const { G, conv, M } = symmetryOf('ConvBlock', o);
    return new ConvContract(
      {
        D: o.D,
        input,
        output,
        M,
        useBias: o.useBias ?? 'auto',
        rhsDilation: o.rhsDilation ?? 1,
        operators: G!,
        ...(conv ? { filters: filterSpecJson(conv) } : {}),
      },
      key,
    );
  }
  scalarOnly('baseline conv', input);
  scalarOnly('baseline conv', output);
  const useBias = o.useBias === undefined || o.useBias === 'auto' || o.useBias === true || o.useBias === 'mean' || o.useBias === 'scalar';
  return new Conv(
    {
      D: o.D,
      inChannels: input[0]!.channels,
      outChannels: output[0]!.channels,
      kernel: extra.kernel ?? o.kernel ?? 3,
      rhsDilation: o.rhsDilation ?? 1,
      useBias,
    },
    key,
  );
}

function scalarOnly(fn: string, s: Signature): void {
  check(
    s.length === 1 && s[0]!.k === 0 && s[0]!.parity === 0,
    fn,
    'signature',
    'a single (0,0) key (scalar channels)',
    s.map((e) => `(${e.k},${e.parity})`),
  );
}

const scalarSig = (channels: number): Signature => signature([{ k: 0, parity: 0, channels }]);

/** Common model options. */
export interface ModelOptions extends BlockOptions {
  readonly input: SignatureLike;
  readonly output: SignatureLike;
  /** Channels per key type in the middle of the network. */
  readonly depth: number;
}

/** Shared model plumbing: signatures, the baseline's scalar conversion, config. */
abstract class Model extends Composite {
  readonly input: Signature;
  readonly output: Signature;
  readonly equivariant: boolean;
  readonly D: number;

  constructor(children: readonly (readonly [string, Module])[], o: ModelOptions) {
    super(children);
    this.input = signature(o.input, 'model input');
    this.output = signature(o.output, 'model output');
    this.equivariant = o.equivariant ?? true;
    this.D = o.D;
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    checkInput(this.config.type, x, this.D, this.input);
    if (this.equivariant) return this.forward(params, x, options);
    const scalars = x.toScalarMultiImage();
    const y = this.forward(params, scalars, options);
    const out = y.fromScalarMultiImage(this.output);
    y.dispose();
    scalars.dispose();
    return out;
  }

  /** The network body on the (possibly scalar-converted) input. */
  protected abstract forward(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage;
}

/** The signatures of a model's body: equivariant (per key type) or baseline (scalar channels). */
function bodySignatures(o: ModelOptions) {
  const input = signature(o.input, 'model input');
  const output = signature(o.output, 'model output');
  check(Number.isInteger(o.depth) && o.depth >= 1, 'model', 'depth', 'an integer >= 1', o.depth);
  if (o.equivariant ?? true) {
    const mid = (c: number) => signatureUnion(input, output, c);
    return { input, output, mid };
  }
  return { input: scalarSig(signatureWidth(input, o.D)), output: scalarSig(signatureWidth(output, o.D)), mid: scalarSig };
}

/** Options of `UNet`: the model options plus the number of 2× downsamplings (default 4), blocks per level (default 2) and the upsampling filters. */
export interface UNetOptions extends ModelOptions {
  readonly numDownsamples?: number;
  readonly numConv?: number;
  /** ginjax's `upsample_filters` for the up path's learned upsampling: an even side (default M = 2, every key). */
  readonly upsampleFilters?: FilterSpec;
}

/**
 * Checks that `layer` (a ConvContract or ConvBlock) reaches every key of `want`: with a filter set
 * or subgroup that has no invariant filter linking any input key to some key, ginjax silently drops
 * that key, which a model's output or a residual sum cannot absorb.
 */
function requireKeys(fn: string, layer: Module, want: Signature, where: string, o: BlockOptions): void {
  if (!(layer instanceof ConvContract || layer instanceof ConvBlock)) return;
  const missing = want.filter((e) => !layer.output.some((g) => g.k === e.k && g.parity === e.parity));
  if (missing.length === 0) return;
  const set = o.convFilters ? JSON.stringify(o.convFilters) : `{"M":${o.M ?? 3}}`;
  const group = o.operators ? ` under the ${resolveOperators(fn, o.operators, o.D).length}-element group` : '';
  check(
    false,
    fn,
    'convFilters',
    `a filter set with filters for every key ${where} needs: none of its keys (k_in + k_out, p_in + p_out) links the layer's input {${layer.input.map((e) => `(${e.k},${e.parity})`).join(', ')}} to ${missing.map((e) => `(${e.k},${e.parity})`).join(', ')}${group}`,
    set,
  );
}

/**
 * ginjax UNet: embedding (numConv blocks) → numDownsamples × [max(-norm) pool 2, numConv blocks,
 * channels doubling] → up path × [upsample (equivariant: learned 2×2 invariant-filter conv with lhs
 * dilation; baseline: ConvTranspose 2/2), concat with the skip (upsampled first), numConv blocks]
 * → a plain output conv. Spatial sizes must be divisible by 2^numDownsamples.
 * @example
 * const model = new UNet({ D: 2, input: [[[0, 0], 1], [[1, 0], 1]], output: [[[1, 0], 1]], depth: 16, numDownsamples: 2 }, random.key(0));
 * const y = model.predict(x); // spatial sides divisible by 2² = 4
 * const baseline = new UNet({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], depth: 16, equivariant: false }, random.key(0));
 */
export class UNet extends Model {
  readonly config: ModuleConfig;
  readonly #levels: number;
  readonly #numConv: number;

  constructor(o: UNetOptions, key: Key) {
    const n = o.numDownsamples ?? 4;
    const numConv = o.numConv ?? 2;
    check(Number.isInteger(numConv) && numConv >= 1, 'UNet', 'numConv', 'an integer >= 1', numConv);
    check(Number.isInteger(n) && n >= 0, 'UNet', 'numDownsamples', 'an integer >= 0', n);
    check(!(o.useBatchNorm && (o.equivariant ?? true)), 'UNet', 'useBatchNorm', 'false when equivariant', true);
    const eq = o.equivariant ?? true;
    const { G } = symmetryOf('UNet', o);
    const upSpec = o.upsampleFilters === undefined || o.upsampleFilters === null ? null : resolveFilterSpec('UNet', 'upsampleFilters', o.upsampleFilters);
    const { input, output, mid } = bodySignatures(o);
    const keys = split(key, 2 + numConv * (2 * n + 1) + n);
    let ki = 0;
    const children: [string, Module][] = [];
    let sig = input;
    const block = (name: string, out: Signature) => {
      const b = new ConvBlock({ ...o, input: sig, output: out }, keys[ki++]!);
      children.push([name, b]);
      sig = b.output;
    };
    building(children, () => {
      for (let i = 0; i < numConv; i++) block(`embed${i}`, mid(o.depth));
      const skips: Signature[] = [];
      for (let d = 1; d <= n; d++) {
        skips.push(sig);
        children.push([`pool${d}`, new MaxNormPool({ patch: 2, useNorm: eq })]);
        for (let i = 0; i < numConv; i++) block(`down${d}_${i}`, mid(o.depth * 2 ** d));
      }
      for (let u = n - 1; u >= 0; u--) {
        const up = eq
          ? upsampleConv(
              {
                D: o.D,
                input: sig,
                output: mid(o.depth * 2 ** u),
                useBias: o.useBias ?? 'auto',
                operators: G!,
                ...(upSpec ? { filters: filterSpecJson(upSpec) } : {}),
              },
              keys[ki++]!,
            )
          : new ConvTranspose(
              { D: o.D, inChannels: sig[0]!.channels, outChannels: o.depth * 2 ** u, kernel: 2, stride: 2, useBias: o.useBias !== false },
              keys[ki++]!,
            );
        children.push([`up${u}`, up]);
        const upSig = up instanceof ConvContract ? up.output : scalarSig(o.depth * 2 ** u);
        sig = concatSignature(upSig, skips[u]!);
        for (let i = 0; i < numConv; i++) block(`up${u}_${i}`, mid(o.depth * 2 ** u));
      }
      const decode = makeConv({ ...o, activation: null }, sig, output, keys[ki++]!);
      children.push(['decode', decode]);
      requireKeys('UNet', decode, output, 'the output', o);
    });
    super(children, o);
    this.#levels = n;
    this.#numConv = numConv;
    this.config = {
      type: 'UNet',
      ...blockJson(o),
      input: sigJson(this.input),
      output: sigJson(this.output),
      depth: o.depth,
      numDownsamples: n,
      numConv,
      ...(upSpec ? { upsampleFilters: filterSpecJson(upSpec) } : {}),
    };
  }

  protected forward(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    const p = 2 ** this.#levels;
    x.spatial.forEach((s, i) => check(s % p === 0, 'UNet', `spatial size on axis ${i}`, `divisible by 2^numDownsamples = ${p}`, s));
    let y = x;
    const step = (name: string) => (y = this.run(name, params, y, options, y !== x));
    for (let i = 0; i < this.#numConv; i++) step(`embed${i}`);
    const skips: MultiImage[] = [];
    for (let d = 1; d <= this.#levels; d++) {
      skips.push(y);
      y = this.run(`pool${d}`, params, y, options, false);
      for (let i = 0; i < this.#numConv; i++) step(`down${d}_${i}`);
    }
    for (let u = this.#levels - 1; u >= 0; u--) {
      step(`up${u}`);
      const skip = skips[u]!;
      const joined = y.concat(skip, 'channel');
      y.dispose();
      if (skip !== x) skip.dispose();
      y = joined;
      for (let i = 0; i < this.#numConv; i++) step(`up${u}_${i}`);
    }
    return this.run('decode', params, y, options, y !== x);
  }
}

/** Runs a model's construction; if it throws, frees the children built so far (their parameters). */
function building(children: readonly (readonly [string, Module])[], build: () => void): void {
  try {
    build();
  } catch (e) {
    for (const [, m] of children) m.dispose();
    throw e;
  }
}

/** Signature of a.concat(b, 'channel'). */
function concatSignature(a: Signature, b: Signature): Signature {
  const m = new Map<string, SignatureEntry>();
  for (const e of [...a, ...b]) {
    const k = `${e.k},${e.parity}`;
    m.set(k, { k: e.k, parity: e.parity, channels: (m.get(k)?.channels ?? 0) + e.channels });
  }
  return signature([...m.values()]);
}

/**
 * The shape shared by ginjax's ResNet and DilResNet: encoder (2 ConvBlocks) → numBlocks residual
 * stacks (x ← x + stack(x)) → decoder (2 ConvBlocks, the last without activation). The baseline's
 * encoder and decoder use 1×1 convolutions, the equivariant one the full filters (ginjax, sic).
 * Each stack is a list of ConvBlock options (mid → mid).
 */
abstract class ResidualStacks extends Model {
  readonly #stacks: number;
  readonly #perStack: number;

  constructor(type: string, o: ModelOptions, key: Key, stacks: readonly (readonly Partial<ConvBlockOptions>[])[]) {
    const { input, output, mid } = bodySignatures(o);
    const eq = o.equivariant ?? true;
    const edge = { ...o, kernel: eq ? o.kernel : 1, useGroupNorm: false, useBatchNorm: false, preactivation: false };
    const perStack = stacks[0]?.length ?? 0;
    const keys = split(key, 4 + stacks.length * perStack);
    const children: [string, Module][] = [];
    let sig = input;
    const add = (name: string, options: ConvBlockOptions, complete?: string) => {
      const b = new ConvBlock(options, keys[children.length]!);
      children.push([name, b]);
      if (complete) requireKeys(type, b, signature(options.output), complete, o);
      sig = b.output;
    };
    symmetryOf(type, o);
    building(children, () => {
      add('enc0', { ...edge, input: sig, output: mid(o.depth) });
      add('enc1', { ...edge, input: sig, output: mid(o.depth) });
      stacks.forEach((stack, b) =>
        stack.forEach((extra, i) => add(`block${b}_${i}`, { ...o, ...extra, input: sig, output: sig }, 'a residual block (its output is added to its input)')),
      );
      add('dec0', { ...edge, input: sig, output: mid(o.depth) });
      add('dec1', { ...edge, input: sig, output, activation: null }, 'the output');
    });
    super(children, o);
    this.#stacks = stacks.length;
    this.#perStack = perStack;
  }

  protected forward(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    let y = this.run('enc1', params, this.run('enc0', params, x, options, false), options, true);
    for (let b = 0; b < this.#stacks; b++) {
      let z = y;
      for (let i = 0; i < this.#perStack; i++) z = this.run(`block${b}_${i}`, params, z, options, z !== y);
      const sum = z.add(y);
      z.dispose();
      y.dispose();
      y = sum;
    }
    return this.run('dec1', params, this.run('dec0', params, y, options, true), options, true);
  }
}

/** Options of `ResNet`: the model options plus the residual stacks (default 8) and blocks per stack (default 2). */
export interface ResNetOptions extends ModelOptions {
  readonly numBlocks?: number;
  readonly numConv?: number;
}

/**
 * ginjax ResNet: numBlocks stacks of numConv pre-activation blocks with group norm (gelu).
 * @example
 * const model = new ResNet({ D: 2, input: [[[0, 1], 4], [[1, 0], 4]], output: [[[0, 1], 1], [[1, 0], 1]], depth: 16, numBlocks: 4 }, random.key(0));
 */
export class ResNet extends ResidualStacks {
  readonly config: ModuleConfig;

  constructor(o: ResNetOptions, key: Key) {
    const numBlocks = o.numBlocks ?? 8;
    const numConv = o.numConv ?? 2;
    const inner = { useGroupNorm: o.useGroupNorm ?? true, preactivation: o.preactivation ?? true };
    super(
      'ResNet',
      o,
      key,
      Array.from({ length: numBlocks }, () => new Array(numConv).fill(inner)),
    );
    this.config = {
      type: 'ResNet',
      ...blockJson({ ...o, ...inner }),
      input: sigJson(this.input),
      output: sigJson(this.output),
      depth: o.depth,
      numBlocks,
      numConv,
    };
  }
}

/** Options of `DilResNet`: the model options plus the number of dilated residual stacks (default 4). */
export interface DilResNetOptions extends ModelOptions {
  readonly numBlocks?: number;
}

const DILATIONS = [1, 2, 4, 8, 4, 2, 1];

/**
 * ginjax DilResNet (arXiv 2112.15275): numBlocks stacks of 7 blocks with dilations 1,2,4,8,4,2,1 (relu).
 * @example
 * const model = new DilResNet({ D: 2, input: [[[0, 0], 1]], output: [[[0, 0], 1]], depth: 8, numBlocks: 2 }, random.key(0));
 */
export class DilResNet extends ResidualStacks {
  readonly config: ModuleConfig;

  constructor(o: DilResNetOptions, key: Key) {
    const numBlocks = o.numBlocks ?? 4;
    const inner = { ...o, activation: o.activation === undefined ? ('relu' as const) : o.activation };
    super(
      'DilResNet',
      inner,
      key,
      Array.from({ length: numBlocks }, () => DILATIONS.map((rhsDilation) => ({ rhsDilation }))),
    );
    this.config = { type: 'DilResNet', ...blockJson(inner), input: sigJson(this.input), output: sigJson(this.output), depth: o.depth, numBlocks };
  }
}

/**
 * ginjax ModelWrapper: runs any module that maps a scalar MultiImage to a scalar MultiImage on the
 * flattened components of a geometric input, and reads its output as `output`.
 * @example
 * // any scalar-channel model, here a 3×3 Conv on the 1 + 2 components of a scalar and a vector
 * const conv = new Conv({ D: 2, inChannels: 3, outChannels: 2, kernel: 3 }, random.key(0));
 * const model = new ModelWrapper({ model: conv, output: [[[1, 0], 1]] }); // its 2 channels read as one vector
 */
export class ModelWrapper extends Composite {
  readonly config: ModuleConfig;
  readonly output: Signature;

  constructor(o: { model: Module; output: SignatureLike }) {
    super([['model', o.model]]);
    this.output = signature(o.output, 'ModelWrapper output');
    this.config = { type: 'ModelWrapper', model: o.model.config, output: sigJson(this.output) };
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    const scalars = x.toScalarMultiImage();
    const y = this.children.get('model')!.apply(subtree(params, 'model'), scalars, options);
    const out = y.fromScalarMultiImage(this.output);
    y.dispose();
    scalars.dispose();
    return out;
  }
}

/** Options of `GroupAverage`: the model to symmetrise, the group, and whether to average in training too (default false). */
export interface GroupAverageOptions {
  readonly model: Module;
  /**
   * The group G averaged over: a subgroup of B_D (elements, indices into operators(D) or signed
   * permutation matrices; it must be a group). Default: all of B_D for the input's D.
   */
  readonly operators?: readonly OperatorLike[];
  /** D of the operators when they are plain indices and the model does not say (models have `D`). */
  readonly D?: number;
  readonly alwaysAverage?: boolean;
}

/**
 * ginjax GroupAverage: (1/|G|) Σ_{g∈G} g⁻¹·model(g·x) — exactly equivariant under G whatever the
 * model. Averages in inference (training: false, the default of `call`) or always with
 * alwaysAverage; in training mode without it, just model(x) (ginjax's behaviour).
 * @example
 * const baseline = new UNet({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], depth: 16, equivariant: false }, random.key(0));
 * const symmetric = new GroupAverage({ model: baseline }); // equivariant under all of B_2 in inference
 * const rotations = new GroupAverage({ model: baseline, operators: subgroup(2, 'rotations') });
 */
export class GroupAverage extends Composite {
  readonly config: ModuleConfig;
  readonly alwaysAverage: boolean;
  /** The subgroup averaged over; null: all of B_D for the input's D. */
  readonly operators: readonly GroupElement[] | null;

  constructor(o: GroupAverageOptions) {
    check(o !== null && typeof o === 'object' && o.model instanceof Module, 'GroupAverage', 'model', 'a Module', o?.model);
    const modelD = (o.model as { D?: unknown }).D;
    const D = o.D ?? (typeof modelD === 'number' ? modelD : undefined);
    const G = o.operators === undefined || o.operators === null ? null : resolveOperators('GroupAverage', o.operators, D);
    check(G === null || D === undefined || G[0]!.D === D, 'GroupAverage', 'operators', `elements of B_${D} (the model's D)`, `elements of B_${G?.[0]!.D}`);
    super([['model', o.model]]);
    this.alwaysAverage = o.alwaysAverage ?? false;
    this.operators = G === null || isFullGroup(G) ? null : G;
    this.config = {
      type: 'GroupAverage',
      model: o.model.config,
      alwaysAverage: this.alwaysAverage,
      ...(this.operators ? { D: this.operators[0]!.D, operators: this.operators.map((g) => g.index) } : {}),
    };
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    const model = this.children.get('model')!;
    const p = subtree(params, 'model');
    if (options?.training && !this.alwaysAverage) return model.apply(p, x, options);
    check(this.operators === null || this.operators[0]!.D === x.D, 'GroupAverage', 'input D', `${this.operators?.[0]!.D} (the D of its operators)`, x.D);
    const G = this.operators ?? operators(x.D);
    let total: MultiImage | null = null;
    for (const g of G) {
      const gx = x.timesGroupElement(g);
      const y = model.apply(p, gx, options);
      const back = y.timesGroupElement(inverse(g));
      gx.dispose();
      y.dispose();
      const next: MultiImage = total ? total.add(back) : back;
      if (total) {
        total.dispose();
        back.dispose();
      }
      total = next;
    }
    const avg = total!.scale(1 / G.length);
    total!.dispose();
    return avg;
  }
}

/** Options of `ResidualStep`: the one-step model and the number of past steps in its input. */
export interface ResidualStepOptions {
  /** The one-step model: its output has c channels per predicted key. */
  readonly model: Module;
  /** Input steps per key in the autoregressive layout (c·pastSteps dynamic channels, then constants). */
  readonly pastSteps: number;
}

/**
 * A one-step emulator that predicts the change: model(x) plus the newest input step of every
 * predicted key. Persistence is then the zero model, so a small network spends itself on the
 * increment (common for neural PDE emulators; ginjax's scripts predict the state itself).
 * Equivariant when `model` is: the newest input step transforms as the output does.
 * @example
 * const net = new UNet({ D: 2, input: [[[1, 0], 4]], output: [[[1, 0], 1]], depth: 16 }, random.key(0));
 * const model = new ResidualStep({ model: net, pastSteps: 4 }); // predicts x_t + net(x_{t−3..t})
 */
export class ResidualStep extends Composite {
  readonly config: ModuleConfig;
  readonly pastSteps: number;

  constructor(o: ResidualStepOptions) {
    check(o !== null && typeof o === 'object' && o.model instanceof Module, 'ResidualStep', 'model', 'a Module', o?.model);
    check(Number.isInteger(o.pastSteps) && o.pastSteps >= 1, 'ResidualStep', 'pastSteps', 'an integer >= 1', o.pastSteps);
    super([['model', o.model]]);
    this.pastSteps = o.pastSteps;
    this.config = { type: 'ResidualStep', model: o.model.config, pastSteps: o.pastSteps };
  }

  /** The wrapped model's input signature, where it declares one (a step keeps it: exports and summaries read it). */
  get input(): Signature | undefined {
    return (this.children.get('model') as { input?: Signature }).input;
  }

  /** The wrapped model's output signature, where it declares one. */
  get output(): Signature | undefined {
    return (this.children.get('model') as { output?: Signature }).output;
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    const y = this.run('model', params, x, options, false);
    const last = lastInputStep(x, y.signature, this.pastSteps);
    const out = y.add(last);
    y.dispose();
    last.dispose();
    return out;
  }
}
