#!/usr/bin/env node
// Speed of data (docs/data.md "Speed"): each figure beside its floor, measured in the same run and
// interleaved (A, B, A, B...) so that a machine loaded by others weighs on both alike.
//   floor        start + stop of an existing PostgreSQL (Redis) cluster: the server spawned on its
//                data directory, ready (postmaster.pid says so; Redis answers PING), stopped (SIGINT /
//                SIGTERM) and gone, polled every 2 ms ("raw floor").
//   pg_ctl floor `pg_ctl start -w` + `pg_ctl stop -w -m fast` of that cluster (they poll every 100 ms):
//                the start+stop users know; the postgres targets are ratios to it.
//   run cold     iact run --service postgres|redis -- true, no warm spare (IACT_RUN_SPARE_TTL=0)
//   run warm     the same with a warm spare ready (docs/data.md "Warm spares"); the bench waits for the
//                spare the previous run left before timing anything else, so no keeper works meanwhile
//                                                                          target <= 2x pg_ctl | 1.5x raw (redis)
//   apply        the bundled development apply from nothing                target <= 3x the pg_ctl floor
//   parallel     10 iact run --service postgres at once, all done          target <= 4 s
//   snapshot     iact snapshot of a 1 GB postgres sandbox                  target <= 1 s (copy-on-write)
//   branch       a sandbox created from that snapshot (driver create --from), and iact run --from it
// Usage: node bench/data.mjs [--runs N] [--size-mb MB] [--skip-big] [--json FILE]   (npm run build first)
import { spawn, spawnSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const repo = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const cli = path.join(repo, 'dist', 'cli.js');
const driver = path.join(repo, 'bash', 'lightweight_venv.sh');
const args = process.argv.slice(2);
const KNOWN = new Set(['--runs', '--size-mb', '--skip-big', '--json']);
const unknown = args.filter((a, i) => a.startsWith('-') && !KNOWN.has(a) && !['--runs', '--size-mb', '--json'].includes(args[i - 1]));
if (args.includes('--help') || args.includes('-h') || unknown.length > 0) {
  // The header above is the help: what each figure is, its floor and its target.
  const header = readFileSync(fileURLToPath(import.meta.url), 'utf8')
    .split('\n')
    .slice(1, 17);
  process.stdout.write(`${header.map((l) => l.replace(/^\/\/ ?/, '')).join('\n')}\n`);
  if (unknown.length > 0 && !args.includes('--help') && !args.includes('-h')) {
    process.stderr.write(`error: unknown option ${unknown[0]}\n`);
    process.exit(2);
  }
  process.exit(0);
}
const opt = (name, def) => {
  const i = args.indexOf(name);
  return i >= 0 ? args[i + 1] : def;
};
const RUNS = Number(opt('--runs', '7'));
const SIZE_MB = Number(opt('--size-mb', '1024'));
const SKIP_BIG = args.includes('--skip-big');
const JSON_OUT = opt('--json', undefined);
if (!existsSync(cli)) {
  console.error('error: dist/cli.js is missing\n  fix: npm run build');
  process.exit(1);
}

const now = () => performance.now();
const median = (xs) => [...xs].sort((a, b) => a - b)[Math.floor(xs.length / 2)];
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

function freePort() {
  return new Promise((resolve, reject) => {
    const s = createServer();
    s.once('error', reject);
    s.listen(0, '127.0.0.1', () => {
      const { port } = s.address();
      s.close(() => resolve(port));
    });
  });
}

function sh(file, argv, options = {}) {
  const r = spawnSync(file, argv, { encoding: 'utf8', ...options });
  if (r.status !== 0) throw new Error(`${file} ${argv.join(' ')} failed (${r.status}):\n${r.stderr}`);
  return r.stdout;
}

/** Runs a command to its end; resolves to its wall time in ms (rejects on failure). */
function timed(file, argv, options = {}) {
  return new Promise((resolve, reject) => {
    const t = now();
    const child = spawn(file, argv, {
      stdio: ['ignore', 'ignore', 'pipe'],
      ...options,
    });
    let err = '';
    child.stderr.on('data', (d) => (err += d));
    child.on('exit', (code) => (code === 0 ? resolve(now() - t) : reject(new Error(`${file} ${argv.join(' ')} exited ${code}:\n${err}`))));
  });
}

const project = mkdtempSync(path.join(tmpdir(), 'iact-bench-data-'));
// The floors spawn the servers as their users: they must reach the data directories.
chmodSync(project, 0o755);
// iact snapshot and iact run --from work in a project: one with no sandbox of its own in the manifest.
mkdirSync(path.join(project, 'environments'));
writeFileSync(path.join(project, 'environments', 'bench.yaml'), 'apiVersion: iact/v1\nenvironment: bench\nsandboxes: {}\n');
const sandboxRoot = path.join(project, '.iact', 'sandboxes');
const env = {
  ...process.env,
  IACT_SANDBOX_ROOT: sandboxRoot,
  IACT_ENV: 'bench',
};
const results = [];
const cleanups = [];

/** FLOORS: [[name, ms], ...]; a ratio target is to the first one. Every floor's ratio is printed. */
function report(figure, ms, floors, target, note = '') {
  const [first] = floors;
  const ratio = first ? ms / first[1] : undefined;
  const pass = target.kind === 'ratio' ? ratio <= target.value : ms <= target.value;
  results.push({
    figure,
    ms: Math.round(ms),
    floors: floors.map(([name, f]) => ({ name, ms: Math.round(f), ratio: Number((ms / f).toFixed(2)) })),
    target: target.kind === 'ratio' ? `<= ${target.value}x ${first[0]}` : `<= ${target.value} ms`,
    pass,
    note,
  });
}

// --- floors: an existing cluster, started and stopped ---------------------------------------
/** A free port below the kernel's ephemeral range: no run sandbox or warm spare (kernel-chosen ports) takes it meanwhile. */
async function floorPort() {
  for (;;) {
    const port = 20000 + Math.floor(Math.random() * 10000);
    const free = await new Promise((resolve) => {
      const s = createServer();
      s.once('error', () => resolve(false));
      s.listen(port, '127.0.0.1', () => s.close(() => resolve(true)));
    });
    if (free) return port;
  }
}

async function makeCluster(name, service) {
  const port = await floorPort();
  sh('bash', [driver, 'create', name, service, String(port), '--env', 'bench'], { cwd: project, env });
  sh('bash', [driver, 'stop', name, '--env', 'bench'], { cwd: project, env });
  cleanups.push(() =>
    spawnSync('bash', [driver, 'destroy', name, '--yes', '--env', 'bench'], {
      cwd: project,
      env,
    }),
  );
  return { dir: path.join(sandboxRoot, 'bench', name), port };
}

const asUser = (user, argv) =>
  process.getuid?.() === 0 ? ['setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', ...argv]] : [argv[0], argv.slice(1)];
const pgBin = sh('bash', ['-c', 'ls -d /usr/lib/postgresql/*/bin | sort -V | tail -1']).trim();

/** postgres -D DATA until its pidfile says ready, then SIGINT until it is gone. */
async function pgStartStop(cluster) {
  // The driver's stop left the data directory mounted (when it is a layer): the server finds it as start would.
  const [file, argv] = asUser('postgres', [`${pgBin}/postgres`, '-D', path.join(cluster.dir, 'data')]);
  const t0 = now();
  const child = spawn(file, argv, { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const pidfile = path.join(cluster.dir, 'data', 'postmaster.pid');
  for (;;) {
    try {
      if (readFileSync(pidfile, 'utf8').split('\n')[7]?.startsWith('ready')) break;
    } catch {}
    if (child.exitCode !== null) throw new Error(`postgres -D ${cluster.dir}/data exited with ${child.exitCode}`);
    await sleep(2);
  }
  child.kill('SIGINT');
  await exited;
  return now() - t0;
}

// Its log in run/, the server user's (logs/ is root's when iact runs as root).
async function pgCtlStartStop(cluster) {
  const data = path.join(cluster.dir, 'data');
  const [f1, a1] = asUser('postgres', [`${pgBin}/pg_ctl`, '-D', data, '-w', '-l', path.join(cluster.dir, 'run', 'pg_ctl.log'), 'start']);
  const [f2, a2] = asUser('postgres', [`${pgBin}/pg_ctl`, '-D', data, '-w', '-m', 'fast', 'stop']);
  const t0 = now();
  sh(f1, a1, { stdio: 'ignore' });
  sh(f2, a2, { stdio: 'ignore' });
  return now() - t0;
}

/** redis-server CONFIG until PING answers on its socket, then SIGTERM until it is gone. */
async function redisStartStop(cluster) {
  const [file, argv] = asUser('redis', ['redis-server', path.join(cluster.dir, 'conf', 'redis.conf')]);
  const t0 = now();
  const child = spawn(file, argv, { stdio: 'ignore' });
  const exited = new Promise((r) => child.on('exit', r));
  const sock = path.join(cluster.dir, 'run', 'redis.sock');
  for (;;) {
    if (
      existsSync(sock) &&
      spawnSync('redis-cli', ['-s', sock, '--no-auth-warning', 'PING'], {
        encoding: 'utf8',
      }).stdout.includes('NOAUTH')
    )
      break;
    if (child.exitCode !== null) throw new Error(`redis-server of ${cluster.dir} exited with ${child.exitCode}`);
    await sleep(2);
  }
  child.kill('SIGTERM');
  await exited;
  return now() - t0;
}

// Cold: no spare is made or taken. Warm: spares on (their idle TTL long enough for the bench).
const coldEnv = { ...process.env, IACT_RUN_SPARE_TTL: '0' };
const warmEnv = { ...process.env, IACT_RUN_SPARE_TTL: '120' };
const run = (argv, cwd = project, runEnv = coldEnv) => timed('node', [cli, 'run', ...argv, '--', 'true'], { cwd, env: runEnv });

const { runRoot } = await import(path.join(repo, 'dist', 'sandbox', 'ephemeral.js'));
const { listSpares } = await import(path.join(repo, 'dist', 'sandbox', 'spares.js'));
const spareRoot = (await runRoot(warmEnv, false)).root;
const alive = (pid) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** A warm spare of SERVICE is ready and no keeper is still making one (nothing works in the background). */
async function spareReady(service) {
  const deadline = now() + 120_000;
  while (now() < deadline) {
    const { ready, making } = await listSpares(spareRoot);
    if (ready.some((r) => r.service === service && alive(r.pid)) && !making.some((m) => alive(m.pid))) return;
    await sleep(20);
  }
  throw new Error(`no warm ${service} spare within 120 s`);
}

/** A warm run: its spare is ready first; the one it leaves is made before anything else is timed. */
async function warmRun(service) {
  await spareReady(service);
  const ms = await run(['--service', service], project, warmEnv);
  await spareReady(service);
  return ms;
}

async function main() {
  console.error(`bench/data.mjs: ${RUNS} runs, load average ${readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 3).join(' ')}`);
  const storage = JSON.parse(sh('bash', [driver, 'storage', '--env', 'bench'], { cwd: project, env }));
  console.error(`storage: ${storage.storage} (${storage.reason})`);
  const pg = await makeCluster('floor-pg', 'postgres');
  const rd = await makeCluster('floor-redis', 'redis');
  const samples = {
    pg: [],
    pgctl: [],
    runPg: [],
    warmPg: [],
    rd: [],
    runRd: [],
    warmRd: [],
    node: [],
    apply: [],
  };
  cleanups.push(() => spawnSync('node', [cli, 'run', '--clean-spares'], { env: warmEnv, stdio: 'ignore' }));
  // A warm-up of each, not counted: templates, page cache, node's compile cache; the warm ones leave a spare.
  await pgStartStop(pg);
  await run(['--service', 'postgres']);
  await run(['--service', 'redis']);
  await run(['--service', 'postgres'], project, warmEnv);
  await run(['--service', 'redis'], project, warmEnv);
  await spareReady('postgres');
  await spareReady('redis');
  const dev = readFileSync(path.join(repo, 'environments', 'development.yaml'), 'utf8');
  for (let i = 0; i < RUNS; i++) {
    samples.pg.push(await pgStartStop(pg));
    samples.runPg.push(await run(['--service', 'postgres']));
    samples.pgctl.push(await pgCtlStartStop(pg));
    samples.warmPg.push(await warmRun('postgres'));
    samples.rd.push(await redisStartStop(rd));
    samples.runRd.push(await run(['--service', 'redis']));
    samples.warmRd.push(await warmRun('redis'));
    samples.node.push(await timed('node', ['-e', '0']));
    // The bundled development apply, from nothing, on free ports.
    const app = mkdtempSync(path.join(tmpdir(), 'iact-bench-dev-'));
    cpSync(path.join(repo, 'environments'), path.join(app, 'environments'), {
      recursive: true,
    });
    writeFileSync(path.join(app, 'environments', 'development.yaml'), dev);
    const appEnv = {
      ...process.env,
      DEV_POSTGRES_PORT: String(await freePort()),
      DEV_REDIS_PORT: String(await freePort()),
      IACT_ENV: 'development',
    };
    try {
      samples.apply.push(
        await timed('node', [cli, 'apply', '--auto-approve'], {
          cwd: app,
          env: appEnv,
        }),
      );
    } finally {
      spawnSync('node', [cli, 'destroy', '--auto-approve', '--no-backup'], {
        cwd: app,
        env: appEnv,
        stdio: 'ignore',
      });
      rmSync(app, { recursive: true, force: true });
    }
  }
  const floorPg = median(samples.pg);
  const floorRd = median(samples.rd);
  const pgFloors = [
    ['pg_ctl floor', median(samples.pgctl)],
    ['raw floor', floorPg],
  ];
  const rdFloors = [['raw floor', floorRd]];
  report('iact run --service postgres -- true (cold)', median(samples.runPg), pgFloors, { kind: 'ratio', value: 2 }, 'no spare');
  report('iact run --service postgres -- true (warm)', median(samples.warmPg), pgFloors, { kind: 'ratio', value: 2 }, 'a spare ready');
  report('iact run --service redis -- true (cold)', median(samples.runRd), rdFloors, { kind: 'ratio', value: 1.5 }, 'no spare');
  report('iact run --service redis -- true (warm)', median(samples.warmRd), rdFloors, { kind: 'ratio', value: 1.5 }, 'a spare ready');
  report('bundled development apply from nothing', median(samples.apply), pgFloors, { kind: 'ratio', value: 3 });
  report('node -e 0 (for scale)', median(samples.node), [], { kind: 'ms', value: Number.POSITIVE_INFINITY }, 'no target');

  // Ten at once, no spares: the slowest decides.
  const t0 = now();
  await Promise.all(Array.from({ length: 10 }, () => run(['--service', 'postgres'])));
  report('10 parallel iact run --service postgres (all done)', now() - t0, [], { kind: 'ms', value: 4000 }, 'no spares');

  if (!SKIP_BIG) await big();
}

async function big() {
  const port = await freePort();
  sh('bash', [driver, 'create', 'big', 'postgres', String(port), '--env', 'bench'], { cwd: project, env });
  cleanups.unshift(() =>
    spawnSync('bash', [driver, 'destroy', 'big', '--yes', '--env', 'bench'], {
      cwd: project,
      env,
    }),
  );
  const pw = readFileSync(path.join(sandboxRoot, 'bench', 'big', 'secrets', 'password'), 'utf8');
  const rows = Math.round((SIZE_MB * 1024 * 1024) / 1040);
  const t = now();
  sh(
    'psql',
    [
      '-X',
      '-q',
      '-h',
      '127.0.0.1',
      '-p',
      String(port),
      '-U',
      'big',
      'big',
      '-c',
      `SET synchronous_commit = off; CREATE TABLE filler AS SELECT g, repeat(md5(g::text), 31) AS pad FROM generate_series(1, ${rows}) g`,
    ],
    { env: { ...process.env, PGPASSWORD: pw } },
  );
  const bytes = Number(sh('du', ['-sb', path.join(sandboxRoot, 'bench', 'big', 'data')]).split('\t')[0]);
  console.error(`filled big with ${(bytes / 1e9).toFixed(2)} GB in ${((now() - t) / 1000).toFixed(1)} s`);
  const snap = await timed('node', [cli, 'snapshot', 'big', 's1', '--env', 'bench'], { cwd: project, env });
  report(
    `iact snapshot of a ${(bytes / 1e9).toFixed(2)} GB postgres sandbox (running)`,
    snap,
    [],
    { kind: 'ms', value: 1000 },
    'stops and starts the server: the floor is inside it',
  );
  const branchPort = await freePort();
  const branch = await timed(
    'bash',
    [driver, 'create', 'big-branch', 'postgres', String(branchPort), '--from', 'big@s1', '--env', 'bench'],
    { cwd: project, env },
  );
  cleanups.unshift(() => spawnSync('bash', [driver, 'destroy', 'big-branch', '--yes', '--env', 'bench'], { cwd: project, env }));
  report(
    `a branch of it (driver create --from big@s1, ready for logins)`,
    branch,
    [],
    { kind: 'ms', value: 1000 },
    'starts a server: the floor is inside it',
  );
  const runFrom = await timed('node', [cli, 'run', '--from', 'big@s1', '--env', 'bench', '--', 'true'], { cwd: project, env: { ...env } });
  report(`iact run --from big@s1 -- true`, runFrom, [], { kind: 'ms', value: 1000 }, 'create, run, destroy');
}

function printResults() {
  const w = Math.max(...results.map((r) => r.figure.length));
  console.log(
    [
      'floors: raw floor = the server binary on an existing data directory, started until ready and stopped (SIGINT / SIGTERM), polled every 2 ms;',
      '        pg_ctl floor = pg_ctl start -w + pg_ctl stop -w -m fast of that cluster (100 ms polls); cold = no spare, warm = a spare ready.',
    ].join('\n'),
  );
  console.log(`${'figure'.padEnd(w)}  ${'ms'.padStart(6)}  floors (ms, ratio)                      target`);
  for (const r of results) {
    const floors = r.floors.map((f) => `${f.name} ${f.ms} (${f.ratio}x)`).join(', ') || '-';
    const verdict = r.target.includes('Infinity') ? '' : `${r.target} ${r.pass ? 'ok' : 'MISSED'}`;
    console.log(`${r.figure.padEnd(w)}  ${String(r.ms).padStart(6)}  ${floors.padEnd(38)}  ${verdict}${r.note ? `  (${r.note})` : ''}`);
  }
  if (JSON_OUT) writeFileSync(JSON_OUT, `${JSON.stringify({ load: readFileSync('/proc/loadavg', 'utf8').trim(), results }, null, 2)}\n`);
}

try {
  await main();
} finally {
  for (const c of cleanups) c();
  rmSync(project, { recursive: true, force: true });
  printResults();
}
