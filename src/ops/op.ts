/**
 * The op contract. A primitive is defined once, in `src/ops/<stem>.ts`, by an `OpDef`: its name,
 * validation + output shape, and its vector-Jacobian rule written with other ops. Every backend
 * implements it in its kernel table, which is typed over `OpName`, so a missing kernel is a compile
 * error (see CONTRIBUTING.md).
 */
import type { Shape } from '../core/shape.js';
import type { Tensor } from '../tensor.js';

/** The pointwise unary primitives (`unary(op, x)`). */
export type UnaryOp = 'neg' | 'abs' | 'sign' | 'square' | 'sqrt' | 'recip' | 'exp' | 'log' | 'relu' | 'step' | 'tanh' | 'sigmoid' | 'gelu' | 'geluGrad';
/** The broadcasting binary primitives (`binary(op, a, b)`); `ge` and `eq` give 1/0. */
export type BinaryOp = 'add' | 'sub' | 'mul' | 'div' | 'max' | 'min' | 'ge' | 'eq';
/** The reductions (`reduce(op, x, axes)`). */
export type ReduceOp = 'sum' | 'max';

/**
 * Geometry of the dense convolution (cross-correlation over centred taps), per spatial axis:
 * the input is lhs-dilated ((l-1) zeros between pixels), padded by [lo, hi] (periodically on torus
 * axes, with zeros elsewhere), then read at o*stride + a*rhsDilation - lo for tap a.
 */
export interface ConvAttrs {
  readonly kernel: readonly number[];
  readonly stride: readonly number[];
  readonly padding: readonly (readonly [number, number])[];
  readonly torus: readonly boolean[];
  readonly rhsDilation: readonly number[];
  readonly lhsDilation: readonly number[];
}

/**
 * Every primitive's attributes by op name: the closed set of ops each backend implements. Each op
 * module declares its own entries next to its definition (declaration merging:
 * `declare module './op.js' { interface OpAttrs { foo: {…} } }` in the op's own module), so adding a
 * primitive does not edit this file; the kernel tables, typed over `OpName`, then fail to compile
 * until every backend has the new op.
 */
export interface OpAttrs {}

/** The name of a primitive. */
export type OpName = keyof OpAttrs;

/** The definition of a primitive: backend-free. */
export interface OpDef<K extends OpName> {
  readonly name: K;
  /** Validates the inputs (clear messages naming the op and argument) and returns the output shape. */
  outShape(shapes: readonly Shape[], attrs: OpAttrs[K]): Shape;
  /**
   * Vector-Jacobian product: one cotangent per input, computed only where `needs[i]` (the input
   * depends on a differentiated parameter); null for the other inputs and where there is no gradient.
   */
  vjp(dy: Tensor, inputs: readonly Tensor[], y: Tensor, attrs: OpAttrs[K], needs: readonly boolean[]): (Tensor | null)[];
  /**
   * Which of [...inputs, y] `vjp` reads the values of under `needs` (of the rest it uses shapes at
   * most): the tape keeps only these alive until the backward pass reaches the op. A value read but
   * not listed reaches the rule as the forward tensor itself: right while that lives, a clear
   * "was disposed" error once the forward code has freed it — never wrong numbers.
   */
  reads(attrs: OpAttrs[K], needs: readonly boolean[]): readonly boolean[];
}

/** Shapes a kernel gets along with its storages. */
export interface KernelShapes {
  readonly inputs: readonly Shape[];
  readonly out: Shape;
}

/** A backend's implementation of op K: writes into the freshly allocated `out`. */
export type Kernel<K extends OpName, S> = (out: S, inputs: readonly S[], attrs: OpAttrs[K], shapes: KernelShapes) => void;

/** A backend's complete kernel table: leaving an op out is a compile error. */
export type KernelTable<S> = { readonly [K in OpName]: Kernel<K, S> };

type KeysOf<T> = T extends unknown ? keyof T : never;
/**
 * The keys of any of `Parts` (the per-file parts a generated kernel table is assembled from,
 * scripts/gen-kernels.mjs): the table's checks use it to refuse a key that is not an op.
 */
export type PartOps<Parts extends readonly object[]> = KeysOf<Parts[number]>;
/** The keys that two or more of `Parts` have (never when each op comes from one part). */
export type RepeatedOps<Parts extends readonly object[], Seen = never> = Parts extends readonly [infer H, ...infer R extends readonly object[]]
  ? (keyof H & Seen) | RepeatedOps<R, Seen | keyof H>
  : never;
