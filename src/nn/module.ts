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
import { allocTensor, disposeIfThrows, tensor, Tensor } from '../tensor.js';
import { limits } from '../core/limits.js';
import { argError, show } from '../core/errors.js';
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
  /** Parameter trees already compared with `this.params` (new trees, e.g. after each step, once). */
  readonly #checked = new WeakSet<object>();

  constructor() {
    // Every subclass's `apply` first compares the tree with the module's own (checkParams): a weight
    // of the right size but the wrong shape would otherwise be read in the wrong layout, silently.
    // The subclass method is on the prototype chain already, so it is wrapped here, once per module.
    const forward = this.apply;
    Object.defineProperty(this, 'apply', {
      value: function apply(this: Module, params: Params, x: MultiImage, options?: CallOptions): MultiImage {
        this.checkParams(params);
        return forward.call(this, params, x, options);
      },
      enumerable: false,
      writable: false,
      configurable: true,
    });
  }

  /**
   * The forward pass with explicit parameters: a tree shaped like `this.params` (the same names and
   * tensor shapes; checked before the forward pass, see `checkParams`).
   */
  abstract apply(params: Params, x: MultiImage, options?: CallOptions): MultiImage;

  /**
   * Throws unless `params` has exactly this module's parameter names with the same shapes (a
   * RangeError naming the first path that differs). Cheap: a walk over the tree's leaves, done once
   * per tree object (trees are immutable).
   */
  checkParams(params: Params): void {
    if (params === this.params || this.#checked.has(params)) return;
    const fn = `${this.config?.type ?? this.constructor.name}.apply`;
    compareTrees(fn, this.params, params, 'params');
    this.#checked.add(params);
  }

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
  const type = config !== null && typeof config === 'object' && Object.hasOwn(config, 'type') ? config.type : undefined;
  const build = typeof type === 'string' ? builders.get(type) : undefined;
  if (!build) throw new RangeError(`buildModule: config.type must be one of ${[...builders.keys()].join(', ')} (got ${JSON.stringify(type)?.slice(0, 80)})`);
  if (key !== null && !(Array.isArray(key) && key.length === 2 && key.every((w) => Number.isInteger(w) && w >= 0 && w < 2 ** 32))) {
    throw new RangeError(`buildModule: key must be a random key (random.key(seed)) or null for no random initialisation (got ${JSON.stringify(key)})`);
  }
  // The outermost call checks the whole config once (nested builds inside run under it).
  if (buildDepth === 0) checkConfig(config);
  buildDepth++;
  try {
    // A build that fails half-way frees what its finished parts allocated.
    return disposeIfThrows(() => (key === null ? withoutInit(() => build(config, NO_KEY)) : build(config, key)));
  } finally {
    buildDepth--;
  }
}

let buildDepth = 0;
/** Config fields that count layers or blocks, and those that count channels. */
const LAYER_FIELDS = new Set(['numConv', 'numDownsamples', 'numBlocks']);
const CHANNEL_FIELDS = new Set(['depth', 'channels', 'inChannels', 'outChannels']);

/**
 * Checks a config against the documented limits BEFORE anything is built (limits.maxConfigNesting,
 * maxConfigLength, maxLayers, maxChannels): a few bytes of JSON must not ask for minutes of work
 * or gigabytes. Iterative, so that a config nested 20 000 deep is refused, not a stack overflow.
 */
function checkConfig(config: unknown): void {
  const fn = 'buildModule';
  const type = (config as ModuleConfig).type;
  const stack: [unknown, number, string][] = [[config, 1, 'config']];
  let chars = 0;
  while (stack.length) {
    const [v, depth, path] = stack.pop()!;
    if (typeof v === 'string') chars += v.length + 2;
    else if (typeof v === 'number') {
      chars += 8;
      const field = path.slice(path.lastIndexOf('.') + 1);
      if (LAYER_FIELDS.has(field) && !(v <= limits.maxLayers)) argError(fn, `${type} ${path}`, `<= ${limits.maxLayers} (limits.maxLayers)`, v);
      if (CHANNEL_FIELDS.has(field) && !(v <= limits.maxChannels)) argError(fn, `${type} ${path}`, `<= ${limits.maxChannels} (limits.maxChannels)`, v);
    } else if (v !== null && typeof v === 'object') {
      if (depth > limits.maxConfigNesting) {
        throw new RangeError(`${fn}: the ${JSON.stringify(String(type).slice(0, 40))} config is nested deeper than ${limits.maxConfigNesting} (limits.maxConfigNesting) at ${path.slice(0, 120)}…`);
      }
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      if (Array.isArray(v) && path.endsWith('.layers') && v.length > limits.maxLayers) argError(fn, `${type} ${path}`, `a list of <= ${limits.maxLayers} layers (limits.maxLayers)`, `${v.length} layers`);
      chars += 2 + entries.length;
      for (const [k, x] of entries) {
        chars += k.length + 3;
        stack.push([x, depth + 1, `${path}.${k}`]);
      }
    } else chars += 5;
    if (chars > limits.maxConfigLength) argError(fn, 'config', `at most ${limits.maxConfigLength} characters of JSON (limits.maxConfigLength)`, `more (type ${JSON.stringify(String(type).slice(0, 40))})`);
  }
}

/** While set, initUniform refuses to allocate past the parameters a checkpoint holds. */
let budget: { elements: number; readonly where: string } | null = null;

/**
 * Runs `fn` (a build) with a parameter budget: the randomly initialised parameters it allocates
 * (through initUniform) may not exceed `elements` floats in total — what a checkpoint's file holds
 * (plus a little slack: some builders draw a value they then drop). A config that describes a larger model than its tensors (`depth: 100000`
 * in a 4 KB file) then fails at its first oversized parameter, before it is allocated.
 */
export function withParameterBudget<T>(elements: number, where: string, fn: () => T): T {
  const before = budget;
  budget = { elements, where };
  try {
    return fn();
  } finally {
    budget = before;
  }
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
  if (budget) {
    if (n > budget.elements) {
      throw new RangeError(`${budget.where}: the config describes a model with more parameters than the file holds (a parameter of shape [${shape.join(', ')}] does not fit in the ${budget.elements} floats left)`);
    }
    budget.elements -= n;
  }
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

const isTree = (v: unknown): v is Params => v !== null && typeof v === 'object' && !(v instanceof Tensor) && !Array.isArray(v);
const hasLeaves = (t: Params): boolean => Object.values(t).some((v) => v instanceof Tensor || (isTree(v) && hasLeaves(v)));

/** `given` against `own` (the module's tree): the same tensor paths, the same shapes, nothing extra. */
function compareTrees(fn: string, own: Params, given: unknown, path: string): void {
  if (!isTree(given)) {
    throw new RangeError(`${fn}: ${path} must be a parameter tree (an object of Tensors and sub-trees, shaped like the model's params) (got ${given instanceof Tensor ? 'a Tensor' : show(given)})`);
  }
  for (const [name, mine] of Object.entries(own)) {
    const at = `${path}.${name}`;
    const theirs = Object.hasOwn(given, name) ? (given as Record<string, unknown>)[name] : undefined;
    if (mine instanceof Tensor) {
      if (!(theirs instanceof Tensor)) {
        throw new RangeError(`${fn}: ${at} must be a Tensor of shape ${show(mine.shape)} (got ${theirs === undefined ? 'nothing' : 'a sub-tree'})`);
      }
      if (theirs.shape.length !== mine.shape.length || theirs.shape.some((d, i) => d !== mine.shape[i])) {
        argError(fn, `${at} shape`, `${show(mine.shape)}, the model's own`, theirs.shape);
      }
    } else if (theirs === undefined) {
      // An absent sub-tree reads as empty (see `sub`): fine only where the model has nothing there.
      if (hasLeaves(mine)) throw new RangeError(`${fn}: ${at} must be a sub-tree of the model's parameters (got nothing)`);
    } else {
      compareTrees(fn, mine, theirs, at);
    }
  }
  for (const name of Object.keys(given)) {
    if (!Object.hasOwn(own, name)) {
      throw new RangeError(`${fn}: ${path}.${name} is not a parameter of this model (its parameters at ${path}: ${Object.keys(own).join(', ') || 'none'})`);
    }
  }
}
