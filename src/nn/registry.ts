/**
 * `buildModule`: a module from its JSON config (checkpoints, ONNX import, `model.config` round
 * trips), and the table of the built-in module types it knows.
 *
 * The table imports every module class explicitly instead of each class file registering itself
 * when it loads. Registration at load time is a side effect, and a bundler that honours the
 * package's `"sideEffects": false` drops it (with the class) whenever the program names no class:
 * `loadCheckpoint` alone would then know no type at all. With the table, whatever imports
 * `buildModule` (or a loader that calls it) carries every class a config can name, and a program
 * that never builds from a config carries none. Users' own types still go through `registerModule`,
 * which runs when their code calls it.
 */
import { check, argError } from '../core/errors.js';
import { limits } from '../core/limits.js';
import { split, type Key } from '../core/random.js';
import type { SignatureLike } from '../geometric/signature.js';
import { disposeIfThrows } from '../tensor.js';
import { ConvContract, type ConvContractOptions } from './conv-contract.js';
import { Conv, ConvTranspose, BatchNorm, Identity, type ConvOptions, type ConvTransposeOptions, type BatchNormOptions } from './layers/baseline.js';
import {
  VectorNeuronNonlinear,
  NormNonlinear,
  Activation,
  type VectorNeuronOptions,
  type NormNonlinearOptions,
  type ActivationOptions,
} from './layers/nonlinear.js';
import { GroupNorm, LayerNorm, type GroupNormOptions, type LayerNormOptions } from './layers/norm.js';
import { MaxNormPool, AveragePool, Unpool, type MaxNormPoolOptions, type PoolOptions } from './layers/pool.js';
import { Sequential } from './layers/sequential.js';
import {
  ConvBlock,
  UNet,
  ResNet,
  DilResNet,
  ModelWrapper,
  GroupAverage,
  ResidualStep,
  type ConvBlockOptions,
  type UNetOptions,
  type ResNetOptions,
  type DilResNetOptions,
} from './models.js';
import { registeredBuilder, registeredTypes, withoutInit, type Module, type ModuleBuilder, type ModuleConfig } from './module.js';

/** A config read as the options of its class (each constructor validates what it is given). */
const options = <T>(c: ModuleConfig): T => c as unknown as T;

/** The built-in module types by config `type` (each class's config names its class). */
const BUILTIN: { readonly [type: string]: ModuleBuilder } = {
  ConvContract: (c, key) => new ConvContract(options<ConvContractOptions>(c), key),
  VectorNeuronNonlinear: (c, key) => new VectorNeuronNonlinear(options<VectorNeuronOptions>(c), key),
  NormNonlinear: (c, key) => new NormNonlinear(options<NormNonlinearOptions>(c), key),
  Activation: (c, key) => new Activation(options<ActivationOptions>(c), key),
  GroupNorm: (c, key) => new GroupNorm(options<GroupNormOptions>(c), key),
  LayerNorm: (c, key) => new LayerNorm(options<LayerNormOptions>(c), key),
  MaxNormPool: (c, key) => new MaxNormPool(options<MaxNormPoolOptions>(c), key),
  AveragePool: (c, key) => new AveragePool(options<PoolOptions>(c), key),
  Unpool: (c, key) => new Unpool(options<PoolOptions>(c), key),
  Conv: (c, key) => new Conv(options<ConvOptions>(c), key),
  ConvTranspose: (c, key) => new ConvTranspose(options<ConvTransposeOptions>(c), key),
  BatchNorm: (c, key) => new BatchNorm(options<BatchNormOptions>(c), key),
  Identity: (c, key) => new Identity(c, key),
  Sequential: (c, key) => {
    const layers = (c as { layers?: unknown }).layers;
    check(Array.isArray(layers) && layers.length > 0, 'Sequential', 'config.layers', 'a non-empty array of module configs', layers);
    const keys = split(key, layers.length) as Key[];
    return new Sequential(layers.map((l: ModuleConfig, i) => buildModule(l, keys[i]!)));
  },
  ConvBlock: (c, key) => new ConvBlock(options<ConvBlockOptions>(c), key),
  UNet: (c, key) => new UNet(options<UNetOptions>(c), key),
  ResNet: (c, key) => new ResNet(options<ResNetOptions>(c), key),
  DilResNet: (c, key) => new DilResNet(options<DilResNetOptions>(c), key),
  ModelWrapper: (c, key) => new ModelWrapper({ model: buildModule(c.model as ModuleConfig, key), output: c.output as unknown as SignatureLike }),
  GroupAverage: (c, key) =>
    new GroupAverage({
      model: buildModule(c.model as ModuleConfig, key),
      alwaysAverage: c.alwaysAverage as boolean,
      ...(c.operators ? { operators: c.operators as number[], D: c.D as number } : {}),
    }),
  ResidualStep: (c, key) => new ResidualStep({ model: buildModule(c.model as ModuleConfig, key), pastSteps: c.pastSteps as number }),
};

/**
 * The config types `buildModule` knows: the built-in ones, then those added with `registerModule`.
 * @example
 * moduleTypes().includes('UNet'); // true
 */
export function moduleTypes(): string[] {
  const own = registeredTypes();
  return [...Object.keys(BUILTIN).filter((t) => !own.includes(t)), ...own];
}

/** The builder for `type`: a registered one first (it may replace a built-in), else the built-in. */
function builderOf(type: string): ModuleBuilder | undefined {
  return registeredBuilder(type) ?? (Object.hasOwn(BUILTIN, type) ? BUILTIN[type] : undefined);
}

/** The key handed to builders when there is none: split freely, never drawn from. */
const NO_KEY: Key = Object.freeze([0, 0]) as unknown as Key;

let buildDepth = 0;

/**
 * The module `config` describes. With a key, its parameters are initialised as ginjax does (random
 * draws from `key`); with `null`, no random number is drawn: parameters that would be random are
 * zeros (the rest — norm scales of 1, zero biases — as usual), ready to be overwritten, e.g. by
 * loaded weights. Nested builds inside (Sequential, wrappers) follow the outermost call.
 * @example
 * const copy = buildModule(model.config, random.key(1)); // same architecture, new weights
 * const empty = buildModule(model.config, null);         // zeros, ready to be loaded
 */
export function buildModule(config: ModuleConfig, key: Key | null): Module {
  const type = config !== null && typeof config === 'object' && Object.hasOwn(config, 'type') ? config.type : undefined;
  const build = typeof type === 'string' ? builderOf(type) : undefined;
  if (!build) throw new RangeError(`buildModule: config.type must be one of ${moduleTypes().join(', ')} (got ${JSON.stringify(type)?.slice(0, 80)})`);
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
        throw new RangeError(
          `${fn}: the ${JSON.stringify(String(type).slice(0, 40))} config is nested deeper than ${limits.maxConfigNesting} (limits.maxConfigNesting) at ${path.slice(0, 120)}…`,
        );
      }
      const entries = Array.isArray(v) ? v.map((x, i) => [String(i), x] as const) : Object.entries(v);
      if (Array.isArray(v) && path.endsWith('.layers') && v.length > limits.maxLayers)
        argError(fn, `${type} ${path}`, `a list of <= ${limits.maxLayers} layers (limits.maxLayers)`, `${v.length} layers`);
      chars += 2 + entries.length;
      for (const [k, x] of entries) {
        chars += k.length + 3;
        stack.push([x, depth + 1, `${path}.${k}`]);
      }
    } else chars += 5;
    if (chars > limits.maxConfigLength)
      argError(
        fn,
        'config',
        `at most ${limits.maxConfigLength} characters of JSON (limits.maxConfigLength)`,
        `more (type ${JSON.stringify(String(type).slice(0, 40))})`,
      );
  }
}
