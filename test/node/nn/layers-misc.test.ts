/**
 * Pool values (ginjax's hard-coded example), config round trips through buildModule, bad input
 * errors naming what was expected, and leak checks.
 */
import { describe, expect, it } from 'vitest';
import { random, tensor, tidy } from '../../../src/index.js';
import { valueAndGrad, treeLeaves } from '../../../src/autodiff.js';
import { MultiImage } from '../../../src/geometric/multi-image.js';
import { type Module, type Params } from '../../../src/nn/module.js';
import { buildModule } from '../../../src/nn/registry.js';
import { sum, square } from '../../../src/index.js';
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
  State,
  Unpool,
  VectorNeuronNonlinear,
  upsampleConv,
} from '../../../src/nn/layers/index.js';
import { expectNoLeak, values } from '../../util.js';
import { allKeys, disposeTree, randomMulti } from './layers-helpers.js';

const scalarImage = (rows: number[][]) => new MultiImage(tensor(Float64Array.from(rows.flat()), [1, rows.length, rows[0]!.length, 1]), [[[0, 0], 1]], 2);

describe('pools on ginjax’s example [[4,1,0,1],[0,0,−3,2],[1,0,1,0],[1,0,2,1]]', () => {
  const A = [
    [4, 1, 0, 1],
    [0, 0, -3, 2],
    [1, 0, 1, 0],
    [1, 0, 2, 1],
  ];
  it.each([
    ['MaxNormPool(2) by norm', () => new MaxNormPool(2), [4, -3, 1, 2]],
    ['MaxNormPool(2, useNorm=false) by value', () => new MaxNormPool({ patch: 2, useNorm: false }), [4, 2, 1, 2]],
    ['AveragePool(2)', () => new AveragePool(2), [1.25, 0, 0.5, 1]],
  ] as const)('%s', (_n, make, want) => {
    const x = scalarImage(A);
    const y = make().call(x);
    expect([...y.spatial]).toEqual([2, 2]);
    expect(Array.from(values(y.data))).toEqual(want);
    x.dispose();
    y.dispose();
  });

  it('Unpool(2): nearest neighbour', () => {
    const x = scalarImage([
      [1, 2],
      [3, 4],
    ]);
    const y = new Unpool(2).call(x);
    expect(Array.from(values(y.data))).toEqual([1, 1, 2, 2, 1, 1, 2, 2, 3, 3, 4, 4, 3, 3, 4, 4]);
    x.dispose();
    y.dispose();
  });
});

/** Every layer kind with an input it accepts. */
function zoo(D: number): { layer: Module; x: () => MultiImage; options?: object }[] {
  const sig = allKeys(2);
  const N = D === 2 ? 4 : 2;
  const any = () => randomMulti(700, sig, D, N);
  const scalars = () => randomMulti(701, [[[0, 0], 2]], D, N);
  return [
    { layer: new VectorNeuronNonlinear({ D, input: sig, activation: 'gelu' }, random.key(1)), x: any },
    { layer: new NormNonlinear({ D, input: sig }), x: any },
    { layer: new GroupNorm({ D, input: sig, groups: 2 }), x: any },
    { layer: new LayerNorm({ D, input: sig, eps: 1e-3 }), x: any },
    { layer: new MaxNormPool(2), x: any },
    { layer: new AveragePool(2), x: any },
    { layer: new Unpool(2), x: any },
    { layer: new Activation('tanh'), x: any },
    { layer: new Identity(), x: any },
    { layer: new Conv({ D, inChannels: 2, outChannels: 3, kernel: 3, padding: 'CIRCULAR' }, random.key(2)), x: scalars },
    { layer: new ConvTranspose({ D, inChannels: 2, outChannels: 3, kernel: 2 }, random.key(3)), x: scalars },
    { layer: new BatchNorm({ D, input: sig, momentum: 0.9 }), x: any, options: { training: true } },
    { layer: upsampleConv({ D, input: [[[1, 0], 1]], output: [[[1, 0], 1]] }, random.key(4)), x: () => randomMulti(702, [[[1, 0], 1]], D, N) },
    { layer: new Sequential([new LayerNorm({ D, input: sig }), new VectorNeuronNonlinear({ D, input: sig }, random.key(5))]), x: any },
  ];
}

describe.each([2, 3])('config round trip through buildModule, D=%i', (D) => {
  it('every layer: JSON config → buildModule → same config, same params for the same key, same output', () => {
    for (const { layer, x: make } of zoo(D)) {
      const config = JSON.parse(JSON.stringify(layer.config));
      const key = random.key(1234);
      const a = buildModule(config, key);
      const b = buildModule(config, key);
      expect(a.config, config.type).toEqual(layer.config);
      const la = treeLeaves(a.params);
      const lb = treeLeaves(b.params);
      expect(la.map((t) => [...t.shape])).toEqual(treeLeaves(layer.params).map((t) => [...t.shape]));
      la.forEach((t, i) => expect(Array.from(values(t))).toEqual(Array.from(values(lb[i]!))));
      // The rebuilt module computes what the original does with the original's params.
      const x = make();
      const y1 = layer.call(x);
      const y2 = a.apply(layer.params, x);
      expect(Array.from(values(y2.data)), config.type).toEqual(Array.from(values(y1.data)));
      for (const t of [a, b, layer, x, y1, y2]) t.dispose();
    }
  });
});

describe.each([2, 3])('no leaks, D=%i', (D) => {
  it('apply inside tidy; apply + dispose; valueAndGrad step', () => {
    for (const { layer, x: make, options } of zoo(D)) {
      const x = make();
      const name = layer.config.type;
      layer.apply(layer.params, x, options).dispose(); // warm-up (lazy caches, if any)
      expectNoLeak(
        () =>
          tidy(() => {
            layer.apply(layer.params, x, options);
          }),
        `${name} in tidy`,
      );
      expectNoLeak(() => layer.apply(layer.params, x, options).dispose(), `${name} apply + dispose`);
      if (treeLeaves(layer.params).length > 0) {
        expectNoLeak(() => {
          const { value, grads } = valueAndGrad((p: Params) => sum(square(layer.apply(p, x, options).data)))(layer.params);
          value.dispose();
          disposeTree(grads);
        }, `${name} valueAndGrad`);
      }
      x.dispose();
      layer.dispose();
    }
  });

  it('BatchNorm with a State: training steps inside tidy keep memory flat after the first', () => {
    const sig = [[[0, 0], 2]] as const;
    const layer = new BatchNorm({ D, input: sig });
    const state = new State();
    const x = randomMulti(710, sig, D, 2);
    tidy(() => {
      layer.apply(layer.params, x, { training: true, state });
    });
    expectNoLeak(() => {
      for (let i = 0; i < 3; i++) {
        const { value, grads } = valueAndGrad((p: Params) => sum(square(layer.apply(p, x, { training: true, state }).data)))(layer.params);
        value.dispose();
        disposeTree(grads);
      }
    }, 'BatchNorm training with state');
    expect(state.size).toBe(1);
    state.dispose();
    x.dispose();
    layer.dispose();
  });
});

describe('bad input gives errors naming what was expected', () => {
  const sig = allKeys(2);
  const x2 = () => randomMulti(720, sig, 2, 4);
  it.each([
    [
      'VN: wrong signature',
      () => new VectorNeuronNonlinear({ D: 2, input: [[[1, 0], 2]] }, random.key(1)),
      x2,
      /VectorNeuronNonlinear: input signature must be \{\(1,0\):2\} \(got "\{\(0,0\):2, /,
    ],
    ['VN: wrong D', () => new VectorNeuronNonlinear({ D: 3, input: sig }, random.key(1)), x2, /VectorNeuronNonlinear: input D must be 3 \(got 2\)/],
    [
      'NormNonlinear: not a MultiImage',
      () => new NormNonlinear({ D: 2, input: sig }),
      () => 7 as unknown as MultiImage,
      /NormNonlinear: input must be a MultiImage/,
    ],
    ['GroupNorm: wrong signature', () => new GroupNorm({ D: 2, input: allKeys(4), groups: 2 }), x2, /GroupNorm: input signature must be \{\(0,0\):4/],
    ['LayerNorm: wrong D', () => new LayerNorm({ D: 3, input: sig }), x2, /LayerNorm: input D must be 3 \(got 2\)/],
    ['MaxNormPool: spatial not divisible', () => new MaxNormPool(3), x2, /MaxNormPool: spatial size on axis 0 must be divisible by the patch 3 \(got 4\)/],
    ['AveragePool: spatial not divisible', () => new AveragePool(3), x2, /AveragePool: spatial size on axis 0 must be divisible by the patch 3 \(got 4\)/],
    [
      'MaxNormPool(useNorm=false) on vectors',
      () => new MaxNormPool({ patch: 2, useNorm: false }),
      x2,
      /useNorm must be true when the image has non-scalar keys/,
    ],
    [
      'Conv: non-scalar input',
      () => new Conv({ D: 2, inChannels: 2, outChannels: 1, kernel: 3 }, random.key(1)),
      x2,
      /Conv: input signature must be \{\(0,0\):2\} \(a scalar-only MultiImage; see toScalarMultiImage\)/,
    ],
    [
      'Conv: wrong channels',
      () => new Conv({ D: 2, inChannels: 3, outChannels: 1, kernel: 3 }, random.key(1)),
      () => randomMulti(721, [[[0, 0], 2]], 2, 4),
      /Conv: input signature must be \{\(0,0\):3\}/,
    ],
    [
      'ConvTranspose: wrong D',
      () => new ConvTranspose({ D: 3, inChannels: 2, outChannels: 1, kernel: 2 }, random.key(1)),
      () => randomMulti(722, [[[0, 0], 2]], 2, 4),
      /ConvTranspose: input D must be 3 \(got 2\)/,
    ],
    ['BatchNorm: wrong signature', () => new BatchNorm({ D: 2, input: [[[0, 0], 3]] }), x2, /BatchNorm: input signature must be \{\(0,0\):3\}/],
  ] as const)('%s', (_name, make, input, message) => {
    const layer = make();
    const x = input();
    expect(() => layer.call(x)).toThrow(message);
    layer.dispose();
    if (x instanceof MultiImage) x.dispose();
  });

  it.each([
    [
      'bad activation',
      () => new VectorNeuronNonlinear({ D: 2, input: sig, activation: 'swish' as never }, random.key(1)),
      /VectorNeuronNonlinear: activation must be "relu", "gelu", "tanh", "sigmoid" \(got "swish"\)/,
    ],
    ['bad D', () => new NormNonlinear({ D: 4, input: sig }), /NormNonlinear: D must be 2 or 3 \(got 4\)/],
    [
      'groups not dividing',
      () => new GroupNorm({ D: 2, input: [[[0, 0], 3]], groups: 2 }),
      /GroupNorm: groups \(2\) must be a divisor of the channels of every key \(got "3 channels for key \(0,0\)"\)/,
    ],
    ['groups 0', () => new GroupNorm({ D: 2, input: sig, groups: 0 }), /GroupNorm: groups must be an integer >= 1 \(got 0\)/],
    ['pool patch 0', () => new AveragePool(0), /AveragePool: patch must be an integer >= 1 \(got 0\)/],
    [
      'Conv padding',
      () => new Conv({ D: 2, inChannels: 1, outChannels: 1, kernel: 3, padding: 'TORUS' as never }, random.key(1)),
      /Conv: padding must be "SAME", "VALID", "CIRCULAR", an integer or \[lo, hi\] pairs \(got "TORUS"\)/,
    ],
    [
      'ConvTranspose padding too large',
      () => new ConvTranspose({ D: 2, inChannels: 1, outChannels: 1, kernel: 2, padding: 2 }, random.key(1)),
      /ConvTranspose: padding on axis 0 must be at most rhsDilation·\(kernel − 1\) = 1 \(got \[2,2\]\)/,
    ],
    ['Sequential empty', () => new Sequential([]), /Sequential: layers must be a non-empty array of Modules/],
    ['unknown config type', () => buildModule({ type: 'Nope' }, random.key(1)), /buildModule: config.type must be one of .*VectorNeuronNonlinear/],
  ] as const)('constructor: %s', (_name, make, message) => {
    expect(make).toThrow(message);
  });
});
