import { describe, expect, it } from 'vitest';
import {
  abs,
  exp,
  gelu,
  getBackend,
  log,
  memory,
  neg,
  random,
  recip,
  relu,
  sigmoid,
  sign,
  sqrt,
  square,
  step,
  sum,
  tanh,
  tensor,
  tidy,
  unary,
  type UnaryOp,
} from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, expectNoLeak, f64, gradcheck, randomTensor, t, t64, withBackend } from '../../util.js';

const X = [-2, -0.5, 0, 0.5, 3];
const POS = [0.25, 0.5, 1, 2, 4];

// Goldens: hand values, and for the transcendental ones the float64 values of the textbook formulas
// (computed independently in Python's math module; gelu is jax.nn.gelu(approximate=True)).
const GOLDEN: Record<UnaryOp, [number[], number[]]> = {
  neg: [X, [2, 0.5, -0, -0.5, -3]],
  abs: [X, [2, 0.5, 0, 0.5, 3]],
  sign: [X, [-1, -1, 0, 1, 1]],
  square: [X, [4, 0.25, 0, 0.25, 9]],
  sqrt: [POS, [0.5, Math.SQRT1_2, 1, Math.SQRT2, 2]],
  recip: [POS, [4, 2, 1, 0.5, 0.25]],
  exp: [
    [-1, 0, 1, 2],
    [1 / Math.E, 1, Math.E, Math.E * Math.E],
  ],
  log: [
    [1 / Math.E, 1, Math.E, 8],
    [-1, 0, 1, 3 * Math.LN2],
  ],
  relu: [X, [0, 0, 0, 0.5, 3]],
  step: [X, [0, 0, 0, 1, 1]],
  tanh: [
    [-1, 0, 0.5, 3],
    [-0.7615941559557649, 0, 0.46211715726000974, 0.9950547536867305],
  ],
  sigmoid: [
    [-2, 0, 0.5, 1],
    [0.11920292202211755, 0.5, 0.6224593312018546, 0.7310585786300049],
  ],
  gelu: [
    [-2, -1, -0.5, 0, 0.5, 1, 3],
    [-0.04540230591222494, -0.15880800939172324, -0.15428599017485606, 0, 0.34571400982514394, 0.8411919906082768, 2.996362607918227],
  ],
  geluGrad: [
    [-2, -1, -0.5, 0, 0.5, 1, 3],
    [-0.08609925662361825, -0.08296408384578255, 0.13263009646535764, 0.5, 0.8673699035346424, 1.0829640838457826, 1.0115841666309695],
  ],
};
const OPS = Object.keys(GOLDEN) as UnaryOp[];
const NAMED: Partial<Record<UnaryOp, (x: ReturnType<typeof tensor>) => ReturnType<typeof tensor>>> = {
  neg,
  abs,
  sign,
  square,
  sqrt,
  recip,
  exp,
  log,
  relu,
  step,
  tanh,
  sigmoid,
  gelu,
};

describe('unary: golden values', () => {
  for (const op of OPS) {
    it(op, () => {
      const [x, y] = GOLDEN[op];
      tidy(() => {
        allclose(unary(op, t64(x)), y, { rtol: 1e-15, atol: 0 });
        if (NAMED[op]) allclose(NAMED[op]!(t64(x)), y, { rtol: 1e-15, atol: 0 });
      });
    });
  }

  it('keeps the shape (rank 0, rank 3, empty)', () => {
    tidy(() => {
      expect(neg(tensor([2], [])).shape).toEqual([]);
      const y = square(
        t([
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ]),
      );
      expect(y.shape).toEqual([2, 2, 2]);
      allclose(
        y,
        [
          [
            [1, 4],
            [9, 16],
          ],
          [
            [25, 36],
            [49, 64],
          ],
        ],
        { rtol: 0, atol: 0 },
      );
      expect(exp(tensor([], [0, 3])).shape).toEqual([0, 3]);
    });
  });

  it('edge values follow IEEE (log 0, 1/0, sqrt of a negative, relu(NaN))', () => {
    tidy(() => {
      allclose(log(tensor([0])), [-Infinity]);
      allclose(recip(tensor([0, -0])), [Infinity, -Infinity]);
      allclose(sqrt(tensor([-1])), [NaN]);
      // NaN propagates as in JAX (jax.nn.relu, jnp.sign); step, relu's gradient mask, is 0 there.
      expect(Array.from(relu(tensor([NaN, -1, 2])).dataSync())).toEqual([NaN, 0, 2]);
      expect(Array.from(sign(tensor([NaN, -0, 3])).dataSync())).toEqual([NaN, 0, 1]);
      expect(Array.from(step(tensor([NaN, 0, 3])).dataSync())).toEqual([0, 0, 1]);
      allclose(sigmoid(tensor([-800, 800])), [0, 1], { rtol: 0, atol: 0 });
    });
  });

  it('geluGrad is the derivative of gelu (central differences)', () => {
    tidy(() => {
      const xs = [-3, -1.5, -0.3, 0, 0.7, 2.2];
      const h = 1e-5;
      const fd = f64(gelu(t64(xs.map((x) => x + h)))).map((v, i) => (v - f64(gelu(t64(xs.map((x) => x - h))))[i]!) / (2 * h));
      allclose(unary('geluGrad', t64(xs)), fd, { rtol: 1e-8, atol: 1e-9 });
    });
  });

  it('computes in float64 on ref (tensor() keeps a Float64Array exactly)', () => {
    tidy(() => {
      const x = tensor(new Float64Array([1 + 2 ** -40]));
      expect(f64(square(x))[0]).toBe((1 + 2 ** -40) ** 2);
    });
  });
});

describe('unary: gradients (finite differences, f64 on ref)', () => {
  // Inputs bounded away from the kinks of abs/relu/sign/step (0) and inside the domains of
  // sqrt/log/recip (positive), so that central differences with eps = 1e-6 are valid.
  const away = (seed: number, shape: number[]) => {
    const u = random.uniform(
      random.key(seed),
      shape.reduce((p, d) => p * d, 1),
      0.2,
      1.5,
    );
    const s = random.uniform(random.key(seed + 1), u.length);
    return tensor(
      u.map((v, i) => (s[i]! < 0.5 ? -v : v)),
      shape,
    );
  };

  for (const op of OPS.filter((o) => o !== 'geluGrad')) {
    it(op, () => {
      const x = ['sqrt', 'log', 'recip'].includes(op) ? positive(7, [2, 3]) : away(7, [2, 3]);
      gradcheck((v) => unary(op, v), [x]);
      x.dispose();
    });
  }

  it('geluGrad', () => {
    const x = away(7, [2, 3]);
    try {
      gradcheck((v) => unary('geluGrad', v), [x]);
    } finally {
      x.dispose();
    }
  });

  it('sign and step have zero gradient (not an error)', () => {
    const x = tensor([-1, 2, 3]);
    const { value, grads } = valueAndGrad((v: ReturnType<typeof tensor>) => sum(step(v)))(x);
    expect(Array.from(f64(grads))).toEqual([0, 0, 0]);
    value.dispose();
    grads.dispose();
    x.dispose();
  });

  it('a chain of unary ops', () => {
    const x = positive(3, [4]);
    gradcheck((v) => tanh(log(sqrt(exp(sigmoid(gelu(v)))))), [x]);
    x.dispose();
  });
});

describe('unary: bad input', () => {
  it('a disposed input names the tensor', () => {
    const x = tensor([1, 2, 3]);
    x.dispose();
    expect(() => neg(x)).toThrow(/Tensor\.backend: tensor of shape \[3\] was disposed/);
  });

  it('an unknown op is rejected by name', () => {
    const x = tensor([1, 2]);
    try {
      expect(() => unary('cube' as UnaryOp, x)).toThrow(/unary: op must be one of .*\(got "cube"\)/);
    } finally {
      x.dispose();
    }
  });

  it('withBackend refuses an uninitialised backend and keeps the current one', () => {
    expect(() => withBackend('webgpu', () => 0)).toThrow(/setBackend: backend "webgpu" is not initialised/);
    expect(getBackend().name).toBe('ref');
    expect(withBackend('ref', () => getBackend().name)).toBe('ref');
  });
});

describe('unary: memory', () => {
  it('every op under tidy leaves memory() unchanged', () => {
    const x = positive(1, [3, 2]);
    for (const op of OPS)
      expectNoLeak(
        () =>
          tidy(() => {
            unary(op, x);
          }),
        op,
      );
    expectNoLeak(() => {
      const y = unary('exp', x);
      y.dispose();
    });
    x.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const x = positive(2, [3]);
    const z = positive(3, [2]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: { a: ReturnType<typeof tensor>; b: ReturnType<typeof tensor> }) => sum(tanh(square(gelu(p.a)))))({ a: x, b: z });
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.a.dispose();
    grads.b.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
    z.dispose();
  });
});

function positive(seed: number, shape: number[]) {
  return randomTensor(random.key(seed), shape, { lo: 0.3, hi: 2 });
}
