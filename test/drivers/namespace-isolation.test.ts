// namespace driver isolation (docs/namespace-sandbox.md), tried as an attacker would: from inside
// each service's sandbox, as its uid (nsenter into its namespaces) and as its database superuser
// (postgres COPY ... FROM PROGRAM, mariadb SELECT ... INTO OUTFILE / LOAD_FILE, redis CONFIG SET dir),
// every probe outside capabilities.json fails, and each probe is first shown to work where the
// capabilities allow it, so a failure means the sandbox, not a broken probe.
import { appendFileSync, existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { execa } from 'execa';
import { getDriver } from '../../src/drivers/index.js';
import type { DriverContext, DriverSpec } from '../../src/drivers/types.js';
import type { ServiceKind } from '../../src/model/types.js';
import { specFor } from '../helpers/lifecycle.js';
import { describeNeeding, freePort, TEMPLATE_DIR, tempRoot, type TempRoot } from '../helpers/services.js';

const ENV = 'development';
/** The host's own database servers' sockets (Debian's paths). */
const HOST_SOCKETS = ['/var/run/postgresql/.s.PGSQL.5432', '/run/mysqld/mysqld.sock'];
const HOST_DIRS = ['/var/lib/postgresql', '/var/lib/mysql', '/root', '/home'];
const SOCKET: Record<string, string> = { postgres: 'run/.s.PGSQL.%PORT%', mysql: 'run/mysqld.sock', redis: 'run/redis.sock' };

interface Box {
  service: ServiceKind;
  spec: DriverSpec;
  dir: string;
  socket: string;
  uid: number;
  init: number;
  caps: { read: string[]; write: string[]; user: { uid: number } };
}

/** Shell snippets; each exits 0 when the probe got through. */
const probe = {
  read: (p: string) => `if [ -d '${p}' ]; then ls -- '${p}'; else head -c1 -- '${p}'; fi`,
  connect: (socket: string) => `socat -u OPEN:/dev/null 'UNIX-CONNECT:${socket}'`,
  write: (p: string) => `: > '${p}'`,
  tcp: (port: number) => `timeout 3 bash -c 'exec 3<>/dev/tcp/127.0.0.1/${port}'`,
};

/** SNIPPET, its output dropped, then its exit code as rc=N, which rc() reads back. */
const reporting = (snippet: string) => `(${snippet}) >/dev/null 2>&1; echo rc=$?`;
const rc = (out: string): number => Number(/rc=(\d+)/.exec(out)?.[1] ?? 'NaN');

/** Runs SNIPPET inside BOX's namespaces, as its uid, with no capabilities; its exit code. */
async function asSandboxUser(box: Box, snippet: string): Promise<number> {
  const r = await execa(
    'nsenter',
    [
      '-t',
      String(box.init),
      '-m',
      '-u',
      '-i',
      '-n',
      '-p',
      '-r',
      '-w',
      '-S',
      String(box.uid),
      '-G',
      String(box.uid),
      '--',
      '/bin/bash',
      '-c',
      reporting(snippet),
    ],
    { reject: false },
  );
  return rc(r.stdout);
}

/** ARGV run on the host as UID (its group too, no other groups). */
function asUid(uid: number, argv: string[]) {
  return execa('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', '--', ...argv], { reject: false });
}

/** The same snippet on the host as the same uid: what the probe does without the sandbox. */
async function onHostAs(uid: number, snippet: string): Promise<number> {
  return rc((await asUid(uid, ['/bin/bash', '-c', reporting(snippet)])).stdout);
}

/** The database superuser of a postgres box runs SNIPPET with COPY ... FROM PROGRAM; its exit code. */
async function asPgSuperuser(box: Box, snippet: string): Promise<number> {
  const b64 = Buffer.from(reporting(snippet)).toString('base64');
  const sql = `CREATE TEMP TABLE probe_out(line text); COPY probe_out FROM PROGRAM 'echo ${b64} | base64 -d | bash'; SELECT line FROM probe_out;`;
  const r = await superPsql(box, sql);
  return rc(r.stdout);
}

function superPsql(box: Box, sql: string) {
  return asUid(box.uid, [
    '/usr/lib/postgresql/15/bin/psql',
    '-X',
    '-q',
    '-tA',
    '-h',
    path.join(box.dir, 'run'),
    '-p',
    String(box.spec.port),
    '-U',
    'postgres',
    '-d',
    'postgres',
    '-c',
    sql,
  ]);
}

/** The MariaDB superuser (unix_socket auth as the sandbox's service user). */
function superMaria(box: Box, sql: string) {
  return asUid(box.uid, ['mariadb', '--no-defaults', `--socket=${box.socket}`, '-u', 'mysql', '-N', '-B', '-e', sql]);
}

function redisCli(box: Box, ...args: string[]) {
  return execa('redis-cli', ['--no-auth-warning', '-p', String(box.spec.port), ...args], {
    env: { REDISCLI_AUTH: box.spec.password ?? '' },
    reject: false,
  });
}

describeNeeding(
  'root',
  'namespace',
  'postgres',
  'mysql',
  'redis',
)('namespace driver isolation', () => {
  const driver = getDriver('namespace');
  const lightweight = getDriver('lightweight');
  let root: TempRoot;
  let other: TempRoot;
  let ctx: DriverContext;
  let otherCtx: DriverContext;
  const boxes: Partial<Record<ServiceKind, Box>> = {};
  /** Another project's sandbox, run by the lightweight driver as the host's postgres user. */
  let foreign: { dir: string; socket: string; port: number };
  const tag = randomBytes(4).toString('hex');

  beforeAll(async () => {
    process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
    root = tempRoot('iact-ns-attack-');
    other = tempRoot('iact-ns-other-');
    ctx = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: ENV };
    otherCtx = { root: other.dir, sandboxRoot: other.sandboxRoot, environment: ENV };
    for (const service of ['postgres', 'mysql', 'redis'] as const) {
      const port = await freePort();
      const spec = specFor('namespace', service, `atk-${service}`, port, { password: `pw-${service}-${tag}` });
      await driver.create(ctx, spec);
      const dir = path.join(root.sandboxRoot, ENV, spec.name);
      if (service === 'redis') {
        // redis's own guard against CONFIG SET dir goes off (root edits the config; no manifest may: the
        // settings allow-list refuses it), so the sandbox alone must hold.
        appendFileSync(path.join(dir, 'conf', 'redis.conf'), '\nenable-protected-configs yes\n');
        await driver.stop(ctx, spec.name);
        await driver.start(ctx, spec.name);
      }
      const caps = JSON.parse(readFileSync(path.join(dir, 'capabilities.json'), 'utf8'));
      boxes[service] = {
        service,
        spec,
        dir,
        socket: path.join(dir, SOCKET[service]!.replace('%PORT%', String(port))),
        uid: caps.user.uid,
        init: caps.pids.init,
        caps,
      };
    }
    const fport = await freePort();
    await lightweight.create(otherCtx, specFor('lightweight', 'postgres', 'foreign', fport, { password: `pw-foreign-${tag}` }));
    const fdir = path.join(other.sandboxRoot, ENV, 'foreign');
    foreign = { dir: fdir, socket: path.join(fdir, 'run', `.s.PGSQL.${fport}`), port: fport };
  }, 180_000);

  afterAll(async () => {
    for (const box of Object.values(boxes)) await driver.destroy(ctx, box.spec.name).catch(() => undefined);
    await lightweight.destroy(otherCtx, 'foreign').catch(() => undefined);
    root?.cleanup();
    other?.cleanup();
  }, 120_000);

  const all = (): Box[] => Object.values(boxes);
  const others = (box: Box): Box[] => all().filter((b) => b !== box);
  const must = (service: ServiceKind): Box => boxes[service]!;

  /** Everything outside a box's capabilities, as probes. */
  function deniedProbes(box: Box): Array<[string, string]> {
    const list: Array<[string, string]> = [
      ['read /etc/shadow', probe.read('/etc/shadow')],
      ...HOST_DIRS.map((d): [string, string] => [`read ${d}`, probe.read(d)]),
      ...others(box).map((b): [string, string] => [`read ${b.spec.name}'s data`, probe.read(path.join(b.dir, 'data'))]),
      ["read another project's sandbox data", probe.read(path.join(foreign.dir, 'data'))],
      ['read its own secrets', probe.read(path.join(box.dir, 'secrets', 'password'))],
      ...HOST_SOCKETS.map((s): [string, string] => [`connect to the host's ${s}`, probe.connect(s)]),
      ...others(box).map((b): [string, string] => [`connect to ${b.spec.name}'s socket`, probe.connect(b.socket)]),
      ["connect to another project's sandbox socket", probe.connect(foreign.socket)],
      ['write its capabilities.json', probe.write(path.join(box.dir, 'capabilities.json'))],
      ['write in its sandbox directory', probe.write(path.join(box.dir, `probe-${tag}`))],
      ['write its config directory', probe.write(path.join(box.dir, 'conf', `probe-${tag}`))],
      ['write /usr', probe.write(`/usr/probe-${tag}`)],
      ['write /etc', probe.write(`/etc/probe-${tag}`)],
      ['write /var/lib/postgresql', probe.write(`/var/lib/postgresql/probe-${tag}`)],
      ...others(box).map((b): [string, string] => [`write ${b.spec.name}'s data`, probe.write(path.join(b.dir, 'data', `probe-${tag}`))]),
      ...all().map((b): [string, string] => [`TCP 127.0.0.1:${b.spec.port}`, probe.tcp(b.spec.port)]),
      [`TCP 127.0.0.1:${foreign.port}`, probe.tcp(foreign.port)],
      ['TCP 127.0.0.1:5432 (host postgres)', probe.tcp(5432)],
    ];
    return list;
  }

  /** What its capabilities allow, as the same probes. */
  function allowedProbes(box: Box): Array<[string, string]> {
    return [
      ...box.caps.read.map((p): [string, string] => [`read ${p}`, probe.read(p)]),
      ['connect to its own socket', probe.connect(box.socket)],
      ...box.caps.write.map((p): [string, string] => [`write ${p}`, probe.write(path.join(p, `allowed-${tag}`))]),
    ];
  }

  /** Runs every probe; returns the ones whose result was not the expected one. */
  async function wrong(run: (snippet: string) => Promise<number>, probes: Array<[string, string]>, expectOk: boolean): Promise<string[]> {
    const bad: string[] = [];
    for (const [name, snippet] of probes) {
      const code = await run(snippet);
      if (Number.isNaN(code) || (code === 0) !== expectOk) bad.push(`${name} (rc ${code})`);
    }
    return bad;
  }

  it('capabilities.json describes the sandbox it was built from: own uid, no capabilities, no network, read-only /usr', () => {
    const uids = new Set(all().map((b) => b.uid));
    expect(uids.size).toBe(3);
    for (const box of all()) {
      expect(box.uid).toBeGreaterThanOrEqual(1879048192);
      const status = readFileSync(`/proc/${box.init}/status`, 'utf8');
      expect(status).toMatch(new RegExp(`^Uid:\\s+${box.uid}\\s+${box.uid}\\s+${box.uid}\\s+${box.uid}$`, 'm'));
      expect(status).toMatch(/^CapEff:\s+0+$/m);
      expect(status).toMatch(/^CapBnd:\s+0+$/m);
      expect(status).toMatch(/^NoNewPrivs:\s+1$/m);
      expect(box.caps).toMatchObject({ network: 'none', user: { capabilities: [], no_new_privs: true } });
      expect(box.caps.read).toContain('/usr');
      expect(box.caps.write).toEqual([path.join(box.dir, 'data'), path.join(box.dir, 'logs'), path.join(box.dir, 'run')]);
    }
  });

  it.each(['postgres', 'mysql', 'redis'] as const)(
    '%s: as its uid inside the sandbox, what capabilities allow works and everything else fails',
    async (service) => {
      const box = must(service);
      expect(await wrong((s) => asSandboxUser(box, s), allowedProbes(box), true)).toEqual([]);
      // The probes that must fail inside do work on the host, as the same uid where it has the right.
      expect(await onHostAs(box.uid, probe.connect(HOST_SOCKETS[0]!))).toBe(0);
      expect(await onHostAs(box.uid, probe.tcp(box.spec.port))).toBe(0);
      expect(await onHostAs(0, probe.read('/etc/shadow'))).toBe(0);
      expect(await wrong((s) => asSandboxUser(box, s), deniedProbes(box), false)).toEqual([]);
    },
    120_000,
  );

  it.each(['postgres', 'mysql', 'redis'] as const)(
    '%s: /tmp and /dev/shm inside are private: a file written there never reaches the host',
    async (service) => {
      const box = must(service);
      for (const dir of ['/tmp', '/dev/shm']) {
        const file = path.join(dir, `iact-escape-${service}-${tag}`);
        expect(await asSandboxUser(box, `echo x > '${file}' && cat '${file}'`)).toBe(0);
        expect(existsSync(file)).toBe(false);
      }
    },
  );

  it('postgres superuser, COPY ... FROM PROGRAM: the program gets only the sandbox', async () => {
    const box = must('postgres');
    expect((await superPsql(box, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).stdout.trim()).toBe('t');
    expect(await wrong((s) => asPgSuperuser(box, s), allowedProbes(box), true)).toEqual([]);
    expect(await wrong((s) => asPgSuperuser(box, s), deniedProbes(box), false)).toEqual([]);
    // The program runs as the sandbox's uid, never the host's postgres.
    const who = await superPsql(box, "CREATE TEMP TABLE w(line text); COPY w FROM PROGRAM 'id -u'; SELECT line FROM w;");
    expect(who.stdout.trim()).toBe(String(box.uid));
  }, 120_000);

  it('mariadb superuser, SELECT ... INTO OUTFILE and LOAD_FILE: only its data directory', async () => {
    const box = must('mysql');
    expect((await superMaria(box, "SELECT COUNT(*) FROM mysql.global_priv WHERE User = 'mysql'")).stdout.trim()).toBe('1');
    const outfile = (p: string) => superMaria(box, `SELECT 'probe' INTO OUTFILE '${p}'`);
    const loadFile = async (p: string) => (await superMaria(box, `SELECT LOAD_FILE('${p}') IS NOT NULL`)).stdout.trim();

    const ok = path.join(box.dir, 'data', `outfile-${tag}.txt`);
    expect((await outfile(ok)).exitCode).toBe(0);
    expect(readFileSync(ok, 'utf8')).toBe('probe\n');
    expect(await loadFile(ok)).toBe('1');
    expect(await loadFile('/etc/ld.so.cache')).toBe('1');

    const deniedWrites = [
      path.join(box.dir, `outfile-${tag}`),
      path.join(box.dir, 'conf', `outfile-${tag}`),
      `/etc/outfile-${tag}`,
      `/usr/outfile-${tag}`,
      `/var/lib/mysql/outfile-${tag}`,
      ...others(box).map((b) => path.join(b.dir, 'data', `outfile-${tag}`)),
      path.join(foreign.dir, 'data', `outfile-${tag}`),
    ];
    for (const p of deniedWrites) {
      expect((await outfile(p)).exitCode, p).not.toBe(0);
      expect(existsSync(p), p).toBe(false);
    }
    const hostTmp = `/tmp/outfile-${tag}`;
    await outfile(hostTmp);
    expect(existsSync(hostTmp)).toBe(false);
    for (const p of [
      '/etc/shadow',
      '/var/lib/mysql/mysql/user.MAI',
      '/root/.bashrc',
      path.join(box.dir, 'secrets', 'password'),
      path.join(must('postgres').dir, 'data', 'PG_VERSION'),
      path.join(foreign.dir, 'data', 'PG_VERSION'),
    ]) {
      expect(await loadFile(p), p).toBe('0');
    }
  }, 60_000);

  it('redis CONFIG SET dir (protected configs enabled): SAVE lands only in its own data directory', async () => {
    const box = must('redis');
    const saveTo = async (dir: string): Promise<boolean> => {
      const set = await redisCli(box, 'CONFIG', 'SET', 'dir', dir);
      if (set.stdout.trim() !== 'OK') return false;
      await redisCli(box, 'CONFIG', 'SET', 'dbfilename', `probe-${tag}.rdb`);
      const saved = await redisCli(box, 'SAVE');
      return saved.stdout.trim() === 'OK';
    };
    try {
      expect(await saveTo(path.join(box.dir, 'data'))).toBe(true);
      expect(existsSync(path.join(box.dir, 'data', `probe-${tag}.rdb`))).toBe(true);
      for (const dir of [
        box.dir,
        path.join(box.dir, 'conf'),
        '/etc',
        '/usr',
        '/root',
        '/var/lib/redis',
        '/var/lib/postgresql',
        ...others(box).map((b) => path.join(b.dir, 'data')),
        path.join(foreign.dir, 'data'),
      ]) {
        expect(await saveTo(dir), dir).toBe(false);
        expect(existsSync(path.join(dir, `probe-${tag}.rdb`)), dir).toBe(false);
      }
    } finally {
      await redisCli(box, 'CONFIG', 'SET', 'dir', path.join(box.dir, 'data'));
      await redisCli(box, 'CONFIG', 'SET', 'dbfilename', 'dump.rdb');
    }
  }, 60_000);

  it('the service user cannot plant a link that root writes through: config files are renamed into place', async () => {
    const box = must('postgres');
    const victim = path.join(root.dir, `victim-${tag}`);
    await execa('bash', ['-c', `printf 'untouched' > '${victim}'`]);
    // As the sandbox's uid (what COPY ... FROM PROGRAM could do): data/iact.conf becomes a link.
    expect(await asSandboxUser(box, `ln -sf '${victim}' '${path.join(box.dir, 'data', 'iact.conf')}'`)).toBe(0);
    await driver.update(ctx, { ...box.spec }, { steps: ['restart'] });
    expect(readFileSync(victim, 'utf8')).toBe('untouched');
    expect((await superPsql(box, 'SELECT 1')).stdout.trim()).toBe('1');
    const caps = JSON.parse(readFileSync(path.join(box.dir, 'capabilities.json'), 'utf8'));
    box.init = caps.pids.init;
  }, 60_000);
});

describeNeeding(
  'root',
  'namespace',
  'redis',
  'cgroup-v1-memory',
)('namespace driver: redis under a memory limit', () => {
  const driver = getDriver('namespace');
  let root: TempRoot;
  let ctx: DriverContext;
  beforeAll(() => {
    process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
    root = tempRoot('iact-ns-mem-');
    ctx = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: ENV };
  });
  afterAll(() => root.cleanup());

  it('memory: 64M sets maxmemory below it (noeviction): writes get an error, the server and its data live', async () => {
    const spec = specFor('namespace', 'redis', 'mem', await freePort(), { memory: '64M' });
    try {
      await driver.create(ctx, spec);
      const cli = (...args: string[]) =>
        execa('redis-cli', ['--no-auth-warning', '-p', String(spec.port), ...args], {
          env: { REDISCLI_AUTH: spec.password ?? '' },
          reject: false,
        });
      expect((await cli('CONFIG', 'GET', 'maxmemory')).stdout).toContain(String((64 * 1024 * 1024 * 3) / 4));
      expect((await cli('CONFIG', 'GET', 'maxmemory-policy')).stdout).toContain('noeviction');
      const pid = JSON.parse(readFileSync(path.join(root.sandboxRoot, ENV, 'mem', 'capabilities.json'), 'utf8')).pids.init;
      // ~100 MB of values in 1 MB pieces: more than the limit.
      const fill = await execa(
        'bash',
        [
          '-c',
          `for i in $(seq 1 100); do head -c 1048576 /dev/zero | tr '\\0' x | redis-cli --no-auth-warning -p ${spec.port} -x SET "k$i"; done`,
        ],
        { env: { REDISCLI_AUTH: spec.password ?? '' }, reject: false },
      );
      expect(`${fill.stdout}${fill.stderr}`).toMatch(/OOM command not allowed/);
      expect((await cli('PING')).stdout.trim()).toBe('PONG');
      expect(Number((await cli('DBSIZE')).stdout.trim())).toBeGreaterThan(0);
      expect(existsSync(`/proc/${pid}`)).toBe(true);
    } finally {
      await driver.destroy(ctx, 'mem');
    }
  }, 120_000);
});
