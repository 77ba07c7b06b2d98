/**
 * The demo's module Worker: serves geoconv's built-in handlers (init, train, predict) so that the
 * page trains without blocking its own thread. The page talks to it with WorkerClient.
 */
import { serveWorker } from '../../dist/index.js';

void serveWorker();
