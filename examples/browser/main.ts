/**
 * The browser demo: a scalar field and an equivariant model's vector-field output side by side;
 * buttons apply each element of B_2 to the input and the page shows the output following it, with
 * the measured equivariance error; a model trains in a module Worker (WorkerClient) with a live
 * loss curve while a ticking counter shows the page stays responsive; the backend is selectable;
 * the starting model is a checkpoint loaded by URL.
 *
 * State that must survive a backend switch is kept as bytes and arrays (the checkpoint, the input
 * image), and tensors are made per render and disposed, so switching backends moves nothing.
 */
import * as gc from '../../dist/index.js';
import type { GroupElement, Module, WireImage, TrainProgress } from '../../dist/index.js';
import { demoTask, fields, makeModel, N, SCALAR } from './data.js';
/** Names of B_2's elements by their matrix (row-major; axis 0 is x to the right, axis 1 is y upwards). */
const NAMES: Record<string, string> = {
  '1,0,0,1': 'identity',
  '0,-1,1,0': 'rotate 90°',
  '-1,0,0,-1': 'rotate 180°',
  '0,1,-1,0': 'rotate 270°',
  '-1,0,0,1': 'mirror x',
  '1,0,0,-1': 'mirror y',
  '0,1,1,0': 'swap x↔y',
  '0,-1,-1,0': 'anti-diagonal',
};

const $ = <T extends HTMLElement = HTMLElement>(id: string) => document.getElementById(id) as T;
const show = (id: string, text: string) => {
  $(id).textContent = text;
};

let model: Module | null = null;
let modelBytes: Uint8Array | null = null;
let input: Float32Array; // one N×N scalar field (periodic: the demo task lives on a torus)
let trainX: WireImage;
let trainY: WireImage;
let element = 0;
let rendering: Promise<void> = Promise.resolve();

// A visible heartbeat: if training blocked this thread, the counter would stop.
let ticks = 0;
setInterval(() => {
  ticks++;
  show('ticks', String(ticks));
}, 50);

function setModel(bytes: Uint8Array, loaded?: { model: Module }): void {
  model?.dispose();
  model = (loaded ?? gc.checkpointFromBytes(bytes)).model;
  modelBytes = bytes;
}

/** Draws g·x and f(g·x) and the relative error ‖f(g·x) − g·f(x)‖ / ‖g·f(x)‖. */
async function render(): Promise<void> {
  if (!model) return;
  const g = gc.operators(2)[element] as GroupElement;
  const m = model;
  const [gx, out, ref] = gc.tidy(() => {
    const x = new gc.MultiImage(gc.tensor(input, [1, N, N, 1]), SCALAR, 2);
    const moved = x.timesGroupElement(g);
    return [moved.data, m.apply(m.params, moved).data, m.apply(m.params, x).timesGroupElement(g).data];
  });
  let a: Float32Array, b: Float32Array, c: Float32Array;
  try {
    [a, b, c] = await Promise.all([gx.data(), out.data(), ref.data()]);
  } finally {
    [gx, out, ref].forEach((t) => t.dispose());
  }
  let num = 0,
    den = 0;
  for (let i = 0; i < b.length; i++) {
    num += (b[i]! - c[i]!) ** 2;
    den += c[i]! ** 2;
  }
  const error = Math.sqrt(num / den);
  $('input-plot').innerHTML = gc.plotImage(a, [N, N], 0, { title: `g·x (${nameOf(g)})`, cell: 18 });
  $('output-plot').innerHTML = gc.plotImage(b, [N, N], 1, { title: 'f(g·x)', cell: 18 });
  const eq = $('equivariance');
  eq.textContent = `equivariance error for ${nameOf(g)}: ${error.toExponential(2)} (relative, float32)`;
  eq.dataset.error = String(error);
  eq.dataset.element = nameOf(g);
}

const nameOf = (g: GroupElement) => NAMES[g.matrix.join(',')] ?? gc.elementName(g);

function queueRender(): Promise<void> {
  rendering = rendering.then(render, render);
  return rendering;
}

function groupButtons(): void {
  const box = $('group');
  gc.operators(2).forEach((g, i) => {
    const b = document.createElement('button');
    b.textContent = nameOf(g as GroupElement);
    b.dataset.index = String(i);
    b.addEventListener('click', () => {
      element = i;
      box.querySelectorAll('button').forEach((x) => x.classList.toggle('active', x === b));
      void queueRender();
    });
    if (i === 0) b.classList.add('active');
    box.append(b);
  });
}

async function startBackend(name: 'auto' | 'wasm' | 'webgpu'): Promise<void> {
  const status = $('init-status');
  status.textContent = `init(${name})…`;
  const t0 = performance.now();
  try {
    const got = await gc.init({ backend: name, threads: 2 });
    const seconds = (performance.now() - t0) / 1000;
    status.textContent = `init(${name}) → ${got} in ${seconds.toFixed(2)} s: ${gc.getBackend().describe()}`;
    status.dataset.backend = got;
    status.dataset.seconds = String(seconds);
  } catch (e) {
    status.textContent = `init(${name}) failed: ${(e as Error).message}`;
    status.dataset.backend = 'none';
  }
  show('notices', gc.notices.map((n) => `note: ${n}`).join('\n'));
}

async function switchBackend(name: 'auto' | 'wasm' | 'webgpu'): Promise<void> {
  await rendering;
  model?.dispose();
  model = null;
  await startBackend(name);
  if (modelBytes) setModel(modelBytes);
  await queueRender();
}

async function loadByUrl(url: string): Promise<void> {
  const status = $('model-status');
  status.textContent = `loading ${url}…`;
  try {
    const loaded = await gc.loadCheckpoint(url);
    const bytes = await gc.serialize(loaded.model);
    await rendering;
    setModel(bytes, loaded);
    status.textContent = `loaded ${url} (${loaded.config.type}, ${bytes.length} bytes)`;
    status.dataset.loaded = url;
    await queueRender();
  } catch (e) {
    status.textContent = `could not load ${url}: ${(e as Error).message}`;
  }
}

// ── training in a Worker ─────────────────────────────────────────────────────────────────────────
let client: gc.WorkerClient | null = null;
let workerReady: Promise<unknown> | null = null;

function worker(): { client: gc.WorkerClient; ready: Promise<unknown> } {
  if (!client) {
    client = new gc.WorkerClient(new Worker(new URL('./worker.js', import.meta.url), { type: 'module' }));
    workerReady = client.call('init', { backend: 'wasm', threads: 2 });
  }
  return { client, ready: workerReady! };
}

function drawLoss(losses: number[]): void {
  const svg = $('loss') as unknown as SVGSVGElement;
  const W = 480,
    H = 180,
    L = 52,
    R = 10,
    T = 12,
    B = 26;
  const finite = losses.filter((v) => v > 0 && Number.isFinite(v));
  if (finite.length === 0) {
    svg.innerHTML = '';
    return;
  }
  const lo = Math.log10(Math.min(...finite)),
    hi = Math.log10(Math.max(...finite));
  const span = Math.max(hi - lo, 1e-6);
  const n = Math.max(losses.length - 1, 1);
  const pts = losses.map(
    (v, i) => `${(L + (i / n) * (W - L - R)).toFixed(1)},${(T + (1 - (Math.log10(Math.max(v, 10 ** lo)) - lo) / span) * (H - T - B)).toFixed(1)}`,
  );
  svg.innerHTML =
    `<line x1="${L}" y1="${T}" x2="${L}" y2="${H - B}" stroke="#888"/><line x1="${L}" y1="${H - B}" x2="${W - R}" y2="${H - B}" stroke="#888"/>` +
    `<text x="${L - 4}" y="${T + 8}" text-anchor="end" font-size="10">${(10 ** hi).toExponential(1)}</text>` +
    `<text x="${L - 4}" y="${H - B}" text-anchor="end" font-size="10">${(10 ** lo).toExponential(1)}</text>` +
    `<text x="${(L + W - R) / 2}" y="${H - 6}" text-anchor="middle" font-size="11">batch (${losses.length}) — training loss, log scale</text>` +
    `<polyline fill="none" stroke="#1b5e7a" stroke-width="1.8" points="${pts.join(' ')}"/>`;
}

let controller: AbortController | null = null;
let trainings = 0;

async function trainInWorker(): Promise<void> {
  const status = $('train-status');
  const trainBtn = $<HTMLButtonElement>('train');
  const stopBtn = $<HTMLButtonElement>('stop');
  trainBtn.disabled = true;
  stopBtn.disabled = false;
  status.dataset.state = 'running';
  const losses: number[] = [];
  drawLoss(losses);
  controller = new AbortController();
  const ticks0 = ticks;
  const t0 = performance.now();
  try {
    const { client: w, ready } = worker();
    status.textContent = 'starting the worker…';
    const started = (await ready) as { description: string };
    // A new, randomly initialised model of the same kind, trained from scratch.
    const fresh = makeModel(100 + trainings++); // a new random start per run, reproducible per page load
    const checkpoint = await gc.serialize(fresh);
    fresh.dispose();
    status.textContent = `training in a Worker (${started.description})…`;
    const reply = await w.call(
      'train',
      {
        checkpoint,
        x: trainX,
        y: trainY,
        optimizer: { name: 'adam', learningRate: 0.05 },
        epochs: 12,
        batchSize: 8,
        seed: 7,
      },
      {
        signal: controller.signal,
        onProgress: (e: TrainProgress) => {
          if (e.type !== 'batch') return;
          losses.push(e.loss);
          drawLoss(losses);
          status.textContent = `epoch ${e.epoch}, batch ${e.batch}/${e.batches}: loss ${e.loss.toExponential(2)}`;
        },
      },
    );
    await rendering;
    setModel(reply.checkpoint);
    const seconds = (performance.now() - t0) / 1000;
    status.textContent =
      `trained: loss ${losses[0]!.toExponential(2)} → ${losses[losses.length - 1]!.toExponential(2)} in ${seconds.toFixed(1)} s; ` +
      `the page ticked ${ticks - ticks0} times meanwhile`;
    Object.assign(status.dataset, {
      state: 'done',
      first: String(losses[0]),
      last: String(losses[losses.length - 1]),
      seconds: String(seconds),
      ticks: String(ticks - ticks0),
      batches: String(losses.length),
    });
    show('model-status', 'model: trained in the Worker just now');
    await queueRender();
  } catch (e) {
    status.dataset.state = (e as Error).name === 'AbortError' ? 'aborted' : 'failed';
    status.textContent = (e as Error).name === 'AbortError' ? `stopped after ${losses.length} batches` : `training failed: ${(e as Error).message}`;
  } finally {
    trainBtn.disabled = false;
    stopBtn.disabled = true;
    controller = null;
  }
}

async function main(): Promise<void> {
  const wanted = new URLSearchParams(location.search).get('backend');
  const select = $<HTMLSelectElement>('backend');
  if (wanted === 'wasm' || wanted === 'webgpu' || wanted === 'auto') select.value = wanted;
  await startBackend(select.value as 'auto');
  select.addEventListener('change', () => void switchBackend(select.value as 'auto'));

  input = fields(99, 1); // not among the training fields
  const task = demoTask(11, 64);
  trainX = await gc.toWire(task.x);
  trainY = await gc.toWire(task.y);
  task.x.dispose();
  task.y.dispose();

  groupButtons();
  $('load').addEventListener('click', () => void loadByUrl($<HTMLInputElement>('checkpoint-url').value));
  $('train').addEventListener('click', () => void trainInWorker());
  $('stop').addEventListener('click', () => controller?.abort());
  await loadByUrl($<HTMLInputElement>('checkpoint-url').value);
  document.body.dataset.ready = '1';
}

main().catch((e) => {
  show('init-status', `the demo failed to start: ${(e as Error).message}`);
  document.body.dataset.ready = 'error';
});
