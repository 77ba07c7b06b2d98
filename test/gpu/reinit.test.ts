/** init() after the WebGPU device was destroyed (or lost) starts a new device instead of returning the dead one. */
import { expect, it } from 'vitest';
import * as g from '../../src/index.js';
import type { WebGPUBackend } from '../../src/backends/webgpu/index.js';

it('init({ backend: "webgpu" }) replaces a backend whose device was destroyed', async () => {
  expect(await g.init({ backend: 'webgpu' })).toBe('webgpu');
  const first = g.getBackend('webgpu') as WebGPUBackend;
  first.destroy();
  expect(() => g.add(g.tensor([1, 2], [2]), g.tensor([3, 4], [2]))).toThrow(/device was lost/);
  expect(await g.init({ backend: 'webgpu' })).toBe('webgpu');
  const second = g.getBackend('webgpu') as WebGPUBackend;
  expect(second).not.toBe(first);
  const y = g.add(g.tensor([1, 2], [2]), g.tensor([3, 4], [2]));
  expect(Array.from(await y.data())).toEqual([4, 6]);
  y.dispose();
  second.destroy();
  g.setBackend('ref');
});
