import { describe, expect, it } from 'vitest';
import { matmul, memory, mul, random, sum, tensor, tidy, type Tensor } from '../../../src/index.js';
import { valueAndGrad } from '../../../src/autodiff.js';
import { allclose, expectNoLeak, f64, gradcheck, randomTensor, t } from '../../util.js';

const A = [
  [1, 2, 3],
  [4, 5, 6],
];
const AT = [
  [1, 4],
  [2, 5],
  [3, 6],
];
const B = [
  [7, 8],
  [9, 10],
  [11, 12],
];
const BT = [
  [7, 9, 11],
  [8, 10, 12],
];
const AB = [
  [58, 64],
  [139, 154],
];
const exact = { rtol: 0, atol: 0 };

/** Plain-loop batched matmul with broadcast batch axes (no transposes). */
function naive(a: Tensor, b: Tensor): { data: number[]; shape: number[] } {
  const [m, k] = a.shape.slice(-2) as [number, number];
  const n = b.shape.at(-1)!;
  const ba = a.shape.slice(0, -2);
  const bb = b.shape.slice(0, -2);
  const rank = Math.max(ba.length, bb.length);
  const pa = [...new Array<number>(rank - ba.length).fill(1), ...ba];
  const pb = [...new Array<number>(rank - bb.length).fill(1), ...bb];
  const batch = pa.map((d, i) => Math.max(d, pb[i]!));
  const nb = batch.reduce((p, d) => p * d, 1);
  const va = f64(a);
  const vb = f64(b);
  const data: number[] = [];
  for (let bi = 0; bi < nb; bi++) {
    let ia = 0;
    let ib = 0;
    for (let d = 0, r = bi, div = nb; d < rank; d++) {
      div /= batch[d]!;
      const c = Math.floor(r / div);
      r %= div;
      ia = ia * pa[d]! + (pa[d] === 1 ? 0 : c);
      ib = ib * pb[d]! + (pb[d] === 1 ? 0 : c);
    }
    for (let i = 0; i < m; i++)
      for (let j = 0; j < n; j++) {
        let s = 0;
        for (let p = 0; p < k; p++) s += va[ia * m * k + i * k + p]! * vb[ib * k * n + p * n + j]!;
        data.push(s);
      }
  }
  return { data, shape: [...batch, m, n] };
}

describe('matmul: golden values', () => {
  it('all four transpose combinations', () => {
    tidy(() => {
      allclose(matmul(t(A), t(B)), AB, exact);
      allclose(matmul(t(AT), t(B), true, false), AB, exact);
      allclose(matmul(t(A), t(BT), false, true), AB, exact);
      allclose(matmul(t(AT), t(BT), true, true), AB, exact);
      allclose(
        matmul(t(B), t(A)),
        [
          [39, 54, 69],
          [49, 68, 87],
          [59, 82, 105],
        ],
        exact,
      );
    });
  });

  it('vector shapes: [1,k]·[k,1] and [k,1]·[1,k]', () => {
    tidy(() => {
      allclose(matmul(t([[1, 2, 3]]), t([[4], [5], [6]])), [[32]], exact);
      allclose(
        matmul(t([[1], [2]]), t([[3, 4]])),
        [
          [3, 4],
          [6, 8],
        ],
        exact,
      );
    });
  });

  it('batch axes broadcast like NumPy', () => {
    tidy(() => {
      for (const [sa, sb] of [
        [
          [2, 1, 2, 3],
          [4, 3, 2],
        ],
        [
          [2, 3],
          [4, 3, 5],
        ],
        [
          [3, 2, 4],
          [4, 2],
        ],
        [
          [1, 2, 2],
          [3, 2, 1],
        ],
        [
          [2, 1, 1, 3],
          [1, 5, 3, 2],
        ],
      ] as const) {
        const a = randomTensor(random.key(1), sa);
        const b = randomTensor(random.key(2), sb);
        const y = matmul(a, b);
        const { data, shape } = naive(a, b);
        expect(y.shape).toEqual(shape);
        allclose(y, data, { rtol: 1e-15, atol: 1e-15 });
      }
    });
  });

  it('transposes apply to the last two axes of batched operands', () => {
    tidy(() => {
      // [2,2,3] batches: a[0] = A, a[1] = 2A; b = B transposed per batch.
      const a = t([AT, AT.map((r) => r.map((v) => 2 * v))]);
      const b = t([BT, BT]);
      allclose(matmul(a, b, true, true), [AB, AB.map((r) => r.map((v) => 2 * v))], exact);
    });
  });

  it('an inner dimension of 0 gives zeros; m = 0 gives an empty result', () => {
    tidy(() => {
      allclose(
        matmul(tensor([], [2, 0]), tensor([], [0, 3])),
        [
          [0, 0, 0],
          [0, 0, 0],
        ],
        exact,
      );
      expect(matmul(tensor([], [0, 2]), t(AT.slice(0, 2))).shape).toEqual([0, 2]);
    });
  });
});

describe('matmul: gradients (finite differences, f64 on ref)', () => {
  const cases: [number[], number[], boolean, boolean][] = [
    [[2, 3], [3, 4], false, false],
    [[3, 2], [3, 4], true, false],
    [[2, 3], [4, 3], false, true],
    [[3, 2], [4, 3], true, true],
    [[2, 1, 2, 3], [3, 3, 2], false, false], // batch broadcasting both ways
    [[2, 3], [2, 3, 2], false, false], // rank-2 a against a batch
    [[2, 3, 2], [2, 3], true, true], // batched a, rank-2 b, both transposed
    [[1, 2, 3], [4, 2, 2], true, false],
  ];
  for (const [sa, sb, ta, tb] of cases) {
    it(`${JSON.stringify(sa)}${ta ? 'ᵀ' : ''} · ${JSON.stringify(sb)}${tb ? 'ᵀ' : ''}`, () => {
      const a = randomTensor(random.key(3), sa);
      const b = randomTensor(random.key(4), sb);
      gradcheck((x, y) => matmul(x, y, ta, tb), [a, b]);
      a.dispose();
      b.dispose();
    });
  }
});

describe('matmul: bad input', () => {
  it('rank < 2 names the argument', () => {
    tidy(() => {
      expect(() => matmul(t([1, 2, 3]), t(B))).toThrow(/matmul: a must be of rank >= 2 \(got \[3\]\)/);
      expect(() => matmul(t(A), t([1, 2, 3]))).toThrow(/matmul: b must be of rank >= 2 \(got \[3\]\)/);
    });
  });

  it('mismatched inner dimensions show both shapes and transposes', () => {
    tidy(() => {
      expect(() => matmul(t(A), t(A))).toThrow(/matmul: inner dimensions must be equal \(got "\[2,3\] · \[2,3\]"\)/);
      expect(() => matmul(t(A), t(B), true, false)).toThrow(/matmul: inner dimensions must be equal \(got "\[2,3\]ᵀ · \[3,2\]"\)/);
      expect(() => matmul(t(A), t(A), true, true)).toThrow(/matmul: inner dimensions must be equal \(got "\[2,3\]ᵀ · \[2,3\]ᵀ"\)/);
    });
  });

  it('incompatible batch axes', () => {
    tidy(() => {
      const a = tensor(new Array(12).fill(0), [2, 2, 3]);
      const b = tensor(new Array(18).fill(0), [3, 3, 2]);
      expect(() => matmul(a, b)).toThrow(/matmul: operand shapes must be broadcast-compatible \(got "\[2\] and \[3\]"\)/);
    });
  });
});

describe('matmul: memory', () => {
  it('under tidy leaves memory() unchanged', () => {
    const a = randomTensor(random.key(5), [2, 2, 3]);
    const b = randomTensor(random.key(6), [3, 4]);
    expectNoLeak(() =>
      tidy(() => {
        matmul(a, b);
        matmul(a, a, true, false);
        matmul(b, b, false, true);
      }),
    );
    a.dispose();
    b.dispose();
  });

  it('valueAndGrad leaves only the value and the gradients alive', () => {
    const a = randomTensor(random.key(7), [2, 2, 3]);
    const b = randomTensor(random.key(8), [3, 4]);
    const before = memory();
    const { value, grads } = valueAndGrad((p: [Tensor, Tensor]) => sum(matmul(p[0], p[1])))([a, b]);
    expect(memory().tensors).toBe(before.tensors + 3);
    value.dispose();
    grads.forEach((g) => g.dispose());
    expect(memory()).toEqual(before);
    a.dispose();
    b.dispose();
  });
});

describe('matmul: shared-operand gradients', () => {
  const t64r = (k: number, shape: number[]) =>
    tensor(
      Float64Array.from(
        random.normal(
          random.key(k),
          shape.reduce((a, b) => a * b),
        ),
      ),
      shape,
    );
  it('a 2-D operand shared by a batched one (folded gradient), every transpose gradients equal finite differences', () => {
    for (const ta of [false, true])
      for (const tb of [false, true])
        for (const shared of ['a', 'b']) {
          const [m, k, n] = [3, 4, 5];
          const aS = shared === 'a' ? (ta ? [k, m] : [m, k]) : ta ? [2, 3, k, m] : [2, 3, m, k];
          const bS = shared === 'b' ? (tb ? [n, k] : [k, n]) : tb ? [2, 3, n, k] : [2, 3, k, n];
          const a = t64r(1, aS),
            b = t64r(2, bS),
            r = t64r(3, [2, 3, m, n]);
          const f = (p: { a: any; b: any }) => sum(mul(matmul(p.a, p.b, ta, tb), r));
          const { grads } = valueAndGrad(f)({ a, b });
          for (const [name, x, g] of [
            ['a', a, grads.a],
            ['b', b, grads.b],
          ] as const) {
            const xs = x.storage() as Float64Array;
            const gs = g.storage() as Float64Array;
            for (let i = 0; i < xs.length; i += 3) {
              const v = xs[i]!;
              const h = 1e-6;
              xs[i] = v + h;
              const fp = (f({ a, b }).storage() as Float64Array)[0]!;
              xs[i] = v - h;
              const fm = (f({ a, b }).storage() as Float64Array)[0]!;
              xs[i] = v;
              expect(Math.abs((fp - fm) / (2 * h) - gs[i]!), `${shared} ${ta} ${tb} d${name}[${i}]`).toBeLessThan(1e-6);
            }
          }
        }
  });
});
