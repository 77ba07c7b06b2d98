/**
 * The `geoconv` command line. Commands:
 *   geoconv filters --D 2 --M 3 --k 1 --parity 0 [--scale one] [--json]
 *   geoconv info [--threads N]
 *   geoconv simulate navier-stokes --out ns.h5 [--N 64] [--trajectories 64] [--steps 20] [--seed 0] ...
 *   geoconv train [--task navier-stokes|gradient|scalar|gravity | --data FILE --format F] [--model unet] ...
 *   geoconv benchmark --trials N [train's emulation options]
 *   geoconv export MODEL.safetensors --onnx MODEL.onnx [--spatial 64,64] [--batch 1] [--opset 19]
 *   geoconv convert MODEL.eqx --config CONFIG.json --out MODEL.safetensors   (and MODEL.safetensors --out MODEL.eqx)
 */
import { init, notices, unavailable } from './backends/index.js';
import { getBackend, hasBackend } from './backends/backend.js';
import { invariantFilters, type FilterScale } from './geometric/filters.js';
import { renderImage } from './geometric/render.js';
import { tensorName } from './geometric/signature.js';
import { version } from './version.js';
import { TASKS, type TaskName } from './tasks/tasks.js';
import type { ModelName } from './job.js';
import type { DatasetFormat, SimulationSpec } from './data/readers.js';

type Flags = Record<string, string | true>;

function parseFlags(args: readonly string[]): Flags {
  const flags: Flags = {};
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    if (!a.startsWith('--')) throw new UsageError(`unexpected argument ${JSON.stringify(a)}`);
    const eq = a.indexOf('=');
    if (eq > 0) flags[a.slice(2, eq)] = a.slice(eq + 1);
    else if (args[i + 1] !== undefined && !args[i + 1]!.startsWith('--')) flags[a.slice(2)] = args[++i]!;
    else flags[a.slice(2)] = true;
  }
  return flags;
}

class UsageError extends Error {}

function intFlag(flags: Flags, name: string, dflt?: number): number {
  const v = flags[name];
  if (v === undefined) {
    if (dflt !== undefined) return dflt;
    throw new UsageError(`--${name} is required`);
  }
  const n = Number(v);
  if (v === true || !Number.isInteger(n)) throw new UsageError(`--${name} must be an integer (got ${JSON.stringify(v)})`);
  return n;
}

function checkKnown(flags: Flags, known: readonly string[]): void {
  for (const f of Object.keys(flags)) if (!known.includes(f)) throw new UsageError(`unknown option --${f} (options: ${known.map((k) => `--${k}`).join(' ')})`);
}

function filters(flags: Flags, out: (s: string) => void): void {
  checkKnown(flags, ['D', 'M', 'k', 'parity', 'scale', 'json']);
  const D = intFlag(flags, 'D');
  const M = intFlag(flags, 'M');
  const k = intFlag(flags, 'k');
  const parity = intFlag(flags, 'parity', 0);
  const scale = (flags.scale ?? 'normalize') as FilterScale;
  const set = invariantFilters(D, M, k, parity, scale);
  if (flags.json) {
    out(JSON.stringify({ D, M, k, parity, count: set.count, filters: set.filters.map((f) => Array.from(f)) }));
    return;
  }
  const spatial = new Array<number>(D).fill(M);
  out(`${set.count} invariant ${tensorName(k, parity)} filter${set.count === 1 ? '' : 's'}: D=${D}, M=${M}, k=${k}, parity=${parity}, scale=${scale}`);
  out('(x to the right, y upwards; 2-D vectors as arrow + length)');
  set.filters.forEach((f, i) => out(`\nfilter ${i}\n${renderImage(f, spatial, D, k)}`));
}

async function info(flags: Flags, out: (s: string) => void): Promise<void> {
  checkKnown(flags, ['threads']);
  const threads = intFlag(flags, 'threads', 1);
  out(`geoconv ${version}`);
  for (const name of ['ref', 'wasm', 'webgpu'] as const) {
    try {
      await init({ backend: name, threads: name === 'wasm' ? threads : undefined });
    } catch {
      // the reason is in `unavailable`
    }
    out(`  ${name.padEnd(7)} ${hasBackend(name) ? getBackend(name).describe() : `unavailable: ${unavailable[name]}`}`);
  }
  for (const n of notices) out(`  note: ${n}`);
}

/** Defaults of `geoconv train` on the synthetic tasks: a few minutes on 2 CPU cores with wasm. */
const TRAIN_DEFAULTS = { model: 'unet', epochs: 15, backend: 'wasm', threads: 2, seed: 0, out: 'out', batch: 8, depth: 16, lr: 1e-3 } as const;

/**
 * Defaults of the emulation job (`npm start`: `geoconv train` with no task): the built-in
 * Navier–Stokes data, sized to finish in about 5 minutes on 2 cores with 2 wasm threads.
 */
const EMULATION_DEFAULTS = { epochs: 6, batch: 8, depth: 8, lr: 2e-3, pastSteps: 2, rolloutSteps: 5, N: 32, trajectories: 48, steps: 20 } as const;

const SIMULATE_DEFAULTS = { N: 64, trajectories: 64, steps: 20, seed: 0 } as const;

const EMULATION_TASK = 'navier-stokes';

/** Typed readers of one command's flags. */
function reader(flags: Flags) {
  const str = (name: string, dflt: string): string => {
    const v = flags[name];
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v ?? dflt;
  };
  const num = (name: string, dflt: number): number => {
    const v = Number(str(name, String(dflt)));
    if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(flags[name])})`);
    return v;
  };
  const optionalInt = (name: string) => (flags[name] === undefined ? undefined : intFlag(flags, name));
  const optionalNum = (name: string) => (flags[name] === undefined ? undefined : num(name, 0));
  return { str, num, optionalInt, optionalNum };
}

const TRAIN_FLAGS = ['task', 'model', 'epochs', 'backend', 'threads', 'seed', 'out', 'batch', 'depth', 'lr', 'no-baseline', 'quiet',
  'n-train', 'n-val', 'n-test', 'N', 'protocol', 'data', 'format', 'orography', 'operators', 'past-steps', 'rollout-steps', 'trajectories', 'steps', 'val-trajectories', 'test-trajectories'] as const;
const EMULATION_ONLY = ['data', 'format', 'orography', 'operators', 'operators', 'past-steps', 'rollout-steps', 'trajectories', 'steps', 'val-trajectories', 'test-trajectories'];
const TASK_ONLY = ['n-train', 'n-val', 'n-test', 'protocol'];

/** The emulation options of `train`/`benchmark` from flags (built-in Navier–Stokes data or --data FILE). */
async function emulationOptions(flags: Flags, seed: number): Promise<import('./emulate.js').EmulateOptions> {
  const { str, num, optionalInt } = reader(flags);
  const E = EMULATION_DEFAULTS;
  let data: import('./emulate.js').EmulationData;
  if (flags.data !== undefined) {
    if (flags.task !== undefined) throw new UsageError('give --task or --data, not both');
    const format = str('format', '');
    if (!format) throw new UsageError('--data needs --format pdebench-cfd|shallow-water|navier-stokes|SPEC.json');
    if (flags.N !== undefined || flags.trajectories !== undefined || flags.steps !== undefined) throw new UsageError('--N, --trajectories and --steps size the built-in simulation; they do not apply to --data');
    const { validateSpec } = await import('./data/readers.js');
    const spec = format.endsWith('.json') ? validateSpec(JSON.parse(await (await import('node:fs/promises')).readFile(format, 'utf8')), format) : format;
    if (typeof spec === 'string' && !['pdebench-cfd', 'shallow-water', 'navier-stokes'].includes(spec)) {
      throw new UsageError(`--format must be pdebench-cfd, shallow-water, navier-stokes or a SPEC.json file (got ${JSON.stringify(spec)})`);
    }
    const orography = flags.orography === undefined ? undefined : str('orography', '');
    if (orography !== undefined && spec !== 'shallow-water') throw new UsageError('--orography goes with --format shallow-water');
    data = { kind: 'file', path: str('data', ''), format: spec as DatasetFormat | SimulationSpec, options: orography !== undefined ? { orography } : {} };
  } else {
    if (flags.format !== undefined) throw new UsageError('--format goes with --data FILE');
    data = { kind: 'navier-stokes', simulation: { N: intFlag(flags, 'N', E.N), trajectories: intFlag(flags, 'trajectories', E.trajectories), steps: intFlag(flags, 'steps', E.steps) } };
  }
  return {
    data, model: str('model', TRAIN_DEFAULTS.model) as ModelName, epochs: intFlag(flags, 'epochs', E.epochs), seed,
    batchSize: intFlag(flags, 'batch', E.batch), depth: intFlag(flags, 'depth', E.depth), learningRate: num('lr', E.lr),
    pastSteps: intFlag(flags, 'past-steps', E.pastSteps), rolloutSteps: intFlag(flags, 'rollout-steps', E.rolloutSteps),
    valTrajectories: optionalInt('val-trajectories'), testTrajectories: optionalInt('test-trajectories'),
    ...(flags.operators !== undefined ? { operators: subgroupFlag(str('operators', '')) } : {}),
    baseline: !flags['no-baseline'], progress: !flags.quiet,
  };
}

const SUBGROUPS = ['full', 'rotations', 'axis-flips', 'reflections', 'trivial'] as const;

function subgroupFlag(v: string): (typeof SUBGROUPS)[number] {
  if (!(SUBGROUPS as readonly string[]).includes(v)) throw new UsageError(`--operators must be one of ${SUBGROUPS.join(', ')} (got ${JSON.stringify(v)})`);
  return v as (typeof SUBGROUPS)[number];
}

async function trainCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  checkKnown(flags, TRAIN_FLAGS);
  const { str, num, optionalInt } = reader(flags);
  const task = str('task', flags.data !== undefined ? '' : EMULATION_TASK);
  const emulation = task === EMULATION_TASK || task === '';
  if (!emulation && !Object.hasOwn(TASKS, task)) throw new UsageError(`--task must be one of ${EMULATION_TASK}, ${Object.keys(TASKS).join(', ')} (got ${JSON.stringify(task)})`);
  for (const f of emulation ? TASK_ONLY : EMULATION_ONLY) if (flags[f] !== undefined) throw new UsageError(`--${f} does not apply to ${emulation ? 'the emulation task' : `--task ${task}`}`);
  const seed = intFlag(flags, 'seed', TRAIN_DEFAULTS.seed);
  const outDir = str('out', TRAIN_DEFAULTS.out);
  const emulate = emulation ? await emulationOptions(flags, seed) : null;
  const backend = str('backend', TRAIN_DEFAULTS.backend) as 'auto' | 'wasm' | 'webgpu' | 'ref';
  await init({ backend, threads: intFlag(flags, 'threads', TRAIN_DEFAULTS.threads) });
  if (emulate) {
    const { runEmulation } = await import('./emulate.js');
    await runEmulation(emulate, outDir, out);
    return;
  }
  const { runJob } = await import('./job.js');
  await runJob({
    task: task as TaskName,
    model: str('model', TRAIN_DEFAULTS.model) as ModelName,
    epochs: intFlag(flags, 'epochs', TRAIN_DEFAULTS.epochs),
    seed,
    batchSize: intFlag(flags, 'batch', TRAIN_DEFAULTS.batch),
    depth: intFlag(flags, 'depth', TRAIN_DEFAULTS.depth),
    learningRate: num('lr', TRAIN_DEFAULTS.lr),
    nTrain: optionalInt('n-train'), nVal: optionalInt('n-val'), nTest: optionalInt('n-test'), N: optionalInt('N'),
    protocol: flags.protocol === undefined ? undefined : str('protocol', 'exact') as 'exact' | 'notebook',
    baseline: !flags['no-baseline'],
    progress: !flags.quiet,
  }, outDir, out);
}

async function simulateCommand(args: readonly string[], out: (s: string) => void): Promise<void> {
  const [system, ...rest] = args;
  if (system !== 'navier-stokes') throw new UsageError(`simulate: the system must be navier-stokes (got ${JSON.stringify(system)})`);
  const flags = parseFlags(rest);
  checkKnown(flags, ['N', 'trajectories', 'steps', 'seed', 'nu', 'dt', 'save-every', 'forcing', 'forcing-orientation', 'out']);
  const { str, optionalNum, optionalInt } = reader(flags);
  const path = str('out', '');
  if (!path) throw new UsageError('simulate: --out FILE.h5 is required');
  const S = SIMULATE_DEFAULTS;
  const { simulateNavierStokes } = await import('./sim/navier-stokes.js');
  const { writeNavierStokesHdf5 } = await import('./data/readers.js');
  const t0 = performance.now();
  const sim = simulateNavierStokes({
    N: intFlag(flags, 'N', S.N), trajectories: intFlag(flags, 'trajectories', S.trajectories), steps: intFlag(flags, 'steps', S.steps), seed: intFlag(flags, 'seed', S.seed),
    ...(flags.nu !== undefined ? { nu: optionalNum('nu') } : {}), ...(flags.dt !== undefined ? { dt: optionalNum('dt') } : {}),
    ...(flags['save-every'] !== undefined ? { saveEvery: optionalInt('save-every') } : {}),
    ...(flags.forcing !== undefined ? { forcing: str('forcing', '') as 'none' } : {}),
    forcingOrientation: str('forcing-orientation', 'random') as 'random',
  });
  const seconds = (performance.now() - t0) / 1000;
  await writeNavierStokesHdf5(path, sim);
  const [b, t, nx, ny] = sim.shape;
  out(`simulated ${b} trajectories × ${t} steps of ${nx}×${ny} in ${seconds.toFixed(1)} s; wrote ${path} (datasets vorticity, Vx, Vy, t-coordinate, x-coordinate, y-coordinate${sim.forcing ? ', forcing' : ''})`);
}

async function benchmarkCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  checkKnown(flags, [...TRAIN_FLAGS.filter((f) => !TASK_ONLY.includes(f) && f !== 'task'), 'trials']);
  const { str } = reader(flags);
  const trials = intFlag(flags, 'trials', 3);
  if (trials < 1) throw new UsageError(`--trials must be >= 1 (got ${trials})`);
  const seed = intFlag(flags, 'seed', TRAIN_DEFAULTS.seed);
  const base = await emulationOptions(flags, seed);
  const outDir = str('out', TRAIN_DEFAULTS.out);
  await init({ backend: str('backend', TRAIN_DEFAULTS.backend) as 'auto', threads: intFlag(flags, 'threads', TRAIN_DEFAULTS.threads) });
  const { runBenchmark } = await import('./emulate.js');
  await runBenchmark(base, trials, outDir, out);
}

/** geoconv export MODEL.safetensors --onnx MODEL.onnx: the checkpoint as an ONNX graph (see src/io/onnx.ts). */
async function exportCommand(args: readonly string[], out: (s: string) => void): Promise<void> {
  const [file, ...rest] = args;
  if (file === undefined || file.startsWith('--')) throw new UsageError('export: the checkpoint MODEL.safetensors comes first');
  const flags = parseFlags(rest);
  checkKnown(flags, ['onnx', 'spatial', 'batch', 'opset', 'layout', 'padding', 'periodic-padding', 'input']);
  const { str } = reader(flags);
  const path = str('onnx', '');
  if (!path) throw new UsageError('export: --onnx FILE.onnx is required');
  const padding = str('padding', 'torus');
  if (padding !== 'torus' && padding !== 'zero') throw new UsageError(`--padding must be torus or zero (got ${JSON.stringify(padding)})`);
  await import('./nn/models.js'); // registers every model and layer class, so the checkpoint's config rebuilds
  (await import('./backends/backend.js')).setBackend('ref'); // the export traces on ref: load there, no copy
  const { loadCheckpoint } = await import('./io/index.js');
  const { exportOnnx, modelD } = await import('./io/onnx.js');
  const loaded = await loadCheckpoint(file);
  try {
    const D = modelD(loaded.model) ?? 2;
    const spatial = flags.spatial === undefined ? new Array<number>(D).fill(64) : str('spatial', '').split(',').map(Number);
    let input;
    if (flags.input !== undefined) {
      try { input = JSON.parse(str('input', '')); } catch { throw new UsageError(`--input must be a JSON signature such as '[{"k":0,"parity":0,"channels":1}]' (got ${JSON.stringify(flags.input)})`); }
    }
    const bytes = await exportOnnx(loaded.model, loaded.params, {
      spatial, batch: intFlag(flags, 'batch', 1), opset: intFlag(flags, 'opset', 19), torus: padding === 'torus',
      layout: str('layout', 'channels-first') as 'channels-first', ...(flags['periodic-padding'] !== undefined ? { periodicPadding: str('periodic-padding', '') as 'wrap' } : {}),
      ...(input !== undefined ? { input } : {}), ...(loaded.state ? { state: loaded.state } : {}),
    });
    const { writeFileAtomic } = await import('./io/atomic-write-node.js');
    await writeFileAtomic(path, bytes, 'export');
    out(`wrote ${path}: ${loaded.config.type} (D = ${D}) as ONNX for batch ${flags.batch ?? 1}, spatial ${spatial.join('×')} (${(bytes.length / 1024).toFixed(0)} KiB)`);
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
async function convertCommand(args: readonly string[], out: (s: string) => void): Promise<void> {
  const [file, ...rest] = args;
  if (file === undefined || file.startsWith('--')) throw new UsageError('convert: the model file (MODEL.eqx or MODEL.safetensors) comes first');
  const flags = parseFlags(rest);
  checkKnown(flags, ['config', 'out']);
  const { str } = reader(flags);
  const path = str('out', '');
  if (!path) throw new UsageError('convert: --out FILE is required');
  (await import('./backends/backend.js')).setBackend('ref');
  const { writeFileAtomic } = await import('./io/atomic-write-node.js');
  const ginjax = await import('./io/ginjax.js');
  if (/\.safetensors$/i.test(file)) {
    if (flags.config !== undefined) throw new UsageError('convert: --config goes with a ginjax .eqx input (a checkpoint carries its own config)');
    if (!/\.eqx$/i.test(path)) throw new UsageError(`convert: a checkpoint converts to a ginjax .eqx file (got --out ${JSON.stringify(path)})`);
    await import('./nn/models.js');
    const { loadCheckpoint } = await import('./io/index.js');
    const loaded = await loadCheckpoint(file);
    try {
      const bytes = await ginjax.serializeGinjax(loaded.model, loaded.params);
      await writeFileAtomic(path, bytes, 'convert');
      out(`wrote ${path}: ${loaded.config.type} as a ginjax model file, ${ginjax.ginjaxLeaves(loaded.model).length} leaves (${(bytes.length / 1024).toFixed(0)} KiB)`);
    } finally {
      loaded.model.dispose();
    }
    return;
  }
  const configPath = str('config', '');
  if (!configPath) throw new UsageError('convert: a ginjax .eqx file needs --config CONFIG.json (the ginjax constructor and its arguments; the file holds no config)');
  if (!/\.safetensors$/i.test(path)) throw new UsageError(`convert: a ginjax file converts to a geoconv checkpoint .safetensors (got --out ${JSON.stringify(path)})`);
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

const USAGE = `usage:
  geoconv filters --D 2|3 --M <side> --k <order> [--parity 0|1] [--scale normalize|one] [--json]
  geoconv info [--threads N]
  geoconv simulate navier-stokes --out FILE.h5 [--N 64] [--trajectories 64] [--steps 20] [--seed 0] [--nu X] [--dt X] [--save-every N]
                [--forcing kolmogorov|fno|none] [--forcing-orientation random|fixed]
  geoconv train [--task navier-stokes|gradient|scalar|gravity | --data FILE --format pdebench-cfd|shallow-water|navier-stokes|SPEC.json [--orography FILE]]
                [--model unet|resnet|dilresnet] [--epochs N] [--backend auto|wasm|webgpu|ref] [--threads N] [--seed N] [--out DIR]
                [--batch N] [--depth N] [--lr X] [--no-baseline] [--quiet]
                emulation (default task navier-stokes, or --data): [--past-steps N] [--rollout-steps N] [--val-trajectories N]
                [--test-trajectories N] [--operators full|rotations|axis-flips|reflections|trivial]; built-in data: [--N side] [--trajectories N] [--steps N]
                synthetic tasks: [--n-train N] [--n-val N] [--n-test N] [--N side] [--protocol exact|notebook (gradient)]
  geoconv benchmark --trials N [the emulation options of train]
  geoconv export MODEL.safetensors --onnx MODEL.onnx [--spatial 64,64] [--batch 1] [--opset 19] [--padding torus|zero]
                [--layout channels-first|channels-last] [--periodic-padding wrap|slice-concat] [--input SIGNATURE.json]
  geoconv convert MODEL.eqx --config CONFIG.json --out MODEL.safetensors   (a ginjax model file; CONFIG: its constructor and arguments)
  geoconv convert MODEL.safetensors --out MODEL.eqx                        (back to a file ginjax's ml.load reads)`;

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'filters': filters(parseFlags(rest), out); return 0;
      case 'info': await info(parseFlags(rest), out); return 0;
      case 'train': await trainCommand(parseFlags(rest), out); return 0;
      case 'simulate': await simulateCommand(rest, out); return 0;
      case 'benchmark': await benchmarkCommand(parseFlags(rest), out); return 0;
      case 'export': await exportCommand(rest, out); return 0;
      case 'convert': await convertCommand(rest, out); return 0;
      case undefined: case 'help': case '--help': case '-h': out(USAGE); return command === undefined ? 1 : 0;
      default: throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    err(`geoconv: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof UsageError) err(USAGE);
    return 2;
  }
}
