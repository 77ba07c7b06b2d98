/**
 * The main job (`npm start`, `geoconv train`): trains an equivariant model and its non-equivariant
 * baseline on a built-in task, reports train/val/test errors and parameter counts, and writes
 * `metrics.json`, one safetensors checkpoint per model and SVG pictures of an input, its target and
 * both predictions into the output folder. Same seed → same data, initial parameters and batches
 * on every backend.
 */
import { check } from './core/errors.js';
import { key as makeKey, split, type Key } from './core/random.js';
import { plotGrid, plotImage } from './geometric/plot.js';
import type { MultiImage } from './geometric/multi-image.js';
import { saveCheckpoint } from './io/index.js';
import type { Module } from './nn/module.js';
import { DilResNet, ResNet, UNet, ginjaxParameterCount, type EquivariantNonlinearity, type ModelOptions } from './nn/models.js';
import { TASKS, disposeTask, gradientTask, type Split, type TaskData, type TaskName } from './tasks/tasks.js';
import { smseLoss } from './train/losses.js';
import { adamw, exponentialDecay } from './train/optim.js';
import { EpochStop } from './train/stopping.js';
import { defaultLoss, evaluate, train, type LossFn } from './train/train.js';
import { disposeTree } from './train/tree.js';
import { getBackend } from './backends/backend.js';
import { tidy } from './tensor.js';
import { version } from './version.js';

export type ModelName = 'unet' | 'resnet' | 'dilresnet';
export const MODEL_NAMES: readonly ModelName[] = ['unet', 'resnet', 'dilresnet'];

/** What every training job (a synthetic task, an emulation) takes. */
export interface TrainingJobOptions {
  readonly model: ModelName;
  readonly epochs: number;
  readonly seed: number;
  readonly batchSize: number;
  /** Channels per key type (equivariant) / channels (baseline) in the first level. */
  readonly depth: number;
  readonly learningRate: number;
  /** The equivariant model's nonlinearity (default 'vector-neuron', ginjax's; the emulation job uses 'norm'). */
  readonly nonlinearity?: EquivariantNonlinearity;
  /** Also train the non-equivariant baseline (default true). */
  readonly baseline?: boolean;
  readonly progress?: boolean;
}

export interface JobOptions extends TrainingJobOptions {
  readonly task: TaskName;
  readonly nTrain?: number;
  readonly nVal?: number;
  readonly nTest?: number;
  readonly N?: number;
  /** The gradient task's protocol: 'exact' (default) or ginjax's 'notebook' (cropped, standardised). */
  readonly protocol?: 'exact' | 'notebook';
}

export interface ModelResult {
  readonly name: string;
  readonly equivariant: boolean;
  readonly parameters: number;
  /** ginjax's count_params (parameters + the invariant filters each ginjax ConvContract stores). */
  readonly ginjaxParameters: number;
  readonly trainLoss: number;
  readonly valLoss: number;
  readonly testLoss: number;
  readonly seconds: number;
  readonly checkpoint: string;
}

export interface JobResult {
  readonly version: string;
  readonly task: TaskName;
  /** The gradient task's protocol. */
  readonly protocol?: 'exact' | 'notebook';
  readonly model: ModelName;
  readonly backend: string;
  readonly seed: number;
  readonly epochs: number;
  readonly batchSize: number;
  readonly sizes: { readonly train: number; readonly val: number; readonly test: number; readonly N: number };
  readonly models: readonly ModelResult[];
  readonly pictures: readonly string[];
}

/** The jobs' models: `model` of `depth`, 3×3 filters (side-3 invariant filters when equivariant), 2 levels. */
export function buildJobModel(model: ModelName, common: Omit<ModelOptions, 'kernel' | 'M'>, key: Key): Module {
  const o = { ...common, kernel: 3, M: 3 };
  switch (model) {
    case 'unet':
      return new UNet({ ...o, numDownsamples: 2, numConv: 2 }, key);
    case 'resnet':
      return new ResNet({ ...o, numBlocks: 2, numConv: 2 }, key);
    case 'dilresnet':
      return new DilResNet({ ...o, numBlocks: 1 }, key);
  }
}

function buildModel(o: JobOptions, data: TaskData, equivariant: boolean, key: Key): Module {
  return buildJobModel(
    o.model,
    {
      D: data.train.x.D,
      input: data.train.x.signature,
      output: data.train.y.signature,
      depth: o.depth,
      equivariant,
      ...(equivariant && o.nonlinearity ? { nonlinearity: o.nonlinearity } : {}),
    },
    key,
  );
}

/** Runs the job; `write(name, text|bytes)` stores an output file (the CLI writes into --out). */
export async function runJob(o: JobOptions, outDir: string, log: (s: string) => void = console.log): Promise<JobResult> {
  check(Object.hasOwn(TASKS, o.task), 'train', 'task', `one of ${Object.keys(TASKS).join(', ')}`, o.task);
  check(MODEL_NAMES.includes(o.model), 'train', 'model', `one of ${MODEL_NAMES.join(', ')}`, o.model);
  check(Number.isInteger(o.epochs) && o.epochs >= 1, 'train', 'epochs', 'an integer >= 1', o.epochs);
  const { mkdir } = await import('node:fs/promises');
  const { writeFileAtomic } = await import('./io/atomic-write-node.js');
  const writeFile = (path: string, text: string) => writeFileAtomic(path, new TextEncoder().encode(text), 'train');
  const { join } = await import('node:path');
  await mkdir(outDir, { recursive: true });
  const [dataKey, ...modelKeys] = split(makeKey(o.seed), 5) as [Key, Key, Key, Key, Key];
  const sizes = { nTrain: o.nTrain, nVal: o.nVal, nTest: o.nTest, N: o.N };
  check(o.protocol === undefined || o.task === 'gradient', 'train', 'protocol', 'given only with the gradient task', o.protocol);
  const data = o.task === 'gradient' ? gradientTask(dataKey, { ...sizes, protocol: o.protocol }) : TASKS[o.task](dataKey, sizes);
  const loss = croppedLoss(data.crop ?? 0);
  const N = data.train.x.spatial[0]!;
  log(
    `task ${o.task}: ${data.train.x.batch}/${data.val.x.batch}/${data.test.x.batch} train/val/test images of ${data.train.x.spatial.join('×')}, ` +
      `input ${sigText(data.train.x)} → target ${sigText(data.train.y)}; backend ${getBackend().name}`,
  );
  const results: ModelResult[] = [];
  const predictions: Prediction[] = [];
  const variants = o.baseline === false ? [true] : [true, false];
  for (const [i, equivariant] of variants.entries()) {
    const name = `${equivariant ? 'equivariant' : 'baseline'}-${o.model}`;
    const model = buildModel(o, data, equivariant, modelKeys[2 * i]!);
    log(`\n${name}: ${model.parameterCount().toLocaleString('en')} parameters`);
    const lr = equivariant ? o.learningRate : 2 * o.learningRate; // ginjax's gradient example: 1e-3 vs 2e-3
    const batches = Math.max(1, Math.floor(data.train.x.batch / o.batchSize));
    const optimizer = adamw({ learningRate: exponentialDecay(lr, batches, 0.95), weightDecay: 1e-5 });
    const start = performance.now();
    const result = await train({
      model,
      x: data.train.x,
      y: data.train.y,
      valX: data.val.x,
      valY: data.val.y,
      optimizer,
      batchSize: Math.min(o.batchSize, data.train.x.batch),
      valBatchSize: coveringBatch(data.val.x.batch, o.batchSize),
      loss,
      key: modelKeys[2 * i + 1]!,
      stop: new EpochStop(o.epochs),
      progress: o.progress ?? true,
    });
    const seconds = (performance.now() - start) / 1000;
    const errorOn = async (s: Split) => scalar(evaluate(model, result.params, s.x, s.y, { loss, batchSize: coveringBatch(s.x.batch, o.batchSize) }));
    const [trainLoss, valLoss, testLoss] = [await errorOn(data.train), await errorOn(data.val), await errorOn(data.test)];
    const checkpoint = `${name}.safetensors`;
    await saveCheckpoint(join(outDir, checkpoint), model, result.params);
    const shown = data.test.x.getSubset(pictureSamples(data));
    const pred = tidy(() => model.apply(result.params, shown).centerCrop(data.crop ?? 0));
    predictions.push({ name, testLoss, y: await pred.data.data() });
    pred.dispose();
    shown.dispose();
    results.push({
      name,
      equivariant,
      parameters: model.parameterCount(),
      ginjaxParameters: ginjaxParameterCount(model),
      trainLoss,
      valLoss,
      testLoss,
      seconds,
      checkpoint,
    });
    disposeTree(result.params);
    disposeTree(result.optState);
    model.dispose();
  }
  const pictures = await writePictures(data, predictions, outDir, writeFile, join);
  disposeTask(data);
  const out: JobResult = {
    version,
    task: o.task,
    ...(o.task === 'gradient' ? { protocol: o.protocol ?? 'exact' } : {}),
    model: o.model,
    backend: getBackend().name,
    seed: o.seed,
    epochs: o.epochs,
    batchSize: o.batchSize,
    sizes: { train: data.train.x.batch, val: data.val.x.batch, test: data.test.x.batch, N },
    models: results,
    pictures,
  };
  await writeFile(join(outDir, 'metrics.json'), `${JSON.stringify(out, null, 2)}\n`);
  log(`\n${table(results)}\n\nwrote ${join(outDir, 'metrics.json')}, ${results.map((r) => r.checkpoint).join(', ')}, ${pictures.join(', ')}`);
  return out;
}

/** SMSE of the prediction without `crop` border pixels per side against the target. */
function croppedLoss(crop: number): LossFn {
  if (crop === 0) return defaultLoss;
  return (model, params, x, y, options) => tidy(() => smseLoss(model.apply(params, x, options).centerCrop(crop), y));
}

/** The largest batch size <= max that divides n, so that evaluation covers every image. */
function coveringBatch(n: number, max: number): number {
  for (let b = Math.min(n, max); b > 1; b--) if (n % b === 0) return b;
  return 1;
}

const sigText = (x: MultiImage) => `{${x.signature.map((e) => `(${e.k},${e.parity}):${e.channels}`).join(', ')}}`;

/** The value of a one-element tensor, which it disposes. */
export async function scalar(t: import('./tensor.js').Tensor): Promise<number> {
  const v = await t.data();
  t.dispose();
  return v[0]!;
}

function table(rows: readonly ModelResult[]): string {
  const head = ['model', 'parameters', 'train SMSE', 'val SMSE', 'test SMSE', 'time'];
  const fmt = (v: number) => v.toExponential(3);
  const body = rows.map((r) => [r.name, r.parameters.toLocaleString('en'), fmt(r.trainLoss), fmt(r.valLoss), fmt(r.testLoss), `${r.seconds.toFixed(1)} s`]);
  const widths = head.map((h, i) => Math.max(h.length, ...body.map((b) => b[i]!.length)));
  const line = (cells: string[]) => cells.map((c, i) => (i === 0 ? c.padEnd(widths[i]!) : c.padStart(widths[i]!))).join('  ');
  return [line(head), widths.map((w) => '-'.repeat(w)).join('  '), ...body.map(line)].join('\n');
}

/** Test samples shown in predictions.svg. */
const PICTURE_SAMPLES = 3;
const pictureSamples = (data: TaskData) => Array.from({ length: Math.min(PICTURE_SAMPLES, data.test.x.batch) }, (_, i) => i);

/** A model's outputs on the shown test samples (packed like the targets) and its test SMSE. */
interface Prediction {
  readonly name: string;
  readonly testLoss: number;
  readonly y: Float32Array;
}

/** One channel of a MultiImage's packed data: which key, channel and packed column offset. */
interface Field {
  readonly k: number;
  readonly channels: number;
  readonly c: number;
  readonly offset: number;
}

function fieldsOf(image: MultiImage): Field[] {
  const out: Field[] = [];
  let offset = 0;
  for (const e of image.signature) {
    const T = image.D ** e.k;
    for (let c = 0; c < e.channels; c++) if (e.k <= 2) out.push({ k: e.k, channels: e.channels, c, offset: offset + c * T });
    offset += e.channels * T;
  }
  return out;
}

/** Sample s's channel f out of packed values [samples, ...spatial, width], as [...spatial, (D,)*k]. */
function channelOf(values: Float32Array, image: MultiImage, f: Field, s: number): Float32Array {
  const P = image.spatial.reduce((a, b) => a * b, 1);
  const T = image.D ** f.k;
  const out = new Float32Array(P * T);
  for (let p = 0; p < P; p++) for (let t = 0; t < T; t++) out[p * T + t] = values[(s * P + p) * image.width + f.offset + t]!;
  return out;
}

/** Colour/arrow scale shared by several panels: [vmin, vmax] (scalars: ±max|v|, or [0, max] when all are ≥ 0; tensors: [0, max norm]). */
function sharedScale(panels: readonly Float32Array[], k: number, D: number): [number, number] {
  const T = D ** k;
  let min = Infinity,
    max = 0;
  for (const a of panels)
    for (let p = 0; p < a.length; p += T) {
      let s = 0;
      for (let t = 0; t < T; t++) s += a[p + t]! ** 2;
      max = Math.max(max, Math.sqrt(s));
      if (k === 0) min = Math.min(min, a[p]!);
    }
  max ||= 1;
  return k === 0 && min < 0 ? [-max, max] : [0, max];
}

/**
 * predictions.svg: one row per shown test sample with its input, the target, each model's prediction
 * (its test SMSE in the title) and each model's difference prediction − target. Targets and all
 * predictions of a field share one scale (colours and arrow lengths) over every sample, the
 * differences share another, the inputs a third; non-negative inputs (the gravity task's masses)
 * get a sequential map.
 */
async function writePictures(
  data: TaskData,
  predictions: readonly Prediction[],
  outDir: string,
  writeFile: (p: string, s: string) => Promise<void>,
  join: (...p: string[]) => string,
): Promise<string[]> {
  const samples = pictureSamples(data);
  const x = data.test.x.getSubset(samples);
  const y = data.test.y.getSubset(samples);
  try {
    const [xv, yv] = await Promise.all([x.data.data(), y.data.data()]);
    const D = x.D;
    if (D !== 2 && D !== 3) return [];
    const inputs = fieldsOf(x).map((f) => {
      const panels = samples.map((s) => channelOf(xv, x, f, s));
      return { f, panels, scale: sharedScale(panels, f.k, D) };
    });
    const outputs = fieldsOf(y).map((f) => {
      const target = samples.map((s) => channelOf(yv, y, f, s));
      const preds = predictions.map((p) => samples.map((s) => channelOf(p.y, y, f, s)));
      const diffs = preds.map((ps) => ps.map((a, s) => a.map((v, i) => v - target[s]![i]!)));
      return { f, target, preds, diffs, scale: sharedScale([...target, ...preds.flat()], f.k, D), dscale: sharedScale(diffs.flat(), f.k, D) };
    });
    const suffix = (f: Field) => (f.channels > 1 ? ` [${f.c}]` : '');
    const inputLabel = data.name === 'gravity' ? 'mass' : undefined;
    const svgs: string[] = [];
    let columns = 0;
    samples.forEach((s) => {
      const row: string[] = [];
      for (const { f, panels, scale } of inputs)
        row.push(
          plotImage(panels[s]!, x.spatial, f.k, { title: `input${suffix(f)}`, vmin: scale[0], vmax: scale[1], label: f.k === 0 ? inputLabel : undefined }),
        );
      for (const { f, target, preds, diffs, scale, dscale } of outputs) {
        row.push(plotImage(target[s]!, y.spatial, f.k, { title: `target${suffix(f)}`, vmin: scale[0], vmax: scale[1] }));
        predictions.forEach((p, m) =>
          row.push(
            plotImage(preds[m]![s]!, y.spatial, f.k, {
              title: `${p.name}${suffix(f)} · test SMSE ${p.testLoss.toExponential(2)}`,
              vmin: scale[0],
              vmax: scale[1],
            }),
          ),
        );
        predictions.forEach((p, m) =>
          row.push(
            plotImage(diffs[m]![s]!, y.spatial, f.k, {
              title: `${p.name}${suffix(f)} − target`,
              vmin: dscale[0],
              vmax: dscale[1],
              map: 'diverging',
              label: f.k === 0 ? 'prediction − target' : '|prediction − target|',
            }),
          ),
        );
      }
      columns = row.length;
      svgs.push(...row);
    });
    if (!svgs.length) return [];
    const title = `${data.name} task, test samples ${samples.map((s) => s).join(', ')}: input, target, predictions, prediction − target (x = axis 0 to the right, y = axis 1 upwards)`;
    await writeFile(join(outDir, 'predictions.svg'), plotGrid(svgs, columns, { title, rowLabels: samples.map((s) => `test sample ${s}`) }));
    return ['predictions.svg'];
  } finally {
    x.dispose();
    y.dispose();
  }
}
