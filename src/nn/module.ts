/**
 * Modules (Equinox style): immutable objects holding static configuration, fixed buffers (such as
 * invariant-filter bases) and their initial trainable parameters. The forward pass takes the
 * parameters explicitly — `module.apply(params, x)` — so that `valueAndGrad` differentiates with
 * respect to a plain tree and optimizers return new trees. `module.config` is JSON from which
 * `buildModule` rebuilds the same module (used by checkpoints).
 *
 * Random initialisation goes through `initUniform`, so that a module can also be built WITHOUT it
 * (`buildModule(config, null)`, `withoutInit`): loaders that overwrite every parameter at once
 * neither pay for drawing random numbers nor hold two copies of the weights.
 */
import { uniform, type Key } from '../core/random.js';
import type { Shape } from '../core/shape.js';
import type { MultiImage } from '../geometric/multi-image.js';
import { allocTensor, tensor, Tensor } from '../tensor.js';
import { getBackend } from '../backends/backend.js';
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

/**
 * The module `config` describes. With a key, its parameters are initialised as ginjax does (random
 * draws from `key`); with `null`, no random number is drawn: parameters that would be random are
 * zeros (the rest — norm scales of 1, zero biases — as usual), ready to be overwritten, e.g. by
 * loaded weights. Nested builds inside (Sequential, wrappers) follow the outermost call.
 */
export function buildModule(config: ModuleConfig, key: Key | null): Module {
  const build = builders.get(config?.type);
  if (!build) throw new RangeError(`buildModule: config.type must be one of ${[...builders.keys()].join(', ')} (got ${JSON.stringify(config?.type)})`);
  if (key === null) return withoutInit(() => build(config, NO_KEY));
  if (!(Array.isArray(key) && key.length === 2 && key.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32))) {
    throw new RangeError(`buildModule: key must be a random key (random.key(seed)) or null for no random initialisation (got ${JSON.stringify(key)})`);
  }
  return build(config, key);
}

/** What initUniform makes while a build without initialisation runs (none when 'random'). */
type InitMode = 'random' | 'zeros' | 'empty';
let initMode: InitMode = 'random';
/** The key handed to builders when there is none: split freely, never drawn from. */
const NO_KEY: Key = Object.freeze([0, 0]) as unknown as Key;

/**
 * Runs `fn` (which constructs modules: `withoutInit(() => new UNet(options, key))`) with random
 * initialisation switched off: every parameter `initUniform` would draw is zeros instead, and the
 * key is not used. `empty: true` skips even the zero fill (contents unspecified) — only for code
 * that overwrites every parameter before any use, as `loadCheckpoint` does. Construction is
 * synchronous, so the switch covers exactly the modules `fn` builds.
 */
export function withoutInit<T>(fn: () => T, { empty = false }: { empty?: boolean } = {}): T {
  const before = initMode;
  initMode = empty ? 'empty' : 'zeros';
  try {
    return fn();
  } finally {
    initMode = before;
  }
}

/**
 * A parameter tensor of `shape` drawn from U[lo, hi) with `key` (float32, `random.uniform`'s
 * stream) — or, inside `withoutInit`/`buildModule(config, null)`, zeros (or unfilled storage)
 * without touching the random generator. Layers initialise their random weights through this.
 */
export function initUniform(key: Key, shape: Shape, lo: number, hi: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  if (initMode === 'random') return tensor(uniform(key, n, lo, hi), shape);
  const t = allocTensor(shape, getBackend());
  if (initMode === 'zeros') t.backend.write(t.storage(), new Float32Array(n));
  return t;
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
