/**
 * The six ginjax goldens on webgpu (Dawn): loaded from ginjax's own files, outputs equal ginjax's to
 * max |Δ| / max |y| <= 1e-5 (unet2d: 2e-5, see test/node/io/ginjax.test.ts), saved back byte for
 * byte (parameters read back from the GPU), no tensor left behind.
 */
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { beforeAll, describe, expect, it } from 'vitest';
import * as g from '../../src/index.js';
import { GINJAX_CASES, runGinjaxCase } from '../shared/ginjax.js';
import { startWebGPU } from './helpers.js';

const DIR = fileURLToPath(new URL('../../../shared/goldens/ginjax/', import.meta.url));
if (!existsSync(DIR)) throw new Error(`ginjax goldens not found at ${DIR}`);
const TOLERANCE: Record<string, number> = { unet2d: 2e-5 };

beforeAll(async () => {
  await startWebGPU();
});

describe('ginjax goldens on webgpu', () => {
  for (const name of GINJAX_CASES) {
    it(
      name,
      async () => {
        g.setBackend('webgpu');
        const r = await runGinjaxCase(g, name, {
          eqx: new Uint8Array(readFileSync(join(DIR, `${name}.eqx`))),
          json: readFileSync(join(DIR, `${name}.json`), 'utf8'),
          io: new Uint8Array(readFileSync(join(DIR, `${name}.io.safetensors`))),
        });
        expect(r.rel).toBeLessThanOrEqual(TOLERANCE[name] ?? 1e-5);
        expect(r.bytesEqual).toBe(true);
        expect(r.leaked).toBe(0);
      },
      120_000,
    );
  }
});
