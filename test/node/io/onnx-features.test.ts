/**
 * exportOnnx beyond the model matrix: options (opsets, periodic padding as wrap or Slice+Concat,
 * layouts), metadata, onnxruntime-web (wasm EP in Node), a model held on the wasm backend, batch-norm
 * statistics, no leaks, clear errors, and the `geoconv export` command.
 */
import { mkdtempSync, readFileSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import * as ortWeb from 'onnxruntime-web';
import { init, memory, random, setBackend, getBackend, scatterAdd, saveCheckpoint, type SignatureLike } from '../../../src/index.js';
import { ConvBlock, ModelWrapper, ResNet, ResidualStep, UNet } from '../../../src/nn/models.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { State } from '../../../src/nn/layers/common.js';
import { Module, registerModule, type Params } from '../../../src/nn/module.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { exportOnnx } from '../../../src/io/onnx.js';
import { main } from '../../../src/cli.js';
import { S, channelsFirstShape, randomImage, relErr, runOrt, toChannelsFirst, type OrtLike } from './onnx-helpers.js';

const IO = [S(0, 0, 1), S(1, 0, 1)];
const unet = (D: 2 | 3 = 2, eq = true) =>
  new UNet({ D, input: IO, output: [S(1, 0, 1), S(2, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1, equivariant: eq }, random.key(11));

function decode(bytes: Uint8Array) {
  return (
    onnxProto as unknown as {
      onnx: {
        ModelProto: {
          decode(b: Uint8Array): {
            irVersion: number;
            graph: {
              node: { opType: string; input: string[]; attribute: { name: string; s?: Uint8Array }[] }[];
              initializer: { name: string }[];
              input: unknown[];
              output: unknown[];
            };
            metadataProps: { key: string; value: string }[];
            opsetImport: { version: number | { toString(): string } }[];
          };
        };
      };
    }
  ).onnx.ModelProto.decode(bytes);
}

async function parity(
  model: Module,
  input: SignatureLike,
  spatial: number[],
  opts: object = {},
  ort?: OrtLike,
  batch = 1,
  torus = true,
): Promise<{ err: number; bytes: Uint8Array }> {
  const x = randomImage(input, spatial.length, spatial, batch, 21, torus);
  const bytes = await exportOnnx(model, model.params, { spatial, batch, torus, ...opts });
  const y = model.call(x);
  const got = await runOrt(
    bytes,
    toChannelsFirst(await x.data.data(), x.data.shape),
    channelsFirstShape(x.data.shape),
    ort,
    ort ? { executionProviders: ['wasm'] } : {},
  );
  const err = relErr(got.data, toChannelsFirst(await y.data.data(), y.data.shape));
  x.dispose();
  y.dispose();
  return { err, bytes };
}

const ALLOWED = new Set([
  'Conv',
  'ConvTranspose',
  'Pad',
  'Slice',
  'Concat',
  'Reshape',
  'Transpose',
  'Gather',
  'GatherElements',
  'ArgMax',
  'Expand',
  'Add',
  'Sub',
  'Mul',
  'Div',
  'Max',
  'Min',
  'Neg',
  'Abs',
  'Sign',
  'Sqrt',
  'Reciprocal',
  'Exp',
  'Log',
  'Relu',
  'Tanh',
  'Sigmoid',
  'Gelu',
  'Greater',
  'GreaterOrEqual',
  'Equal',
  'Cast',
  'ReduceSum',
  'ReduceMax',
  'MatMul',
  'Identity',
]);

describe('exportOnnx options and metadata', { timeout: 120_000 }, () => {
  it('opsets 18–21; periodic padding as Pad(wrap) or Slice+Concat give the same outputs', async () => {
    const m = unet();
    const seen = new Map<string, Set<string>>();
    for (const [opset, pp] of [
      [18, 'slice-concat'],
      [19, 'wrap'],
      [19, 'slice-concat'],
      [20, 'wrap'],
      [21, 'wrap'],
    ] as const) {
      const { err, bytes } = await parity(m, IO, [8, 8], { opset, periodicPadding: pp });
      expect(err).toBeLessThan(1e-5);
      const d = decode(bytes);
      expect(Number(d.opsetImport[0]!.version)).toBe(opset);
      const ops = new Set(d.graph.node.map((n) => n.opType));
      seen.set(`${opset}/${pp}`, ops);
      for (const op of ops) expect(ALLOWED.has(op), op).toBe(true);
      const wraps = d.graph.node.filter(
        (n) => n.opType === 'Pad' && n.attribute.some((a) => a.name === 'mode' && new TextDecoder().decode(a.s) === 'wrap'),
      ).length;
      if (pp === 'wrap') expect(wraps).toBeGreaterThan(0);
      else expect(wraps).toBe(0);
    }
    expect(seen.get('20/wrap')!.has('Gelu')).toBe(true); // GELU (tanh) is one op from opset 20
    expect(seen.get('19/wrap')!.has('Gelu')).toBe(false);
    expect(seen.get('19/wrap')!.has('ReduceMax')).toBe(true); // max-norm pooling: the window's largest norm, exact ties shared
    expect(seen.get('19/wrap')!.has('ConvTranspose')).toBe(true); // learned upsampling (lhs dilation)
    m.dispose();
  });

  it('D = 3 torus padding through Slice+Concat as well as wrap', async () => {
    const m = new ConvBlock({ D: 3, input: IO, output: IO }, random.key(12));
    expect((await parity(m, IO, [4, 4, 4], { periodicPadding: 'slice-concat' })).err).toBeLessThan(1e-5);
    expect((await parity(m, IO, [3, 5, 4], { periodicPadding: 'wrap' })).err).toBeLessThan(1e-5);
    m.dispose();
  });

  it('learned upsampling as ConvTranspose or as zero insertion + Conv: same outputs, D = 2 and 3', async () => {
    for (const D of [2, 3] as const) {
      const m = unet(D);
      const spatial = new Array<number>(D).fill(D === 2 ? 8 : 4);
      for (const convTranspose of [true, false]) {
        const { err, bytes } = await parity(m, IO, spatial, { convTranspose }, undefined, 2, D === 3);
        expect(err).toBeLessThan(1e-5);
        expect(decode(bytes).graph.node.some((n) => n.opType === 'ConvTranspose')).toBe(convTranspose);
      }
      m.dispose();
    }
  });

  it("filters 'factored' (the default) and 'dense': the same outputs, D = 2 and 3; factored files are smaller", async () => {
    for (const D of [2, 3] as const) {
      const m = new UNet({ D, input: IO, output: [S(1, 0, 1)], depth: 8, numDownsamples: 1, numConv: 1 }, random.key(12));
      const spatial = new Array<number>(D).fill(D === 2 ? 8 : 4);
      const factored = await parity(m, IO, spatial, {}, undefined, 1, true);
      const dense = await parity(m, IO, spatial, { filters: 'dense' }, undefined, 1, true);
      expect(factored.err).toBeLessThan(1e-5);
      expect(dense.err).toBeLessThan(1e-5);
      expect(factored.bytes.length, `D = ${D}: ${factored.bytes.length} vs ${dense.bytes.length} bytes`).toBeLessThan(dense.bytes.length / 2);
      // dense: every Conv/ConvTranspose weight is an initializer; factored: formed by MatMul nodes
      const matmuls = (b: Uint8Array) => decode(b).graph.node.filter((n) => n.opType === 'MatMul').length;
      expect(matmuls(factored.bytes)).toBeGreaterThan(matmuls(dense.bytes));
      // the weights of the convolutions, the transposed one (a flipped filter) included, are computed, not stored
      const weights = (b: Uint8Array, op: string) => {
        const { graph } = decode(b);
        const stored = new Set(graph.initializer.map((t) => t.name));
        return graph.node.filter((n) => n.opType === op).map((n) => stored.has(n.input[1]!));
      };
      for (const op of ['Conv', 'ConvTranspose']) {
        expect(weights(dense.bytes, op).every((w) => w)).toBe(true);
        expect(weights(factored.bytes, op).filter((w) => !w).length, op).toBeGreaterThan(0);
      }
      expect(weights(factored.bytes, 'ConvTranspose')).toEqual([false]);
      m.dispose();
    }
  });

  it('a factored filter with a pair that has no invariant filter (a zero block, written as Expand)', async () => {
    const sig = [S(0, 0, 8), S(1, 0, 8)];
    const layer = new ConvContract({ D: 2, input: sig, output: sig, filters: { M: 3, ks: [0, 1] } }, random.key(13)); // no vector→vector filters
    expect(layer.missingFilter).toBe(true);
    const { err, bytes } = await parity(layer, sig, [6, 6]);
    expect(err).toBeLessThan(1e-5);
    const expands = (b: Uint8Array) => decode(b).graph.node.filter((n) => n.opType === 'Expand').length;
    const dense = await parity(layer, sig, [6, 6], { filters: 'dense' });
    expect(expands(bytes)).toBeGreaterThan(expands(dense.bytes));
    expect(bytes.length).toBeLessThan(dense.bytes.length / 2);
    layer.dispose();
  });

  it("the `npm start` emulator UNet: ORT is as close to the float64 reference as geoconv's own float32 wasm", async () => {
    // Max-norm pooling picks each window's largest norm: where two norms tie to float32 rounding, any
    // float32 runtime may pick the other pixel (a 1e-7 input change moves the float64 output by ~1e-2
    // on this trained-size config), so the check is against the float64 reference, relative to wasm.
    // 2 past frames of vorticity (+ the forcing) and velocity → the next frame, as a residual step
    const input = [S(0, 1, 3), S(1, 0, 2)];
    const config = { D: 2 as const, input, output: [S(0, 1, 1), S(1, 0, 1)], depth: 8, numDownsamples: 2, numConv: 2, nonlinearity: 'norm' as const };
    const emulator = () => new ResidualStep({ model: new UNet(config, random.key(18)), pastSteps: 2 });
    const m = emulator();
    const x = randomImage(input, 2, [16, 16], 1, 19);
    const y = m.call(x);
    const want = toChannelsFirst(await y.data.data(), y.data.shape);
    const bytes = await exportOnnx(m, m.params, { spatial: [16, 16] });
    const got = await runOrt(bytes, toChannelsFirst(await x.data.data(), x.data.shape), channelsFirstShape(x.data.shape));
    const prev = getBackend().name;
    await init({ backend: 'wasm', threads: 1 });
    let wasmErr: number;
    try {
      const w = emulator();
      const xw = randomImage(input, 2, [16, 16], 1, 19);
      const yw = w.call(xw);
      wasmErr = relErr(toChannelsFirst(await yw.data.data(), yw.data.shape), want);
      for (const t of [xw, yw, w]) t.dispose();
    } finally {
      setBackend(prev);
    }
    const ortErr = relErr(got.data, want);
    expect(ortErr).toBeLessThanOrEqual(Math.max(2 * wasmErr, 1e-5));
    for (const t of [x, y, m]) t.dispose();
  });

  it('metadata_props record signature, D, layout, shapes and the geoconv version; channels-last layout', async () => {
    const m = unet();
    const bytes = await exportOnnx(m, m.params, { spatial: [8, 8], batch: 4, layout: 'channels-last' });
    const meta = Object.fromEntries(decode(bytes).metadataProps.map((p) => [p.key, p.value]));
    expect(meta['geoconv.D']).toBe('2');
    expect(meta['geoconv.layout']).toBe('channels-last');
    expect(JSON.parse(meta['geoconv.input.signature']!)).toEqual(IO);
    expect(JSON.parse(meta['geoconv.output.signature']!)).toEqual([S(1, 0, 1), S(2, 0, 1)]);
    expect(JSON.parse(meta['geoconv.input.shape']!)).toEqual([4, 8, 8, 3]);
    expect(JSON.parse(meta['geoconv.output.shape']!)).toEqual([4, 8, 8, 6]);
    expect(meta['geoconv.version']).toBe((await import('../../../src/version.js')).version);
    expect(JSON.parse(meta['geoconv.config']!)).toEqual(JSON.parse(JSON.stringify(m.config)));
    // channels-last graph: feed MultiImage.data as is.
    const x = randomImage(IO, 2, [8, 8], 4, 5);
    const got = await runOrt(bytes, await x.data.data(), x.data.shape);
    const y = m.call(x);
    expect(relErr(got.data, await y.data.data())).toBeLessThan(1e-5);
    x.dispose();
    y.dispose();
    m.dispose();
  });

  it('onnxruntime-web (wasm EP, in Node) runs the export: UNet D = 2 and 3, baseline ResNet', async () => {
    ortWeb.env.wasm.numThreads = 1;
    const ort = ortWeb as unknown as OrtLike;
    for (const [m, input, spatial] of [
      [unet(2), IO, [8, 8]],
      [unet(3), IO, [4, 4, 4]],
      [new ResNet({ D: 2, input: IO, output: IO, depth: 2, numBlocks: 1, equivariant: false }, random.key(13)), IO, [6, 6]],
    ] as [Module, SignatureLike, number[]][]) {
      expect((await parity(m, input, spatial, {}, ort)).err).toBeLessThan(1e-5);
      expect((await parity(m, input, spatial, {}, ort, 4, false)).err).toBeLessThan(1e-5);
      m.dispose();
    }
  });

  it('a model on the wasm backend (rebuilt on ref for the trace) exports to the same outputs', async () => {
    const before = getBackend().name;
    await init({ backend: 'wasm', threads: 1 });
    try {
      const m = unet();
      expect(m.buffers()[0]!.backend.name).toBe('wasm');
      expect((await parity(m, IO, [8, 8])).err).toBeLessThan(1e-5);
      expect(getBackend().name).toBe('wasm'); // restored
      m.dispose();
    } finally {
      setBackend(before);
    }
  });

  it('batch-norm running statistics (State) are exported', async () => {
    const m = new ConvBlock({ D: 2, input: [S(0, 0, 3)], output: [S(0, 0, 3)], equivariant: false, useBatchNorm: true }, random.key(14));
    const state = new State();
    const xt = randomImage([S(0, 0, 3)], 2, [6, 6], 4, 15);
    m.apply(m.params, xt, { training: true, state } as never).dispose();
    const x = randomImage([S(0, 0, 3)], 2, [6, 6], 1, 16);
    const y = m.apply(m.params, x, { state } as never);
    const bytes = await exportOnnx(m, m.params, { spatial: [6, 6], state });
    const got = await runOrt(bytes, toChannelsFirst(await x.data.data(), x.data.shape), channelsFirstShape(x.data.shape));
    const want = toChannelsFirst(await y.data.data(), y.data.shape);
    expect(relErr(got.data, want)).toBeLessThan(1e-5);
    // Without the state the initial statistics are used: a different function.
    const plain = await runOrt(
      await exportOnnx(m, m.params, { spatial: [6, 6] }),
      toChannelsFirst(await x.data.data(), x.data.shape),
      channelsFirstShape(x.data.shape),
    );
    expect(relErr(plain.data, want)).toBeGreaterThan(1e-3);
    for (const t of [xt, x, y]) t.dispose();
    state.dispose();
    m.dispose();
  });

  it('exporting leaks no tensors (on ref and from wasm)', async () => {
    const m = unet();
    await exportOnnx(m, m.params, { spatial: [8, 8] });
    const before = memory();
    await exportOnnx(m, m.params, { spatial: [8, 8], batch: 2 });
    expect(memory()).toEqual(before);
    m.dispose();
    const prev = getBackend().name;
    await init({ backend: 'wasm', threads: 1 });
    try {
      const w = unet();
      const b2 = memory();
      await exportOnnx(w, w.params, { spatial: [8, 8] });
      expect(memory()).toEqual(b2);
      w.dispose();
    } finally {
      setBackend(prev);
    }
  });
});

/** A layer whose forward pass uses scatterAdd on the input (a training-only primitive). */
class Scatter extends Module {
  readonly config = { type: 'OnnxTestScatter', D: 2 };
  readonly params: Params = {};
  readonly D = 2;
  readonly input = [S(0, 0, 1)];
  apply(_p: Params, x: MultiImage): MultiImage {
    const n = x.data.size;
    const idx = Int32Array.from({ length: n }, (_, i) => n - 1 - i);
    return new MultiImage(scatterAdd(x.data, x.data.shape, idx), x.signature, 2, x.isTorus);
  }
}
registerModule('OnnxTestScatter', () => new Scatter());

class Constant extends Module {
  readonly config = { type: 'OnnxTestConstant', D: 2 };
  readonly params: Params = {};
  readonly D = 2;
  readonly input = [S(0, 0, 1)];
  apply(_p: Params, x: MultiImage): MultiImage {
    return randomImage(x.signature, 2, x.spatial, x.batch, 1);
  }
}

describe('exportOnnx errors', () => {
  const m = unet();
  afterAll(() => m.dispose());
  const cases: [string, () => Promise<unknown>, RegExp][] = [
    ['spatial of the wrong length', () => exportOnnx(m, m.params, { spatial: [8] }), /exportOnnx.*options\.spatial.*2 integers >= 1/],
    ['opset 17', () => exportOnnx(m, m.params, { spatial: [8, 8], opset: 17 }), /options\.opset.*one of 18, 19, 20, 21.*17/],
    [
      'wrap padding at opset 18',
      () => exportOnnx(m, m.params, { spatial: [8, 8], opset: 18, periodicPadding: 'wrap' }),
      /periodicPadding.*slice-concat.*opset 18/,
    ],
    ['an unknown layout', () => exportOnnx(m, m.params, { spatial: [8, 8], layout: 'nhwc' as never }), /options\.layout/],
    [
      'an unknown filters mode',
      () => exportOnnx(m, m.params, { spatial: [8, 8], filters: 'folded' as never }),
      /options\.filters must be "factored" or "dense"/,
    ],
    ['batch 0', () => exportOnnx(m, m.params, { spatial: [8, 8], batch: 0 }), /options\.batch.*integer >= 1/],
    ['a wrong input signature', () => exportOnnx(m, m.params, { spatial: [8, 8], input: [S(0, 0, 2)] }), /options\.input.*\(0,0\):1, \(1,0\):1/],
    ['a spatial size the UNet cannot pool', () => exportOnnx(m, m.params, { spatial: [7, 8] }), /forward pass failed in UNet.*/],
    [
      'ModelWrapper without an input signature',
      () => {
        const w = new ModelWrapper({ model: new ConvBlock({ D: 2, input: [S(0, 0, 3)], output: [S(0, 0, 3)] }, random.key(1)), output: IO });
        return exportOnnx(w, w.params, { spatial: [4, 4] });
      },
      /options\.input.*ModelWrapper model does not declare one/,
    ],
    ['a layer using scatterAdd on the input', () => exportOnnx(new Scatter(), {}, { spatial: [4, 4] }), /OnnxTestScatter.*"scatterAdd".*no ONNX lowering/],
    ['an output that ignores the input', () => exportOnnx(new Constant(), {}, { spatial: [4, 4] }), /does not depend on its input/],
  ];
  for (const [what, run, message] of cases) {
    it(what, async () => {
      const before = memory();
      await expect(run()).rejects.toThrow(message);
      if (what !== 'an output that ignores the input' && what !== 'ModelWrapper without an input signature') expect(memory()).toEqual(before);
    });
  }
});

describe('geoconv export', { timeout: 120_000 }, () => {
  const dir = mkdtempSync(join(tmpdir(), 'geoconv-onnx-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  it("writes an ONNX file from a checkpoint whose outputs equal the model's", async () => {
    const m = new UNet({ D: 2, input: IO, output: [S(1, 0, 1)], depth: 8, numDownsamples: 1, numConv: 1 }, random.key(12));
    const ckpt = join(dir, 'unet.safetensors');
    await saveCheckpoint(ckpt, m);
    const out: string[] = [];
    const err: string[] = [];
    const onnxPath = join(dir, 'unet.onnx');
    expect(
      await main(
        ['export', ckpt, '--onnx', onnxPath, '--spatial', '8,8', '--batch', '2'],
        (s) => out.push(s),
        (s) => err.push(s),
      ),
    ).toBe(0);
    expect(out.join('\n')).toMatch(/wrote .*unet\.onnx/);
    const bytes = new Uint8Array(readFileSync(onnxPath));
    const x = randomImage(IO, 2, [8, 8], 2, 31);
    const y = m.call(x);
    const got = await runOrt(bytes, toChannelsFirst(await x.data.data(), x.data.shape), channelsFirstShape(x.data.shape));
    expect(relErr(got.data, toChannelsFirst(await y.data.data(), y.data.shape))).toBeLessThan(1e-5);
    // --filters dense writes every filter as an initializer: the larger file
    const densePath = join(dir, 'unet-dense.onnx');
    expect(
      await main(
        ['export', ckpt, '--onnx', densePath, '--spatial', '8,8', '--batch', '2', '--filters', 'dense'],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(0);
    expect(readFileSync(densePath).length).toBeGreaterThan(bytes.length);
    x.dispose();
    y.dispose();
    m.dispose();
  });
  it('the built bin exports a checkpoint in a fresh process (nothing registered beforehand)', async () => {
    const { execFileSync } = await import('node:child_process');
    const bin = new URL('../../../bin/geoconv.js', import.meta.url).pathname;
    const m = new ResNet({ D: 3, input: IO, output: IO, depth: 1, numBlocks: 1 }, random.key(17));
    const ckpt = join(dir, 'resnet3.safetensors');
    await saveCheckpoint(ckpt, m);
    const onnxPath = join(dir, 'resnet3.onnx');
    const text = execFileSync(process.execPath, [bin, 'export', ckpt, '--onnx', onnxPath, '--spatial', '4,4,4', '--padding', 'zero'], { encoding: 'utf8' });
    expect(text).toMatch(/wrote .*resnet3\.onnx: ResNet \(D = 3\)/);
    const x = randomImage(IO, 3, [4, 4, 4], 1, 33, false);
    const y = m.call(x);
    const got = await runOrt(new Uint8Array(readFileSync(onnxPath)), toChannelsFirst(await x.data.data(), x.data.shape), channelsFirstShape(x.data.shape));
    expect(relErr(got.data, toChannelsFirst(await y.data.data(), y.data.shape))).toBeLessThan(1e-5);
    x.dispose();
    y.dispose();
    m.dispose();
  });
  it('refuses bad arguments with a usage message and writes nothing', async () => {
    const err: string[] = [];
    expect(
      await main(
        ['export', join(dir, 'missing.safetensors'), '--onnx', join(dir, 'x.onnx')],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/cannot read the file/);
    expect(
      await main(
        ['export', join(dir, 'missing.safetensors')],
        () => {},
        (s) => err.push(s),
      ),
    ).toBe(2);
    expect(err.join('\n')).toMatch(/--onnx FILE\.onnx is required/);
    expect(existsSync(join(dir, 'x.onnx'))).toBe(false);
  });
});
