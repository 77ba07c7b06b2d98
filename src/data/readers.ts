/**
 * Simulation files → time-series MultiImages, through ONE mapping engine (`readSimulation`) driven
 * by a small spec that says which datasets/variables make which field, with which signature key,
 * in which axis order; the layouts of ginjax's experiments ("pdebench-cfd", "shallow-water") and
 * geoconv's own simulator ("navier-stokes") are presets of that spec.
 *
 * Result layout (what `batchTimeSeries(dynamic, constant, …)` consumes): batch = trajectories,
 * spatial = the spec's x, y(, z) axes in that order (ginjax's convention: x first), and per key the
 * fields in spec order, each with T channels, channel-major: channel = field·T + t, component last.
 * Constant fields (no time axis) form a second MultiImage of batch 1 (or B when they vary per
 * trajectory).
 *
 * Only the requested trajectories (and time steps) are read: HDF5 hyperslabs read only the chunks
 * they touch, NetCDF-3 decodes only the rows of the leading axis.
 *
 * Normalisation (as ginjax's scripts do, to keep the emulator equivariant): a true scalar (0,0) may
 * be standardised, (x − mean)/std; anything else is only scaled, x/std — a mean shift would break
 * equivariance for pseudoscalars and vectors. "scale" uses the std of all components together
 * (jnp.std of the stacked components, cfd_2d.py); "scale-norm" the std of the pointwise norm
 * (shallow_water.py). Statistics are fitted in float64 on the trajectories read (or the first
 * `fitTrajectories` of them: train+val), returned, and can be passed back in to normalise test data
 * identically and to un-normalise predictions.
 */
import { check, show } from '../core/errors.js';
import { MultiImage } from '../geometric/multi-image.js';
import { compareKeys, type SignatureEntry } from '../geometric/signature.js';
import { tensor } from '../tensor.js';
import { SimulationFileError } from './errors.js';
import { writeHdf5, type AttrValue, type AxisRange } from './hdf5.js';
import { openSimulationFile, type SimulationFile } from './netcdf.js';
import type { FileSource } from './source.js';

/**
 * How a field is normalised on reading: per-field mean/std ('standardize'), by a scale, by the largest pixel norm, or not at all.
 */
export type NormalizeMode = 'standardize' | 'scale' | 'scale-norm' | 'none';

/**
 * One field of a simulation file: the variables that form it (components of a vector), its tensor type and normalisation.
 */
export interface FieldSpec {
  /** A name for messages and statistics ("density", "velocity"). */
  readonly name: string;
  readonly k: number;
  readonly parity: 0 | 1;
  /** D^k datasets, one per tensor component in row-major component order (k = 1: x then y). */
  readonly datasets: readonly string[];
  /** Axis letters of these datasets, overriding the spec's (see SimulationSpec.axes). */
  readonly axes?: string;
  /** Default: "standardize" for (0,0), "scale" otherwise. */
  readonly normalize?: NormalizeMode;
  /** Constant fields only: read from `options.sources[source]` instead of the main file. */
  readonly source?: string;
}

/**
 * How to read a simulation file into MultiImages: its fields, axes and time layout (see `validateSpec`).
 */
export interface SimulationSpec {
  /** Fields with a time axis. */
  readonly fields: readonly FieldSpec[];
  /**
   * Axis letters of the dynamic datasets, outermost first: b = trajectory (optional), t = time,
   * x, y (, z) = space, any other letter = an extra axis (e.g. a level) taken at `select[letter]`
   * (default 0). "btxy" is PDEBench's; "btlyx" is a (batch, time, lev, lat, lon) NetCDF variable,
   * mapped to x = lon, y = lat.
   */
  readonly axes: string;
  /** Fields without a time axis (orography, forcing): spatial letters, optional b and extra axes. */
  readonly constant?: readonly FieldSpec[];
  /** Default axes of constant fields (default: the spatial letters of `axes`, in that order). */
  readonly constantAxes?: string;
  /** Periodic axes, x first (default all true). */
  readonly isTorus?: boolean | readonly boolean[];
  /** Normalise by default (default false; presets: true). */
  readonly normalize?: boolean;
  /** Index taken along extra axes, e.g. { l: 0 }. */
  readonly select?: Readonly<Record<string, number>>;
  /** Coordinate datasets (returned as Float64Array), e.g. { t: "t-coordinate", x: "x-coordinate" }. */
  readonly coords?: Readonly<Partial<Record<'t' | 'x' | 'y' | 'z', string>>>;
}

/** The normalisation statistics of one field (to undo it with `unnormalize`). */
export interface FieldStats {
  readonly mode: Exclude<NormalizeMode, 'none'>;
  /** 0 for the scaling modes. */
  readonly mean: number;
  readonly std: number;
}
/** Per field name. */
export type NormStats = Readonly<Record<string, FieldStats>>;

/**
 * Options of the simulation readers: which trajectories and time steps, windows, normalisation (exported as SimulationReadOptions).
 */
export interface ReadOptions {
  /** n (the first n) or [start, end) of the trajectory axis; default all. */
  readonly trajectories?: number | readonly [number, number];
  /** [start, end) of the time axis; default all. */
  readonly time?: readonly [number, number];
  /** Normalise (default: the spec's / preset's choice). */
  readonly normalize?: boolean;
  /** Apply these statistics instead of fitting (e.g. train+val statistics on test data). */
  readonly stats?: NormStats;
  /** Fit the statistics on the first n trajectories read (default all read). */
  readonly fitTrajectories?: number;
  /** Extra files for constant fields with a `source`. */
  readonly sources?: Readonly<Record<string, FileSource>>;
  /** Labels a byte source in messages. */
  readonly name?: string;
}

/** Where a field sits in the MultiImage a reader returns: its key and channel range. */
export interface FieldPlacement {
  readonly name: string;
  readonly k: number;
  readonly parity: 0 | 1;
  /** Index of the field among the fields of its key (its channels are index·T … index·T + T − 1). */
  readonly index: number;
  readonly constant: boolean;
}

/**
 * What the simulation readers return: input/output MultiImages of time windows, the placement of each field and the statistics.
 */
export interface SimulationData {
  /** [B, ...spatial, Σ c·T·D^k], channel-major in time (c·T + t). */
  readonly dynamic: MultiImage;
  /** Constant fields (batch 1 or B), or null. */
  readonly constant: MultiImage | null;
  /** T: time steps per trajectory in `dynamic`. */
  readonly totalSteps: number;
  /** [start, end) of the trajectories read. */
  readonly trajectories: readonly [number, number];
  /** Total trajectories in the file. */
  readonly fileTrajectories: number;
  /** The statistics used (fitted or given), or null without normalisation. */
  readonly stats: NormStats | null;
  readonly coords: Readonly<Partial<Record<'t' | 'x' | 'y' | 'z', Float64Array>>>;
  readonly fields: readonly FieldPlacement[];
  /** Root/global attributes of the file. */
  readonly attrs: Readonly<Record<string, AttrValue>>;
  readonly file: string;
  readonly format: 'hdf5' | 'netcdf3';
  /** Frees both MultiImages. */
  dispose(): void;
}

// ---------------------------------------------------------------------------------------------
// Spec validation

const SPATIAL = ['x', 'y', 'z'] as const;
const MODES: readonly NormalizeMode[] = ['standardize', 'scale', 'scale-norm', 'none'];

function specError(fn: string, what: string, expected: string, got: unknown): never {
  throw new RangeError(`${fn}: spec ${what} must be ${expected} (got ${got === undefined ? 'undefined' : show(got)})`);
}

function checkAxes(fn: string, what: string, axes: unknown, needTime: boolean, spatial?: readonly string[]): string {
  if (typeof axes !== 'string' || !/^[a-z]+$/.test(axes) || new Set(axes).size !== axes.length) {
    specError(fn, what, 'a string of distinct lowercase axis letters such as "btxy"', axes);
  }
  if (needTime && !axes.includes('t')) specError(fn, what, 'axes with a time axis "t"', axes);
  if (!needTime && axes.includes('t')) specError(fn, what, 'axes without "t" (constant fields have no time axis)', axes);
  const sp = [...axes].filter((c) => (SPATIAL as readonly string[]).includes(c));
  if (spatial) {
    if ([...sp].sort().join('') !== [...spatial].sort().join('')) specError(fn, what, `axes with the spatial letters ${spatial.join(', ')}`, axes);
  } else if (!(sp.join('') === 'xy' || sp.join('') === 'yx' || (sp.length === 3 && sp.includes('z')))) {
    specError(fn, what, 'axes with spatial letters x, y (and z for 3-D)', axes);
  }
  return axes;
}

function checkField(fn: string, what: string, f: unknown, D: number, constant: boolean): FieldSpec {
  if (typeof f !== 'object' || f === null) specError(fn, what, 'an object { name, k, parity, datasets }', f);
  const o = f as Record<string, unknown>;
  for (const key of Object.keys(o)) {
    if (!['name', 'k', 'parity', 'datasets', 'axes', 'normalize', 'source'].includes(key))
      specError(fn, `${what}.${key}`, 'absent (unknown key; known: name, k, parity, datasets, axes, normalize, source)', o[key]);
  }
  if (typeof o.name !== 'string' || o.name.length === 0) specError(fn, `${what}.name`, 'a non-empty string', o.name);
  if (!(o.k === 0 || o.k === 1 || o.k === 2)) specError(fn, `${what}.k`, '0, 1 or 2', o.k);
  if (!(o.parity === 0 || o.parity === 1)) specError(fn, `${what}.parity`, '0 or 1', o.parity);
  const n = D ** o.k;
  if (!Array.isArray(o.datasets) || o.datasets.length !== n || !o.datasets.every((d) => typeof d === 'string' && d.length > 0)) {
    specError(fn, `${what}.datasets`, `${n} dataset name${n > 1 ? 's' : ''} (D^k components for k = ${o.k}, D = ${D})`, o.datasets);
  }
  if (o.normalize !== undefined && !MODES.includes(o.normalize as NormalizeMode)) specError(fn, `${what}.normalize`, `one of ${MODES.join(', ')}`, o.normalize);
  if (o.normalize === 'standardize' && !(o.k === 0 && o.parity === 0)) {
    specError(fn, `${what}.normalize`, '"scale", "scale-norm" or "none" for a field other than a scalar (0,0) (a mean shift breaks equivariance)', o.normalize);
  }
  if (o.source !== undefined && (!constant || typeof o.source !== 'string'))
    specError(fn, `${what}.source`, constant ? 'a string (a key of options.sources)' : 'absent for a dynamic field', o.source);
  return o as unknown as FieldSpec;
}

/**
 * Validates a spec (e.g. parsed from JSON), throwing a message that names the offending entry.
 * @example
 * const spec = validateSpec(JSON.parse(await readFile('spec.json', 'utf8'))); // throws naming the bad entry
 */
export function validateSpec(spec: unknown, fn = 'validateSpec'): SimulationSpec {
  if (typeof spec !== 'object' || spec === null || Array.isArray(spec)) specError(fn, '', 'an object { fields, axes, ... }', spec);
  const s = spec as Record<string, unknown>;
  for (const key of Object.keys(s)) {
    if (!['fields', 'axes', 'constant', 'constantAxes', 'isTorus', 'normalize', 'select', 'coords'].includes(key)) {
      specError(fn, key, 'absent (unknown key; known: fields, axes, constant, constantAxes, isTorus, normalize, select, coords)', s[key]);
    }
  }
  const axes = checkAxes(fn, 'axes', s.axes, true);
  const spatial = [...axes].filter((c) => (SPATIAL as readonly string[]).includes(c)).sort();
  const D = spatial.length;
  if (!Array.isArray(s.fields) || s.fields.length === 0) specError(fn, 'fields', 'a non-empty array of fields', s.fields);
  const fields = s.fields.map((f, i) => checkField(fn, `fields[${i}]`, f, D, false));
  const constant =
    s.constant === undefined
      ? []
      : Array.isArray(s.constant)
        ? s.constant.map((f, i) => checkField(fn, `constant[${i}]`, f, D, true))
        : specError(fn, 'constant', 'an array of fields', s.constant);
  const names = new Set<string>();
  for (const f of [...fields, ...constant]) {
    if (names.has(f.name)) specError(fn, 'field names', 'unique', f.name);
    names.add(f.name);
  }
  for (const [i, f] of fields.entries()) if (f.axes !== undefined) checkAxes(fn, `fields[${i}].axes`, f.axes, true, spatial);
  if (s.constantAxes !== undefined) checkAxes(fn, 'constantAxes', s.constantAxes, false, spatial);
  for (const [i, f] of constant.entries()) if (f.axes !== undefined) checkAxes(fn, `constant[${i}].axes`, f.axes, false, spatial);
  if (
    s.isTorus !== undefined &&
    typeof s.isTorus !== 'boolean' &&
    !(Array.isArray(s.isTorus) && s.isTorus.length === D && s.isTorus.every((b) => typeof b === 'boolean'))
  ) {
    specError(fn, 'isTorus', `a boolean or ${D} booleans (x first)`, s.isTorus);
  }
  if (s.normalize !== undefined && typeof s.normalize !== 'boolean') specError(fn, 'normalize', 'a boolean', s.normalize);
  if (s.select !== undefined) {
    if (typeof s.select !== 'object' || s.select === null) specError(fn, 'select', 'an object { letter: index }', s.select);
    for (const [l, v] of Object.entries(s.select)) {
      if (!/^[a-z]$/.test(l) || 'btxyz'.includes(l)) specError(fn, `select.${l}`, 'keyed by an extra axis letter (not b, t, x, y, z)', l);
      if (!Number.isInteger(v) || (v as number) < 0) specError(fn, `select.${l}`, 'an integer >= 0', v);
    }
  }
  if (s.coords !== undefined) {
    if (typeof s.coords !== 'object' || s.coords === null) specError(fn, 'coords', 'an object { t?, x?, y?, z? } of dataset names', s.coords);
    for (const [l, v] of Object.entries(s.coords)) {
      if (!['t', 'x', 'y', 'z'].includes(l)) specError(fn, `coords.${l}`, 'one of t, x, y, z', l);
      if (typeof v !== 'string' || v.length === 0) specError(fn, `coords.${l}`, 'a dataset name', v);
    }
  }
  return { ...(s as unknown as SimulationSpec), fields, constant };
}

// ---------------------------------------------------------------------------------------------
// The engine

interface Canonical {
  readonly f: FieldSpec;
  /** One array per component, [b][t][spatial] (dynamic) or [b][spatial] (constant), row-major. */
  readonly comps: Float32Array[];
  readonly B: number;
  readonly T: number;
  readonly constant: boolean;
}

interface Geometry {
  spatial: number[]; // sizes along x, y(, z)
  B: number; // trajectories in the file (dynamic)
  T: number; // time steps in the file
  ref: string; // the dataset that fixed them, for messages
}

/** Reads one dataset's box and reorders it to [b][t][x][y](z) (letters absent → size 1). */
function readCanonical(
  fn: string,
  file: SimulationFile,
  name: string,
  axes: string,
  spatialLetters: readonly string[],
  geo: Geometry,
  constant: boolean,
  bRange: readonly [number, number] | null,
  tRange: readonly [number, number],
  select: Readonly<Record<string, number>>,
): { data: Float32Array; B: number } {
  if (!file.has(name)) {
    file.info(name); // throws the "not found (the file has …)" message
  }
  const info = file.info(name);
  if (info.shape.length !== axes.length) {
    throw new SimulationFileError(
      fn,
      file.file,
      name,
      `has shape ${show(info.shape)} (rank ${info.shape.length}) but its axes "${axes}" need rank ${axes.length}`,
    );
  }
  if (info.dtype !== 'float32' && info.dtype !== 'float64') {
    throw new SimulationFileError(fn, file.file, name, `has dtype ${info.dtype}; simulation fields must be float32 or float64`);
  }
  const size = (l: string) => info.shape[axes.indexOf(l)]!;
  // Shapes must agree with the first dataset read.
  const sp = spatialLetters.map(size);
  if (geo.ref === '') {
    geo.spatial = sp;
    geo.ref = name;
  } else if (sp.some((n, i) => n !== geo.spatial[i])) {
    throw new SimulationFileError(
      fn,
      file.file,
      name,
      `inconsistent shapes: its spatial size (${spatialLetters.join(', ')}) is ${show(sp)} but dataset ${JSON.stringify(geo.ref)} has ${show(geo.spatial)}`,
    );
  }
  if (!constant) {
    const B = axes.includes('b') ? size('b') : 1;
    const T = size('t');
    if (geo.B < 0) {
      geo.B = B;
      geo.T = T;
    } else if (B !== geo.B || T !== geo.T) {
      throw new SimulationFileError(fn, file.file, name, `inconsistent shapes: ${B} trajectories × ${T} steps, but the other fields have ${geo.B} × ${geo.T}`);
    }
  }
  const ranges: AxisRange[] = [...axes].map((l, i) => {
    if (l === 'b') return bRange ?? null;
    if (l === 't') return tRange;
    if ((SPATIAL as readonly string[]).includes(l)) return null;
    const at = select[l] ?? 0;
    if (at >= info.shape[i]!) throw new SimulationFileError(fn, file.file, name, `extra axis "${l}" has size ${info.shape[i]}; cannot take index ${at}`);
    return [at, at + 1] as const;
  });
  const raw = file.read(name, ranges) as Float32Array;
  // Strides of the box just read, per letter.
  const boxShape = ranges.map((r, i) => (r ? r[1] - r[0] : info.shape[i]!));
  const stride: Record<string, number> = {};
  let acc = 1;
  for (let i = axes.length - 1; i >= 0; i--) {
    stride[axes[i]!] = acc;
    acc *= boxShape[i]!;
  }
  const nb = axes.includes('b') ? boxShape[axes.indexOf('b')]! : 1;
  const nt = constant ? 1 : boxShape[axes.indexOf('t')]!;
  const P = sp.reduce((a, b) => a * b, 1);
  // Source offset of each output spatial position (x outermost).
  const src = new Float64Array(P);
  const idx = new Array<number>(sp.length).fill(0);
  for (let p = 0; p < P; p++) {
    let o = 0;
    for (let d = 0; d < sp.length; d++) o += idx[d]! * stride[spatialLetters[d]!]!;
    src[p] = o;
    for (let d = sp.length - 1; d >= 0; d--) {
      if (++idx[d]! < sp[d]!) break;
      idx[d] = 0;
    }
  }
  const sb = stride.b ?? 0;
  const st = constant ? 0 : stride.t!;
  // Already in canonical order (b, t, x, y with no extra axes, as PDEBench stores it): no copy.
  const letters = [...axes].filter((l) => l === 'b' || l === 't' || (SPATIAL as readonly string[]).includes(l)).join('');
  if (letters === axes && axes === `${axes.includes('b') ? 'b' : ''}${constant ? '' : 't'}${spatialLetters.join('')}` && raw instanceof Float32Array) {
    return { data: raw, B: nb };
  }
  const out = new Float32Array(nb * nt * P);
  let o = 0;
  for (let b = 0; b < nb; b++) {
    for (let t = 0; t < nt; t++) {
      const base = b * sb + t * st;
      for (let p = 0; p < P; p++) out[o++] = raw[base + src[p]!]!;
    }
  }
  return { data: out, B: nb };
}

/** Statistics of a field over the first `count` values of each component (float64). */
function fitStats(c: Canonical, mode: Exclude<NormalizeMode, 'none'>, count: number): FieldStats {
  let n = 0;
  let sum = 0;
  if (mode === 'scale-norm') {
    const norms = new Float64Array(count);
    for (let i = 0; i < count; i++) {
      let s = 0;
      for (const a of c.comps) s += a[i]! * a[i]!;
      norms[i] = Math.sqrt(s);
      sum += norms[i]!;
    }
    const mean = sum / count;
    let v = 0;
    for (let i = 0; i < count; i++) v += (norms[i]! - mean) ** 2;
    return { mode, mean: 0, std: Math.sqrt(v / count) };
  }
  for (const a of c.comps) for (let i = 0; i < count; i++) sum += a[i]!;
  n = count * c.comps.length;
  const mean = sum / n;
  let v = 0;
  for (const a of c.comps) for (let i = 0; i < count; i++) v += (a[i]! - mean) ** 2;
  const std = Math.sqrt(v / n);
  return { mode, mean: mode === 'standardize' ? mean : 0, std };
}

function modeOf(f: FieldSpec): NormalizeMode {
  return f.normalize ?? (f.k === 0 && f.parity === 0 ? 'standardize' : 'scale');
}

/** Packs canonical fields into one MultiImage: keys canonical, fields of a key in order, channel = field·T + t. */
function pack(
  list: readonly Canonical[],
  B: number,
  T: number,
  spatial: readonly number[],
  D: number,
  isTorus: readonly boolean[],
  stats: NormStats | null,
): { image: MultiImage; placements: FieldPlacement[] } {
  const keys = [...new Map(list.map((c) => [`${c.f.k},${c.f.parity}`, { k: c.f.k, parity: c.f.parity }])).values()].sort(compareKeys);
  const sig: SignatureEntry[] = [];
  const placements: FieldPlacement[] = [];
  const P = spatial.reduce((a, b) => a * b, 1);
  let W = 0;
  const colOf = new Map<Canonical, number>();
  for (const key of keys) {
    const members = list.filter((c) => c.f.k === key.k && c.f.parity === key.parity);
    const Dk = D ** key.k;
    members.forEach((c, i) => {
      colOf.set(c, W + i * T * Dk);
      placements.push({ name: c.f.name, k: key.k, parity: key.parity, index: i, constant: c.constant });
    });
    sig.push({ k: key.k, parity: key.parity, channels: members.length * T });
    W += members.length * T * Dk;
  }
  const packed = new Float32Array(B * P * W);
  for (const c of list) {
    const Dk = D ** c.f.k;
    const s = stats?.[c.f.name];
    const shift = s ? s.mean : 0;
    const inv = s ? 1 / s.std : 1;
    const col0 = colOf.get(c)!;
    for (let j = 0; j < Dk; j++) {
      const a = c.comps[j]!;
      for (let b = 0; b < B; b++) {
        const bb = c.B === 1 ? 0 : b; // a batch-1 constant field is broadcast to B
        for (let t = 0; t < T; t++) {
          const from = (bb * T + t) * P;
          let to = b * P * W + col0 + t * Dk + j;
          for (let p = 0; p < P; p++, to += W) packed[to] = (a[from + p]! - shift) * inv;
        }
      }
    }
  }
  return { image: new MultiImage(tensor(packed, [B, ...spatial, W]), sig, D, isTorus), placements };
}

function rangeOption(fn: string, what: string, v: number | readonly [number, number] | undefined, total: number): [number, number] {
  if (v === undefined) return [0, total];
  if (typeof v === 'number') {
    check(Number.isInteger(v) && v >= 1 && v <= total, fn, `options.${what}`, `an integer in [1, ${total}] (the file has ${total})`, v);
    return [0, v];
  }
  check(
    Array.isArray(v) && v.length === 2 && Number.isInteger(v[0]) && Number.isInteger(v[1]) && v[0] >= 0 && v[0] < v[1] && v[1] <= total,
    fn,
    `options.${what}`,
    `[start, end) with 0 <= start < end <= ${total}`,
    v,
  );
  return [v[0], v[1]];
}

/**
 * Reads a simulation file through a spec: the generic path that the presets use. See the module
 * comment for the layout and the normalisation.
 * @example
 * const data = await readSimulation('run.h5', {
 *   axes: 'btxy',
 *   fields: [
 *     { name: 'pressure', k: 0, parity: 0, datasets: ['p'] },
 *     { name: 'velocity', k: 1, parity: 0, datasets: ['u', 'v'] },
 *   ],
 *   normalize: true,
 * }, { trajectories: 8 });
 * const { x, y } = batchTimeSeries(data.dynamic, data.constant, { totalSteps: data.totalSteps, pastSteps: 4, futureSteps: 1 });
 * data.dispose();
 */
export function readSimulation(source: FileSource, spec: SimulationSpec, options: ReadOptions = {}): Promise<SimulationData> {
  return readWith('readSimulation', source, spec, options);
}

/** Computed constant fields (e.g. from coordinates), added before normalisation and packing. */
type ExtraConstants = (coords: Readonly<Partial<Record<'t' | 'x' | 'y' | 'z', Float64Array>>>, spatial: readonly number[], file: string) => Canonical[];

async function readWith(fn: string, source: FileSource, spec: SimulationSpec, options: ReadOptions, extras?: ExtraConstants): Promise<SimulationData> {
  const s = validateSpec(spec, fn);
  const spatialLetters = [...s.axes].filter((c) => (SPATIAL as readonly string[]).includes(c));
  // x, y, z order, whatever order the file stores them in
  spatialLetters.sort();
  const D = spatialLetters.length;
  const isTorus = typeof s.isTorus === 'boolean' || s.isTorus === undefined ? new Array<boolean>(D).fill(s.isTorus ?? true) : [...s.isTorus];
  const normalize = options.stats !== undefined ? true : (options.normalize ?? s.normalize ?? false);
  const select = s.select ?? {};
  check(
    options.fitTrajectories === undefined || (Number.isInteger(options.fitTrajectories) && options.fitTrajectories >= 1),
    fn,
    'options.fitTrajectories',
    'an integer >= 1',
    options.fitTrajectories,
  );
  check(
    !(options.fitTrajectories !== undefined && options.stats !== undefined),
    fn,
    'options.fitTrajectories',
    'absent when options.stats is given (statistics are applied, not fitted)',
    options.fitTrajectories,
  );

  const files: SimulationFile[] = [];
  const list: Canonical[] = [];
  try {
    const main = await openSimulationFile(source, { name: options.name });
    files.push(main);
    const geo: Geometry = { spatial: [], B: -1, T: -1, ref: '' };
    // Shapes first (so trajectory/time ranges can be checked before any data is read).
    const first = s.fields[0]!;
    const firstAxes = first.axes ?? s.axes;
    {
      const name = first.datasets[0]!;
      const info = main.info(name);
      if (info.shape.length !== firstAxes.length) {
        throw new SimulationFileError(
          fn,
          main.file,
          name,
          `has shape ${show(info.shape)} (rank ${info.shape.length}) but its axes "${firstAxes}" need rank ${firstAxes.length}`,
        );
      }
    }
    const firstInfo = main.info(first.datasets[0]!);
    const fileB = firstAxes.includes('b') ? firstInfo.shape[firstAxes.indexOf('b')]! : 1;
    const fileT = firstInfo.shape[firstAxes.indexOf('t')]!;
    const bRange = rangeOption(fn, 'trajectories', options.trajectories, fileB);
    const tRange = rangeOption(fn, 'time', options.time, fileT);
    if (!firstAxes.includes('b'))
      check(bRange[0] === 0 && bRange[1] === 1, fn, 'options.trajectories', 'absent or 1 (the datasets have no trajectory axis "b")', options.trajectories);

    for (const f of s.fields) {
      const comps: Float32Array[] = [];
      let B = 0;
      for (const name of f.datasets) {
        const r = readCanonical(fn, main, name, f.axes ?? s.axes, spatialLetters, geo, false, bRange, tRange, select);
        comps.push(r.data);
        B = r.B;
      }
      list.push({ f, comps, B, T: tRange[1] - tRange[0], constant: false });
    }
    const cList: Canonical[] = [];
    for (const f of s.constant ?? []) {
      let file = main;
      if (f.source !== undefined) {
        const src = options.sources?.[f.source];
        if (src === undefined) {
          throw new RangeError(
            `${fn}: constant field ${JSON.stringify(f.name)} reads from source ${JSON.stringify(f.source)}, which options.sources does not give (got ${show(Object.keys(options.sources ?? {}))})`,
          );
        }
        file = await openSimulationFile(src, { name: typeof src === 'string' ? src : f.source });
        files.push(file);
      }
      const axes = f.axes ?? s.constantAxes ?? spatialLetters.join('');
      const comps: Float32Array[] = [];
      let B = 1;
      for (const name of f.datasets) {
        const info = file.info(name);
        if (axes.includes('b') && info.shape.length === axes.length && info.shape[axes.indexOf('b')] !== fileB) {
          throw new SimulationFileError(
            fn,
            file.file,
            name,
            `inconsistent shapes: ${info.shape[axes.indexOf('b')]} trajectories, but the dynamic fields have ${fileB}`,
          );
        }
        const r = readCanonical(fn, file, name, axes, spatialLetters, geo, true, axes.includes('b') ? bRange : null, [0, 1], select);
        comps.push(r.data);
        B = r.B;
      }
      cList.push({ f, comps, B, T: 1, constant: true });
    }
    for (const file of files.splice(1)) await file.close();

    // Coordinates (any numeric dtype).
    const coords: Partial<Record<'t' | 'x' | 'y' | 'z', Float64Array>> = {};
    for (const [l, name] of Object.entries(s.coords ?? {}) as ['t' | 'x' | 'y' | 'z', string][]) {
      coords[l] = main.read(name, [], { float64: true, floatOnly: false }) as Float64Array;
    }
    const attrs = main.attrs();
    if (extras) cList.push(...extras(coords, geo.spatial, main.file));

    // Normalisation statistics.
    const B = bRange[1] - bRange[0];
    const T = tRange[1] - tRange[0];
    const P = geo.spatial.reduce((a, b) => a * b, 1);
    let stats: Record<string, FieldStats> | null = null;
    if (normalize) {
      stats = {};
      const fitB = options.fitTrajectories ?? B;
      check(fitB <= B, fn, 'options.fitTrajectories', `at most the ${B} trajectories read`, fitB);
      for (const c of [...list, ...cList]) {
        const mode = modeOf(c.f);
        if (mode === 'none') continue;
        if (options.stats) {
          const given = options.stats[c.f.name];
          if (!given || !(given.std > 0) || !Number.isFinite(given.mean) || given.mode !== mode) {
            throw new RangeError(
              `${fn}: options.stats.${c.f.name} must be { mode: "${mode}", mean, std > 0 } (got ${given === undefined ? 'undefined' : JSON.stringify(given)})`,
            );
          }
          stats[c.f.name] = given;
          continue;
        }
        const count = c.constant ? c.B * P : Math.min(fitB, c.B) * T * P;
        const st = fitStats(c, mode, count);
        if (!(st.std > 0) || !Number.isFinite(st.std)) {
          throw new SimulationFileError(
            fn,
            main.file,
            c.f.datasets.join(', '),
            `field ${JSON.stringify(c.f.name)} has std ${st.std}; it cannot be normalised (set its normalize to "none" or pass normalize: false)`,
          );
        }
        stats[c.f.name] = st;
      }
    }
    const spatial = geo.spatial;
    const dyn = pack(list, B, T, spatial, D, isTorus, stats);
    let constant: MultiImage | null = null;
    let cPlacements: FieldPlacement[] = [];
    if (cList.length) {
      const cb = cList.some((c) => c.B > 1) ? B : 1;
      try {
        const packed = pack(cList, cb, 1, spatial, D, isTorus, stats);
        constant = packed.image;
        cPlacements = packed.placements;
      } catch (e) {
        dyn.image.dispose();
        throw e;
      }
    }
    const dynamic = dyn.image;
    const result: SimulationData = {
      dynamic,
      constant,
      totalSteps: T,
      trajectories: [bRange[0], bRange[1]],
      fileTrajectories: fileB,
      stats,
      coords,
      fields: [...dyn.placements, ...cPlacements],
      attrs,
      file: main.file,
      format: main.format,
      dispose() {
        dynamic.dispose();
        constant?.dispose();
      },
    };
    return result;
  } finally {
    for (const f of files) await f.close();
  }
}

/**
 * Undoes a field's normalisation on values read back from a prediction (x·std + mean).
 * @example
 * const pressure = unnormalize(await prediction.values('0,0'), data.stats!.pressure!); // physical units
 */
export function unnormalize(values: ArrayLike<number>, stats: FieldStats): Float32Array {
  const out = new Float32Array(values.length);
  for (let i = 0; i < values.length; i++) out[i] = values[i]! * stats.std + stats.mean;
  return out;
}

// ---------------------------------------------------------------------------------------------
// Presets

/** PDEBench 2-D CFD: density, pressure (standardised), velocity (Vx, Vy; scaled), periodic. */
const PDEBENCH_CFD: SimulationSpec = {
  axes: 'btxy',
  fields: [
    { name: 'density', k: 0, parity: 0, datasets: ['density'], normalize: 'standardize' },
    { name: 'pressure', k: 0, parity: 0, datasets: ['pressure'], normalize: 'standardize' },
    { name: 'velocity', k: 1, parity: 0, datasets: ['Vx', 'Vy'], normalize: 'scale' },
  ],
  isTorus: [true, true],
  normalize: true,
  coords: { t: 't-coordinate', x: 'x-coordinate', y: 'y-coordinate' },
};
/**
 * The SimulationSpec of PDEBench compressible-Navier–Stokes (CFD) HDF5 files: density, pressure (scalars) and velocity (a vector).
 * @example
 * const trainSet = await readSimulation('cfd.hdf5', PDEBENCH_CFD_SPEC, { trajectories: 90 }); // = readPdebenchCfd
 * const testSet = await readSimulation('cfd.hdf5', PDEBENCH_CFD_SPEC, { trajectories: [90, 100], stats: trainSet.stats! });
 */
export const PDEBENCH_CFD_SPEC: SimulationSpec = Object.freeze(PDEBENCH_CFD);

/**
 * geoconv's simulator output: vorticity (pseudoscalar), velocity, optional forcing (pseudoscalar;
 * one field (x, y) or one per trajectory (b, x, y)), periodic.
 * @example
 * const data = await readSimulation('ns.h5', navierStokesSpec('xy')); // one forcing field shared by all trajectories
 */
export function navierStokesSpec(forcing: false | 'xy' | 'bxy'): SimulationSpec {
  return {
    axes: 'btxy',
    fields: [
      { name: 'vorticity', k: 0, parity: 1, datasets: ['vorticity'], normalize: 'scale' },
      { name: 'velocity', k: 1, parity: 0, datasets: ['Vx', 'Vy'], normalize: 'scale' },
    ],
    constant: forcing ? [{ name: 'forcing', k: 0, parity: 1, datasets: ['forcing'], axes: forcing, normalize: 'scale' }] : [],
    isTorus: [true, true],
    normalize: true,
    coords: { t: 't-coordinate', x: 'x-coordinate', y: 'y-coordinate' },
  };
}

/**
 * Reads a PDEBench CFD file (readSimulation with PDEBENCH_CFD_SPEC).
 * @example
 * const data = await readPdebenchCfd('2D_CFD_Rand_M0.1_Eta0.01_Zeta0.01_periodic_128_Train.hdf5', { trajectories: 4 }); // the first 4 trajectories
 */
export function readPdebenchCfd(source: FileSource, options: ReadOptions = {}): Promise<SimulationData> {
  return readSimulation(source, PDEBENCH_CFD_SPEC, options);
}

/**
 * Reads a Navier–Stokes file written by `writeNavierStokesHdf5` (or ginjax's layout).
 * @example
 * const data = await readNavierStokes('ns.h5');
 */
export async function readNavierStokes(source: FileSource, options: ReadOptions = {}): Promise<SimulationData> {
  const f = await openSimulationFile(source, { name: options.name });
  let forcing: false | 'xy' | 'bxy';
  try {
    forcing = f.has('forcing') && (f.info('forcing').shape.length === 3 ? 'bxy' : 'xy');
  } finally {
    await f.close();
  }
  return readSimulation(source, navierStokesSpec(forcing), options);
}

/** Options of `readShallowWater` (the ginjax shallow-water layout: longitude × latitude). */
export interface ShallowWaterOptions extends ReadOptions {
  /** The orography file (variable `orog`, (lat, lon)): a constant scalar field, standardised. */
  readonly orography?: FileSource;
  /** Pressure/vorticity form: also read `vor` as a pseudoscalar (0,1) field (scaled). */
  readonly vorticity?: boolean;
  /** Also read `div` as a scalar field (standardised). */
  readonly divergence?: boolean;
  /** Add the Coriolis parameter 2Ω sin(lat) as a constant pseudoscalar (scaled), from `lat` (degrees). */
  readonly coriolis?: boolean;
  /** Add the latitude (radians) as a constant scalar (standardised). */
  readonly latitude?: boolean;
  /** Index of the `lev` axis to take (default 0). */
  readonly level?: number;
}

/**
 * ginjax's shallow-water layout (its shallow_water.py script): `u`, `v` (b, time, lev, lat, lon) →
 * velocity (1,0), scaled by the std of its norm; `pres` (b, time, lat, lon) → pressure (0,0),
 * standardised; optionally `vor` → vorticity (0,1) and `div` → divergence (0,0). As in ginjax, the
 * file's (lat, lon) grid becomes (x, y) = (lon, lat), so spatial = [nlon, nlat]; isTorus =
 * [true, false] (periodic in longitude only). Constant fields: orography from its own file,
 * optionally the Coriolis parameter and the latitude.
 * @example
 * const data = await readShallowWater('shallow_water.nc', { orography: 'orography.nc', vorticity: true, trajectories: 4 });
 * // data.dynamic: velocity (1,0), pressure (0,0), vorticity (0,1); spatial [nlon, nlat]
 */
export async function readShallowWater(source: FileSource, options: ShallowWaterOptions = {}): Promise<SimulationData> {
  const fn = 'readShallowWater';
  const { orography, vorticity = false, divergence = false, coriolis = false, latitude = false, level = 0, ...rest } = options;
  check(Number.isInteger(level) && level >= 0, fn, 'options.level', 'an integer >= 0', level);
  const f = await openSimulationFile(source, { name: options.name });
  let presAxes: string;
  let uAxes: string;
  let hasTime: boolean;
  try {
    const rank = (n: string) => f.info(n).shape.length;
    presAxes = rank('pres') === 5 ? 'btlyx' : 'btyx';
    uAxes = rank('u') === 4 ? 'btyx' : 'btlyx';
    hasTime = f.has('time'); // NetCDF-3 files may have the dimension without a coordinate variable
  } finally {
    await f.close();
  }
  const fields: FieldSpec[] = [
    { name: 'pressure', k: 0, parity: 0, datasets: ['pres'], axes: presAxes, normalize: 'standardize' },
    ...(divergence ? [{ name: 'divergence', k: 0, parity: 0 as const, datasets: ['div'], axes: uAxes, normalize: 'standardize' as const }] : []),
    ...(vorticity ? [{ name: 'vorticity', k: 0, parity: 1 as const, datasets: ['vor'], axes: uAxes, normalize: 'scale' as const }] : []),
    { name: 'velocity', k: 1, parity: 0, datasets: ['u', 'v'], axes: uAxes, normalize: 'scale-norm' },
  ];
  const spec: SimulationSpec = {
    axes: uAxes,
    fields,
    constant:
      orography !== undefined ? [{ name: 'orography', k: 0, parity: 0, datasets: ['orog'], axes: 'yx', normalize: 'standardize', source: 'orography' }] : [],
    isTorus: [true, false],
    normalize: true,
    select: { l: level },
    coords: hasTime ? { t: 'time', x: 'lon', y: 'lat' } : { x: 'lon', y: 'lat' },
  };
  const extras: ExtraConstants | undefined =
    coriolis || latitude ? (coords, spatial, file) => latitudeFields(fn, file, coords.y, spatial, coriolis, latitude) : undefined;
  return readWith(fn, source, spec, { ...rest, sources: { ...rest.sources, ...(orography !== undefined ? { orography } : {}) } }, extras);
}

/** Coriolis parameter 2Ω sin(lat) (pseudoscalar) and latitude in radians (scalar), from `lat` in degrees, constant along x. */
function latitudeFields(
  fn: string,
  file: string,
  lat: Float64Array | undefined,
  spatial: readonly number[],
  coriolis: boolean,
  latitude: boolean,
): Canonical[] {
  const [X, Y] = spatial as [number, number];
  if (!lat) throw new SimulationFileError(fn, file, 'lat', 'not found (needed for the Coriolis / latitude fields)');
  if (lat.length !== Y) throw new SimulationFileError(fn, file, 'lat', `has ${lat.length} values but the grid has ${Y} latitudes`);
  const OMEGA = 7.29e-5; // Earth's rotation rate (rad/s); scaled away when normalised
  const make = (name: string, parity: 0 | 1, mode: 'standardize' | 'scale', g: (rad: number) => number): Canonical => {
    const a = new Float32Array(X * Y);
    for (let x = 0; x < X; x++) for (let y = 0; y < Y; y++) a[x * Y + y] = g((lat[y]! * Math.PI) / 180);
    return { f: { name, k: 0, parity, datasets: [], normalize: mode }, comps: [a], B: 1, T: 1, constant: true };
  };
  const out: Canonical[] = [];
  if (coriolis) out.push(make('coriolis', 1, 'scale', (r) => 2 * OMEGA * Math.sin(r)));
  if (latitude) out.push(make('latitude', 0, 'standardize', (r) => r));
  return out;
}

/** The dataset layouts `detectFormat` recognises and `readDataset` reads. */
export type DatasetFormat = 'pdebench-cfd' | 'shallow-water' | 'navier-stokes';

/**
 * The CLI's entry point: a preset name or a spec object.
 * @example
 * const data = await readDataset('ns.h5', 'navier-stokes', { trajectories: 16 });
 */
export function readDataset(source: FileSource, format: DatasetFormat | SimulationSpec, options: ShallowWaterOptions = {}): Promise<SimulationData> {
  if (format === 'pdebench-cfd') return readPdebenchCfd(source, options);
  if (format === 'shallow-water') return readShallowWater(source, options);
  if (format === 'navier-stokes') return readNavierStokes(source, options);
  if (typeof format === 'string') {
    return Promise.reject(
      new RangeError(`readDataset: format must be "pdebench-cfd", "shallow-water", "navier-stokes" or a spec object (got ${JSON.stringify(format)})`),
    );
  }
  return readSimulation(source, format, options);
}

// ---------------------------------------------------------------------------------------------
// Writer for the simulator's layout

/** A Navier–Stokes trajectory set as `writeNavierStokesHdf5` writes it. */
export interface NavierStokesSim {
  /** [traj, time, N, N] each, x then y. */
  readonly vorticity: Float32Array;
  readonly vx: Float32Array;
  readonly vy: Float32Array;
  readonly shape: readonly [number, number, number, number];
  /** Times of the saved steps (length time). */
  readonly t: Float64Array | Float32Array;
  /** Grid coordinates (default i·L/N with L = attrs.L when numeric, else 1). */
  readonly x?: Float64Array | Float32Array;
  readonly y?: Float64Array | Float32Array;
  /** [N, N] or [traj, N, N]: the curl of the forcing (a pseudoscalar); null or absent for none. */
  readonly forcing?: Float32Array | null;
  readonly attrs?: Readonly<Record<string, number | string | readonly number[]>>;
  /** gzip level for the fields (chunked one trajectory per chunk either way). */
  readonly gzip?: number;
}

/**
 * Writes the simulator's output in the PDEBench-like layout `readNavierStokes` reads: `vorticity`,
 * `Vx`, `Vy` (traj, time, x, y) chunked one trajectory per chunk, `t-coordinate`, `x-coordinate`,
 * `y-coordinate`, optional `forcing` (x, y), root attributes. Atomic when given a path; returns
 * the bytes without one.
 * @example
 * const sim = simulateNavierStokes({ N: 64, trajectories: 2, steps: 20 });
 * await writeNavierStokesHdf5('ns.h5', sim);
 * const data = await readNavierStokes('ns.h5');
 */
export async function writeNavierStokesHdf5(path: string | undefined, sim: NavierStokesSim): Promise<Uint8Array | undefined> {
  const fn = 'writeNavierStokesHdf5';
  check(typeof sim === 'object' && sim !== null, fn, 'sim', 'an object', sim);
  const { shape } = sim;
  check(
    Array.isArray(shape) && shape.length === 4 && shape.every((n) => Number.isInteger(n) && n >= 1),
    fn,
    'sim.shape',
    '[traj, time, N, N] positive integers',
    shape,
  );
  const [nb, nt, nx, ny] = shape;
  const size = nb * nt * nx * ny;
  for (const k of ['vorticity', 'vx', 'vy'] as const) {
    check(
      sim[k] instanceof Float32Array && sim[k].length === size,
      fn,
      `sim.${k}`,
      `a Float32Array of ${size} values (shape ${show(shape)})`,
      sim[k] instanceof Float32Array ? sim[k].length : sim[k],
    );
  }
  check((sim.t instanceof Float64Array || sim.t instanceof Float32Array) && sim.t.length === nt, fn, 'sim.t', `${nt} times`, sim.t?.length);
  const L = typeof sim.attrs?.L === 'number' ? sim.attrs.L : 1;
  const grid = (n: number, given: Float64Array | Float32Array | undefined, what: string) => {
    if (given !== undefined) {
      check((given instanceof Float64Array || given instanceof Float32Array) && given.length === n, fn, `sim.${what}`, `${n} coordinates`, given?.length);
      return Float64Array.from(given);
    }
    return Float64Array.from({ length: n }, (_, i) => (i * L) / n);
  };
  if (sim.forcing !== undefined && sim.forcing !== null) {
    check(
      sim.forcing instanceof Float32Array && (sim.forcing.length === nx * ny || sim.forcing.length === nb * nx * ny),
      fn,
      'sim.forcing',
      `a Float32Array of ${nx * ny} ([N, N]) or ${nb * nx * ny} values ([traj, N, N])`,
      sim.forcing?.length,
    );
  }
  const chunks = [1, nt, nx, ny];
  const gz = sim.gzip !== undefined ? { gzip: sim.gzip } : {};
  return writeHdf5(
    path,
    [
      { name: 'vorticity', data: sim.vorticity, shape, chunks, ...gz },
      { name: 'Vx', data: sim.vx, shape, chunks, ...gz },
      { name: 'Vy', data: sim.vy, shape, chunks, ...gz },
      { name: 't-coordinate', data: Float64Array.from(sim.t), shape: [nt] },
      { name: 'x-coordinate', data: grid(nx, sim.x, 'x'), shape: [nx] },
      { name: 'y-coordinate', data: grid(ny, sim.y, 'y'), shape: [ny] },
      ...(sim.forcing ? [{ name: 'forcing', data: sim.forcing, shape: sim.forcing.length === nx * ny ? [nx, ny] : [nb, nx, ny] }] : []),
    ],
    { format: 'geoconv navier-stokes', ...(sim.attrs ?? {}) },
  );
}
