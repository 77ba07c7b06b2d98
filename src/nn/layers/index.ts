/**
 * Layers (ginjax ml/layers.py and the baselines' equinox layers) as Modules; buildModule knows them
 * through the table in ../registry.ts.
 */
export { State, ACTIVATIONS, activate, type ActivationName, type LayerCallOptions } from './common.js';
export {
  VectorNeuronNonlinear,
  NormNonlinear,
  Activation,
  vectorNeuron,
  type VectorNeuronOptions,
  type NormNonlinearOptions,
  type ActivationOptions,
} from './nonlinear.js';
export { GroupNorm, LayerNorm, inverseSqrtSym, WHITEN_ITERATIONS, type GroupNormOptions, type LayerNormOptions } from './norm.js';
export { MaxNormPool, AveragePool, Unpool, upsampleConv, type PoolOptions, type MaxNormPoolOptions, type UpsampleConvOptions } from './pool.js';
export { Conv, ConvTranspose, BatchNorm, Identity, type ConvOptions, type ConvPadding, type ConvTransposeOptions, type BatchNormOptions } from './baseline.js';
export { Sequential } from './sequential.js';
