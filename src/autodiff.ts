/**
 * Reverse-mode autodiff over the primitives (DESIGN.md §4). `valueAndGrad(f)` runs f while a tape
 * records every primitive that touches a watched tensor, then walks the tape backwards applying the
 * ops' vector-Jacobian rules. Parameters are trees (objects/arrays) of Tensors; gradients come back
 * with the same structure. Intermediates are disposed; value and gradients are returned alive.
 */
import { tapes, type TapeEntry } from './tape.js';
import { add } from './ops/binary.js';
import { full, tidy, Tensor } from './tensor.js';
import { show } from './core/errors.js';

/** A tree of tensors: a Tensor, or arrays / plain objects of trees (other leaves are carried as is). */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree } | number | string | boolean | null | undefined;

/**
 * Maps every Tensor leaf of a tree, keeping the structure.
 * @example
 * const halved = treeMap(params, (t) => scale(t, 0.5));
 */
export function treeMap<T>(tree: T, fn: (t: Tensor, path: string) => Tensor | null, path = ''): T {
  if (tree instanceof Tensor) return fn(tree, path) as T;
  if (Array.isArray(tree)) return tree.map((v, i) => treeMap(v, fn, `${path}[${i}]`)) as T;
  if (tree !== null && typeof tree === 'object' && Object.getPrototypeOf(tree) === Object.prototype) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, treeMap(v, fn, path ? `${path}.${k}` : k)])) as T;
  }
  return tree;
}

/**
 * The Tensor leaves of a tree, in a deterministic order (arrays by index, objects by insertion).
 * @example
 * const count = treeLeaves(params).reduce((n, t) => n + t.size, 0);
 */
export function treeLeaves(tree: unknown): Tensor[] {
  const out: Tensor[] = [];
  treeMap(tree, (t) => (out.push(t), t));
  return out;
}

/**
 * Cotangents for the scalar `output`, given the tape recorded while computing it. Entries are visited
 * in reverse order, so a tensor's cotangent is complete when its producing entry is reached. Each rule
 * is asked only for the cotangents of the inputs that depend on a watched tensor (the entry's
 * `needs`) and runs in its own tidy scope; the cotangent it consumed and the entry's held values are
 * freed right after it, so the peak memory of the backward pass is what the part of the tape not yet
 * walked reads plus the live cotangents, not every intermediate and every cotangent ever made.
 */
function backward(entries: readonly TapeEntry[], output: Tensor, keep: ReadonlySet<Tensor>): Map<Tensor, Tensor> {
  const cot = new Map<Tensor, Tensor>([[output, full(output.shape, 1, output.backend)]]);
  for (let e = entries.length - 1; e >= 0; e--) {
    const { op, inputs, output: y, held, needs, vjp } = entries[e]!;
    const g = cot.get(y);
    if (!g) {
      for (const h of held) h?.dispose();
      continue;
    }
    // Fresh handles: a rule may return its cotangent itself, or one tensor for several inputs.
    // The rule gets the held handles of what it reads; of the rest only shapes are used.
    const xs = inputs.map((x, i) => held[i] ?? x);
    const grads = tidy(() => vjp(g, xs, held[inputs.length] ?? y, needs).map((t) => t && t.reshape(t.shape)));
    if (!keep.has(y)) {
      cot.delete(y);
      g.dispose();
    }
    for (const h of held) h?.dispose();
    const unasked = grads.findIndex((gi, i) => gi && !needs[i]);
    if (unasked >= 0) {
      for (const gi of grads) gi?.dispose();
      throw new Error(
        `valueAndGrad: the gradient rule of ${op} returned a cotangent for input ${unasked}, which does not depend on a parameter and was not asked for (a rule must honour its needs mask)`,
      );
    }
    grads.forEach((gi, i) => {
      if (!gi) return;
      const x = inputs[i]!;
      const prev = cot.get(x);
      if (!prev) {
        cot.set(x, gi);
        return;
      }
      cot.set(x, add(prev, gi));
      prev.dispose();
      gi.dispose();
    });
  }
  return cot;
}

/**
 * Returns a function computing `f(params, ...rest)` (a scalar Tensor) and its gradient with respect
 * to every Tensor leaf of `params` (zeros where f does not depend on a leaf).
 * @example
 * const loss = (p: Params, x: MultiImage, y: MultiImage) => mean(square(sub(model.apply(p, x).data, y.data)));
 * const { value, grads } = valueAndGrad(loss)(model.params, x, y);
 */
export function valueAndGrad<P, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor) {
  return (params: P, ...rest: R): { value: Tensor; grads: P } =>
    tidy(() => {
      const tape = { entries: [] as TapeEntry[], watched: new Set<Tensor>(treeLeaves(params)) };
      tapes.push(tape);
      try {
        // f's own scope: what is not on the tape is freed before the backward pass, and what is
        // survives only through the tape's handles, which the backward pass releases as it goes.
        const value = tidy(() => f(params, ...rest));
        tapes.splice(tapes.indexOf(tape), 1);
        if (value.size !== 1) throw new RangeError(`valueAndGrad: f must return a scalar (size 1) tensor (got shape ${show(value.shape)})`);
        const cot = backward(tape.entries, value, new Set(treeLeaves(params)));
        const grads = treeMap(params, (t) => cot.get(t)?.reshape(t.shape) ?? full(t.shape, 0, t.backend));
        return { value, grads };
      } finally {
        if (tapes.includes(tape)) tapes.splice(tapes.indexOf(tape), 1);
        for (const e of tape.entries) for (const h of e.held) h?.dispose();
      }
    });
}

/**
 * Like `valueAndGrad`, returning only the gradients.
 * @example
 * const g = grad((w: Tensor) => sum(square(w)))(tensor([1, 2])); // [2, 4]
 */
export function grad<P, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor) {
  const vg = valueAndGrad(f);
  return (params: P, ...rest: R): P => {
    const { value, grads } = vg(params, ...rest);
    value.dispose();
    return grads;
  };
}
