/** Simulation files in (HDF5 via h5wasm, NetCDF-4 as HDF5, NetCDF-3 via netcdfjs) and HDF5 out. */
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
} from './readers.js';
export type {
  SimulationSpec,
  FieldSpec,
  NormalizeMode,
  FieldStats,
  NormStats,
  ReadOptions,
  ShallowWaterOptions,
  SimulationData,
  FieldPlacement,
  DatasetFormat,
  NavierStokesSim,
} from './readers.js';
export { openSimulationFile, detectFormat, type SimulationFile, type VariableInfo } from './netcdf.js';
export { Hdf5File, writeHdf5, type DatasetInfo, type Hdf5DatasetSpec, type AttrValue } from './hdf5.js';
export { SimulationFileError } from './errors.js';
export type { FileSource } from './source.js';
