/**
 * Index arithmetic shared by the op definitions (src/ops) and every backend's kernels: the one
 * definition of the convolution's output size and padding semantics, the conv geometry block,
 * matmul's operand dimensions and the collapsed broadcast geometry. It lives below both layers so
 * that kernels never import the front end.
 */
import type { Shape } from './shape.js';
import type { ConvAttrs } from '../ops/op.js';

/** Output spatial size along one axis. */
export function convOutSize(n: number, k: number, s: number, lo: number, hi: number, r: number, l: number): number {
  return Math.floor(((n - 1) * l + 1 + lo + hi - (k - 1) * r - 1) / s) + 1;
}

/**
 * The conv geometry as Int32: [D, B, Cin, Cout, then for axis 0..2: N, O, K, stride, lo, torus,
 * rhsDilation, lhsDilation] — the head of the WGSL blocks `conv`, `convInputGrad`, `convFilterGrad`
 * (src/backends/kernelParams.ts, whose writers the webgpu kernels fill from it by field name).
 * Unused axes (D < 3) are filled with N = O = K = 1 so that kernels can always loop over 3 axes.
 */
export const CONV_AXIS_FIELDS = 8;
export function convParams(x: Shape, cout: number, a: ConvAttrs): Int32Array {
  const D = a.kernel.length;
  const p = new Int32Array(4 + 3 * CONV_AXIS_FIELDS);
  p.set([D, x[0]!, x.at(-1)!, cout]);
  for (let i = 0; i < 3; i++) {
    const n = i < D ? x[i + 1]! : 1;
    const fields =
      i < D
        ? [
            n,
            convOutSize(n, a.kernel[i]!, a.stride[i]!, a.padding[i]![0], a.padding[i]![1], a.rhsDilation[i]!, a.lhsDilation[i]!),
            a.kernel[i]!,
            a.stride[i]!,
            a.padding[i]![0],
            a.torus[i] ? 1 : 0,
            a.rhsDilation[i]!,
            a.lhsDilation[i]!,
          ]
        : [1, 1, 1, 1, 0, 0, 1, 1];
    p.set(fields, 4 + i * CONV_AXIS_FIELDS);
  }
  return p;
}

/**
 * Where tap `a` of output position `o` reads along one axis: the input index, or -1 for padding.
 * (The one definition of the padding semantics; kernels implement the same arithmetic.)
 */
export function convSource(o: number, a: number, n: number, s: number, lo: number, torus: boolean, r: number, l: number): number {
  const p = o * s + a * r - lo;
  if (torus) return ((p % n) + n) % n;
  if (p < 0 || p % l !== 0) return -1;
  const i = p / l;
  return i < n ? i : -1;
}

/** (rows, inner) of a as used, (inner, cols) of b as used. */
export function matmulDims(a: readonly number[], b: readonly number[], transA: boolean, transB: boolean) {
  const [am, ak] = transA ? [a.at(-1)!, a.at(-2)!] : [a.at(-2)!, a.at(-1)!];
  const [bk, bn] = transB ? [b.at(-1)!, b.at(-2)!] : [b.at(-2)!, b.at(-1)!];
  return { m: am, k: ak, bk, n: bn };
}

/**
 * Collapses a broadcast geometry: drops size-1 axes and merges each axis into the one before it
 * when every operand is contiguous across the pair (stride_outer == stride_inner * extent_inner;
 * broadcast axes have stride 0, so broadcast runs merge too). The output is row-major throughout.
 * The wasm and WebGPU binary and batched-matmul kernels all walk this form.
 */
export function collapseBroadcast<T extends readonly (readonly number[])[]>(
  out: readonly number[],
  strides: readonly [...T],
): { shape: number[]; strides: { -readonly [K in keyof T]: number[] } } {
  const shape: number[] = [];
  const st: number[][] = strides.map(() => []);
  for (let d = 0; d < out.length; d++) {
    const n = out[d]!;
    if (n === 1) continue;
    const k = shape.length - 1;
    if (k >= 0 && strides.every((s, j) => st[j]![k] === s[d]! * n)) {
      shape[k]! *= n;
      strides.forEach((s, j) => (st[j]![k] = s[d]!));
    } else {
      shape.push(n);
      strides.forEach((s, j) => st[j]!.push(s[d]!));
    }
  }
  return { shape, strides: st as { -readonly [K in keyof T]: number[] } };
}
