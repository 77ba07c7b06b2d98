/** A module worker (no document, no file system) that tries saveCheckpoint and reports the error. */
import * as gc from '../../dist/index.js';

self.onmessage = async () => {
  const model = new gc.Conv({ D: 2, inChannels: 1, outChannels: 1, kernel: 3 }, gc.random.key(0));
  try {
    await gc.saveCheckpoint('model.safetensors', model);
    postMessage({ ok: true });
  } catch (e) {
    postMessage({ ok: false, message: e instanceof Error ? e.message : String(e) });
  } finally {
    model.dispose();
  }
};
