/**
 * Deno: the six ginjax goldens through the BUILT bundle (dist/index.js; `npm run build` first) on
 * ref, wasm and webgpu (navigator.gpu): ginjax's own files load (loadGinjax from a path), outputs
 * equal ginjax's, saves are byte-identical.
 * Run: npx deno test --no-check --allow-read --allow-write test/deno/ginjax.test.ts
 */
// deno-lint-ignore-file no-explicit-any
import * as gc from '../../dist/index.js';
import { GINJAX_CASES, runGinjaxCase } from '../shared/ginjax.ts';
import { releaseGpu } from './release-gpu.ts';

const DIR = new URL('../../../shared/goldens/ginjax/', import.meta.url);
const TOLERANCE: Record<string, number> = { unet2d: 2e-5 };
const files = async (name: string) => ({
  eqx: await Deno.readFile(new URL(`${name}.eqx`, DIR)),
  json: await Deno.readTextFile(new URL(`${name}.json`, DIR)),
  io: await Deno.readFile(new URL(`${name}.io.safetensors`, DIR)),
});

for (const backend of ['ref', 'wasm', 'webgpu'] as const) {
  Deno.test(`ginjax goldens on ${backend}: outputs equal ginjax's, saves are byte-identical`, async () => {
    await gc.init({ backend });
    const bad: string[] = [];
    for (const name of GINJAX_CASES) {
      const r = await runGinjaxCase(gc, name, await files(name));
      if (!(r.rel <= (TOLERANCE[name] ?? 1e-5)) || !r.bytesEqual || r.leaked !== 0)
        bad.push(`${name}: rel ${r.rel}, bytes equal ${r.bytesEqual}, leaked ${r.leaked}`);
    }
    if (backend === 'webgpu') await releaseGpu(gc);
    if (bad.length) throw new Error(bad.join('\n'));
  });
}

Deno.test('loadGinjax reads a path; a truncated file is refused', async () => {
  await gc.init({ backend: 'wasm' });
  const f = await files('dilresnet2d');
  const { model } = await gc.loadGinjax(new URL('dilresnet2d.eqx', DIR).pathname, JSON.parse(f.json));
  const bytes: Uint8Array = await gc.saveGinjax(undefined, model);
  if (bytes.length !== f.eqx.length || bytes.some((v, i) => v !== f.eqx[i])) throw new Error('saved bytes differ');
  model.dispose();
  let msg = '';
  try {
    gc.ginjaxFromBytes(f.eqx.subarray(0, 1000), JSON.parse(f.json));
  } catch (e) {
    msg = String(e);
  }
  if (!/truncated/.test(msg)) throw new Error(`expected a truncation error, got ${msg}`);
});
