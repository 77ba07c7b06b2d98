/**
 * Runs primitives: shape inference and validation from the op definition, then the current
 * backend's kernel, then (when differentiating) a record on the tape.
 */
import { getBackend, type Backend } from './backends/backend.js';
import type { OpAttrs, OpDef, OpName } from './ops/op.js';
import { allocTensor, hold, type Tensor } from './tensor.js';

/**
 * One recorded application. `inputs`/`output` identify the tensors (as cotangent keys). `held` has one
 * slot per input and then the output: an extra handle on the storage of each value the gradient rule
 * reads (so it survives the forward code's tidy scopes), null for values it needs only the shape of.
 * The tape's owner disposes `held` as soon as the entry's rule has run. `needs[i]`: input i depends on
 * a watched tensor, so it needs a cotangent; the rule computes none for the others (images, fixed
 * filter bases, scalars), and values read only for those are not held.
 */
export interface TapeEntry {
  readonly op: string;
  readonly inputs: readonly Tensor[];
  readonly output: Tensor;
  readonly held: readonly (Tensor | null)[];
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
  record(inputs, out, (dy, xs, y, needs) => def.vjp(dy, xs, y, attrs, needs), def.name, (needs) => def.reads(attrs, needs));
  return out;
}

/**
 * Records `output = f(inputs)` on every tape that watches an input (used for views too), with the
 * mask of the inputs that tape watches: the others are constants to it and get no cotangent.
 * `reads(needs)` says which of [...inputs, output] the rule reads the values of under that mask; the
 * default (a view such as reshape) reads none, only shapes.
 */
export function record(
  inputs: readonly Tensor[], output: Tensor, vjp: TapeEntry['vjp'], op = 'reshape',
  reads: (needs: readonly boolean[]) => readonly boolean[] = () => [],
): void {
  for (const tape of tapes) {
    const needs = inputs.map((t) => tape.watched.has(t));
    if (needs.includes(true)) {
      tape.watched.add(output);
      const read = reads(needs);
      const held = [...inputs, output].map((t, i) => (read[i] ? hold(t) : null));
      tape.entries.push({ op, inputs, output, held, needs, vjp });
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
