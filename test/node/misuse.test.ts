/**
 * API misuse that used to go through silently or leak (issue 12 items 5 and 7): parameters of the
 * right size but the wrong shape, `tidy` with an async function, empty batches, non-numeric tensor
 * data. Each case must end in a clear error that names the function and the argument, and leak
 * nothing.
 */
import { describe, expect, it } from 'vitest';
import { BatchNorm, Conv, MultiImage, Sequential, full, memory, random, tensor, tidy, type Tensor } from '../../src/index.js';
import { ConvContract } from '../../src/nn/conv-contract.js';
import type { Params } from '../../src/nn/module.js';
import { adam } from '../../src/train/optim.js';
import { EpochStop } from '../../src/train/stopping.js';
import { train } from '../../src/train/train.js';

const D = 2;
const scalar = [{ k: 0, parity: 0 as const, channels: 2 }];

/** A copy of a tree with the tensor at `path` replaced by `leaf(old)` (old tensors are shared, not copied). */
function replaceAt(tree: Params, path: readonly string[], leaf: (old: Tensor) => Tensor | Params | undefined): Params {
  const [head, ...rest] = path;
  const out: Record<string, Tensor | Params> = { ...tree };
  const next = rest.length === 0 ? leaf(tree[head!] as Tensor) : replaceAt(tree[head!] as Params, rest, leaf);
  if (next === undefined) delete out[head!];
  else out[head!] = next;
  return out;
}

/** The same values read in another layout: the size is right, the shape is not. */
const reversedShape = (t: Tensor) => t.reshape([...t.shape].reverse());

describe("model.apply checks every parameter against the model's own shapes", () => {
  const image = () => new MultiImage(tensor(random.normal(random.key(3), 2 * 6 * 6 * 2), [2, 6, 6, 2]), scalar, D);

  it('a baseline Conv weight of the right size but transposed shape is refused (it used to compute with it)', () => {
    const conv = new Conv({ D, inChannels: 2, outChannels: 3, kernel: 3 }, random.key(1));
    const x = image();
    const before = memory();
    const w = conv.params.weight as Tensor;
    expect(w.shape.length).toBeGreaterThan(1);
    const wrong = tidy(() => replaceAt(conv.params, ['weight'], reversedShape));
    expect(() => conv.apply(wrong, x)).toThrow(
      new RangeError(`Conv.apply: params.weight shape must be [${w.shape}], the model's own (got [${[...w.shape].reverse()}])`),
    );
    (wrong.weight as Tensor).dispose();
    expect(memory()).toEqual(before);
    // The model's own tree and a copy with the same shapes still work.
    tidy(() => {
      expect(conv.call(x).data.shape).toEqual([2, 6, 6, 3]);
      const copy = replaceAt(conv.params, ['weight'], (t) => t.reshape(t.shape));
      expect(conv.apply(copy, x).data.shape).toEqual([2, 6, 6, 3]);
    });
    x.dispose();
    conv.dispose();
  });

  it('nested modules: the path of the offending parameter is named; missing, extra and wrongly typed entries too', () => {
    const model = new Sequential([new ConvContract({ D, input: scalar, output: scalar, M: 3 }, random.key(2)), new BatchNorm({ D, input: scalar })]);
    const x = image();
    const before = memory();
    const convWeights = Object.keys(model.params['0']!['weights' as never] as Params);
    expect(convWeights.length).toBeGreaterThan(0);
    const wPath = ['0', 'weights', convWeights[0]!];
    const cases: [string, Params, RegExp][] = tidy(() => [
      [
        'wrong shape, same size',
        replaceAt(model.params, ['1', 'weight'], (t) => t.reshape([1, t.size])),
        /^Sequential\.apply: params\.1\.weight shape must be \[2\], the model's own \(got \[1,2\]\)$/,
      ],
      [
        'wrong size',
        replaceAt(model.params, wPath, (t) => full([t.size + 1], 0)),
        new RegExp(`params\\.0\\.weights\\.${convWeights[0]!.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')} shape must be`),
      ],
      ['missing tensor', replaceAt(model.params, ['1', 'bias'], () => undefined), /params\.1\.bias must be a Tensor of shape \[2\] \(got nothing\)/],
      ['missing sub-tree', replaceAt(model.params, ['0'], () => undefined), /params\.0 must be a sub-tree of the model's parameters \(got nothing\)/],
      [
        'extra tensor',
        replaceAt(model.params, ['1', 'scale'], () => full([2], 1)),
        /params\.1\.scale is not a parameter of this model \(its parameters at params\.1: weight, bias\)/,
      ],
      ['tensor for a sub-tree', replaceAt(model.params, ['1'], () => full([2], 1)), /params\.1 must be a parameter tree .*\(got a Tensor\)/],
      ['sub-tree for a tensor', replaceAt(model.params, ['1', 'weight'], () => ({})), /params\.1\.weight must be a Tensor of shape \[2\] \(got a sub-tree\)/],
    ]);
    for (const [what, tree, message] of cases) {
      expect(() => tidy(() => model.apply(tree, x)), what).toThrow(message);
      // the child checks its own sub-tree as well (a direct call on the layer)
    }
    expect(() => tidy(() => model.layers[1]!.apply(cases[0]![1]['1'] as Params, x))).toThrow(/^BatchNorm\.apply: params\.weight shape must be \[2\]/);
    expect(() => model.apply(null as unknown as Params, x)).toThrow(/Sequential\.apply: params must be a parameter tree/);
    // Only what the cases made is live; dispose it and nothing is left.
    const made = new Set<Tensor>();
    const walk = (t: unknown) => {
      if (t && typeof t === 'object' && 'shape' in t) made.add(t as Tensor);
      else if (t && typeof t === 'object') Object.values(t).forEach(walk);
    };
    const own = new Set<Tensor>();
    const walkOwn = (t: unknown) => {
      if (t && typeof t === 'object' && 'shape' in t) own.add(t as Tensor);
      else if (t && typeof t === 'object') Object.values(t).forEach(walkOwn);
    };
    walkOwn(model.params);
    cases.forEach(([, tree]) => walk(tree));
    for (const t of made) if (!own.has(t)) t.dispose();
    expect(memory()).toEqual(before);
    x.dispose();
    model.dispose();
  });

  it('the check runs once per tree object, and a new tree with the right shapes is accepted', () => {
    const conv = new Conv({ D, inChannels: 2, outChannels: 3, kernel: 3 }, random.key(1));
    const x = image();
    tidy(() => {
      const good = replaceAt(conv.params, ['bias'], (t) => t.reshape(t.shape));
      let reads = 0;
      // Count reads of the tree's entries: the first apply walks it, later applies of the same object do not.
      const spy = new Proxy(good, {
        get: (target, p, r) => {
          reads++;
          return Reflect.get(target, p, r);
        },
        ownKeys: (target) => {
          reads++;
          return Reflect.ownKeys(target);
        },
      });
      conv.apply(spy, x);
      const first = reads;
      reads = 0;
      conv.apply(spy, x);
      expect(first).toBeGreaterThan(reads);
    });
    x.dispose();
    conv.dispose();
  });
});

describe('tidy refuses asynchronous functions', () => {
  it('an async function is refused before it runs anything', async () => {
    const before = memory();
    let ran = false;
    const fn = async () => {
      ran = true;
      tensor([1, 2, 3]);
      await null;
      return 1;
    };
    expect(() => tidy(fn as unknown as () => number)).toThrow(/^tidy: fn must be synchronous \(got an async function\)/);
    expect(ran).toBe(false);
    expect(memory()).toEqual(before);
  });

  it('a plain function returning a promise: what it made before its first await is disposed, then the error', async () => {
    const before = memory();
    let inner: Tensor | null = null;
    let after: unknown = null;
    const fn = () => {
      inner = tensor([1, 2, 3]);
      return Promise.resolve().then(() => {
        try {
          return inner!.dataSync();
        } catch (e) {
          after = e;
          throw e;
        }
      });
    };
    expect(() => tidy(fn)).toThrow(/^tidy: fn must be synchronous \(it returned a Promise\); the tensors it made before its first await were disposed/);
    expect(memory()).toEqual(before);
    expect(inner!.disposed).toBe(true);
    await new Promise((r) => setTimeout(r, 0)); // its rejection is handled (no unhandled-rejection failure)
    expect(String(after)).toMatch(/was disposed/);
  });

  it('a non-function is refused with its kind', () => {
    expect(() => tidy(42 as unknown as () => number)).toThrow(/^tidy: fn must be a function \(got 42 \(number\)\)$/);
  });
});

describe('tensor and full only from numbers', () => {
  it('strings, booleans, holes, null, objects, BigInts and DataViews are refused; arrays of numbers and typed arrays accepted', () => {
    const before = memory();
    expect(() => tensor(['1', 'x'] as unknown as number[])).toThrow(/^tensor: data\[0\] must be a number \(got "1" \(string\)\)$/);
    expect(() => tensor([1, true] as unknown as number[])).toThrow(/^tensor: data\[1\] must be a number \(got true \(boolean\)\)$/);
    // a sparse array on purpose: element 1 is a hole
    expect(() => tensor([1, , 3] as unknown as number[])).toThrow(/^tensor: data\[1\] must be a number \(got a hole\)$/);
    expect(() => tensor([1, null] as unknown as number[])).toThrow(/data\[1\] must be a number \(got null \(null\)\)/);
    expect(() => tensor([[1, 2]] as unknown as number[])).toThrow(/data\[0\] must be a number \(got an Array\)/);
    expect(() => tensor({ length: 2, 0: 1, 1: 2 } as unknown as number[])).toThrow(
      /^tensor: data must be an Array of numbers or a numeric typed array \(got an Object\)$/,
    );
    expect(() => tensor('12' as unknown as number[])).toThrow(/data must be an Array of numbers or a numeric typed array \(got "12" \(string\)\)/);
    expect(() => tensor(BigInt64Array.of(1n) as unknown as number[])).toThrow(/got a BigInt64Array/);
    expect(() => tensor(new DataView(new ArrayBuffer(8)) as unknown as number[])).toThrow(/got a DataView/);
    expect(() => tensor(null as unknown as number[])).toThrow(/got null/);
    expect(() => full([2], '3' as unknown as number)).toThrow(/^full: value must be a number \(got "3" \(string\)\)$/);
    expect(memory()).toEqual(before);
    tidy(() => {
      expect(Array.from(tensor([1, NaN, -Infinity]).dataSync())).toEqual([1, NaN, -Infinity]);
      expect(Array.from(tensor(Int32Array.of(1, -2), [2, 1]).dataSync())).toEqual([1, -2]);
      expect(Array.from(tensor(Uint8Array.of(7)).dataSync())).toEqual([7]);
      expect(Array.from(full([2], 2.5).dataSync())).toEqual([2.5, 2.5]);
    });
  });
});

describe('empty batches are refused with a clear message', () => {
  it('MultiImage: batch 0 and empty spatial axes, from the constructor, zeros, fromBlocks and getSubset; nothing leaks', () => {
    const before = memory();
    const data = tensor([], [0, 4, 4, 2]);
    expect(() => new MultiImage(data, scalar, D)).toThrow(/^MultiImage: batch must be at least 1: an empty batch holds no samples to compute on \(got 0\)$/);
    data.dispose();
    const flat = tensor([], [1, 4, 0, 2]);
    expect(() => new MultiImage(flat, scalar, D)).toThrow(/^MultiImage: spatial axis 1 must be at least 1 pixel long \(got 0\)$/);
    flat.dispose();
    expect(() => MultiImage.zeros(scalar, D, 4, 0)).toThrow(/^MultiImage\.zeros: batch must be at least 1/);
    expect(() => MultiImage.zeros(scalar, D, [4, 0], 1)).toThrow(/^MultiImage\.zeros: spatial axis 1 must be at least 1 pixel long/);
    const block = tensor([], [0, 2, 4, 4]);
    expect(() => MultiImage.fromBlocks({ '0,0': block }, D)).toThrow(/^MultiImage\.fromBlocks: batch must be at least 1/);
    block.dispose();
    const img = MultiImage.zeros(scalar, D, 4, 3);
    expect(() => img.getSubset([])).toThrow(/^getSubset: indices must be a non-empty list of batch indices/);
    const two = img.getSubset([2, 0]);
    expect(two.batch).toBe(2);
    two.dispose();
    img.dispose();
    expect(memory()).toEqual(before);
  });

  it('train: a validation batch larger than the validation set is refused before the first epoch', async () => {
    const x = MultiImage.zeros(scalar, D, 4, 4);
    const valX = MultiImage.zeros(scalar, D, 4, 3);
    const model = new Conv({ D, inChannels: 2, outChannels: 2, kernel: 3 }, random.key(1));
    const before = memory();
    let batches = 0;
    await expect(
      train({
        model,
        x,
        y: x,
        valX,
        valY: valX,
        valBatchSize: 4,
        optimizer: adam({ learningRate: 0.01 }),
        batchSize: 2,
        key: random.key(2),
        stop: new EpochStop(1),
        onBatchEnd: () => {
          batches++;
        },
      }),
    ).rejects.toThrow(/^train: valBatchSize must be an integer in \[1, 3\] \(the number of validation samples/);
    expect(batches).toBe(0);
    expect(memory()).toEqual(before);
    for (const m of [x, valX, model]) m.dispose();
  });
});
