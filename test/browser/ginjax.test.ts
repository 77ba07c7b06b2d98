/**
 * Chromium: the six ginjax goldens fetched from the test server, through the BUILT bundle, on ref,
 * wasm and webgpu (SwiftShader): loadGinjax from a URL, outputs equal ginjax's, saves byte-identical.
 */
import { describe, expect, it } from 'vitest';
import * as gc from '../../dist/index.js';
import { GINJAX_CASES, runGinjaxCase } from '../shared/ginjax.js';

const TOLERANCE: Record<string, number> = { unet2d: 2e-5 };
const urls = import.meta.glob('../../../shared/goldens/ginjax/*.{eqx,json,safetensors}', { query: '?url', import: 'default', eager: true }) as Record<
  string,
  string
>;
const url = (file: string) => {
  const hit = Object.entries(urls).find(([k]) => k.endsWith(`/${file}`));
  if (!hit) throw new Error(`golden ${file} is not served (vitest server.fs.allow must include ../shared/goldens)`);
  return hit[1];
};
const bytes = async (file: string) => new Uint8Array(await (await fetch(url(file))).arrayBuffer());

describe('ginjax goldens in Chromium', () => {
  for (const backend of ['ref', 'wasm', 'webgpu'] as const) {
    it(`${backend}: every golden loads, matches ginjax's outputs and saves byte-identical`, async () => {
      await gc.init({ backend });
      for (const name of GINJAX_CASES) {
        const files = { eqx: await bytes(`${name}.eqx`), json: await (await fetch(url(`${name}.json`))).text(), io: await bytes(`${name}.io.safetensors`) };
        const r = await runGinjaxCase(gc, name, files);
        expect(r.rel, name).toBeLessThanOrEqual(TOLERANCE[name] ?? 1e-5);
        expect(r.bytesEqual, name).toBe(true);
        expect(r.leaked, name).toBe(0);
      }
    }, 300_000);
  }

  it('loadGinjax from a URL', async () => {
    await gc.init({ backend: 'wasm' });
    const json = JSON.parse(await (await fetch(url('dilresnet2d.json'))).text());
    const { model } = await gc.loadGinjax(new URL(url('dilresnet2d.eqx'), location.href).href, json);
    const saved = await gc.saveGinjax(undefined, model);
    expect(saved).toEqual(await bytes('dilresnet2d.eqx'));
    model.dispose();
  });
});
