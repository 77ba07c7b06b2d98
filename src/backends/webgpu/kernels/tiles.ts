/**
 * Tile shapes of the GEMM-style shaders (matmul, conv, convInputGrad, convFilterGrad): 64 invocations
 * per workgroup, each with a 4 × 4 micro-tile, so a workgroup tile is TM × TN with TM · TN = 1024.
 * The shape is a uniform (one pipeline for all), picked per call to waste least on the edges.
 */

/** (TM, TN) candidates in order of preference on ties (square tiles reuse staged data best). */
const TILES: readonly (readonly [number, number])[] = [
  [32, 32],
  [64, 16],
  [16, 64],
];

export interface Tile {
  readonly tm: number;
  readonly tn: number;
  readonly tilesM: number;
  readonly tilesN: number;
}

/** The tile covering an M × N output with the least padding (ties: the earlier candidate). */
export function chooseTile(M: number, N: number): Tile {
  let best: Tile | null = null;
  let bestCost = Infinity;
  for (const [tm, tn] of TILES) {
    const tilesM = Math.ceil(M / tm);
    const tilesN = Math.ceil(N / tn);
    const cost = tilesM * tm * tilesN * tn;
    if (cost < bestCost) {
      bestCost = cost;
      best = { tm, tn, tilesM, tilesN };
    }
  }
  return best!;
}
