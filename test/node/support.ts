/** Helpers shared by Node test files that touch the file system or drive Chromium. */
import { accessSync, constants, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll } from 'vitest';

/** A maker of fresh temporary directories (geoconv-<name>-…), all removed after the file's tests. */
export function tempDirs(name: string): () => string {
  const dirs: string[] = [];
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));
  return () => {
    const d = mkdtempSync(join(tmpdir(), `geoconv-${name}-`));
    dirs.push(d);
    return d;
  };
}

/**
 * Chromium for Playwright-driven tests (CHROMIUM_PATH or /usr/bin/chromium): its path, or null where
 * it is missing — an error under CI (no silent skip), a loud warning elsewhere.
 */
export function chromiumForTests(what: string): string | null {
  const path = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  const ci = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
  try {
    accessSync(path, constants.X_OK);
    return path;
  } catch {
    if (ci) throw new Error(`${what}: Chromium not found at ${path} and CI is set (install it with apt-get install -y chromium, or set CHROMIUM_PATH)`);
    console.warn(`!!! ${what} SKIPPED: Chromium not found at ${path} (apt-get install -y chromium, or set CHROMIUM_PATH); under CI this fails`);
    return null;
  }
}
