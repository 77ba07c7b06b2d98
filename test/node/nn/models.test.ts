import { describe, expect, it } from 'vitest';
import { MultiImage, operators, random, tensor, tidy, memory, signatureWidth, type SignatureLike } from '../../../src/index.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { MaxNormPool, Sequential, VectorNeuronNonlinear, upsampleConv } from '../../../src/nn/layers/index.js';
import { ConvBlock, DilResNet, GroupAverage, ModelWrapper, ResNet, UNet, ginjaxParameterCount } from '../../../src/nn/models.js';
import { Conv } from '../../../src/nn/layers/index.js';
import { type Module } from '../../../src/nn/module.js';
import { buildModule } from '../../../src/nn/registry.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { sum, square } from '../../../src/index.js';

const S = (k: number, parity: 0 | 1, channels: number) => ({ k, parity, channels });

function randomImage(sig: SignatureLike, D: number, N: number, batch = 1, seed = 1, isTorus = true): MultiImage {
  const W = signatureWidth(sig as never, D);
  const shape = [batch, ...new Array(D).fill(N), W];
  return new MultiImage(
    tensor(
      random.normal(
        random.key(seed),
        shape.reduce((a, b) => a * b),
      ),
      shape,
    ),
    sig,
    D,
    isTorus,
  );
}

/** max over group elements of |model(g·x) − g·model(x)| / max|g·model(x)|. */
async function equivarianceError(model: Module, x: MultiImage, elements = operators(x.D)): Promise<number> {
  const y = model.call(x);
  let worst = 0;
  for (const g of elements) {
    const [a, b] = tidy(() => [model.call(x.timesGroupElement(g)).data, y.timesGroupElement(g).data]);
    const [av, bv] = await Promise.all([a!.data(), b!.data()]);
    a!.dispose();
    b!.dispose();
    const scale = Math.max(1e-30, ...bv.map(Math.abs));
    for (let i = 0; i < av.length; i++) worst = Math.max(worst, Math.abs(av[i]! - bv[i]!) / scale);
  }
  y.dispose();
  return worst;
}

const SIG2 = [S(0, 0, 1), S(0, 1, 1), S(1, 0, 1), S(1, 1, 1), S(2, 0, 1)];

describe('models are equivariant under every group element', { timeout: 60_000 }, () => {
  for (const D of [2, 3]) {
    const N = D === 2 ? 8 : 4;
    const group = operators(D);
    const elements = group; // all 8 (D = 2) or 48 (D = 3)
    it(`ConvBlock with group norm and pre-activation, D=${D}`, async () => {
      const m = new ConvBlock({ D, input: SIG2, output: SIG2, useGroupNorm: true, preactivation: true }, random.key(3));
      expect(await equivarianceError(m, randomImage(SIG2, D, N, 2, 4), elements)).toBeLessThan(1e-4);
    });
    it(`UNet (scalars, pseudoscalars, vectors, pseudovectors, 2-tensors in), D=${D}`, async () => {
      const sig = SIG2;
      const m = new UNet({ D, input: sig, output: [S(1, 0, 1), S(2, 0, 1)], depth: 1, numDownsamples: 1, numConv: 1, useGroupNorm: true }, random.key(5));
      expect(await equivarianceError(m, randomImage(sig, D, N, 1, 6), elements)).toBeLessThan(1e-4);
    });
    it(`ResNet (pseudoscalars and pseudovectors), D=${D}`, async () => {
      const sig = [S(0, 1, 1), S(1, 1, 1)];
      const m = new ResNet({ D, input: sig, output: sig, depth: 2, numBlocks: 1 }, random.key(7));
      expect(await equivarianceError(m, randomImage(sig, D, N, 1, 8), elements)).toBeLessThan(1e-4);
    });
    it(`UNet, ResNet and DilResNet with the norm nonlinearity (pseudoscalars and vectors), D=${D}`, async () => {
      const sig = [S(0, 1, 2), S(1, 0, 1)];
      const x = randomImage(sig, D, N, 1, 13);
      for (const m of [
        new UNet({ D, input: sig, output: sig, depth: 2, numDownsamples: 1, numConv: 1, nonlinearity: 'norm' }, random.key(14)),
        new ResNet({ D, input: sig, output: sig, depth: 2, numBlocks: 1, nonlinearity: 'norm' }, random.key(15)),
        new DilResNet({ D, input: sig, output: sig, depth: 1, numBlocks: 1, nonlinearity: 'norm' }, random.key(16)),
      ]) {
        expect(
          await equivarianceError(m, m instanceof DilResNet ? randomImage(sig, D, D === 2 ? 17 : 9, 1, 13) : x, elements),
          m.config.type as string,
        ).toBeLessThan(1e-4);
      }
    });
    it(`DilResNet (scalars and pseudo-2-tensors), D=${D}`, async () => {
      const sig = [S(0, 0, 1), S(2, 1, 1)];
      const m = new DilResNet({ D, input: sig, output: sig, depth: 1, numBlocks: 1 }, random.key(9));
      expect(await equivarianceError(m, randomImage(sig, D, D === 2 ? 17 : 9, 1, 10), elements)).toBeLessThan(1e-4);
    });
  }
  it('GroupAverage makes a baseline equivariant (inference)', async () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    const base = new ResNet({ D: 2, input: sig, output: sig, depth: 3, numBlocks: 1, equivariant: false }, random.key(11));
    const x = randomImage(sig, 2, 8, 1, 12);
    expect(await equivarianceError(base, x)).toBeGreaterThan(1e-2);
    expect(await equivarianceError(new GroupAverage({ model: base }), x)).toBeLessThan(1e-4);
  });
});

describe('baselines are not equivariant', () => {
  for (const [name, make] of [
    ['UNet', () => new UNet({ D: 2, input: [S(0, 0, 1), S(1, 0, 1)], output: [S(1, 0, 1)], depth: 2, numDownsamples: 1, equivariant: false }, random.key(1))],
    [
      'DilResNet',
      () => new DilResNet({ D: 2, input: [S(0, 0, 1), S(1, 0, 1)], output: [S(1, 0, 1)], depth: 2, numBlocks: 1, equivariant: false }, random.key(2)),
    ],
  ] as const) {
    it(name, async () => {
      expect(await equivarianceError(make(), randomImage([S(0, 0, 1), S(1, 0, 1)], 2, 8, 1, 3))).toBeGreaterThan(1e-2);
    });
  }
});

describe('parameter counts', () => {
  it("reproduce ginjax's 126,905 for the conversion example's EquivariantCNN", () => {
    const D = 2;
    const input = [S(0, 0, 8), S(1, 0, 4)];
    const output = [S(0, 0, 2), S(1, 0, 1)];
    const mid = [S(0, 0, 32), S(1, 0, 32)];
    const mid2 = [S(0, 0, 64), S(1, 0, 64)];
    const keys = random.split(random.key(0), 14);
    const cc = (i: number, a: SignatureLike, b: SignatureLike) => new ConvContract({ D, input: a, output: b, M: 3 }, keys[i]!);
    const vn = (i: number, a: SignatureLike) => new VectorNeuronNonlinear({ D, input: a, activation: 'relu' }, keys[i]!);
    const model = new Sequential([
      cc(0, input, mid),
      vn(1, mid),
      cc(2, mid, mid),
      vn(3, mid),
      new MaxNormPool(2),
      cc(4, mid, mid2),
      vn(5, mid2),
      cc(6, mid2, mid2),
      vn(7, mid2),
      upsampleConv({ D, input: mid2, output: mid }, keys[8]!),
      vn(9, mid),
      cc(10, mid, mid),
      vn(11, mid),
      cc(12, mid, output),
    ]);
    expect(ginjaxParameterCount(model)).toBe(126905);
    expect(model.parameterCount()).toBe(126905 - 6 * 459 - 84);
  });
  it("reproduce ginjax's 87,940 for the conversion example's VanillaCNN", () => {
    const D = 2;
    const keys = random.split(random.key(0), 7);
    const conv = (i: number, a: number, b: number) => new Conv({ D, inChannels: a, outChannels: b, kernel: 3, padding: 'CIRCULAR' }, keys[i]!);
    const convs = [conv(0, 16, 32), conv(1, 32, 32), conv(2, 32, 64), conv(3, 64, 64), conv(5, 32, 32), conv(6, 32, 4)];
    const transposeParams = 64 * 32 * 4 + 32;
    expect(convs.reduce((n, c) => n + c.parameterCount(), 0) + transposeParams).toBe(87940);
  });
});

describe('models: training and errors', () => {
  it('gradients flow to every parameter of a UNet and a step leaks nothing', () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    const m = new UNet({ D: 2, input: sig, output: [S(1, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1 }, random.key(1));
    const x = randomImage(sig, 2, 4, 2, 2);
    const before = memory().tensors;
    const { value, grads } = valueAndGrad((p: typeof m.params) => tidy(() => sum(square(m.apply(p, x).data))))(m.params);
    const leaves = Object.values(grads);
    expect(value.size).toBe(1);
    value.dispose();
    const flat: { dispose(): void }[] = [];
    const walk = (t: unknown) => (t && typeof t === 'object' && 'dispose' in (t as object) ? flat.push(t as never) : Object.values(t as object).forEach(walk));
    walk(leaves);
    for (const t of flat) t.dispose();
    expect(memory().tensors).toBe(before);
  });
  it('wrong input signature, D and indivisible sizes are named', () => {
    const sig = [S(0, 0, 1), S(1, 0, 1)];
    const m = new UNet({ D: 2, input: sig, output: [S(1, 0, 1)], depth: 2, numDownsamples: 2, numConv: 1 }, random.key(1));
    expect(() => m.call(randomImage([S(0, 0, 2)], 2, 8))).toThrow(/UNet: input signature must be \{\(0,0\):1, \(1,0\):1\} \(got .*\(0,0\):2/);
    expect(() => m.call(randomImage(sig, 2, 6))).toThrow(/UNet: spatial size on axis 0 must be divisible by 2\^numDownsamples = 4 \(got 6\)/);
    expect(() => m.call(randomImage(sig, 3, 4))).toThrow(/UNet: input D must be 2 \(got 3\)/);
  });
  it("nonlinearity 'norm' puts a NormNonlinear in every block, survives the config round trip, and is refused where it has no meaning", async () => {
    const sig = [S(0, 1, 1), S(1, 0, 1)];
    const o = { D: 2, input: sig, output: sig, depth: 2, numDownsamples: 1, numConv: 1 };
    const acts = (m: Module): string[] => [
      ...(m.config.type === 'NormNonlinear' || m.config.type === 'VectorNeuronNonlinear' ? [m.config.type as string] : []),
      ...m.submodules().flatMap(acts),
    ];
    const norm = new UNet({ ...o, nonlinearity: 'norm' }, random.key(1));
    expect(new Set(acts(norm))).toEqual(new Set(['NormNonlinear']));
    expect(new Set(acts(new UNet(o, random.key(1))))).toEqual(new Set(['VectorNeuronNonlinear']));
    expect(norm.config.nonlinearity).toBe('norm');
    expect(new UNet(o, random.key(1)).config).not.toHaveProperty('nonlinearity'); // ginjax-shaped configs unchanged
    const rebuilt = buildModule(norm.config, null);
    const x = randomImage(sig, 2, 8, 2, 3);
    const [a, b] = [norm.call(x), rebuilt.apply(norm.params, x)];
    expect(await b.data.data()).toEqual(await a.data.data());
    expect(() => new UNet({ ...o, nonlinearity: 'gate' as never }, random.key(1))).toThrow(
      /UNet: nonlinearity must be 'vector-neuron' or 'norm' \(got "gate"\)/,
    );
    expect(() => new UNet({ ...o, equivariant: false, nonlinearity: 'norm' }, random.key(1))).toThrow(/UNet: nonlinearity must be left out for a baseline/);
  });
  it('ModelWrapper runs a scalar model on geometric data', async () => {
    const conv = new Conv({ D: 2, inChannels: 3, outChannels: 2, kernel: 3 }, random.key(1));
    const w = new ModelWrapper({ model: conv, output: [S(1, 0, 1)] });
    const y = w.call(randomImage([S(0, 0, 1), S(1, 0, 1)], 2, 5));
    expect(y.signature).toEqual([S(1, 0, 1)]);
  });
});

describe('models: memory', () => {
  for (const equivariant of [true, false]) {
    it(`a ${equivariant ? 'equivariant' : 'baseline'} forward pass outside tidy leaves only its output`, () => {
      const sig = [S(0, 0, 1), S(1, 0, 1)];
      const m = new UNet({ D: 2, input: sig, output: [S(1, 0, 1)], depth: 2, numDownsamples: 1, numConv: 1, equivariant }, random.key(1));
      const x = randomImage(sig, 2, 4);
      const before = memory().tensors;
      m.call(x).dispose();
      expect(memory().tensors).toBe(before);
    });
  }
});
