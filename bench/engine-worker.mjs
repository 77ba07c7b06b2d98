/**
 * One benchmark engine, hosted in its own worker thread (so that every engine has its own wasm
 * instance and thread count: onnxruntime-web fixes its thread pool at first use, per instance).
 * Protocol (messages from bench/conv.bench.mjs):
 *   { type: 'setup', task }  → builds the task's inputs and model, warms up, replies { output, warmMs }
 *   { type: 'time', reps }   → runs reps timed calls, replies { ms: [...] }
 *   { type: 'dispose' }      → frees the task
 * A task: { kind: 'conv', pass: 'forward' | 'inputGrad' | 'filterGrad', x: [B, ...spatial, Cin], cout, k }
 *      or { kind: 'layer', pass: 'forward' | 'forward+backward', D, side, channels }.
 * Every timed call includes reading the result back as a typed array (ORT session.run, tfjs
 * y.data(), geoconv dataSync()).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { createRequire } from 'node:module';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { filterToOnnx, toChannelsFirst, toChannelsLast, wrapConvModel } from './onnx.mjs';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(join(root, 'package.json'));
const { engine, threads } = workerData;

/** Deterministic inputs shared by every engine: a xorshift generator, values in [-1, 1). */
export function fill(n, seed) {
  const out = new Float32Array(n);
  let s = (seed * 2654435761) >>> 0 || 1;
  for (let i = 0; i < n; i++) {
    s ^= s << 13;
    s >>>= 0;
    s ^= s >>> 17;
    s ^= s << 5;
    s >>>= 0;
    out[i] = s / 2 ** 31 - 1;
  }
  return out;
}

const prod = (a) => a.reduce((p, q) => p * q, 1);

/** Periodic pre-padding of a channels-last image by p on every spatial axis. */
function wrapPad(x, shape, p) {
  const [B, ...rest] = shape;
  const C = rest.pop();
  const D = rest.length;
  const out = rest.map((n) => n + 2 * p);
  const y = new Float32Array(B * prod(out) * C);
  const idx = new Array(D).fill(0);
  for (let b = 0; b < B; b++) {
    for (let o = 0; o < prod(out); o++) {
      let r = o;
      for (let d = D - 1; d >= 0; d--) {
        idx[d] = r % out[d];
        r = Math.floor(r / out[d]);
      }
      let src = 0;
      for (let d = 0; d < D; d++) src = src * rest[d] + ((((idx[d] - p) % rest[d]) + rest[d]) % rest[d]);
      y.set(x.subarray((b * prod(rest) + src) * C, (b * prod(rest) + src + 1) * C), (b * prod(out) + o) * C);
    }
  }
  return { data: y, shape: [B, ...out, C] };
}

/** geoconv's built bundle with the wasm backend of the requested build and thread count. */
async function loadGeoconv(variant) {
  const G = await import(pathToFileURL(join(root, 'dist/index.js')).href);
  await G.init({ backend: 'wasm', threads, wasmVariant: variant });
  return { G, be: G.getBackend('wasm') };
}

/** Builds the engine's runner for a task: { call(): Promise<void>|void, output(): Float32Array } */
async function setup(task) {
  if (task.kind === 'layer') return setupLayer(task);
  const D = task.x.length - 2;
  const cin = task.x.at(-1);
  const taps = task.k ** D;
  const p = (task.k - 1) / 2;
  const x = fill(prod(task.x), 1);
  const w = fill(taps * cin * task.cout, 2);
  const outShape = [...task.x.slice(0, -1), task.cout];

  if (engine.startsWith('geoconv')) {
    const variant = engine === 'geoconv-wasm-relaxed' ? 'relaxed' : 'simd';
    const { G, be } = await loadGeoconv(variant);
    if (be.variant !== variant || be.threads !== threads) throw new Error(`geoconv backend is ${be.variant}/${be.threads} threads (${be.describe()})`);
    const a = G.convAttrs(D, task.k, { padding: p, torus: true });
    const xt = G.tensor(x, task.x, be);
    const wt = G.tensor(w, [taps, cin, task.cout], be);
    const dy = G.tensor(fill(prod(outShape), 3), outShape, be);
    const op =
      task.pass === 'forward'
        ? () => G.conv(xt, wt, a)
        : task.pass === 'inputGrad'
          ? () => G.convInputGrad(dy, wt, a, task.x)
          : () => G.convFilterGrad(xt, dy, a);
    return {
      call() {
        const y = op();
        y.dataSync();
        y.dispose();
      },
      output() {
        const y = op();
        const d = y.dataSync();
        y.dispose();
        return d;
      },
      dispose() {
        xt.dispose();
        wt.dispose();
        dy.dispose();
        be.close();
      },
    };
  }
  if (task.pass !== 'forward') throw new Error(`${engine} runs forward only`);
  if (engine === 'onnxruntime-web' || engine === 'onnxruntime-node') {
    const ort =
      engine === 'onnxruntime-node'
        ? require('onnxruntime-node')
        : await import(pathToFileURL(join(root, 'node_modules/onnxruntime-web/dist/ort.node.min.mjs')).href);
    if (engine === 'onnxruntime-web') {
      ort.env.wasm.numThreads = threads;
      ort.env.wasm.simd = true;
    }
    const inShape = [task.x[0], cin, ...task.x.slice(1, -1)];
    const { bytes, outShape: yShape } = wrapConvModel({
      inputShape: inShape,
      weight: filterToOnnx(w, taps, cin, task.cout),
      kernel: new Array(D).fill(task.k),
      pad: p,
    });
    const opts =
      engine === 'onnxruntime-node'
        ? { intraOpNumThreads: threads, interOpNumThreads: 1, executionMode: 'sequential', graphOptimizationLevel: 'all' }
        : { executionProviders: ['wasm'], graphOptimizationLevel: 'all' };
    const session = await ort.InferenceSession.create(bytes, opts);
    const feeds = { x: new ort.Tensor('float32', toChannelsFirst(x, task.x), inShape) };
    return {
      async call() {
        const r = await session.run(feeds);
        void r.y.data[0];
        r.y.dispose?.();
      },
      async output() {
        const r = await session.run(feeds);
        return toChannelsLast(r.y.data, yShape);
      },
      async dispose() {
        await session.release();
      },
    };
  }
  if (engine === 'tfjs-wasm') {
    const tf = require('@tensorflow/tfjs-core');
    require('@tensorflow/tfjs-backend-wasm');
    if (!(await tf.setBackend('wasm'))) throw new Error('tfjs: the wasm backend did not initialise');
    await tf.ready();
    // Periodic padding: the input is wrap-padded once, outside the timed call (favours tfjs).
    const padded = wrapPad(x, task.x, p);
    const xt = tf.tensor(padded.data, padded.shape);
    const wt = tf.tensor(w, [...new Array(D).fill(task.k), cin, task.cout]);
    const op = () => (D === 2 ? tf.conv2d(xt, wt, 1, 'valid') : tf.conv3d(xt, wt, 1, 'valid'));
    return {
      async call() {
        const y = op();
        await y.data();
        y.dispose();
      },
      async output() {
        const y = op();
        const d = await y.data();
        y.dispose();
        return d;
      },
      dispose() {
        xt.dispose();
        wt.dispose();
      },
    };
  }
  throw new Error(`unknown engine ${engine}`);
}

/** A ConvContract layer (the engine's wasm build) forward or forward+backward. */
async function setupLayer(task) {
  const want = engine === 'geoconv-wasm-relaxed' ? 'relaxed' : 'simd';
  const { G, be } = await loadGeoconv(want);
  if (be.variant !== want || be.threads !== threads) throw new Error(`layer backend is ${be.describe()}, wanted ${want} with ${threads} threads`);
  const sig = [
    { k: 0, parity: 0, channels: task.channels },
    { k: 1, parity: 0, channels: task.channels },
  ];
  const layer = new G.ConvContract({ D: task.D, input: sig, output: sig, M: 3 }, G.random.key(4));
  const width = G.signatureWidth(G.signature(sig), task.D);
  const shape = [1, ...new Array(task.D).fill(task.side), width];
  const x = G.tensor(fill(prod(shape), 5), shape);
  const g = G.tensor(fill(prod(shape), 6), shape);
  const loss = (params, xi) => G.sum(G.mul(layer.apply(params.layer, new G.MultiImage(params.x, sig, task.D)).data, g));
  const vg = G.valueAndGrad(loss);
  const params = { layer: layer.params, x };
  const run = () => {
    if (task.pass === 'forward') {
      const y = layer.call(new G.MultiImage(x, sig, task.D)).data;
      const d = y.dataSync();
      y.dispose();
      return d;
    }
    const { value, grads } = vg(params, x);
    const d = grads.x.dataSync();
    value.dispose();
    G.treeLeaves(grads).forEach((t) => t.dispose());
    return d;
  };
  return {
    call: () => {
      G.tidy(() => {
        run();
      });
    },
    output: () => G.tidy(() => run()),
    dispose() {
      x.dispose();
      g.dispose();
      layer.dispose();
      be.close?.();
    },
  };
}

let current;
parentPort.on('message', async (m) => {
  try {
    if (m.type === 'setup') {
      current = await setup(m.task);
      const output = await current.output();
      const t = performance.now();
      for (let i = 0; i < 2; i++) await current.call();
      const warmMs = (performance.now() - t) / 2;
      parentPort.postMessage({ ok: true, output, warmMs });
    } else if (m.type === 'time') {
      const ms = [];
      for (let i = 0; i < m.reps; i++) {
        const t = performance.now();
        await current.call();
        ms.push(performance.now() - t);
      }
      parentPort.postMessage({ ok: true, ms });
    } else if (m.type === 'dispose') {
      await current?.dispose();
      current = undefined;
      parentPort.postMessage({ ok: true });
    }
  } catch (e) {
    parentPort.postMessage({ ok: false, error: e instanceof Error ? `${e.message}\n${e.stack}` : String(e) });
  }
});
