/**
 * "A library that feels like one" (issue 11, item 8): options-object constructors next to ginjax's
 * positional forms, named group elements, one way to read data (values / array / print / toString),
 * Module.predict in batches without a tape, Module.summary.
 */
import { beforeAll, describe, expect, it, vi } from 'vitest';
import {
  compose,
  ConvContract,
  elementMatrix,
  elementName,
  generateGroup,
  GeometricImage,
  groupElement,
  inverse,
  memory,
  MultiImage,
  operators,
  random,
  resolveOperators,
  Sequential,
  setBackend,
  subgroup,
  tensor,
  UNet,
  valueAndGrad,
  VectorNeuronNonlinear,
  sum,
} from '../../src/index.js';

beforeAll(() => setBackend('ref'));

/** Runs `fn` and checks that no tensor handle or byte outlives it. */
async function noLeak<T>(fn: () => Promise<T> | T): Promise<T> {
  const before = memory();
  const out = await fn();
  expect(memory()).toEqual(before);
  return out;
}

const sig = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 2 },
];

describe('options-object constructors', () => {
  it('GeometricImage.zeros / fill / from: the options form equals the positional form', async () => {
    await noLeak(async () => {
      const a = GeometricImage.zeros({ N: [3, 4], D: 2, k: 1, parity: 1, isTorus: [true, false] });
      const b = GeometricImage.zeros([3, 4], 1, 1, 2, [true, false]);
      expect([a.shape, a.k, a.parity, a.isTorus]).toEqual([b.shape, b.k, b.parity, b.isTorus]);
      expect([...a.shape]).toEqual([3, 4, 2]);
      const three = GeometricImage.zeros({ N: 2, D: 3 }); // k 0, parity 0 by default
      expect([three.shape, three.k, three.parity]).toEqual([[2, 2, 2], 0, 0]);
      three.dispose();
      const f = GeometricImage.fill({ N: 2, D: 2, fill: [1, -2] });
      const g = GeometricImage.fill(2, 0, 2, [1, -2]);
      expect(await f.values()).toEqual(await g.values());
      expect(Array.from(await f.values())).toEqual([1, -2, 1, -2, 1, -2, 1, -2]);
      const nested = [
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ];
      const h = GeometricImage.from(nested, { D: 2, parity: 1 });
      const h2 = GeometricImage.from(nested, 1, 2);
      const h3 = GeometricImage.from([1, 2, 3, 4, 5, 6, 7, 8], { D: 2, parity: 1, shape: [2, 2, 2] });
      expect(await h.equals(h2)).toBe(true);
      expect(await h.equals(h3)).toBe(true);
      expect(h.parity).toBe(1);
      expect(h.k).toBe(1);
      for (const im of [a, b, f, g, h, h2, h3]) im.dispose();
    });
  });

  it('options forms refuse misspelt, missing and bad fields with the function named', () => {
    expect(() => GeometricImage.zeros({ N: 4, D: 2, K: 1 } as never)).toThrow(/GeometricImage\.zeros: option "K" must be one of N, D, k, parity, isTorus/);
    expect(() => GeometricImage.zeros({ N: 4 } as never)).toThrow(/GeometricImage\.zeros: option D must be given/);
    expect(() => GeometricImage.zeros({ N: 4, D: 4 })).toThrow(/GeometricImage\.zeros: D must be 2 or 3 \(got 4\)/);
    expect(() => GeometricImage.zeros({ N: 0, D: 2 })).toThrow(/GeometricImage\.zeros: N must be a positive integer/);
    expect(() => GeometricImage.fill({ N: 2, D: 2, fill: [1, 2, 3] })).toThrow(/GeometricImage\.fill: fill must be a \(D,\)\*k nested array with D=2/);
    expect(() => GeometricImage.fill({ N: 2, D: 2 } as never)).toThrow(/option fill must be given/);
    expect(() => GeometricImage.from([1, 2], { parity: 0 } as never)).toThrow(/GeometricImage\.from: option D must be given/);
    expect(() => MultiImage.zeros({ signature: sig, D: 2 })).toThrow(/MultiImage\.zeros: options must be given exactly one of spatial and N \(got "neither"\)/);
    expect(() => MultiImage.zeros({ signature: sig, D: 2, spatial: 3, N: 3 })).toThrow(/exactly one of spatial and N \(got "both"\)/);
    expect(() => MultiImage.fromBlocks({}, { D: 2, batch: 1 } as never)).toThrow(/MultiImage\.fromBlocks: option "batch" must be one of D, isTorus, batched/);
  });

  it('MultiImage.zeros and fromBlocks: options, tuple and object keys equal the positional/string forms', async () => {
    await noLeak(async () => {
      const a = MultiImage.zeros({ signature: sig, D: 2, spatial: [3, 4], batch: 2, isTorus: false });
      const b = MultiImage.zeros(sig, 2, [3, 4], 2, false);
      const c = MultiImage.zeros({
        signature: [
          [[1, 0], 2],
          [[0, 0], 1],
        ],
        D: 2,
        N: [3, 4],
        batch: 2,
        isTorus: false,
      });
      for (const m of [b, c]) {
        expect(m.toString()).toBe(a.toString());
        expect([...m.data.shape]).toEqual([2, 3, 4, 5]);
      }
      const s = tensor(
        Array.from({ length: 2 * 1 * 2 * 2 }, (_, i) => i),
        [2, 1, 2, 2],
      );
      const v = tensor(
        Array.from({ length: 2 * 2 * 2 * 2 * 2 }, (_, i) => 100 + i),
        [2, 2, 2, 2, 2],
      );
      const ref = MultiImage.fromBlocks({ '0,0': s, '1,0': v }, 2);
      const forms = [
        MultiImage.fromBlocks({ '0,0': s, '1,0': v }, { D: 2 }),
        MultiImage.fromBlocks(
          new Map<[number, number] | { k: number; parity: 0 | 1 }, typeof s>([
            [[1, 0], v],
            [{ k: 0, parity: 0 }, s],
          ]),
          { D: 2 },
        ),
        MultiImage.fromBlocks(
          [
            ['(1,0)', v],
            [[0, 0], s],
          ],
          { D: 2, isTorus: true, batched: true },
        ),
      ];
      for (const m of forms) expect(await m.equals(ref, 0, 0)).toBe(true);
      // every key spelling reads the same block
      const want = Array.from(await v.values());
      for (const key of ['1,0', [1, 0] as const, { k: 1, parity: 0 as const }]) {
        expect(Array.from(await ref.values(key))).toEqual(want);
        expect(ref.has(key)).toBe(true);
        expect(ref.channels(key)).toBe(2);
        const blk = ref.block(key);
        expect(Array.from(await blk.values())).toEqual(want);
        blk.dispose();
      }
      const blk = ref.block(1, 0);
      expect(Array.from(await blk.values())).toEqual(want);
      blk.dispose();
      expect(ref.has([1, 1])).toBe(false);
      const only = ref.withKeys([[1, 0]]);
      expect(only.signature).toEqual([{ k: 1, parity: 0, channels: 2 }]);
      expect(() => ref.block('1;0')).toThrow(/block: key must be "k,parity", e\.g\. "1,0" \(got "1;0"\)/);
      expect(() => ref.block(true as never)).toThrow(/block: key must be \[k, parity\], \{ k, parity \} or "k,parity", e\.g\. "1,0" \(got true\)/);
      expect(() => ref.block([2, 0])).toThrow(/block: key must be one of \{\(0,0\):1, \(1,0\):2\} \(got "\(2,0\)"\)/);
      expect(() => ref.values([0, 2])).rejects.toThrow(/values: parity must be 0 or 1 \(got 2\)/);
      expect(() => MultiImage.fromBlocks([[[1, 0], 'x' as never]], { D: 2 })).toThrow(/MultiImage\.fromBlocks: block \(1,0\) must be a Tensor/);
      for (const m of [a, b, c, s, v, ref, ...forms, only]) m.dispose();
    });
  });
});

describe('named group elements', () => {
  it('names every element of B_2 by what it does to the coordinates (x = axis 0)', () => {
    const names = operators(2).map((g) => elementName(g));
    expect(names).toEqual(['identity', 'flipY', 'flipX', 'rot180', 'transpose', 'rot90', 'rot270', 'antiTranspose']);
    // matrices (ginjax's identification): rot90 sends e_x to e_y
    expect(elementMatrix(groupElement(2, 'rot90'))).toBe('[[0,-1],[1,0]]');
    expect(elementMatrix(groupElement(2, 'flipX'))).toBe('[[-1,0],[0,1]]');
    expect(elementMatrix('rot270')).toBe('[[0,1],[-1,0]]'); // rot270 exists only for D = 2
  });

  it('round-trips every name and every signed-permutation spelling, D = 2..4', () => {
    for (const D of [2, 3, 4]) {
      const names = new Set<string>();
      for (const g of operators(D)) {
        const n = elementName(g);
        names.add(n);
        expect(groupElement(D, n)).toBe(g);
        expect(groupElement(D, n.toUpperCase())).toBe(g);
      }
      expect(names.size).toBe(operators(D).length); // names are unique
    }
    expect(groupElement(3, '(-y, z, x)').matrix).toEqual([0, -1, 0, 0, 0, 1, 1, 0, 0]);
    expect(groupElement(2, '(-y,x)')).toBe(groupElement(2, 'rot90'));
    expect(groupElement(3, 'rotZ90')).toBe(groupElement(3, '(-y,x,z)'));
    expect(groupElement(2, 'flipDiagonal')).toBe(groupElement(2, 'transpose'));
    expect(elementName(operators(4)[1]!)).toBe('(x0,x1,x2,-x3)');
  });

  it('3-D names are right-handed rotations and generate the group', () => {
    const rz = groupElement(3, 'rotZ90');
    const rx = groupElement(3, 'rotX90');
    const ry = groupElement(3, 'rotY90');
    // rotZ90 sends e_x to e_y, rotX90 e_y to e_z, rotY90 e_z to e_x (columns of the matrix)
    const col = (g: typeof rz, j: number) => [0, 1, 2].map((i) => g.matrix[i * 3 + j]);
    expect(col(rz, 0)).toEqual([0, 1, 0]);
    expect(col(rx, 1)).toEqual([0, 0, 1]);
    expect(col(ry, 2)).toEqual([1, 0, 0]);
    for (const g of [rz, rx, ry]) expect(g.det).toBe(1);
    expect(compose(rz, compose(rz, rz))).toBe(groupElement(3, 'rotZ270'));
    expect(compose('rotX90', 'rotX90')).toBe(groupElement(3, 'rotX180'));
    expect(inverse('rot90')).toBe(groupElement(2, 'rot270'));
    expect(generateGroup(3, ['rotX90', 'rotY90', 'inversion']).length).toBe(48);
    expect(generateGroup(3, ['rotX90', 'rotZ90'])).toBe(subgroup(3, 'rotations'));
    expect(generateGroup(2, ['rot90'])).toBe(subgroup(2, 'rotations'));
    expect(resolveOperators('test', ['identity', 'flipX', 'flipY', 'rot180'], 2)).toBe(subgroup(2, 'axis-flips'));
  });

  it('refuses unknown and ambiguous names clearly', () => {
    expect(() => groupElement(2, 'rot45')).toThrow(
      /groupElement: name must be an element name \(identity, rot90, .*\) or a signed-permutation spelling such as "\(-y,x\)" with D = 2 entries \(got "rot45"\)/,
    );
    expect(() => groupElement(2, '(x,x)')).toThrow(/groupElement: name/);
    expect(() => groupElement(2, 'rotZ90')).toThrow(/groupElement: name/);
    expect(() => inverse('flipX')).toThrow(/inverse: g must be a group element; the name names one in D = 2 and 3: use groupElement\(D, "flipX"\)/);
    expect(() => resolveOperators('f', ['identity'])).toThrow(/f: D must be given when the operators are plain indices or names/);
    expect(() => generateGroup(2, ['rotX90'])).toThrow(/generateGroup: generators\[0\] must be an operator of dimension D = 2 \(got 3\)/);
  });

  it('images and MultiImages take names wherever they take elements', async () => {
    await noLeak(async () => {
      const im = GeometricImage.from(
        [
          [0, 1, 2],
          [3, 4, 5],
          [6, 7, 8],
        ],
        { D: 2 },
      );
      const byName = im.timesGroupElement('rot90');
      const byElement = im.timesGroupElement(operators(2)[5]!);
      // inventory §2.4: rot+90 on arange(9) is [[2,5,8],[1,4,7],[0,3,6]]
      expect(await byName.array()).toEqual([
        [2, 5, 8],
        [1, 4, 7],
        [0, 3, 6],
      ]);
      expect(await byName.equals(byElement, 0, 0)).toBe(true);
      const field = GeometricImage.fill({ N: 3, D: 2, fill: [1, 0] });
      const x = MultiImage.fromImages([im, field]);
      field.dispose();
      const y = x.timesGroupElement('flipX');
      const y2 = x.timesGroupElement(groupElement(2, 'flipX'));
      expect(await y.equals(y2, 0, 0)).toBe(true);
      expect(Array.from(await y.values('1,0')).slice(0, 2)).toEqual([-1, 0]); // flipX negates x components
      expect(() => x.timesGroupElement('rotX90')).toThrow(/timesGroupElement: group element must be an element name/);
      expect(() => x.timesGroupElement(groupElement(3, 'rotX90'))).toThrow(/timesGroupElement: group element D must be 2 \(got 3\)/);
      for (const m of [im, byName, byElement, x, y, y2]) m.dispose();
    });
  });
});

describe('reading data', () => {
  it('Tensor: values() is the read, data() its alias, array() nests', async () => {
    await noLeak(async () => {
      const t = tensor([1, 2, 3, 4, 5, 6], [2, 3]);
      expect(Array.from(await t.values())).toEqual([1, 2, 3, 4, 5, 6]);
      expect(await t.data()).toEqual(await t.values());
      expect(await t.array()).toEqual([
        [1, 2, 3],
        [4, 5, 6],
      ]);
      const s = tensor([7], []);
      expect(await s.array()).toBe(7);
      const e = tensor([], [2, 0]);
      expect(await e.array()).toEqual([[], []]);
      for (const u of [t, s, e]) u.dispose();
    });
  });

  it('GeometricImage and MultiImage: values, array (per key), shapes in ginjax layout', async () => {
    await noLeak(async () => {
      const im = GeometricImage.from(
        [
          [
            [1, 2],
            [3, 4],
          ],
          [
            [5, 6],
            [7, 8],
          ],
        ],
        { D: 2 },
      );
      expect(await im.array()).toEqual([
        [
          [1, 2],
          [3, 4],
        ],
        [
          [5, 6],
          [7, 8],
        ],
      ]);
      // two vector channels, batch 1, 2×2: block layout [1, 2, 2, 2, 2]
      const imArr = await im.array();
      const parts = [GeometricImage.fill({ N: 2, D: 2, fill: 9 }), im, im.timesScalar(-1)];
      const x = MultiImage.fromImages(parts);
      for (const p of parts) p.dispose();
      const arr = await x.array();
      expect(Object.keys(arr)).toEqual(['0,0', '1,0']);
      expect(arr['0,0']).toEqual([
        [
          [
            [9, 9],
            [9, 9],
          ],
        ],
      ]);
      expect(arr['1,0']).toEqual([
        [
          imArr,
          [
            [
              [-1, -2],
              [-3, -4],
            ],
            [
              [-5, -6],
              [-7, -8],
            ],
          ],
        ],
      ]);
      expect(await x.array([1, 0])).toEqual(arr['1,0']);
      // the packed read is the stored layout: pixel (0,0) holds scalar 9, then channel 0's vector, then channel 1's
      expect(Array.from(await x.values()).slice(0, 5)).toEqual([9, 1, 2, -1, -2]);
      x.dispose();
    });
  });

  it('toString and print: numpy-style, aligned, summarised when large, values from any backend', async () => {
    const t = tensor([1, -2.5, 3, 0.25], [2, 2]);
    expect(String(t)).toBe('Tensor([2,2], ref)\n[[ 1.  , -2.5 ],\n [ 3.  ,  0.25]]'); // numpy's layout
    const big = tensor(
      Array.from({ length: 2000 }, (_, i) => i),
      [2, 1000],
    );
    expect(String(big)).toBe('Tensor([2,1000], ref)\n[[   0,    1,    2,  ...,  997,  998,  999],\n [1000, 1001, 1002,  ..., 1997, 1998, 1999]]');
    const cube = tensor(
      Array.from({ length: 8 }, (_, i) => i),
      [2, 2, 2],
    );
    expect(String(cube)).toBe('Tensor([2,2,2], ref)\n[[[0, 1],\n  [2, 3]],\n\n [[4, 5],\n  [6, 7]]]');
    const odd = tensor([NaN, Infinity, 1e-7, 1], [4]);
    expect(String(odd)).toBe('Tensor([4], ref)\n[      nan,       inf, 1.0000e-7, 1.0000e+0]');
    const spy = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    try {
      const text = await t.print({ precision: 1 });
      expect(text).toBe('Tensor([2,2], ref)\n[[ 1. , -2.5],\n [ 3. ,  0.3]]');
      expect(spy).toHaveBeenCalledWith(text);
      const im = GeometricImage.fill({ N: 2, D: 2, fill: [1, 0] });
      expect(String(im)).toBe('GeometricImage(D=2, spatial=[2,2], k=1, parity=0, isTorus=[true,true])\n[[[1, 0],\n  [1, 0]],\n\n [[1, 0],\n  [1, 0]]]');
      expect(await im.print()).toBe(String(im));
      const x = MultiImage.fromImages([im]);
      expect(String(x)).toBe(
        'MultiImage(D=2, batch=1, spatial=[2,2], signature={(1,0):1}, isTorus=[true,true])\n(1,0) vector ×1 [batch, channels, ...spatial, 2]:\n' +
          '[[[[[1, 0],\n    [1, 0]],\n\n   [[1, 0],\n    [1, 0]]]]]',
      );
      expect(await x.print()).toBe(String(x));
      im.dispose();
      x.dispose();
    } finally {
      spy.mockRestore();
    }
    for (const u of [t, big, cube, odd]) u.dispose();
    expect(String(t)).toBe('Tensor([2,2], disposed)');
  });
});

describe('Module.predict and summary', () => {
  const D = 2;
  const input = [
    { k: 0, parity: 0 as const, channels: 1 },
    { k: 1, parity: 0 as const, channels: 1 },
  ];
  const build = () =>
    new Sequential([
      new ConvContract(
        {
          D,
          input,
          output: [
            { k: 0, parity: 0, channels: 2 },
            { k: 1, parity: 0, channels: 2 },
          ],
          M: 3,
        },
        random.key(1),
      ),
      new VectorNeuronNonlinear(
        {
          D,
          input: [
            { k: 0, parity: 0, channels: 2 },
            { k: 1, parity: 0, channels: 2 },
          ],
        },
        random.key(2),
      ),
      new ConvContract(
        {
          D,
          input: [
            { k: 0, parity: 0, channels: 2 },
            { k: 1, parity: 0, channels: 2 },
          ],
          output: [{ k: 1, parity: 0, channels: 1 }],
          M: 3,
        },
        random.key(3),
      ),
    ]);
  const sample = (batch: number) => {
    const n = batch * 5 * 5 * 3;
    return new MultiImage(tensor(random.normal(random.key(7), n), [batch, 5, 5, 3]), input, D);
  };

  it('predict in batches equals one call, returns one MultiImage, leaks nothing', async () => {
    const model = build();
    const x = sample(5);
    const whole = model.call(x);
    const want = await whole.values();
    await noLeak(async () => {
      for (const batchSize of [1, 2, 5, 32]) {
        const y = model.predict(x, { batchSize });
        expect(y.batch).toBe(5);
        expect(y.signature).toEqual(whole.signature);
        const got = await y.values();
        expect(got.length).toBe(want.length);
        got.forEach((v, i) => expect(Math.abs(v - want[i]!)).toBeLessThan(1e-9));
        y.dispose();
      }
      const d = model.predict(x);
      d.dispose();
    });
    // other params (train() returns new trees): zeros give a zero output
    const zeroParams = treeZeros(model.params);
    const z = model.predict(x, { batchSize: 2, params: zeroParams });
    expect(Array.from(await z.values()).every((v) => v === 0)).toBe(true);
    z.dispose();
    disposeTree(zeroParams);
    whole.dispose();
    x.dispose();
    model.dispose();
  });

  it('predict records nothing on an enclosing gradient tape', () => {
    const model = build();
    const x = sample(2);
    // inside valueAndGrad on the model's own params: predict's output must be a constant
    const { value, grads } = valueAndGrad((p: typeof model.params) => {
      const y = model.predict(x, { params: p, batchSize: 1 });
      const s = sum(y.data);
      y.dispose();
      return s;
    })(model.params);
    const leaves = flat(grads);
    expect(leaves.length).toBeGreaterThan(0);
    for (const g of leaves) expect(Array.from(g.dataSync()).every((v) => v === 0)).toBe(true);
    value.dispose();
    for (const g of leaves) g.dispose();
    x.dispose();
    model.dispose();
  });

  it('predict refuses bad arguments clearly', () => {
    const model = build();
    const x = sample(1);
    expect(() => model.predict(x, { batchSize: 0 })).toThrow(/Sequential\.predict: batchSize must be an integer >= 1 \(got 0\)/);
    expect(() => model.predict(x, { batch: 2 } as never)).toThrow(/Sequential\.predict: option "batch" must be one of batchSize, params, state/);
    expect(() => model.predict(x.data as never)).toThrow(/Sequential\.predict: x must be a MultiImage/);
    const wrong = MultiImage.zeros({ signature: [[[0, 0], 1]], D: 2, spatial: 5 });
    const before = memory();
    expect(() => model.predict(wrong)).toThrow(/input signature/);
    expect(memory()).toEqual(before);
    wrong.dispose();
    x.dispose();
    model.dispose();
  });

  it('summary: one row per layer with declared or traced signatures, counts and total', async () => {
    const model = build();
    const x = sample(3);
    const text = await noLeak(() => model.summary(x));
    const lines = text.split('\n');
    expect(lines[0]).toMatch(/^Layer\s+Type\s+Input → output \(traced\)\s+Params$/);
    const rows = lines.slice(2, 6);
    expect(rows[0]).toMatch(/^\(model\)\s+Sequential\s+\{\(0,0\):1, \(1,0\):1\} 5×5 → \{\(1,0\):1\} 5×5\s+([\d,]+)$/);
    expect(rows[1]).toMatch(/^ {2}0\s+ConvContract\s+\{\(0,0\):1, \(1,0\):1\} 5×5 → \{\(0,0\):2, \(1,0\):2\} 5×5\s+([\d,]+)$/);
    expect(rows[2]).toMatch(/^ {2}1\s+VectorNeuronNonlinear\s+\{\(0,0\):2, \(1,0\):2\} 5×5 → \{\(0,0\):2, \(1,0\):2\} 5×5/);
    expect(rows[3]).toMatch(/^ {2}2\s+ConvContract\s+.* → \{\(1,0\):1\} 5×5/);
    const counts = rows.map((r) => Number(r.trim().split(/\s+/).at(-1)!.replace(/,/g, '')));
    const layers = (model as unknown as { layers: { parameterCount(): number }[] }).layers;
    expect(counts).toEqual([model.parameterCount(), ...layers.map((l) => l.parameterCount())]);
    expect(counts[0]).toBe(counts[1]! + counts[2]! + counts[3]!);
    expect(text).toContain(`Total trainable parameters: ${model.parameterCount().toLocaleString('en-US')}`);
    expect(text).toMatch(/Fixed buffers \(filter bases, statistics\): [\d,]+ floats/);
    // declared (no input): the layers' configs; toString is the declared summary
    const declared = model.summary();
    expect(declared).toMatch(/ {2}0\s+ConvContract\s+\{\(0,0\):1, \(1,0\):1\} → \{\(0,0\):2, \(1,0\):2\}/);
    expect(declared).toMatch(/\(model\)\s+Sequential\s+\? → \?/);
    expect(String(model)).toBe(declared);
    expect(() => model.summary(x.data as never)).toThrow(/Sequential\.summary: x must be a MultiImage \(a sample input\) or nothing/);
    x.dispose();
    model.dispose();
  });

  it('summary names the children of composite models', () => {
    const model = new UNet({ D: 2, input: [[[0, 0], 1]], output: [[[0, 0], 1]], depth: 2, numDownsamples: 1, numConv: 1 } as never, random.key(0));
    const text = model.summary();
    expect(text).toMatch(/\(model\)\s+UNet\s+\{\(0,0\):1\} → \{\(0,0\):1\}/);
    // children named by their parameter names, not by index
    const names = text
      .split('\n')
      .slice(2)
      .map((l) => l.trim().split(/\s+/)[0]);
    expect(names.some((n) => /^[a-z]/i.test(n!) && !/^\d+$/.test(n!))).toBe(true);
    model.dispose();
  });
});

function flat(t: unknown): import('../../src/index.js').Tensor[] {
  if (t && typeof t === 'object' && 'dataSync' in (t as object)) return [t as never];
  return Object.values(t as Record<string, unknown>).flatMap(flat);
}
function treeZeros(p: unknown): never {
  if (p && typeof p === 'object' && 'dataSync' in (p as object)) {
    const t = p as import('../../src/index.js').Tensor;
    return tensor(new Float32Array(t.size), t.shape) as never;
  }
  return Object.fromEntries(Object.entries(p as Record<string, unknown>).map(([k, v]) => [k, treeZeros(v)])) as never;
}
function disposeTree(t: unknown): void {
  for (const x of flat(t)) x.dispose();
}
