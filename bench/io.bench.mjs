// Simulation-file reading (`npm run build` first; run: node bench/io.bench.mjs [--traj=1000] [--keep]).
//
// 1. A LARGE PDEBench-layout file: density, pressure, Vx, Vy of (traj, 21, 128, 128) float32, every
//    chunk (one trajectory) written and gzip-compressed, so the logical size is several GB while the
//    disk file stays small. Reading 4 trajectories with readPdebenchCfd runs in a fresh child process
//    that reports wall time, peak RSS and the bytes it read through read() (/proc/self/io rchar):
//    the slice costs the slice, not the file.
// 2. Throughput (MB/s of float32 values delivered) of a realistic file (64 trajectories, 128²,
//    ≈ 352 MB) stored contiguous and gzip-chunked: the raw HDF5 layer (Hdf5File.read) and the
//    whole reader (values packed into a MultiImage), each in a fresh child process (page cache warm).
// Writes bench/results/io-latest.json.
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { cpus, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

const args = Object.fromEntries(
  process.argv
    .slice(2)
    .map((a) => a.replace(/^--/, '').split('='))
    .map(([k, v]) => [k, v ?? true]),
);
const here = fileURLToPath(new URL('.', import.meta.url));
const dist = new URL('../dist/index.js', import.meta.url).href;
const [T, N] = [21, 128];
const FIELDS = ['density', 'pressure', 'Vx', 'Vy'];

/** Deterministic smooth values for trajectory b of field f (what the check recomputes). */
function fill(out, f, b) {
  for (let t = 0; t < T; t++)
    for (let x = 0; x < N; x++)
      for (let y = 0; y < N; y++) {
        out[(t * N + x) * N + y] = Math.sin(0.05 * x * (f + 1) + 0.3 * t + b) * Math.cos(0.07 * y + 0.11 * b) + f;
      }
}

// ---- child mode: one measurement in a fresh process -------------------------------------------
if (args.child) {
  const gc = await import(dist);
  await gc.init({ backend: 'wasm' });
  const rchar = () => Number(/rchar:\s*(\d+)/.exec(readFileSync('/proc/self/io', 'utf8'))[1]);
  const mode = args.child;
  const path = args.path;
  // load h5wasm and open once first, so its start-up is not counted as reading
  const warm = await gc.openSimulationFile(path);
  await warm.close();
  const r0 = rchar();
  const rss0 = process.memoryUsage().rss;
  const t0 = performance.now();
  let bytes = 0;
  let check = 0;
  if (mode === 'subset') {
    const [a, b] = args.range.split(',').map(Number);
    const d = await gc.readPdebenchCfd(path, { trajectories: [a, b], normalize: false });
    const v = d.dynamic.data.dataSync();
    bytes = v.length * 4;
    // element (b0, density, t = 3, x = 5, y = 7) against the generator
    const want = new Float32Array(T * N * N);
    fill(want, 0, a);
    const W = d.dynamic.width;
    check = Math.abs(v[(5 * N + 7) * W + 3] - want[(3 * N + 5) * N + 7]);
    d.dispose();
  } else if (mode === 'raw') {
    const f = await gc.openSimulationFile(path);
    for (const name of FIELDS) bytes += f.read(name).length * 4;
    await f.close();
  } else {
    const d = await gc.readPdebenchCfd(path, { normalize: false });
    bytes = d.dynamic.data.size * 4;
    d.dispose();
  }
  const ms = performance.now() - t0;
  const out = { ms, bytes, rchar: rchar() - r0, maxRssMB: process.resourceUsage().maxRSS / 1024, rssBeforeMB: rss0 / 2 ** 20, check };
  process.stdout.write(JSON.stringify(out));
  process.exit(0);
}

// ---- parent ------------------------------------------------------------------------------------
const child = (mode, path, extra = []) =>
  JSON.parse(
    execFileSync(process.execPath, ['--experimental-wasm-relaxed-simd', fileURLToPath(import.meta.url), `--child=${mode}`, `--path=${path}`, ...extra], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
    }),
  );
const h5wasm = await import('h5wasm/node');
await h5wasm.ready;
const dir = mkdtempSync(join(tmpdir(), 'geoconv-io-bench-'));
const results = { date: new Date().toISOString(), node: process.version, cpu: cpus()[0]?.model, cases: [] };
try {
  // 1. the large file
  const NB = Number(args.traj ?? 1000);
  const R0 = Math.floor(NB / 2); // the 4 trajectories read: [R0, R0 + 4)
  const big = join(dir, 'big.h5');
  let t0 = performance.now();
  {
    const f = new h5wasm.File(big, 'w');
    const buf = new Float32Array(T * N * N);
    for (const [fi, name] of FIELDS.entries()) {
      fill(buf, fi, 0);
      const ds = f.create_dataset({
        name,
        data: buf,
        shape: [1, T, N, N],
        maxshape: [null, T, N, N],
        chunks: [1, T, N, N],
        compression: 'gzip',
        compression_opts: 1,
      });
      ds.resize([NB, T, N, N]);
      for (let b = 1; b < NB; b++) {
        // the trajectories the bench reads get real values; the rest a constant (compresses to ~KB)
        if (b >= R0 && b < R0 + 4) fill(buf, fi, b);
        else buf.fill(b % 7);
        ds.write_slice([[b, b + 1]], buf);
      }
    }
    f.create_dataset({ name: 't-coordinate', data: new Float32Array(T + 1) });
    f.create_dataset({ name: 'x-coordinate', data: new Float32Array(N) });
    f.create_dataset({ name: 'y-coordinate', data: new Float32Array(N) });
    f.close();
  }
  const writeS = (performance.now() - t0) / 1000;
  const logical = FIELDS.length * NB * T * N * N * 4;
  const disk = statSync(big).size;
  const sub = child('subset', big, [`--range=${R0},${R0 + 4}`]);
  if (!(sub.check < 1e-6)) throw new Error(`subset read returned wrong values (|diff| ${sub.check})`);
  results.cases.push({
    case: 'large-file-4-trajectories',
    trajectories: NB,
    shape: [NB, T, N, N],
    logicalGB: logical / 1e9,
    diskMB: disk / 1e6,
    writeSeconds: writeS,
    readMs: sub.ms,
    valuesMB: sub.bytes / 1e6,
    rcharMB: sub.rchar / 1e6,
    maxRssMB: sub.maxRssMB,
    rssBeforeReadMB: sub.rssBeforeMB,
  });
  console.log(
    `large file: ${(logical / 1e9).toFixed(2)} GB logical (${NB} trajectories × 4 fields × ${T}×${N}²), ${(disk / 1e6).toFixed(1)} MB on disk, written in ${writeS.toFixed(1)} s`,
  );
  console.log(
    `  read 4 trajectories: ${sub.ms.toFixed(0)} ms, ${(sub.bytes / 1e6).toFixed(1)} MB of values, ${(sub.rchar / 1e6).toFixed(1)} MB read() from disk, peak RSS ${sub.maxRssMB.toFixed(0)} MB (${sub.rssBeforeMB.toFixed(0)} MB before the read)`,
  );
  if (!args.keep) rmSync(big);

  // 2. throughput on a realistic file
  const NT = 64;
  const per = T * N * N;
  const arrays = FIELDS.map((_, fi) => {
    const a = new Float32Array(NT * per);
    const buf = new Float32Array(per);
    for (let b = 0; b < NT; b++) {
      fill(buf, fi, b);
      for (let i = 0; i < per; i++) buf[i] += 1e-3 * Math.sin(i * 12.9898 + b * 78.233); // texture, so gzip works for its ratio
      a.set(buf, b * per);
    }
    return a;
  });
  const { writeHdf5 } = await import(dist);
  const coords = [
    { name: 't-coordinate', data: new Float32Array(T + 1), shape: [T + 1] },
    { name: 'x-coordinate', data: new Float32Array(N), shape: [N] },
    { name: 'y-coordinate', data: new Float32Array(N), shape: [N] },
  ];
  for (const [label, opts] of [
    ['contiguous', {}],
    ['gzip-4', { chunks: [1, T, N, N], gzip: 4 }],
  ]) {
    const path = join(dir, `${label}.h5`);
    t0 = performance.now();
    await writeHdf5(path, [...FIELDS.map((name, fi) => ({ name, data: arrays[fi], shape: [NT, T, N, N], ...opts })), ...coords]);
    const writeS2 = (performance.now() - t0) / 1000;
    const raw = child('raw', path);
    const full = child('reader', path);
    const mb = raw.bytes / 1e6;
    const row = {
      case: `throughput-${label}`,
      shape: [NT, T, N, N],
      valuesMB: mb,
      diskMB: statSync(path).size / 1e6,
      writeSeconds: writeS2,
      rawMs: raw.ms,
      rawMBps: mb / (raw.ms / 1000),
      readerMs: full.ms,
      readerMBps: mb / (full.ms / 1000),
      readerMaxRssMB: full.maxRssMB,
    };
    results.cases.push(row);
    console.log(
      `${label}: ${mb.toFixed(0)} MB of values (${row.diskMB.toFixed(0)} MB on disk; written in ${writeS2.toFixed(1)} s): HDF5 layer ${row.rawMBps.toFixed(0)} MB/s, readPdebenchCfd ${row.readerMBps.toFixed(0)} MB/s (peak RSS ${full.maxRssMB.toFixed(0)} MB)`,
    );
    rmSync(path);
  }
} finally {
  if (!args.keep) rmSync(dir, { recursive: true, force: true });
  else console.log(`kept ${dir}`);
}
mkdirSync(join(here, 'results'), { recursive: true });
writeFileSync(join(here, 'results', 'io-latest.json'), `${JSON.stringify(results, null, 1)}\n`);
console.log('wrote bench/results/io-latest.json');
