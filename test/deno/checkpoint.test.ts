/**
 * Deno: checkpoints through the BUILT bundle (dist/index.js). saveCheckpoint writes a file (node:fs
 * under Deno); loadCheckpoint reads it back from a path, a file: URL string and a URL object
 * (Deno's fetch reads file: URLs), bytes and a Blob, with outputs identical to the saved model's,
 * no random initialisation of the rebuilt model, and no leak; missing files and foreign bytes
 * give messages naming the source.
 * Run: node_modules/.bin/deno test --no-check --allow-read --allow-write test/deno/checkpoint.test.ts
 */
import * as gc from '../../dist/index.js';

function assert(cond: unknown, msg: string): asserts cond {
  if (!cond) throw new Error(msg);
}
async function rejects(p: Promise<unknown>, pattern: RegExp): Promise<void> {
  try {
    await p;
  } catch (e) {
    const m = e instanceof Error ? e.message : String(e);
    assert(pattern.test(m), `expected an error matching ${pattern}, got: ${m}`);
    return;
  }
  throw new Error(`expected a rejection matching ${pattern}`);
}

const D = 2;
const sig = [
  { k: 0, parity: 0 as const, channels: 1 },
  { k: 1, parity: 0 as const, channels: 1 },
];
const sample = () => new gc.MultiImage(gc.tensor(gc.random.uniform(gc.random.key(7), 2 * 8 * 8 * 3, -1, 1), [2, 8, 8, 3]), sig, D);
async function outputOf(model: gc.Module, x: gc.MultiImage): Promise<number[]> {
  const y = model.call(x);
  const v = Array.from(await y.data.data());
  y.dispose();
  return v;
}
const same = (a: number[], b: number[]) => a.length === b.length && a.every((v, i) => Object.is(v, b[i]));

Deno.test('saveCheckpoint writes a file; loadCheckpoint reads a path, file: URLs, bytes and a Blob', async () => {
  await gc.init({ backend: 'wasm' });
  const model = new gc.UNet({ D, input: sig, output: sig, depth: 2, numDownsamples: 1, numConv: 1 }, gc.random.key(3));
  const dir = await Deno.makeTempDir({ prefix: 'geoconv-ckpt-' });
  try {
    const path = `${dir}/unet.safetensors`;
    await gc.saveCheckpoint(path, model);
    const bytes = await Deno.readFile(path);
    assert(same(Array.from(bytes), Array.from(await gc.serialize(model))), "the saved file holds serialize()'s bytes");
    const x = sample();
    const want = await outputOf(model, x);
    const before = gc.memory();
    const url = new URL(`file://${path}`);
    for (const source of [path, url.href, url, bytes, bytes.buffer, new Blob([bytes])]) {
      const loaded = await gc.loadCheckpoint(source);
      assert(JSON.stringify(loaded.config) === JSON.stringify(model.config), 'same config');
      assert(same(await outputOf(loaded.model, x), want), `identical outputs from ${String(source).slice(0, 60)}`);
      loaded.model.dispose();
      const now = gc.memory();
      assert(now.tensors === before.tensors && now.bytes === before.bytes, 'no leak');
    }
    // the rebuilt model is built without random initialisation: a config built with null has zeros
    const blank = gc.buildModule(model.config, null);
    const leaves = (p: gc.Params): gc.Tensor[] => Object.values(p).flatMap((v) => (v instanceof gc.Tensor ? [v] : leaves(v as gc.Params)));
    const zeros = await Promise.all(leaves(blank.params).map(async (t) => (await t.data()).every((v) => v === 0 || v === 1)));
    assert(zeros.every(Boolean), 'buildModule(config, null): parameters are zeros (or the fixed ones of norms)');
    blank.dispose();
    x.dispose();

    const start = gc.memory();
    await rejects(gc.loadCheckpoint(`${dir}/absent.safetensors`), /loadCheckpoint\(".*absent\.safetensors"\): cannot read the file \(ENOENT\)/);
    await rejects(gc.loadCheckpoint(new URL(`file://${dir}/absent.safetensors`)), /loadCheckpoint\("file:.*absent\.safetensors"\): cannot fetch the file/);
    await rejects(gc.loadCheckpoint(bytes.subarray(0, 7)), /loadCheckpoint\(7 bytes\): truncated file/);
    await Deno.writeTextFile(`${dir}/notes.txt`, 'plain text, not a checkpoint');
    await rejects(gc.loadCheckpoint(`${dir}/notes.txt`), /loadCheckpoint\(".*notes\.txt"\): corrupted header/);
    const end = gc.memory();
    assert(end.tensors === start.tensors && end.bytes === start.bytes, 'no leak on errors');
  } finally {
    model.dispose();
    await Deno.remove(dir, { recursive: true });
  }
});
