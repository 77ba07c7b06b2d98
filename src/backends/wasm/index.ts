// placeholder, replaced by the wasm backend implementation
import type { Backend } from '../backend.js';
export async function createWasmBackend(_opts: { threads: number }): Promise<Backend> {
  throw new Error('wasm backend not built yet');
}
