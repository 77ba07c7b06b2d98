/**
 * Checkpoint files for Node (and Deno, through its node:fs): `save` writes safetensors atomically,
 * `load` reads one back (see checkpoint.ts, which does the rebuilding and validation for every
 * source). Node-only: checkpoint.ts imports it on first use, and only where a file system exists,
 * so that browsers never load it.
 */
import { readFile } from 'node:fs/promises';
import type { Module, Params } from '../nn/module.js';
import { writeFileAtomic } from './atomic-write-node.js';
import { checkpointFromBytes, type LoadOptions, type Loaded } from './checkpoint.js';
import { serialize, type SerializeExtra } from './safetensors.js';

export type { LoadOptions, Loaded } from './checkpoint.js';

/**
 * Saves `model`'s config and `params` (default model.params), plus optionally the optimizer state
 * and step and the module state (batch-norm statistics), to `path` atomically (temp file in the same directory, fsync, rename).
 */
export async function save(path: string, model: Module, params?: Params, extra: SerializeExtra = {}): Promise<void> {
  const bytes = await serialize(model, params ?? model.params, extra);
  await writeFileAtomic(path, bytes, 'save');
}

/** The bytes of a file (a path or a file: URL), with an error that names the caller and the reason. */
export async function readFileBytes(path: string | URL, where: string): Promise<Uint8Array> {
  try {
    return await readFile(path);
  } catch (e) {
    throw new Error(`${where}: cannot read the file (${(e as { code?: string }).code ?? (e instanceof Error ? e.message : String(e))})`, { cause: e });
  }
}

/** Loads the checkpoint file at `path` (see checkpointFromBytes: no random initialisation, validated). */
export async function load(path: string, { backend }: LoadOptions = {}): Promise<Loaded> {
  const where = `load("${path}")`;
  return checkpointFromBytes(await readFileBytes(path, where), { backend, where });
}
