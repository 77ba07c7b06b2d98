/**
 * Atomic file replacement for Node (and Deno's node: compatibility): the bytes go to a temporary
 * file in the target's directory, which is flushed to disk (fsync) and then renamed over the
 * target. A rename within one directory is atomic, so a reader — or a process that dies mid-write —
 * sees either the previous file or the complete new one, never a half-written file. On an error the
 * temporary file is removed and the previous file is untouched.
 *
 * The replacement behaves like an in-place write where that matters: a symlink is followed and its
 * final target is replaced (the link stays a link), and an existing file keeps its permission bits.
 * A process killed mid-write leaves a `.<name>.<pid>.<random>.tmp` file; later saves to the same
 * name remove those of that pattern that are older than the running process (so never the temp file
 * of a save running now).
 *
 * Self-contained (node: imports only) so that it can be tested in a child process.
 */
import { lstat, open, readdir, readlink, rename, stat, unlink } from 'node:fs/promises';
import { basename, dirname, join, resolve } from 'node:path';

/** Symlinks followed before giving up (as the kernel's ELOOP limit). */
const MAX_LINKS = 40;

/** The path a write to `path` should replace: `path` itself, or the end of its chain of symlinks. */
async function finalTarget(path: string): Promise<string> {
  let p = resolve(path);
  for (let i = 0; i < MAX_LINKS; i++) {
    let link: string;
    try {
      link = await readlink(p);
    } catch (e) {
      const code = (e as { code?: string }).code;
      if (code === 'EINVAL' || code === 'ENOENT' || code === 'UNKNOWN') return p; // not a link, or nothing there yet
      throw e;
    }
    p = resolve(dirname(p), link);
  }
  throw Object.assign(new Error(`more than ${MAX_LINKS} symlinks to follow`), { code: 'ELOOP' });
}

const escapeRe = (s: string) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Removes `.<name>.<pid>.<random>.tmp` files in `dir` older than this process (best effort). */
async function removeStaleTemps(dir: string, name: string): Promise<void> {
  const pattern = new RegExp(`^\\.${escapeRe(name)}\\.\\d+\\.[a-z0-9]+\\.tmp$`);
  const started = Date.now() - process.uptime() * 1000;
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return;
  }
  for (const n of names) {
    if (!pattern.test(n)) continue;
    const p = join(dir, n);
    try {
      const s = await lstat(p);
      if (s.isFile() && s.mtimeMs < started) await unlink(p);
    } catch {
      // gone already, or not ours to remove
    }
  }
}

/**
 * Writes `data` (bytes, or text as UTF-8) to `path` atomically; `what` names the caller in errors.
 * Symlinks are written through; an existing file's permission bits are kept (a new file gets 0644).
 */
export async function writeFileAtomic(path: string, data: Uint8Array | string, what = 'writeFileAtomic'): Promise<void> {
  if (typeof data === 'string') data = new TextEncoder().encode(data);
  else if (!(data instanceof Uint8Array)) {
    throw new TypeError(`${what}: data must be a Uint8Array or a string (got ${data === null ? 'null' : typeof data})`);
  }
  const bytes = data;
  let target = path;
  let tmp: string | undefined;
  let handle: Awaited<ReturnType<typeof open>> | undefined;
  try {
    target = await finalTarget(path);
    let mode: number | undefined;
    try {
      mode = (await stat(target)).mode & 0o7777;
    } catch (e) {
      if ((e as { code?: string }).code !== 'ENOENT') throw e;
    }
    tmp = join(dirname(target), `.${basename(target)}.${process.pid}.${Math.random().toString(36).slice(2, 10) || '0'}.tmp`);
    handle = await open(tmp, 'wx', mode ?? 0o644);
    if (mode !== undefined) await handle.chmod(mode); // exactly the old bits, whatever the umask
    for (let off = 0; off < bytes.length;) {
      const { bytesWritten } = await handle.write(bytes, off, Math.min(bytes.length - off, 1 << 24));
      off += bytesWritten;
    }
    await handle.sync();
    await handle.close();
    handle = undefined;
    await rename(tmp, target);
  } catch (e) {
    await handle?.close().catch(() => undefined);
    if (tmp) await unlink(tmp).catch(() => undefined);
    const code = (e as { code?: string }).code;
    const through = target !== path && target !== resolve(path) ? ` (through the symlink to "${target}")` : '';
    throw new Error(
      `${what}: could not write "${path}"${through}${code ? ` (${code})` : ''}: ${e instanceof Error ? e.message : String(e)}; any previous file there is unchanged`,
      { cause: e },
    );
  }
  const dir = dirname(target);
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
  await removeStaleTemps(dir, basename(target));
}
