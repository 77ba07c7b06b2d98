/**
 * The `geoconv` command line. Every command, positional argument and option is declared once in
 * `COMMANDS` (type, description, default, range or choices); parsing, validation, per-command help
 * and suggestions are generated from that table, so the help cannot drift from what is accepted.
 *   geoconv filters --D 2 --M 3 --k 1 --parity 0 [--scale one] [--json]
 *   geoconv info [--threads N]
 *   geoconv simulate navier-stokes --out ns.h5 [--N 64] [--trajectories 64] [--steps 20] [--seed 0] ...
 *   geoconv train [--task navier-stokes|gradient|scalar|gravity | --data FILE --format F] [--model unet] ...
 *   geoconv benchmark --trials N [train's emulation options]
 *   geoconv export MODEL.safetensors --onnx MODEL.onnx [--spatial 64,64] [--batch 1] [--opset 19]
 *   geoconv convert MODEL.eqx --config CONFIG.json --out MODEL.safetensors   (and MODEL.safetensors --out MODEL.eqx)
 *   geoconv help [COMMAND] · geoconv COMMAND --help · geoconv --version
 *
 * Strictness: names are looked up in Maps (never `in` or plain objects, so `--__proto__` or
 * `--task toString` are just unknown), values are typed and range-checked, an option may appear
 * once, flags take no value, and every option is checked — the output location included — before
 * anything is created or computed.
 */
import { init, notices, unavailable } from './init.js';
import { getBackend, hasBackend } from './backends/backend.js';
import { invariantFilters, type FilterScale } from './geometric/filters.js';
import { renderImage } from './geometric/render.js';
import { tensorName } from './geometric/signature.js';
import { version } from './version.js';
import { TASKS, type TaskName } from './tasks/tasks.js';
import type { ModelName } from './job.js';
import type { EquivariantNonlinearity } from './nn/models.js';
import type { DatasetFormat, SimulationSpec } from './data/readers.js';

/** A mistake in the command line: reported with the command's usage, exit code 2. */
export class UsageError extends Error {
  constructor(
    message: string,
    readonly command?: string,
  ) {
    super(message);
  }
}

// ---------------------------------------------------------------------------------------------
// The table

export type Value = number | string | boolean | readonly number[];
/** Train's defaults that differ between the emulation job and the synthetic tasks. */
interface ModeDefault {
  readonly emulation: Value;
  readonly task: Value;
}
export type Mode = keyof ModeDefault;

export interface OptionSpec {
  readonly name: string;
  /** int: decimal integer; number: decimal number; list: integers joined by commas; flag: no value. */
  readonly type: 'int' | 'number' | 'string' | 'choice' | 'list' | 'flag';
  /** One line for the help. */
  readonly description: string;
  /** What the value looks like in the help (N, X, FILE, …). */
  readonly metavar?: string;
  readonly default?: Value | ModeDefault;
  /** The default in words, where it is computed (e.g. "64 per axis"). */
  readonly defaultText?: string;
  readonly required?: boolean;
  /** Inclusive bounds of int/number/list values; `above`: an exclusive lower bound. */
  readonly min?: number;
  readonly max?: number;
  readonly above?: number;
  readonly choices?: readonly string[];
  /** Further rule for a string value: the expectation in words when `ok` refuses it. */
  readonly accept?: { readonly ok: (v: string) => boolean; readonly expected: string };
  /** train: the runs it applies to (none: all). */
  readonly scope?: 'emulation' | 'simulation' | 'task';
  /** Help section heading (options of one group are contiguous in the table). */
  readonly group?: string;
}

export interface PositionalSpec {
  readonly name: string;
  readonly description: string;
  readonly choices?: readonly string[];
  /** The message when it is missing. */
  readonly missing?: string;
}

export interface CommandSpec {
  readonly name: string;
  readonly summary: string;
  readonly usage: string;
  /** Further help text after the summary. */
  readonly details?: string;
  readonly positionals: readonly PositionalSpec[];
  readonly options: readonly OptionSpec[];
  readonly run: (p: Parsed, out: (s: string) => void) => Promise<void>;
}

const MODELS = ['unet', 'resnet', 'dilresnet'] as const;
const BACKENDS = ['auto', 'wasm', 'webgpu', 'ref'] as const;
const SUBGROUPS = ['full', 'rotations', 'axis-flips', 'reflections', 'trivial'] as const;
const FORMATS = ['pdebench-cfd', 'shallow-water', 'navier-stokes'] as const;
const EMULATION_TASK = 'navier-stokes';
/** Worker threads the CLI asks for at most (each holds a copy of the wasm memory). */
const MAX_THREADS = 64;

const threadsOption = (dflt: number, what: string): OptionSpec => ({
  name: 'threads',
  type: 'int',
  min: 1,
  max: MAX_THREADS,
  default: dflt,
  description: `worker threads ${what}`,
});

/**
 * `geoconv train`'s options. Defaults of the emulation job (`npm start`) are sized to finish in about
 * 5 minutes on 2 cores with 2 wasm threads; those of the synthetic tasks in a few minutes.
 */
const TRAIN_OPTIONS: readonly OptionSpec[] = [
  {
    name: 'task',
    type: 'choice',
    choices: [EMULATION_TASK, ...Object.keys(TASKS)],
    metavar: 'NAME',
    default: EMULATION_TASK,
    defaultText: `${EMULATION_TASK} unless --data is given`,
    description: "the emulation of built-in Navier–Stokes data, or a synthetic task of ginjax's notebooks",
  },
  {
    name: 'model',
    type: 'choice',
    choices: MODELS,
    metavar: 'NAME',
    default: 'unet',
    description: 'the architecture (equivariant, and its non-equivariant baseline)',
  },
  { name: 'epochs', type: 'int', min: 1, default: { emulation: 6, task: 15 }, description: 'epochs of training' },
  { name: 'backend', type: 'choice', choices: BACKENDS, metavar: 'NAME', default: 'wasm', description: 'where the numbers are computed' },
  threadsOption(2, 'of the wasm backend'),
  { name: 'seed', type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, description: 'seed of the data, the initial parameters and the batches' },
  { name: 'out', type: 'string', metavar: 'DIR', default: 'out', description: 'folder for metrics.json, the checkpoints and the pictures; created if missing' },
  { name: 'batch', type: 'int', min: 1, default: 8, description: 'batch size' },
  {
    name: 'depth',
    type: 'int',
    min: 1,
    default: { emulation: 8, task: 16 },
    description: 'channels per key type (equivariant) or channels (baseline) in the first level',
  },
  {
    name: 'lr',
    type: 'number',
    above: 0,
    metavar: 'X',
    default: { emulation: 2e-3, task: 1e-3 },
    description: 'peak learning rate of the equivariant model (the baseline gets twice as much)',
  },
  {
    name: 'nonlinearity',
    type: 'choice',
    choices: ['norm', 'vector-neuron'],
    metavar: 'NAME',
    default: { emulation: 'norm', task: 'vector-neuron' },
    description: "the equivariant model's nonlinearity: a gate on each tensor's norm, or ginjax's Vector Neuron",
  },
  { name: 'no-baseline', type: 'flag', description: 'train the equivariant model only, not the non-equivariant baseline' },
  { name: 'quiet', type: 'flag', description: 'no progress lines during training' },
  {
    name: 'data',
    type: 'string',
    metavar: 'FILE',
    scope: 'emulation',
    group: 'emulation (the default task navier-stokes, or --data FILE)',
    description: 'emulate this data set instead of the built-in simulation (needs --format)',
  },
  {
    name: 'format',
    type: 'string',
    metavar: 'FORMAT',
    scope: 'emulation',
    accept: { ok: (v) => (FORMATS as readonly string[]).includes(v) || v.endsWith('.json'), expected: `${FORMATS.join(', ')} or a SPEC.json file` },
    description: `layout of --data: ${FORMATS.join(', ')} or a SPEC.json mapping its datasets`,
  },
  { name: 'orography', type: 'string', metavar: 'FILE', scope: 'emulation', description: 'the orography of --format shallow-water' },
  {
    name: 'operators',
    type: 'choice',
    choices: SUBGROUPS,
    metavar: 'GROUP',
    scope: 'emulation',
    defaultText: "full, or what the data's boundaries allow",
    description: 'the symmetry group the equivariant model respects',
  },
  { name: 'past-steps', type: 'int', min: 1, scope: 'emulation', default: 2, description: 'input frames per prediction' },
  { name: 'rollout-steps', type: 'int', min: 1, scope: 'emulation', default: 5, description: 'steps of the autoregressive rollout that is evaluated' },
  {
    name: 'no-residual',
    type: 'flag',
    scope: 'emulation',
    description: "the models predict the next state itself (as ginjax's scripts), not its change from the newest input frame",
  },
  {
    name: 'val-trajectories',
    type: 'int',
    min: 1,
    scope: 'emulation',
    defaultText: 'a share of the trajectories',
    description: 'trajectories held out for validation',
  },
  {
    name: 'test-trajectories',
    type: 'int',
    min: 1,
    scope: 'emulation',
    defaultText: 'a share of the trajectories',
    description: 'trajectories held out for testing',
  },
  {
    name: 'N',
    type: 'int',
    min: 2,
    group: 'sizes of the built-in data (not with --data)',
    default: { emulation: 32, task: 0 },
    defaultText: "32 for emulation, the task's own for a synthetic task",
    description: 'side of the square grid',
  },
  { name: 'trajectories', type: 'int', min: 1, scope: 'simulation', default: 48, description: 'simulated trajectories (train, validation and test together)' },
  { name: 'steps', type: 'int', min: 2, scope: 'simulation', default: 20, description: 'saved frames per simulated trajectory' },
  {
    name: 'n-train',
    type: 'int',
    min: 1,
    scope: 'task',
    group: 'synthetic tasks (--task gradient, scalar or gravity)',
    defaultText: "the task's own",
    description: 'training images',
  },
  { name: 'n-val', type: 'int', min: 1, scope: 'task', defaultText: "the task's own", description: 'validation images' },
  { name: 'n-test', type: 'int', min: 1, scope: 'task', defaultText: "the task's own", description: 'test images' },
  {
    name: 'protocol',
    type: 'choice',
    choices: ['exact', 'notebook'],
    metavar: 'NAME',
    scope: 'task',
    default: 'exact',
    description: "gradient task: exact targets, or ginjax's notebook (cropped, standardised)",
  },
];

/** benchmark: train's emulation options (their emulation defaults) and the number of trials. */
const BENCHMARK_OPTIONS: readonly OptionSpec[] = [
  ...TRAIN_OPTIONS.filter((o) => o.scope !== 'task' && o.name !== 'task').map((o): OptionSpec => {
    const d = o.default;
    const emulationDefault = d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as ModeDefault).emulation : d;
    const out = { ...o, default: emulationDefault, group: o.group === undefined ? undefined : o.group.replace(/ \(.*\)$/, '') };
    if (o.name === 'N') return { ...out, defaultText: undefined };
    if (o.name === 'out') return { ...out, description: 'folder for benchmark.json, .md, .tex and rollout-smse.svg; created if missing' };
    return out;
  }),
  { name: 'trials', type: 'int', min: 1, default: 3, group: 'benchmark', description: 'independent trials (data, initial parameters and batches) per model' },
];

export const COMMANDS: ReadonlyMap<string, CommandSpec> = new Map<string, CommandSpec>([
  [
    'filters',
    {
      name: 'filters',
      summary: 'the invariant filters of a group, as text pictures or JSON',
      usage: 'geoconv filters --D 2|3 --M SIDE --k ORDER [options]',
      positionals: [],
      options: [
        { name: 'D', type: 'int', min: 2, max: 3, required: true, description: 'dimension of the images' },
        { name: 'M', type: 'int', min: 1, required: true, description: 'side of the filter' },
        { name: 'k', type: 'int', min: 0, required: true, description: 'tensor order of the filter' },
        { name: 'parity', type: 'int', min: 0, max: 1, default: 0, description: 'parity (1: pseudo-tensors)' },
        {
          name: 'scale',
          type: 'choice',
          choices: ['normalize', 'one'],
          metavar: 'NAME',
          default: 'normalize',
          description: 'unit-norm filters, or entries in {0, ±1}',
        },
        { name: 'json', type: 'flag', description: 'print one JSON object instead of pictures' },
      ],
      run: filters,
    },
  ],
  [
    'info',
    {
      name: 'info',
      summary: 'the version and the backends available here',
      usage: 'geoconv info [--threads N]',
      positionals: [],
      options: [threadsOption(1, 'to start the wasm backend with')],
      run: info,
    },
  ],
  [
    'simulate',
    {
      name: 'simulate',
      summary: 'simulate a data set and write it as HDF5',
      usage: 'geoconv simulate navier-stokes --out FILE.h5 [options]',
      positionals: [{ name: 'system', choices: ['navier-stokes'], description: 'the system to simulate (2-D incompressible Navier–Stokes on a torus)' }],
      options: [
        { name: 'out', type: 'string', metavar: 'FILE.h5', required: true, description: 'the HDF5 file to write (its folder must exist)' },
        { name: 'N', type: 'int', min: 2, default: 64, description: 'side of the square grid' },
        { name: 'trajectories', type: 'int', min: 1, default: 64, description: 'independent trajectories' },
        { name: 'steps', type: 'int', min: 1, default: 20, description: 'saved frames per trajectory' },
        { name: 'seed', type: 'int', min: 0, max: Number.MAX_SAFE_INTEGER, default: 0, description: 'seed of the initial conditions' },
        { name: 'nu', type: 'number', min: 0, metavar: 'X', defaultText: '0.001', description: 'kinematic viscosity' },
        { name: 'dt', type: 'number', above: 0, metavar: 'X', defaultText: '2/N', description: 'solver time step' },
        { name: 'save-every', type: 'int', min: 1, defaultText: 'round(N/8)', description: 'solver steps between saved frames' },
        { name: 'forcing', type: 'choice', choices: ['kolmogorov', 'fno', 'none'], metavar: 'NAME', default: 'fno', description: 'the vorticity forcing' },
        {
          name: 'forcing-orientation',
          type: 'choice',
          choices: ['random', 'fixed'],
          metavar: 'NAME',
          default: 'random',
          description: "each trajectory's forcing turned by its own random group element, or one forcing for all",
        },
      ],
      run: simulateCommand,
    },
  ],
  [
    'train',
    {
      name: 'train',
      summary: 'train an equivariant model and its baseline; write metrics, checkpoints and pictures',
      usage: 'geoconv train [options]',
      details: 'With no --task and no --data: the emulation of built-in Navier–Stokes data (npm start).',
      positionals: [],
      options: TRAIN_OPTIONS,
      run: trainCommand,
    },
  ],
  [
    'benchmark',
    {
      name: 'benchmark',
      summary: 'repeat the emulation job over several trials: mean ± std tables',
      usage: 'geoconv benchmark [--trials N] [options]',
      positionals: [],
      options: BENCHMARK_OPTIONS,
      run: benchmarkCommand,
    },
  ],
  [
    'export',
    {
      name: 'export',
      summary: 'a checkpoint as an ONNX graph',
      usage: 'geoconv export MODEL.safetensors --onnx MODEL.onnx [options]',
      positionals: [{ name: 'checkpoint', description: 'the geoconv checkpoint (.safetensors)', missing: 'the checkpoint MODEL.safetensors comes first' }],
      options: [
        { name: 'onnx', type: 'string', metavar: 'FILE.onnx', required: true, description: 'the ONNX file to write (its folder must exist)' },
        { name: 'spatial', type: 'list', min: 1, metavar: 'N,N[,N]', defaultText: '64 per axis', description: "spatial size of the graph's input" },
        { name: 'batch', type: 'int', min: 1, default: 1, description: "batch size of the graph's input" },
        { name: 'opset', type: 'int', min: 18, max: 21, default: 19, description: 'ONNX opset' },
        {
          name: 'layout',
          type: 'choice',
          choices: ['channels-first', 'channels-last'],
          metavar: 'NAME',
          default: 'channels-first',
          description: "the input's layout: [batch, C, ...spatial] or [batch, ...spatial, C]",
        },
        {
          name: 'padding',
          type: 'choice',
          choices: ['torus', 'zero'],
          metavar: 'NAME',
          default: 'torus',
          description: 'periodic or zero padding of the convolutions',
        },
        {
          name: 'periodic-padding',
          type: 'choice',
          choices: ['wrap', 'slice-concat'],
          metavar: 'NAME',
          defaultText: 'wrap from opset 19',
          description: 'how torus padding is written in the graph',
        },
        {
          name: 'filters',
          type: 'choice',
          choices: ['factored', 'dense'],
          metavar: 'NAME',
          default: 'factored',
          description: 'convolution filters as coefficients times invariant filters (folded by the runtime at load), or dense',
        },
        {
          name: 'input',
          type: 'string',
          metavar: 'JSON',
          defaultText: "the checkpoint's",
          description: 'input signature, e.g. \'[{"k":0,"parity":0,"channels":1}]\'',
        },
      ],
      run: exportCommand,
    },
  ],
  [
    'convert',
    {
      name: 'convert',
      summary: 'a ginjax model file to a geoconv checkpoint, and back',
      usage: 'geoconv convert MODEL.eqx --config CONFIG.json --out MODEL.safetensors | MODEL.safetensors --out MODEL.eqx',
      details: "The direction follows the input's extension; a ginjax file holds no config, so .eqx needs --config.",
      positionals: [
        {
          name: 'model',
          description: 'MODEL.eqx (ginjax.ml.save) or MODEL.safetensors (geoconv)',
          missing: 'the model file (MODEL.eqx or MODEL.safetensors) comes first',
        },
      ],
      options: [
        { name: 'config', type: 'string', metavar: 'CONFIG.json', description: 'the ginjax constructor and its arguments (with an .eqx input only)' },
        { name: 'out', type: 'string', metavar: 'FILE', required: true, description: 'the file to write: .safetensors from .eqx, .eqx from .safetensors' },
      ],
      run: convertCommand,
    },
  ],
]);

// ---------------------------------------------------------------------------------------------
// Parsing

/** A command's arguments after parsing: typed values (given or default) and positionals. */
export interface Parsed {
  readonly command: CommandSpec;
  /** Values given on the command line. */
  readonly given: ReadonlyMap<string, Value>;
  readonly positionals: readonly string[];
}

const optionMaps = new Map<string, ReadonlyMap<string, OptionSpec>>();
function optionMap(cmd: CommandSpec): ReadonlyMap<string, OptionSpec> {
  let m = optionMaps.get(cmd.name);
  if (!m) optionMaps.set(cmd.name, (m = new Map(cmd.options.map((o) => [o.name, o]))));
  return m;
}

/** Edit distance with adjacent transpositions (optimal string alignment). */
function editDistance(a: string, b: string): number {
  const d = Array.from({ length: a.length + 1 }, (_, i) => Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)));
  for (let i = 1; i <= a.length; i++) {
    for (let j = 1; j <= b.length; j++) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      d[i]![j] = Math.min(d[i - 1]![j]! + 1, d[i]![j - 1]! + 1, d[i - 1]![j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) d[i]![j] = Math.min(d[i]![j]!, d[i - 2]![j - 2]! + 1);
    }
  }
  return d[a.length]![b.length]!;
}

/**
 * The candidates nearest to a mistyped `word`: case differences cost nothing extra, and at most
 * one edit per three characters (at least one) is forgiven. All candidates at the least distance.
 */
export function suggest(word: string, candidates: Iterable<string>): string[] {
  const limit = Math.max(1, Math.floor(word.length / 3));
  let best = Infinity;
  let out: string[] = [];
  for (const c of candidates) {
    const d = c.toLowerCase() === word.toLowerCase() ? 0.5 : editDistance(word.toLowerCase(), c.toLowerCase());
    if (d > limit || d > best) continue;
    if (d < best) {
      best = d;
      out = [];
    }
    out.push(c);
  }
  return out;
}

const didYouMean = (names: readonly string[], prefix = '') => (names.length ? `; did you mean ${names.map((n) => prefix + n).join(' or ')}?` : '');

function rangeText(o: OptionSpec): string {
  const kind = o.type === 'number' ? 'a number' : o.type === 'list' ? 'integers' : 'an integer';
  if (o.above !== undefined) return `${kind} > ${o.above}`;
  if (o.min !== undefined && o.max !== undefined && o.max !== Number.MAX_SAFE_INTEGER) return `${kind} in [${o.min}, ${o.max}]`;
  if (o.min !== undefined) return `${kind} >= ${o.min}`;
  if (o.max !== undefined) return `${kind} <= ${o.max}`;
  return kind;
}

const INT = /^-?\d+$/;
const DECIMAL = /^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$/;

/** A number in o's range, or a usage error naming it. */
function checkRange(o: OptionSpec, n: number, raw: string): number {
  const inRange = (o.above === undefined || n > o.above) && (o.min === undefined || n >= o.min) && (o.max === undefined || n <= o.max);
  if (!inRange) throw new UsageError(`--${o.name} must be ${rangeText(o)} (got ${raw})`);
  return n;
}

function convert(o: OptionSpec, raw: string): Value {
  switch (o.type) {
    case 'int': {
      const n = Number(raw);
      if (!INT.test(raw) || !Number.isSafeInteger(n)) throw new UsageError(`--${o.name} must be an integer (got ${JSON.stringify(raw)})`);
      return checkRange(o, n, raw);
    }
    case 'number': {
      const n = Number(raw);
      if (!DECIMAL.test(raw) || !Number.isFinite(n)) throw new UsageError(`--${o.name} must be a number (got ${JSON.stringify(raw)})`);
      return checkRange(o, n, raw);
    }
    case 'list': {
      const parts = raw.split(',');
      if (!parts.every((p) => INT.test(p) && Number.isSafeInteger(Number(p))))
        throw new UsageError(`--${o.name} must be integers separated by commas, such as 64,64 (got ${JSON.stringify(raw)})`);
      return parts.map((p) => checkRange(o, Number(p), raw));
    }
    case 'choice': {
      const choices = o.choices!;
      if (!choices.includes(raw))
        throw new UsageError(`--${o.name} must be one of ${choices.join(', ')} (got ${JSON.stringify(raw)})${didYouMean(suggest(raw, choices))}`);
      return raw;
    }
    case 'string':
      if (o.accept && !o.accept.ok(raw)) throw new UsageError(`--${o.name} must be ${o.accept.expected} (got ${JSON.stringify(raw)})`);
      return raw;
    case 'flag':
      throw new Error(`unreachable: flag --${o.name} converted`);
  }
}

/** Whether the arguments ask for help (before a `--` that ends the options). */
function wantsHelp(args: readonly string[]): boolean {
  for (const a of args) {
    if (a === '--') return false;
    if (a === '--help' || a === '-h') return true;
  }
  return false;
}

/** Parses one command's arguments strictly (see the file comment); throws UsageError. */
export function parseArgs(cmd: CommandSpec, args: readonly string[]): Parsed {
  const options = optionMap(cmd);
  const given = new Map<string, Value>();
  const positionals: string[] = [];
  let optionsEnded = false;
  let lastFlag: { name: string; index: number } | undefined;
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (optionsEnded || !a.startsWith('-') || a === '-' || /^-\d/.test(a)) {
      if (positionals.length < cmd.positionals.length) {
        positionals.push(a);
        continue;
      }
      if (lastFlag && lastFlag.index === i - 1)
        throw new UsageError(`--${lastFlag.name} is a flag and takes no value (got ${JSON.stringify(a)}): give it to turn it on, leave it out otherwise`);
      throw new UsageError(`unexpected argument ${JSON.stringify(a)}${cmd.positionals.length ? '' : ` (geoconv ${cmd.name} takes options only)`}`);
    }
    if (a === '--') {
      optionsEnded = true;
      continue;
    }
    if (!a.startsWith('--'))
      throw new UsageError(`unknown option ${a} for geoconv ${cmd.name}: options are written --name${didYouMean(suggest(a.slice(1), options.keys()), '--')}`);
    const eq = a.indexOf('=');
    const name = eq > 0 ? a.slice(2, eq) : a.slice(2);
    const inline = eq > 0 ? a.slice(eq + 1) : undefined;
    const o = options.get(name);
    if (!o) throw new UsageError(`unknown option --${name} for geoconv ${cmd.name}${didYouMean(suggest(name, options.keys()), '--')}`);
    if (given.has(name)) throw new UsageError(`--${name} is given twice; give it once`);
    if (o.type === 'flag') {
      if (inline !== undefined)
        throw new UsageError(`--${name} is a flag and takes no value (got ${JSON.stringify(inline)}): give it to turn it on, leave it out otherwise`);
      given.set(name, true);
      lastFlag = { name, index: i };
      continue;
    }
    let raw = inline;
    if (raw === undefined && i + 1 < args.length && !args[i + 1]!.startsWith('--')) raw = args[++i]!;
    if (raw === undefined) throw new UsageError(`--${name} needs a value (${metavar(o)})`);
    if (raw === '') throw new UsageError(`--${name} needs a value (got an empty string)`);
    given.set(name, convert(o, raw));
  }
  for (const [i, p] of cmd.positionals.entries()) {
    const v = positionals[i];
    if (p.choices && (v === undefined || !p.choices.includes(v))) {
      throw new UsageError(
        `${cmd.name}: the ${p.name} must be ${p.choices.join(' or ')} (got ${v === undefined ? 'nothing' : JSON.stringify(v)})${v === undefined ? '' : didYouMean(suggest(v, p.choices))}`,
      );
    }
    if (v === undefined) throw new UsageError(`${cmd.name}: ${p.missing ?? `the ${p.name} is required`}`);
  }
  for (const o of cmd.options) if (o.required && !given.has(o.name)) throw new UsageError(`--${o.name}${o.metavar ? ` ${o.metavar}` : ''} is required`);
  return { command: cmd, given, positionals };
}

/** The value of an option: given, else its default (train's for `mode`), else undefined. */
export function optionValue(p: Parsed, name: string, mode: Mode = 'emulation'): Value | undefined {
  const o = optionMap(p.command).get(name);
  if (!o) throw new Error(`internal: geoconv ${p.command.name} has no option --${name}`);
  if (p.given.has(name)) return p.given.get(name);
  const d = o.default;
  return d !== null && typeof d === 'object' && !Array.isArray(d) ? (d as ModeDefault)[mode] : (d as Value | undefined);
}
const value = optionValue;
const int = (p: Parsed, name: string, mode?: Mode) => value(p, name, mode) as number;
const str = (p: Parsed, name: string, mode?: Mode) => value(p, name, mode) as string;
const num = (p: Parsed, name: string, mode?: Mode) => value(p, name, mode) as number;
const optionalInt = (p: Parsed, name: string) => p.given.get(name) as number | undefined;

// ---------------------------------------------------------------------------------------------
// Help

function metavar(o: OptionSpec): string {
  return o.metavar ?? (o.type === 'int' ? 'N' : o.type === 'number' ? 'X' : o.type === 'list' ? 'N,N' : 'VALUE');
}

const formatValue = (v: Value) => (Array.isArray(v) ? v.join(',') : String(v));

function defaultText(o: OptionSpec): string | undefined {
  if (o.defaultText !== undefined) return o.defaultText;
  const d = o.default;
  if (d === undefined) return undefined;
  if (d !== null && typeof d === 'object' && !Array.isArray(d)) {
    const m = d as ModeDefault;
    return `${formatValue(m.emulation)} for emulation, ${formatValue(m.task)} for a synthetic task`;
  }
  return formatValue(d as Value);
}

function optionLine(o: OptionSpec, width: number): string {
  const head = `  --${o.name}${o.type === 'flag' ? '' : ` ${metavar(o)}`}`;
  const notes: string[] = [];
  if (o.required) notes.push('required');
  const d = defaultText(o);
  if (d !== undefined) notes.push(`default: ${d}`);
  if (o.type === 'choice') notes.push(o.choices!.join(', '));
  else if (o.type === 'int' || o.type === 'number' || o.type === 'list') {
    const r = rangeText(o);
    if (r !== 'an integer' && r !== 'a number') notes.push(r.replace(/^(an integer|a number|integers) /, ''));
  }
  return `${head.padEnd(width)}${o.description}${notes.length ? ` (${notes.join('; ')})` : ''}`;
}

/** `geoconv help COMMAND`, generated from the table. */
export function commandHelp(cmd: CommandSpec): string {
  const heads = cmd.options.map((o) => `  --${o.name}${o.type === 'flag' ? '' : ` ${metavar(o)}`}`.length);
  const width = Math.min(34, Math.max(0, ...heads) + 2);
  const lines = [`usage: ${cmd.usage}`, '', `${cmd.summary}.${cmd.details ? ` ${cmd.details}` : ''}`];
  if (cmd.positionals.length) {
    lines.push('', 'arguments:');
    for (const p of cmd.positionals) lines.push(`${`  ${p.name.toUpperCase()}`.padEnd(width)}${p.description}${p.choices ? ` (${p.choices.join(', ')})` : ''}`);
  }
  let group: string | undefined;
  lines.push('', 'options:');
  for (const o of cmd.options) {
    if (o.group !== undefined && o.group !== group) {
      group = o.group;
      lines.push('', `${group}:`);
    }
    lines.push(optionLine(o, width));
  }
  lines.push('', '  --help, -h'.padEnd(width) + 'this help');
  return lines.join('\n');
}

function overview(): string {
  const lines = [`geoconv ${version}: equivariant CNNs on geometric images`, '', 'usage: geoconv COMMAND [arguments] [options]', '', 'commands:'];
  for (const [name, cmd] of COMMANDS) lines.push(`  ${name.padEnd(11)}${cmd.summary}`);
  lines.push('', 'geoconv help COMMAND (or geoconv COMMAND --help): its arguments and options, with defaults', 'geoconv --version: the version');
  return lines.join('\n');
}

function usageHint(command: string | undefined): string {
  const cmd = command === undefined ? undefined : COMMANDS.get(command);
  return cmd ? `usage: ${cmd.usage}\n(geoconv ${cmd.name} --help for every option)` : `commands: ${[...COMMANDS.keys()].join(', ')} (geoconv help)`;
}

function unknownCommand(command: string): UsageError {
  return new UsageError(`unknown command ${JSON.stringify(command)}${didYouMean(suggest(command, COMMANDS.keys()))}`);
}

// ---------------------------------------------------------------------------------------------
// The output location

/** Probes that tests may replace (an EROFS or EACCES cannot be produced on a shared machine). */
export interface OutputProbe {
  access?(path: string, mode: number): Promise<void>;
}

/** Kernel file systems that hold no files: by mount point, and by statfs type (bind mounts elsewhere). */
const SPECIAL_ROOTS: readonly (readonly [string, string])[] = [
  ['/proc', 'process (proc)'],
  ['/sys', 'device and driver (sysfs)'],
  ['/dev', 'device (devtmpfs)'],
];
const SPECIAL_TYPES = new Map<number, string>([
  [0x9fa0, 'process (proc)'],
  [0x62656572, 'device and driver (sysfs)'],
  [0x27e0eb, 'control-group (cgroup)'],
  [0x63677270, 'control-group (cgroup2)'],
  [0x64626720, 'debugging (debugfs)'],
  [0x74726163, 'tracing (tracefs)'],
  [0x73636673, 'security (securityfs)'],
  [0x1cd1, 'terminal (devpts)'],
]);

/** The special file system that holds `abs`, by its path, if any. */
function specialRoot(abs: string): string | undefined {
  for (const [root, name] of SPECIAL_ROOTS) if (abs === root || abs.startsWith(`${root}/`)) return name;
  return undefined;
}

function fsMessage(option: string, path: string, dir: string, e: unknown): string {
  const code = (e as { code?: string }).code;
  switch (code) {
    case 'EROFS':
      return `${option} ${path}: ${dir} is on a read-only file system (EROFS)`;
    case 'EACCES':
    case 'EPERM':
      return `${option} ${path}: no permission to write in ${dir} (${code})`;
    case 'ENOTDIR':
      return `${option} ${path}: ${dir} is a file, not a directory (ENOTDIR)`;
    case 'ELOOP':
      return `${option} ${path}: too many symbolic links at ${dir} (ELOOP)`;
    case 'ENAMETOOLONG':
      return `${option} ${path}: the name is too long (ENAMETOOLONG)`;
    case 'ENOSPC':
      return `${option} ${path}: no space left on the device of ${dir} (ENOSPC)`;
    default:
      return `${option} ${path}: cannot write in ${dir} (${code ?? 'error'}: ${e instanceof Error ? e.message : String(e)})`;
  }
}

/**
 * Checks, before anything is computed or created, that `path` can be written as a `kind`: not on a
 * kernel file system (mkdir there fails in odd ways or never returns), every existing ancestor a
 * directory, a writable one (EROFS, EACCES reported as such), a file's folder present. Returns the
 * directories that creating `path` (kind 'directory') will add, outermost first, so that a failed
 * run can remove them if they stay empty.
 */
export async function checkOutputLocation(option: string, path: string, kind: 'directory' | 'file', probe: OutputProbe = {}): Promise<string[]> {
  const { access, realpath, stat, statfs } = await import('node:fs/promises');
  const { constants } = await import('node:fs');
  const { basename, dirname, join, resolve } = await import('node:path');
  const abs = resolve(path);
  const special = (where: string, name: string) =>
    new UsageError(
      `${option} ${path} is on the kernel's ${name} file system, not a place for files${where === abs ? '' : ` (${where})`}; choose a folder on a disk`,
    );
  const named = specialRoot(abs);
  if (named) throw special(abs, named);
  // the deepest existing ancestor (the path itself if it exists)
  let existing = abs;
  const missing: string[] = [];
  let info: Awaited<ReturnType<typeof stat>>;
  for (;;) {
    try {
      info = await stat(existing);
      break;
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code !== 'ENOENT' && code !== 'ENOTDIR') throw new UsageError(fsMessage(option, path, existing, e));
      const up = dirname(existing);
      if (up === existing) throw new UsageError(fsMessage(option, path, existing, e));
      missing.unshift(basename(existing));
      existing = up;
    }
  }
  const real = await realpath(existing).catch(() => existing);
  const viaLink = specialRoot(real);
  if (viaLink) throw special(real, viaLink);
  if (typeof statfs === 'function') {
    // (where statfs is missing or unimplemented, e.g. some runtimes' node: layers, the path checks stand alone)
    const type = await Promise.resolve()
      .then(() => statfs(existing))
      .then(
        (s) => Number(s.type),
        () => undefined,
      );
    const name = type === undefined ? undefined : SPECIAL_TYPES.get(type);
    if (name) throw special(real, name);
  }
  if (!missing.length) {
    if (kind === 'directory' && !info.isDirectory()) throw new UsageError(`${option} ${path} is a file, not a directory`);
    if (kind === 'file' && info.isDirectory()) throw new UsageError(`${option} ${path} is a directory, not a file`);
  } else {
    if (!info.isDirectory()) throw new UsageError(fsMessage(option, path, existing, Object.assign(new Error('not a directory'), { code: 'ENOTDIR' })));
    if (kind === 'file' && missing.length > 1) throw new UsageError(`${option} ${path}: the directory ${dirname(abs)} does not exist`);
  }
  // the directory that will be written in (a file is replaced by a rename in its folder)
  const dir = kind === 'directory' && !missing.length ? abs : missing.length ? existing : dirname(abs);
  try {
    await (probe.access ?? access)(dir, constants.W_OK | constants.X_OK);
  } catch (e) {
    throw new UsageError(fsMessage(option, path, dir, e));
  }
  if (kind === 'file') return [];
  const created: string[] = [];
  let at = existing;
  for (const m of missing) created.push((at = join(at, m)));
  return created;
}

/** Removes the directories a failed run created, innermost first, as long as they are empty. */
async function removeIfEmpty(created: readonly string[]): Promise<void> {
  const { rmdir } = await import('node:fs/promises');
  for (const d of [...created].reverse()) {
    try {
      await rmdir(d);
    } catch {
      return; // not empty (or not there): keep it and what is above it
    }
  }
}

/** Runs `job` writing into the checked directory `outDir`; a failure leaves no empty folders behind. */
async function intoDirectory(option: string, outDir: string, job: () => Promise<void>): Promise<void> {
  const created = await checkOutputLocation(option, outDir, 'directory');
  try {
    await job();
  } catch (e) {
    await removeIfEmpty(created);
    throw e;
  }
}

// ---------------------------------------------------------------------------------------------
// The commands

async function filters(p: Parsed, out: (s: string) => void): Promise<void> {
  const D = int(p, 'D');
  const M = int(p, 'M');
  const k = int(p, 'k');
  const parity = int(p, 'parity');
  const scale = str(p, 'scale') as FilterScale;
  const set = invariantFilters(D, M, k, parity, scale);
  if (p.given.has('json')) {
    out(JSON.stringify({ D, M, k, parity, count: set.count, filters: set.filters.map((f) => Array.from(f)) }));
    return;
  }
  const spatial = new Array<number>(D).fill(M);
  out(`${set.count} invariant ${tensorName(k, parity)} filter${set.count === 1 ? '' : 's'}: D=${D}, M=${M}, k=${k}, parity=${parity}, scale=${scale}`);
  out('(x to the right, y upwards; 2-D vectors as arrow + length)');
  set.filters.forEach((f, i) => out(`\nfilter ${i}\n${renderImage(f, spatial, D, k)}`));
}

async function info(p: Parsed, out: (s: string) => void): Promise<void> {
  const threads = int(p, 'threads');
  out(`geoconv ${version}`);
  for (const name of ['ref', 'wasm', 'webgpu'] as const) {
    let failure: unknown;
    try {
      await init({ backend: name, threads: name === 'wasm' ? threads : undefined });
    } catch (e) {
      failure = e; // the reason is in `unavailable`, or (an argument error) in the exception
    }
    const why = unavailable[name] ?? (failure instanceof Error ? failure.message : String(failure));
    out(`  ${name.padEnd(7)} ${hasBackend(name) ? getBackend(name).describe() : `unavailable: ${why}`}`);
  }
  for (const n of notices) out(`  note: ${n}`);
}

/** The emulation options of `train`/`benchmark` (built-in Navier–Stokes data or --data FILE). */
async function emulationOptions(p: Parsed, seed: number): Promise<import('./emulate.js').EmulateOptions> {
  const given = (n: string) => p.given.has(n);
  let data: import('./emulate.js').EmulationData;
  if (given('data')) {
    if (!given('format')) throw new UsageError(`--data needs --format ${FORMATS.join('|')}|SPEC.json`);
    const simulation = ['N', 'trajectories', 'steps'].filter(given);
    if (simulation.length)
      throw new UsageError(
        `${simulation.map((n) => `--${n}`).join(', ')}: --N, --trajectories and --steps size the built-in simulation; they do not apply to --data`,
      );
    const format = str(p, 'format');
    const { validateSpec } = await import('./data/readers.js');
    let spec: DatasetFormat | SimulationSpec;
    if (format.endsWith('.json')) {
      let json: unknown;
      try {
        json = JSON.parse(await (await import('node:fs/promises')).readFile(format, 'utf8'));
      } catch (e) {
        throw new UsageError(`--format ${format} is not a readable JSON file (${e instanceof Error ? e.message : String(e)})`);
      }
      spec = validateSpec(json, format);
    } else spec = format as DatasetFormat;
    const orography = p.given.get('orography') as string | undefined;
    if (orography !== undefined && spec !== 'shallow-water') throw new UsageError('--orography goes with --format shallow-water');
    data = { kind: 'file', path: str(p, 'data'), format: spec, options: orography !== undefined ? { orography } : {} };
  } else {
    if (given('format')) throw new UsageError('--format goes with --data FILE');
    if (given('orography')) throw new UsageError('--orography goes with --data FILE --format shallow-water');
    data = { kind: 'navier-stokes', simulation: { N: int(p, 'N'), trajectories: int(p, 'trajectories'), steps: int(p, 'steps') } };
  }
  return {
    data,
    model: str(p, 'model') as ModelName,
    epochs: int(p, 'epochs'),
    seed,
    batchSize: int(p, 'batch'),
    depth: int(p, 'depth'),
    learningRate: num(p, 'lr'),
    nonlinearity: str(p, 'nonlinearity') as EquivariantNonlinearity,
    pastSteps: int(p, 'past-steps'),
    rolloutSteps: int(p, 'rollout-steps'),
    valTrajectories: optionalInt(p, 'val-trajectories'),
    testTrajectories: optionalInt(p, 'test-trajectories'),
    ...(given('operators') ? { operators: str(p, 'operators') as (typeof SUBGROUPS)[number] } : {}),
    baseline: !given('no-baseline'),
    progress: !given('quiet'),
    residual: !given('no-residual'),
  };
}

async function trainCommand(p: Parsed, out: (s: string) => void): Promise<void> {
  const given = (n: string) => p.given.has(n);
  if (given('task') && given('data')) throw new UsageError('give --task or --data, not both');
  const task = given('data') ? '' : str(p, 'task');
  const emulation = task === EMULATION_TASK || task === '';
  for (const o of TRAIN_OPTIONS) {
    if (!given(o.name) || o.scope === undefined) continue;
    if (emulation ? o.scope === 'task' : o.scope !== 'task')
      throw new UsageError(`--${o.name} does not apply to ${emulation ? 'the emulation task' : `--task ${task}`}`);
  }
  if (given('protocol') && task !== 'gradient') throw new UsageError(`--protocol goes with --task gradient (got --task ${task})`);
  const mode: Mode = emulation ? 'emulation' : 'task';
  const seed = int(p, 'seed');
  const outDir = str(p, 'out');
  const emulate = emulation ? await emulationOptions(p, seed) : null;
  await intoDirectory('--out', outDir, async () => {
    await init({ backend: str(p, 'backend') as (typeof BACKENDS)[number], threads: int(p, 'threads') });
    if (emulate) {
      const { runEmulation } = await import('./emulate.js');
      await runEmulation(emulate, outDir, out);
      return;
    }
    const { runJob } = await import('./job.js');
    await runJob(
      {
        task: task as TaskName,
        model: str(p, 'model') as ModelName,
        epochs: int(p, 'epochs', mode),
        seed,
        batchSize: int(p, 'batch', mode),
        depth: int(p, 'depth', mode),
        learningRate: num(p, 'lr', mode),
        nonlinearity: str(p, 'nonlinearity', mode) as EquivariantNonlinearity,
        nTrain: optionalInt(p, 'n-train'),
        nVal: optionalInt(p, 'n-val'),
        nTest: optionalInt(p, 'n-test'),
        N: optionalInt(p, 'N'),
        protocol: p.given.get('protocol') as 'exact' | 'notebook' | undefined,
        baseline: !given('no-baseline'),
        progress: !given('quiet'),
      },
      outDir,
      out,
    );
  });
}

async function simulateCommand(p: Parsed, out: (s: string) => void): Promise<void> {
  const path = str(p, 'out');
  await checkOutputLocation('--out', path, 'file');
  const given = (n: string) => p.given.has(n);
  const { simulateNavierStokes } = await import('./sim/navier-stokes.js');
  const { writeNavierStokesHdf5 } = await import('./data/readers.js');
  const t0 = performance.now();
  const sim = simulateNavierStokes({
    N: int(p, 'N'),
    trajectories: int(p, 'trajectories'),
    steps: int(p, 'steps'),
    seed: int(p, 'seed'),
    ...(given('nu') ? { nu: num(p, 'nu') } : {}),
    ...(given('dt') ? { dt: num(p, 'dt') } : {}),
    ...(given('save-every') ? { saveEvery: int(p, 'save-every') } : {}),
    ...(given('forcing') ? { forcing: str(p, 'forcing') as 'none' } : {}),
    forcingOrientation: str(p, 'forcing-orientation') as 'random',
  });
  const seconds = (performance.now() - t0) / 1000;
  await writeNavierStokesHdf5(path, sim);
  const [b, t, nx, ny] = sim.shape;
  out(
    `simulated ${b} trajectories × ${t} steps of ${nx}×${ny} in ${seconds.toFixed(1)} s; wrote ${path} (datasets vorticity, Vx, Vy, t-coordinate, x-coordinate, y-coordinate${sim.forcing ? ', forcing' : ''})`,
  );
}

async function benchmarkCommand(p: Parsed, out: (s: string) => void): Promise<void> {
  const trials = int(p, 'trials');
  const seed = int(p, 'seed');
  const base = await emulationOptions(p, seed);
  const outDir = str(p, 'out');
  await intoDirectory('--out', outDir, async () => {
    await init({ backend: str(p, 'backend') as (typeof BACKENDS)[number], threads: int(p, 'threads') });
    const { runBenchmark } = await import('./emulate.js');
    await runBenchmark(base, trials, outDir, out);
  });
}

/** geoconv export MODEL.safetensors --onnx MODEL.onnx: the checkpoint as an ONNX graph (see src/io/onnx.ts). */
async function exportCommand(p: Parsed, out: (s: string) => void): Promise<void> {
  const [file] = p.positionals as [string];
  const path = str(p, 'onnx');
  const padding = str(p, 'padding');
  let input;
  if (p.given.has('input')) {
    try {
      input = JSON.parse(str(p, 'input'));
    } catch {
      throw new UsageError(`--input must be a JSON signature such as '[{"k":0,"parity":0,"channels":1}]' (got ${JSON.stringify(p.given.get('input'))})`);
    }
  }
  await checkOutputLocation('--onnx', path, 'file');
  await import('./nn/models.js'); // registers every model and layer class, so the checkpoint's config rebuilds
  (await import('./backends/backend.js')).setBackend('ref'); // the export traces on ref: load there, no copy
  const { loadCheckpoint } = await import('./io/index.js');
  const { exportOnnx, modelD } = await import('./io/onnx.js');
  const loaded = await loadCheckpoint(file);
  try {
    const D = modelD(loaded.model) ?? 2;
    const spatial = p.given.has('spatial') ? [...(p.given.get('spatial') as number[])] : new Array<number>(D).fill(64);
    const bytes = await exportOnnx(loaded.model, loaded.params, {
      spatial,
      batch: int(p, 'batch'),
      opset: int(p, 'opset'),
      torus: padding === 'torus',
      layout: str(p, 'layout') as 'channels-first',
      ...(p.given.has('periodic-padding') ? { periodicPadding: str(p, 'periodic-padding') as 'wrap' } : {}),
      filters: str(p, 'filters') as 'factored',
      ...(input !== undefined ? { input } : {}),
      ...(loaded.state ? { state: loaded.state } : {}),
    });
    const { writeFileAtomic } = await import('./io/atomic-write-node.js');
    await writeFileAtomic(path, bytes, 'export');
    out(
      `wrote ${path}: ${loaded.config.type} (D = ${D}) as ONNX for batch ${int(p, 'batch')}, spatial ${spatial.join('×')} (${(bytes.length / 1024).toFixed(0)} KiB)`,
    );
  } finally {
    loaded.model.dispose();
    loaded.state?.dispose();
  }
}

/**
 * `convert`: a ginjax model file (.eqx, `ginjax.ml.save`) to a geoconv checkpoint, given the ginjax
 * constructor config (JSON: { model, D, input, output, depth, …, conv_filters, upsample_filters }),
 * or a geoconv checkpoint back to a file ginjax's `ml.load` reads. The direction follows the input's
 * extension; the output is written atomically.
 */
async function convertCommand(p: Parsed, out: (s: string) => void): Promise<void> {
  const [file] = p.positionals as [string];
  const path = str(p, 'out');
  const toEqx = /\.safetensors$/i.test(file);
  if (toEqx) {
    if (p.given.has('config')) throw new UsageError('convert: --config goes with a ginjax .eqx input (a checkpoint carries its own config)');
    if (!/\.eqx$/i.test(path)) throw new UsageError(`convert: a checkpoint converts to a ginjax .eqx file (got --out ${JSON.stringify(path)})`);
  } else {
    if (!p.given.has('config'))
      throw new UsageError('convert: a ginjax .eqx file needs --config CONFIG.json (the ginjax constructor and its arguments; the file holds no config)');
    if (!/\.safetensors$/i.test(path))
      throw new UsageError(`convert: a ginjax file converts to a geoconv checkpoint .safetensors (got --out ${JSON.stringify(path)})`);
  }
  await checkOutputLocation('--out', path, 'file');
  (await import('./backends/backend.js')).setBackend('ref');
  const { writeFileAtomic } = await import('./io/atomic-write-node.js');
  const ginjax = await import('./io/ginjax.js');
  if (toEqx) {
    await import('./nn/models.js');
    const { loadCheckpoint } = await import('./io/index.js');
    const loaded = await loadCheckpoint(file);
    try {
      const bytes = await ginjax.serializeGinjax(loaded.model, loaded.params);
      await writeFileAtomic(path, bytes, 'convert');
      out(
        `wrote ${path}: ${loaded.config.type} as a ginjax model file, ${ginjax.ginjaxLeaves(loaded.model).length} leaves (${(bytes.length / 1024).toFixed(0)} KiB)`,
      );
    } finally {
      loaded.model.dispose();
    }
    return;
  }
  const configPath = str(p, 'config');
  const { readFile } = await import('node:fs/promises');
  let config: unknown;
  try {
    config = JSON.parse(await readFile(configPath, 'utf8'));
  } catch (e) {
    throw new UsageError(`convert: --config ${JSON.stringify(configPath)} is not a readable JSON file (${e instanceof Error ? e.message : String(e)})`);
  }
  const { model, params } = await ginjax.loadGinjax(file, config);
  try {
    const { serialize } = await import('./io/index.js');
    const bytes = await serialize(model, params);
    await writeFileAtomic(path, bytes, 'convert');
    out(`wrote ${path}: ginjax ${model.config.type} as a geoconv checkpoint, ${model.parameterCount()} parameters (${(bytes.length / 1024).toFixed(0)} KiB)`);
  } finally {
    model.dispose();
  }
}

// ---------------------------------------------------------------------------------------------

/** Runs the CLI; returns the process exit code (0 done, 1 no command given, 2 an error). */
export async function main(argv: readonly string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
        out(overview());
        return 1;
      case '--help':
      case '-h':
        out(overview());
        return 0;
      case '--version':
      case '-V':
        out(`geoconv ${version}`);
        return 0;
      case 'help': {
        if (rest.length > 1) throw new UsageError(`help takes one command (got ${rest.map((a) => JSON.stringify(a)).join(' ')})`);
        const cmd = rest[0] === undefined ? undefined : COMMANDS.get(rest[0]);
        if (rest[0] !== undefined && !cmd) throw unknownCommand(rest[0]);
        out(cmd ? commandHelp(cmd) : overview());
        return 0;
      }
    }
    const cmd = COMMANDS.get(command);
    if (!cmd) throw unknownCommand(command);
    if (wantsHelp(rest)) {
      out(commandHelp(cmd));
      return 0;
    }
    try {
      await cmd.run(parseArgs(cmd, rest), out);
    } catch (e) {
      if (e instanceof UsageError && e.command === undefined) throw new UsageError(e.message, cmd.name);
      throw e;
    }
    return 0;
  } catch (e) {
    err(`geoconv: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof UsageError) err(usageHint(e.command));
    return 2;
  }
}
