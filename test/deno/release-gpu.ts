/**
 * Destroys the WebGPU backend's device at the end of a Deno test that used it, so no test leaves a
 * live device behind, and the next init({ backend: 'webgpu' }) — another test file's — starts a new
 * device (which this exercises: init replaces a backend whose device is lost or destroyed).
 */
// deno-lint-ignore-file no-explicit-any
export async function releaseGpu(gc: any): Promise<void> {
  let be: any;
  try {
    be = gc.getBackend('webgpu');
  } catch {
    return; // never started
  }
  await be.sync();
  be.destroy();
  gc.setBackend('ref');
}
