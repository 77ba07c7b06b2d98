/**
 * Lowering of geoconv primitives to ONNX operators, one kernel call at a time.
 *
 * `exportOnnx` runs the model's forward pass on the ref backend with its kernel table intercepted
 * (see ../onnx.ts). A kernel call whose inputs are all constants (parameters, filter bases, index
 * data) runs normally, so everything computed from the weights alone — the dense filter Σ W·Φ of
 * every ConvContract, bias routings, norm constants — is folded into initializers; products,
 * permutations and concatenations among them are also recorded, so that a convolution's filter can
 * be written as its much smaller factors (`#factored`). A call that reads the input (directly or
 * through earlier such calls) is not run: it becomes ONNX nodes here.
 *
 * Layouts. geoconv tensors are channels-last ([B, ...spatial, C]); ONNX's Conv is channels-first.
 * Every traced value carries its physical layout: 'last' (geoconv's) or 'first' (the last axis moved
 * to position 1). Conv and pooling produce 'first'; elementwise ops, reductions over spatial axes,
 * concatenations and index maps keep it (index maps absorb the permutation into their indices), so
 * a Transpose appears only where an op needs geoconv's order (reshapes that split the channel axis,
 * matmuls).
 */
import { sizeOf, stridesOf, type Shape } from '../../core/shape.js';
import type { ConvAttrs, OpAttrs, OpName } from '../../ops/op.js';
import { GraphBuilder } from './graph.js';

export type Layout = 'last' | 'first';

/** A traced (input-dependent) value: its ONNX name, geoconv shape and physical layout. */
export interface Sym {
  readonly name: string;
  readonly shape: Shape;
  readonly layout: Layout;
}

export interface LowerOptions {
  readonly opset: number;
  /** How torus (periodic) padding is written: one Pad(mode=wrap), or Slice + Concat (any opset/runtime). */
  readonly periodicPadding: 'wrap' | 'slice-concat';
  /** Input (lhs) dilation as ConvTranspose (true), or explicit zero insertion then Conv (false). */
  readonly convTranspose: boolean;
  /** Convolution filters as their recorded factors, folded by the runtime at load ('factored'), or as one dense initializer. */
  readonly filters: 'factored' | 'dense';
}

/** A kernel call on constants that ran during the trace: how its output was computed. */
interface Recipe {
  readonly op: OpName;
  readonly inputs: readonly unknown[];
  readonly attrs: unknown;
  readonly shapes: { readonly inputs: readonly Shape[]; readonly out: Shape };
}

/**
 * An export refused for a reason the user can act on; `where` names the layer.
 * @example
 * try { await exportOnnx(model, params, { spatial: [64, 64] }); } catch (e) { if (e instanceof OnnxExportError) console.error(e.message); }
 */
export class OnnxExportError extends Error {
  override name = 'OnnxExportError';
}

const same = (a: Shape, b: Shape) => a.length === b.length && a.every((v, i) => v === b[i]);
const key = (s: Shape) => s.join('x');

/** Geo axis held by each physical axis (ONNX Transpose perm from 'last' to `layout`). */
export function physPerm(rank: number, layout: Layout): number[] {
  const id = Array.from({ length: rank }, (_, i) => i);
  return layout === 'last' || rank < 3 ? id : [0, rank - 1, ...id.slice(1, rank - 1)];
}

export const physShape = (shape: Shape, layout: Layout): number[] => physPerm(shape.length, layout).map((g) => shape[g]!);

/** For every geo flat index, the physical flat index (null: identity). */
function geoToPhys(shape: Shape, layout: Layout): Int32Array | null {
  const R = shape.length;
  if (layout === 'last' || R < 3) return null;
  const perm = physPerm(R, layout);
  const pstr = stridesOf(physShape(shape, layout));
  const strideOfGeo = new Array<number>(R);
  perm.forEach((g, p) => {
    strideOfGeo[g] = pstr[p]!;
  });
  const n = sizeOf(shape);
  const out = new Int32Array(n);
  const coord = new Array<number>(R).fill(0);
  for (let i = 0; i < n; i++) {
    let off = 0;
    for (let a = 0; a < R; a++) off += coord[a]! * strideOfGeo[a]!;
    out[i] = off;
    for (let a = R - 1; a >= 0; a--) {
      if (++coord[a]! < shape[a]!) break;
      coord[a] = 0;
    }
  }
  return out;
}

/** Data of a row-major tensor of `shape`, permuted by `perm` (out axis j = in axis perm[j]). */
export function permuteData(data: ArrayLike<number>, shape: Shape, perm: readonly number[]): Float32Array {
  const R = shape.length;
  const out = new Float32Array(data.length);
  if (perm.every((p, i) => p === i)) {
    out.set(data as ArrayLike<number>);
    return out;
  }
  const istr = stridesOf(shape);
  const oshape = perm.map((p) => shape[p]!);
  const coord = new Array<number>(R).fill(0);
  for (let o = 0; o < out.length; o++) {
    let src = 0;
    for (let j = 0; j < R; j++) src += coord[j]! * istr[perm[j]!]!;
    out[o] = data[src]!;
    for (let j = R - 1; j >= 0; j--) {
      if (++coord[j]! < oshape[j]!) break;
      coord[j] = 0;
    }
  }
  return out;
}

/** Whether every value is zero. */
function isZero(data: Float64Array): boolean {
  return data.every((v) => v === 0);
}

/** The axis permutation a strided copy performs (out axis j = in axis perm[j]), or null if it is not one. */
function stridedPerm({ attrs, shapes }: Recipe): number[] | null {
  const { shape, extents, srcOffset, srcStrides, dstOffset, dstStrides } = attrs as OpAttrs['strided'];
  const inShape = shapes.inputs[0]!;
  const inStrides = stridesOf(inShape);
  if (srcOffset !== 0 || dstOffset !== 0 || !same(extents, shape) || extents.length !== inShape.length || !same(dstStrides, stridesOf(shape))) return null;
  const used = new Array<boolean>(inShape.length).fill(false);
  const perm: number[] = [];
  for (let j = 0; j < extents.length; j++) {
    const a = inShape.findIndex((n, i) => !used[i] && n === extents[j] && (n === 1 || inStrides[i] === srcStrides[j]));
    if (a < 0) return null;
    used[a] = true;
    perm.push(a);
  }
  return perm;
}

export class Lowering {
  readonly g = new GraphBuilder();
  readonly syms = new Map<unknown, Sym>();
  #where = '';
  readonly #consts = new Map<unknown, Map<string, string>>();
  readonly #views = new Map<string, string>();
  /** Weak: a constant's recipe (and what it holds on to) goes once nothing uses the constant. */
  readonly #recipes = new WeakMap<object, Recipe>();
  readonly #o: LowerOptions;

  constructor(o: LowerOptions) {
    this.#o = o;
  }

  /** The layer being traced (a path such as "UNet/UNet.down.0/ConvBlock"), for node names and errors. */
  get where(): string {
    return this.#where;
  }

  set where(path: string) {
    this.#where = path;
    this.g.scope = path;
  }

  isSym(storage: unknown): boolean {
    return this.syms.has(storage);
  }

  /**
   * Records a kernel call on constants (it ran, so `out` holds its value): products, permutations
   * and concatenations are kept, so that a large constant built from small ones (a ConvContract's
   * dense filter from its coefficients and invariant bases) can be written as those (`#factored`).
   */
  recordConstant(op: OpName, out: unknown, inputs: readonly unknown[], attrs: unknown, shapes: Recipe['shapes']): void {
    if (op === 'matmul' || op === 'strided' || op === 'concat') this.#recipes.set(out as object, { op, inputs, attrs, shapes });
  }

  fail(why: string): never {
    throw new OnnxExportError(`exportOnnx: ${this.where || 'the model'}: ${why}`);
  }

  // -------------------------------------------------------------------------------------------
  // Values in a wanted layout

  /** A constant (its storage holds the folded value) as an initializer in `layout`, padded to `rank`. */
  #constant(storage: unknown, shape: Shape, layout: Layout, rank = shape.length): string {
    const padded = [...new Array<number>(rank - shape.length).fill(1), ...shape];
    const k = `${key(padded)}|${layout}`;
    let m = this.#consts.get(storage);
    if (!m) this.#consts.set(storage, (m = new Map()));
    const hit = m.get(k);
    if (hit) return hit;
    const data = permuteData(storage as Float64Array, padded, physPerm(rank, layout));
    const name = this.g.float(data, physShape(padded, layout), 'c');
    m.set(k, name);
    return name;
  }

  /**
   * Constant `storage` with geo `shape` (layout 'last') as nodes over its recorded factors — MatMul,
   * Transpose for a permuting strided copy, Concat, Expand for zeros — when their initializers hold
   * under half its values (the runtime folds such nodes once, at load); else null.
   */
  #factored(storage: unknown, shape: Shape): string | null {
    const leaves = new Set<unknown>();
    const expressible = (s: unknown): boolean => {
      const r = this.#recipes.get(s as object);
      if (!r) {
        if (!isZero(s as Float64Array)) leaves.add(s);
        return true;
      }
      if (r.op === 'strided' && !stridedPerm(r)) return false;
      if (r.op === 'matmul' && r.shapes.inputs.some((x) => x.length !== 2)) return false;
      return r.inputs.every(expressible);
    };
    if (!this.#recipes.has(storage as object) || !expressible(storage)) return null;
    const leafValues = [...leaves].reduce<number>((n, s) => n + (s as Float64Array).length, 0);
    return 2 * leafValues < (storage as Float64Array).length ? this.#emit(storage, shape) : null;
  }

  /** `#factored`'s nodes for constant `s` viewed with `shape`. */
  #emit(s: unknown, shape: Shape): string {
    const g = this.g;
    const r = this.#recipes.get(s as object);
    if (!r) return isZero(s as Float64Array) ? g.node('Expand', [this.#scalar(0), g.int64(shape)]) : this.#constant(s, shape, 'last');
    const ins = r.inputs.map((x, i) => this.#emit(x, r.shapes.inputs[i]!));
    let y: string;
    if (r.op === 'matmul') {
      const { transA, transB } = r.attrs as OpAttrs['matmul'];
      y = g.node('MatMul', [transA ? g.transpose(ins[0]!, [1, 0]) : ins[0]!, transB ? g.transpose(ins[1]!, [1, 0]) : ins[1]!]);
    } else if (r.op === 'strided') y = g.transpose(ins[0]!, stridedPerm(r)!);
    else y = g.node('Concat', ins, { axis: (r.attrs as OpAttrs['concat']).axis });
    return same(r.shapes.out, shape) ? y : g.reshape(y, shape);
  }

  /** The value of `storage` viewed with geo `shape`, in geoconv's layout. */
  last(storage: unknown, shape: Shape): string {
    const s = this.syms.get(storage);
    if (!s) return this.#constant(storage, shape, 'last');
    if (s.layout === 'last' && same(s.shape, shape)) return s.name;
    const k = `${s.name}|last|${key(shape)}`;
    const hit = this.#views.get(k);
    if (hit) return hit;
    let name = s.name;
    if (s.layout === 'first') {
      const R = s.shape.length;
      name = this.g.transpose(name, [0, ...Array.from({ length: R - 2 }, (_, i) => i + 2), 1]);
    }
    if (!same(s.shape, shape)) name = this.g.reshape(name, shape);
    this.#views.set(k, name);
    return name;
  }

  /** The value viewed with geo `shape` (rank >= 3), channels-first. */
  first(storage: unknown, shape: Shape): string {
    const s = this.syms.get(storage);
    if (!s) return this.#constant(storage, shape, 'first');
    if (s.layout === 'first' && same(s.shape, shape)) return s.name;
    const k = `${s.name}|first|${key(shape)}`;
    const hit = this.#views.get(k);
    if (hit) return hit;
    const name = this.g.transpose(this.last(storage, shape), physPerm(shape.length, 'first'));
    this.#views.set(k, name);
    return name;
  }

  /** The layout a traced input already has for this view ('last' for reshaped views and constants). */
  layoutOf(storage: unknown, shape: Shape): Layout {
    const s = this.syms.get(storage);
    return s && same(s.shape, shape) ? s.layout : 'last';
  }

  view(storage: unknown, shape: Shape, layout: Layout): string {
    return layout === 'first' ? this.first(storage, shape) : this.last(storage, shape);
  }

  #out(storage: unknown, name: string, shape: Shape, layout: Layout): void {
    this.syms.set(storage, { name, shape: [...shape], layout: shape.length >= 3 ? layout : 'last' });
  }

  // -------------------------------------------------------------------------------------------
  // Ops

  lower<K extends OpName>(op: K, out: unknown, inputs: readonly unknown[], attrs: OpAttrs[K], shapes: { inputs: readonly Shape[]; out: Shape }): void {
    switch (op) {
      case 'unary':
        return this.#unary(out, inputs[0], shapes.inputs[0]!, (attrs as OpAttrs['unary']).op, shapes.out);
      case 'binary':
        return this.#binary(out, inputs, shapes, (attrs as OpAttrs['binary']).op);
      case 'reduce':
        return this.#reduce(out, inputs[0], shapes.inputs[0]!, attrs as OpAttrs['reduce'], shapes.out);
      case 'matmul':
        return this.#matmul(out, inputs, shapes, attrs as OpAttrs['matmul']);
      case 'concat':
        return this.#concat(out, inputs, shapes, (attrs as OpAttrs['concat']).axis);
      case 'gather':
        return this.#gather(out, inputs[0], shapes.inputs[0]!, attrs as OpAttrs['gather']);
      case 'strided':
        return this.#strided(out, inputs[0], shapes.inputs[0]!, attrs as OpAttrs['strided']);
      case 'conv':
        return this.#conv(out, inputs, shapes, attrs as ConvAttrs);
      case 'argmaxPool':
        return this.#argmaxPool(out, inputs, shapes, attrs as OpAttrs['argmaxPool']);
      default:
        return this.fail(
          `the forward pass uses the primitive "${op}" on input-dependent data, which has no ONNX lowering (gradient primitives and scatterAdd belong to training, not inference)`,
        );
    }
  }

  #scalar(v: number): string {
    return this.g.float([v], [], 'k');
  }

  #unary(out: unknown, x: unknown, shape: Shape, op: OpAttrs['unary']['op'], outShape: Shape): void {
    const layout = this.layoutOf(x, shape);
    const a = this.view(x, shape, layout);
    const g = this.g;
    let y: string;
    switch (op) {
      case 'neg':
        y = g.node('Neg', [a]);
        break;
      case 'abs':
        y = g.node('Abs', [a]);
        break;
      case 'sign':
        y = g.node('Sign', [a]);
        break;
      case 'square':
        y = g.node('Mul', [a, a]);
        break;
      case 'sqrt':
        y = g.node('Sqrt', [a]);
        break;
      case 'recip':
        y = g.node('Reciprocal', [a]);
        break;
      case 'exp':
        y = g.node('Exp', [a]);
        break;
      case 'log':
        y = g.node('Log', [a]);
        break;
      case 'relu':
        y = g.node('Relu', [a]);
        break;
      case 'step':
        y = g.node('Cast', [g.node('Greater', [a, this.#scalar(0)])], { to: 1 });
        break;
      case 'tanh':
        y = g.node('Tanh', [a]);
        break;
      case 'sigmoid':
        y = g.node('Sigmoid', [a]);
        break;
      case 'gelu':
        // geoconv's GELU is the tanh approximation: ONNX Gelu(approximate="tanh") from opset 20, else spelled out.
        if (this.#o.opset >= 20) y = g.node('Gelu', [a], { approximate: 'tanh' });
        else {
          const cube = g.node('Mul', [g.node('Mul', [a, a]), a]);
          const inner = g.node('Add', [a, g.node('Mul', [cube, this.#scalar(0.044715)])]);
          const t = g.node('Tanh', [g.node('Mul', [inner, this.#scalar(Math.sqrt(2 / Math.PI))])]);
          y = g.node('Mul', [g.node('Mul', [a, this.#scalar(0.5)]), g.node('Add', [t, this.#scalar(1)])]);
        }
        break;
      default:
        return this.fail(`the unary primitive "${op}" (a gradient helper) has no ONNX lowering`);
    }
    this.#out(out, y, outShape, layout);
  }

  #binary(out: unknown, inputs: readonly unknown[], shapes: { inputs: readonly Shape[]; out: Shape }, op: OpAttrs['binary']['op']): void {
    const R = shapes.out.length;
    const first = R >= 3 && inputs.some((s, i) => shapes.inputs[i]!.length === R && this.isSym(s) && this.layoutOf(s, shapes.inputs[i]!) === 'first');
    const names = inputs.map((s, i) => {
      const shape = shapes.inputs[i]!;
      if (!first) return this.last(s, shape);
      if (!this.isSym(s)) return this.#constant(s, shape, 'first', R);
      if (shape.length === R) return this.first(s, shape);
      const padded = [...new Array<number>(R - shape.length).fill(1), ...shape];
      return this.g.transpose(this.g.reshape(this.last(s, shape), padded), physPerm(R, 'first'));
    });
    const ops = { add: 'Add', sub: 'Sub', mul: 'Mul', div: 'Div', max: 'Max', min: 'Min', ge: 'GreaterOrEqual', eq: 'Equal' } as const;
    let y = this.g.node(ops[op], names);
    if (op === 'ge' || op === 'eq') y = this.g.node('Cast', [y], { to: 1 });
    this.#out(out, y, shapes.out, first ? 'first' : 'last');
  }

  #reduce(out: unknown, x: unknown, shape: Shape, { op, axes }: OpAttrs['reduce'], outShape: Shape): void {
    const R = shape.length;
    const keepFirst = this.layoutOf(x, shape) === 'first' && !axes.includes(0) && !axes.includes(R - 1) && outShape.length >= 3;
    const a = keepFirst ? this.first(x, shape) : this.last(x, shape);
    const phys = keepFirst ? axes.map((g) => physPerm(R, 'first').indexOf(g)) : [...axes];
    const y = this.g.node(op === 'sum' ? 'ReduceSum' : 'ReduceMax', [a, this.g.int64(phys)], { keepdims: 0 });
    this.#out(out, y, outShape, keepFirst ? 'first' : 'last');
  }

  #matmul(out: unknown, inputs: readonly unknown[], shapes: { inputs: readonly Shape[]; out: Shape }, { transA, transB }: OpAttrs['matmul']): void {
    const operand = (s: unknown, shape: Shape, trans: boolean): string => {
      const R = shape.length;
      const perm = [...Array.from({ length: R - 2 }, (_, i) => i), R - 1, R - 2];
      if (!trans) return this.last(s, shape);
      if (!this.isSym(s))
        return this.g.float(
          permuteData(s as Float64Array, shape, perm),
          perm.map((p) => shape[p]!),
          'c',
        );
      return this.g.transpose(this.last(s, shape), perm);
    };
    const y = this.g.node('MatMul', [operand(inputs[0], shapes.inputs[0]!, transA), operand(inputs[1], shapes.inputs[1]!, transB)]);
    this.#out(out, y, shapes.out, 'last');
  }

  #concat(out: unknown, inputs: readonly unknown[], shapes: { inputs: readonly Shape[]; out: Shape }, axis: number): void {
    const R = shapes.out.length;
    const first = R >= 3 && inputs.some((s, i) => this.isSym(s) && this.layoutOf(s, shapes.inputs[i]!) === 'first');
    const names = inputs.map((s, i) => this.view(s, shapes.inputs[i]!, first ? 'first' : 'last'));
    const phys = first ? physPerm(R, 'first').indexOf(axis) : axis;
    this.#out(out, this.g.node('Concat', names, { axis: phys }), shapes.out, first ? 'first' : 'last');
  }

  /**
   * gather: the index map composed with both physical layouts, then written as the cheapest
   * equivalent — a Reshape (identity map), a Slice (a box of the input), or a Gather over the
   * flattened tensor (per batch element when the map acts alike on each).
   */
  /**
   * A strided copy (permute, slice, broadcast, repeat) as the gather it equals: the output's index
   * map, -1 where nothing is written. A summing destination (stride 0, the adjoint of a broadcast)
   * only appears in gradients.
   */
  #strided(out: unknown, x: unknown, shape: Shape, { shape: outShape, extents, srcOffset, srcStrides, dstOffset, dstStrides }: OpAttrs['strided']): void {
    if (extents.some((n, a) => n > 1 && dstStrides[a] === 0)) {
      return this.fail('the forward pass sums through a strided copy (the adjoint of a broadcast), which belongs to training, not inference');
    }
    const index = new Int32Array(sizeOf(outShape)).fill(-1);
    const rank = extents.length;
    const at = new Array<number>(rank).fill(0);
    for (let n = sizeOf(extents); n > 0; n--) {
      let src = srcOffset;
      let dst = dstOffset;
      for (let a = 0; a < rank; a++) {
        src += at[a]! * srcStrides[a]!;
        dst += at[a]! * dstStrides[a]!;
      }
      index[dst] = src;
      for (let a = rank - 1; a >= 0 && ++at[a]! === extents[a]; a--) at[a] = 0;
    }
    this.#gather(out, x, shape, { shape: outShape, index, blocks: 1 });
  }

  #gather(out: unknown, x: unknown, shape: Shape, { shape: outShape, index, blocks }: OpAttrs['gather']): void {
    const inLayout = this.layoutOf(x, shape);
    const outLayout: Layout = inLayout === 'first' && outShape.length >= 3 ? 'first' : 'last';
    const nIn = sizeOf(shape);
    const nOut = sizeOf(outShape);
    const bIn = nIn / blocks;
    const bOut = nOut / blocks;
    const q = geoToPhys(shape, inLayout);
    const pOut = geoToPhys(outShape, outLayout);
    const G = new Int32Array(nOut);
    for (let o = 0; o < nOut; o++) {
      const b = Math.floor(o / bOut);
      const j = index[o - b * bOut]!;
      const src = j < 0 ? -1 : b * bIn + j;
      G[pOut ? pOut[o]! : o] = src < 0 ? -1 : q ? q[src]! : src;
    }
    const xin = this.view(x, shape, inLayout);
    const pin = physShape(shape, inLayout);
    const pout = physShape(outShape, outLayout);
    const g = this.g;
    let y: string;
    const box = sliceBox(G, pin, pout);
    if (box && box.every(([s], a) => s === 0 && pin[a] === pout[a])) y = xin;
    else if (box) {
      const axes = box.map((_, a) => a).filter((a) => box[a]![0] !== 0 || pin[a] !== pout[a]);
      y = g.node('Slice', [xin, g.int64(axes.map((a) => box[a]![0])), g.int64(axes.map((a) => box[a]![0] + pout[a]!)), g.int64(axes)]);
    } else {
      // Per batch element when every element's map is the first one's, shifted.
      const B = shape[0] ?? 1;
      let perBatch = shape.length > 0 && outShape.length > 0 && outShape[0] === B && B > 1;
      const nInB = nIn / B;
      const nOutB = nOut / B;
      for (let p = nOutB; perBatch && p < nOut; p++) {
        const base = G[p % nOutB]!;
        const b = Math.floor(p / nOutB);
        perBatch = base < 0 ? G[p] === -1 : G[p] === base + b * nInB;
      }
      const rows = perBatch ? B : 1;
      const n = perBatch ? nInB : nIn;
      const m = perBatch ? nOutB : nOut;
      let flat = g.reshape(xin, [rows, n]);
      const idx = new Array<number>(m);
      let zero = false;
      for (let i = 0; i < m; i++) {
        const v = G[i]!;
        zero ||= v < 0;
        idx[i] = v < 0 ? n : v;
      }
      if (zero) flat = g.node('Concat', [flat, g.float(new Float32Array(rows), [rows, 1], 'zero')], { axis: 1 });
      y = g.reshape(g.node('Gather', [flat, g.int64(idx, [m])], { axis: 1 }), pout);
    }
    this.#out(out, y, outShape, outLayout);
  }

  /** Periodic padding of physical axis `axis` (size n) by lo before and hi after, as Slice + Concat. */
  #wrapSlices(x: string, axis: number, n: number, lo: number, hi: number): string {
    const parts: string[] = [];
    // Cover positions -lo .. n + hi - 1 with runs that stay inside one period.
    let p = -lo;
    while (p < n + hi) {
      const start = ((p % n) + n) % n;
      const len = Math.min(n - start, n + hi - p);
      parts.push(start === 0 && len === n ? x : this.g.slice(x, axis, start, start + len));
      p += len;
    }
    return parts.length === 1 ? parts[0]! : this.g.node('Concat', parts, { axis });
  }

  #conv(out: unknown, inputs: readonly unknown[], shapes: { inputs: readonly Shape[]; out: Shape }, a: ConvAttrs): void {
    const [xs, ws] = inputs;
    if (this.isSym(ws)) this.fail('the convolution filter depends on the input (only filters computed from parameters can be exported)');
    const xShape = shapes.inputs[0]!;
    const wShape = shapes.inputs[1]!;
    const D = a.kernel.length;
    const cin = wShape[1]!;
    const g = this.g;
    let x = this.first(xs, xShape);
    let spatial = xShape.slice(1, 1 + D);
    const pads: [number, number][] = a.padding.map(([lo, hi]) => [lo, hi]);

    // Torus axes: periodic padding first, then a 'valid' convolution on those axes.
    const torusAxes = a.torus.flatMap((t, i) => (t && (a.padding[i]![0] > 0 || a.padding[i]![1] > 0) ? [i] : []));
    if (torusAxes.length > 0) {
      const fits = torusAxes.every((i) => a.padding[i]![0] <= spatial[i]! && a.padding[i]![1] <= spatial[i]!);
      if (this.#o.periodicPadding === 'wrap' && this.#o.opset >= 19 && fits) {
        const p = new Array<number>(2 * (D + 2)).fill(0);
        for (const i of torusAxes) {
          p[2 + i] = a.padding[i]![0];
          p[D + 2 + 2 + i] = a.padding[i]![1];
        }
        x = g.node('Pad', [x, g.int64(p)], { mode: 'wrap' });
      } else {
        for (const i of torusAxes) x = this.#wrapSlices(x, 2 + i, spatial[i]!, a.padding[i]![0], a.padding[i]![1]);
      }
      spatial = spatial.map((n, i) => (torusAxes.includes(i) ? n + a.padding[i]![0] + a.padding[i]![1] : n));
      for (const i of torusAxes) pads[i] = [0, 0];
    }

    const dilated = a.lhsDilation.some((l) => l > 1);
    const tPads = a.kernel.map((k, i) => [(k - 1) * a.rhsDilation[i]! - pads[i]![0], (k - 1) * a.rhsDilation[i]! - pads[i]![1]] as const);
    if (dilated && this.#o.convTranspose && a.stride.every((s) => s === 1) && tPads.every(([b, e]) => b >= 0 && e >= 0)) {
      // lhs (input) dilation = a transposed convolution with stride l and the spatially flipped filter.
      const y = g.node('ConvTranspose', [x, this.#filter(ws, wShape, a.kernel, true)], {
        kernel_shape: [...a.kernel],
        strides: [...a.lhsDilation],
        dilations: [...a.rhsDilation],
        pads: [...tPads.map(([b]) => b), ...tPads.map(([, e]) => e)],
      });
      this.#out(out, y, shapes.out, 'first');
      return;
    }
    if (dilated) {
      // General case: insert the l-1 zeros explicitly (reshape, pad, reshape, trim), axis by axis.
      for (let i = 0; i < D; i++) {
        const l = a.lhsDilation[i]!;
        if (l === 1) continue;
        const n = spatial[i]!;
        const shape = [xShape[0]!, cin, ...spatial];
        const split = [...shape.slice(0, 3 + i), 1, ...shape.slice(3 + i)];
        const p = new Array<number>(2 * split.length).fill(0);
        p[split.length + 3 + i] = l - 1;
        const padded = g.node('Pad', [g.reshape(x, split), g.int64(p)], { mode: 'constant' });
        const merged = [...shape.slice(0, 2 + i), n * l, ...shape.slice(3 + i)];
        x = g.slice(g.reshape(padded, merged), 2 + i, 0, (n - 1) * l + 1);
        spatial = spatial.map((m, j) => (j === i ? (n - 1) * l + 1 : m));
      }
    }
    const y = g.node('Conv', [x, this.#filter(ws, wShape, a.kernel, false)], {
      kernel_shape: [...a.kernel],
      strides: [...a.stride],
      dilations: [...a.rhsDilation],
      pads: [...pads.map(([lo]) => lo), ...pads.map(([, hi]) => hi)],
    });
    this.#out(out, y, shapes.out, 'first');
  }

  /**
   * A constant filter [taps, cin, cout] as ONNX's weight: [cout, cin, ...kernel] for Conv, or for
   * ConvTranspose spatially flipped and [cin, cout, ...kernel]. Factored (see #factored) when the
   * options ask for it and it is smaller; else one dense initializer.
   */
  #filter(ws: unknown, wShape: Shape, kernel: readonly number[], transposed: boolean): string {
    const [taps, cin, cout] = wShape as [number, number, number];
    const D = kernel.length;
    const g = this.g;
    const factored = this.#o.filters === 'factored' ? this.#factored(ws, wShape) : null;
    if (factored) {
      const spatial = Array.from({ length: D }, (_, i) => i);
      const w = g.transpose(g.reshape(factored, [...kernel, cin, cout]), transposed ? [D, D + 1, ...spatial] : [D + 1, D, ...spatial]);
      if (!transposed) return w;
      // every spatial axis reversed: Slice from the last element with step -1 (end -(n + 1) lands before 0)
      const axes = spatial.map((i) => i + 2);
      return g.node('Slice', [w, g.int64(axes.map(() => -1)), g.int64(kernel.map((n) => -(n + 1))), g.int64(axes), g.int64(axes.map(() => -1))]);
    }
    const w = ws as Float64Array;
    const W = new Float32Array(w.length);
    for (let t = 0; t < taps; t++)
      for (let ci = 0; ci < cin; ci++)
        for (let co = 0; co < cout; co++) {
          W[transposed ? (ci * cout + co) * taps + (taps - 1 - t) : (co * cin + ci) * taps + t] = w[(t * cin + ci) * cout + co]!;
        }
    return g.float(W, transposed ? [cin, cout, ...kernel] : [cout, cin, ...kernel], 'filter');
  }

  /**
   * argmaxPool: per window, the first argmax of the comparator (ArgMax over the
   * window's taps, select_last_index = 0), then GatherElements of the whole T-vector at it.
   */
  #argmaxPool(
    out: unknown,
    inputs: readonly unknown[],
    shapes: { inputs: readonly Shape[]; out: Shape },
    { patch, tensorSize: T }: OpAttrs['argmaxPool'],
  ): void {
    const [xs, cs] = inputs;
    const xShape = shapes.inputs[0]!;
    const cShape = shapes.inputs[1]!;
    const g = this.g;
    const D = xShape.length - 2;
    const B = xShape[0]!;
    const C = cShape.at(-1)!;
    const pooled = xShape.slice(1, 1 + D).map((n) => n / patch);
    const win = patch ** D;
    const windows = (name: string, lead: number[]): string => {
      const L = lead.length;
      const split = g.reshape(name, [...lead, ...pooled.flatMap((n) => [n, patch])]);
      const perm = [...Array.from({ length: L }, (_, i) => i), ...pooled.map((_, i) => L + 2 * i), ...pooled.map((_, i) => L + 2 * i + 1)];
      return g.reshape(g.transpose(split, perm), [...lead, ...pooled, win]);
    };
    const c = windows(this.first(cs, cShape), [B, C]);
    let idx = g.node('ArgMax', [c], { axis: D + 2, keepdims: 1, select_last_index: 0 });
    idx = g.reshape(idx, [B, C, 1, ...pooled, 1]);
    if (T > 1) idx = g.node('Expand', [idx, g.int64([B, C, T, ...pooled, 1])]);
    const xw = windows(this.first(xs, xShape), [B, C, T]);
    const y = g.node('GatherElements', [xw, idx], { axis: D + 3 });
    this.#out(out, g.reshape(y, [B, C * T, ...pooled]), shapes.out, 'first');
  }
}

/**
 * When the physical map G (out flat -> in flat) reads a box of the input — out[o] = in[o + s] for a
 * fixed offset s on every axis — returns [s, size] per axis; else null.
 */
function sliceBox(G: Int32Array, pin: readonly number[], pout: readonly number[]): [number, number][] | null {
  if (pin.length !== pout.length || G.length === 0 || G[0]! < 0) return null;
  const R = pin.length;
  const istr = stridesOf(pin);
  const start = istr.map((s, a) => Math.floor(G[0]! / s) % pin[a]!);
  if (start.some((s, a) => s + pout[a]! > pin[a]!)) return null;
  const coord = new Array<number>(R).fill(0);
  const base = G[0]!;
  for (let o = 0; o < G.length; o++) {
    let off = base;
    for (let a = 0; a < R; a++) off += coord[a]! * istr[a]!;
    if (G[o] !== off) return null;
    for (let a = R - 1; a >= 0; a--) {
      if (++coord[a]! < pout[a]!) break;
      coord[a] = 0;
    }
  }
  return start.map((s, a) => [s, pout[a]!]);
}
