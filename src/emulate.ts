/**
 * The emulation job (`npm start`, `geoconv train --task navier-stokes | --data FILE`): the paper's
 * workflow at small scale. Trajectories come from the built-in Navier–Stokes simulator or from a
 * simulation file; they are split by trajectory into train/val/test, normalised with training
 * statistics, cut into (past steps → next step) windows, and an equivariant model and its
 * non-equivariant baseline are trained as one-step emulators. Each is then rolled out
 * autoregressively on the test trajectories: per-step rollout SMSE, power spectra and their error,
 * one-step SMSE on every split. Writes metrics.json, one checkpoint per model and SVG pictures.
 */
import { check } from './core/errors.js';
import { key as makeKey, split, type Key } from './core/random.js';
import { MultiImage } from './geometric/multi-image.js';
import { saveCheckpoint } from './io/index.js';
import type { Module, Params } from './nn/module.js';
import { ResidualStep, ginjaxParameterCount, type EquivariantNonlinearity } from './nn/models.js';
import { adamw, warmupCosineDecay } from './train/optim.js';
import { EpochStop } from './train/stopping.js';
import { evaluate, train } from './train/train.js';
import { batchTimeSeries } from './train/data.js';
import { disposeTree } from './train/tree.js';
import { getBackend } from './backends/backend.js';
import { tidy } from './tensor.js';
import { version } from './version.js';
import { rolloutLoss } from './eval/rollout.js';
import { fieldSpectra, fieldSpectralErrors } from './eval/spectrum.js';
import { benchmark, formatTable, type BenchmarkTable } from './eval/benchmark.js';
import { plotSpectra, rolloutLossPlot, rolloutPanels } from './eval/pictures.js';
import { simulateNavierStokes, type NavierStokesOptions } from './sim/navier-stokes.js';
import type { DatasetFormat, ShallowWaterOptions, SimulationData, SimulationSpec } from './data/readers.js';
import { blockOffsets, compareKeys } from './geometric/signature.js';
import { subgroup, type SubgroupName } from './geometric/group.js';
import { buildJobModel, scalar, type ModelName, type ModelResult, type TrainingJobOptions } from './job.js';

/** Where the trajectories come from. */
export type EmulationData =
  | { readonly kind: 'navier-stokes'; readonly simulation?: Partial<NavierStokesOptions> }
  | { readonly kind: 'file'; readonly path: string; readonly format: DatasetFormat | SimulationSpec; readonly options?: ShallowWaterOptions };

export interface EmulateOptions extends TrainingJobOptions {
  readonly data: EmulationData;
  /** Input steps per window (ginjax's cfd_2d uses 4). */
  readonly pastSteps: number;
  /** Rollout length on the test trajectories. */
  readonly rolloutSteps: number;
  /** Trajectories for validation and test (the rest train); default 1/8 each, at least 1. */
  readonly valTrajectories?: number;
  readonly testTrajectories?: number;
  /**
   * The symmetry group of the equivariant model (default: all of B_2 on square grids; the axis
   * flips on non-square ones, which 90° rotations do not map onto themselves).
   */
  readonly operators?: SubgroupName;
  /**
   * Wrap each model in ResidualStep (default true): it predicts the change from the newest input
   * frame, so persistence is its zero and the network learns the increment. false: the state
   * itself, as ginjax's scripts.
   */
  readonly residual?: boolean;
}

/** A synthetic task's result per model (one-step SMSE on the windows of each split), and: */
export interface EmulationModelResult extends ModelResult {
  /** SMSE of each rollout step on the test trajectories (mean over windows). */
  readonly rolloutSmse: number[];
  readonly rolloutSmseSum: number;
  /** Spectral error of each field at each rollout step (see eval/spectrum.ts). */
  readonly spectralError: Record<string, number[]>;
  /** Mean spectral error over fields and steps. */
  readonly spectralErrorMean: number;
}

export interface EmulationResult {
  readonly version: string;
  readonly task: string;
  readonly model: ModelName;
  readonly backend: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly pastSteps: number;
  readonly rolloutSteps: number;
  /** The equivariant model's nonlinearity (EmulateOptions.nonlinearity; default 'norm' here). */
  readonly nonlinearity: EquivariantNonlinearity;
  /** Whether the models predicted the change from the newest input frame (ResidualStep). */
  readonly residual: boolean;
  readonly data: Readonly<Record<string, unknown>>;
  /** The equivariant model's symmetry group. */
  readonly operators: SubgroupName;
  /** Windows per split (samples), and the spatial side (first axis). */
  readonly sizes: { readonly train: number; readonly val: number; readonly test: number; readonly N: number };
  readonly models: readonly EmulationModelResult[];
  /** The reference every emulator must beat: each rollout step predicted as the last input frame. */
  readonly persistence: { readonly rolloutSmse: number[] };
  readonly pictures: readonly string[];
}

/** The trajectories read, normalised with the train+val trajectories' statistics (as ginjax's scripts). */
interface Trajectories {
  readonly data: SimulationData;
  /** Trajectories for train, val, test, in that order along the batch axis. */
  readonly split: { readonly train: number; readonly val: number; readonly test: number };
  /** One name per dynamic field (key order, then channel), for tables and pictures. */
  readonly fieldNames: string[];
  readonly describe: Readonly<Record<string, unknown>>;
}

function splitSizes(B: number, o: EmulateOptions): { train: number; val: number; test: number } {
  const val = o.valTrajectories ?? Math.max(1, Math.round(B / 8));
  const test = o.testTrajectories ?? Math.max(1, Math.round(B / 8));
  check(
    Number.isInteger(val) && val >= 1 && Number.isInteger(test) && test >= 1 && val + test < B,
    'train',
    'val/test trajectories',
    `integers >= 1 leaving at least one training trajectory of the ${B}`,
    [val, test],
  );
  return { train: B - val - test, val, test };
}

/**
 * The built-in simulation goes through the same file path as user data: it is written as HDF5
 * bytes in the navier-stokes layout and read back by its reader, which normalises it.
 */
async function loadTrajectories(o: EmulateOptions, key: Key): Promise<Trajectories> {
  const { readDataset, writeNavierStokesHdf5 } = await import('./data/readers.js');
  let source: string | Uint8Array;
  let format: Parameters<typeof readDataset>[1];
  let B: number;
  let describe: Record<string, unknown>;
  if (o.data.kind === 'navier-stokes') {
    // every trajectory's forcing in a random orientation: the data cover the symmetric setting
    const sim = simulateNavierStokes({ forcingOrientation: 'random', ...o.data.simulation, key });
    source = (await writeNavierStokesHdf5(undefined, sim))!;
    format = 'navier-stokes';
    B = sim.shape[0];
    describe = { source: 'simulated', ...sim.attrs };
  } else {
    source = o.data.path;
    format = o.data.format as Parameters<typeof readDataset>[1];
    const probe = await readDataset(source, format, { ...o.data.options, trajectories: 1, normalize: false });
    B = probe.fileTrajectories;
    probe.dispose();
    describe = { source: o.data.path, format: typeof format === 'string' ? format : 'spec' };
  }
  const split = splitSizes(B, o);
  const data = await readDataset(source, format, {
    ...(o.data.kind === 'file' ? o.data.options : {}),
    normalize: true,
    fitTrajectories: split.train + split.val,
  });
  const fieldNames = data.fields
    .filter((f) => !f.constant)
    .sort((x, y) => compareKeys(x, y) || x.index - y.index)
    .map((f) => f.name);
  return { data, split, fieldNames, describe };
}

/** The equivariant model's group: the option, else the full group on square grids and the axis flips otherwise. */
function modelGroup(o: EmulateOptions, x: MultiImage): SubgroupName {
  return o.operators ?? (x.spatial.every((n) => n === x.spatial[0]) ? 'full' : 'axis-flips');
}

function buildModel(o: EmulateOptions, input: MultiImage, output: MultiImage, equivariant: boolean, key: Key): Module {
  const group = equivariant ? { operators: subgroup(input.D, modelGroup(o, input)), nonlinearity: o.nonlinearity ?? 'norm' } : {};
  const model = buildJobModel(o.model, { D: input.D, input: input.signature, output: output.signature, depth: o.depth, equivariant, ...group }, key);
  return o.residual === false ? model : new ResidualStep({ model, pastSteps: o.pastSteps });
}

/** Normalised trajectories cut into windows: what every model of one run (or trial) shares. */
interface Prepared {
  readonly train: Windows;
  readonly val: Windows;
  readonly test: Windows;
  /** Test trajectories with rolloutSteps future steps per window. */
  readonly rollout: Windows;
  readonly constantFields: [[number, number], number][] | undefined;
  readonly fieldNames: string[] | undefined;
  readonly trajectories: { readonly train: number; readonly val: number; readonly test: number };
  readonly totalSteps: number;
  readonly describe: Readonly<Record<string, unknown>>;
  readonly loadSeconds: number;
}

interface Windows {
  readonly x: MultiImage;
  readonly y: MultiImage;
}

function disposePrepared(p: Prepared): void {
  for (const w of [p.train, p.val, p.test, p.rollout]) {
    w.x.dispose();
    w.y.dispose();
  }
}

const range = (a: number, n: number) => Array.from({ length: n }, (_, i) => a + i);

/**
 * Loads the trajectories, splits them by trajectory (train first, then val, then test) and cuts
 * the windows: (pastSteps → next step) for training and one-step errors, (pastSteps →
 * rolloutSteps) on the test trajectories for rollouts.
 */
async function prepare(o: EmulateOptions, key: Key): Promise<Prepared> {
  const fn = 'train';
  check(Number.isInteger(o.pastSteps) && o.pastSteps >= 1, fn, 'pastSteps', 'an integer >= 1', o.pastSteps);
  check(Number.isInteger(o.rolloutSteps) && o.rolloutSteps >= 1, fn, 'rolloutSteps', 'an integer >= 1', o.rolloutSteps);
  const t0 = performance.now();
  const traj = await loadTrajectories(o, key);
  const loadSeconds = (performance.now() - t0) / 1000;
  const { dynamic, constant, totalSteps: T } = traj.data;
  try {
    check(T >= o.pastSteps + o.rolloutSteps, fn, 'pastSteps + rolloutSteps', `at most the ${T} saved steps`, o.pastSteps + o.rolloutSteps);
    const { train: nTrain, val: nVal, test: nTest } = traj.split;
    const cut = (first: number, n: number, futureSteps: number): Windows =>
      tidy(() => {
        const part = dynamic.getSubset(range(first, n));
        const c = constant && constant.batch === dynamic.batch ? constant.getSubset(range(first, n)) : constant;
        return batchTimeSeries(part, c, { totalSteps: T, pastSteps: o.pastSteps, futureSteps });
      });
    return {
      train: cut(0, nTrain, 1),
      val: cut(nTrain, nVal, 1),
      test: cut(nTrain + nVal, nTest, 1),
      rollout: cut(nTrain + nVal, nTest, o.rolloutSteps),
      constantFields: constant ? constant.signature.map((e) => [[e.k, e.parity], e.channels] as [[number, number], number]) : undefined,
      fieldNames: traj.fieldNames,
      trajectories: traj.split,
      totalSteps: T,
      describe: traj.describe,
      loadSeconds,
    };
  } finally {
    traj.data.dispose();
  }
}

interface Fitted {
  readonly name: string;
  readonly model: Module;
  readonly params: Params;
  readonly metrics: Omit<EmulationModelResult, 'checkpoint'>;
  /** The rollout on the test trajectories (c·rolloutSteps channels per key). */
  readonly predictions: MultiImage;
}

/** Trains one model (equivariant or baseline) as a one-step emulator and evaluates it. */
async function fitAndEvaluate(
  o: EmulateOptions,
  p: Prepared,
  equivariant: boolean,
  [modelKey, trainKey]: [Key, Key],
  log: (s: string) => void,
): Promise<Fitted> {
  const name = `${equivariant ? 'equivariant' : 'baseline'}-${o.model}`;
  const model = buildModel(o, p.train.x, p.train.y, equivariant, modelKey);
  log(`\n${name}: ${model.parameterCount().toLocaleString('en')} parameters`);
  const lr = equivariant ? o.learningRate : 2 * o.learningRate;
  const batchSize = Math.min(o.batchSize, p.train.x.batch);
  const steps = Math.floor(p.train.x.batch / batchSize);
  // ginjax's cfd_2d schedule: warmup (5 epochs, at most a quarter of the run) then cosine decay.
  const schedule = warmupCosineDecay(1e-8, lr, Math.min(5 * steps, Math.floor((o.epochs * steps) / 4)), o.epochs * steps, 1e-7);
  const start = performance.now();
  const result = await train({
    model,
    x: p.train.x,
    y: p.train.y,
    valX: p.val.x,
    valY: p.val.y,
    batchSize,
    optimizer: adamw({ learningRate: schedule, weightDecay: 1e-5 }),
    key: trainKey,
    stop: new EpochStop(o.epochs),
    progress: o.progress ?? true,
  });
  disposeTree(result.optState as unknown as Params);
  const seconds = (performance.now() - start) / 1000;
  try {
    const oneStep = async (s: Windows) => scalar(evaluate(model, result.params, s.x, s.y, { batchSize: Math.min(16, s.x.batch) }));
    const [trainLoss, valLoss, testLoss] = [await oneStep(p.train), await oneStep(p.val), await oneStep(p.test)];
    const roll = await rolloutLoss(model, result.params, p.rollout.x, p.rollout.y, {
      pastSteps: o.pastSteps,
      steps: o.rolloutSteps,
      constantFields: p.constantFields,
      keepPredictions: true,
    });
    const predictions = roll.predictions!;
    const spectral = await fieldSpectralErrors(predictions, p.rollout.y, { steps: o.rolloutSteps, fieldNames: p.fieldNames });
    const spectralError: Record<string, number[]> = {};
    for (const f of spectral.fields) (spectralError[f.name] ??= []).push(f.error);
    return {
      name,
      model,
      params: result.params,
      predictions,
      metrics: {
        name,
        equivariant,
        parameters: model.parameterCount(),
        ginjaxParameters: ginjaxParameterCount(model),
        trainLoss,
        valLoss,
        testLoss,
        rolloutSmse: roll.perStep,
        rolloutSmseSum: roll.sum,
        spectralError,
        spectralErrorMean: spectral.mean,
        seconds,
      },
    };
  } catch (e) {
    disposeTree(result.params);
    model.dispose();
    throw e;
  }
}

function disposeFitted(f: Fitted): void {
  disposeTree(f.params);
  f.model.dispose();
  f.predictions.dispose();
}

/** Runs the emulation job, writing metrics.json, checkpoints and pictures into outDir. */
export async function runEmulation(o: EmulateOptions, outDir: string, log: (s: string) => void = console.log): Promise<EmulationResult> {
  check(Number.isInteger(o.epochs) && o.epochs >= 1, 'train', 'epochs', 'an integer >= 1', o.epochs);
  const { mkdir } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('./io/atomic-write-node.js');
  const writeFile = (path: string, text: string) => writeFileAtomic(path, new TextEncoder().encode(text), 'train');
  const { join } = await import('node:path');
  const [dataKey, ...modelKeys] = split(makeKey(o.seed), 5) as [Key, Key, Key, Key, Key];
  const p = await prepare(o, dataKey);
  const fitted: Fitted[] = [];
  try {
    await mkdir(outDir, { recursive: true });
    log(
      `data: ${String(p.describe.source)}, ${p.trajectories.train + p.trajectories.val + p.trajectories.test} trajectories ` +
        `(${p.trajectories.train}/${p.trajectories.val}/${p.trajectories.test} train/val/test) × ${p.totalSteps} steps of ${p.train.x.spatial.join('×')}, ` +
        `made in ${p.loadSeconds.toFixed(1)} s; ${o.pastSteps} past steps → next step; windows ${p.train.x.batch}/${p.val.x.batch}/${p.test.x.batch}; backend ${getBackend().name}`,
    );
    const results: EmulationModelResult[] = [];
    const variants = o.baseline === false ? [true] : [true, false];
    for (const [i, equivariant] of variants.entries()) {
      const f = await fitAndEvaluate(o, p, equivariant, [modelKeys[2 * i]!, modelKeys[2 * i + 1]!], log);
      fitted.push(f);
      const checkpoint = `${f.name}.safetensors`;
      await saveCheckpoint(join(outDir, checkpoint), f.model, f.params);
      results.push({ ...f.metrics, checkpoint });
    }
    const persistence = { rolloutSmse: await persistenceSmse(p.rollout, o.pastSteps, o.rolloutSteps) };
    const pictures = await writePictures(o, p, fitted, results, persistence, (file, svg) => writeFile(join(outDir, file), svg));
    const out: EmulationResult = {
      version,
      task: o.data.kind === 'navier-stokes' ? 'navier-stokes' : 'file',
      model: o.model,
      backend: getBackend().name,
      seed: o.seed,
      epochs: o.epochs,
      batchSize: o.batchSize,
      pastSteps: o.pastSteps,
      rolloutSteps: o.rolloutSteps,
      residual: o.residual !== false,
      data: { ...p.describe, trajectories: p.trajectories, totalSteps: p.totalSteps, spatial: p.train.x.spatial, isTorus: p.train.x.isTorus },
      operators: modelGroup(o, p.train.x),
      nonlinearity: o.nonlinearity ?? 'norm',
      sizes: { train: p.train.x.batch, val: p.val.x.batch, test: p.test.x.batch, N: p.train.x.spatial[0]! },
      models: results,
      persistence,
      pictures,
    };
    await writeFile(join(outDir, 'metrics.json'), `${JSON.stringify(out, null, 2)}\n`);
    log(
      `\n${table(results, persistence.rolloutSmse)}\n\nwrote ${join(outDir, 'metrics.json')}, ${results.map((r) => r.checkpoint).join(', ')}, ${pictures.join(', ')}`,
    );
    return out;
  } finally {
    fitted.forEach(disposeFitted);
    disposePrepared(p);
  }
}

/**
 * `geoconv benchmark`: the emulation job's models × `trials` trials (ginjax ml.benchmark), each trial
 * with its own data, initial parameters and batches from one seed; writes benchmark.json, .md and
 * .tex (mean ± std over the trials) and the mean rollout SMSE per step as rollout-smse.svg.
 */
export async function runBenchmark(o: EmulateOptions, trials: number, outDir: string, log: (s: string) => void = console.log): Promise<BenchmarkTable> {
  const { mkdir } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('./io/atomic-write-node.js');
  const writeFile = (path: string, text: string) => writeFileAtomic(path, new TextEncoder().encode(text), 'benchmark');
  const { join } = await import('node:path');
  await mkdir(outDir, { recursive: true });
  const variants = o.baseline === false ? [true] : [true, false];
  const table = await benchmark<Prepared>({
    trials,
    seed: o.seed,
    data: (key) => prepare(o, key),
    disposeData: disposePrepared,
    models: variants.map((equivariant) => ({
      name: `${equivariant ? 'equivariant' : 'baseline'}-${o.model}`,
      run: async (key: Key, _trial: number, { data }: { data: Prepared }) => {
        const f = await fitAndEvaluate({ ...o, progress: false }, data, equivariant, split(key, 2) as [Key, Key], () => {});
        disposeFitted(f);
        const m = f.metrics;
        return { train: m.trainLoss, val: m.valLoss, test: m.testLoss, rollout: m.rolloutSmse, 'spectral error': m.spectralErrorMean };
      },
    })),
    onProgress: (p) =>
      log(
        `trial ${p.trial + 1}/${trials} ${p.model}: test ${p.metrics.test?.toExponential(2)}, rollout sum ${(p.metrics.rollout ?? []).reduce((a, b) => a + b, 0).toExponential(2)} (${p.seconds.toFixed(0)} s; ${p.done}/${p.total})`,
      ),
  });
  await writeFile(join(outDir, 'benchmark.json'), `${formatTable(table, 'json')}\n`);
  await writeFile(join(outDir, 'benchmark.md'), `${formatTable(table, 'markdown')}\n`);
  await writeFile(join(outDir, 'benchmark.tex'), `${formatTable(table, 'latex')}\n`);
  await writeFile(join(outDir, 'rollout-smse.svg'), rolloutLossPlot(table.models.map((name, i) => ({ name, perStep: table.rolloutMean[i]! }))));
  log(
    `\n${formatTable(table, 'markdown')}\n\nwrote ${['benchmark.json', 'benchmark.md', 'benchmark.tex', 'rollout-smse.svg'].map((f) => join(outDir, f)).join(', ')}`,
  );
  return table;
}

/**
 * SMSE per rollout step of persistence (every step predicted as the window's last input frame),
 * mean over the windows: the skill floor of an emulator.
 */
export async function persistenceSmse(w: Windows, pastSteps: number, steps: number): Promise<number[]> {
  const [xv, yv] = await Promise.all([w.x.data.data(), w.y.data.data()]);
  const { D, batch } = w.y;
  const P = w.y.spatial.reduce((a, b) => a * b, 1);
  const [Wx, Wy] = [w.x.width, w.y.width];
  const xOff = blockOffsets(w.x.signature, D);
  const pairs: [number, number, number][] = []; // [x column, y column, step]
  w.y.signature.forEach((e, i) => {
    const xi = w.x.signature.findIndex((f) => f.k === e.k && f.parity === e.parity);
    const T = D ** e.k;
    const yOff = blockOffsets(w.y.signature, D)[i]!;
    for (let ch = 0; ch < e.channels / steps; ch++) {
      for (let t = 0; t < steps; t++)
        for (let j = 0; j < T; j++) pairs.push([xOff[xi]! + (ch * pastSteps + pastSteps - 1) * T + j, yOff + (ch * steps + t) * T + j, t]);
    }
  });
  const totals = new Float64Array(steps);
  for (let r = 0; r < batch * P; r++) for (const [xc, yc, t] of pairs) totals[t]! += (yv[r * Wy + yc]! - xv[r * Wx + xc]!) ** 2;
  return Array.from(totals, (v) => v / P / batch);
}

function table(rows: readonly EmulationModelResult[], persistence: readonly number[]): string {
  const head = ['model', 'parameters', 'train', 'val', 'test', ...rows[0]!.rolloutSmse.map((_, t) => `step ${t + 1}`), 'time'];
  const fmt = (v: number) => v.toExponential(2);
  const body = [
    ...rows.map((r) => [
      r.name,
      r.parameters.toLocaleString('en'),
      fmt(r.trainLoss),
      fmt(r.valLoss),
      fmt(r.testLoss),
      ...r.rolloutSmse.map(fmt),
      `${r.seconds.toFixed(0)} s`,
    ]),
    ['persistence', '0', '', '', '', ...persistence.map(fmt), ''],
  ];
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [
    'one-step SMSE (train/val/test) and rollout SMSE per step (test trajectories):',
    line(head),
    widths.map((w) => '-'.repeat(w)).join('  '),
    ...body.map(line),
  ].join('\n');
}

async function writePictures(
  o: EmulateOptions,
  p: Prepared,
  fitted: readonly Fitted[],
  results: readonly EmulationModelResult[],
  persistence: { rolloutSmse: number[] },
  write: (file: string, svg: string) => Promise<void>,
): Promise<string[]> {
  const files: string[] = [];
  const steps = o.rolloutSteps;
  for (const f of fitted) {
    const file = `rollout-${f.name}.svg`;
    await write(file, await rolloutPanels({ truth: p.rollout.y, prediction: f.predictions, steps, sample: 0, title: f.name, fieldNames: p.fieldNames }));
    files.push(file);
  }
  await write(
    'rollout-smse.svg',
    rolloutLossPlot([...results.map((r) => ({ name: r.name, perStep: r.rolloutSmse })), { name: 'persistence', perStep: persistence.rolloutSmse }]),
  );
  files.push('rollout-smse.svg');
  const truth = await fieldSpectra(p.rollout.y, { steps, fieldNames: p.fieldNames });
  const models = await Promise.all(
    fitted.map(async (f) => ({ name: f.name, spectra: await fieldSpectra(f.predictions, { steps, fieldNames: p.fieldNames }) })),
  );
  await write('spectra.svg', plotSpectra(truth, models, { step: steps - 1 }));
  files.push('spectra.svg');
  return files;
}
