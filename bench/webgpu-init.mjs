/**
 * The benchmarks' way to start geoconv's webgpu backend in Node: Dawn's default backend first (Vulkan
 * on a machine with a GPU driver), then, unless WEBGPU_BACKEND was set, Dawn's OpenGL backend on a
 * surfaceless EGL display (Mesa llvmpipe on a machine without a GPU). Returns the backend object.
 */
export async function initWebgpu(gc) {
  process.env.EGL_PLATFORM ??= 'surfaceless';
  try {
    await gc.init({ backend: 'webgpu' });
  } catch (e) {
    if (process.env.WEBGPU_BACKEND) throw e;
    console.error(`bench: webgpu with Dawn's default backend failed (${e.message.split('\n')[0]}); trying WEBGPU_BACKEND=opengl`);
    process.env.WEBGPU_BACKEND = 'opengl';
    await gc.init({ backend: 'webgpu' });
  }
  return gc.getBackend('webgpu');
}
