/** Parity cases of conv, convInputGrad and convFilterGrad (src/ops/conv.ts); see test/shared/op-cases.ts. */
import { conv, convAttrs, convFilterGrad, convInputGrad, type ConvAttrsOptions } from '../../../src/index.js';
import type { OpCase } from '../op-cases.js';

// [name, x, w, D, kernel, options, output spatial]: torus/zero padding, stride, both dilations,
// even kernels, D = 1..3, a 1-pixel image. `out` is the conv output's spatial shape.
const GEOMETRIES: [string, number[], number[], number, number, ConvAttrsOptions, number[]][] = [
  ['2-D torus 3×3', [2, 7, 6, 5], [9, 5, 11], 2, 3, { torus: true, padding: 1 }, [7, 6]],
  ['2-D zero, stride 2, dilation 2', [1, 9, 8, 4], [9, 4, 6], 2, 3, { padding: 2, stride: 2, rhsDilation: 2 }, [5, 4]],
  ['2-D lhs dilation 2, even kernel', [1, 4, 5, 3], [4, 3, 5], 2, 2, { padding: 1, lhsDilation: 2 }, [8, 10]],
  ['2-D 1-pixel image', [3, 1, 1, 4], [9, 4, 2], 2, 3, { torus: true, padding: 1 }, [1, 1]],
  ['1-D torus 5 taps', [2, 11, 3], [5, 3, 4], 1, 5, { torus: true, padding: 2 }, [11]],
  ['3-D torus 3×3×3', [1, 4, 5, 3, 3], [27, 3, 4], 3, 3, { torus: true, padding: 1 }, [4, 5, 3]],
];

export const cases: OpCase[] = GEOMETRIES.flatMap(([name, x, w, D, k, o, out]): OpCase[] => {
  const a = convAttrs(D, k, o);
  const taps = w[0]!;
  const [cin, cout] = [w[1]!, w[2]!];
  const dy = [x[0]!, ...out, cout];
  const pixels = x[0]! * out.reduce((p, q) => p * q, 1);
  return [
    { op: 'conv', name: `conv ${name}`, inputs: [x, w], run: ([xx, ww]) => conv(xx!, ww!, a), check: { depth: taps * cin } },
    { op: 'convInputGrad', name: `convInputGrad ${name}`, inputs: [dy, w], run: ([d, ww]) => convInputGrad(d!, ww!, a, x), check: { depth: taps * cout } },
    { op: 'convFilterGrad', name: `convFilterGrad ${name}`, inputs: [x, dy], run: ([xx, d]) => convFilterGrad(xx!, d!, a), check: { depth: pixels } },
  ];
});
