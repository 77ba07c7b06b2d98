/**
 * Atomic file replacement for Node (and Deno's node: compatibility): the bytes go to a temporary
 * file in the target's directory, which is flushed to disk (fsync) and then renamed over the
 * target. A rename within one directory is atomic, so a reader — or a process that dies mid-write —
 * sees either the previous file or the complete new one, never a half-written file. On an error the
 * temporary file is removed and the previous file is untouched. (A process killed mid-write may
 * leave a `.<name>.<pid>.<random>.tmp` file behind; never a damaged target.)
 *
 * Self-contained (node: imports only) so that it can be tested in a child process.
 */
import { open, rename, unlink } from 'node:fs/promises';
import { basename, dirname, join } from 'node:path';

export async function writeFileAtomic(path: string, data: Uint8Array, what = 'writeFileAtomic'): Promise<void> {
  const dir = dirname(path);
  const tmp = join(dir, `.${basename(path)}.${process.pid}.${Math.random().toString(36).slice(2, 10)}.tmp`);
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    handle = await open(tmp, 'wx', 0o644);
    for (let off = 0; off < data.length;) {
      const { bytesWritten } = await handle.write(data, off, Math.min(data.length - off, 1 << 24));
      off += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, path);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    const code = (e as { code?: string }).code;
    throw new Error(`${what}: could not write "${path}"${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message : String(e)}; any previous file there is unchanged`, { cause: e });
  }
  // Make the rename itself durable (best effort: some platforms cannot open or fsync a directory).
  try {
    const d = await open(dir, 'r');
    try {
      await d.sync();
    } finally {
      await d.close();
    }
  } catch {
    // ignore
  }
}
