/** Sequential composition of modules. */
import { check } from '../../core/errors.js';
import type { MultiImage } from '../../geometric/multi-image.js';
import type { Tensor } from '../../tensor.js';
import { Module, subtree, type ModuleConfig, type Params } from '../module.js';
import type { LayerCallOptions } from './common.js';

/**
 * Applies its layers in order, passing the call options (training flag, batch-norm state) to each.
 * Params: `{ "0": params of layer 0, "1": … }`. Config: `{ type: 'Sequential', layers: [configs] }`;
 * buildModule rebuilds each layer from its config with the key split in as many parts as layers.
 * @example
 * const model = new Sequential([
 *   new ConvContract({ D: 2, input: [[[0, 0], 1]], output: [[[0, 0], 4], [[1, 0], 4]], M: 3 }, random.key(0)),
 *   new VectorNeuronNonlinear({ D: 2, input: [[[0, 0], 4], [[1, 0], 4]] }, random.key(1)),
 * ]);
 * console.log(model.summary());
 */
export class Sequential extends Module {
  readonly config: ModuleConfig;
  readonly params: Params;
  readonly layers: readonly Module[];

  constructor(layers: readonly Module[]) {
    super();
    check(
      Array.isArray(layers) && layers.length > 0 && layers.every((l) => l instanceof Module),
      'Sequential',
      'layers',
      'a non-empty array of Modules',
      layers,
    );
    this.layers = Object.freeze([...layers]);
    this.params = Object.fromEntries(this.layers.map((l, i) => [String(i), l.params]));
    this.config = { type: 'Sequential', layers: this.layers.map((l) => l.config) };
  }

  override submodules(): readonly Module[] {
    return this.layers;
  }

  override buffers(): Tensor[] {
    return this.layers.flatMap((l) => l.buffers());
  }

  apply(params: Params, x: MultiImage, options?: LayerCallOptions): MultiImage {
    let y = x;
    this.layers.forEach((l, i) => {
      const next = l.apply(subtree(params, String(i)), y, options);
      if (y !== x) y.dispose();
      y = next;
    });
    return y;
  }
}
