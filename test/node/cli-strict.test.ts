/**
 * The CLI's strictness (issue 12, item 6) and self-documentation (issue 11, item 9): every misuse is
 * refused with exit code 2 and a message naming the option, before anything is created; help,
 * version and suggestions come from the one option table.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { COMMANDS, UsageError, checkOutputLocation, main, parseArgs, suggest } from '../../src/cli.js';
import { version } from '../../src/index.js';
import { tempDirs } from './support.js';

const tmp = tempDirs('cli');

async function run(...argv: string[]) {
  const out: string[] = [];
  const err: string[] = [];
  const code = await main(
    argv,
    (s) => out.push(s),
    (s) => err.push(s),
  );
  return { code, out: out.join('\n'), err: err.join('\n') };
}

/**
 * A synthetic-task run small enough to finish in about a second on ref: a misuse added to it must be
 * refused; were it accepted, the job would run and exit 0 (and the test would see that).
 */
const TINY = [
  '--task',
  'scalar',
  '--n-train',
  '2',
  '--n-val',
  '1',
  '--n-test',
  '1',
  '--N',
  '8',
  '--epochs',
  '1',
  '--depth',
  '1',
  '--batch',
  '1',
  '--backend',
  'ref',
  '--no-baseline',
  '--quiet',
];

/** `train TINY + extra --out <fresh path>`: the result, and whether the output directory appeared. */
async function train(...extra: string[]) {
  const out = join(tmp(), 'run');
  const r = await run('train', ...TINY, ...extra, '--out', out);
  return { ...r, created: existsSync(out) };
}

describe('geoconv CLI: misuses of issue 12 item 6', () => {
  it('--task names only tasks, never inherited properties', async () => {
    for (const task of ['__proto__', 'toString', 'constructor', 'hasOwnProperty']) {
      const r = await run('train', '--task', task, '--backend', 'ref', '--out', join(tmp(), 'x'));
      expect(r.code).toBe(2);
      expect(r.err).toContain(`--task must be one of navier-stokes, gradient, scalar, gravity (got ${JSON.stringify(task)})`);
    }
  });

  it('refuses values out of range: --lr -1, --lr 0, --epochs 0, --batch 0, --depth 0, --n-train 0', async () => {
    const cases: [string[], RegExp][] = [
      [['--lr', '-1'], /--lr must be a number > 0 \(got -1\)/],
      [['--lr', '0'], /--lr must be a number > 0 \(got 0\)/],
      [['--lr', 'Infinity'], /--lr must be a number/],
      [['--epochs', '0'], /--epochs must be an integer >= 1 \(got 0\)/],
      [['--batch', '0'], /--batch must be an integer >= 1 \(got 0\)/],
      [['--depth', '0'], /--depth must be an integer >= 1 \(got 0\)/],
      [['--n-train', '0'], /--n-train must be an integer >= 1 \(got 0\)/],
      [['--threads', '0'], /--threads must be an integer in \[1, \d+\] \(got 0\)/],
      [['--seed', '-3'], /--seed must be an integer >= 0 \(got -3\)/],
    ];
    // the table has each option once; TINY's own value is replaced, not repeated
    for (const [extra, message] of cases) {
      const args = [...TINY];
      const at = args.indexOf(extra[0]!);
      if (at >= 0) args.splice(at, 2);
      const out = join(tmp(), 'run');
      const r = await run('train', ...args, ...extra, '--out', out);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.err).toMatch(message);
      expect(existsSync(out)).toBe(false);
    }
  });

  it('integers are written as decimal integers', async () => {
    for (const v of ['1e1', '0x10', '2.0', '2.5', ' 3', '3 ', '+', '9007199254740993']) {
      const r = await run('filters', '--D', '2', '--M', '3', '--k', v);
      expect(r.code, v).toBe(2);
      expect(r.err).toContain(`--k must be an integer`);
    }
  });

  it('an empty value is refused: --seed= and --seed ""', async () => {
    for (const extra of [['--seed='], ['--seed', '']]) {
      const r = await train(...extra);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--seed needs a value \(got an empty string\)/);
      expect(r.created).toBe(false);
    }
  });

  it('option names are looked up as own entries only: --__proto__, --constructor, --toString', async () => {
    for (const name of ['__proto__', 'constructor', 'toString', 'valueOf']) {
      const r = await train(`--${name}`, 'x');
      expect(r.code).toBe(2);
      expect(r.err).toContain(`unknown option --${name} for geoconv train`);
      expect(r.created).toBe(false);
    }
  });

  it('an option given twice is refused, whatever its spelling', async () => {
    for (const extra of [['--epochs', '2'], ['--epochs=2'], ['--quiet']]) {
      const r = await train(...extra);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(new RegExp(`--${extra[0]!.replace(/^--|=.*$/g, '')} is given twice`));
      expect(r.created).toBe(false);
    }
  });

  it('flags take no value: --no-baseline false, --quiet=yes, --json=1', async () => {
    // TINY already has --no-baseline: drop it to see the value refused, not the repetition
    const args = TINY.filter((a) => a !== '--no-baseline');
    const out = join(tmp(), 'run');
    const r = { ...(await run('train', ...args, '--no-baseline', 'false', '--out', out)), created: existsSync(out) };
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--no-baseline is a flag and takes no value \(got "false"\)/);
    expect(r.created).toBe(false);
    const q = await run('train', ...TINY.filter((a) => a !== '--quiet'), '--quiet=yes', '--out', join(tmp(), 'run'));
    expect(q.err).toMatch(/--quiet is a flag and takes no value \(got "yes"\)/);
    const j = await run('filters', '--D', '2', '--M', '3', '--k', '0', '--json=1');
    expect(j).toMatchObject({ code: 2, err: expect.stringMatching(/--json is a flag and takes no value \(got "1"\)/) });
  });

  it('info --threads 0 is a usage error, not "unavailable: undefined"', async () => {
    const r = await run('info', '--threads', '0');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--threads must be an integer in \[1, \d+\] \(got 0\)/);
    expect(r.out).not.toContain('undefined');
  });

  it('no output directory is created when an option is refused (task sizes, models, backends)', async () => {
    for (const extra of [
      ['--model', 'vgg'],
      ['--backend', 'cuda'],
      ['--protocol', 'notebook'],
      ['--N', '1'],
    ]) {
      const r = await train(...extra);
      expect(r.code, extra.join(' ')).toBe(2);
      expect(r.created, extra.join(' ')).toBe(false);
    }
  });

  it('a run that fails after the checks removes the folders it created while they are empty, and keeps existing ones', async () => {
    // --N 6 passes the option table (>= 2) but a 2-level UNet needs a side divisible by 4: the job
    // fails when it builds the model, after it created --out
    const base = tmp();
    const args = TINY.map((a, i) => (TINY[i - 1] === '--N' ? '6' : a));
    const r = await run('train', ...args, '--out', join(base, 'a', 'b'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/UNet/);
    expect(readdirSync(base)).toEqual([]);
    // an existing folder (with a file of the user's) stays as it was
    mkdirSync(join(base, 'keep'));
    writeFileSync(join(base, 'keep', 'notes.txt'), 'mine');
    expect((await run('train', ...args, '--out', join(base, 'keep'))).code).toBe(2);
    expect(readdirSync(join(base, 'keep'))).toEqual(['notes.txt']);
    mkdirSync(join(base, 'empty'));
    expect((await run('train', ...args, '--out', join(base, 'empty'))).code).toBe(2);
    expect(existsSync(join(base, 'empty'))).toBe(true);
  });

  it('--out under /proc, /sys or /dev is refused at once, with a clear message', async () => {
    for (const out of ['/proc/x', '/proc/self/y/z', '/sys/geoconv', '/dev/geoconv-out']) {
      const t0 = performance.now();
      const r = await run('train', ...TINY, '--out', out);
      expect(r.code).toBe(2);
      expect(r.err).toMatch(/--out .* is on the kernel's .* file system, not a place for files/);
      expect(performance.now() - t0).toBeLessThan(2000);
    }
    expect(existsSync('/dev/geoconv-out')).toBe(false);
    const sim = await run('simulate', 'navier-stokes', '--out', '/proc/ns.h5');
    expect(sim.code).toBe(2);
    expect(sim.err).toMatch(/not a place for files/);
  }, 20_000);

  it('file-system errors are reported by their meaning (EROFS, EACCES, ENOTDIR, a file in the way)', async () => {
    // EROFS and EACCES are injected: a read-only mount or an unwritable directory cannot be made
    // here without root privileges over shared mounts (tests run as root, which ignores modes).
    const d = tmp();
    const fail = (code: string) => ({
      access: async () => {
        throw Object.assign(new Error(`${code}: injected`), { code });
      },
    });
    await expect(checkOutputLocation('--out', join(d, 'a', 'b'), 'directory', fail('EROFS'))).rejects.toThrow(
      new RegExp(`--out .*: ${d.replace(/[/.]/g, '\\$&')} is on a read-only file system \\(EROFS\\)`),
    );
    await expect(checkOutputLocation('--out', join(d, 'a'), 'directory', fail('EACCES'))).rejects.toThrow(/no permission to write in .* \(EACCES\)/);
    // a real ENOTDIR: a path through a regular file
    const file = join(d, 'plain');
    writeFileSync(file, 'x');
    const r = await run('train', ...TINY, '--out', join(file, 'sub'));
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--out .*plain\/sub: .*plain is a file, not a directory \(ENOTDIR\)/);
    // the output directory itself is a file
    const r2 = await run('train', ...TINY, '--out', file);
    expect(r2.err).toMatch(/--out .*plain is a file, not a directory/);
    // an output file whose directory is missing, or which is a directory
    const s = await run('simulate', 'navier-stokes', '--out', join(d, 'missing', 'ns.h5'));
    expect(s.err).toMatch(/--out .*ns\.h5: the directory .*missing does not exist/);
    mkdirSync(join(d, 'dir.h5'));
    const s2 = await run('simulate', 'navier-stokes', '--out', join(d, 'dir.h5'));
    expect(s2.err).toMatch(/--out .*dir\.h5 is a directory, not a file/);
    expect(readdirSync(d).sort()).toEqual(['dir.h5', 'plain']);
  });
});

describe('geoconv CLI: help, version, suggestions', () => {
  it('--version and -V print the version', async () => {
    expect(await run('--version')).toMatchObject({ code: 0, out: `geoconv ${version}` });
    expect(await run('-V')).toMatchObject({ code: 0, out: `geoconv ${version}` });
  });

  it('train --help, train -h and help train print the same per-command help, with every option, its description and default', async () => {
    const a = await run('train', '--help');
    expect(a.code).toBe(0);
    expect(a.err).toBe('');
    expect((await run('help', 'train')).out).toBe(a.out);
    expect((await run('train', '-h')).out).toBe(a.out);
    // --help wins over other (even bad) options
    expect((await run('train', '--epochs', 'x', '--help')).out).toBe(a.out);
    const train = COMMANDS.get('train')!;
    for (const o of train.options) {
      const line = a.out.split('\n').find((l) => l.trimStart().startsWith(`--${o.name} `) || l.trim() === `--${o.name}`);
      expect(line, o.name).toBeDefined();
    }
    expect(a.out).toMatch(/--epochs N\s+epochs of training \(default: 6 for emulation, 15 for a synthetic task; >= 1\)/);
    expect(a.out).toMatch(/--lr X\s+.*learning rate.*\(default: 0\.002 for emulation, 0\.001 for a synthetic task; > 0\)/);
    expect(a.out).toMatch(/--backend NAME\s+.*\(default: wasm; auto, wasm, webgpu, ref\)/);
    expect(a.out).toMatch(/--no-baseline\s+\S/);
  });

  it('every command has help whose options are exactly its table entries', async () => {
    for (const [name, cmd] of COMMANDS) {
      const r = await run(name, '--help');
      expect(r.code, name).toBe(0);
      expect(r.out, name).toMatch(new RegExp(`^usage: geoconv ${name}`));
      const listed = [...r.out.matchAll(/^ {2}--([A-Za-z][\w-]*)/gm)].map((m) => m[1]);
      expect(listed, name).toEqual([...cmd.options.map((o) => o.name), 'help']);
      for (const o of cmd.options) expect(o.description.length, `${name} --${o.name}`).toBeGreaterThan(8);
    }
  });

  it('help without a command lists every command with a summary; help of an unknown command suggests', async () => {
    const r = await run('help');
    expect(r.code).toBe(0);
    for (const [name, cmd] of COMMANDS) expect(r.out).toContain(`  ${name.padEnd(11)}${cmd.summary}`);
    expect(await run('help', 'trian')).toMatchObject({ code: 2, err: expect.stringMatching(/unknown command "trian"; did you mean train\?/) });
  });

  it('unknown commands and options get suggestions by edit distance', async () => {
    expect((await run('trian')).err).toMatch(/unknown command "trian"; did you mean train\?/);
    expect((await run('filter', '--D', '2')).err).toMatch(/did you mean filters\?/);
    expect((await run('frobnicate')).err).not.toMatch(/did you mean/);
    const r = await train('--ecpohs', '3');
    expect(r.err).toMatch(/unknown option --ecpohs for geoconv train; did you mean --epochs\?/);
    expect(r.created).toBe(false);
    expect((await run('filters', '--D', '2', '--M', '3', '--K', '1')).err).toMatch(/did you mean --k\?/);
    expect((await run('train', '--task', 'gradiant')).err).toMatch(/--task must be one of .* \(got "gradiant"\); did you mean gradient\?/);
    expect(suggest('past-step', ['past-steps', 'rollout-steps', 'steps'])).toEqual(['past-steps']);
    expect(suggest('xyz', ['past-steps', 'rollout-steps'])).toEqual([]);
  });

  it("a usage error prints the command's own usage line, not every command", async () => {
    const r = await run('filters', '--D', '2', '--M', '3');
    expect(r.code).toBe(2);
    expect(r.err).toMatch(/--k is required/);
    expect(r.err).toMatch(/usage: geoconv filters/);
    expect(r.err).not.toMatch(/geoconv convert/);
    expect(r.err).toMatch(/geoconv filters --help/);
  });

  it('positional arguments are declared: a missing or extra one is named', async () => {
    expect((await run('simulate')).err).toMatch(/simulate: the system must be navier-stokes \(got nothing\)/);
    expect((await run('simulate', 'navier-stokes', 'extra', '--out', 'x.h5')).err).toMatch(/unexpected argument "extra"/);
    expect((await run('export')).err).toMatch(/the checkpoint MODEL\.safetensors comes first/);
    expect((await run('filters', 'D=2')).err).toMatch(/unexpected argument "D=2"/);
  });
});

describe('geoconv CLI: files it writes', () => {
  it('metrics.json and predictions.svg are replaced atomically (a new file renamed over the old)', async () => {
    const out = tmp();
    const before = new Map(
      ['metrics.json', 'predictions.svg'].map((f) => {
        writeFileSync(join(out, f), 'old');
        return [f, statSync(join(out, f)).ino];
      }),
    );
    const r = await run('train', ...TINY, '--out', out);
    expect(r.err).toBe('');
    expect(r.code).toBe(0);
    for (const [f, ino] of before) {
      expect(statSync(join(out, f)).ino, f).not.toBe(ino);
      expect(statSync(join(out, f)).size).toBeGreaterThan(3);
    }
    expect(readdirSync(out).filter((f) => f.endsWith('.tmp'))).toEqual([]);
  }, 60_000);
});

describe('geoconv CLI: parser fuzz', () => {
  it('random argument lists give parsed values of the declared types or a usage error, never another exception', () => {
    // a seeded LCG, so that a failure reproduces
    let state = 12345;
    const rand = (n: number) => {
      state = (Math.imul(state, 1664525) + 1013904223) >>> 0;
      return state % n;
    };
    const values = [
      '',
      '0',
      '-1',
      '1',
      '2',
      '3',
      '64',
      '1e3',
      '0x10',
      '2.5',
      'NaN',
      'Infinity',
      'x',
      '__proto__',
      'toString',
      'constructor',
      'true',
      'false',
      '64,64',
      ',',
      '=',
      '-',
      '--',
      '-h2',
      'navier-stokes',
      'gradient',
      'unet',
      'wasm',
      'torus',
      'a.json',
    ];
    const names = ['__proto__', 'constructor', 'hasOwnProperty', 'toString', '', '=', 'epoch', 'EPOCHS', 'no-baseline', 'quiet', 'json'];
    let cases = 0,
      accepted = 0;
    for (const cmd of COMMANDS.values()) {
      const optionNames = [...cmd.options.map((o) => o.name), ...names];
      for (let c = 0; c < 400; c++) {
        const args: string[] = [];
        const n = rand(7);
        for (let i = 0; i < n; i++) {
          const r = rand(10);
          const name = optionNames[rand(optionNames.length)]!;
          const v = values[rand(values.length)]!;
          if (r < 4) args.push(`--${name}`, v);
          else if (r < 6) args.push(`--${name}=${v}`);
          else if (r < 8) args.push(`--${name}`);
          else args.push(v);
        }
        cases++;
        let parsed;
        try {
          parsed = parseArgs(cmd, args);
        } catch (e) {
          expect(e instanceof UsageError, `${cmd.name} ${JSON.stringify(args)}: ${String(e)}`).toBe(true);
          expect((e as Error).message.length).toBeLessThan(400);
          continue;
        }
        accepted++;
        for (const [k, v] of parsed.given) {
          const o = cmd.options.find((x) => x.name === k);
          expect(o, `${cmd.name} ${JSON.stringify(args)}`).toBeDefined();
          const ok =
            o!.type === 'flag'
              ? v === true
              : o!.type === 'int'
                ? Number.isSafeInteger(v)
                : o!.type === 'number'
                  ? Number.isFinite(v)
                  : o!.type === 'list'
                    ? Array.isArray(v) && v.every(Number.isSafeInteger)
                    : typeof v === 'string' && v !== '' && (o!.type !== 'choice' || o!.choices!.includes(v));
          expect(ok, `${cmd.name} --${k} ${String(v)}`).toBe(true);
          if (typeof v === 'number' || Array.isArray(v))
            for (const x of [v].flat() as number[]) {
              if (o!.min !== undefined) expect(x).toBeGreaterThanOrEqual(o!.min);
              if (o!.max !== undefined) expect(x).toBeLessThanOrEqual(o!.max);
              if (o!.above !== undefined) expect(x).toBeGreaterThan(o!.above);
            }
        }
        expect(parsed.positionals.length).toBe(cmd.positionals.length);
      }
    }
    // the fuzz must reach both outcomes to mean anything
    expect(cases).toBe(400 * COMMANDS.size);
    expect(accepted).toBeGreaterThan(50);
    expect(cases - accepted).toBeGreaterThan(1000);
  });
});
