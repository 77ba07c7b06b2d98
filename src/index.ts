/** geoconv: equivariant geometric convolutions for JavaScript. The public API. */
export { init, getBackend, setBackend, toBackend, notices, unavailable, type InitOptions, type BackendName, type Backend } from './init.js';
export { limits } from './core/limits.js';
export type { Shape } from './core/shape.js';
export type { KernelTable, Kernel, KernelShapes } from './ops/op.js';
export type { StridedView } from './core/strided.js';
export type { EquivariantNonlinearity } from './nn/models.js';
export type { Dtype, AxisRange, OpenOptions as Hdf5OpenOptions } from './data/hdf5.js';
export type { ReadOptions as VariableReadOptions } from './data/netcdf.js';
export type { ParsedHeader, TensorInfo } from './io/safetensors.js';
export type { BatchesOptions } from './train/train.js';
export { Tensor, tensor, zeros, full, scalar, tidy, keep, memory, type NestedNumbers, type PrintOptions } from './tensor.js';
export * as random from './core/random.js';
export { unary, neg, abs, sign, square, sqrt, recip, exp, log, relu, step, tanh, sigmoid, gelu } from './ops/unary.js';
export { binary, add, sub, mul, div, maximum, minimum, scale, addScalar, broadcastTo, sumTo } from './ops/binary.js';
export { reduce, sum, max, mean } from './ops/reduce.js';
export { matmul } from './ops/matmul.js';
export { gather, scatterAdd, permute, slice, indexMap } from './ops/gather.js';
export { strided, upsample } from './ops/strided.js';
export { concat } from './ops/concat.js';
export { conv, convInputGrad, convFilterGrad, convAttrs, type ConvAttrsOptions } from './ops/conv.js';
export { argmaxPool, argmaxPoolGrad } from './ops/pool.js';
export type { ConvAttrs, OpName, OpAttrs, UnaryOp, BinaryOp, ReduceOp } from './ops/op.js';
export { version } from './version.js';
export { valueAndGrad, grad, treeMap, treeLeaves, type Tree } from './autodiff.js';
export {
  operators,
  actionMap,
  compose,
  inverse,
  elementName,
  elementMatrix,
  groupElement,
  leviCivita,
  permutationParity,
  subgroup,
  generateGroup,
  resolveOperators,
  isFullGroup,
  type GroupElement,
  type ActionMap,
  type OperatorLike,
  type SubgroupName,
} from './geometric/group.js';
export {
  invariantFilters,
  filterCount,
  invariantFilterBank,
  resolveFilterSpec,
  type FilterSet,
  type FilterScale,
  type FilterSpec,
  type ResolvedFilterSpec,
  type InvariantFilterOptions,
} from './geometric/filters.js';
export { GeometricImage, TINY, type NestedArray, type ImageFromOptions, type ImageZerosOptions, type ImageFillOptions } from './geometric/image.js';
export { MultiImage, type Blocks, type KeyLike, type FromBlocksOptions, type MultiZerosOptions } from './geometric/multi-image.js';
export { signature, signatureWidth, tensorName, type Signature, type SignatureEntry, type SignatureLike, type Key as ImageKey } from './geometric/signature.js';
export * as geometric from './geometric/functional.js';
export { renderImage } from './geometric/render.js';
export {
  Module,
  registerModule,
  withoutInit,
  initUniform,
  type ModuleBuilder,
  type PredictOptions,
  type Params,
  type ModuleConfig,
  type CallOptions,
  type Json,
} from './nn/module.js';
export { buildModule, moduleTypes } from './nn/registry.js';
export { ConvContract, type ConvContractOptions, type BiasMode } from './nn/conv-contract.js';
export * from './nn/layers/index.js';
export {
  ConvBlock,
  UNet,
  ResNet,
  DilResNet,
  ModelWrapper,
  GroupAverage,
  ResidualStep,
  type ResidualStepOptions,
  ginjaxParameterCount,
  signatureUnion,
  type GroupAverageOptions,
  type ConvBlockOptions,
  type UNetOptions,
  type ResNetOptions,
  type DilResNetOptions,
  type ModelOptions,
} from './nn/models.js';
export {
  gradientTask,
  scalarTask,
  gravityTask,
  disposeTask,
  TASKS,
  type TaskData,
  type TaskName,
  type TaskOptions,
  type GradientTaskOptions,
  type Split,
} from './tasks/tasks.js';
export { plotImage, plotGrid, type PlotOptions, type GridOptions } from './geometric/plot.js';
export * from './train/index.js';
export {
  serveWorker,
  WorkerClient,
  trainingHandlers,
  toWire,
  fromWire,
  type WireImage,
  type OptimizerSpec,
  type TrainRequest,
  type TrainReply,
  type TrainProgress,
  type HandlerContext,
  type Handler,
  type Handlers,
  type Endpoint,
  type CallOptions as WorkerCallOptions,
} from './train/worker.js';
export { rolloutLoss, type RolloutOptions, type RolloutResult } from './eval/rollout.js';
export {
  powerSpectrum,
  tensorPowerSpectrum,
  fieldSpectra,
  spectralError,
  fieldSpectralErrors,
  type PowerSpectrum,
  type FieldSpectrum,
  type FieldSpectraOptions,
  type FieldSpectralError,
  type SpectralErrors,
} from './eval/spectrum.js';
export {
  benchmark,
  formatTable,
  type Metrics,
  type BenchmarkModel,
  type BenchmarkOptions,
  type BenchmarkProgress,
  type BenchmarkTable,
  type RunContext,
  type Summary,
  type TableFormat,
  type FormatOptions,
} from './eval/benchmark.js';
export {
  rolloutPanels,
  linePlot,
  rolloutLossPlot,
  spectrumPlot,
  plotSpectra,
  pngDataUri,
  SERIES_COLORS,
  type RolloutPanelsOptions,
  type Series,
  type LinePlotOptions,
  type NamedSpectrum,
} from './eval/pictures.js';
export {
  serialize,
  serializeSync,
  deserialize,
  parseHeader,
  SafetensorsError,
  saveCheckpoint,
  loadCheckpoint,
  checkpointFromBytes,
  type SerializeExtra,
  type Deserialized,
  type DeserializeOptions,
  type LoadOptions,
  type Loaded,
  type CheckpointSource,
} from './io/index.js';
export { exportOnnx, OnnxExportError, type ExportOnnxOptions } from './io/onnx.js';
export {
  loadGinjax,
  saveGinjax,
  serializeGinjax,
  ginjaxFromBytes,
  ginjaxLeaves,
  buildGinjaxModel,
  normalizeGinjaxConfig,
  GinjaxFileError,
  type GinjaxConfig,
  type GinjaxFilters,
  type GinjaxLeaf,
  type GinjaxSource,
} from './io/ginjax.js';
export { parseNpyRecords, npyRecord, NpyError, type NpyRecord, type NpyDtype } from './io/npy.js';
export {
  readDataset,
  readSimulation,
  readPdebenchCfd,
  readShallowWater,
  readNavierStokes,
  writeNavierStokesHdf5,
  validateSpec,
  unnormalize,
  navierStokesSpec,
  PDEBENCH_CFD_SPEC,
  type SimulationSpec,
  type FieldSpec,
  type NormalizeMode,
  type FieldStats,
  type NormStats,
  type ReadOptions as SimulationReadOptions,
  type ShallowWaterOptions,
  type SimulationData,
  type FieldPlacement,
  type DatasetFormat,
  type NavierStokesSim,
} from './data/readers.js';
export { openSimulationFile, detectFormat, type SimulationFile, type VariableInfo } from './data/netcdf.js';
export { Hdf5File, writeHdf5, type DatasetInfo, type Hdf5DatasetSpec, type AttrValue } from './data/hdf5.js';
export { SimulationFileError } from './data/errors.js';
export type { FileSource } from './data/source.js';
export {
  simulateNavierStokes,
  navierStokesToMultiImage,
  NavierStokesSolver,
  type NavierStokesOptions,
  type NavierStokesSolverOptions,
  type NavierStokesResult,
  type ForcingSpec,
  type InitialSpectrum,
} from './sim/navier-stokes.js';
