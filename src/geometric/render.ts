/**
 * Text pictures of small geometric images (filters, mostly), for terminals. Axis 0 is x (columns,
 * left to right) and axis 1 is y (rows, upwards), as in ginjax's plots; D = 3 prints one grid per z.
 * Scalars print as signed numbers, 2-D vectors as an arrow and length, other tensors as their
 * components in parentheses (a 2-tensor row by row, rows separated by "|"). Every component has
 * one width and every cell one width over the whole image (all z slices), so columns line up and
 * all lines of a grid are equally long.
 */

const ARROWS = ['→', '↗', '↑', '↖', '←', '↙', '↓', '↘'];
const ZERO = 5e-7;

/** A number with sign and two decimals ("+1.00", "-0.71"), "0" for (near) zero. */
function num(v: number): string {
  if (Math.abs(v) < ZERO) return '0';
  return (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);
}

function cell(values: readonly number[], D: number, k: number, compWidth: number): string {
  if (values.every((v) => Math.abs(v) < ZERO)) return '·';
  if (k === 0) return num(values[0]!);
  if (k === 1 && D === 2) {
    const [x, y] = values as [number, number];
    const octant = Math.round(Math.atan2(y, x) / (Math.PI / 4));
    return `${ARROWS[(octant + 8) % 8]}${Math.hypot(x, y).toFixed(2)}`;
  }
  const comps = values.map((v) => num(v).padStart(compWidth));
  if (k === 2) {
    const rows = Array.from({ length: D }, (_, r) => comps.slice(r * D, r * D + D).join(' '));
    return `(${rows.join(' | ')})`;
  }
  return `(${comps.join(' ')})`;
}

/**
 * Renders data of shape (N,)*D + (D,)*k (row-major) as a text grid.
 * @example
 * console.log(renderImage([1, 2, 3, 4], [2, 2], 2, 0)); // a 2×2 scalar image as text
 */
export function renderImage(data: ArrayLike<number>, spatial: readonly number[], D: number, k: number): string {
  const T = D ** k;
  const [nx, ny, nz = 1] = spatial as [number, number, number?];
  const pixelValues = (x: number, y: number, z: number) => {
    const pixel = D === 2 ? x * ny + y : (x * ny + y) * nz + z;
    return Array.from({ length: T }, (_, t) => data[pixel * T + t]!);
  };
  let compWidth = 1;
  for (let p = 0; p < nx * ny * nz * T; p++) compWidth = Math.max(compWidth, num(data[p]!).length);
  const grids: string[][][] = [];
  for (let z = 0; z < nz; z++) {
    const rows: string[][] = [];
    for (let y = ny - 1; y >= 0; y--) rows.push(Array.from({ length: nx }, (_, x) => cell(pixelValues(x, y, z), D, k, compWidth)));
    grids.push(rows);
  }
  // One width for every cell of every slice; text length counts code points (the arrows are one each).
  const len = (s: string) => [...s].length;
  const width = Math.max(...grids.flat(2).map(len));
  const pad = (s: string) => ' '.repeat(width - len(s)) + s;
  return grids
    .map((rows, z) => {
      const grid = rows.map((r) => r.map(pad).join(' ')).join('\n');
      return D === 3 ? `z=${z}\n${grid}` : grid;
    })
    .join('\n');
}
