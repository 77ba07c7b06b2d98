/**
 * The benchmark harness (ginjax ml.benchmark and the table its scripts print): every model is run
 * in every trial, each run with its own key derived from one seed, and the metrics are gathered
 * into one table of per-trial values and mean ± std over the trials, written as JSON, Markdown or
 * LaTeX (the paper's table: mean ± std, the best mean of each column in bold).
 */
import { check } from '../core/errors.js';
import { key as makeKey, split, type Key } from '../core/random.js';

/**
 * What one run of a model reports. One-step SMSEs (train/val/test) and the per-step rollout SMSE
 * (the table also gets its sum); any further named number (e.g. a spectral error) becomes a column.
 */
export interface Metrics {
  readonly train?: number;
  readonly val?: number;
  readonly test?: number;
  /** Rollout SMSE per step (steps 1 … S). */
  readonly rollout?: readonly number[];
  readonly [extra: string]: number | readonly number[] | undefined;
}

/** What `benchmark` hands each model's train/evaluate functions: the data, the seed, progress hooks. */
export interface RunContext<Data> {
  /** The model's own key in this trial (different for each model and each trial). */
  readonly key: Key;
  readonly trial: number;
  /** The trial's data (from `data`), shared by every model of the trial; undefined without `data`. */
  readonly data: Data;
}

/** One model of a benchmark: a name and how to train and evaluate it. */
export interface BenchmarkModel<Data = undefined> {
  readonly name: string;
  /** Trains and evaluates the model of one trial. */
  run(key: Key, trial: number, context: RunContext<Data>): Metrics | Promise<Metrics>;
}

/** A progress event of `benchmark` (model, seed, stage). */
export interface BenchmarkProgress {
  readonly trial: number;
  readonly model: string;
  readonly metrics: Metrics;
  /** Runs done so far, and in all. */
  readonly done: number;
  readonly total: number;
  readonly seconds: number;
}

/** Options of `benchmark`: models, seeds, data and metrics. */
export interface BenchmarkOptions<Data = undefined> {
  readonly trials: number;
  /** The seed of every key (or give `key`). */
  readonly seed?: number;
  readonly key?: Key;
  readonly models: readonly BenchmarkModel<Data>[];
  /** Makes the trial's data once (ginjax get_data), from the trial's data key; all models share it. */
  readonly data?: (key: Key, trial: number) => Data | Promise<Data>;
  /** Frees the trial's data after its last model. */
  readonly disposeData?: (data: Data) => void;
  readonly onProgress?: (p: BenchmarkProgress) => void;
}

/** Mean and standard error of one metric over seeds. */
export interface Summary {
  readonly mean: number;
  /** Population standard deviation over the trials (ddof 0, as ginjax's jnp.std). */
  readonly std: number;
}

/**
 * The result of `benchmark`: per model and metric, every seed's value and the summary; `formatTable` prints it.
 */
export interface BenchmarkTable {
  readonly seed: number | null;
  readonly trials: number;
  readonly models: readonly string[];
  /** Column names: train, val, test, rollout 1 … rollout S, rollout sum, then extras (in first-seen order). */
  readonly columns: readonly string[];
  /** values[model][trial][column] (NaN where a run did not report it). */
  readonly values: readonly (readonly (readonly number[])[])[];
  /** summary[model][column]: mean ± std over the trials (NaN where a run did not report it). */
  readonly summary: readonly (readonly Summary[])[];
  /** Mean per-step rollout SMSE of each model over the trials (for the rollout plot). */
  readonly rolloutMean: readonly (readonly number[])[];
  /** Wall seconds of each run, [model][trial] (not deterministic; not a column). */
  readonly seconds: readonly (readonly number[])[];
}

const clock = () => (typeof performance !== 'undefined' ? performance.now() : Date.now()) / 1000;

function checkMetrics(name: string, trial: number, m: unknown): Metrics {
  const fn = 'benchmark';
  check(
    m !== null && typeof m === 'object' && !Array.isArray(m),
    fn,
    `the metrics of model "${name}" in trial ${trial}`,
    'an object { train?, val?, test?, rollout?: number[], …numbers }',
    m,
  );
  for (const [k, v] of Object.entries(m as object)) {
    if (v === undefined) continue;
    const ok = k === 'rollout' ? Array.isArray(v) && v.every((x) => typeof x === 'number') : typeof v === 'number';
    check(ok, fn, `metric "${k}" of model "${name}" in trial ${trial}`, k === 'rollout' ? 'an array of numbers (per step)' : 'a number', v);
  }
  return m as Metrics;
}

/**
 * Runs every model in every trial, trial-major (trial 0: model 0, 1, …; then trial 1 …), one run at
 * a time, and returns the table. Keys: the root key (from `seed`) splits into one key per trial;
 * each trial key splits into the data key and one key per model — so a model's key depends only on
 * the seed, the trial and its position, and equal seeds give equal tables whenever the runs are
 * deterministic given their keys.
 * @example
 * const table = await benchmark({
 *   trials: 3, seed: 0,
 *   data: (key) => gradientTask(key, { nTrain: 64, nVal: 16, nTest: 16 }),
 *   disposeData: disposeTask,
 *   models: [{
 *     name: 'ConvContract',
 *     async run(key, trial, { data }) {
 *       const model = new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[1, 0], 1]], M: 3 }, key);
 *       const r = await train({ model, x: data.train.x, y: data.train.y, batchSize: 16, key, optimizer: optim.adam({ learningRate: 1e-2 }), stop: new EpochStop(5) });
 *       const test = evaluate(model, r.params, data.test.x, data.test.y);
 *       const metrics = { test: (await test.values())[0]! };
 *       test.dispose(); disposeTree(r.params); disposeTree(r.optState); model.dispose();
 *       return metrics;
 *     },
 *   }],
 * });
 * console.log(formatTable(table));
 */
export async function benchmark<Data = undefined>(o: BenchmarkOptions<Data>): Promise<BenchmarkTable> {
  const fn = 'benchmark';
  check(o !== null && typeof o === 'object', fn, 'options', '{ trials, seed, models }', o);
  const { trials, models, onProgress } = o;
  check(Number.isInteger(trials) && trials >= 1, fn, 'trials', 'an integer >= 1', trials);
  check(Array.isArray(models) && models.length > 0, fn, 'models', 'a non-empty array of { name, run }', models);
  models.forEach((m, i) =>
    check(
      m !== null && typeof m?.name === 'string' && m.name.length > 0 && typeof m.run === 'function',
      fn,
      `models[${i}]`,
      '{ name: a non-empty string, run: a function }',
      m,
    ),
  );
  const names = models.map((m) => m.name);
  const dup = names.find((n, i) => names.indexOf(n) !== i);
  check(dup === undefined, fn, 'model names', 'unique', dup);
  check((o.seed === undefined) !== (o.key === undefined), fn, 'seed / key', 'exactly one of them', [o.seed, o.key]);
  if (o.seed !== undefined) check(Number.isInteger(o.seed) && o.seed >= 0, fn, 'seed', 'an integer >= 0', o.seed);
  const root = o.key ?? makeKey(o.seed!);

  const raw: Metrics[][] = models.map(() => []);
  const seconds: number[][] = models.map(() => []);
  const total = trials * models.length;
  let done = 0;
  const trialKeys = split(root, trials);
  for (let t = 0; t < trials; t++) {
    const [dataKey, ...modelKeys] = split(trialKeys[t]!, models.length + 1) as [Key, ...Key[]];
    const data = (o.data ? await o.data(dataKey, t) : undefined) as Data;
    try {
      for (let m = 0; m < models.length; m++) {
        const t0 = clock();
        let metrics: Metrics;
        try {
          metrics = checkMetrics(names[m]!, t, await models[m]!.run(modelKeys[m]!, t, { key: modelKeys[m]!, trial: t, data }));
        } catch (e) {
          if (e instanceof RangeError && /^benchmark:/.test(e.message)) throw e;
          throw new Error(`benchmark: model "${names[m]}" failed in trial ${t}: ${(e as Error)?.message ?? e}`, { cause: e });
        }
        raw[m]!.push(metrics);
        seconds[m]!.push(clock() - t0);
        done++;
        onProgress?.({ trial: t, model: names[m]!, metrics, done, total, seconds: seconds[m]!.at(-1)! });
      }
    } finally {
      if (o.data && o.disposeData) o.disposeData(data);
    }
  }
  return tabulate(names, raw, seconds, o.seed ?? null);
}

function tabulate(names: string[], raw: Metrics[][], seconds: number[][], seed: number | null): BenchmarkTable {
  const all = raw.flat();
  const steps = Math.max(0, ...all.map((m) => m.rollout?.length ?? 0));
  const columns: string[] = [];
  for (const c of ['train', 'val', 'test'] as const) if (all.some((m) => typeof m[c] === 'number')) columns.push(c);
  for (let s = 1; s <= steps; s++) columns.push(`rollout ${s}`);
  if (steps > 0) columns.push('rollout sum');
  for (const m of all)
    for (const k of Object.keys(m)) if (!['train', 'val', 'test', 'rollout'].includes(k) && typeof m[k] === 'number' && !columns.includes(k)) columns.push(k);

  const row = (m: Metrics): number[] =>
    columns.map((c) => {
      if (c === 'rollout sum') return m.rollout && m.rollout.length === steps ? m.rollout.reduce((a, b) => a + b, 0) : NaN;
      if (c.startsWith('rollout ') && !(c in m)) return m.rollout?.[Number(c.slice(8)) - 1] ?? NaN;
      const v = m[c];
      return typeof v === 'number' ? v : NaN;
    });
  const values = raw.map((runs) => runs.map(row));
  const summary = values.map((runs) =>
    columns.map((_, j) => {
      const xs = runs.map((r) => r[j]!);
      const mean = xs.reduce((a, b) => a + b, 0) / xs.length;
      const std = Math.sqrt(xs.reduce((a, b) => a + (b - mean) ** 2, 0) / xs.length);
      return { mean, std };
    }),
  );
  const rolloutMean = summary.map((s) => Array.from({ length: steps }, (_, i) => s[columns.indexOf(`rollout ${i + 1}`)]!.mean));
  return { seed, trials: raw[0]!.length, models: names, columns, values, summary, rolloutMean, seconds };
}

/** Output formats of `formatTable`. */
export type TableFormat = 'markdown' | 'latex' | 'json';

/** Options of `formatTable`. */
export interface FormatOptions {
  /** Columns to show (default all). */
  readonly columns?: readonly string[];
  /** Significant digits of the means and stds (default 3). */
  readonly digits?: number;
}

/** A number for a table: fixed notation between 1e-3 and 1e4, else scientific; "—" for NaN. */
function num(v: number, digits: number, latex: boolean): string {
  if (!Number.isFinite(v)) return Number.isNaN(v) ? '—' : String(v);
  if (v === 0) return '0';
  const a = Math.abs(v);
  if (a >= 1e-3 && a < 1e4) return Number(v.toPrecision(digits)).toString();
  const [m, e] = v.toExponential(digits - 1).split('e') as [string, string];
  return latex ? `${m} \\times 10^{${Number(e)}}` : `${m}e${Number(e)}`;
}

const escLatex = (s: string) =>
  s.replace(/[\\&%$#_{}~^]/g, (c) => (c === '\\' ? '\\textbackslash{}' : c === '~' ? '\\textasciitilde{}' : c === '^' ? '\\textasciicircum{}' : `\\${c}`));
const escMd = (s: string) => s.replace(/[|\\]/g, (c) => `\\${c}`);

/**
 * The table as text. 'json': the whole BenchmarkTable (NaN as null). 'markdown' and 'latex': one row
 * per model, one column per metric, "mean ± std" over the trials (the std omitted with one trial);
 * the lowest mean of each column (every metric is an error) in bold.
 * @example
 * console.log(formatTable(table));             // Markdown, "mean ± std", best mean in bold
 * await writeFile('table.tex', formatTable(table, 'latex'));
 */
export function formatTable(table: BenchmarkTable, format: TableFormat = 'markdown', o: FormatOptions = {}): string {
  const fn = 'formatTable';
  check(
    table !== null && typeof table === 'object' && Array.isArray(table.summary) && Array.isArray(table.columns),
    fn,
    'table',
    'a BenchmarkTable (from benchmark)',
    table,
  );
  check(format === 'markdown' || format === 'latex' || format === 'json', fn, 'format', '"markdown", "latex" or "json"', format);
  if (format === 'json') return JSON.stringify(table, (_k, v) => (typeof v === 'number' && !Number.isFinite(v) ? null : v), 2);
  const digits = o.digits ?? 3;
  check(Number.isInteger(digits) && digits >= 1 && digits <= 15, fn, 'digits', 'an integer in [1, 15]', digits);
  const cols = o.columns ?? table.columns;
  const idx = cols.map((c) => {
    const j = table.columns.indexOf(c);
    check(j >= 0, fn, 'columns entry', `one of ${table.columns.map((x) => JSON.stringify(x)).join(', ')}`, c);
    return j;
  });
  const latex = format === 'latex';
  const best = idx.map((j) => Math.min(...table.summary.map((s) => s[j]!.mean).filter(Number.isFinite)));
  const cell = (m: number, c: number): string => {
    const { mean, std } = table.summary[m]![idx[c]!]!;
    const withStd = table.trials > 1 && Number.isFinite(std);
    const text = latex
      ? `${num(mean, digits, true)}${withStd ? ` \\pm ${num(std, digits, true)}` : ''}`
      : `${num(mean, digits, false)}${withStd ? ` ± ${num(std, digits, false)}` : ''}`;
    const bold = Number.isFinite(mean) && mean === best[c];
    if (latex) return Number.isFinite(mean) ? (bold ? `$\\mathbf{${text}}$` : `$${text}$`) : '—';
    return bold ? `**${text}**` : text;
  };
  if (latex) {
    const lines = [
      `\\begin{tabular}{l${'c'.repeat(cols.length)}}`,
      '\\toprule',
      `model & ${cols.map(escLatex).join(' & ')} \\\\`,
      '\\midrule',
      ...table.models.map((name, m) => `${escLatex(name)} & ${cols.map((_, c) => cell(m, c)).join(' & ')} \\\\`),
      '\\bottomrule',
      '\\end{tabular}',
    ];
    return `${lines.join('\n')}\n`;
  }
  const header = `| model | ${cols.map(escMd).join(' | ')} |`;
  const rule = `|---|${cols.map(() => '---:').join('|')}|`;
  const rows = table.models.map((name, m) => `| ${escMd(name)} | ${cols.map((_, c) => cell(m, c)).join(' | ')} |`);
  return `${[header, rule, ...rows].join('\n')}\n`;
}
