/**
 * Runs primitives: shape inference and validation from the op definition, then the current
 * backend's kernel, then (when differentiating) a record on the tape.
 */
import { getBackend, type Backend } from './backends/backend.js';
import type { OpAttrs, OpDef, OpName } from './ops/op.js';
import { allocTensor, hold, type Tensor } from './tensor.js';

/**
 * One recorded application. `inputs`/`output` identify the tensors (as cotangent keys); `held` are
 * extra handles on their storage, so the gradient rule can read values that the forward code has
 * already disposed (intermediates of a tidy scope, say). The tape's owner disposes `held`, as soon
 * as the entry's rule has run. `needs[i]`: input i depends on a watched tensor, so it needs a
 * cotangent; the rule computes none for the others (images, fixed filter bases, scalars).
 */
export interface TapeEntry {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly held: readonly Tensor[];
  readonly needs: readonly boolean[];
  readonly vjp: (dy: Tensor, inputs: readonly Tensor[], output: Tensor, needs: readonly boolean[]) => (Tensor | null)[];
}

/** Active tapes (innermost last); `grad` pushes one while it runs the function. */
export const tapes: { entries: TapeEntry[]; watched: Set<Tensor> }[] = [];

export function run<K extends OpName>(def: OpDef<K>, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const backend = backendOf(def.name, inputs);
  const outShape = def.outShape(inputs.map((t) => t.shape), attrs);
  const out = allocTensor(outShape, backend);
  backend.kernels[def.name](out.storage(), inputs.map((t) => t.storage()), attrs as never, {
    inputs: inputs.map((t) => t.shape),
    out: outShape,
  });
  record(inputs, out, (dy, xs, y, needs) => def.vjp(dy, xs, y, attrs, needs), def.name);
  return out;
}

/**
 * Records `output = f(inputs)` on every tape that watches an input (used for views too), with the
 * mask of the inputs that tape watches: the others are constants to it and get no cotangent.
 */
export function record(inputs: readonly Tensor[], output: Tensor, vjp: TapeEntry['vjp'], op = 'reshape'): void {
  for (const tape of tapes) {
    const needs = inputs.map((t) => tape.watched.has(t));
    if (needs.includes(true)) {
      tape.watched.add(output);
      tape.entries.push({ op, inputs, output, held: [...inputs, output].map(hold), needs, vjp });
    }
  }
}

function backendOf(op: string, inputs: readonly Tensor[]): Backend {
  const backend = inputs[0]?.backend ?? getBackend();
  for (const t of inputs) {
    if (t.backend !== backend) {
      const which = backend.name === t.backend.name
        ? `two different ${backend.name} backends: one was replaced by init() and no longer runs`
        : `different backends (${backend.name} and ${t.backend.name})`;
      throw new Error(`${op}: inputs live on ${which}; copy one with \`await toBackend(tensor, "${backend.name}")\``);
    }
  }
  return backend;
}
