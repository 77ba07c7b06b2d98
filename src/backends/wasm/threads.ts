/**
 * Worker threads for the wasm backend: n − 1 workers plus the calling thread run the heavy kernels
 * (the convolutions, matmul, large elementwise and index-map ops) over ONE shared WebAssembly.Memory, each its own instance of the threaded
 * build (asconfig.json `*-threads`: imports `env.memory`).
 *
 * Protocol (a control SharedArrayBuffer of Int32, no messages after start-up): the caller writes
 * the kernel, its parameter block and the part count, sets PENDING to the number of workers, bumps
 * GEN and notifies; every worker wakes, runs part `tid` of `nt` (assembly/ kernels take (params,
 * tid, nt) and split into contiguous ranges of independent outputs, so the result is bit-identical
 * to one thread), decrements PENDING and notifies; the caller runs part 0 meanwhile and then waits
 * for PENDING = 0 (Atomics.wait where the thread may block — Node, Deno, workers — else it spins:
 * a browser's main thread). Every worker acknowledges every job, so the caller never overwrites
 * a job another worker has not yet read.
 *
 * The worker code is an inline string (no file path), so it works from the bundle: Node and Deno
 * run it with node:worker_threads `eval` (unref'd once started, so an idle pool does not keep the
 * process alive), browsers as a module Worker from a Blob URL.
 */
import { PARALLEL_KERNELS, type ParallelKernel } from '../../generated/exports.js';
import type { Executor } from './conv.js';

/** The kernels workers can run, by index (the control block carries the index): generated from assembly/. */
const KERNELS: readonly ParallelKernel[] = PARALLEL_KERNELS;

// Control block fields (Int32 indices).
const GEN = 0;
const CMD = 1;
const PRM = 2;
const NT = 3;
const PENDING = 4;
const ERR = 5;
const CTRL_INTS = 8;

/** The body shared by both worker flavours: `post` sends a message to the creator, `data` is the start message. */
const WORKER_BODY = `
const start = (post, data) => {
  const { module, memory, ctrl, tid, kernels } = data;
  const c = new Int32Array(ctrl);
  let ex;
  try {
    ex = new WebAssembly.Instance(module, { env: { memory, abort() { throw new Error('wasm kernel aborted'); } } }).exports;
  } catch (e) {
    post({ error: String((e && e.message) || e) });
    return;
  }
  // read GEN before announcing readiness: a job posted right after 'ready' must not be missed
  let seen = Atomics.load(c, ${GEN});
  post({ ready: true });
  for (;;) {
    Atomics.wait(c, ${GEN}, seen);
    const g = Atomics.load(c, ${GEN});
    if (g === seen) continue;
    seen = g;
    const cmd = Atomics.load(c, ${CMD});
    if (cmd < 0) return;
    const nt = Atomics.load(c, ${NT});
    if (tid < nt) {
      try {
        ex[kernels[cmd]](Atomics.load(c, ${PRM}), tid, nt);
      } catch (e) {
        Atomics.store(c, ${ERR}, 1);
      }
    }
    if (Atomics.sub(c, ${PENDING}, 1) === 1) Atomics.notify(c, ${PENDING});
  }
};
`;

const NODE_WORKER = `${WORKER_BODY}
const { parentPort } = require('node:worker_threads');
parentPort.once('message', (data) => start((m) => parentPort.postMessage(m), data));
`;

const WEB_WORKER = `${WORKER_BODY}
self.onmessage = (e) => { self.onmessage = null; start((m) => self.postMessage(m), e.data); };
`;

/** Why worker threads over a shared memory are unavailable here, or undefined when they are available. */
export function threadsUnavailable(): string | undefined {
  const g = globalThis as { crossOriginIsolated?: boolean; Worker?: unknown };
  if (typeof SharedArrayBuffer === 'undefined') {
    return 'SharedArrayBuffer is unavailable (a browser page must be cross-origin isolated: COOP/COEP headers)';
  }
  if (g.crossOriginIsolated === false) return 'the page is not cross-origin isolated (COOP/COEP headers), so memory cannot be shared with workers';
  if (typeof Atomics === 'undefined') return 'Atomics is unavailable';
  if (!hasNodeWorkers() && typeof g.Worker !== 'function') return 'this JavaScript environment has no Worker';
  try {
    new WebAssembly.Memory({ initial: 1, maximum: 1, shared: true } as WebAssembly.MemoryDescriptor);
  } catch (e) {
    return `shared WebAssembly memory is unavailable (${e instanceof Error ? e.message : e})`;
  }
  return undefined;
}

/**
 * Node and Deno: node:worker_threads (Deno implements it, and its workers can be unref'd, which Deno's
 * web Workers cannot: an idle pool must not keep the process alive). Browsers: web Workers.
 */
function hasNodeWorkers(): boolean {
  const g = globalThis as { process?: { versions?: { node?: string } } };
  return typeof g.process?.versions?.node === 'string';
}

interface AnyWorker {
  postMessage(m: unknown): void;
  terminate(): unknown;
}

/** Whether this thread may block in Atomics.wait (not a browser's main thread). */
function canBlock(ctrl: Int32Array): boolean {
  try {
    Atomics.wait(ctrl, CTRL_INTS - 1, 1, 0); // value differs: returns 'not-equal' at once where allowed
    return true;
  } catch {
    return false;
  }
}

export interface ThreadPool extends Executor {
  /** Stops the workers (the pool then runs everything on the calling thread). */
  close(): void;
}

/**
 * Starts `threads − 1` workers, each instantiating `module` (the threaded build) over `memory`.
 * `local` runs a kernel part on the calling thread (its own instance over the same memory).
 */
export async function createThreadPool(
  module: WebAssembly.Module,
  memory: WebAssembly.Memory,
  threads: number,
  local: (fn: ParallelKernel, params: number, tid: number, nt: number) => void,
  minParallelWork: () => number,
): Promise<ThreadPool> {
  const ctrl = new Int32Array(new SharedArrayBuffer(CTRL_INTS * 4));
  const workers: AnyWorker[] = [];
  const g = globalThis as { Worker?: new (url: string, opts?: object) => AnyWorker & { onmessage: unknown; onerror: unknown } };
  const useWeb = !hasNodeWorkers();
  let blobUrl: string | undefined;
  const started: Promise<void>[] = [];
  try {
    let NodeWorker: (new (src: string, opts: object) => AnyWorker & { once(ev: string, f: (m: unknown) => void): void; unref(): void }) | undefined;
    if (!useWeb) {
      const mod = 'node:worker_threads';
      NodeWorker = ((await import(/* @vite-ignore */ /* webpackIgnore: true */ mod)) as { Worker: typeof NodeWorker }).Worker;
    } else {
      blobUrl = URL.createObjectURL(new Blob([WEB_WORKER], { type: 'text/javascript' }));
    }
    for (let tid = 1; tid < threads; tid++) {
      const data = { module, memory, ctrl: ctrl.buffer, tid, kernels: KERNELS };
      started.push(
        new Promise<void>((resolve, reject) => {
          const onMessage = (m: unknown) => {
            const msg = m as { ready?: boolean; error?: string };
            if (msg.ready) resolve();
            else reject(new Error(`wasm worker ${tid}: ${msg.error ?? 'failed to start'}`));
          };
          if (NodeWorker) {
            const w = new NodeWorker(NODE_WORKER, { eval: true, name: `geoconv-wasm-${tid}` });
            // unref'd once started: an idle pool must not keep the process alive (but start-up must)
            w.once('message', (m) => {
              w.unref();
              onMessage(m);
            });
            w.once('error', (e) => reject(e instanceof Error ? e : new Error(String(e))));
            workers.push(w);
            w.postMessage(data);
          } else {
            const w = new g.Worker!(blobUrl!, { type: 'module', name: `geoconv-wasm-${tid}` });
            w.onmessage = (e: { data: unknown }) => onMessage(e.data);
            w.onerror = (e: { message?: string }) => reject(new Error(`wasm worker ${tid}: ${e.message ?? 'error'}`));
            workers.push(w);
            w.postMessage(data);
          }
        }),
      );
    }
    await Promise.all(started);
  } catch (e) {
    for (const w of workers) void w.terminate();
    throw e;
  } finally {
    if (blobUrl) URL.revokeObjectURL(blobUrl);
  }

  const block = canBlock(ctrl);
  let closed = false;

  return {
    threads,
    run(fn, params, work) {
      if (closed || work < minParallelWork()) {
        local(fn, params, 0, 1);
        return;
      }
      const nt = threads;
      Atomics.store(ctrl, CMD, KERNELS.indexOf(fn));
      Atomics.store(ctrl, PRM, params);
      Atomics.store(ctrl, NT, nt);
      Atomics.store(ctrl, ERR, 0);
      Atomics.store(ctrl, PENDING, workers.length);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      let failure: unknown;
      try {
        local(fn, params, 0, nt);
      } catch (e) {
        failure = e;
      }
      for (;;) {
        const p = Atomics.load(ctrl, PENDING);
        if (p === 0) break;
        if (block) Atomics.wait(ctrl, PENDING, p);
      }
      if (failure !== undefined) throw failure;
      if (Atomics.load(ctrl, ERR) !== 0) throw new Error(`wasm backend: a worker thread failed in ${fn}`);
    },
    close() {
      if (closed) return;
      closed = true;
      Atomics.store(ctrl, CMD, -1);
      Atomics.add(ctrl, GEN, 1);
      Atomics.notify(ctrl, GEN);
      for (const w of workers) void w.terminate();
    },
  };
}
