/**
 * Reverse-mode autodiff over the primitives (DESIGN.md §4). `valueAndGrad(f)` runs f while a tape
 * records every primitive that touches a watched tensor, then walks the tape backwards applying the
 * ops' vector-Jacobian rules. Parameters are trees (objects/arrays) of Tensors; gradients come back
 * with the same structure. Intermediates are disposed; value and gradients are returned alive.
 */
import { tapes, type TapeEntry } from './engine.js';
import { add } from './ops/binary.js';
import { full, tidy, Tensor } from './tensor.js';
import { show } from './core/errors.js';

/** A tree of tensors: a Tensor, or arrays / plain objects of trees (other leaves are carried as is). */
export type Tree = Tensor | readonly Tree[] | { readonly [k: string]: Tree } | number | string | boolean | null | undefined;

/** Maps every Tensor leaf of a tree, keeping the structure. */
export function treeMap<T>(tree: T, fn: (t: Tensor, path: string) => Tensor | null, path = ''): T {
  if (tree instanceof Tensor) return fn(tree, path) as T;
  if (Array.isArray(tree)) return tree.map((v, i) => treeMap(v, fn, `${path}[${i}]`)) as T;
  if (tree !== null && typeof tree === 'object' && Object.getPrototypeOf(tree) === Object.prototype) {
    return Object.fromEntries(Object.entries(tree).map(([k, v]) => [k, treeMap(v, fn, path ? `${path}.${k}` : k)])) as T;
  }
  return tree;
}

/** The Tensor leaves of a tree, in a deterministic order (arrays by index, objects by insertion). */
export function treeLeaves(tree: unknown): Tensor[] {
  const out: Tensor[] = [];
  treeMap(tree, (t) => (out.push(t), t));
  return out;
}

/**
 * Cotangents for the scalar `output`, given the tape recorded while computing it. Entries are visited
 * in reverse order, so a tensor's cotangent is complete when its producing entry is reached; it is
 * disposed right after use, and each rule runs in its own tidy scope, so the peak memory of the
 * backward pass is the tape plus the live cotangents, not every temporary of every rule.
 */
function backward(entries: readonly TapeEntry[], output: Tensor, keep: ReadonlySet<Tensor>): Map<Tensor, Tensor> {
  const cot = new Map<Tensor, Tensor>([[output, full(output.shape, 1, output.backend)]]);
  for (let e = entries.length - 1; e >= 0; e--) {
    const { inputs, output: y, held, vjp } = entries[e]!;
    const g = cot.get(y);
    if (!g) continue;
    // Fresh handles: a rule may return its cotangent itself, or one tensor for several inputs.
    const grads = tidy(() => vjp(g, held.slice(0, -1), held.at(-1)!).map((t) => t && t.reshape(t.shape)));
    if (!keep.has(y)) {
      cot.delete(y);
      g.dispose();
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
 */
export function valueAndGrad<P, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor) {
  return (params: P, ...rest: R): { value: Tensor; grads: P } =>
    tidy(() => {
      const tape = { entries: [] as TapeEntry[], watched: new Set<Tensor>(treeLeaves(params)) };
      tapes.push(tape);
      try {
        const value = f(params, ...rest);
        tapes.splice(tapes.indexOf(tape), 1);
        if (value.size !== 1) throw new RangeError(`valueAndGrad: f must return a scalar (size 1) tensor (got shape ${show(value.shape)})`);
        const cot = backward(tape.entries, value, new Set(treeLeaves(params)));
        const grads = treeMap(params, (t) => cot.get(t)?.reshape(t.shape) ?? full(t.shape, 0, t.backend));
        return { value, grads };
      } finally {
        if (tapes.includes(tape)) tapes.splice(tapes.indexOf(tape), 1);
        for (const e of tape.entries) for (const h of e.held) h.dispose();
      }
    });
}

/** Like `valueAndGrad`, returning only the gradients. */
export function grad<P, R extends unknown[]>(f: (params: P, ...rest: R) => Tensor) {
  const vg = valueAndGrad(f);
  return (params: P, ...rest: R): P => {
    const { value, grads } = vg(params, ...rest);
    value.dispose();
    return grads;
  };
}
