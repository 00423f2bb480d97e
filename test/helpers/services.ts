// Shared helpers for driver tests: temp sandbox roots, free ports, binaries, real clients, leftovers.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, statSync } from 'node:fs';
import { createServer, connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa } from 'execa';
import { describe, type SuiteAPI, type TestContext } from 'vitest';
import type { ServiceKind } from '../../src/model/types.js';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const PG_BIN = '/usr/lib/postgresql/15/bin';
/** Templates are a per-machine cache; tests share one so only the first test pays initdb. */
export const TEMPLATE_DIR = path.join(tmpdir(), 'iact-test-templates');

type Missing = () => string[];

function onPath(bin: string): boolean {
  const dirs = [...(process.env.PATH ?? '').split(':'), PG_BIN, '/usr/sbin', '/sbin'];
  return dirs.some((d) => d !== '' && existsSync(path.join(d, bin)));
}

const bins =
  (...names: string[]): Missing =>
  () =>
    names.filter((b) => !onPath(b));

const files =
  (...paths: string[]): Missing =>
  () =>
    paths.filter((p) => !existsSync(p));

function pythonModule(module: string): Missing {
  return () => {
    if (!onPath('python3')) return ['python3'];
    return spawnSync('python3', ['-c', `import ${module}`], { stdio: 'ignore' }).status === 0 ? [] : [`python3 module ${module}`];
  };
}

/** Everything a test may need that this machine might lack, with the command that installs it. */
const PREREQUISITES: Record<string, { missing: Missing; hint: string }> = {
  postgres: { missing: bins('postgres', 'initdb', 'psql', 'pg_dump'), hint: 'apt-get install -y postgresql' },
  mysql: {
    missing: bins('mariadbd', 'mariadb-install-db', 'mariadb', 'mariadb-dump'),
    hint: 'apt-get install -y mariadb-server mariadb-client',
  },
  redis: { missing: bins('redis-server', 'redis-cli'), hint: 'apt-get install -y redis-server redis-tools' },
  none: { missing: () => [], hint: '' },
  jq: { missing: bins('jq'), hint: 'apt-get install -y jq' },
  root: { missing: () => (process.getuid?.() === 0 ? [] : ['root']), hint: 'run the tests as root (sudo)' },
  namespace: { missing: bins('bwrap', 'socat', 'setpriv'), hint: 'apt-get install -y bubblewrap socat util-linux' },
  'cgroup-v1-memory': {
    missing: files('/sys/fs/cgroup/memory'),
    hint: 'mount the cgroup v1 memory controller (boot with systemd.unified_cgroup_hierarchy=0)',
  },
  python3: { missing: bins('python3'), hint: 'apt-get install -y python3' },
  // An SSH server the tunnel test runs in a network namespace of its own (docs/tunnels.md).
  'ssh-server': { missing: bins('sshd', 'ssh', 'ssh-keygen', 'ip'), hint: 'apt-get install -y openssh-server openssh-client iproute2' },
  'python-dotenv': { missing: pythonModule('dotenv'), hint: 'apt-get install -y python3-dotenv' },
  pytest: {
    missing: () => {
      const probe = spawnSync('python3', ['-c', 'import sys, pytest; sys.exit(0 if sys.version_info >= (3, 9) else 3)'], {
        stdio: 'ignore',
      });
      return probe.error ? ['python3'] : probe.status === 3 ? ['python3 >= 3.9'] : probe.status === 0 ? [] : ['pytest'];
    },
    hint: 'install Python 3.9+ and pytest (apt-get install -y python3 python3-pytest, or python3 -m pip install pytest)',
  },
  docker: {
    missing: () => [
      ...bins('docker', 'dockerd', 'jq', 'mariadb', 'redis-cli')(),
      ...(existsSync(path.join(PG_BIN, 'psql')) || onPath('psql') ? [] : ['psql']),
      // The images are made of this machine's service binaries (scripts/docker-images.sh).
      ...files(path.join(PG_BIN, 'postgres'), '/usr/sbin/mariadbd', '/usr/bin/redis-server')(),
    ],
    hint: 'apt-get install -y docker.io jq postgresql-15 mariadb-server mariadb-client redis-server redis-tools',
  },
};

/**
 * The one gate for what a test needs (`postgres`, `namespace`, `root`, `python-dotenv`, `docker`, ...).
 * Undefined when all of it is here. Anything missing fails with the install hint; only under
 * IACT_ALLOW_MISSING_SERVICES=1 is the reason returned instead, for a visible skip.
 */
export function missingPrerequisites(...needs: string[]): string | undefined {
  const missing: string[] = [];
  const hints = new Set<string>();
  for (const need of needs) {
    const entry = PREREQUISITES[need] ?? { missing: bins(need), hint: `install ${need}` };
    const absent = entry.missing();
    if (absent.length === 0) continue;
    missing.push(...absent);
    hints.add(entry.hint);
  }
  if (missing.length === 0) return undefined;
  const reason = `missing ${[...new Set(missing)].join(', ')} (fix: ${[...hints].join('; ')})`;
  if (process.env.IACT_ALLOW_MISSING_SERVICES === '1') return reason;
  throw new Error(
    `this test needs ${[...new Set(missing)].join(', ')}\n  fix: ${[...hints].join('; ')} (or set IACT_ALLOW_MISSING_SERVICES=1 to skip, visibly)`,
  );
}

/** Inside a test: fails with the install hint, or skips this test with the reason (IACT_ALLOW_MISSING_SERVICES=1). */
export function needs(ctx: TestContext, ...what: string[]): void {
  const reason = missingPrerequisites(...what);
  if (reason) ctx.skip(reason);
}

/**
 * `describe` for a suite that needs `what`: fails the file with the install hint, or under
 * IACT_ALLOW_MISSING_SERVICES=1 reports the suite as skipped with the reason in its title.
 */
export function describeNeeding(...what: string[]): SuiteAPI {
  const reason = missingPrerequisites(...what);
  if (!reason) return describe;
  return ((title: string, ...rest: Parameters<SuiteAPI>[1][]) =>
    (describe.skipIf(true) as (...args: unknown[]) => void)(`${title} [skipped: ${reason}]`, ...rest)) as unknown as SuiteAPI;
}

/**
 * Test ports come from below the kernel's ephemeral range (which starts at 32768 here), where no
 * client connection's source port and no port-0 bind of iact's own lands; each vitest worker has a
 * slice of its own (VITEST_POOL_ID) and hands each port out once, so concurrent tests never share one.
 */
const PORT_SLICE = 5000;
const sliceStart = 20_000 + ((Number(process.env.VITEST_POOL_ID ?? '1') - 1) % 2) * PORT_SLICE;
// Where in its slice this process starts: a worker that ran earlier files leaves no port behind, but a
// server a failed test left running would still hold its port; starting elsewhere each run avoids it.
let nextPort = (process.pid * 37) % PORT_SLICE;

function bindable(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = createServer();
    server.unref();
    server.once('error', () => resolve(false));
    server.listen(port, '127.0.0.1', () => server.close(() => resolve(true)));
  });
}

export async function freePort(): Promise<number> {
  for (let tries = 0; tries < PORT_SLICE; tries += 1) {
    const port = sliceStart + (nextPort++ % PORT_SLICE);
    if (await bindable(port)) return port;
  }
  throw new Error(`no free port in ${sliceStart}-${sliceStart + PORT_SLICE - 1}`);
}

export function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

export interface TempRoot {
  dir: string; // project root (cwd of the scripts)
  sandboxRoot: string;
  env: Record<string, string>; // for running the scripts directly
  cleanup(): void;
}

/**
 * A project dir with its sandbox root inside. Made traversable (0711, like a normal checkout) so
 * MariaDB, which needs a real path, can run; `private: true` keeps mkdtemp's 0700.
 */
export function tempRoot(prefix = 'iact-drv-', opts: { private?: boolean } = {}): TempRoot {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  if (!opts.private) chmodSync(dir, 0o711);
  const sandboxRoot = path.join(dir, '.iact', 'sandboxes');
  return {
    dir,
    sandboxRoot,
    env: { IACT_SANDBOX_ROOT: sandboxRoot, IACT_TEMPLATE_DIR: TEMPLATE_DIR, IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' },
    cleanup() {
      for (const pid of processesMentioning(dir)) {
        try {
          process.kill(pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
      unmountUnder(dir);
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** Copy-on-write data directories are overlay mounts (docs/data.md "Storage"): a test's rm -rf needs them gone first. */
export function unmountUnder(dir: string): void {
  const points = readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((line) => line.split(' ')[4]?.replace(/\\040/g, ' '))
    .filter((point): point is string => point?.startsWith(`${dir}/`) === true)
    .sort((a, b) => b.length - a.length);
  for (const point of points) spawnSync('umount', ['-l', point]);
}

/** Live (non-zombie) processes whose command line or cwd mentions `needle`. */
export function processesMentioning(needle: string): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    const pid = Number(entry);
    if (pid === process.pid) continue;
    try {
      const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
      const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
      if (state === 'Z' || state === 'X') continue;
      const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').replace(/\0/g, ' ');
      let cwd = '';
      try {
        cwd = readlinkSync(`/proc/${pid}/cwd`);
      } catch {
        // not ours to read
      }
      if (cmdline.includes('vitest') || cmdline.includes('node ')) continue;
      if (cmdline.includes(needle) || cwd.startsWith(needle)) pids.push(pid);
    } catch {
      // exited meanwhile
    }
  }
  return pids;
}

export async function waitFor(check: () => Promise<boolean> | boolean, timeoutMs = 10_000): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((r) => setTimeout(r, 50));
  }
  return check();
}

export interface Credentials {
  port: number;
  database: string;
  user: string;
  password: string;
}

export interface RunResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

export interface QueryOptions {
  /** Where the service listens; 127.0.0.1 unless given. */
  host?: string;
  /** TLS verified against this CA (verify-full), or 'off' for plaintext only; the client's default unless given. */
  tls?: { ca: string } | 'off';
}

const PSQL = [path.join(PG_BIN, 'psql'), '/usr/bin/psql'].find((p) => existsSync(p)) ?? 'psql';

/**
 * One statement through the real client of the service over TCP (for redis, the command's words);
 * passwords travel in the environment, never in argv. stdout comes back trimmed.
 */
export async function query(
  service: 'postgres' | 'mysql' | 'redis',
  c: Credentials,
  statement: string[],
  opts: QueryOptions = {},
): Promise<RunResult> {
  const { host = '127.0.0.1', tls } = opts;
  const [port, sql] = [String(c.port), statement.join(' ')];
  let r: Awaited<ReturnType<typeof execa>>;
  if (service === 'postgres') {
    const ssl = tls === undefined ? {} : tls === 'off' ? { PGSSLMODE: 'disable' } : { PGSSLMODE: 'verify-full', PGSSLROOTCERT: tls.ca };
    r = await execa(PSQL, ['-X', '-w', '-tA', '-v', 'ON_ERROR_STOP=1', '-h', host, '-p', port, '-U', c.user, '-d', c.database, '-c', sql], {
      env: { PGPASSWORD: c.password, PGCONNECT_TIMEOUT: '5', ...ssl },
      reject: false,
      stdin: 'ignore',
    });
  } else if (service === 'mysql') {
    const ssl = tls === undefined ? [] : tls === 'off' ? ['--skip-ssl'] : ['--ssl', `--ssl-ca=${tls.ca}`, '--ssl-verify-server-cert'];
    r = await execa(
      'mariadb',
      [
        '--no-defaults',
        '--protocol=TCP',
        '--connect-timeout=5',
        '-h',
        host,
        '-P',
        port,
        '-u',
        c.user,
        '-D',
        c.database,
        ...ssl,
        '-N',
        '-B',
        '-e',
        sql,
      ],
      { env: { MYSQL_PWD: c.password }, reject: false, stdin: 'ignore' },
    );
  } else {
    const ssl = tls === undefined || tls === 'off' ? [] : ['--tls', '--cacert', tls.ca];
    r = await execa('redis-cli', ['--no-auth-warning', '-h', host, '-p', port, ...ssl, ...statement], {
      env: { REDISCLI_AUTH: c.password },
      reject: false,
      stdin: 'ignore',
      timeout: 10_000,
    });
  }
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout).trim(), stderr: String(r.stderr) };
}

export interface ClientResult {
  ok: boolean;
  out: string;
  err: string;
}

/** query() for a statement written as one line (a Redis command split at spaces), its failure as ok: false. */
export async function client(service: ServiceKind, c: Credentials, command: string): Promise<ClientResult> {
  if (service !== 'postgres' && service !== 'mysql' && service !== 'redis') throw new Error(`no client for ${service}`);
  const r = await query(service, c, service === 'redis' ? command.split(' ') : [command]);
  // redis-cli exits 0 even for server errors; an error reply is a failure here.
  const failed =
    r.exitCode !== 0 ||
    (service === 'redis' && (/^(ERR|NOAUTH|WRONGPASS|AUTH failed)/m.test(r.stdout) || /AUTH failed|NOAUTH|WRONGPASS/.test(r.stderr)));
  return { ok: !failed, out: r.stdout, err: r.stderr };
}

/** Writes a row (or key) that must survive a stop/start. */
export function writeCommand(service: ServiceKind): string {
  if (service === 'redis') return 'SET iact_probe survived';
  return "CREATE TABLE IF NOT EXISTS iact_probe (v text); INSERT INTO iact_probe VALUES ('survived')";
}

export function readCommand(service: ServiceKind): string {
  if (service === 'redis') return 'GET iact_probe';
  return 'SELECT v FROM iact_probe';
}

export function mode(file: string): number {
  return statSync(file).mode & 0o777;
}
