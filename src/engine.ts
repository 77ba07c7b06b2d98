/**
 * Runs primitives: shape inference and validation from the op definition, then the current
 * backend's kernel, then (when differentiating) a record on the tape (src/tape.ts).
 */
import { getBackend, type Backend } from './backends/backend.js';
import type { OpAttrs, OpDef, OpName } from './ops/op.js';
import { record } from './tape.js';
import { allocTensor, type Tensor } from './tensor.js';

export function run<K extends OpName>(def: OpDef<K>, inputs: readonly Tensor[], attrs: OpAttrs[K]): Tensor {
  const backend = backendOf(def.name, inputs);
  const outShape = def.outShape(
    inputs.map((t) => t.shape),
    attrs,
  );
  const out = allocTensor(outShape, backend);
  backend.kernels[def.name](
    out.storage(),
    inputs.map((t) => t.storage()),
    attrs as never,
    {
      inputs: inputs.map((t) => t.shape),
      out: outShape,
    },
  );
  record(
    inputs,
    out,
    (dy, xs, y, needs) => def.vjp(dy, xs, y, attrs, needs),
    def.name,
    (needs) => def.reads(attrs, needs),
  );
  return out;
}

function backendOf(op: string, inputs: readonly Tensor[]): Backend {
  const backend = inputs[0]?.backend ?? getBackend();
  for (const t of inputs) {
    if (t.backend !== backend) {
      const which =
        backend.name === t.backend.name
          ? `two different ${backend.name} backends: one was replaced by init() and no longer runs`
          : `different backends (${backend.name} and ${t.backend.name})`;
      throw new Error(`${op}: inputs live on ${which}; copy one with \`await toBackend(tensor, "${backend.name}")\``);
    }
  }
  return backend;
}
