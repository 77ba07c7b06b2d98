/**
 * ginjax's own model files, both ways. `ginjax.ml.save` writes Equinox's `tree_serialise_leaves`:
 * every array (and Python number) leaf of the model pytree, in JAX flattening order, as back-to-back
 * .npy records, with no names and no config. So the file alone cannot be read: the ginjax
 * constructor and its arguments (`GinjaxConfig`) say which model it is. From them we build the
 * geoconv model and walk it in ginjax's order, each layer type emitting its ginjax leaves (path,
 * shape, dtype) and how they map onto geoconv's parameters — ConvContract weights over the
 * invariant-filter basis (ginjax's filter order: see filters.ts), its stored filter dictionary,
 * biases, VN weights, norm scales, eqx Conv weights [out, in, k…] ↔ our [taps, in, out] — so any
 * signature, parity, tensor order, D and model option maps, not just the files we were shown.
 */
import { check } from '../core/errors.js';
import * as random from '../core/random.js';
import type { Backend } from '../backends/backend.js';
import { getBackend, setBackend } from '../backends/backend.js';
import { invariantFilters, resolveFilterSpec, type FilterSpec } from '../geometric/filters.js';
import type { OperatorLike } from '../geometric/group.js';
import { signature, type Signature } from '../geometric/signature.js';
import { ConvContract } from '../nn/conv-contract.js';
import type { GroupNorm } from '../nn/layers/norm.js';
import { ConvBlock, DilResNet, ResNet, UNet, type ConvBlockOptions, type DilResNetOptions, type ResNetOptions, type UNetOptions } from '../nn/models.js';
import { subtree, withoutInit, type Module, type Params } from '../nn/module.js';
import { Tensor } from '../tensor.js';
import { npyRecord, npyScalarBytes, npyValues, parseNpyRecords, NpyError, type NpyDtype } from './npy.js';

/** A ginjax filter set, as `get_invariant_filters(Ms, ks, parities, D, operators)` takes it. */
export interface GinjaxFilters {
  readonly Ms: readonly number[];
  readonly ks: readonly number[];
  readonly parities: readonly number[];
}

/**
 * The ginjax constructor and its arguments (names as in ginjax; signatures as [[k, parity,
 * channels], …]). Defaults are ginjax's. A goldens-style JSON ({ case, filters, activation }) is
 * accepted as well.
 */
export interface GinjaxConfig {
  readonly model: 'UNet' | 'ResNet' | 'DilResNet' | 'ConvBlock';
  readonly D: number;
  readonly input: readonly (readonly [number, number, number])[];
  readonly output: readonly (readonly [number, number, number])[];
  readonly depth?: number;
  readonly num_blocks?: number;
  readonly num_downsamples?: number;
  readonly num_conv?: number;
  readonly use_bias?: 'auto' | 'mean' | 'scalar' | boolean;
  /** 'gelu' (tanh approximation, jax.nn.gelu's default), 'relu', 'tanh', or null for none. */
  readonly activation?: string | null;
  readonly equivariant?: boolean;
  readonly use_group_norm?: boolean;
  readonly use_batch_norm?: boolean;
  readonly preactivation_order?: boolean;
  readonly conv_filters?: GinjaxFilters;
  readonly upsample_filters?: GinjaxFilters;
  /** Baseline kernel side (ginjax requires it for baselines; default 3). */
  readonly kernel_size?: number;
  /** The group the filters were built for (default all of B_D, ginjax's make_all_operators). */
  readonly operators?: readonly OperatorLike[];
}

/** A ginjax (equinox) model file: a path, a URL, or its bytes. */
export type GinjaxSource = string | URL | Uint8Array | ArrayBuffer;

const message = (e: unknown): string => (e instanceof Error ? e.message : String(e));
const FN = 'loadGinjax';

/**
 * A config as given (bare, or a goldens JSON with case + filters + activation), with defaults.
 * @example
 * const config = normalizeGinjaxConfig(JSON.parse(await readFile('golden.json', 'utf8'))); // { case, filters, activation } → one config
 */
export function normalizeGinjaxConfig(raw: unknown, fn = FN): GinjaxConfig {
  check(raw !== null && typeof raw === 'object', fn, 'config', 'a ginjax constructor config object', raw);
  let c = raw as Record<string, unknown>;
  if (c.case && typeof c.case === 'object') {
    const f = (c.filters ?? {}) as { conv?: unknown; upsample?: unknown };
    c = {
      ...(c.case as object),
      ...(f.conv ? { conv_filters: f.conv } : {}),
      ...(f.upsample ? { upsample_filters: f.upsample } : {}),
      ...(c.activation !== undefined ? { activation: c.activation } : {}),
    };
  }
  const model = c.model;
  check(
    model === 'UNet' || model === 'ResNet' || model === 'DilResNet' || model === 'ConvBlock',
    fn,
    'config.model',
    '"UNet", "ResNet", "DilResNet" or "ConvBlock"',
    model,
  );
  return c as unknown as GinjaxConfig;
}

/** ginjax activation names (and the goldens' 'jax.nn.gelu (approximate=True)') → ours. */
function activationOf(a: unknown, model: string, fn: string): 'gelu' | 'relu' | 'tanh' | null {
  if (a === undefined) return model === 'DilResNet' ? 'relu' : 'gelu';
  if (a === null || a === 'none' || a === 'None') return null;
  const s = String(a);
  if (/gelu/.test(s)) {
    check(!/approximate=False/.test(s), fn, 'config.activation', "the tanh-approximate gelu (jax.nn.gelu's default); exact gelu is not provided", a);
    return 'gelu';
  }
  if (/relu/.test(s)) return 'relu';
  if (/tanh/.test(s)) return 'tanh';
  return check(false, fn, 'config.activation', '"gelu", "relu", "tanh" or null', a) as never;
}

const sigOf = (s: unknown, arg: string, fn: string): Signature => {
  check(Array.isArray(s) && s.every((e) => Array.isArray(e) && e.length === 3), fn, arg, 'a signature [[k, parity, channels], …]', s);
  return signature(
    (s as number[][]).map(([k, parity, channels]) => ({ k: k!, parity: parity! as 0 | 1, channels: channels! })),
    `${fn} ${arg}`,
  );
};

function filterSpecOf(f: GinjaxFilters | undefined, arg: string, fn: string): FilterSpec {
  check(f !== undefined && f !== null && typeof f === 'object', fn, arg, 'a filter set { Ms, ks, parities } (ginjax needs it for equivariant models)', f);
  check(Array.isArray(f.Ms) && f.Ms.length === 1, fn, `${arg}.Ms`, 'one filter side (geoconv layers stack filters of one side)', f.Ms);
  return { M: f.Ms[0]!, ks: f.ks, parities: f.parities ?? [0, 1] };
}

/**
 * Builds the geoconv model for a ginjax config (parameters zero-filled or unfilled: `empty`).
 * @example
 * const filters = { Ms: [3], ks: [0, 1, 2], parities: [0, 1] }; // as get_invariant_filters takes them
 * const model = buildGinjaxModel({ model: 'ResNet', D: 2, input: [[0, 0, 1]], output: [[0, 0, 1]], depth: 8, num_blocks: 2, conv_filters: filters });
 */
export function buildGinjaxModel(config: GinjaxConfig | unknown, { empty = false, fn = FN } = {}): Module {
  const c = normalizeGinjaxConfig(config, fn);
  check(c.D === 2 || c.D === 3, fn, 'config.D', '2 or 3', c.D);
  const eq = c.equivariant ?? true;
  const input = sigOf(c.input, 'config.input', fn);
  const output = sigOf(c.output, 'config.output', fn);
  // Where ginjax has a bug geoconv does not reproduce, refuse rather than compute something else.
  check(
    c.use_bias !== true || !eq,
    fn,
    'config.use_bias',
    '"auto", "mean" or false: ginjax\'s ConvContract with use_bias=True returns an empty MultiImage (a ginjax bug geoconv does not reproduce)',
    true,
  );
  const scalarOnly = [...input, ...output].every((e) => e.k === 0 && e.parity === 0);
  check(
    c.use_bias !== 'scalar' || !eq || scalarOnly,
    fn,
    'config.use_bias',
    '"auto", "mean" or false: with "scalar" ginjax drops every non-scalar output (geoconv keeps them)',
    'scalar',
  );
  check(
    !c.use_batch_norm,
    fn,
    'config.use_batch_norm',
    'false: batch-norm models keep their statistics in Equinox state outside the model file, which loadGinjax does not read',
    true,
  );
  const activation = activationOf(c.activation, c.model, fn);
  const o: Record<string, unknown> = {
    D: c.D,
    input,
    output,
    equivariant: eq,
    activation,
    useBias: c.use_bias === true ? 'auto' : (c.use_bias ?? 'auto'),
  };
  if (eq) {
    o.convFilters = filterSpecOf(c.conv_filters, 'config.conv_filters', fn);
    if (c.operators) o.operators = c.operators;
  } else {
    check(c.conv_filters === undefined && c.upsample_filters === undefined, fn, 'config.conv_filters', 'left out for a baseline (equivariant: false)', 'given');
    o.kernel = c.kernel_size ?? 3;
  }
  if (c.model !== 'ConvBlock') {
    check(Number.isInteger(c.depth) && (c.depth as number) >= 1, fn, 'config.depth', 'an integer >= 1', c.depth);
    o.depth = c.depth;
  }
  if (c.use_group_norm !== undefined) o.useGroupNorm = c.use_group_norm;
  if (c.preactivation_order !== undefined) o.preactivation = c.preactivation_order;
  const key = random.key(0); // never drawn from: withoutInit fills no random numbers
  return withoutInit(
    () => {
      switch (c.model) {
        case 'UNet': {
          if (eq) o.upsampleFilters = filterSpecOf(c.upsample_filters, 'config.upsample_filters', fn);
          return new UNet({ ...o, numDownsamples: c.num_downsamples ?? 4, numConv: c.num_conv ?? 2 } as unknown as UNetOptions, key);
        }
        case 'ResNet':
          return new ResNet({ ...o, numBlocks: c.num_blocks ?? 8, numConv: c.num_conv ?? 2 } as unknown as ResNetOptions, key);
        case 'DilResNet':
          return new DilResNet({ ...o, numBlocks: c.num_blocks ?? 4 } as unknown as DilResNetOptions, key);
        case 'ConvBlock':
          return new ConvBlock(o as unknown as ConvBlockOptions, key);
      }
    },
    { empty },
  );
}

/** One ginjax leaf and where it lives in the geoconv model. */
export interface GinjaxLeaf {
  /** ginjax's keypath, e.g. `.embedding[0].conv.weights[(0, 0)][(1, 0)]`. */
  readonly path: string;
  /** The geoconv parameter (or buffer) it maps to, e.g. `embed0.conv.weights["0,0>1,0"]`. */
  readonly where: string;
  readonly shape: readonly number[];
  readonly dtype: NpyDtype;
  readonly kind: 'param' | 'convWeight' | 'convTransposeWeight' | 'filters' | 'constant' | 'zeroBias';
  /** param, conv weights, zeroBias: the parameter. */
  readonly tensor?: Tensor;
  /** filters: our invariant filters of that key ([count, M…, D…] flattened), and the weights built on them. */
  readonly filters?: Float32Array;
  readonly filterUsers?: readonly Tensor[];
  /** constant: the value ginjax stores (Python ints and floats that are not static fields). */
  readonly value?: number;
}

const keyStr = (k: number, p: number) => `(${k}, ${p})`;
type Children = { readonly children: ReadonlyMap<string, Module> };
const child = (m: Module, name: string): Module => {
  const c = (m as unknown as Children).children.get(name);
  if (!c) throw new Error(`ginjaxLeaves: the ${m.config.type} has no child "${name}"`);
  return c;
};
const hasChild = (m: Module, name: string): boolean => (m as unknown as Children).children.has(name);
const tensorAt = (params: Params, names: readonly string[], where: string): Tensor => {
  let p: Params | Tensor = params;
  for (const n of names) {
    if (p instanceof Tensor || !(n in p)) throw new Error(`ginjaxLeaves: no parameter at ${where}`);
    p = p[n]!;
  }
  if (!(p instanceof Tensor)) throw new Error(`ginjaxLeaves: ${where} is not a tensor`);
  return p;
};
const sortedKeys = (names: readonly string[]) => names.map((n) => n.split(',').map(Number) as [number, number]).sort((a, b) => a[0] - b[0] || a[1] - b[1]);

/**
 * The ginjax leaves of `model` (built by `buildGinjaxModel`, or any geoconv model of the same
 * classes) in JAX flattening order, each tied to the geoconv parameter it maps to.
 * @example
 * for (const leaf of ginjaxLeaves(model)) console.log(leaf.path, '→', leaf.where, leaf.shape);
 */
export function ginjaxLeaves(model: Module, params: Params = model.params): GinjaxLeaf[] {
  const out: GinjaxLeaf[] = [];
  const walk = (m: Module, p: Params, path: string, where: string): void => {
    const type = m.config.type;
    const at = (name: string) => (where ? `${where}.${name}` : name);
    const branch = (name: string): Params => subtree(p, name);
    switch (type) {
      case 'UNet': {
        const n = m.config.numDownsamples as number;
        const numConv = m.config.numConv as number;
        for (let i = 0; i < numConv; i++) walk(child(m, `embed${i}`), branch(`embed${i}`), `${path}.embedding[${i}]`, at(`embed${i}`));
        for (let d = 1; d <= n; d++) {
          for (let i = 0; i < numConv; i++)
            walk(child(m, `down${d}_${i}`), branch(`down${d}_${i}`), `${path}.downsample_blocks[${d - 1}][1][${i}]`, at(`down${d}_${i}`));
        }
        for (let u = n - 1, j = 0; u >= 0; u--, j++) {
          walk(child(m, `up${u}`), branch(`up${u}`), `${path}.upsample_blocks[${j}][0]`, at(`up${u}`));
          for (let i = 0; i < numConv; i++) walk(child(m, `up${u}_${i}`), branch(`up${u}_${i}`), `${path}.upsample_blocks[${j}][1][${i}]`, at(`up${u}_${i}`));
        }
        walk(child(m, 'decode'), branch('decode'), `${path}.decode`, at('decode'));
        return;
      }
      case 'ResNet':
      case 'DilResNet': {
        const stacks = m.config.numBlocks as number;
        const per = type === 'ResNet' ? (m.config.numConv as number) : 7;
        for (const i of [0, 1]) walk(child(m, `enc${i}`), branch(`enc${i}`), `${path}.encoder[${i}]`, at(`enc${i}`));
        for (let b = 0; b < stacks; b++)
          for (let i = 0; i < per; i++) walk(child(m, `block${b}_${i}`), branch(`block${b}_${i}`), `${path}.blocks[${b}][${i}]`, at(`block${b}_${i}`));
        for (const i of [0, 1]) walk(child(m, `dec${i}`), branch(`dec${i}`), `${path}.decoder[${i}]`, at(`dec${i}`));
        return;
      }
      case 'ConvBlock': {
        walk(child(m, 'conv'), branch('conv'), `${path}.conv`, at('conv'));
        if (hasChild(m, 'norm')) walk(child(m, 'norm'), branch('norm'), `${path}.group_norm`, at('norm'));
        if (hasChild(m, 'act')) walk(child(m, 'act'), branch('act'), `${path}.nonlinearity`, at('act'));
        return;
      }
      case 'ConvContract': {
        const layer = m as ConvContract;
        const D = m.config.D as number;
        const M = m.config.M as number;
        const weights = branch('weights');
        const pairs = Object.keys(weights)
          .map((name) => {
            const [a, b] = name.split('>') as [string, string];
            const [ki, pi] = a.split(',').map(Number) as [number, number];
            const [ko, po] = b.split(',').map(Number) as [number, number];
            return { name, ki, pi, ko, po };
          })
          .sort((x, y) => x.ki - y.ki || x.pi - y.pi || x.ko - y.ko || x.po - y.po);
        for (const q of pairs) {
          const t = tensorAt(weights, [q.name], at(`weights["${q.name}"]`));
          out.push({
            path: `${path}.weights[${keyStr(q.ki, q.pi)}][${keyStr(q.ko, q.po)}]`,
            where: at(`weights["${q.name}"]`),
            shape: t.shape,
            dtype: 'float32',
            kind: 'param',
            tensor: t,
          });
        }
        const bias = branch('bias');
        for (const [k, pp] of sortedKeys(Object.keys(bias))) {
          const t = tensorAt(bias, [`${k},${pp}`], at(`bias["${k},${pp}"]`));
          out.push({
            path: `${path}.bias[${keyStr(k, pp)}]`,
            where: at(`bias["${k},${pp}"]`),
            shape: [t.shape[0]!, ...new Array<number>(D + k).fill(1)],
            dtype: 'float32',
            kind: 'param',
            tensor: t,
          });
        }
        // The filter dictionary ginjax stores on every ConvContract: every (k, parity) of its filter
        // set that has filters, in sorted key order, stacked [count, M…, D…].
        const spec = m.config.filters ? resolveFilterSpec(FN, 'filters', m.config.filters as unknown as FilterSpec) : null;
        const kmax = Math.max(...layer.input.map((e) => e.k)) + Math.max(...layer.output.map((e) => e.k));
        const ks = spec?.ks ?? Array.from({ length: kmax + 1 }, (_, k) => k);
        for (const k of ks) {
          for (const parity of spec?.parities ?? [0, 1]) {
            const set = invariantFilters(D, M, k, parity, { scale: spec?.scale ?? 'normalize', operators: layer.operators });
            if (set.count === 0) continue;
            const flat = new Float32Array(set.count * set.filters[0]!.length);
            set.filters.forEach((f, i) => flat.set(f, i * f.length));
            const users = pairs.filter((q) => q.ki + q.ko === k && (q.pi + q.po) % 2 === parity).map((q) => tensorAt(weights, [q.name], q.name));
            out.push({
              path: `${path}.invariant_filters[<flat index 0>][${keyStr(k, parity)}]`,
              where: at(`filters(k=${k}, parity=${parity})`),
              shape: [set.count, ...set.shape],
              dtype: 'float32',
              kind: 'filters',
              filters: flat,
              filterUsers: users,
            });
          }
        }
        return;
      }
      case 'VectorNeuronNonlinear': {
        const w = branch('weights');
        for (const [k, pp] of sortedKeys(Object.keys(w))) {
          const t = tensorAt(w, [`${k},${pp}`], at(`weights["${k},${pp}"]`));
          out.push({
            path: `${path}.weights[${keyStr(k, pp)}]`,
            where: at(`weights["${k},${pp}"]`),
            shape: t.shape,
            dtype: 'float32',
            kind: 'param',
            tensor: t,
          });
        }
        return;
      }
      case 'LayerNorm':
      case 'GroupNorm': {
        const norm = m as GroupNorm;
        const D = m.config.D as number;
        const scale = branch('scale');
        const bias = branch('bias');
        const equivariantNorm = type === 'LayerNorm';
        if (!equivariantNorm) {
          // the baseline's LayerWrapper(eqx.nn.GroupNorm(groups, c)) on the one scalar key
          for (const [k, pp] of sortedKeys(Object.keys(scale))) {
            out.push({
              path: `${path}.modules[${keyStr(k, pp)}].weight`,
              where: at(`scale["${k},${pp}"]`),
              shape: [norm.input[0]!.channels],
              dtype: 'float32',
              kind: 'param',
              tensor: tensorAt(scale, [`${k},${pp}`], ''),
            });
            out.push({
              path: `${path}.modules[${keyStr(k, pp)}].bias`,
              where: at(`bias["${k},${pp}"]`),
              shape: [norm.input[0]!.channels],
              dtype: 'float32',
              kind: 'param',
              tensor: tensorAt(bias, [`${k},${pp}`], ''),
            });
          }
          return;
        }
        const keys = sortedKeys(Object.keys(scale));
        for (const [k] of keys)
          check(k <= 1, FN, 'model', 'norms on keys with k <= 1 (ginjax raises NotImplementedError for k >= 2)', `a norm on a k=${k} key at ${where}`);
        const vectors = keys.filter(([k]) => k === 1);
        const scalars = keys.filter(([k]) => k === 0);
        for (const [k, pp] of vectors) {
          out.push({
            path: `${path}.scale[${keyStr(k, pp)}]`,
            where: at(`scale["${k},${pp}"]`),
            shape: [norm.input.find((e) => e.k === k && e.parity === pp)!.channels, ...new Array<number>(D + k).fill(1)],
            dtype: 'float32',
            kind: 'param',
            tensor: tensorAt(scale, [`${k},${pp}`], ''),
          });
        }
        for (const [k, pp] of vectors) {
          out.push({
            path: `${path}.bias[${keyStr(k, pp)}]`,
            where: at(`bias["${k},${pp}"]`),
            shape: [norm.input.find((e) => e.k === k && e.parity === pp)!.channels, ...new Array<number>(D + k).fill(1)],
            dtype: 'float32',
            kind: 'param',
            tensor: tensorAt(bias, [`${k},${pp}`], ''),
          });
        }
        for (const [k, pp] of scalars) {
          const c = norm.input.find((e) => e.k === k && e.parity === pp)!.channels;
          out.push({
            path: `${path}.vanilla_norm[${keyStr(k, pp)}].weight`,
            where: at(`scale["${k},${pp}"]`),
            shape: [c],
            dtype: 'float32',
            kind: 'param',
            tensor: tensorAt(scale, [`${k},${pp}`], ''),
          });
          // ginjax adds this bias to pseudoscalars (breaking equivariance once trained); geoconv scales
          // their spatial mean instead, so only a zero bias means the same thing in both.
          out.push({
            path: `${path}.vanilla_norm[${keyStr(k, pp)}].bias`,
            where: at(`bias["${k},${pp}"]`),
            shape: [c],
            dtype: 'float32',
            kind: pp === 0 ? 'param' : 'zeroBias',
            tensor: tensorAt(bias, [`${k},${pp}`], ''),
          });
        }
        out.push({ path: `${path}.D`, where: at('config.D'), shape: [], dtype: 'int64', kind: 'constant', value: D });
        out.push({ path: `${path}.groups`, where: at('config.groups'), shape: [], dtype: 'int64', kind: 'constant', value: norm.groups });
        out.push({ path: `${path}.eps`, where: at('config.eps'), shape: [], dtype: 'float64', kind: 'constant', value: norm.eps });
        return;
      }
      case 'Conv':
      case 'ConvTranspose': {
        const kernel = m.config.kernel as number[];
        const w = tensorAt(p, ['weight'], at('weight'));
        const [, cin, cout] = w.shape as [number, number, number];
        // eqx flips a ConvTranspose's taps itself, and so does ours: its taps are ours reversed
        out.push({
          path: `${path}.modules[(0, 0)].weight`,
          where: at('weight'),
          shape: [cout, cin, ...kernel],
          dtype: 'float32',
          kind: type === 'Conv' ? 'convWeight' : 'convTransposeWeight',
          tensor: w,
        });
        if (p.bias) {
          out.push({
            path: `${path}.modules[(0, 0)].bias`,
            where: at('bias'),
            shape: [cout, ...new Array<number>(kernel.length).fill(1)],
            dtype: 'float32',
            kind: 'param',
            tensor: tensorAt(p, ['bias'], at('bias')),
          });
        }
        return;
      }
      case 'Activation':
      case 'MaxNormPool':
      case 'Identity':
        return; // functions and static fields: nothing in the file
      default:
        throw new Error(`ginjaxLeaves: no ginjax counterpart for a ${type} layer (at ${where || 'the root'})`);
    }
  };
  walk(model, params, '', '');
  return out;
}

/** eqx [out, in, taps] ↔ geoconv [taps, in, out] (taps reversed for a transposed conv). */
function permuteConvWeight(src: Float32Array, cout: number, cin: number, taps: number, toGinjax: boolean, reverse = false): Float32Array {
  const out = new Float32Array(src.length);
  for (let o = 0; o < cout; o++)
    for (let i = 0; i < cin; i++)
      for (let a = 0; a < taps; a++) {
        const g = (o * cin + i) * taps + (reverse ? taps - 1 - a : a);
        const ours = (a * cin + i) * cout + o;
        if (toGinjax) out[g] = src[ours]!;
        else out[ours] = src[g]!;
      }
  return out;
}

/**
 * A ginjax model file that cannot be read (its message names what is wrong).
 * @example
 * try { await loadGinjax('model.eqx', config); } catch (e) { if (e instanceof GinjaxFileError) console.error(e.message); }
 */
export class GinjaxFileError extends Error {
  override name = 'GinjaxFileError';
}

/**
 * Reads ginjax file bytes into a freshly built geoconv model for `config`. Every leaf is checked
 * (count, order, shape, dtype; constants such as a norm's eps by value) and the first mismatch is
 * named with its ginjax keypath and the geoconv parameter it maps to. The stored invariant filters
 * must be ours up to a scale per filter (optax's adamw decays them in ginjax; the scale is folded
 * into the weights, so the output is ginjax's). Nothing stays allocated when it fails.
 * @example
 * const { model, params } = ginjaxFromBytes(new Uint8Array(await (await fetch('unet.eqx')).arrayBuffer()), config);
 */
export function ginjaxFromBytes(
  bytes: Uint8Array | ArrayBuffer,
  config: GinjaxConfig | unknown,
  { backend, where = 'ginjaxFromBytes' }: { backend?: Backend; where?: string } = {},
): { model: Module; params: Params } {
  const u8 = bytes instanceof Uint8Array ? bytes : new Uint8Array(bytes);
  let records;
  try {
    records = parseNpyRecords(u8, where);
  } catch (e) {
    if (e instanceof NpyError) throw new GinjaxFileError(e.message, { cause: e });
    throw e;
  }
  const before = getBackend();
  if (backend && backend !== before) setBackend(backend.name);
  let model: Module;
  try {
    model = buildGinjaxModel(config, { empty: true, fn: where });
  } finally {
    if (backend && backend !== before) setBackend(before.name);
  }
  const fail = (msg: string): never => {
    model.dispose();
    throw new GinjaxFileError(`${where}: ${msg}`);
  };
  let leaves: GinjaxLeaf[];
  try {
    leaves = ginjaxLeaves(model);
  } catch (e) {
    model.dispose();
    throw e;
  }
  const n = Math.min(leaves.length, records.length);
  for (let i = 0; i < n; i++) {
    const l = leaves[i]!;
    const r = records[i]!;
    const same = r.shape.length === l.shape.length && r.shape.every((d, j) => d === l.shape[j]);
    if (!same || r.dtype !== l.dtype) {
      fail(
        `leaf ${i} (${l.path} → geoconv ${l.where}): the file has shape (${r.shape.join(', ')}) ${r.dtype} at byte ${r.offset}, the model expects (${l.shape.join(', ')}) ${l.dtype} — is the config the one the model was built with?`,
      );
    }
  }
  if (records.length !== leaves.length) {
    const next = leaves[n];
    fail(
      records.length < leaves.length
        ? `the file has ${records.length} leaves, the ${model.config.type} model ${leaves.length}: it ends before leaf ${n} (${next!.path} → geoconv ${next!.where}, shape (${next!.shape.join(', ')}))`
        : `the file has ${records.length} leaves, the ${model.config.type} model only ${leaves.length}: leaf ${n} onward (shape (${records[n]!.shape.join(', ')}) at byte ${records[n]!.offset}) has no place in this model`,
    );
  }
  // Values: constants and filters first (so a refusal leaves nothing half-written), then the writes.
  const scales = new Map<Tensor, Float32Array[]>();
  for (let i = 0; i < leaves.length; i++) {
    const l = leaves[i]!;
    const r = records[i]!;
    if (l.kind === 'constant') {
      const v = npyValues(r)[0]!;
      if (!(Math.abs(v - l.value!) <= 1e-12 * Math.abs(l.value!))) fail(`leaf ${i} (${l.path}) is ${v}, the model has ${l.value} (${l.where})`);
    } else if (l.kind === 'zeroBias') {
      const v = npyValues(r) as Float32Array;
      if (v.some((x) => x !== 0))
        fail(
          `leaf ${i} (${l.path}) is a nonzero pseudoscalar norm bias: ginjax adds it (breaking reflection equivariance), geoconv scales the spatial mean instead (README "Where geoconv deliberately differs"), so this model cannot be reproduced`,
        );
    } else if (l.kind === 'filters') {
      const v = npyValues(r) as Float32Array;
      const count = l.shape[0]!;
      const len = l.filters!.length / count;
      const s = new Float32Array(count);
      for (let f = 0; f < count; f++) {
        let dot = 0;
        let nn = 0;
        let vv = 0;
        for (let j = f * len; j < (f + 1) * len; j++) {
          dot += v[j]! * l.filters![j]!;
          nn += l.filters![j]! ** 2;
          vv += v[j]! ** 2;
        }
        s[f] = dot / nn;
        let res = 0;
        for (let j = f * len; j < (f + 1) * len; j++) res = Math.max(res, Math.abs(v[j]! - s[f]! * l.filters![j]!));
        if (!(res <= 1e-5 * Math.max(Math.sqrt(vv / len), 1e-30))) {
          fail(
            `leaf ${i} (${l.path}): stored invariant filter ${f} is not geoconv's filter ${f} of that key up to a scale (largest deviation ${res.toExponential(2)}): the file was built with other filters (another group, side or order)`,
          );
        }
      }
      if (s.some((x) => x !== 1)) for (const t of l.filterUsers!) scales.set(t, [...(scales.get(t) ?? []), s]);
    }
  }
  for (let i = 0; i < leaves.length; i++) {
    const l = leaves[i]!;
    const r = records[i]!;
    if (l.kind !== 'param' && l.kind !== 'convWeight' && l.kind !== 'convTransposeWeight' && l.kind !== 'zeroBias') continue;
    const t = l.tensor!;
    let v = npyValues(r) as Float32Array;
    if (l.kind === 'convWeight' || l.kind === 'convTransposeWeight') {
      const [taps, cin, cout] = t.shape as [number, number, number];
      v = permuteConvWeight(v, cout, cin, taps, false, l.kind === 'convTransposeWeight');
    }
    for (const s of scales.get(t) ?? []) for (let j = 0; j < v.length; j++) v[j] = v[j]! * s[j % s.length]!;
    t.backend.write(t.storage(), v);
  }
  return { model, params: model.params };
}

/** The bytes of a path (Node, Deno) or URL (fetch; Node reads file: URLs from disk). */
async function readSource(source: GinjaxSource, where: string): Promise<Uint8Array> {
  if (source instanceof Uint8Array) return source;
  if (source instanceof ArrayBuffer) return new Uint8Array(source);
  const isUrl = source instanceof URL || /^(https?|blob|data):/i.test(source);
  const isFileUrl = source instanceof URL ? source.protocol === 'file:' : /^file:/i.test(source);
  const g = globalThis as { process?: { versions?: { node?: string } }; Deno?: unknown };
  const hasFs = typeof g.Deno === 'object' || typeof g.process?.versions?.node === 'string';
  if ((!isUrl || isFileUrl) && hasFs && !(g.Deno && isFileUrl)) {
    const node = await import('./checkpoint-node.js');
    return node.readFileBytes(isFileUrl && typeof source === 'string' ? new URL(source) : source, where);
  }
  check(typeof source === 'string' || source instanceof URL, where, 'source', 'a path, URL, Uint8Array or ArrayBuffer', source);
  let response: Response;
  try {
    response = await fetch(source);
  } catch (e) {
    throw new Error(`${where}: cannot fetch (${message(e)})`, { cause: e });
  }
  if (!response.ok) throw new Error(`${where}: the server answered HTTP ${response.status}`);
  return new Uint8Array(await response.arrayBuffer());
}

/**
 * Loads a model file written by ginjax (`ginjax.ml.save`, i.e. `eqx.tree_serialise_leaves`) for the
 * ginjax constructor and arguments in `config`; returns the geoconv model (its params are the
 * loaded ones) and the params. Its outputs equal ginjax's `jax.vmap(model)` on the same input.
 * @example
 * const conv_filters = { Ms: [3], ks: [0, 1, 2], parities: [0, 1] };
 * const upsample_filters = { Ms: [2], ks: [0, 1, 2], parities: [0, 1] }; // an even side for 2× upsampling
 * const config = { model: 'UNet', D: 2, input: [[0, 0, 1]], output: [[1, 0, 1]], depth: 32, conv_filters, upsample_filters } as const;
 * const { model } = await loadGinjax('unet.eqx', config);
 * const y = model.predict(x); // equals ginjax's jax.vmap(model)(x)
 */
export async function loadGinjax(
  source: GinjaxSource,
  config: GinjaxConfig | unknown,
  { backend }: { backend?: Backend } = {},
): Promise<{ model: Module; params: Params }> {
  const where = `loadGinjax(${typeof source === 'string' ? JSON.stringify(source) : source instanceof URL ? JSON.stringify(source.href) : `${source.byteLength} bytes`})`;
  const bytes = await readSource(source, where);
  return ginjaxFromBytes(bytes, config, { backend, where });
}

/**
 * The bytes of the ginjax model file for `model` with `params` (default model.params): what
 * `ginjax.ml.save` writes for the same leaves, so ginjax's `ml.load` reads it back into the
 * constructor's model. Refuses parameters ginjax cannot express (a nonzero pseudoscalar norm bias).
 * @example
 * const bytes = await serializeGinjax(model, result.params); // ginjax's ml.load reads these
 */
export async function serializeGinjax(model: Module, params: Params = model.params): Promise<Uint8Array> {
  const leaves = ginjaxLeaves(model, params);
  const parts: Uint8Array[] = [];
  for (const l of leaves) {
    let data: Uint8Array;
    if (l.kind === 'constant') data = npyScalarBytes(l.dtype, l.value!);
    else if (l.kind === 'filters') data = new Uint8Array(l.filters!.buffer.slice(0));
    else {
      let v = await l.tensor!.data();
      if (l.kind === 'zeroBias' && v.some((x) => x !== 0)) {
        throw new GinjaxFileError(
          `saveGinjax: ${l.where} (a pseudoscalar norm bias) is nonzero; ginjax adds it where geoconv scales the mean, so the file would compute something else`,
        );
      }
      if (l.kind === 'convWeight' || l.kind === 'convTransposeWeight') {
        const [taps, cin, cout] = l.tensor!.shape as [number, number, number];
        v = permuteConvWeight(v, cout, cin, taps, true, l.kind === 'convTransposeWeight');
      }
      data = new Uint8Array(v.buffer, v.byteOffset, v.byteLength);
    }
    parts.push(npyRecord(l.dtype, l.shape, data));
  }
  const out = new Uint8Array(parts.reduce((n, p) => n + p.length, 0));
  let off = 0;
  for (const p of parts) {
    out.set(p, off);
    off += p.length;
  }
  return out;
}

/**
 * Writes the ginjax model file of `model` to `path` atomically (Node, Deno), or returns its bytes
 * when `path` is undefined.
 * @example
 * await saveGinjax('unet.eqx', model, result.params);
 */
export async function saveGinjax(path: string | undefined, model: Module, params?: Params): Promise<Uint8Array | undefined> {
  check(path === undefined || (typeof path === 'string' && path.length > 0), 'saveGinjax', 'path', 'a non-empty path, or undefined for the bytes', path);
  const bytes = await serializeGinjax(model, params ?? model.params);
  if (path === undefined) return bytes;
  const { writeFileAtomic } = await import('./atomic-write-node.js');
  await writeFileAtomic(path, bytes, 'saveGinjax');
  return undefined;
}
