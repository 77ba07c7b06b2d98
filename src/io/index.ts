/**
 * Checkpoint I/O. `serialize`/`deserialize` work on bytes anywhere (browsers included);
 * `saveCheckpoint`/`loadCheckpoint` write and read files through Node's fs (Node, Deno), importing
 * the Node-only module on first use so that bundles for browsers never need it.
 */
import type { Module, Params } from '../nn/module.js';
import type { LoadOptions, Loaded } from './checkpoint-node.js';
import type { SerializeExtra } from './safetensors.js';

export { serialize, serializeSync, deserialize, parseHeader, SafetensorsError, FORMAT, FORMAT_VERSION } from './safetensors.js';
export type { SerializeExtra, Deserialized, ParsedHeader, TensorInfo } from './safetensors.js';
export type { LoadOptions, Loaded } from './checkpoint-node.js';

/** Node/Deno: saves a checkpoint atomically (see checkpoint-node.ts). */
export async function saveCheckpoint(path: string, model: Module, params?: Params, extra?: SerializeExtra): Promise<void> {
  const m = await import('./checkpoint-node.js');
  return m.save(path, model, params, extra);
}

/** Node/Deno: loads and validates a checkpoint, rebuilding its model (see checkpoint-node.ts). */
export async function loadCheckpoint(path: string, options?: LoadOptions): Promise<Loaded> {
  const m = await import('./checkpoint-node.js');
  return m.load(path, options);
}
