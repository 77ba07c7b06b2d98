/**
 * The dense convolution family on the packed channels-last layout: the engine of every geometric
 * convolution. ginjax's convolution is a cross-correlation over centred taps (no kernel flip);
 * centring is expressed through the padding, so this primitive is a plain strided, dilated
 * cross-correlation with periodic (torus) or zero padding per axis.
 *
 *   y[b, o..., co] = Σ_{a, ci} x̃[b, o·s + a·r − lo, ci] · w[a, ci, co]
 *
 * where x̃ is x dilated by l (l−1 zeros between pixels) and padded: wrapped modulo N on torus axes,
 * zero elsewhere. Its two adjoints (input and filter gradients) are primitives of their own, so that
 * every backend can run them without im2col buffers.
 */
import { run } from '../engine.js';
import { argError, check, show } from '../core/errors.js';
import { convOutSize } from '../core/kernel-geometry.js';
import { perAxis, perAxisFlags } from '../core/per-axis.js';
import { sizeOf, type Shape } from '../core/shape.js';
import type { Tensor } from '../tensor.js';
import type { ConvAttrs, OpDef } from './op.js';

declare module './op.js' {
  interface OpAttrs {
    /** x[B, ...spatial, Cin] ⋆ w[taps, Cin, Cout] -> y[B, ...out, Cout]. */
    conv: ConvAttrs;
    /** dy[B, ...out, Cout], w -> dx[B, ...spatial, Cin] (the transpose of conv in x). */
    convInputGrad: ConvAttrs & { readonly inputShape: Shape };
    /** x, dy -> dw[taps, Cin, Cout] (the transpose of conv in w). */
    convFilterGrad: ConvAttrs;
  }
}

function validateAttrs(op: string, D: number, a: ConvAttrs): void {
  for (const [name, v] of Object.entries({ kernel: a.kernel, stride: a.stride, rhsDilation: a.rhsDilation, lhsDilation: a.lhsDilation })) {
    check(v.length === D && v.every((e) => Number.isInteger(e) && e >= 1), op, name, `${D} integers >= 1`, v);
  }
  check(a.torus.length === D, op, 'torus', `${D} booleans`, a.torus);
  check(
    a.padding.length === D && a.padding.every((p) => p.length === 2 && p.every((e) => Number.isInteger(e) && e >= 0)),
    op,
    'padding',
    `${D} pairs [lo, hi] of integers >= 0`,
    a.padding.map((p) => `[${p}]`),
  );
  a.torus.forEach((t, i) => {
    if (t && a.lhsDilation[i] !== 1) argError(op, `lhsDilation[${i}]`, '1 on a torus (periodic) axis; use zero padding', a.lhsDilation[i]);
  });
}

/** Validates x[B, ...spatial, Cin] against the attributes; returns the output spatial sizes. */
function outSpatial(op: string, x: Shape, a: ConvAttrs): number[] {
  const D = a.kernel.length;
  check(D >= 1 && D <= 3, op, 'kernel', 'of length 1, 2 or 3 (one size per spatial axis)', a.kernel);
  check(x.length === D + 2, op, 'input shape', `[batch, ...${D} spatial, channels] (rank ${D + 2})`, x);
  validateAttrs(op, D, a);
  return a.kernel.map((k, i) => {
    const o = convOutSize(x[i + 1]!, k, a.stride[i]!, a.padding[i]![0], a.padding[i]![1], a.rhsDilation[i]!, a.lhsDilation[i]!);
    if (o < 1)
      argError(
        op,
        `output size on spatial axis ${i}`,
        '>= 1',
        `${o} (input ${x[i + 1]}, kernel ${k}, dilation ${a.rhsDilation[i]}, padding [${a.padding[i]}])`,
      );
    return o;
  });
}

function checkFilter(op: string, w: Shape, taps: number, cin: number, cout?: number): void {
  const ok = w.length === 3 && w[0] === taps && w[1] === cin && (cout === undefined || w[2] === cout);
  if (!ok) argError(op, 'filter shape', `[${taps} taps, ${cin} in-channels, ${cout ?? 'Cout'} out-channels]`, show(w));
}

export const convDef: OpDef<'conv'> = {
  name: 'conv',
  outShape([x, w], a) {
    const o = outSpatial('conv', x!, a);
    checkFilter('conv', w!, sizeOf(a.kernel), x!.at(-1)!);
    return [x![0]!, ...o, w![2]!];
  },
  vjp: (dy, [x, w], _y, a, [nx, nw]) => [nx ? convInputGrad(dy, w!, a, x!.shape) : null, nw ? convFilterGrad(x!, dy, a) : null],
  reads: (_a, [nx, nw]) => [!!nw, !!nx, false],
};

export const convInputGradDef: OpDef<'convInputGrad'> = {
  name: 'convInputGrad',
  outShape([dy, w], a) {
    const o = outSpatial('convInputGrad', a.inputShape, a);
    checkFilter('convInputGrad', w!, sizeOf(a.kernel), a.inputShape.at(-1)!, dy!.at(-1));
    const expected = [a.inputShape[0]!, ...o, w![2]!];
    check(dy!.length === expected.length && dy!.every((d, i) => d === expected[i]), 'convInputGrad', 'dy shape', show(expected), dy);
    return a.inputShape;
  },
  vjp: (g, [dy, w], _y, a, [ndy, nw]) => [ndy ? conv(g, w!, a) : null, nw ? convFilterGrad(g, dy!, a) : null],
  reads: (_a, [ndy, nw]) => [!!nw, !!ndy, false],
};

export const convFilterGradDef: OpDef<'convFilterGrad'> = {
  name: 'convFilterGrad',
  outShape([x, dy], a) {
    const o = outSpatial('convFilterGrad', x!, a);
    const expected = [x![0]!, ...o];
    check(dy!.length === expected.length + 1 && expected.every((d, i) => d === dy![i]), 'convFilterGrad', 'dy shape', `${show(expected)} + [Cout]`, dy);
    return [sizeOf(a.kernel), x!.at(-1)!, dy!.at(-1)!];
  },
  vjp: (g, [x, dy], _y, a, [nx, ndy]) => [nx ? convInputGrad(dy!, g, a, x!.shape) : null, ndy ? conv(x!, g, a) : null],
  reads: (_a, [nx, ndy]) => [!!ndy, !!nx, false],
};

/**
 * The dense convolution primitive (a cross-correlation, channels last) with torus or zero padding, stride and dilations; `convAttrs` builds `attrs`.
 * @example
 * const y = conv(x, w, convAttrs(2, 3, { padding: 1, torus: true })); // x [B, H, W, Cin], w [9 taps, Cin, Cout]
 */
export function conv(x: Tensor, w: Tensor, attrs: ConvAttrs): Tensor {
  return run(convDef, [x, w], attrs);
}

/**
 * The gradient of `conv` with respect to its input (the transposed convolution).
 * @example
 * const dx = convInputGrad(dy, w, attrs, x.shape);
 */
export function convInputGrad(dy: Tensor, w: Tensor, attrs: ConvAttrs, inputShape: Shape): Tensor {
  return run(convInputGradDef, [dy, w], { ...attrs, inputShape });
}

/**
 * The gradient of `conv` with respect to its filter.
 * @example
 * const dw = convFilterGrad(x, dy, attrs);
 */
export function convFilterGrad(x: Tensor, dy: Tensor, attrs: ConvAttrs): Tensor {
  return run(convFilterGradDef, [x, dy], { ...attrs });
}

/** Options of `convAttrs` (the primitive's attributes; the `Conv` layer's are `ConvOptions`): scalars apply to every axis. */
export interface ConvAttrsOptions {
  stride?: number | readonly number[];
  padding?: number | readonly (readonly [number, number])[];
  torus?: boolean | readonly boolean[];
  rhsDilation?: number | readonly number[];
  lhsDilation?: number | readonly number[];
}

/**
 * Completes conv attributes for `D` spatial axes with a kernel of side(s) `kernel`.
 * @example
 * const attrs = convAttrs(2, 3, { padding: 1, torus: true }); // 3×3 kernel, periodic wrap on both axes
 * const y = conv(x, w, attrs); // x [B, H, W, Cin], w [9 taps, Cin, Cout] → [B, H, W, Cout]
 */
export function convAttrs(D: number, kernel: number | readonly number[], o: ConvAttrsOptions = {}): ConvAttrs {
  const fn = 'convAttrs';
  const pad = o.padding;
  return {
    kernel: perAxis(fn, 'kernel', kernel, D),
    stride: perAxis(fn, 'stride', o.stride, D, { dflt: 1 }),
    padding: typeof pad === 'number' || pad === undefined ? new Array(D).fill([pad ?? 0, pad ?? 0]) : pad.map((p) => [p[0], p[1]] as const),
    torus: perAxisFlags(fn, 'torus', o.torus, D, false),
    rhsDilation: perAxis(fn, 'rhsDilation', o.rhsDilation, D, { dflt: 1 }),
    lhsDilation: perAxis(fn, 'lhsDilation', o.lhsDilation, D, { dflt: 1 }),
  };
}
