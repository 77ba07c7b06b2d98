/**
 * Finite-difference gradient checks (float64 on ref) of every layer's parameters, and of the input
 * for the parameter-free layers.
 */
import { describe, it } from 'vitest';
import { random } from '../../../src/index.js';
import type { MultiImage } from '../../../src/geometric/multi-image.js';
import type { Module, Params } from '../../../src/nn/module.js';
import {
  Activation,
  AveragePool,
  BatchNorm,
  Conv,
  ConvTranspose,
  GroupNorm,
  LayerNorm,
  MaxNormPool,
  NormNonlinear,
  Sequential,
  Unpool,
  VectorNeuronNonlinear,
  upsampleConv,
} from '../../../src/nn/layers/index.js';
import { allKeys, disposeTree, gradcheckInput, gradcheckParams, randomMulti, randomParams } from './layers-helpers.js';

function checkParams(layer: Module, x: MultiImage, seed: number, range: [number, number] = [-1, 1], apply?: (p: Params, x: MultiImage) => MultiImage): void {
  const params = randomParams(layer.params, seed, ...range);
  if (apply) gradcheckParams({ apply } as unknown as Module, params, x);
  else gradcheckParams(layer, params, x);
  disposeTree(params);
  x.dispose();
  layer.dispose();
}

describe.each([2, 3])('parameter gradients, D=%i', (D) => {
  const N = D === 2 ? 3 : 2;
  it.each(['relu', 'gelu', 'tanh'] as const)('VectorNeuronNonlinear (%s)', (activation) => {
    checkParams(new VectorNeuronNonlinear({ D, input: allKeys(2), activation }, random.key(1)), randomMulti(600, allKeys(2), D, N), 601);
  });

  it('NormNonlinear (gelu)', () => {
    checkParams(new NormNonlinear({ D, input: allKeys(2), activation: 'gelu' }), randomMulti(610, allKeys(2), D, N), 611);
  });

  it('GroupNorm (2 groups; k = 0, 1 whitening, 2)', () => {
    checkParams(new GroupNorm({ D, input: allKeys(2), groups: 2 }), randomMulti(620, allKeys(2), D, N), 621);
  });

  it('LayerNorm: gradient through the whitening reaches the input too', () => {
    const sig = [
      [[1, 0], 2],
      [[1, 1], 1],
    ] as const;
    const layer = new LayerNorm({ D, input: sig });
    const x = randomMulti(630, sig, D, N, 1);
    const params = randomParams(layer.params, 631);
    gradcheckInput(layer, params, x);
    disposeTree(params);
    checkParams(layer, x, 632);
  });

  it('Conv (3^D, SAME) and ConvTranspose (kernel 2, stride 2)', () => {
    checkParams(new Conv({ D, inChannels: 2, outChannels: 2, kernel: 3 }, random.key(2)), randomMulti(640, [[[0, 0], 2]], D, N), 641);
    checkParams(new ConvTranspose({ D, inChannels: 2, outChannels: 2, kernel: 2 }, random.key(3)), randomMulti(642, [[[0, 0], 2]], D, 2), 643);
  });

  it('BatchNorm (training mode: batch statistics)', () => {
    const layer = new BatchNorm({
      D,
      input: [
        [[0, 0], 2],
        [[1, 0], 1],
      ],
    });
    checkParams(layer, randomMulti(650, layer.input, D, N), 651, [-1, 1], (p, x) => layer.apply(p, x, { training: true }));
  });

  it('upsampleConv (a ConvContract)', () => {
    const s = [
      [[0, 0], 1],
      [[1, 0], 1],
    ] as const;
    checkParams(upsampleConv({ D, input: s, output: s }, random.key(4)), randomMulti(660, s, D, 2), 661);
  });

  it('Sequential(LayerNorm, VN, NormNonlinear)', () => {
    const sig = allKeys(1);
    checkParams(
      new Sequential([
        new LayerNorm({ D, input: sig }),
        new VectorNeuronNonlinear({ D, input: sig, activation: 'tanh' }, random.key(5)),
        new NormNonlinear({ D, input: sig, activation: 'tanh' }),
      ]),
      randomMulti(670, sig, D, N),
      671,
    );
  });
});

describe.each([2, 3])('input gradients of parameter-free layers, D=%i', (D) => {
  const sig = [
    [[0, 0], 1],
    [[1, 1], 1],
    [[2, 0], 1],
  ] as const;
  it.each([
    ['MaxNormPool(2)', () => new MaxNormPool(2)],
    ['AveragePool(2)', () => new AveragePool(2)],
    ['Unpool(2)', () => new Unpool(2)],
    ['Activation(gelu)', () => new Activation('gelu')],
  ] as const)('%s', (_name, make) => {
    const x = randomMulti(680, sig, D, 2);
    gradcheckInput(make(), {}, x);
    x.dispose();
  });
});
