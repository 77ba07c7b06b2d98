/**
 * Errors about simulation files. Every message names the file (path, URL or the label given for
 * bytes) and, where one is involved, the dataset, so that a user can find what is wrong without a
 * debugger; the same two facts are fields for programs.
 * @example
 * try { await readSimulation('run.h5', spec); } catch (e) { if (e instanceof SimulationFileError) console.error(e.message); }
 */
export class SimulationFileError extends Error {
  override name = 'SimulationFileError';
  /** The file's label: its path or URL, or the `name` given for bytes. */
  readonly file: string;
  /** The dataset (HDF5 path) or NetCDF variable concerned, if any. */
  readonly dataset: string | undefined;

  constructor(fn: string, file: string, dataset: string | undefined, message: string, cause?: unknown) {
    super(
      `${fn}: ${JSON.stringify(file)}${dataset === undefined ? '' : `, dataset ${JSON.stringify(dataset)}`}: ${message}`,
      cause === undefined ? undefined : { cause },
    );
    this.file = file;
    this.dataset = dataset;
  }
}

/**
 * HDF5's error stacks are many lines of C source locations; the "minor" lines say what happened
 * (e.g. "Not an HDF5 file", "Read failed", "Truncated file"). Keep the distinct ones, innermost last.
 */
export function summarizeHdf5Error(e: unknown): string {
  const text = e instanceof Error ? e.message : String(e);
  if (!text.includes('HDF5-DIAG')) return text;
  const minors: string[] = [];
  for (const m of text.matchAll(/minor:\s*(.+)/g)) {
    const s = m[1]!.trim();
    if (!minors.includes(s)) minors.push(s);
  }
  const detail = /(truncated file[^\n]*|eof = [^\n]*)/i.exec(text)?.[1]?.trim();
  return `HDF5: ${minors.slice(-3).join('; ') || 'error'}${detail ? ` (${detail})` : ''}`;
}
