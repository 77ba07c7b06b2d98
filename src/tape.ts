/**
 * The gradient tape: the active tapes and `record`, which every primitive (src/engine.ts `run`) and
 * every view (Tensor.reshape) calls. It imports Tensor as a type only, so that tensor.ts and the
 * engine can both depend on it without importing each other in a loop; autodiff.ts owns the backward pass.
 */
import type { Tensor } from './tensor.js';

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

/**
 * Records `output = f(inputs)` on every tape that watches an input (used for views too), with the
 * mask of the inputs that tape watches: the others are constants to it and get no cotangent.
 * `reads(needs)` says which of [...inputs, output] the rule reads the values of under that mask; the
 * default (a view such as reshape) reads none, only shapes.
 */
export function record(
  inputs: readonly Tensor[],
  output: Tensor,
  vjp: TapeEntry['vjp'],
  op = 'reshape',
  reads: (needs: readonly boolean[]) => readonly boolean[] = () => [],
): void {
  for (const tape of tapes) {
    const needs = inputs.map((t) => tape.watched.has(t));
    if (needs.includes(true)) {
      tape.watched.add(output);
      const read = reads(needs);
      const held = [...inputs, output].map((t, i) => (read[i] ? t.hold() : null));
      tape.entries.push({ op, inputs, output, held, needs, vjp });
    }
  }
}
