// placeholder, replaced by the webgpu backend implementation
import type { Backend } from '../backend.js';
export async function createWebGPUBackend(): Promise<Backend> {
  throw new Error('webgpu backend not built yet');
}
