/**
 * Training and inference off the main thread: a small request/response protocol over postMessage,
 * with progress events and cancellation, for a module Worker in browsers (threads work there too
 * when the page is cross-origin isolated) and for Node's worker_threads.
 *
 * Worker side:   `serveWorker()` — answers requests with the built-in handlers (`init`, `train`,
 *                `predict`, `notices`) or with your own (`serveWorker({ myTask: async (args, ctx) => … })`).
 * Page side:     `const w = new WorkerClient(new Worker(url, { type: 'module' }))`, then
 *                `await w.call('train', request, { onProgress, signal })`.
 *
 * Models and data cross the thread boundary as bytes, never as objects: a model travels as a
 * checkpoint (`serialize` / `checkpointFromBytes`), a MultiImage as a `WireImage` (its packed
 * float32 data, shape and signature; `toWire` / `fromWire`). Optimizers travel as a small spec.
 * An aborted call rejects with an Error named "AbortError"; a handler's error arrives with its
 * name and message.
 */
import { init, notices, type InitOptions } from '../init.js';
import { getBackend } from '../backends/backend.js';
import { key as prngKey } from '../core/random.js';
import { MultiImage } from '../geometric/multi-image.js';
import type { Signature } from '../geometric/signature.js';
import { checkpointFromBytes } from '../io/checkpoint.js';
import { serialize } from '../io/safetensors.js';
import { tensor } from '../tensor.js';
import { adam, adamw, sgd, type GradientTransformation } from './optim.js';
import { EpochStop } from './stopping.js';
import { train, type BatchInfo, type EpochInfo } from './train.js';
import { disposeTree } from './tree.js';

/** A MultiImage as plain data (structured-clone and transfer friendly). */
export interface WireImage {
  readonly data: Float32Array;
  /** [batch, ...spatial, Σ channels·D^k] (the packed layout). */
  readonly shape: readonly number[];
  readonly signature: Signature;
  readonly D: number;
  readonly isTorus: readonly boolean[];
}

/**
 * A MultiImage's packed data and layout (reads the data; the image stays alive).
 * @example
 * const wire = await toWire(x); // plain data: postMessage(wire, [wire.data.buffer])
 */
export async function toWire(m: MultiImage): Promise<WireImage> {
  if (!(m instanceof MultiImage)) throw new TypeError(`toWire: expected a MultiImage (got ${m === null ? 'null' : typeof m})`);
  return { data: await m.data.data(), shape: [...m.data.shape], signature: m.signature.map((e) => ({ ...e })), D: m.D, isTorus: [...m.isTorus] };
}

/**
 * A MultiImage on the current backend from a WireImage.
 * @example
 * worker.onmessage = (e: MessageEvent<WireImage>) => {
 *   const x = fromWire(e.data); // made by toWire on the other side
 * };
 */
export function fromWire(w: WireImage): MultiImage {
  if (w === null || typeof w !== 'object' || !(w.data instanceof Float32Array) || !Array.isArray(w.shape)) {
    throw new TypeError('fromWire: expected a WireImage { data: Float32Array, shape, signature, D, isTorus } (made by toWire)');
  }
  return new MultiImage(tensor(w.data, w.shape), w.signature, w.D, w.isTorus);
}

/** An optimizer as data: which one and its hyper-parameters. */
export type OptimizerSpec =
  | { readonly name: 'adam'; readonly learningRate: number }
  | { readonly name: 'adamw'; readonly learningRate: number; readonly weightDecay?: number }
  | { readonly name: 'sgd'; readonly learningRate: number; readonly momentum?: number };

function optimizerFrom(spec: OptimizerSpec): GradientTransformation {
  if (spec === null || typeof spec !== 'object') throw new TypeError('train (worker): optimizer must be a spec such as { name: "adam", learningRate: 1e-3 }');
  if (!(typeof spec.learningRate === 'number' && spec.learningRate > 0)) {
    throw new RangeError(`train (worker): optimizer.learningRate must be a number > 0 (got ${String(spec.learningRate)})`);
  }
  switch (spec.name) {
    case 'adam':
      return adam({ learningRate: spec.learningRate });
    case 'adamw':
      return adamw({ learningRate: spec.learningRate, weightDecay: spec.weightDecay });
    case 'sgd':
      return sgd({ learningRate: spec.learningRate, momentum: spec.momentum });
    default:
      throw new RangeError(`train (worker): optimizer.name must be "adam", "adamw" or "sgd" (got ${JSON.stringify((spec as { name: unknown }).name)})`);
  }
}

/** The request of the built-in `train` handler. */
export interface TrainRequest {
  /** The model and its starting parameters, as checkpoint bytes (`serialize(model)`). */
  readonly checkpoint: Uint8Array;
  readonly x: WireImage;
  readonly y: WireImage;
  readonly valX?: WireImage;
  readonly valY?: WireImage;
  readonly optimizer: OptimizerSpec;
  readonly epochs: number;
  readonly batchSize: number;
  /** Seed of the batch order. */
  readonly seed: number;
  /** Passed to train (default 20 ms): the worker's own message loop needs the yields to see an abort. */
  readonly yieldEvery?: number;
}

/** The answer of the built-in `train` handler. */
export interface TrainReply {
  /** The trained model as checkpoint bytes (load with `checkpointFromBytes` or `loadCheckpoint`). */
  readonly checkpoint: Uint8Array;
  readonly history: { readonly trainLoss: number[]; readonly valLoss: (number | null)[]; readonly seconds: number[] };
  readonly backend: string;
}

/** Progress events of the built-in `train` handler. */
export type TrainProgress = ({ readonly type: 'batch' } & BatchInfo) | ({ readonly type: 'epoch' } & Omit<EpochInfo, 'params'>);

/** Frees a loaded checkpoint: the model, its state and any saved optimizer state (not used here). */
function release(loaded: ReturnType<typeof checkpointFromBytes>): void {
  loaded.model.dispose();
  (loaded.state as { dispose?: () => void } | undefined)?.dispose?.();
  if (loaded.optState !== undefined) disposeTree(loaded.optState);
}

/** What a handler gets besides its arguments. */
export interface HandlerContext {
  /** Sends a progress event to the caller's `onProgress`. */
  progress(event: unknown): void;
  /** Aborted when the caller's signal aborts. */
  readonly signal: AbortSignal;
}

/** One request handler of `serveWorker`. */
export type Handler = (args: never, ctx: HandlerContext) => unknown;
/** The handlers a worker serves, by request name. */
export type Handlers = Record<string, Handler>;

/**
 * The built-in handlers: init, notices, train, predict.
 * @example
 * await serveWorker({ ...trainingHandlers, ping: () => 'pong' }); // the built-ins are merged in anyway
 */
export const trainingHandlers = {
  /** Starts a backend in the worker; answers its name and description. */
  async init(opts: InitOptions = {}) {
    const backend = await init(opts);
    return { backend, description: getBackend().describe(), notices: [...notices] };
  },
  notices() {
    return [...notices];
  },
  /** Trains a checkpointed model on wire data; progress per batch and per epoch. */
  async train(req: TrainRequest, ctx: HandlerContext): Promise<TrainReply> {
    const loaded = checkpointFromBytes(req.checkpoint, { where: 'train (worker)' });
    const made: MultiImage[] = [];
    try {
      const x = fromWire(req.x);
      made.push(x);
      const y = fromWire(req.y);
      made.push(y);
      const valX = req.valX ? fromWire(req.valX) : undefined;
      if (valX) made.push(valX);
      const valY = req.valY ? fromWire(req.valY) : undefined;
      if (valY) made.push(valY);
      const r = await train({
        model: loaded.model,
        x,
        y,
        valX,
        valY,
        optimizer: optimizerFrom(req.optimizer),
        batchSize: req.batchSize,
        key: prngKey(req.seed),
        stop: new EpochStop(req.epochs),
        signal: ctx.signal,
        yieldEvery: req.yieldEvery,
        state: loaded.state,
        onBatchEnd: (b) => ctx.progress({ type: 'batch', ...b }),
        onEpochEnd: ({ params: _params, ...e }) => ctx.progress({ type: 'epoch', ...e }),
      });
      try {
        const checkpoint = await serialize(loaded.model, r.params);
        return { checkpoint, history: r.history, backend: getBackend().name };
      } finally {
        disposeTree(r.params);
        disposeTree(r.optState);
      }
    } finally {
      made.forEach((m) => m.dispose());
      release(loaded);
    }
  },
  /** Applies a checkpointed model to wire data (inference mode). */
  async predict(req: { checkpoint: Uint8Array; x: WireImage }): Promise<WireImage> {
    const loaded = checkpointFromBytes(req.checkpoint, { where: 'predict (worker)' });
    const x = fromWire(req.x);
    try {
      const out = loaded.model.apply(loaded.params, x, loaded.state ? ({ training: false, state: loaded.state } as never) : { training: false });
      try {
        return await toWire(out);
      } finally {
        out.dispose();
      }
    } finally {
      x.dispose();
      release(loaded);
    }
  },
} satisfies Handlers;

/** Either side of a channel: a Worker, `self` in a worker, a MessagePort, or a Node worker/parentPort. */
export interface Endpoint {
  // `any[]`: the DOM's and Node's Transferable types disagree
  postMessage(message: unknown, transfer?: any[]): void;
  addEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
  removeEventListener?(type: 'message', listener: (event: MessageEvent) => void): void;
  on?(type: 'message', listener: (data: unknown) => void): unknown;
  off?(type: 'message', listener: (data: unknown) => void): unknown;
}

type Request =
  { readonly geoconv: 'call'; readonly id: number; readonly method: string; readonly args: unknown } | { readonly geoconv: 'abort'; readonly id: number };
type Reply =
  | { readonly geoconv: 'progress'; readonly id: number; readonly event: unknown }
  | { readonly geoconv: 'result'; readonly id: number; readonly value: unknown }
  | { readonly geoconv: 'error'; readonly id: number; readonly name: string; readonly message: string };

/** Subscribes to messages on either kind of endpoint; returns the unsubscribe function. */
function listen(ep: Endpoint, fn: (data: unknown) => void): () => void {
  if (typeof ep.on === 'function') {
    ep.on('message', fn); // Node: the data itself
    return () => ep.off?.('message', fn);
  }
  if (typeof ep.addEventListener !== 'function') throw new TypeError('geoconv worker: the endpoint has neither on() nor addEventListener()');
  const l = (e: MessageEvent) => fn(e.data);
  ep.addEventListener('message', l);
  return () => ep.removeEventListener?.('message', l);
}

/** Typed arrays' buffers in a value (a shallow walk), to transfer instead of copy. */
function transferables(value: unknown, out: Transferable[] = [], depth = 0): Transferable[] {
  if (ArrayBuffer.isView(value)) {
    const b = value.buffer;
    if (b instanceof ArrayBuffer && !out.includes(b)) out.push(b);
  } else if (value !== null && typeof value === 'object' && depth < 4) {
    for (const v of Object.values(value)) transferables(v, out, depth + 1);
  }
  return out;
}

/**
 * Serves requests on `endpoint` (default: the worker's global scope, or Node's parentPort) with
 * `handlers` (default: `trainingHandlers`; yours are merged over them). Returns a function that
 * stops serving.
 * @example
 * // in worker.js (a module worker, or a Node worker_thread), which imports serveWorker from geoconv:
 * await serveWorker({ square: async (n: number) => n * n });
 */
export async function serveWorker(handlers: Handlers = {}, endpoint?: Endpoint): Promise<() => void> {
  let ep = endpoint;
  if (!ep) {
    const g = globalThis as { WorkerGlobalScope?: unknown; postMessage?: unknown; process?: { versions?: { node?: string } } };
    if (typeof g.WorkerGlobalScope !== 'undefined' && typeof g.postMessage === 'function') ep = globalThis as unknown as Endpoint;
    else if (typeof g.process?.versions?.node === 'string') {
      const wt = 'node:worker_threads'; // a variable, so that bundlers leave this Node-only import alone
      const { parentPort } = (await import(/* @vite-ignore */ /* webpackIgnore: true */ wt)) as { parentPort: Endpoint | null };
      if (!parentPort) throw new Error('serveWorker: not inside a worker (no parentPort); pass the endpoint to serve');
      ep = parentPort;
    } else {
      throw new Error('serveWorker: not inside a worker; pass the endpoint to serve');
    }
  }
  const all: Handlers = { ...trainingHandlers, ...handlers };
  const running = new Map<number, AbortController>();
  const post = (msg: Reply, withTransfer = false) => ep.postMessage(msg, withTransfer ? transferables(msg) : []);
  return listen(ep, (data) => {
    const req = data as Request;
    if (req === null || typeof req !== 'object' || (req.geoconv !== 'call' && req.geoconv !== 'abort')) return; // not ours
    if (req.geoconv === 'abort') {
      running.get(req.id)?.abort();
      return;
    }
    const { id, method, args } = req;
    const handler = Object.prototype.hasOwnProperty.call(all, method) ? all[method] : undefined;
    if (!handler) {
      post({ geoconv: 'error', id, name: 'TypeError', message: `geoconv worker: no handler "${method}" (handlers: ${Object.keys(all).join(', ')})` });
      return;
    }
    const controller = new AbortController();
    running.set(id, controller);
    const ctx: HandlerContext = { progress: (event) => post({ geoconv: 'progress', id, event }), signal: controller.signal };
    void (async () => {
      try {
        const value = await handler(args as never, ctx);
        post({ geoconv: 'result', id, value }, true);
      } catch (e) {
        const err = e instanceof Error ? e : new Error(String(e));
        post({ geoconv: 'error', id, name: err.name, message: err.message });
      } finally {
        running.delete(id);
      }
    })();
  });
}

/** Options of `WorkerClient.call`: progress callback and AbortSignal (exported as WorkerCallOptions). */
export interface CallOptions {
  /** Receives the handler's progress events (for `train`: TrainProgress). */
  readonly onProgress?: (event: never) => void;
  /** Aborts the call in the worker (the promise rejects with an AbortError). */
  readonly signal?: AbortSignal;
  /** Buffers to transfer rather than copy (default: none; the caller's arrays stay usable). */
  readonly transfer?: Transferable[];
}

/**
 * The page (or parent thread) side: calls handlers served by `serveWorker` in a worker.
 * @example
 * const client = new WorkerClient(new Worker(new URL('./train-worker.js', import.meta.url), { type: 'module' }));
 * await client.call('init', { backend: 'wasm' });
 * const reply = await client.call('train', request, { onProgress: (p) => console.log(p) });
 * client.close();
 */
export class WorkerClient {
  readonly #ep: Endpoint;
  readonly #pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: unknown) => void; onProgress?: (e: never) => void }>();
  readonly #stop: () => void;
  #next = 1;

  constructor(endpoint: Endpoint) {
    if (endpoint === null || typeof endpoint !== 'object' || typeof endpoint.postMessage !== 'function') {
      throw new TypeError('WorkerClient: endpoint must be a Worker, a MessagePort or a Node worker (something with postMessage)');
    }
    this.#ep = endpoint;
    this.#stop = listen(endpoint, (data) => this.#receive(data as Reply));
  }

  #receive(msg: Reply): void {
    if (msg === null || typeof msg !== 'object' || typeof msg.geoconv !== 'string') return;
    const p = this.#pending.get(msg.id);
    if (!p) return;
    if (msg.geoconv === 'progress') {
      p.onProgress?.(msg.event as never);
      return;
    }
    this.#pending.delete(msg.id);
    if (msg.geoconv === 'result') p.resolve(msg.value);
    else {
      const e = new Error(msg.message);
      e.name = msg.name;
      p.reject(e);
    }
  }

  /** Calls `method` in the worker; resolves with its result. */
  call(method: 'init', args?: InitOptions, options?: CallOptions): Promise<{ backend: string; description: string; notices: string[] }>;
  call(method: 'train', args: TrainRequest, options?: CallOptions): Promise<TrainReply>;
  call(method: 'predict', args: { checkpoint: Uint8Array; x: WireImage }, options?: CallOptions): Promise<WireImage>;
  call<T = unknown>(method: string, args?: unknown, options?: CallOptions): Promise<T>;
  call(method: string, args?: unknown, { onProgress, signal, transfer = [] }: CallOptions = {}): Promise<unknown> {
    if (typeof method !== 'string') return Promise.reject(new TypeError(`WorkerClient.call: method must be a string (got ${typeof method})`));
    const id = this.#next++;
    return new Promise((resolve, reject) => {
      const abortError = () => {
        const e = new Error(`WorkerClient.call("${method}"): aborted`);
        e.name = 'AbortError';
        return e;
      };
      if (signal?.aborted) {
        reject(abortError());
        return;
      }
      this.#pending.set(id, { resolve, reject, onProgress });
      signal?.addEventListener('abort', () => this.#ep.postMessage({ geoconv: 'abort', id } satisfies Request), { once: true });
      this.#ep.postMessage({ geoconv: 'call', id, method, args } satisfies Request, transfer);
    });
  }

  /** Stops listening (pending calls reject); does not terminate the worker. */
  close(): void {
    this.#stop();
    for (const [, p] of this.#pending) p.reject(new Error('WorkerClient: closed'));
    this.#pending.clear();
  }
}
