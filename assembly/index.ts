/**
 * The wasm kernel module (entry of asconfig.json). Re-exports kernels only; built four times (`simd`,
 * `relaxed` and their `-threads` twins) by scripts/build-wasm.mjs and embedded, one module a build,
 * in src/generated/wasm-<target>.ts.
 */
export * from './kernels/memory';
export * from './kernels/unary';
export * from './kernels/binary';
export * from './kernels/reduce';
export * from './kernels/matmul';
export * from './kernels/gather';
export * from './kernels/strided';
export * from './kernels/concat';
export * from './kernels/pool';
export * from './kernels/conv';
export { PARAMS_FINGERPRINT, paramsProbe } from './kernels/params';
