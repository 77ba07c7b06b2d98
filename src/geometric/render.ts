/**
 * Text pictures of small geometric images (filters, mostly), for terminals. Axis 0 is x (columns,
 * left to right) and axis 1 is y (rows, upwards), as in ginjax's plots; D = 3 prints one grid per z.
 * Scalars print as signed numbers, 2-D vectors as an arrow and length, other tensors as their
 * components.
 */

const ARROWS = ['→', '↗', '↑', '↖', '←', '↙', '↓', '↘'];

function num(v: number): string {
  if (Math.abs(v) < 5e-7) return '·';
  return (v < 0 ? '-' : '+') + Math.abs(v).toFixed(2);
}

function cell(values: ArrayLike<number>, D: number, k: number): string {
  const all = Array.from(values);
  if (all.every((v) => Math.abs(v) < 5e-7)) return '·';
  if (k === 0) return num(all[0]!);
  if (k === 1 && D === 2) {
    const [x, y] = all as [number, number];
    const octant = Math.round(Math.atan2(y, x) / (Math.PI / 4));
    return `${ARROWS[(octant + 8) % 8]}${Math.hypot(x, y).toFixed(2)}`;
  }
  return `(${all.map((v) => (Math.abs(v) < 5e-7 ? '0' : v.toFixed(2))).join(' ')})`;
}

/** Renders data of shape (N,)*D + (D,)*k (row-major) as a text grid. */
export function renderImage(data: ArrayLike<number>, spatial: readonly number[], D: number, k: number): string {
  const T = D ** k;
  const [nx, ny, nz = 1] = spatial as [number, number, number?];
  const blocks: string[] = [];
  for (let z = 0; z < nz; z++) {
    const rows: string[][] = [];
    for (let y = ny - 1; y >= 0; y--) {
      const row: string[] = [];
      for (let x = 0; x < nx; x++) {
        const pixel = D === 2 ? x * ny + y : (x * ny + y) * nz + z;
        row.push(cell(Array.prototype.slice.call(data, pixel * T, pixel * T + T), D, k));
      }
      rows.push(row);
    }
    const width = Math.max(...rows.flat().map((c) => c.length));
    const grid = rows.map((r) => r.map((c) => c.padStart(width)).join(' ')).join('\n');
    blocks.push(D === 3 ? `z=${z}\n${grid}` : grid);
  }
  return blocks.join('\n');
}
