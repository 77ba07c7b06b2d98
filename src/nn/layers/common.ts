/**
 * Helpers shared by the layers: named activations, input validation against a layer's signature,
 * per-key views of the packed layout, and the mutable `State` that carries batch-norm statistics.
 */
import { check } from '../../core/errors.js';
import { MultiImage } from '../../geometric/multi-image.js';
import { checkPatch } from '../../geometric/functional.js';
import { blockOffsets, checkSignature, signature, type Signature, type SignatureLike } from '../../geometric/signature.js';
import { concat } from '../../ops/concat.js';
import { gelu, relu, sigmoid, tanh } from '../../ops/unary.js';
import { keep, type Tensor } from '../../tensor.js';
import type { CallOptions, Json, Module } from '../module.js';

/** Pointwise activations by name. 'gelu' is the tanh approximation (jax.nn.gelu's default, as ginjax). */
export type ActivationName = 'relu' | 'gelu' | 'tanh' | 'sigmoid';
/**
 * The names `activate` and the layers accept.
 * @example
 * ACTIVATIONS.includes('gelu'); // true
 */
export const ACTIVATIONS: readonly ActivationName[] = ['relu', 'gelu', 'tanh', 'sigmoid'];

export function checkActivation(fn: string, name: unknown): ActivationName {
  check(ACTIVATIONS.includes(name as ActivationName), fn, 'activation', ACTIVATIONS.map((a) => `"${a}"`).join(', '), name);
  return name as ActivationName;
}

/**
 * Applies a named pointwise activation to a tensor.
 * @example
 * const y = activate('relu', tensor([-1, 2])); // [0, 2]
 */
export function activate(name: ActivationName, x: Tensor): Tensor {
  switch (name) {
    case 'relu':
      return relu(x);
    case 'gelu':
      return gelu(x);
    case 'tanh':
      return tanh(x);
    case 'sigmoid':
      return sigmoid(x);
  }
}

export function checkD(fn: string, D: unknown): 2 | 3 {
  check(D === 2 || D === 3, fn, 'D', '2 or 3', D);
  return D;
}

export function checkPositiveInt(fn: string, name: string, v: unknown, min = 1): number {
  check(Number.isInteger(v) && (v as number) >= min, fn, name, `an integer >= ${min}`, v);
  return v as number;
}

export function checkNonNegative(fn: string, name: string, v: unknown): number {
  check(typeof v === 'number' && Number.isFinite(v) && v >= 0, fn, name, 'a finite number >= 0', v);
  return v as number;
}

/** The signature as JSON (for configs). */
export const sigJson = (s: Signature): Json => s.map((e) => ({ k: e.k, parity: e.parity, channels: e.channels }));

export function parseSignature(fn: string, s: SignatureLike): Signature {
  return signature(s, fn);
}

/** Checks that `x` is a MultiImage of dimension D and (when given) exactly the signature `sig`. */
export function checkInput(fn: string, x: unknown, D: number, sig?: Signature): asserts x is MultiImage {
  check(x instanceof MultiImage, fn, 'input', 'a MultiImage', x);
  check(x.D === D, fn, 'input D', `${D}`, x.D);
  if (sig) checkSignature(fn, 'input signature', sig, x.signature);
}

/** Checks that every spatial size of `x` is divisible by `patch`. */
export function checkDivisible(fn: string, x: MultiImage, patch: number): void {
  checkPatch(fn, x.spatial, patch);
}

/** One key's packed block viewed as [batch·pixels, channels, D^k] (a gather only when there are several keys). */
export interface KeyBlock {
  readonly k: number;
  readonly parity: 0 | 1;
  readonly channels: number;
  readonly T: number;
  readonly offset: number;
  /** [B·P, channels, T] */
  readonly data: Tensor;
}

export function keyBlocks(x: MultiImage): KeyBlock[] {
  const offsets = blockOffsets(x.signature, x.D);
  const rows = x.data.size / x.width;
  return x.signature.map((e, i) => {
    const T = x.D ** e.k;
    return { k: e.k, parity: e.parity, channels: e.channels, T, offset: offsets[i]!, data: x.packedBlock(e.k, e.parity).reshape([rows, e.channels, T]) };
  });
}

/** Inverse of keyBlocks: per-key results [B·P, channels, T] back into packed data shaped like x.data. */
export function packBlocks(x: MultiImage, blocks: readonly Tensor[]): Tensor {
  const rows = x.data.size / x.width;
  const flat = blocks.map((b) => b.reshape([rows, b.size / rows]));
  const cat = flat.length === 1 ? flat[0]! : concat(flat, 1);
  return cat.reshape(x.data.shape);
}

// ---------------------------------------------------------------------------------------------
// State (batch-norm running statistics)

/** Every module of `model` (itself included) with its path of submodule indices ("" for `model`). */
function modulePaths(model: Module): Map<Module, string> {
  const out = new Map<Module, string>();
  const walk = (m: Module, path: string) => {
    if (out.has(m)) return;
    out.set(m, path);
    m.submodules().forEach((s, i) => walk(s, path ? `${path}.${i}` : String(i)));
  };
  walk(model, '');
  return out;
}

/**
 * Mutable, non-trainable state of stateful modules (BatchNorm running statistics), keyed by the
 * module object. Pass one in `options.state`: in training mode a BatchNorm writes its updated
 * running statistics into it; in inference mode it reads them from it (falling back to the
 * module's initial statistics). The store owns what it holds: `set` keeps the new tensors alive
 * across `tidy` scopes (so an update made inside `valueAndGrad` survives) and disposes the ones it
 * replaces; `dispose()` frees everything.
 * @example
 * const state = new State();
 * const y = model.apply(params, x, { training: true, state }); // batch norms write their statistics
 * const z = model.apply(params, x, { state });                   // inference reads them
 * state.dispose();
 */
export class State {
  readonly #entries = new Map<Module, Readonly<Record<string, Tensor>>>();

  get(module: Module): Readonly<Record<string, Tensor>> | undefined {
    return this.#entries.get(module);
  }

  set(module: Module, value: Readonly<Record<string, Tensor>>): void {
    const old = this.#entries.get(module);
    for (const t of Object.values(value)) keep(t);
    this.#entries.set(module, value);
    if (old) for (const t of Object.values(old)) if (!Object.values(value).includes(t)) t.dispose();
  }

  get size(): number {
    return this.#entries.size;
  }

  /**
   * The entries of `model`'s modules as named tensors for checkpoints: "<path>.<entry>", the path
   * being the module's submodule indices from `model` (depth first, e.g. "0.2.mean"; "mean" for
   * `model` itself). The same config rebuilds the same paths. Entries of other modules are an error.
   */
  named(model: Module): Map<string, Tensor> {
    const paths = modulePaths(model);
    const out = new Map<string, Tensor>();
    for (const [m, value] of this.#entries) {
      const path = paths.get(m);
      if (path === undefined)
        throw new Error(`State.named: the state holds statistics of a ${m.config.type} module that is not part of the ${model.config.type} model`);
      for (const [name, t] of Object.entries(value)) out.set(path ? `${path}.${name}` : name, t);
    }
    return out;
  }

  /**
   * The inverse of `named` for a (rebuilt) `model`: the store takes the tensors. A name that is not
   * "<path of one of model's modules>.<entry>", or whose shape differs from that module's initial
   * statistics, is an error naming it.
   */
  static fromNamed(model: Module, tensors: ReadonlyMap<string, Tensor>): State {
    const byPath = new Map([...modulePaths(model)].map(([m, p]) => [p, m]));
    const grouped = new Map<Module, Record<string, Tensor>>();
    for (const [name, t] of tensors) {
      const cut = name.lastIndexOf('.');
      const m = byPath.get(cut < 0 ? '' : name.slice(0, cut));
      const entry = name.slice(cut + 1);
      const initial = (m as { initialState?: Readonly<Record<string, Tensor>> } | undefined)?.initialState?.[entry];
      if (!m || !initial) throw new Error(`State.fromNamed: "${name}" names no statistic of a module of the ${model.config.type} model`);
      if (initial.shape.length !== t.shape.length || initial.shape.some((n, i) => n !== t.shape[i])) {
        throw new Error(`State.fromNamed: "${name}" has shape [${t.shape}], the module expects [${initial.shape}]`);
      }
      grouped.set(m, { ...grouped.get(m), [entry]: t });
    }
    const state = new State();
    for (const [m, value] of grouped) state.set(m, value);
    return state;
  }

  dispose(): void {
    for (const v of this.#entries.values()) for (const t of Object.values(v)) t.dispose();
    this.#entries.clear();
  }
}

/** Call options of the layers: `training` (from Module) plus the state store. */
export interface LayerCallOptions extends CallOptions {
  readonly state?: State;
}
