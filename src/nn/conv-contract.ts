/**
 * ConvContract (ginjax layers.ConvContract): the equivariant convolution between MultiImages. For
 * every (input key, output key) pair the filter is Σ_f W[o,c,f]·Φ_f over the invariant filters Φ of
 * key (k_in + k_out, p_in + p_out); the image's k_in indices are contracted with the filter's first
 * k_in. All pairs are fused: the weights and bases form ONE dense filter [taps, Cin, Cout] on the
 * packed channels-last layout, and ONE dense convolution computes every output key at once.
 */
import { check } from '../core/errors.js';
import { split, type Key } from '../core/random.js';
import { filterSpecJson, invariantFilters, resolveFilterSpec, specIncludes, type FilterSpec } from '../geometric/filters.js';
import { isFullGroup, resolveOperators, type GroupElement, type OperatorLike } from '../geometric/group.js';
import { resolveConv, type ConvolveOptions } from '../geometric/functional.js';
import { checkInput } from './layers/common.js';
import { MultiImage } from '../geometric/multi-image.js';
import { blockOffsets, keyName, signature, signatureWidth, type Signature, type SignatureLike } from '../geometric/signature.js';
import { add, mul } from '../ops/binary.js';
import { concat } from '../ops/concat.js';
import { conv } from '../ops/conv.js';
import { gather } from '../ops/gather.js';
import { matmul } from '../ops/matmul.js';
import { permute } from '../ops/strided.js';
import { mean } from '../ops/reduce.js';
import { tensor, tidy, zeros, type Tensor } from '../tensor.js';
import { Module, initUniform, leaf, subtree, type Json, type ModuleConfig, type Params } from './module.js';

/**
 * Bias modes. 'auto': scalars (0,0) get an additive bias, every other key x + b·mean_spatial(x) (the
 * equivariant form); 'mean': that form for all keys; 'scalar': only the additive scalar bias; true is
 * 'auto' (ginjax's use_bias=True returns an empty image — a bug not reproduced); false: none.
 */
export type BiasMode = 'auto' | 'mean' | 'scalar' | boolean;

/**
 * Options of `ConvContract`: D, input and output signatures, filter side M (or a filter spec), bias, padding, stride, dilation, the group.
 */
export interface ConvContractOptions extends ConvolveOptions {
  readonly D: number;
  readonly input: SignatureLike;
  readonly output: SignatureLike;
  /** Filter side (odd for TORUS/SAME padding); may be left out when `filters` gives it. */
  readonly M?: number;
  /**
   * An explicit filter set (ginjax's `invariant_filters` argument): side, tensor orders, parities,
   * scale. Pairs whose filter key lies outside it are skipped. Default: side M, every key.
   */
  readonly filters?: FilterSpec;
  /**
   * The symmetry group: a subgroup of B_D (elements, indices into operators(D), or matrices; see
   * `resolveOperators`). The layer is equivariant under exactly this group. Default: all of B_D.
   */
  readonly operators?: readonly OperatorLike[];
  readonly useBias?: BiasMode;
}

interface Pair {
  readonly name: string;
  readonly ci: number;
  readonly co: number;
  readonly Ti: number;
  readonly To: number;
  readonly count: number;
  /** [count, taps·Ti·To] */
  readonly basis: Tensor;
}

const pairName = (ki: number, pi: number, ko: number, po: number) => `${ki},${pi}>${ko},${po}`;

/**
 * ginjax's ConvContract: the equivariant convolution layer. Each output key is a learned combination of invariant filters applied to every input key (convolve, then contract to the output order); the whole layer runs as ONE dense convolution over the packed channels.
 * @example
 * const layer = new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 4]], M: 3 }, random.key(0));
 * const y = layer.call(x); // x: a MultiImage with one scalar channel; y: 4 vector channels
 */
export class ConvContract extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly input: Signature;
  /** Output keys that at least one pair reaches (ginjax drops unreachable keys, e.g. scalar→pseudoscalar at M=3). */
  readonly output: Signature;
  /** True when some (input, output) pair has no invariant filter and was skipped. */
  readonly missingFilter: boolean;
  readonly #pairs: Pair[];
  /** The dense filter's blocks: [output key][input key] → its pair, or null (zeros: no invariant filter). */
  readonly #grid: (Pair | null)[][];
  readonly #bias: { add: Int32Array; scale: Int32Array; names: string[] } | null;
  readonly #options: ConvolveOptions;
  readonly #D: number;
  readonly #M: number;
  /** The group the layer is equivariant under (sorted elements of operators(D)). */
  readonly operators: readonly GroupElement[];

  constructor(o: ConvContractOptions, key: Key) {
    super();
    const D = o.D;
    check(D === 2 || D === 3, 'ConvContract', 'D', '2 or 3', D);
    const spec = o.filters === undefined || o.filters === null ? null : resolveFilterSpec('ConvContract', 'filters', o.filters);
    const M = spec?.M ?? o.M;
    check(Number.isInteger(M) && (M as number) >= 1, 'ConvContract', 'M', 'an integer >= 1 (or filters.M)', o.M);
    check(o.M === undefined || o.M === null || o.M === M, 'ConvContract', 'M', `equal to filters.M = ${M} when both are given`, o.M);
    const G = resolveOperators('ConvContract', o.operators, D);
    this.operators = G;
    const useBias: BiasMode = o.useBias === true ? 'auto' : (o.useBias ?? 'auto');
    check(['auto', 'mean', 'scalar', false].includes(useBias), 'ConvContract', 'useBias', '"auto", "mean", "scalar", true or false', o.useBias);
    const input = signature(o.input, 'ConvContract input');
    this.input = input;
    const declared = signature(o.output, 'ConvContract output');
    this.#D = D;
    this.#M = M as number;
    this.#options = { stride: o.stride, padding: o.padding, lhsDilation: o.lhsDilation, rhsDilation: o.rhsDilation };
    const taps = this.#M ** D;

    // Parameters, initialised as ginjax: per pair (input keys outer, output keys inner) split the key
    // in three; W ~ U(±1/sqrt(c_in·M^D·D^k_in)); the bias of an output key is drawn per pair and the
    // last input key's draw wins (ginjax overwrites it), so its bound is that pair's.
    const weights: Record<string, Tensor> = {};
    const biases: Record<string, Tensor> = {};
    const found: { ki: number; pi: number; ko: number; po: number; ci: number; co: number; count: number; filters: readonly Float32Array[] }[] = [];
    let k = key;
    for (const inp of input) {
      for (const out of declared) {
        const [next, kw, kb] = split(k, 3) as [Key, Key, Key];
        k = next;
        const bound = 1 / Math.sqrt(inp.channels * taps * D ** inp.k);
        const fk = inp.k + out.k;
        const fp = (inp.parity + out.parity) % 2;
        const set = spec && !specIncludes(spec, fk, fp) ? null : invariantFilters(D, this.#M, fk, fp, { scale: spec?.scale ?? 'normalize', operators: G });
        if (useBias !== false) {
          biases[keyName(out.k, out.parity)]?.dispose();
          biases[keyName(out.k, out.parity)] = initUniform(kb, [out.channels], -bound, bound);
        }
        if (set === null || set.count === 0) continue;
        const name = pairName(inp.k, inp.parity, out.k, out.parity);
        weights[name] = initUniform(kw, [out.channels, inp.channels, set.count], -bound, bound);
        found.push({ ki: inp.k, pi: inp.parity, ko: out.k, po: out.parity, ci: inp.channels, co: out.channels, count: set.count, filters: set.filters });
      }
    }
    this.missingFilter = found.length < input.length * declared.length;
    this.output = signature(
      declared.filter((e) => found.some((f) => f.ko === e.k && f.po === e.parity)),
      'ConvContract output',
    );
    if (this.output.length === 0) for (const t of [...Object.values(weights), ...Object.values(biases)]) t.dispose();
    check(
      this.output.length > 0,
      'ConvContract',
      'signatures',
      'such that some input/output pair has invariant filters',
      `none for M=${this.#M}${spec ? ` with filter keys k ∈ ${spec.ks ? `[${spec.ks}]` : 'any'}, parity ∈ [${spec.parities}]` : ''}${isFullGroup(G) ? '' : ` under the ${G.length}-element subgroup`}`,
    );
    for (const name of Object.keys(biases)) {
      const [kk, pp] = name.split(',').map(Number) as [number, number];
      if (!this.output.some((e) => e.k === kk && e.parity === pp)) {
        biases[name]!.dispose();
        delete biases[name];
      }
    }
    this.params = useBias === false ? { weights } : { weights, bias: biases };

    // Fixed bases, and where each pair's block sits in the dense filter.
    this.#pairs = found.map((f) => {
      const Ti = D ** f.ki;
      const To = D ** f.ko;
      const basisData = new Float32Array(f.count * taps * Ti * To);
      f.filters.forEach((flt, i) => basisData.set(flt, i * flt.length));
      return { name: pairName(f.ki, f.pi, f.ko, f.po), ci: f.ci, co: f.co, Ti, To, count: f.count, basis: tensor(basisData, [f.count, taps * Ti * To]) };
    });
    this.#grid = this.output.map((out) =>
      input.map((inp) => this.#pairs[found.findIndex((f) => f.ki === inp.k && f.pi === inp.parity && f.ko === out.k && f.po === out.parity)] ?? null),
    );

    // Bias routing: per packed output column, which bias entry adds (scalars) or scales the mean.
    if (useBias === false) this.#bias = null;
    else {
      const outOff = blockOffsets(this.output, D);
      const Cout = signatureWidth(this.output, D);
      const names = this.output.map((e) => keyName(e.k, e.parity));
      const biasOffsets = this.output.reduce<number[]>((acc, e, i) => [...acc, (acc[i] ?? 0) + e.channels], [0]);
      const addIdx = new Int32Array(Cout).fill(-1);
      const scaleIdx = new Int32Array(Cout).fill(-1);
      this.output.forEach((e, i) => {
        const T = D ** e.k;
        const scalar = e.k === 0 && e.parity === 0;
        if (!scalar && useBias === 'scalar') return;
        const target = scalar && useBias !== 'mean' ? addIdx : scaleIdx;
        for (let c = 0; c < e.channels; c++) for (let t = 0; t < T; t++) target[outOff[i]! + c * T + t] = biasOffsets[i]! + c;
      });
      this.#bias = { add: addIdx, scale: scaleIdx, names };
    }

    // operators and filters appear only when they differ from the defaults, so older configs (which
    // lack them) and default layers have the same JSON.
    this.config = {
      type: 'ConvContract',
      D,
      M: this.#M,
      ...(spec ? { filters: filterSpecJson(spec) } : {}),
      ...(isFullGroup(G) ? {} : { operators: G.map((g) => g.index) }),
      input: input.map((e) => ({ ...e })),
      output: declared.map((e) => ({ ...e })),
      useBias: o.useBias ?? 'auto',
      stride: (o.stride ?? 1) as Json,
      padding: (o.padding ?? null) as Json,
      lhsDilation: (o.lhsDilation ?? 1) as Json,
      rhsDilation: (o.rhsDilation ?? 1) as Json,
    };
  }

  override buffers(): Tensor[] {
    return this.#pairs.map((p) => p.basis);
  }

  /**
   * The dense filter [taps, Cin, Cout] from the weights (differentiable in the weights). Each pair's
   * block Σ_f W·Φ_f, computed as [co, ci, taps, Ti, To], is moved to [taps, ci·Ti, co·To]; the blocks
   * (zeros where a pair has no filter) are concatenated along Cin per output key, then along Cout.
   * Only data movement after the products, no index map: an ONNX export can keep W and Φ apart.
   */
  denseFilter(params: Params = this.params): Tensor {
    const weights = subtree(params, 'weights');
    const D = this.#D;
    const taps = this.#M ** D;
    return tidy(() => {
      const columns = this.#grid.map((row, o) => {
        const out = this.output[o]!;
        const blocks = row.map((p, i) => {
          const inp = this.input[i]!;
          if (!p) return zeros([taps, inp.channels * D ** inp.k, out.channels * D ** out.k], this.#pairs[0]!.basis.backend);
          const b = matmul(leaf(weights, p.name).reshape([p.co * p.ci, p.count]), p.basis);
          return permute(b.reshape([p.co, p.ci, taps, p.Ti, p.To]), [2, 1, 3, 0, 4]).reshape([taps, p.ci * p.Ti, p.co * p.To]);
        });
        return blocks.length === 1 ? blocks[0]! : concat(blocks, 1);
      });
      return columns.length === 1 ? columns[0]! : concat(columns, 2);
    });
  }

  apply(params: Params, x: MultiImage): MultiImage {
    checkInput('ConvContract', x, this.#D, this.input);
    const attrs = resolveConv('ConvContract', this.#D, this.#M, x.isTorus, this.#options);
    const y = tidy(() => {
      const out = conv(x.data, this.denseFilter(params), attrs);
      if (!this.#bias) return out;
      const bias = subtree(params, 'bias');
      const all = concat(
        this.#bias.names.map((n) => leaf(bias, n)),
        0,
      );
      let result = out;
      if (this.#bias.add.some((i) => i >= 0)) result = add(result, gather(all, [out.shape.at(-1)!], this.#bias.add));
      if (this.#bias.scale.some((i) => i >= 0)) {
        const spatialAxes = Array.from({ length: this.#D }, (_, i) => i + 1);
        const m = mean(out, spatialAxes).reshape([out.shape[0]!, ...new Array(this.#D).fill(1), out.shape.at(-1)!]);
        result = add(result, mul(m, gather(all, [out.shape.at(-1)!], this.#bias.scale)));
      }
      return result;
    });
    return new MultiImage(y, this.output, this.#D, x.isTorus);
  }
}
