/**
 * Equivariance of every equivariant layer under EVERY group element of B_2 (8) and B_3 (48), with
 * scalars, pseudoscalars, vectors, pseudovectors and 2-tensors of both parities, random inputs and
 * random (non-init) parameters; and the baselines shown NOT to be equivariant.
 */
import { describe, expect, it } from 'vitest';
import { random } from '../../../src/index.js';
import { operators } from '../../../src/geometric/group.js';
import type { Module, Params } from '../../../src/nn/module.js';
import {
  Activation,
  AveragePool,
  BatchNorm,
  Conv,
  ConvTranspose,
  GroupNorm,
  Identity,
  LayerNorm,
  MaxNormPool,
  NormNonlinear,
  Sequential,
  Unpool,
  VectorNeuronNonlinear,
  upsampleConv,
} from '../../../src/nn/layers/index.js';
import { allKeys, disposeTree, equivarianceErrors, randomMulti, randomParams } from './layers-helpers.js';

const TOL = 1e-4;
const spatialOf = (D: number) => (D === 2 ? 6 : 4);

function expectEquivariant(
  layer: Module,
  D: number,
  seed: number,
  { paramRange = [-1, 1] as [number, number], spatial = spatialOf(D), sig = allKeys(2) } = {},
): void {
  const x = randomMulti(seed, sig, D, spatial);
  const params: Params = randomParams(layer.params, seed + 7, ...paramRange);
  const errs = equivarianceErrors(layer, params, x);
  expect(errs.length).toBe(operators(D).length);
  const worst = Math.max(...errs);
  expect(worst, `worst relative error over ${errs.length} group elements: ${worst}`).toBeLessThanOrEqual(TOL);
  x.dispose();
  disposeTree(params);
  layer.dispose();
}

describe.each([2, 3])('equivariant layers, D=%i, every group element', (D) => {
  const sig = allKeys(2);
  it.each(['relu', 'gelu', 'tanh'] as const)('VectorNeuronNonlinear (%s)', (activation) => {
    expectEquivariant(new VectorNeuronNonlinear({ D, input: sig, activation }, random.key(1)), D, 10);
  });

  it.each(['relu', 'gelu', 'sigmoid'] as const)('NormNonlinear (%s), random biases', (activation) => {
    expectEquivariant(new NormNonlinear({ D, input: sig, activation }), D, 20, { paramRange: [-0.8, 0.3] });
  });

  it('GroupNorm (2 groups), random scale and bias, every key type (k = 1 whitening, k = 2 norm rule)', () => {
    expectEquivariant(new GroupNorm({ D, input: allKeys(4), groups: 2 }), D, 30, { sig: allKeys(4) });
  });

  it('LayerNorm, random scale and bias', () => {
    expectEquivariant(new LayerNorm({ D, input: sig }), D, 40);
  });

  it('MaxNormPool(2)', () => {
    expectEquivariant(new MaxNormPool(2), D, 50);
  });

  it('AveragePool(2)', () => {
    expectEquivariant(new AveragePool(2), D, 60);
  });

  it('Unpool(2)', () => {
    expectEquivariant(new Unpool(2), D, 70, { spatial: D === 2 ? 3 : 2 });
  });

  it('upsampleConv (2×2 invariant filters, lhs dilation 2): N → 2N and equivariant', () => {
    const s =
      D === 2
        ? allKeys(1)
        : ([
            [[0, 0], 1],
            [[1, 0], 1],
            [[1, 1], 1],
          ] as const);
    const layer = upsampleConv({ D, input: s, output: s }, random.key(3));
    const x = randomMulti(80, s, D, 3);
    const y = layer.call(x);
    expect([...y.spatial]).toEqual(new Array(D).fill(6));
    y.dispose();
    x.dispose();
    expectEquivariant(layer, D, 81, { sig: s, spatial: 3 });
  });

  it('Identity', () => {
    expectEquivariant(new Identity(), D, 90);
  });

  it('Sequential(GroupNorm, VN, MaxNormPool, NormNonlinear)', () => {
    const layer = new Sequential([
      new GroupNorm({ D, input: sig, groups: 2 }),
      new VectorNeuronNonlinear({ D, input: sig, activation: 'gelu' }, random.key(5)),
      new MaxNormPool(2),
      new NormNonlinear({ D, input: sig }),
    ]);
    expectEquivariant(layer, D, 100, { paramRange: [-0.5, 1] });
  });

  it('Activation on scalars only is equivariant (a pointwise function of invariants)', () => {
    expectEquivariant(new Activation('gelu'), D, 110, { sig: [[[0, 0], 3]] });
  });
});

describe('baselines are not equivariant', () => {
  /** Some group element moves the output by a large relative amount. */
  function expectNotEquivariant(layer: Module, D: number, sig: Parameters<typeof randomMulti>[1], seed: number, spatial = spatialOf(D)): void {
    const x = randomMulti(seed, sig, D, spatial);
    const params = randomParams(layer.params, seed + 3);
    const errs = equivarianceErrors(layer, params, x);
    expect(errs[0]).toBeLessThan(1e-12); // the identity
    expect(Math.max(...errs)).toBeGreaterThan(0.1);
    x.dispose();
    disposeTree(params);
    layer.dispose();
  }

  it.each([2, 3])('Conv (3^D kernel, SAME zero padding), D=%i', (D) => {
    expectNotEquivariant(new Conv({ D, inChannels: 2, outChannels: 3, kernel: 3 }, random.key(1)), D, [[[0, 0], 2]], 200);
  });

  it.each([2, 3])('ConvTranspose (kernel 2, stride 2), D=%i', (D) => {
    expectNotEquivariant(new ConvTranspose({ D, inChannels: 2, outChannels: 2, kernel: 2 }, random.key(2)), D, [[[0, 0], 2]], 210, 2);
  });

  it.each([2, 3])('Activation (relu) on vectors, D=%i', (D) => {
    expectNotEquivariant(new Activation('relu'), D, [[[1, 0], 2]], 220);
  });

  it.each([2, 3])('BatchNorm on vectors (per component), D=%i', (D) => {
    expectNotEquivariant(new BatchNorm({ D, input: [[[1, 0], 2]] }), D, [[[1, 0], 2]], 230);
  });
});
