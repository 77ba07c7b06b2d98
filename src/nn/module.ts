/**
 * Modules (Equinox style): immutable objects holding static configuration, fixed buffers (such as
 * invariant-filter bases) and their initial trainable parameters. The forward pass takes the
 * parameters explicitly — `module.apply(params, x)` — so that `valueAndGrad` differentiates with
 * respect to a plain tree and optimizers return new trees. `module.config` is JSON from which
 * `buildModule` (registry.ts) rebuilds the same module (used by checkpoints).
 *
 * Random initialisation goes through `initUniform`, so that a module can also be built WITHOUT it
 * (`buildModule(config, null)`, `withoutInit`): loaders that overwrite every parameter at once
 * neither pay for drawing random numbers nor hold two copies of the weights.
 */
import { uniform, type Key } from '../core/random.js';
import type { Shape } from '../core/shape.js';
import { MultiImage } from '../geometric/multi-image.js';
import { signature, signatureToString, type SignatureLike } from '../geometric/signature.js';
import { tapes } from '../tape.js';
import { slice } from '../ops/gather.js';
import { concat } from '../ops/concat.js';
import type { State } from './layers/common.js';
import { allocTensor, tensor, Tensor, tidy } from '../tensor.js';
import { argError, check, show } from '../core/errors.js';
import { getBackend } from '../backends/backend.js';
import { treeLeaves } from '../autodiff.js';

/** A tree of trainable tensors. */
export interface Params {
  readonly [name: string]: Tensor | Params;
}

/** JSON values (module configs). */
export type Json = null | boolean | number | string | readonly Json[] | { readonly [k: string]: Json };

/**
 * A module's configuration as JSON: `type` names the builder (`registerModule`); `buildModule(config, key)` rebuilds the module.
 */
export interface ModuleConfig {
  readonly type: string;
  readonly [field: string]: Json;
}

/** Options of a forward pass. */
export interface CallOptions {
  /** Training mode (batch norm uses batch statistics; GroupAverage averages only in inference unless told). */
  readonly training?: boolean;
}

/**
 * A layer or model (Equinox style): static configuration plus an explicit tree of parameters. `module.apply(params, x)` is the forward pass (differentiable in `params`), `call(x)` uses the module's own, `predict(x)` runs inference in batches, `summary()` lists the layers.
 * @example
 * const model = new UNet({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], depth: 8 }, random.key(0));
 * console.log(model.summary());
 * const y = model.predict(x, { batchSize: 16 });
 */
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
        const y = forward.call(this, params, x, options);
        if (trace && !trace.has(this)) trace.set(this, { input: describe(x), output: describe(y) });
        return y;
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

  /**
   * Inference: the forward pass over `x` in batches of `batchSize` samples (default 32), in
   * inference mode, with no gradient tape recorded; the batches' outputs are joined into ONE
   * MultiImage (yours to dispose) and every intermediate is freed. `params` (default the module's
   * own) takes the trained tree that `train()` returns; `state` the batch-norm statistics.
   * @example
   * const y = model.predict(x, { batchSize: 8, params: result.params });
   * console.log(await y.values());
   * y.dispose();
   */
  predict(x: MultiImage, options: PredictOptions = {}): MultiImage {
    const fn = `${this.config?.type ?? this.constructor.name}.predict`;
    check(x instanceof MultiImage, fn, 'x', 'a MultiImage', x);
    check(options !== null && typeof options === 'object', fn, 'options', 'an object { batchSize?, params?, state? }', options);
    for (const key of Object.keys(options))
      check(['batchSize', 'params', 'state'].includes(key), fn, `option ${show(key)}`, 'one of batchSize, params, state', key);
    const { batchSize = 32, params = this.params, state } = options;
    check(Number.isInteger(batchSize) && batchSize >= 1, fn, 'batchSize', 'an integer >= 1', batchSize);
    const call: CallOptions & { state?: State } = state ? { training: false, state } : { training: false };
    const outs: MultiImage[] = [];
    // Inference never needs a gradient: while predict runs, no tape (of an enclosing valueAndGrad) records.
    const saved = tapes.splice(0, tapes.length);
    try {
      for (let start = 0; start < x.batch; start += batchSize) {
        const n = Math.min(batchSize, x.batch - start);
        outs.push(
          tidy(() => {
            const part = n === x.batch ? x : new MultiImage(slice(x.data, 0, start, n), x.signature, x.D, x.isTorus);
            const y = this.apply(params, part, call);
            // a fresh handle when a module hands back its input's data (Identity-like): the result is the caller's
            return y.data === x.data ? new MultiImage(y.data.reshape(y.data.shape), y.signature, y.D, y.isTorus) : y;
          }),
        );
      }
      if (outs.length === 1) return outs[0]!;
      const first = outs[0]!;
      return new MultiImage(
        tidy(() =>
          concat(
            outs.map((o) => o.data),
            0,
          ),
        ),
        first.signature,
        first.D,
        first.isTorus,
      );
    } catch (e) {
      for (const o of outs) o.dispose();
      outs.length = 0;
      throw e;
    } finally {
      tapes.push(...saved);
      if (outs.length > 1) for (const o of outs) o.dispose();
    }
  }

  /**
   * A text table of the module's layers (nested ones indented): name, type, input → output
   * signature, trainable parameter count, and the totals. Without `x` the signatures are those the
   * configs declare ("?" where a layer declares none); with a sample input (its first batch element
   * is run once, in inference mode, nothing kept) every layer's actual signature and spatial size.
   * @example
   * console.log(model.summary());   // declared signatures
   * console.log(model.summary(x));  // traced: "{(1,0):1} 16×16 → {(0,0):4} 16×16"
   */
  summary(x?: MultiImage): string {
    const fn = `${this.config?.type ?? this.constructor.name}.summary`;
    let traced: Map<Module, { input: string; output: string }> | null = null;
    if (x !== undefined) {
      check(x instanceof MultiImage, fn, 'x', 'a MultiImage (a sample input) or nothing', x);
      const before = trace;
      trace = traced = new Map();
      const saved = tapes.splice(0, tapes.length);
      try {
        tidy(() => {
          this.apply(this.params, x.batch > 1 ? x.getOne(0) : x, { training: false });
        });
      } finally {
        tapes.push(...saved);
        trace = before;
      }
    }
    const rows: [string, string, string, string][] = [];
    const walk = (m: Module, name: string, depth: number) => {
      const io = traced?.get(m) ?? declared(m);
      rows.push([
        `${'  '.repeat(depth)}${name}`,
        m.config?.type ?? m.constructor.name,
        io ? `${io.input} → ${io.output}` : '? → ?',
        m.parameterCount().toLocaleString('en-US'),
      ]);
      const subs = m.submodules();
      const used = new Set<string>();
      subs.forEach((c, i) => {
        const key = Object.keys(m.params).find((k) => m.params[k] === c.params && !used.has(k)) ?? String(i);
        used.add(key);
        walk(c, key, depth + 1);
      });
    };
    walk(this, '(model)', 0);
    const head: [string, string, string, string] = ['Layer', 'Type', x ? 'Input → output (traced)' : 'Input → output (declared)', 'Params'];
    const widths = head.map((h, j) => Math.max(h.length, ...rows.map((r) => r[j]!.length)));
    const line = (r: readonly string[]) =>
      r
        .map((c, j) => (j === 3 ? c.padStart(widths[j]!) : c.padEnd(widths[j]!)))
        .join('  ')
        .trimEnd();
    const rule = '─'.repeat(widths.reduce((a, b) => a + b, 0) + 6);
    const buffers = this.storedCount() - this.parameterCount();
    return [
      line(head),
      rule,
      ...rows.map(line),
      rule,
      `Total trainable parameters: ${this.parameterCount().toLocaleString('en-US')}`,
      ...(buffers > 0 ? [`Fixed buffers (filter bases, statistics): ${buffers.toLocaleString('en-US')} floats`] : []),
    ].join('\n');
  }

  /**
   * The module as its `summary()` table.
   * @example
   * console.log(String(new ConvContract({ D: 2, input: [[[1, 0], 1]], output: [[[0, 0], 2]], M: 3 }, random.key(0))));
   */
  toString(): string {
    return this.summary();
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

/** Options of `Module.predict`. */
export interface PredictOptions {
  /** Samples per forward pass (default 32); the last batch may be smaller. */
  readonly batchSize?: number;
  /** The parameter tree to use (default the module's own `params`), e.g. `train()`'s result. */
  readonly params?: Params;
  /** Batch-norm running statistics (see `State`). */
  readonly state?: State;
}

/** While `summary(x)` runs: every module's first input and output, as text. */
let trace: Map<Module, { input: string; output: string }> | null = null;

/** A MultiImage's signature and spatial size, e.g. "{(1,0):2} 16×16". */
function describe(x: MultiImage): string {
  return `${signatureToString(x.signature)} ${x.spatial.join('×')}`;
}

/** The signatures a module's config declares (`input`, `output`; output = input when only one is given). */
function declared(m: Module): { input: string; output: string } | null {
  const read = (v: unknown): string | null => {
    if (v === undefined) return null;
    try {
      return signatureToString(signature(v as SignatureLike));
    } catch {
      return null;
    }
  };
  const config = (m.config ?? {}) as Record<string, unknown>;
  const input = read(config.input);
  const output = read(config.output) ?? (input && !('output' in config) ? input : null);
  return input || output ? { input: input ?? '?', output: output ?? '?' } : null;
}

/** How a module type is built from its config (`registerModule`, the built-in table in registry.ts). */
export type ModuleBuilder = (config: ModuleConfig, key: Key) => Module;

/**
 * Builders of users' own module types, by config type. The built-in types are not here: they are a
 * table in registry.ts (imported where configs are built), so that no class file registers itself
 * when it loads — a load-time side effect that a bundler honouring `"sideEffects": false` may drop.
 */
const builders = new Map<string, ModuleBuilder>();

/**
 * Registers how to build a module type from its config, so that `buildModule` and checkpoints know it (custom layers call this once, before loading). A type registered here takes precedence over a built-in type of the same name.
 * @example
 * registerModule('MyLayer', (config, key) => new MyLayer(config as never, key));
 */
export function registerModule(type: string, build: ModuleBuilder): void {
  check(typeof type === 'string' && type.length > 0, 'registerModule', 'type', 'a non-empty string', type);
  check(typeof build === 'function', 'registerModule', 'build', 'a function (config, key) => Module', build);
  builders.set(type, build);
}

/** The builder `registerModule` holds for `type`, if any (for buildModule in registry.ts). */
export function registeredBuilder(type: string): ModuleBuilder | undefined {
  return builders.get(type);
}

/** The types registered with `registerModule`, in registration order. */
export function registeredTypes(): string[] {
  return [...builders.keys()];
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

/**
 * Runs `fn` (which constructs modules: `withoutInit(() => new UNet(options, key))`) with random
 * initialisation switched off: every parameter `initUniform` would draw is zeros instead, and the
 * key is not used. `empty: true` skips even the zero fill (contents unspecified) — only for code
 * that overwrites every parameter before any use, as `loadCheckpoint` does. Construction is
 * synchronous, so the switch covers exactly the modules `fn` builds.
 * @example
 * const model = withoutInit(() => new UNet(options, random.key(0))); // no random draws
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
 * @example
 * const w = initUniform(random.key(0), [3, 4], -0.5, 0.5);
 */
export function initUniform(key: Key, shape: Shape, lo: number, hi: number): Tensor {
  const n = shape.reduce((p, d) => p * d, 1);
  if (budget) {
    if (n > budget.elements) {
      throw new RangeError(
        `${budget.where}: the config describes a model with more parameters than the file holds (a parameter of shape [${shape.join(', ')}] does not fit in the ${budget.elements} floats left)`,
      );
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
export function subtree(params: Params, name: string): Params {
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
    throw new RangeError(
      `${fn}: ${path} must be a parameter tree (an object of Tensors and sub-trees, shaped like the model's params) (got ${given instanceof Tensor ? 'a Tensor' : show(given)})`,
    );
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
      // An absent sub-tree reads as empty (see `subtree`): fine only where the model has nothing there.
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
