/**
 * Modules (Equinox style): immutable objects holding static configuration, fixed buffers (such as
 * invariant-filter bases) and their initial trainable parameters. The forward pass takes the
 * parameters explicitly — `module.apply(params, x)` — so that `valueAndGrad` differentiates with
 * respect to a plain tree and optimizers return new trees. `module.config` is JSON from which
 * `buildModule` rebuilds the same module (used by checkpoints).
 */
import type { Key } from '../core/random.js';
import type { MultiImage } from '../geometric/multi-image.js';
import { Tensor } from '../tensor.js';
import { treeLeaves } from '../autodiff.js';

/** A tree of trainable tensors. */
export interface Params {
  readonly [name: string]: Tensor | Params;
}

export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

export interface ModuleConfig {
  readonly type: string;
  readonly [field: string]: Json;
}

export interface CallOptions {
  /** Training mode (batch norm uses batch statistics; GroupAverage averages only in inference unless told). */
  readonly training?: boolean;
}

export abstract class Module {
  abstract readonly config: ModuleConfig;
  abstract readonly params: Params;

  /** The forward pass with explicit parameters (a tree shaped like `this.params`). */
  abstract apply(params: Params, x: MultiImage, options?: CallOptions): MultiImage;

  /** The forward pass with the module's own parameters. */
  call(x: MultiImage, options?: CallOptions): MultiImage {
    return this.apply(this.params, x, options);
  }

  /** Direct sub-modules (for walks such as parameter accounting). */
  submodules(): readonly Module[] {
    return [];
  }

  /** Fixed tensors (not trained, not decayed): e.g. invariant-filter bases. */
  buffers(): Tensor[] {
    return [];
  }

  /** Trainable parameter count. */
  parameterCount(): number {
    return treeLeaves(this.params).reduce((n, t) => n + t.size, 0);
  }

  /** Parameters plus stored buffers: ginjax's count_params, which counts the stored filters. */
  storedCount(): number {
    return this.parameterCount() + this.buffers().reduce((n, t) => n + t.size, 0);
  }

  dispose(): void {
    for (const t of [...treeLeaves(this.params), ...this.buffers()]) t.dispose();
  }
}

/** Builders by config type, so that a checkpoint's config rebuilds its module. */
const builders = new Map<string, (config: ModuleConfig, key: Key) => Module>();

export function registerModule(type: string, build: (config: ModuleConfig, key: Key) => Module): void {
  builders.set(type, build);
}

export function buildModule(config: ModuleConfig, key: Key): Module {
  const build = builders.get(config.type);
  if (!build) throw new RangeError(`buildModule: config.type must be one of ${[...builders.keys()].join(', ')} (got ${JSON.stringify(config.type)})`);
  return build(config, key);
}

const NO_PARAMS: Params = Object.freeze({});

/**
 * The sub-tree of `params` at `name`. An absent sub-tree reads as empty (a parameter-free layer has
 * nothing to store, so a checkpoint has no entry for it); a missing tensor inside is still an
 * error naming it (see `leaf`).
 */
export function sub(params: Params, name: string): Params {
  const p = params[name];
  if (p instanceof Tensor) throw new RangeError(`parameters: expected a sub-tree at "${name}" (got a Tensor)`);
  return p ?? NO_PARAMS;
}

/** The tensor of `params` at `name`. */
export function leaf(params: Params, name: string): Tensor {
  const p = params[name];
  if (!(p instanceof Tensor)) throw new RangeError(`parameters: expected a Tensor at "${name}" (got ${p === undefined ? 'nothing' : 'a sub-tree'})`);
  return p;
}
