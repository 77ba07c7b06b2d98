/**
 * The `geoconv` command line. Commands:
 *   geoconv filters --D 2 --M 3 --k 1 --parity 0 [--scale one] [--json]
 *   geoconv info [--threads N]
 *   geoconv train [--task gradient] [--model unet] [--epochs 10] [--backend wasm] [--seed 0] [--out out] ...
 */
import { init, notices, unavailable } from './backends/index.js';
import { getBackend, hasBackend } from './backends/backend.js';
import { invariantFilters, type FilterScale } from './geometric/filters.js';
import { renderImage } from './geometric/render.js';
import { tensorName } from './geometric/signature.js';
import { version } from './version.js';
import type { TaskName } from './tasks/tasks.js';
import type { ModelName } from './job.js';

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

/** Defaults of `geoconv train` (and `npm start`): a few minutes on 2 CPU cores with wasm. */
const TRAIN_DEFAULTS = { task: 'gradient', model: 'unet', epochs: 15, backend: 'wasm', threads: 2, seed: 0, out: 'out', batch: 8, depth: 16, lr: 1e-3 } as const;

async function trainCommand(flags: Flags, out: (s: string) => void): Promise<void> {
  checkKnown(flags, ['task', 'model', 'epochs', 'backend', 'threads', 'seed', 'out', 'batch', 'depth', 'lr', 'n-train', 'n-val', 'n-test', 'N', 'protocol', 'no-baseline', 'quiet']);
  const str = (name: string, dflt: string) => {
    const v = flags[name];
    if (v === true) throw new UsageError(`--${name} needs a value`);
    return v ?? dflt;
  };
  const num = (name: string, dflt: number) => {
    const v = Number(str(name, String(dflt)));
    if (!Number.isFinite(v)) throw new UsageError(`--${name} must be a number (got ${JSON.stringify(flags[name])})`);
    return v;
  };
  const optional = (name: string) => (flags[name] === undefined ? undefined : intFlag(flags, name));
  const backend = str('backend', TRAIN_DEFAULTS.backend) as 'auto' | 'wasm' | 'webgpu' | 'ref';
  await init({ backend, threads: intFlag(flags, 'threads', TRAIN_DEFAULTS.threads) });
  const { runJob } = await import('./job.js');
  await runJob({
    task: str('task', TRAIN_DEFAULTS.task) as TaskName,
    model: str('model', TRAIN_DEFAULTS.model) as ModelName,
    epochs: intFlag(flags, 'epochs', TRAIN_DEFAULTS.epochs),
    seed: intFlag(flags, 'seed', TRAIN_DEFAULTS.seed),
    batchSize: intFlag(flags, 'batch', TRAIN_DEFAULTS.batch),
    depth: intFlag(flags, 'depth', TRAIN_DEFAULTS.depth),
    learningRate: num('lr', TRAIN_DEFAULTS.lr),
    nTrain: optional('n-train'), nVal: optional('n-val'), nTest: optional('n-test'), N: optional('N'),
    protocol: flags.protocol === undefined ? undefined : str('protocol', 'exact') as 'exact' | 'notebook',
    baseline: !flags['no-baseline'],
    progress: !flags.quiet,
  }, str('out', TRAIN_DEFAULTS.out), out);
}

const USAGE = `usage:
  geoconv filters --D 2|3 --M <side> --k <order> [--parity 0|1] [--scale normalize|one] [--json]
  geoconv info [--threads N]
  geoconv train [--task gradient|scalar|gravity] [--model unet|resnet|dilresnet] [--epochs N] [--backend auto|wasm|webgpu|ref]
                [--threads N] [--seed N] [--out DIR] [--batch N] [--depth N] [--lr X] [--n-train N] [--n-val N] [--n-test N] [--N side]
                [--no-baseline] [--quiet]`;

/** Runs the CLI; returns the process exit code. */
export async function main(argv: readonly string[], out: (s: string) => void = console.log, err: (s: string) => void = console.error): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case 'filters': filters(parseFlags(rest), out); return 0;
      case 'info': await info(parseFlags(rest), out); return 0;
      case 'train': await trainCommand(parseFlags(rest), out); return 0;
      case undefined: case 'help': case '--help': case '-h': out(USAGE); return command === undefined ? 1 : 0;
      default: throw new UsageError(`unknown command ${JSON.stringify(command)}`);
    }
  } catch (e) {
    err(`geoconv: ${e instanceof Error ? e.message : String(e)}`);
    if (e instanceof UsageError) err(USAGE);
    return 2;
  }
}
