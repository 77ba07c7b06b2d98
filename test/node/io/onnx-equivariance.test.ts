/**
 * The exported graph is still equivariant: through onnxruntime-node, ORT(g·x) = g·ORT(x) for every
 * group element (D = 2: 8, D = 3: 48), on graphs exported channels-last (the layout of
 * MultiImage.data, so the group action applies to ORT's output directly). A baseline's export is
 * not equivariant (the check can fail).
 */
import { describe, expect, it } from 'vitest';
import * as ort from 'onnxruntime-node';
import { MultiImage, operators, random, tensor, type SignatureLike } from '../../../src/index.js';
import { ConvBlock, DilResNet, ResNet, UNet } from '../../../src/nn/models.js';
import type { Module } from '../../../src/nn/module.js';
import { exportOnnx } from '../../../src/io/onnx.js';
import { S, randomImage, relErr } from './onnx-helpers.js';

/** max over g of |ORT(g·x) − g·ORT(x)| / max|g·ORT(x)|. */
async function ortEquivarianceError(model: Module, input: SignatureLike, D: number, side: number): Promise<number> {
  const spatial = new Array<number>(D).fill(side);
  const bytes = await exportOnnx(model, model.params, { spatial, layout: 'channels-last' });
  const session = await ort.InferenceSession.create(bytes);
  const x = randomImage(input, D, spatial, 1, 3);
  const run = async (img: MultiImage) => (await session.run({ x: new ort.Tensor('float32', await img.data.data(), img.data.shape as number[]) })).y!;
  const y0 = await run(x);
  const outSig = JSON.parse(
    String((await import('onnx-proto')).default.onnx.ModelProto.decode(bytes).metadataProps.find((p) => p.key === 'geoconv.output.signature')!.value),
  );
  const yImg = new MultiImage(tensor(y0.data as Float32Array, [...y0.dims]), outSig, D, true);
  let worst = 0;
  for (const g of operators(D)) {
    const gx = x.timesGroupElement(g);
    const a = await run(gx);
    const gy = yImg.timesGroupElement(g);
    worst = Math.max(worst, relErr(a.data as Float32Array, await gy.data.data()));
    gx.dispose();
    gy.dispose();
  }
  await session.release();
  x.dispose();
  yImg.dispose();
  return worst;
}

const SIG = [S(0, 0, 1), S(0, 1, 1), S(1, 0, 1), S(1, 1, 1), S(2, 0, 1)];

describe('exported models stay equivariant (every group element, through ORT)', { timeout: 120_000 }, () => {
  it('D = 2: ConvBlock, UNet, ResNet, DilResNet (8 elements each)', async () => {
    const models: [Module, SignatureLike, number][] = [
      [new ConvBlock({ D: 2, input: SIG, output: SIG, useGroupNorm: true }, random.key(1)), SIG, 6],
      [
        new UNet({ D: 2, input: [S(0, 0, 1), S(1, 0, 1)], output: [S(1, 0, 1), S(2, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1 }, random.key(2)),
        [S(0, 0, 1), S(1, 0, 1)],
        8,
      ],
      [
        new ResNet({ D: 2, input: [S(0, 1, 1), S(1, 1, 1)], output: [S(0, 1, 1), S(1, 1, 1)], depth: 2, numBlocks: 1 }, random.key(3)),
        [S(0, 1, 1), S(1, 1, 1)],
        6,
      ],
      [
        new DilResNet({ D: 2, input: [S(0, 0, 1), S(2, 1, 1)], output: [S(0, 0, 1), S(2, 1, 1)], depth: 1, numBlocks: 1 }, random.key(4)),
        [S(0, 0, 1), S(2, 1, 1)],
        9,
      ],
    ];
    for (const [m, sig, side] of models) {
      expect(await ortEquivarianceError(m, sig, 2, side)).toBeLessThan(1e-5);
      m.dispose();
    }
  });
  it('D = 3: ConvBlock and UNet (48 elements each)', async () => {
    const block = new ConvBlock({ D: 3, input: SIG, output: SIG }, random.key(5));
    expect(await ortEquivarianceError(block, SIG, 3, 4)).toBeLessThan(1e-5);
    block.dispose();
    const unet = new UNet({ D: 3, input: [S(0, 0, 1), S(1, 0, 1)], output: [S(1, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1 }, random.key(6));
    expect(await ortEquivarianceError(unet, [S(0, 0, 1), S(1, 0, 1)], 3, 4)).toBeLessThan(1e-5);
    unet.dispose();
  });
  it('a baseline export is not equivariant (the check detects it)', async () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    const base = new UNet({ D: 2, input: sig, output: [S(1, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1, equivariant: false }, random.key(7));
    expect(await ortEquivarianceError(base, sig, 2, 8)).toBeGreaterThan(1e-2);
    base.dispose();
  });
});
