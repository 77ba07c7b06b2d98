/**
 * The six ginjax goldens (../shared/goldens/ginjax: models saved by ginjax itself, their inputs and
 * ginjax's outputs), run by the Node, Deno, browser and GPU suites on the geoconv module each one
 * loaded (src in Node, the built bundle elsewhere): load the .eqx for the case's constructor config,
 * run it, compare with ginjax's outputs (max |Δ| / max |y|), save it again and compare the bytes.
 */
// deno-lint-ignore-file no-explicit-any
type Lib = any;

export const GINJAX_CASES = ['unet2d', 'unet2d-baseline', 'resnet2d-groupnorm', 'dilresnet2d', 'convblock2d-tensor', 'unet3d'] as const;

export interface GinjaxFiles {
  readonly eqx: Uint8Array;
  readonly json: string;
  readonly io: Uint8Array;
}

export interface GinjaxResult {
  readonly name: string;
  /** max over output keys of max |Δ| / max |y|. */
  readonly rel: number;
  readonly keys: string[];
  readonly bytesEqual: boolean;
  readonly leaked: number;
}

export async function runGinjaxCase(lib: Lib, name: string, files: GinjaxFiles): Promise<GinjaxResult> {
  const golden = JSON.parse(files.json);
  const before = lib.memory().tensors;
  const { model } = lib.ginjaxFromBytes(files.eqx, golden);
  const io = lib.deserialize(files.io);
  const blocks = new Map<string, unknown>();
  for (const [n, t] of io.tensors as Map<string, any>) {
    const m = /^x\.(\d+)_(\d+)$/.exec(n);
    if (m) blocks.set(`${m[1]},${m[2]}`, t);
  }
  const x = lib.MultiImage.fromBlocks(blocks, golden.case.D, true);
  const y = model.call(x);
  let rel = 0;
  const keys: string[] = [];
  for (const [n, t] of io.tensors as Map<string, any>) {
    const m = /^y\.(\d+)_(\d+)$/.exec(n);
    if (!m) continue;
    keys.push(`${m[1]},${m[2]}`);
    const ours = y.block(Number(m[1]), Number(m[2]));
    const a: Float32Array = await ours.data();
    const b: Float32Array = await t.data();
    ours.dispose();
    if (a.length !== b.length) throw new Error(`${name}: output ${n} has ${a.length} values, ginjax's ${b.length}`);
    let d = 0;
    let s = 0;
    for (let i = 0; i < a.length; i++) {
      d = Math.max(d, Math.abs(a[i]! - b[i]!));
      s = Math.max(s, Math.abs(b[i]!));
    }
    rel = Math.max(rel, d / s);
  }
  if (keys.length !== y.signature.length) throw new Error(`${name}: geoconv gives keys ${y.signature.map((e: any) => `${e.k},${e.parity}`)}, ginjax ${keys}`);
  const saved: Uint8Array = await lib.saveGinjax(undefined, model);
  const bytesEqual = saved.length === files.eqx.length && saved.every((v, i) => v === files.eqx[i]);
  y.dispose();
  x.dispose();
  for (const t of io.tensors.values()) t.dispose();
  model.dispose();
  return { name, rel, keys, bytesEqual, leaked: lib.memory().tensors - before };
}
