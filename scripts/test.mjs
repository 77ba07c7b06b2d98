#!/usr/bin/env node
/**
 * `npm test`: the whole check, ending with exactly one summary line and nothing after it:
 *
 *     N passed, N failed[, N skipped]
 *
 * Stages:
 *   1. build      `npm run build` (wasm + shaders generation, tsc, rollup) — on failure, stop here
 *   2. typecheck  `npm run typecheck` (sources and tests) — a failure counts as 1 failed
 *   3. cycles     `node scripts/check-cycles.mjs` (value-import cycles and layering of src/) — a failure counts as 1 failed
 *      format     `prettier --check .` (the formatting `npm run format` writes) — a failure counts as 1 failed
 *   4. vitest     projects node + gpu (+ browser when Chromium exists), one run, JSON report parsed
 *   5. deno       `deno test --no-check --allow-read --allow-write --allow-env test/deno/` (the binary from node_modules)
 * Deno: a run that aborts (SIGABRT) in Deno's native teardown after its summary showed no failure
 * is run once more, with a warning; the second run is counted.
 * Rules: no silent skips — a suite that finds zero tests counts as 1 failed; a stage that errors
 * (crash, timeout, unparseable report) counts as 1 failed; skipped/todo tests are reported as
 * skipped. Missing Chromium is a failure when CI is set, otherwise a loud warning.
 * Exit code: 0 only if nothing failed.
 *
 * Options: --no-build (reuse the existing build; for quick iterations only).
 * Env: CHROMIUM_PATH (default /usr/bin/chromium), CI.
 */
import { spawn } from 'node:child_process';
import { accessSync, constants, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join, relative, sep } from 'node:path';
import { fileURLToPath } from 'node:url';

const root = join(dirname(fileURLToPath(import.meta.url)), '..');
process.chdir(root);
const bin = (name) => join(root, 'node_modules', '.bin', name);
const ci = !!process.env.CI && process.env.CI !== 'false' && process.env.CI !== '0';
const noBuild = process.argv.includes('--no-build');

/** One row per stage or suite: counts that go into the final line, plus notes. */
const rows = [];
/** Lines printed (before the final line) explaining every failure the harness itself counted. */
const problems = [];
const warnings = [];
let current = null; // the running child, for signal forwarding

function row(name, seconds, passed = 0, failed = 0, skipped = 0) {
  const r = { name, seconds, passed, failed, skipped };
  rows.push(r);
  return r;
}

function banner(text) {
  process.stdout.write(`\n━━ ${text} ${'━'.repeat(Math.max(3, 70 - text.length))}\n`);
}

/**
 * Runs a command in its own process group; output is inherited (or also captured with capture:true).
 * Resolves { code, signal, timedOut, out, seconds }.
 */
function runCmd(cmd, args, { timeoutS, capture = false, env = {} }) {
  return new Promise((resolve) => {
    const t0 = performance.now();
    const child = spawn(cmd, args, {
      cwd: root,
      env: { ...process.env, ...env },
      stdio: ['ignore', capture ? 'pipe' : 'inherit', capture ? 'pipe' : 'inherit'],
      detached: true,
    });
    current = child;
    let out = '';
    if (capture) {
      child.stdout.on('data', (d) => {
        out += d;
        process.stdout.write(d);
      });
      child.stderr.on('data', (d) => {
        out += d;
        process.stderr.write(d);
      });
    }
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      killGroup(child, 'SIGTERM');
      setTimeout(() => killGroup(child, 'SIGKILL'), 5000).unref();
    }, timeoutS * 1000);
    child.on('error', (e) => {
      out += String(e);
    });
    child.on('close', (code, signal) => {
      clearTimeout(timer);
      current = null;
      resolve({ code, signal, timedOut, out, seconds: (performance.now() - t0) / 1000 });
    });
  });
}

function killGroup(child, signal) {
  try {
    process.kill(-child.pid, signal);
  } catch {
    /* already gone */
  }
}

for (const sig of ['SIGINT', 'SIGTERM']) {
  process.on(sig, () => {
    if (current) killGroup(current, 'SIGTERM');
    process.exit(130);
  });
}

const how = (r) => (r.timedOut ? 'timed out' : r.signal ? `killed by ${r.signal}` : `exit code ${r.code}`);

function chromiumPath() {
  const p = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
  try {
    accessSync(p, constants.X_OK);
    return { path: p, ok: true };
  } catch {
    return { path: p, ok: false };
  }
}

// ── 1. build ────────────────────────────────────────────────────────────────────────────────────
async function build() {
  banner('build: npm run build (gen + tsc + rollup)');
  const r = await runCmd('npm', ['run', 'build'], { timeoutS: 240 });
  const b = row('build', r.seconds);
  if (r.code !== 0) {
    b.failed = 1;
    problems.push(`build failed (${how(r)}); nothing else was run — see the output above`);
    return false;
  }
  return true;
}

// ── 2. typecheck ────────────────────────────────────────────────────────────────────────────────
async function typecheck() {
  banner('typecheck: npm run typecheck (src + tests)');
  const r = await runCmd('npm', ['run', 'typecheck'], { timeoutS: 240 });
  const t = row('typecheck', r.seconds);
  if (r.code !== 0) {
    t.failed = 1;
    problems.push(`typecheck failed (${how(r)})`);
  }
}

// ── 3. import cycles and layering ──────────────────────────────────────────────────────────────
async function cycles() {
  banner('cycles: node scripts/check-cycles.mjs (value-import cycles, layering of src/)');
  const r = await runCmd(process.execPath, [join(root, 'scripts', 'check-cycles.mjs')], { timeoutS: 120 });
  const c = row('cycles', r.seconds);
  if (r.code !== 0) {
    c.failed = 1;
    problems.push(`check-cycles failed (${how(r)}): a value-import cycle or a layering violation in src/, printed above`);
  }
}

// ── 3b. formatting ──────────────────────────────────────────────────────────────────────────────
async function format() {
  banner('format: prettier --check . (npm run format rewrites)');
  const r = await runCmd(process.execPath, [join(root, 'node_modules', 'prettier', 'bin', 'prettier.cjs'), '--check', '.', '--log-level', 'warn'], {
    timeoutS: 180,
  });
  const f = row('format', r.seconds);
  if (r.code !== 0) {
    f.failed = 1;
    problems.push(`format check failed (${how(r)}): files listed above are not as \`npm run format\` writes them`);
  }
}

// ── 4. vitest ───────────────────────────────────────────────────────────────────────────────────
async function vitest(projects) {
  banner(`vitest: projects ${projects.join(', ')}`);
  const dir = mkdtempSync(join(tmpdir(), 'geoconv-test-'));
  const jsonFile = join(dir, 'vitest.json');
  try {
    const args = ['run', ...projects.flatMap((p) => ['--project', p]), '--reporter=default', '--reporter=json', `--outputFile.json=${jsonFile}`];
    const r = await runCmd(bin('vitest'), args, { timeoutS: 420 });
    let report = null;
    try {
      report = JSON.parse(readFileSync(jsonFile, 'utf8'));
    } catch (e) {
      problems.push(`vitest wrote no readable JSON report (${how(r)}; ${e.code ?? e.message})`);
    }
    const suites = Object.fromEntries(projects.map((p) => [p, row(`vitest ${p}`, 0)]));
    if (report) {
      for (const file of report.testResults ?? []) {
        const rel = relative(root, file.name).split(sep);
        const suite = rel[0] === 'test' && suites[rel[1]] ? suites[rel[1]] : (suites.other ??= row('vitest other', 0));
        let failedHere = 0;
        for (const a of file.assertionResults ?? []) {
          if (a.status === 'passed') suite.passed++;
          else if (a.status === 'failed') {
            suite.failed++;
            failedHere++;
          } else suite.skipped++; // pending, skipped, todo, disabled
        }
        if (file.status === 'failed' && failedHere === 0) {
          // the file failed without a failing test: import error, hook failure, crash
          suite.failed++;
          const msg = String(file.message ?? '')
            .split('\n')[0]
            .slice(0, 200);
          problems.push(`vitest: ${rel.join('/')} failed to run${msg ? `: ${msg}` : ''}`);
        }
      }
      for (const [name, s] of Object.entries(suites)) {
        if (s.passed + s.failed + s.skipped === 0) {
          s.failed++;
          problems.push(`vitest ${name}: the suite found no tests (test/${name}/**/*.test.ts) — counted as failed, no silent skips`);
        }
      }
    }
    const counted = Object.values(suites).reduce((n, s) => n + s.failed, 0);
    if (r.code !== 0 && counted === 0) {
      row('vitest run', 0, 0, 1);
      problems.push(`vitest ${how(r)} although every test passed (unhandled error or crash) — counted as 1 failed`);
    } else if (r.timedOut) {
      problems.push(`vitest timed out after ${r.seconds.toFixed(0)} s`);
    }
    suites[projects[0]].seconds = r.seconds; // one run for all projects
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

// ── 5. deno ─────────────────────────────────────────────────────────────────────────────────────
async function deno() {
  banner('deno: deno test --no-check --allow-read --allow-write --allow-env test/deno/');
  const d = row('deno', 0);
  if (!existsSync(bin('deno'))) {
    d.failed = 1;
    problems.push('deno: node_modules/.bin/deno is missing (run npm ci)');
    return;
  }
  const run = () =>
    runCmd(bin('deno'), ['test', '--no-check', '--allow-read', '--allow-write', '--allow-env', 'test/deno/'], {
      timeoutS: 180,
      capture: true,
      env: { DENO_NO_UPDATE_CHECK: '1', DENO_NO_PROMPT: '1', RUST_BACKTRACE: '0' },
    });
  let r = await run();
  let counts = denoCounts(r);
  // Deno 2.9 sometimes aborts in its own native teardown after every test has passed and the summary
  // is printed ("double free or corruption", about one run in ten with the WebGPU goldens in the same
  // process). That is not a test result: run the suite once more, and say so loudly.
  if (counts.summary && counts.failed === 0 && r.signal === 'SIGABRT') {
    warnings.push(
      `deno aborted at exit (${how(r)}) after its summary showed ${counts.passed} passed, 0 failed: a native crash in Deno's teardown, not a test failure; the suite was run again and that run is counted`,
    );
    r = await run();
    counts = denoCounts(r);
  }
  d.seconds = r.seconds;
  d.passed = counts.passed;
  d.failed = counts.failed;
  d.skipped = counts.skipped;
  if (!counts.summary) {
    d.failed++;
    problems.push(`deno: no "ok | N passed | M failed" summary line (${how(r)}) — counted as 1 failed`);
  } else if (d.passed + d.failed + d.skipped === 0) {
    d.failed++;
    problems.push('deno: the suite found no tests — counted as failed');
  } else if (r.code !== 0 && d.failed === 0) {
    d.failed++;
    problems.push(`deno ${how(r)} although its summary shows no failure — counted as 1 failed`);
  }
}

/** Deno's closing summary line ("ok | N passed | M failed | K ignored"), parsed. */
function denoCounts(r) {
  // strip ANSI colour escapes (ESC [ … letter)
  const plain = r.out.replace(/\x1b\[[0-9;]*[A-Za-z]/g, '');
  const summary = plain
    .split('\n')
    .reverse()
    .find((l) => /^(ok|FAILED) \| \d+ passed/.test(l.trim()));
  const n = (re) => Number(re.exec(summary ?? '')?.[1] ?? 0);
  return { summary: summary !== undefined, passed: n(/(\d+) passed/), failed: n(/(\d+) failed/), skipped: n(/(\d+) ignored/) };
}

// ── main ────────────────────────────────────────────────────────────────────────────────────────
const t0 = performance.now();
const built = noBuild ? (warnings.push('--no-build: tested the EXISTING build, not a fresh one'), true) : await build();
if (built) {
  await typecheck();
  await cycles();
  await format();
  const chromium = chromiumPath();
  const projects = ['node', 'gpu'];
  if (chromium.ok) {
    projects.push('browser');
  } else if (ci) {
    row('vitest browser', 0, 0, 1);
    problems.push(
      `BROWSER SUITE DID NOT RUN: Chromium not found at ${chromium.path}, and CI is set — counted as failed ` +
        '(install it with `apt-get install -y chromium`, or set CHROMIUM_PATH)',
    );
  } else {
    warnings.push(
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
      `!! BROWSER SUITE DID NOT RUN: Chromium not found at ${chromium.path};`,
      '!! install it with `apt-get install -y chromium` (or set CHROMIUM_PATH).',
      '!! (Under CI this is a failure.)',
      '!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!',
    );
  }
  await vitest(projects);
  await deno();
}

const total = rows.reduce((t, r) => ({ passed: t.passed + r.passed, failed: t.failed + r.failed, skipped: t.skipped + r.skipped }), {
  passed: 0,
  failed: 0,
  skipped: 0,
});

banner('summary');
for (const r of rows) {
  const secs = r.seconds ? `${r.seconds.toFixed(1).padStart(6)} s` : '        ';
  process.stdout.write(
    `  ${r.name.padEnd(16)} ${secs}   pass ${String(r.passed).padStart(4)}   fail ${String(r.failed).padStart(3)}` +
      `${r.skipped ? `   skip ${r.skipped}` : ''}\n`,
  );
}
process.stdout.write(`  total time ${((performance.now() - t0) / 1000).toFixed(1)} s\n`);
for (const p of problems) process.stdout.write(`FAILURE: ${p}\n`);
for (const w of warnings) process.stdout.write(`${w}\n`);
process.stdout.write(`${total.passed} passed, ${total.failed} failed${total.skipped ? `, ${total.skipped} skipped` : ''}\n`);
process.exitCode = total.failed > 0 ? 1 : 0;
