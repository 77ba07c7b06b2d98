/**
 * Helpers over trees of tensors (parameter trees, optimizer states): leaves with their paths, zipped
 * maps over trees of the same structure, copies and disposal.
 */
import { treeMap, type Tree } from '../autodiff.js';
import { Tensor } from '../tensor.js';

/**
 * Every Tensor leaf with its path (`a.b.0.c`: object keys and array indices joined with '.').
 * @example
 * for (const [path, t] of leavesWithPaths(model.params)) console.log(path, t.shape);
 */
export function leavesWithPaths(tree: unknown, path = '', out: [string, Tensor][] = []): [string, Tensor][] {
  if (tree instanceof Tensor) out.push([path, tree]);
  else if (Array.isArray(tree)) tree.forEach((v, i) => leavesWithPaths(v, path ? `${path}.${i}` : String(i), out));
  else if (isPlainObject(tree)) {
    for (const [k, v] of Object.entries(tree)) leavesWithPaths(v, path ? `${path}.${k}` : k, out);
  }
  return out;
}

export function isPlainObject(x: unknown): x is Record<string, unknown> {
  return x !== null && typeof x === 'object' && Object.getPrototypeOf(x) === Object.prototype;
}

/**
 * Maps the Tensor leaves of `trees[0]` together with the leaves at the same places in the other
 * trees (which must have the same structure: an error names the first difference).
 */
export function zipMap<T>(fn: string, trees: readonly unknown[], f: (leaves: Tensor[], path: string) => Tensor): T {
  const lists = trees.map((t) => leavesWithPaths(t));
  const first = lists[0]!;
  lists.forEach((l, j) => {
    if (j === 0) return;
    if (l.length !== first.length || l.some(([p], i) => p !== first[i]![0])) {
      const i = l.findIndex(([p], i) => p !== first[i]?.[0]);
      throw new RangeError(
        `${fn}: tree ${j} must have the structure of tree 0 (leaf paths differ${i >= 0 ? ` at "${l[i]![0]}" vs "${first[i]?.[0] ?? 'nothing'}"` : `: ${l.length} leaves vs ${first.length}`})`,
      );
    }
  });
  let i = 0;
  return treeMap(trees[0], () => {
    const leaves = lists.map((l) => l[i]![1]);
    const path = first[i]![0];
    i++;
    return f(leaves, path);
  }) as T;
}

/**
 * A copy of the tree whose leaves are new handles on the same (immutable) storage.
 * @example
 * const best = copyTree(params); // survives disposeTree(params)
 */
export function copyTree<T>(tree: T): T {
  return treeMap(tree, (t) => t.reshape(t.shape));
}

/**
 * Disposes every Tensor leaf of a tree (optimizer states, parameter trees, gradients).
 * @example
 * const { value, grads } = valueAndGrad((p: Params) => smseLoss(model.apply(p, x), y))(params);
 * disposeTree(grads);
 * value.dispose();
 */
export function disposeTree(tree: Tree | unknown): void {
  for (const [, t] of leavesWithPaths(tree)) t.dispose();
}

/**
 * Disposes the Tensor leaves of `old` that are not also leaves of any tree in `kept` (so that a
 * transformation that passes a tensor through unchanged does not lose it).
 */
export function disposeReplaced(old: unknown, ...kept: unknown[]): void {
  const keep = new Set<Tensor>();
  for (const k of kept) for (const [, t] of leavesWithPaths(k)) keep.add(t);
  for (const [, t] of leavesWithPaths(old)) if (!keep.has(t)) t.dispose();
}
