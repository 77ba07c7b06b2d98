/**
 * Checkpoint files for Node (and Deno): `save` writes safetensors atomically, `load` reads one back,
 * rebuilds the model from its config and validates the saved parameters against it. Node-only:
 * import it lazily (`await import('geoconv/io/checkpoint-node')`, or through `saveCheckpoint` /
 * `loadCheckpoint` of io/index.ts, which import it on first use) so that browsers never load it.
 */
import { readFile } from 'node:fs/promises';
import type { Tree } from '../autodiff.js';
import type { Backend } from '../backends/backend.js';
import { key as makeKey, type Key } from '../core/random.js';
import { State } from '../nn/layers/common.js';
import { buildModule, type Module, type ModuleConfig, type Params } from '../nn/module.js';
import { show } from '../core/errors.js';
import type { Tensor } from '../tensor.js';
import { disposeTree, leavesWithPaths, zipMap } from '../train/tree.js';
import { writeFileAtomic } from './atomic-write-node.js';
import { deserialize, SafetensorsError, serialize, type SerializeExtra } from './safetensors.js';

/**
 * Saves `model`'s config and `params` (default model.params), plus optionally the optimizer state
 * and step and the module state (batch-norm statistics), to `path` atomically (temp file in the same directory, fsync, rename).
 */
export async function save(path: string, model: Module, params?: Params, extra: SerializeExtra = {}): Promise<void> {
  const bytes = await serialize(model, params ?? model.params, extra);
  await writeFileAtomic(path, bytes, 'save');
}

export interface LoadOptions {
  /** Key for buildModule (its random initial parameters are replaced by the saved ones). */
  readonly key?: Key;
  readonly backend?: Backend;
}

export interface Loaded {
  /** The rebuilt model; its `params` are the loaded ones (model.dispose() frees them). */
  readonly model: Module;
  /** The loaded parameters (the same tensors as model.params). */
  readonly params: Params;
  readonly config: ModuleConfig;
  readonly metadata: Readonly<Record<string, string>>;
  readonly optState?: Tree;
  readonly step?: number;
  /** The saved module state (batch-norm running statistics) of the rebuilt model, when saved. */
  readonly state?: State;
}

/**
 * Loads a checkpoint written by `save`: validates the file (header length, JSON, offsets within the
 * file, F32 dtype, total size), rebuilds the model with buildModule(config), and checks that the
 * saved tensors are exactly the model's parameters (names and shapes). Errors name the file and
 * what is wrong.
 */
export async function load(path: string, { key, backend }: LoadOptions = {}): Promise<Loaded> {
  const where = `load("${path}")`;
  let bytes: Uint8Array;
  try {
    bytes = await readFile(path);
  } catch (e) {
    throw new Error(`${where}: cannot read the file (${(e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e))})`, { cause: e });
  }
  const d = deserialize(bytes, { backend, where });
  const fail = (msg: string): never => {
    disposeTree(d.params);
    if (d.optState !== undefined) disposeTree(d.optState);
    d.stateTensors?.forEach((t) => t.dispose());
    throw new SafetensorsError(`${where}: ${msg}`);
  };
  if (!d.config) fail('no model config in the metadata (not a geoconv checkpoint; read it with deserialize)');
  const config = d.config!;
  let model: Module;
  try {
    model = buildModule(config, key ?? makeKey(0));
  } catch (e) {
    return fail(`cannot rebuild the model from its config (type ${JSON.stringify(config.type)}): ${e instanceof Error ? e.message : String(e)}`);
  }
  const expected = leavesWithPaths(model.params);
  const problems: string[] = [];
  for (const [name, t] of expected) {
    const got = d.tensors.get(name);
    if (!got) problems.push(`missing tensor "${name}" (shape ${show(t.shape)})`);
    else if (got.shape.length !== t.shape.length || got.shape.some((n, i) => n !== t.shape[i])) {
      problems.push(`shape mismatch for "${name}": the file has ${show(got.shape)}, the model expects ${show(t.shape)}`);
    }
  }
  const names = new Set(expected.map(([n]) => n));
  for (const name of d.tensors.keys()) if (!names.has(name)) problems.push(`unexpected tensor "${name}" (not a parameter of the ${config.type} model)`);
  if (problems.length) {
    model.dispose();
    fail(problems.join('; '));
  }
  let state: State | undefined;
  if (d.stateTensors) {
    try {
      state = State.fromNamed(model, d.stateTensors);
    } catch (e) {
      model.dispose();
      fail(e instanceof Error ? e.message : String(e));
    }
  }
  const params = zipMap<Params>('load', [model.params], (_l, path) => d.tensors.get(path)!);
  replaceParams(model, params);
  return { model, params, config, metadata: d.metadata, optState: d.optState, step: d.step, state };
}

/**
 * Swaps a freshly built module's random initial parameters for `params` (disposing the former).
 * Modules keep `params` as a plain field; this redefines it on the instance, and on every
 * sub-module whose own `params` object sits inside the parent's tree (as Sequential's do), so that
 * calling a sub-module directly uses the loaded parameters too.
 */
function replaceParams(model: Module, params: Params): void {
  const old = leavesWithPaths(model.params).map(([, t]) => t) as Tensor[];
  const where = new Map<object, string[]>();
  const walk = (node: unknown, path: string[]) => {
    if (node === null || typeof node !== 'object' || !Object.getPrototypeOf(node) || Object.getPrototypeOf(node) !== Object.prototype) return;
    if (!where.has(node)) where.set(node, path);
    for (const [k, v] of Object.entries(node)) walk(v, [...path, k]);
  };
  walk(model.params, []);
  const at = (path: string[]): unknown => path.reduce<unknown>((n, k) => (n as Record<string, unknown> | undefined)?.[k], params);
  const set = (m: Module, value: unknown) => {
    try {
      Object.defineProperty(m, 'params', { value, writable: false, enumerable: true, configurable: true });
    } catch (e) {
      throw new Error(`load: cannot set the parameters of the rebuilt ${m.config.type} module (${e instanceof Error ? e.message : String(e)})`);
    }
  };
  const seen = new Set<Module>();
  const visit = (m: Module) => {
    for (const s of m.submodules()) {
      if (seen.has(s)) continue;
      seen.add(s);
      const path = where.get(s.params);
      if (path) set(s, at(path));
      visit(s);
    }
  };
  visit(model);
  set(model, params);
  old.forEach((t) => t.dispose());
}
