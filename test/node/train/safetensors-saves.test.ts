/**
 * Saves (issue 12, item 9): a re-save keeps the file's permissions, a save to a symlink writes its
 * target (the link stays a link), stale temp files of our own pattern left by killed earlier
 * processes are removed while fresh ones (a save running now) and other files are kept.
 */
import { lstatSync, readFileSync, readdirSync, readlinkSync, statSync, symlinkSync, utimesSync, writeFileSync, chmodSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { random, setBackend, type Tensor } from '../../../src/index.js';
import { ConvContract } from '../../../src/nn/conv-contract.js';
import { load, save } from '../../../src/io/checkpoint-node.js';
import { writeFileAtomic } from '../../../src/io/atomic-write-node.js';
import { tempDirs } from '../support.js';

setBackend('ref');
const tmp = tempDirs('saves');

const sig = [{ k: 0, parity: 0 as const, channels: 1 }];
const make = (seed: number) => new ConvContract({ D: 2, input: sig, output: sig, M: 3 }, random.key(seed));

describe('saves', () => {
  it('re-saving a 0600 checkpoint keeps 0600 (and a 0640 one 0640)', async () => {
    const dir = tmp();
    const model = make(1);
    for (const mode of [0o600, 0o640]) {
      const path = join(dir, `m${mode.toString(8)}.safetensors`);
      await save(path, model);
      chmodSync(path, mode);
      await save(path, model);
      expect(statSync(path).mode & 0o777).toBe(mode);
    }
    model.dispose();
  });

  it('saving to a symlink writes its target; the link stays a link', async () => {
    const dir = tmp();
    const a = make(1);
    const b = make(2);
    const target = join(dir, 'real.safetensors');
    const link = join(dir, 'latest.safetensors');
    await save(target, a);
    symlinkSync('real.safetensors', link);
    await save(link, b);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    expect(readlinkSync(link)).toBe('real.safetensors');
    const loaded = await load(target);
    const weight = (p: unknown) => Array.from((p as { weights: Record<string, Tensor> }).weights['0,0>0,0']!.dataSync());
    expect(weight(loaded.params)).toEqual(weight(b.params));
    loaded.model.dispose();
    // a chain of links, and a link to a file that does not exist yet
    symlinkSync('latest.safetensors', join(dir, 'chain.safetensors'));
    await save(join(dir, 'chain.safetensors'), a);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);
    symlinkSync('new.safetensors', join(dir, 'dangling.safetensors'));
    await save(join(dir, 'dangling.safetensors'), a);
    expect(lstatSync(join(dir, 'new.safetensors')).isFile()).toBe(true);
    expect(lstatSync(join(dir, 'dangling.safetensors')).isSymbolicLink()).toBe(true);
    a.dispose();
    b.dispose();
  });

  it('stale temp files of our pattern (older than this process) are removed; fresh ones and others stay', async () => {
    const dir = tmp();
    const model = make(1);
    const path = join(dir, 'model.safetensors');
    const stale = join(dir, '.model.safetensors.12345.abcd1234.tmp');
    const fresh = join(dir, '.model.safetensors.12346.efgh5678.tmp');
    const other = join(dir, '.other.safetensors.12345.abcd1234.tmp');
    const mine = join(dir, 'model.safetensors.tmp');
    for (const f of [stale, fresh, other, mine]) writeFileSync(f, 'x'.repeat(1000));
    const old = new Date(Date.now() - 3600_000 - process.uptime() * 1000);
    utimesSync(stale, old, old);
    utimesSync(other, old, old);
    utimesSync(mine, old, old);
    await save(path, model);
    const left = readdirSync(dir).sort();
    expect(left).toEqual(
      ['.model.safetensors.12346.efgh5678.tmp', '.other.safetensors.12345.abcd1234.tmp', 'model.safetensors', 'model.safetensors.tmp'].sort(),
    );
    model.dispose();
  });

  it('writeFileAtomic writes text too (metrics.json, SVGs) and refuses other data', async () => {
    const dir = tmp();
    const path = join(dir, 'metrics.json');
    await writeFileAtomic(path, '{"loss": 1}\n');
    expect(readFileSync(path, 'utf8')).toBe('{"loss": 1}\n');
    await expect(writeFileAtomic(path, 42 as never)).rejects.toThrow(/writeFileAtomic: data must be a Uint8Array or a string \(got number\)/);
    expect(readFileSync(path, 'utf8')).toBe('{"loss": 1}\n');
    expect(readdirSync(dir)).toEqual(['metrics.json']);
  });
});
