/**
 * Index-map kernels, semantics of src/backends/ref/gather.ts. `idx` points at an Int32 copy of the
 * op's index map (cached per map by src/backends/wasm/gather.ts), applied to each of `blocks`
 * consecutive blocks of x and out. Both run as part tid of nt (worker threads, or 0 of 1):
 *
 *   gather(p, tid, nt)       block gather (x, idx, out, n, blocks, nIn):  out[b, i] = idx[i] < 0 ? 0 : x[b, idx[i]]
 *                            (i < n); parts are ranges of the blocks · n outputs (partStart)
 *   scatterAdd(p, tid, nt)   block scatterAdd (x, idx, out, n, blocks, nOut): out = 0; out[b, idx[i]] += x[b, i]
 *                            where idx[i] >= 0; parts are ranges of whole blocks (one part when blocks = 1)
 *
 * (blocks of src/backends/kernelParams.ts)
 *
 * gather is branch-free: an index of −1 reads x[−1] (the 4 bytes below x, inside the heap, which
 * starts above the module's static data) and selects +0 instead. scatterAdd adds in index order,
 * in float32 (exact where no output is hit twice).
 */
import { partOf, partStart } from './parallel';
import * as P from './params';

export function gather(p: usize, tid: i32, nt: i32): void {
  const x = P.gather_x(p);
  const idx = P.gather_idx(p);
  const out = P.gather_out(p);
  const n = <usize>P.gather_n(p);
  const total = n * <usize>P.gather_blocks(p);
  const inBytes = <usize>P.gather_nIn(p) << 2;
  let s = partStart(total, tid, nt);
  const e = partStart(total, tid + 1, nt);
  let b = s / n;
  let i = s - b * n;
  while (s < e) {
    const len = min(n - i, e - s);
    gatherBlock(x + b * inBytes, idx + (i << 2), out + (s << 2), len);
    s += len;
    b++;
    i = 0;
  }
}

function gatherBlock(x: usize, idx: usize, out: usize, n: usize): void {
  const end4 = out + ((n & ~(<usize>3)) << 2);
  const end = out + (n << 2);
  for (; out < end4; out += 16, idx += 16) {
    const j0 = load<i32>(idx);
    const j1 = load<i32>(idx, 4);
    const j2 = load<i32>(idx, 8);
    const j3 = load<i32>(idx, 12);
    store<f32>(out, select<f32>(load<f32>(x + (<usize>j0 << 2)), 0, j0 >= 0));
    store<f32>(out, select<f32>(load<f32>(x + (<usize>j1 << 2)), 0, j1 >= 0), 4);
    store<f32>(out, select<f32>(load<f32>(x + (<usize>j2 << 2)), 0, j2 >= 0), 8);
    store<f32>(out, select<f32>(load<f32>(x + (<usize>j3 << 2)), 0, j3 >= 0), 12);
  }
  for (; out < end; out += 4, idx += 4) {
    const j = load<i32>(idx);
    store<f32>(out, select<f32>(load<f32>(x + (<usize>j << 2)), 0, j >= 0));
  }
}

export function scatterAdd(p: usize, tid: i32, nt: i32): void {
  const blocks = <usize>P.scatterAdd_blocks(p);
  const b0 = partOf(blocks, tid, nt);
  const b1 = partOf(blocks, tid + 1, nt);
  const n = <usize>P.scatterAdd_n(p);
  const nOut = <usize>P.scatterAdd_nOut(p);
  const idx = P.scatterAdd_idx(p);
  let x = P.scatterAdd_x(p) + ((b0 * n) << 2);
  let out = P.scatterAdd_out(p) + ((b0 * nOut) << 2);
  memory.fill(out, 0, ((b1 - b0) * nOut) << 2);
  for (let b = b0; b < b1; b++, x += n << 2, out += nOut << 2) {
    for (let i: usize = 0; i < n; i++) {
      const j = load<i32>(idx + (i << 2));
      if (j >= 0) {
        const o = out + (<usize>j << 2);
        store<f32>(o, load<f32>(o) + load<f32>(x + (i << 2)));
      }
    }
  }
}
