// Issue 11, item 22: a docker sandbox's server listens only where it is published (127.0.0.1:PORT),
// its users accept logins from there only, and no plaintext secret stays inside the container after
// start (the init SQL and redis's config with requirepass used to stay in /dev/shm).
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { docker, driverRunner, ensureEngine, ensureImages, query, type DriverRunner, type Engine } from '../helpers/docker.js';
import { describeNeeding, freePorts } from '../helpers/iact-project.js';

const ENV = 'secitem22';
const SERVICES = ['postgres', 'mysql', 'redis'] as const;
const PASSWORD = { postgres: 'item22-Pg-Secret-1', mysql: 'item22-Maria-Secret-2', redis: 'item22-Redis-Secret-3' };

/** Listening TCP sockets on PORT in the host's network namespace: their local addresses (hex, as /proc/net/tcp has them). */
function listeners(port: number): string[] {
  const hexPort = port.toString(16).toUpperCase().padStart(4, '0');
  const out: string[] = [];
  for (const file of ['/proc/net/tcp', '/proc/net/tcp6']) {
    for (const line of readFileSync(file, 'utf8').split('\n').slice(1)) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (state === '0A' && local?.endsWith(`:${hexPort}`)) out.push(local.slice(0, local.indexOf(':')));
    }
  }
  return out;
}

const reachable = (host: string, port: number) =>
  new Promise<boolean>((resolve) => {
    const socket = connect({ host, port, timeout: 2000 });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
    socket.once('timeout', () => {
      socket.destroy();
      resolve(false);
    });
  });

describeNeeding('docker', 'root')('item 22: docker sandboxes are exposed only where published', () => {
  let engine: Engine;
  let work: string;
  let run: DriverRunner;
  const ports: Record<string, number> = {};
  const specFile = (service: string, password: string, hash: string): string => {
    const file = path.join(work, `${service}-${hash}.json`);
    const spec = {
      name: `x-${service}`,
      environment: ENV,
      driver: 'docker',
      service,
      port: ports[service],
      password,
      settings: {},
      spec_hash: `sha256:${hash}`,
      ...(service === 'redis' ? {} : { database: 'app', user: 'app' }),
    };
    writeFileSync(file, JSON.stringify(spec), { mode: 0o600 });
    return file;
  };

  beforeAll(async () => {
    engine = await ensureEngine();
    await ensureImages(engine.dockerHost);
    work = mkdtempSync(path.join(tmpdir(), 'iact-item22-'));
    run = driverRunner(work, path.join(work, 'sandboxes'), ENV, engine.dockerHost);
    const free = await freePorts(SERVICES.length);
    await Promise.all(
      SERVICES.map(async (service, i) => {
        ports[service] = free[i]!;
        const r = await run(['create', `x-${service}`, service, String(free[i]), '--spec', specFile(service, PASSWORD[service], service)]);
        expect(r.exitCode, r.stderr).toBe(0);
      }),
    );
  }, 900_000);

  afterAll(async () => {
    if (!engine) return;
    for (const service of SERVICES) await run(['destroy', `x-${service}`, '--yes']);
    if (work) rmSync(work, { recursive: true, force: true });
  }, 180_000);

  const inspect = async (service: string) =>
    JSON.parse((await docker(engine.dockerHost, ['inspect', `iact-${ENV}-x-${service}`])).stdout)[0];

  it.each(SERVICES)('%s listens on 127.0.0.1:PORT only, on no container address', async (service) => {
    expect(listeners(ports[service]!)).toEqual(['0100007F']);
    const info = await inspect(service);
    const addresses = Object.values((info.NetworkSettings?.Networks ?? {}) as Record<string, { IPAddress?: string }>)
      .map((n) => n.IPAddress)
      .filter(Boolean) as string[];
    const inside = { postgres: 5432, mysql: 3306, redis: 6379 }[service];
    for (const ip of addresses) {
      expect(await reachable(ip, inside), `${ip}:${inside}`).toBe(false);
      expect(await reachable(ip, ports[service]!), `${ip}:${ports[service]}`).toBe(false);
    }
  });

  it('the database users accept logins from 127.0.0.1 only', async () => {
    const hosts = await docker(engine.dockerHost, [
      'exec',
      `iact-${ENV}-x-mysql`,
      'mariadb',
      '--no-defaults',
      '-uroot',
      '-S',
      '/run/mysqld/mysqld.sock',
      '-N',
      '-B',
      '-e',
      "SELECT host FROM mysql.user WHERE user = 'app' ORDER BY host",
    ]);
    expect(hosts.stdout.split('\n')).toEqual(['127.0.0.1', 'localhost']);
    const hba = await docker(engine.dockerHost, ['exec', `iact-${ENV}-x-postgres`, 'cat', '/var/lib/postgresql/data/pg_hba.conf']);
    expect(hba.stdout.split('\n').filter((l) => /^host/.test(l))).toEqual(['host all all 127.0.0.1/32 scram-sha-256']);
    for (const service of ['postgres', 'mysql'] as const) {
      const ok = await query(service, { port: ports[service]!, user: 'app', database: 'app', password: PASSWORD[service] }, ['SELECT 1']);
      expect(ok.stdout, ok.stderr).toBe('1');
    }
  });

  it.each(SERVICES)('%s: no file in the container holds the password after start (nor after a password change)', async (service) => {
    const container = `iact-${ENV}-x-${service}`;
    // Every file where a run could leave one (tmpfs, /run, /etc, the data volume), but the read-only
    // mount of the sandbox directory (/run/iact: the host's own secret file).
    const scan = async (password: string) =>
      execa(
        'docker',
        [
          'exec',
          '-i',
          container,
          'bash',
          '-c',
          'IFS= read -r pw; while IFS= read -r -d "" f; do c="$(cat -- "$f" 2>/dev/null)"; [[ "$c" == *"$pw"* ]] && printf "%s\\n" "$f"; done < <(find /dev/shm /tmp /run /etc /root /var /data -path /run/iact -prune -o -type f -size -20M -print0 2>/dev/null); true',
        ],
        {
          env: { DOCKER_HOST: engine.dockerHost },
          input: `${password}\n`,
          reject: false,
        },
      );
    const before = await scan(PASSWORD[service]);
    expect(before.stdout.trim(), before.stderr).toBe('');
    const changed = `${PASSWORD[service]}-changed`;
    const r = await run(['update', `x-${service}`, '--spec', specFile(service, changed, `${service}-2`), '--steps', 'set-password']);
    expect(r.exitCode, r.stderr).toBe(0);
    const login = await query(
      service,
      { port: ports[service]!, user: 'app', database: 'app', password: changed },
      service === 'redis' ? ['PING'] : ['SELECT 1'],
    );
    expect(login.stdout).toMatch(/^(1|PONG)$/);
    const after = await scan(changed);
    expect(after.stdout.trim(), after.stderr).toBe('');
  });
});
