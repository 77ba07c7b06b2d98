// A Node worker_threads worker serving the built-in handlers of the BUILT bundle (worker.test.ts).
import { serveWorker } from '../../../dist/index.js';

await serveWorker({
  /** Echoes its argument after two progress events (protocol test). */
  echo: async (args, ctx) => {
    ctx.progress({ n: 1 });
    ctx.progress({ n: 2 });
    return { echoed: args };
  },
});
