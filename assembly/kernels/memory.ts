/**
 * The heap contract: kernels never allocate. JavaScript owns linear memory from `heapBase()` up
 * (src/backends/wasm/memory.ts) and passes byte offsets.
 */
export function heapBase(): usize {
  return __heap_base;
}
