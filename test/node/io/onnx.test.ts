/**
 * ONNX export, verified in onnxruntime-node: every model class, equivariant and baseline, D = 2 and
 * 3, torus and zero padding, batch 1 and 4 — ORT's output equals `model.apply`'s to 1e-5 relative
 * (max|Δ| / max|y|). Models and images are small (2 shared CPU cores).
 */
import { describe, expect, it } from 'vitest';
import onnxProto from 'onnx-proto';
import { random, type SignatureLike } from '../../../src/index.js';
import { ConvBlock, DilResNet, GroupAverage, ModelWrapper, ResNet, UNet } from '../../../src/nn/models.js';
import type { Module } from '../../../src/nn/module.js';
import { exportOnnx } from '../../../src/io/onnx.js';
import { S, channelsFirstShape, randomImage, relErr, runOrt, toChannelsFirst } from './onnx-helpers.js';

const SIG = [S(0, 0, 1), S(0, 1, 1), S(1, 0, 1), S(1, 1, 1), S(2, 0, 1)];
const SCALARS = [S(0, 0, 2)];

interface Case {
  readonly name: string;
  readonly make: (D: 2 | 3, equivariant: boolean) => { model: Module; input: SignatureLike };
  /** Spatial side per D (UNet: divisible by 2). */
  readonly side: (D: 2 | 3) => number;
}

const CASES: Case[] = [
  {
    name: 'ConvBlock',
    side: (D) => (D === 2 ? 6 : 4),
    make: (D, eq) => {
      const input = eq ? SIG : SCALARS;
      return { model: new ConvBlock({ D, input, output: input, equivariant: eq, useGroupNorm: true }, random.key(1)), input };
    },
  },
  {
    name: 'UNet',
    side: (D) => (D === 2 ? 8 : 4),
    make: (D, eq) => {
      const input = [S(0, 0, 1), S(1, 0, 1)];
      return {
        model: new UNet(
          { D, input, output: [S(1, 0, 1), S(2, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1, equivariant: eq, useGroupNorm: true },
          random.key(2),
        ),
        input,
      };
    },
  },
  {
    name: 'ResNet',
    side: (D) => (D === 2 ? 6 : 4),
    make: (D, eq) => {
      const input = [S(0, 1, 1), S(1, 1, 1)];
      return {
        model: new ResNet({ D, input, output: input, depth: 2, numBlocks: 1, equivariant: eq, useGroupNorm: true, activation: 'relu' }, random.key(3)),
        input,
      };
    },
  },
  {
    name: 'DilResNet',
    side: (D) => (D === 2 ? 9 : 5),
    make: (D, eq) => {
      const input = [S(0, 0, 1), S(2, 1, 1)];
      return { model: new DilResNet({ D, input, output: input, depth: 1, numBlocks: 1, equivariant: eq }, random.key(4)), input };
    },
  },
  {
    name: 'ModelWrapper',
    side: (D) => (D === 2 ? 6 : 4),
    make: (D, eq) => {
      const input = [S(0, 0, 1), S(1, 0, 1)];
      const width = 1 + D;
      const inner = new ConvBlock({ D, input: [S(0, 0, width)], output: [S(0, 0, width)], equivariant: eq }, random.key(5));
      return { model: new ModelWrapper({ model: inner, output: input }), input };
    },
  },
  {
    name: 'GroupAverage',
    side: (D) => (D === 2 ? 6 : 4),
    make: (D, eq) => {
      const input = [S(0, 0, 1), S(1, 0, 1)];
      // D = 3 averages over 48 elements: a single block keeps the reference run short.
      const inner =
        D === 2
          ? new ResNet({ D, input, output: input, depth: 1, numBlocks: 1, equivariant: eq }, random.key(6))
          : new ConvBlock({ D, input: eq ? input : [S(0, 0, 4)], output: eq ? input : [S(0, 0, 4)], equivariant: eq }, random.key(6));
      // (a baseline ConvBlock takes scalar channels: wrapped so that it reads the geometric input's components)
      return { model: new GroupAverage({ model: D === 3 && !eq ? new ModelWrapper({ model: inner, output: input }) : inner }), input };
    },
  },
];

async function check(
  model: Module,
  input: SignatureLike,
  D: number,
  side: number,
  batch: number,
  torus: boolean,
  opts: object = {},
): Promise<{ err: number; bytes: Uint8Array }> {
  const spatial = new Array<number>(D).fill(side);
  const x = randomImage(input, D, spatial, batch, 7, torus);
  const bytes = await exportOnnx(model, model.params, { spatial, batch, torus, input, ...opts });
  const y = model.call(x);
  const got = await runOrt(bytes, toChannelsFirst(await x.data.data(), x.data.shape), channelsFirstShape(x.data.shape));
  expect(got.dims).toEqual(channelsFirstShape(y.data.shape));
  const err = relErr(got.data, toChannelsFirst(await y.data.data(), y.data.shape));
  x.dispose();
  y.dispose();
  return { err, bytes };
}

function decode(bytes: Uint8Array) {
  return (
    onnxProto as unknown as {
      onnx: {
        ModelProto: {
          decode(b: Uint8Array): {
            graph: { node: { opType: string; attribute: { name: string; s?: Uint8Array }[] }[] };
            metadataProps: { key: string; value: string }[];
            opsetImport: { version: number }[];
          };
        };
      };
    }
  ).onnx.ModelProto.decode(bytes);
}

const opTypes = (bytes: Uint8Array) => new Set(decode(bytes).graph.node.map((n) => n.opType));

describe('exportOnnx: ORT equals apply', { timeout: 120_000 }, () => {
  for (const c of CASES) {
    for (const D of [2, 3] as const) {
      for (const eq of [true, false]) {
        it(`${c.name} D=${D} ${eq ? 'equivariant' : 'baseline'}: torus batch 1, zero padding batch 4`, async () => {
          const { model, input } = c.make(D, eq);
          const a = await check(model, input, D, c.side(D), 1, true);
          const b = await check(model, input, D, c.side(D), 4, false);
          expect(a.err).toBeLessThan(1e-5);
          expect(b.err).toBeLessThan(1e-5);
          // Equivariant convolutions pad periodically on the torus (baselines always zero-pad, as ginjax).
          if (eq && c.name !== 'ModelWrapper') expect(opTypes(a.bytes).has('Pad')).toBe(true);
          expect(
            opTypes(b.bytes).has('Pad') &&
              decode(b.bytes).graph.node.some((n) => n.attribute.some((t) => t.name === 'mode' && new TextDecoder().decode(t.s) === 'wrap')),
          ).toBe(false);
          model.dispose();
        });
      }
    }
  }
  it('UNet and ConvBlock: every torus × batch combination, D = 2', async () => {
    for (const c of [CASES[0]!, CASES[1]!]) {
      const { model, input } = c.make(2, true);
      for (const torus of [true, false]) for (const batch of [1, 4]) expect((await check(model, input, 2, c.side(2), batch, torus)).err).toBeLessThan(1e-5);
      model.dispose();
    }
  });
});
