/**
 * The file-system side of the simulation readers for Node and Deno (through Deno's node:
 * compatibility). Imported lazily by source.ts and hdf5.ts, so a browser bundle never loads it.
 */
import { open, readFile, rename, stat, unlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { basename, dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export { readFile, stat };

export function urlToPath(url: URL): string {
  return fileURLToPath(url);
}

/** The first `n` bytes of a file (fewer if it is shorter). */
export async function readHead(path: string, n: number): Promise<Uint8Array> {
  const h = await open(path, 'r');
  try {
    const buf = new Uint8Array(n);
    let got = 0;
    while (got < n) {
      const { bytesRead } = await h.read(buf, got, n - got, got);
      if (bytesRead === 0) break;
      got += bytesRead;
    }
    return buf.subarray(0, got);
  } finally {
    await h.close();
  }
}

function tmpName(dir: string, base: string): string {
  return join(dir, `.${base}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
}

/** A private temporary file holding `bytes` (h5wasm's Node build reads files, not memory). */
export async function writeTemp(bytes: Uint8Array): Promise<string> {
  const path = tmpName(tmpdir(), 'geoconv-h5');
  await writeFile(path, bytes, { flag: 'wx', mode: 0o600 });
  return path;
}

/** Writes `bytes` to a new file at `path` (which must not exist). */
export async function writeTempAt(path: string, bytes: Uint8Array): Promise<void> {
  await writeFile(path, bytes, { flag: 'wx', mode: 0o644 });
}

/** A temporary path next to `target` (same directory, so that the final rename is atomic). */
export function tempBeside(target: string): string {
  return tmpName(dirname(target), basename(target));
}

/** A temporary path in the system's temporary directory. */
export function tempPath(): string {
  return tmpName(tmpdir(), 'geoconv-h5');
}

export async function removeQuietly(path: string): Promise<void> {
  await unlink(path).catch(() => undefined);
}

/** fsync `tmp`, rename it over `target`, then fsync the directory (best effort). */
export async function commit(tmp: string, target: string): Promise<void> {
  const h = await open(tmp, 'r+');
  try {
    await h.sync();
  } finally {
    await h.close();
  }
  await rename(tmp, target);
  try {
    const d = await open(dirname(target), 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // some platforms cannot open or fsync a directory
  }
}
