/**
 * Checkpoint I/O. `serialize`/`deserialize` work on bytes anywhere; `loadCheckpoint` reads a path,
 * a URL, bytes or a Blob in Node, Deno and browsers, rebuilding the model without random
 * initialisation; `saveCheckpoint` writes a file (Node, Deno) or offers a download (browser page).
 */
export { serialize, serializeSync, deserialize, parseHeader, SafetensorsError, FORMAT, FORMAT_VERSION } from './safetensors.js';
export type { SerializeExtra, Deserialized, DeserializeOptions, ParsedHeader, TensorInfo } from './safetensors.js';
export { loadCheckpoint, saveCheckpoint, checkpointFromBytes } from './checkpoint.js';
export type { CheckpointSource, LoadOptions, Loaded } from './checkpoint.js';
