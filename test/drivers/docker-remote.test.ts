// The docker driver on remote engines (docs/remote-engines.md): two more dockerds, each in a network
// namespace made here (scripts/netns-docker-engine.sh: a veth pair, 10.251.N.1 here / 10.251.N.2
// there), reachable only over TCP with TLS certificates made with openssl. `iact` runs here; the
// containers, volumes and published ports are on the engines' side of the veth.
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureImages, query } from '../helpers/docker.js';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { startSshd } from '../helpers/sshd.js';
import { expectTlsOnly } from '../helpers/tls.js';

const netnsEngine = path.join(repoRoot, 'scripts', 'netns-docker-engine.sh');
const ENV = 'e2e';
// Two /24s per run (pid-derived), so parallel runs do not meet.
const N1 = 20 + (process.pid % 100) * 2;
const N2 = N1 + 1;
const PASSWORD = 'remote-engine-pa55word';
const NEW_PASSWORD = 'remote-engine-n3w-pa55';

interface RemoteEngine {
  n: number;
  dir: string;
  host: string;
  address: string;
  certs: string;
  /** The engine's own unix socket: reachable from here while its veth is down. */
  socket: string;
}

let work: string;
let savedDockerConfig: string | undefined;
// The cache's engine is a docker context (in a DOCKER_CONFIG of this test's own).
const CONTEXT = `iact-remote-${process.pid}`;
let engines: RemoteEngine[] = [];
let project: Project;
let dbPort: number;
let cachePort: number;
let cutPort: number;

function engineEnv(e: RemoteEngine): Record<string, string> {
  return { DOCKER_HOST: e.host, DOCKER_TLS_VERIFY: '1', DOCKER_CERT_PATH: e.certs };
}

async function dockerOn(e: RemoteEngine, args: string[]): Promise<string> {
  const r = await execa('docker', args, { env: { DOCKER_HOST: `unix://${e.socket}` }, reject: false, stdin: 'ignore', timeout: 60_000 });
  if (r.exitCode !== 0) throw new Error(`docker ${args.join(' ')} on ${e.host}: ${r.stderr}`);
  return String(r.stdout).trim();
}

async function startEngine(n: number): Promise<RemoteEngine> {
  const dir = path.join(work, `engine-${n}`);
  const r = await execa('bash', [netnsEngine, 'start', dir, String(n)], { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (r.exitCode !== 0) throw new Error(`scripts/netns-docker-engine.sh start failed:\n${r.stderr}`);
  const out = Object.fromEntries(
    String(r.stdout)
      .split('\n')
      .filter((l) => l.includes('='))
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
  return {
    n,
    dir,
    host: out.DOCKER_HOST!,
    address: out.ENGINE_ADDRESS!,
    certs: out.DOCKER_CERT_PATH!,
    socket: path.join(dir, 'docker.sock'),
  };
}

/** The images: built on the first engine over TLS from this machine's binaries, as a user would, then copied to the others. */
async function loadImages(first: RemoteEngine, others: RemoteEngine[]): Promise<void> {
  // Under the suite's image lock: builds on this machine go one at a time, whichever engine they are for.
  await ensureImages(first.host, ['postgres', 'mysql', 'redis'], engineEnv(first));
  for (const e of others) {
    const copy = await execa(
      'sh',
      ['-c', 'docker -H "$FROM" save iact/postgres:15 iact/mariadb:10.11 iact/redis:7 | docker -H "$TO" load -q'],
      {
        env: { FROM: `unix://${first.socket}`, TO: `unix://${e.socket}` },
        reject: false,
        stdin: 'ignore',
        timeout: 600_000,
      },
    );
    if (copy.exitCode !== 0) throw new Error(`docker save | docker load into ${e.host} failed:\n${copy.stderr}`);
  }
}

/** A manifest whose sandboxes run on the first engine unless they say otherwise; SANDBOXES as under `sandboxes:`. */
function onFirstEngine(sandboxes: string): string {
  const e1 = engines[0]!;
  return `apiVersion: iact/v1
environment: ${ENV}
defaults:
  driver: docker
  engine:
    host: ${e1.host}
    tls: { dir: certs/engine-1 }
    publish: ${e1.address}
sandboxes:
${sandboxes}`;
}

function manifest(opts: { dbSettings?: string; password?: string; withCut?: boolean } = {}): string {
  const e2 = engines[1]!;
  return onFirstEngine(`  db:
    service: postgres
    port: ${dbPort}
    password: ${opts.password ?? PASSWORD}
    settings: { ${opts.dbSettings ?? 'work_mem: 4MB'} }
  cache:
    service: redis
    port: ${cachePort}
    password: ${PASSWORD}
    engine: { context: ${CONTEXT}, publish: ${e2.address} }
${
  opts.withCut
    ? `  cut:
    service: mysql
    port: ${cutPort}
    password: ${PASSWORD}
`
    : ''
}connections:
  database: { sandbox: db }
  cache: { backend: redis, sandbox: cache }
`);
}

/** A sandbox's container: iact-ENV-NAME.PROJECT, the project's id in its sandbox root (docs/remote-engines.md). */
const named = (name: string) => `iact-${ENV}-${name}.${readFileSync(project.file('.iact/sandboxes/.docker-project'), 'utf8').trim()}`;

const noStackTrace = (text: string) => expect(text).not.toMatch(/^\s+at .+\(.+:\d+:\d+\)$/m);

describeNeeding('root', 'docker')('docker driver on remote engines over TCP with TLS (network namespaces)', () => {
  beforeAll(async () => {
    work = mkdtempSync(path.join(tmpdir(), 'iact-remote-'));
    [dbPort, cachePort, cutPort] = (await freePorts(3)) as [number, number, number];
    engines = await Promise.all([startEngine(N1), startEngine(N2)]);
    await loadImages(engines[0]!, [engines[1]!]);
    const e2 = engines[1]!;
    savedDockerConfig = process.env.DOCKER_CONFIG;
    process.env.DOCKER_CONFIG = path.join(work, 'docker-config');
    mkdirSync(process.env.DOCKER_CONFIG, { mode: 0o700 });
    execFileSync('docker', [
      'context',
      'create',
      CONTEXT,
      '--docker',
      `host=${e2.host},ca=${e2.certs}/ca.pem,cert=${e2.certs}/cert.pem,key=${e2.certs}/key.pem`,
    ]);
    project = makeProject('iact-remote-e2e-');
    // The first engine's client files in the project, named relative to its root.
    cpSync(engines[0]!.certs, project.file('certs/engine-1'), { recursive: true });
  }, 900_000);

  afterAll(async () => {
    // Everything, even after a failure: the links up (a cut test may have failed), the sandboxes'
    // files, then each engine with its containers, veth, namespace and directory.
    for (const e of engines) execFileSync('ip', ['link', 'set', `iact${e.n}-h`, 'up'], { stdio: 'ignore' });
    if (project) await project.cleanup();
    for (const n of [N1, N2])
      await execa('bash', [netnsEngine, 'stop', path.join(work, `engine-${n}`), String(n)], {
        reject: false,
        stdin: 'ignore',
        timeout: 120_000,
      });
    if (savedDockerConfig === undefined) delete process.env.DOCKER_CONFIG;
    else process.env.DOCKER_CONFIG = savedDockerConfig;
    if (work) rmSync(work, { recursive: true, force: true });
  }, 300_000);

  it('refuses a remote engine without a publish address, with file, line and fix', async () => {
    const [e1] = engines as [RemoteEngine];
    project.writeManifest(
      ENV,
      `apiVersion: iact/v1\nenvironment: ${ENV}\nsandboxes:\n  db:\n    service: postgres\n    driver: docker\n    engine:\n      host: ${e1.host}\n      tls: { dir: ${e1.certs} }\n`,
    );
    const r = await project.iact(['validate', '--env', ENV]);
    expect(r.exitCode).not.toBe(0);
    expect(r.stdout + r.stderr).toMatch(
      /environments\/e2e\.yaml:7:\d+ +error: sandbox db runs on the remote docker engine tcp:\/\/10\.251\./,
    );
    expect(r.stdout + r.stderr).toContain('fix: add publish: ADDRESS');
  });

  it('the driver checks the engine again: no publish address, a bad host, unreadable TLS files; nothing is made', async () => {
    const [e1] = engines as [RemoteEngine];
    const root = path.join(work, 'driver-checks');
    const cases: Array<[Record<string, unknown>, number, RegExp]> = [
      [
        { host: e1.host, tls: { ca: `${e1.certs}/ca.pem`, cert: `${e1.certs}/cert.pem`, key: `${e1.certs}/key.pem` } },
        2,
        /is remote and no engine\.publish/,
      ],
      [{ host: 'tcp://h:2376;id', publish: '10.0.0.1' }, 2, /is not tcp:\/\/HOST:PORT/],
      [
        {
          host: e1.host,
          tls: { ca: '/nonexistent/ca.pem', cert: '/nonexistent/cert.pem', key: '/nonexistent/key.pem' },
          publish: e1.address,
        },
        1,
        /TLS file '\/nonexistent\/ca\.pem' .* is not a readable file/,
      ],
      [{ context: 'x y', publish: '10.0.0.1' }, 2, /is not a docker context name/],
    ];
    for (const [engine, exit, message] of cases) {
      const spec = JSON.stringify({ name: 'checked', service: 'redis', port: cachePort, settings: {}, password: PASSWORD, engine });
      const r = await execa(
        'bash',
        [path.join(repoRoot, 'bash', 'virtualize.sh'), 'create', 'checked', 'redis', String(cachePort), '--spec', '-', '--env', ENV],
        {
          env: { IACT_SANDBOX_ROOT: root },
          input: spec,
          reject: false,
        },
      );
      expect(r.exitCode, r.stderr).toBe(exit);
      expect(r.stderr).toMatch(message);
      expect(existsSync(path.join(root, ENV, 'checked'))).toBe(false);
    }
  });

  it('creates on two engines, logs in over the veth addresses, reports status per engine', async () => {
    const [e1, e2] = engines as [RemoteEngine, RemoteEngine];
    project.writeManifest(ENV, manifest());
    const r = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    // The containers and volumes are on the engines, not here.
    expect(await dockerOn(e1, ['ps', '--format', '{{.Names}}'])).toBe(`${named('db')}`);
    expect(await dockerOn(e2, ['ps', '--format', '{{.Names}}'])).toBe(`${named('cache')}`);
    // A real login from here to the address each port is published on.
    const login = await query('postgres', { port: dbPort, user: 'db', database: 'db', password: PASSWORD }, ['SHOW work_mem'], {
      host: e1.address,
    });
    expect(login.stdout, login.stderr).toBe('4MB');
    const cache = await query('redis', { port: cachePort, user: '', database: '', password: PASSWORD }, ['PING'], { host: e2.address });
    expect(cache.stdout, cache.stderr).toBe('PONG');
    // The env file renders the hosts clients reach.
    const env = project.read(`.iact/env/${ENV}.env`);
    expect(env).toContain(`DB_HOST='${e1.address}'`);
    expect(env).toContain(`REDIS_HOST='${e2.address}'`);
    // Status asks each engine once: one docker ps and one docker inspect (a docker on PATH that logs).
    const shim = path.join(work, 'shim');
    mkdirSync(shim, { recursive: true });
    writeFileSync(
      path.join(shim, 'docker'),
      `#!/bin/sh\nprintf '%s|%s|%s\\n' "\${DOCKER_HOST:-}" "\${DOCKER_CONTEXT:-}" "$*" >>${shim}/calls\nexec ${execFileSync('sh', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim()} "$@"\n`,
    );
    chmodSync(path.join(shim, 'docker'), 0o755);
    const status = await project.iact(['status', '--env', ENV, '--json'], { env: { PATH: `${shim}:${process.env.PATH}` } });
    expect(status.exitCode, status.stderr).toBe(0);
    const calls = readFileSync(path.join(shim, 'calls'), 'utf8').trim().split('\n');
    const on = (prefix: string) =>
      calls.filter((c) => c.startsWith(prefix)).map((c) => c.split('|')[2]!.replace(/^--tlsverify .* --tlskey \S+ /, ''));
    expect(on(`${e1.host}|`).map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['ps -aq', 'container inspect']);
    expect(on(`|${CONTEXT}|`).map((c) => c.split(' ').slice(0, 2).join(' '))).toEqual(['ps -aq', 'container inspect']);
    const rows = JSON.parse(status.stdout) as { sandboxes: Array<{ name: string; healthy: boolean; state: string }> };
    for (const row of rows.sandboxes) expect(row, JSON.stringify(row)).toMatchObject({ healthy: true });
    // iact exec hands a command the engine's address; psql logs in there.
    const exec = await project.iact(['exec', 'db', '--env', ENV, '--', 'sh', '-c', 'echo "$DB_HOST"; psql -X -tA -c "SELECT 7"']);
    expect(exec.stdout.trim().split('\n'), exec.stderr).toEqual([e1.address, '7']);
    // doctor: both engines reachable, their TLS files good, the images there.
    const doctor = await project.iact(['doctor', '--json']);
    const checks = (JSON.parse(doctor.stdout) as { checks: Array<{ id: string; need: string; state: string }> }).checks;
    const needs = [
      `engine ${e1.host}`,
      `TLS files of ${e1.host}`,
      `images on ${e1.host}`,
      `engine context ${CONTEXT}`,
      `images on context ${CONTEXT}`,
    ];
    for (const need of needs)
      expect(
        checks.find((c) => c.need === need),
        `${need}\n${doctor.stdout.slice(-3000)}`,
      ).toMatchObject({ state: 'ok' });
    // No secret went into a container's argv or environment.
    const inspected = await dockerOn(e1, ['inspect', `${named('db')}`]);
    expect(inspected).not.toContain(PASSWORD);
  }, 600_000);

  it('updates in place (reload, set-password) and recreates on a restart-only setting, data kept', async () => {
    const [e1] = engines as [RemoteEngine];
    const login = { port: dbPort, user: 'db', database: 'db', password: PASSWORD };
    expect(
      (await query('postgres', login, ["CREATE TABLE kept (v text); INSERT INTO kept VALUES ('remote')"], { host: e1.address })).exitCode,
    ).toBe(0);
    const id = await dockerOn(e1, ['inspect', '--format', '{{.Id}}', `${named('db')}`]);

    project.writeManifest(ENV, manifest({ dbSettings: 'work_mem: 8MB', password: NEW_PASSWORD }));
    const plan = await project.iact(['plan', '--env', ENV]);
    expect(plan.stdout).toMatch(/sandbox\.db \(postgres, docker\) will be updated in place/);
    let r = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const after = { ...login, password: NEW_PASSWORD };
    expect((await query('postgres', after, ['SHOW work_mem'], { host: e1.address })).stdout).toBe('8MB');
    expect(await dockerOn(e1, ['inspect', '--format', '{{.Id}}', `${named('db')}`])).toBe(id);

    project.writeManifest(ENV, manifest({ dbSettings: 'work_mem: 8MB, max_connections: 40', password: NEW_PASSWORD }));
    r = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    expect(await dockerOn(e1, ['inspect', '--format', '{{.Id}}', `${named('db')}`])).not.toBe(id);
    expect((await query('postgres', after, ['SHOW max_connections'], { host: e1.address })).stdout).toBe('40');
    expect((await query('postgres', after, ['SELECT v FROM kept'], { host: e1.address })).stdout).toBe('remote');
  }, 600_000);

  it('cut in the middle of an apply: an error naming the engine, and a rerun converges', async () => {
    const [e1] = engines as [RemoteEngine];
    project.writeManifest(ENV, manifest({ dbSettings: 'work_mem: 8MB, max_connections: 40', password: NEW_PASSWORD, withCut: true }));
    const apply: ResultPromise = project.spawnIact(['apply', '--env', ENV, '--auto-approve']);
    // Once the new container runs on the engine (seen through its own socket), the link goes down:
    // the driver is waiting for its first login.
    const deadline = Date.now() + 120_000;
    let cut = false;
    while (Date.now() < deadline && apply.exitCode === null) {
      const state = await execa('docker', ['inspect', '--format', '{{.State.Status}}', `${named('cut')}`], {
        env: { DOCKER_HOST: `unix://${e1.socket}` },
        reject: false,
        stdin: 'ignore',
      });
      if (String(state.stdout).trim() === 'running') {
        execFileSync('ip', ['link', 'set', `iact${e1.n}-h`, 'down']);
        cut = true;
        break;
      }
      await new Promise((resolve) => setTimeout(resolve, 20));
    }
    const r = await apply;
    const out = String(r.stderr) + String(r.stdout);
    expect(cut, `the container never ran before the apply ended:\n${out}`).toBe(true);
    expect(r.exitCode, out).not.toBe(0);
    expect(out).toContain(`the docker engine ${e1.host} is not reachable`);
    expect(out).toMatch(/fix: check the network to it/);
    noStackTrace(out);

    // doctor names the engine that is gone and says what to do.
    const doctor = await project.iact(['doctor', '--json']);
    expect(doctor.exitCode).toBe(1);
    const down = (JSON.parse(doctor.stdout) as { checks: Array<{ need: string; state: string; found: string; fix?: string }> }).checks.find(
      (c) => c.need === `engine ${e1.host}`,
    );
    expect(down, doctor.stdout).toMatchObject({ state: 'missing' });
    expect(down!.found).toMatch(/not reachable/);
    expect(down!.fix).toBeTruthy();

    // Also a plan while the link is down names the engine.
    const plan = await project.iact(['plan', '--env', ENV]);
    expect(plan.exitCode).not.toBe(0);
    expect(plan.stdout + plan.stderr).toContain(e1.host);
    noStackTrace(plan.stdout + plan.stderr);

    execFileSync('ip', ['link', 'set', `iact${e1.n}-h`, 'up']);
    const again = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(again.exitCode, again.stderr + again.stdout).toBe(0);
    const status = await project.iact(['status', '--env', ENV, '--json']);
    const rows = JSON.parse(status.stdout) as { sandboxes: Array<{ name: string; healthy: boolean }> };
    expect(rows.sandboxes.map((s) => s.name).sort()).toEqual(['cache', 'cut', 'db']);
    for (const row of rows.sandboxes) expect(row, JSON.stringify(row)).toMatchObject({ healthy: true });
    // Nothing half-made: one container and one volume per sandbox on the engine.
    expect((await dockerOn(e1, ['ps', '-a', '--format', '{{.Names}}'])).split('\n').sort()).toEqual([`${named('cut')}`, `${named('db')}`]);
    expect((await dockerOn(e1, ['volume', 'ls', '-q'])).split('\n').sort()).toEqual([`${named('cut')}-data`, `${named('db')}-data`]);
    const plan2 = await project.iact(['plan', '--env', ENV, '--detailed-exitcode']);
    expect(plan2.exitCode, plan2.stdout).toBe(0);
  }, 600_000);

  it('moving a sandbox to another engine is a replace: backup through the old one, created on the new one', async () => {
    const [e1, e2] = engines as [RemoteEngine, RemoteEngine];
    const text = manifest({ dbSettings: 'work_mem: 8MB, max_connections: 40', password: NEW_PASSWORD, withCut: true }).replace(
      `  cut:\n    service: mysql\n`,
      `  cut:\n    service: mysql\n    engine:\n      host: ${e2.host}\n      tls: { dir: ${e2.certs} }\n      publish: ${e2.address}\n`,
    );
    project.writeManifest(ENV, text);
    const plan = await project.iact(['plan', '--env', ENV]);
    expect(plan.stdout).toMatch(/sandbox\.cut .*must be replaced/);
    expect(plan.stdout).toMatch(/host += "tcp:\/\/10\.251\.\d+\.2:2376" -> "tcp:\/\/10\.251\.\d+\.2:2376" # forces replacement/);
    const r = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    // The backup came through the old engine; the container is on the new one only.
    expect(readdirSync(project.file(`.iact/backups/${ENV}`)).some((f) => f.startsWith('cut-'))).toBe(true);
    expect(await dockerOn(e1, ['ps', '-a', '--format', '{{.Names}}'])).toBe(`${named('db')}`);
    expect((await dockerOn(e2, ['ps', '-a', '--format', '{{.Names}}'])).split('\n').sort()).toEqual([
      `${named('cache')}`,
      `${named('cut')}`,
    ]);
    const login = await query('mysql', { port: cutPort, user: 'cut', database: 'cut', password: PASSWORD }, ['SELECT 1'], {
      host: e2.address,
    });
    expect(login.stdout, login.stderr).toBe('1');
  }, 600_000);

  it('destroys with a backup streamed back through each engine', async () => {
    const [e1, e2] = engines as [RemoteEngine, RemoteEngine];
    project.writeManifest(ENV, manifest({ dbSettings: 'work_mem: 8MB, max_connections: 40', password: NEW_PASSWORD, withCut: true }));
    const r = await project.iact(['destroy', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const dir = project.file(`.iact/backups/${ENV}`);
    expect(existsSync(dir)).toBe(true);
    const dumps = readdirSync(dir, { recursive: true }) as string[];
    const db = dumps.find((f) => f.startsWith('db-'));
    expect(db, dumps.join(', ')).toBeDefined();
    expect(readFileSync(path.join(dir, db!), 'utf8')).toContain('remote');
    expect(dumps.some((f) => f.startsWith('cache-'))).toBe(true);
    expect(await dockerOn(e1, ['ps', '-aq'])).toBe('');
    expect(await dockerOn(e2, ['ps', '-aq'])).toBe('');
    expect(await dockerOn(e1, ['volume', 'ls', '-q'])).toBe('');
    expect(await dockerOn(e2, ['volume', 'ls', '-q'])).toBe('');
  }, 600_000);

  it("tls: true on a remote engine: verify-full to the engine address, plaintext refused, the key the service uid's", async () => {
    const [e1] = engines as [RemoteEngine];
    project.writeManifest(
      ENV,
      onFirstEngine(`  sec:
    service: postgres
    port: ${dbPort}
    password: ${PASSWORD}
    tls: true
  rsec:
    service: redis
    port: ${cachePort}
    password: ${PASSWORD}
    tls: true
`),
    );
    const r = await project.iact(['apply', '--env', ENV, '--auto-approve']);
    expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    const ca = (name: string) => project.file(`.iact/sandboxes/${ENV}/${name}/tls/ca.crt`);
    // Its certificate is made for the address the engine publishes on.
    await expectTlsOnly('postgres', { port: dbPort, database: 'sec', user: 'sec', password: PASSWORD }, ca('sec'), ca('rsec'), [
      e1.address,
    ]);
    await expectTlsOnly('redis', { port: cachePort, database: '', user: '', password: PASSWORD }, ca('rsec'), ca('sec'), [e1.address]);
    // The certificates came by docker cp: the key is the image's service uid's, 0600; no bind mount.
    const listed = await execa('sh', ['-c', 'docker cp "$C:/run/iact-tls/server.key" - | tar -tvf - --numeric-owner'], {
      env: { DOCKER_HOST: `unix://${e1.socket}`, C: named('sec') },
      reject: false,
      stdin: 'ignore',
    });
    expect(String(listed.stdout), String(listed.stderr)).toMatch(/^-rw------- 999\/999 /);
    expect(await dockerOn(e1, ['inspect', '--format', '{{range .Mounts}}{{.Type}} {{end}}', named('sec')])).toBe('volume');
    const plan = await project.iact(['plan', '--env', ENV, '--detailed-exitcode']);
    expect(plan.exitCode, plan.stdout).toBe(0);
    const gone = await project.iact(['destroy', '--env', ENV, '--auto-approve', '--no-backup']);
    expect(gone.exitCode, gone.stderr + gone.stdout).toBe(0);
    expect(await dockerOn(e1, ['ps', '-aq'])).toBe('');
  }, 600_000);

  it('an ssh:// engine: sshd beside the second engine, host key checked; create, login, destroy', async () => {
    const [, e2] = engines as [RemoteEngine, RemoteEngine];
    // sshd in the engine's namespace, on its veth address; a session there gets DOCKER_HOST (SetEnv)
    // so the `docker system dial-stdio` the CLI runs over ssh reaches that engine's socket.
    const keys = path.join(work, 'ssh');
    mkdirSync(keys, { mode: 0o700 });
    const k = (f: string) => path.join(keys, f);
    // The client side as a user would write it in ~/.ssh/config; here a config file of the test's own
    // (ssh reads ~ from the passwd entry, not $HOME), given to ssh by a wrapper first on PATH.
    writeFileSync(
      k('ssh_config'),
      [
        `Host ${e2.address}`,
        '  User root',
        `  IdentityFile ${k('id_ed25519')}`,
        '  IdentitiesOnly yes',
        `  UserKnownHostsFile ${k('known_hosts')}`,
        '  StrictHostKeyChecking yes',
        '  BatchMode yes',
        '',
      ].join('\n'),
    );
    const bin = path.join(keys, 'bin');
    mkdirSync(bin);
    const realSsh = execFileSync('sh', ['-c', 'command -v ssh'], { encoding: 'utf8' }).trim();
    writeFileSync(path.join(bin, 'ssh'), `#!/bin/sh\nexec ${realSsh} -F ${k('ssh_config')} "$@"\n`, { mode: 0o755 });
    const sshd = await startSshd(keys, `iact-engine-${e2.n}`, e2.address, [`SetEnv DOCKER_HOST=unix://${e2.socket}`]);
    const env = { PATH: `${bin}:${process.env.PATH}` };
    try {
      // sshd answers once the docker CLI gets through it.
      let reached = false;
      for (let i = 0; i < 50 && !reached; i++) {
        const v = await execa('docker', ['-H', `ssh://root@${e2.address}`, 'version', '--format', '{{.Server.Version}}'], {
          env,
          reject: false,
          stdin: 'ignore',
          timeout: 30_000,
        });
        reached = v.exitCode === 0;
        if (!reached) await new Promise((resolve) => setTimeout(resolve, 200));
      }
      expect(reached).toBe(true);
      project.writeManifest(
        ENV,
        `apiVersion: iact/v1
environment: ${ENV}
sandboxes:
  viassh:
    service: redis
    driver: docker
    port: ${cachePort}
    password: ${PASSWORD}
    engine: { host: ssh://root@${e2.address}, publish: ${e2.address} }
`,
      );
      const r = await project.iact(['apply', '--env', ENV, '--auto-approve'], { env });
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
      expect(await dockerOn(e2, ['ps', '--format', '{{.Names}}'])).toBe(named('viassh'));
      const ping = await query('redis', { port: cachePort, user: '', database: '', password: PASSWORD }, ['PING'], { host: e2.address });
      expect(ping.stdout, ping.stderr).toBe('PONG');
      const plan = await project.iact(['plan', '--env', ENV, '--detailed-exitcode'], { env });
      expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
      // Host key checking is on: another key for the address in known_hosts is refused.
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', k('other_key')]);
      const knownHosts = readFileSync(k('known_hosts'), 'utf8');
      writeFileSync(k('known_hosts'), `${e2.address} ${readFileSync(k('other_key.pub'), 'utf8')}`);
      const refused = await execa('docker', ['-H', `ssh://root@${e2.address}`, 'version', '--format', '{{.Server.Version}}'], {
        env,
        reject: false,
        stdin: 'ignore',
        timeout: 30_000,
      });
      expect(refused.exitCode).not.toBe(0);
      expect(String(refused.stderr)).toMatch(/Host key verification failed|HOST IDENTIFICATION HAS CHANGED/);
      writeFileSync(k('known_hosts'), knownHosts);
      const gone = await project.iact(['destroy', '--env', ENV, '--auto-approve', '--no-backup'], { env });
      expect(gone.exitCode, gone.stderr + gone.stdout).toBe(0);
      expect(await dockerOn(e2, ['ps', '-aq'])).toBe('');
      expect(await dockerOn(e2, ['volume', 'ls', '-q'])).toBe('');
    } finally {
      await sshd.stop();
    }
  }, 600_000);
});
