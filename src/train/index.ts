/** Training: optimizers, losses, data, stopping conditions, the loop, rollouts. */
export * as optim from './optim.js';
export {
  sgd,
  adam,
  adamw,
  chain,
  flatten,
  clipByGlobalNorm,
  applyUpdates,
  exponentialDecay,
  warmupCosineDecay,
  cosineDecay,
  linearSchedule,
  polynomialSchedule,
  joinSchedules,
  scaleByAdam,
  scaleByLearningRate,
  addDecayedWeights,
  type GradientTransformation,
  type OptState,
  type Schedule,
  type ScalarOrSchedule,
  type SgdOptions,
  type AdamConfig,
  type AdamWConfig,
} from './optim.js';
export { copyTree, disposeTree, leavesWithPaths } from './tree.js';
export { mse, smseLoss, timestepSmseLoss, normalizedSmseLoss } from './losses.js';
export { getBatches, batchIndices, timeSeriesIdxs, timeSeriesToMultiImages, batchTimeSeries, type TimeSeriesOptions } from './data.js';
export { EpochStop, TrainLoss, ValLoss, type StopCondition, type StopOptions } from './stopping.js';
export {
  train,
  makeTrainStep,
  evaluate,
  mapLossInBatches,
  mapPlusLossInBatches,
  defaultLoss,
  smseMapAndLoss,
  ProgressBar,
  type TrainOptions,
  type TrainResult,
  type LossFn,
  type MapAndLossFn,
  type BatchInfo,
  type EpochInfo,
  type ProgressStream,
  type TrainStepResult,
} from './train.js';
export { autoregressiveStep, autoregressiveMap, lastInputStep, type AutoregressiveOptions, type ConstantFields } from './autoregressive.js';
