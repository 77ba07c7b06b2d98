/**
 * Three projects (run all with `npm test`, which also builds, type-checks and runs Deno):
 *   node     test/node/**     Node, with relaxed SIMD enabled (Node 20 needs the V8 flag; NODE_OPTIONS refuses it)
 *   gpu      test/gpu/**      Node + Dawn (`webgpu` package) on Mesa llvmpipe through OpenGL ES (toolchain.md, setup A)
 *   browser  test/browser/**  Chromium (Debian's, CHROMIUM_PATH or /usr/bin/chromium) with WebGPU on SwiftShader,
 *                             cross-origin isolated (COOP/COEP) so SharedArrayBuffer exists
 */
import { chmodSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { searchForWorkspaceRoot } from 'vite';
import { defineConfig } from 'vitest/config';
import { playwright } from '@vitest/browser-playwright';

/** Mesa warns on every context without an XDG_RUNTIME_DIR; give it a private (0700) one. */
function runtimeDir(): string {
  if (process.env.XDG_RUNTIME_DIR) return process.env.XDG_RUNTIME_DIR;
  const dir = join(tmpdir(), `geoconv-xdg-${process.getuid?.() ?? 'user'}`);
  mkdirSync(dir, { recursive: true, mode: 0o700 });
  chmodSync(dir, 0o700);
  return dir;
}
const xdgRuntimeDir = runtimeDir();

// NOT --disable-gpu: it removes the WebGPU adapter. --enable-unsafe-webgpu gives SwiftShader on Linux.
const chromiumArgs = [
  '--enable-unsafe-webgpu',
  '--no-sandbox',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

export default defineConfig({
  test: {
    projects: [
      {
        test: {
          name: 'node',
          include: ['test/node/**/*.test.ts'],
          environment: 'node',
          execArgv: ['--experimental-wasm-relaxed-simd'],
        },
      },
      {
        test: {
          name: 'gpu',
          include: ['test/gpu/**/*.test.ts'],
          environment: 'node',
          pool: 'forks',
          execArgv: ['--experimental-wasm-relaxed-simd'],
          env: {
            EGL_PLATFORM: 'surfaceless',
            WEBGPU_BACKEND: process.env.WEBGPU_BACKEND ?? 'opengl',
            XDG_RUNTIME_DIR: xdgRuntimeDir,
          },
          testTimeout: 30_000,
        },
      },
      {
        server: {
          headers: {
            'Cross-Origin-Opener-Policy': 'same-origin',
            'Cross-Origin-Embedder-Policy': 'require-corp',
          },
          // the simulation-file fixtures live beside the repository (../shared/fixtures); the
          // browser suite fetches them from this server (test/browser/data.test.ts, `?url` imports)
          fs: {
            allow: [
              searchForWorkspaceRoot(process.cwd()),
              fileURLToPath(new URL('../shared/fixtures', import.meta.url)),
              fileURLToPath(new URL('../shared/goldens', import.meta.url)),
            ],
          },
        },
        test: {
          name: 'browser',
          include: ['test/browser/**/*.test.ts'],
          testTimeout: 30_000,
          browser: {
            enabled: true,
            headless: true,
            screenshotFailures: false,
            instances: [{ browser: 'chromium' }],
            provider: playwright({
              launchOptions: {
                executablePath: process.env.CHROMIUM_PATH ?? '/usr/bin/chromium',
                args: chromiumArgs,
              },
            }),
          },
        },
      },
    ],
  },
});
