#!/usr/bin/env node
/**
 * `npm run demo`: builds the browser demo (examples/browser/) and serves it at http://localhost:8080
 * with the headers that make the page cross-origin isolated (COOP: same-origin, COEP:
 * require-corp), so SharedArrayBuffer exists and the wasm backend can use threads.
 *
 *   node scripts/demo.mjs [--port 8080] [--no-build]
 *
 * Build: `npm run build` if dist/ is missing, then the demo's rollup config
 * (examples/browser/rollup.config.mjs → examples/browser/build/) and its checkpoint
 * (examples/browser/make-checkpoint.mjs → build/model.safetensors).
 * Also a module: `buildDemo()` and `serveDemo({ port })` (the demo test uses them).
 */
import { spawnSync } from 'node:child_process';
import { existsSync, statSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { createServer } from 'node:http';
import { dirname, extname, join, normalize, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
const demoDir = join(root, 'examples', 'browser');

const TYPES = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.map': 'application/json',
  '.json': 'application/json',
  '.svg': 'image/svg+xml',
  '.wasm': 'application/wasm',
  '.safetensors': 'application/octet-stream',
  '.png': 'image/png',
};

function run(cmd, args) {
  const r = spawnSync(cmd, args, { cwd: root, stdio: 'inherit' });
  if (r.status !== 0) throw new Error(`demo build: \`${cmd} ${args.join(' ')}\` failed (exit ${r.status ?? r.signal})`);
}

/** Builds the demo bundle and its checkpoint (and the library first when dist/ is missing). */
export async function buildDemo({ log = console.log } = {}) {
  if (!existsSync(join(root, 'dist', 'index.js'))) {
    log('demo: dist/index.js is missing; running npm run build');
    run('npm', ['run', 'build']);
  }
  run(join(root, 'node_modules', '.bin', 'rollup'), ['-c', 'examples/browser/rollup.config.mjs', '--silent']);
  const { makeCheckpoint } = await import(join(demoDir, 'make-checkpoint.mjs'));
  const r = await makeCheckpoint();
  log(`demo: built examples/browser/build/ (checkpoint ${r.bytes} bytes)`);
}

/** Serves examples/browser/ with COOP/COEP; resolves { server, url } once listening. */
export function serveDemo({ port = 8080, host = '127.0.0.1' } = {}) {
  const server = createServer(async (req, res) => {
    const headers = {
      'Cross-Origin-Opener-Policy': 'same-origin',
      'Cross-Origin-Embedder-Policy': 'require-corp',
      'Cross-Origin-Resource-Policy': 'same-origin',
      'Cache-Control': 'no-store',
    };
    try {
      const path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
      const file = normalize(join(demoDir, path === '/' ? 'index.html' : path));
      if (!file.startsWith(demoDir + sep) || !existsSync(file) || !statSync(file).isFile()) {
        res.writeHead(404, { ...headers, 'Content-Type': 'text/plain' }).end(`not found: ${path}`);
        return;
      }
      const body = await readFile(file);
      res.writeHead(200, { ...headers, 'Content-Type': TYPES[extname(file)] ?? 'application/octet-stream' }).end(body);
    } catch (e) {
      res.writeHead(500, { ...headers, 'Content-Type': 'text/plain' }).end(String(e));
    }
  });
  return new Promise((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => {
      const a = server.address();
      resolve({ server, url: `http://${host === '127.0.0.1' ? 'localhost' : host}:${a.port}/` });
    });
  });
}

if (process.argv[1] && fileURLToPath(import.meta.url) === process.argv[1]) {
  const args = process.argv.slice(2);
  const at = args.indexOf('--port');
  const port = at >= 0 ? Number(args[at + 1]) : Number(process.env.PORT ?? 8080);
  if (!Number.isInteger(port) || port < 0 || port > 65535) {
    console.error(`demo: --port must be an integer in [0, 65535] (got ${args[at + 1]})`);
    process.exit(2);
  }
  if (!args.includes('--no-build')) await buildDemo();
  const { url } = await serveDemo({ port });
  console.log(`demo: serving examples/browser/ at ${url} (COOP/COEP set: threads available); Ctrl-C to stop`);
}
