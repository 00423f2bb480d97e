// tls: true sandboxes for real: postgres, mariadb and redis serve TLS only, with a CA of the sandbox's own
// that clients verify (verify-full, for 127.0.0.1 and localhost); plaintext is refused; the env file
// says verify-full and where the CA is; parity no longer flags ssl_mode when both sides use TLS.
// test/drivers/tls.test.ts runs the same checks and the tls toggles for every driver.
import { existsSync, mkdirSync, readdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliPath, describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { devEnv, devManifest } from '../helpers/manifests.js';
import { type Credentials, query, TEMPLATE_DIR } from '../helpers/services.js';
import { encryptedCheck, expectTlsOnly, plaintextAccepted, TLS_SERVICES, type TlsService } from '../helpers/tls.js';

const PG_PW = 'tls-Pg-Secret-21';
const MY_PW = 'tls-My-Secret-22';
const RD_PW = 'tls-Rd-Secret-23';
const env = { IACT_TEMPLATE_DIR: TEMPLATE_DIR };

describeNeeding('postgres', 'mysql', 'redis')('TLS sandboxes (lightweight postgres, mariadb and redis)', { timeout: 600_000 }, () => {
  let project: Project;
  let pg: number;
  let my: number;
  let rd: number;
  let caPg: string;
  let caMy: string;
  let caRd: string;
  const login = (port: number, password: string): Credentials => ({ port, database: 'app', user: 'app', password });
  /** A shell command in the project directory, as an app started there would run. */
  const sh = (script: string) => execa('bash', ['-c', script], { cwd: project.dir, reject: false });
  const cli = (args: string[], input?: string) =>
    execa(process.execPath, [cliPath, ...args], { cwd: project.dir, env: { NO_COLOR: '1', ...env }, input, reject: false });
  beforeAll(async () => {
    project = makeProject('iact-tls-');
    [pg, my, rd] = (await freePorts(3)) as [number, number, number];
    project.writeEnv(devEnv({ postgres: PG_PW, mysql: MY_PW, redis: RD_PW }));
    project.writeManifest('development', devManifest(pg, { mysql: my, redis: rd, cache: true, tls: true }));
    project.writeManifest(
      'production',
      'apiVersion: iact/v1\nenvironment: production\nconnections:\n  database: { host: db.example.com, name: app, user: app, password: "${DB_PROD_PASSWORD}", sslMode: require }\n  api: { baseUrl: "https://api.example.com" }\n',
    );
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    caPg = project.file('.iact/sandboxes/development/dev-postgres/tls/ca.crt');
    caMy = project.file('.iact/sandboxes/development/dev-mysql/tls/ca.crt');
    caRd = project.file('.iact/sandboxes/development/dev-redis/tls/ca.crt');
  });
  afterAll(async () => project?.cleanup());

  it('postgres: verify-full against the sandbox CA works for 127.0.0.1 and localhost; plaintext and another CA are refused', async () => {
    await expectTlsOnly('postgres', login(pg, PG_PW), caPg, caMy);
  });

  it('mariadb: a verified TLS login works (require_secure_transport is on); plaintext and another CA are refused', async () => {
    await expectTlsOnly('mysql', login(my, MY_PW), caMy, caRd);
    const required = await query('mysql', login(my, MY_PW), ['select @@require_secure_transport'], { tls: { ca: caMy } });
    expect(required.stdout).toBe('1');
  });

  it('redis: redis-cli --tls --cacert logs in; plaintext and another CA are refused', async () => {
    await expectTlsOnly('redis', login(rd, RD_PW), caRd, caPg);
  });

  it('the driver logs in over TLS to every sandbox (status login: true), and iact status says in sync', async () => {
    const driver = await execa('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'status', '--json', '--env', 'development'], {
      cwd: project.dir,
      env: { IACT_ENV: '', ENVIRONMENT: '' },
      reject: false,
    });
    expect(driver.exitCode, driver.stderr).toBe(0);
    const rows = JSON.parse(driver.stdout) as { name: string; login?: boolean; healthy: boolean }[];
    expect(rows.map((r) => [r.name, r.healthy, r.login]).sort()).toEqual([
      ['dev-mysql', true, true],
      ['dev-postgres', true, true],
      ['dev-redis', true, true],
    ]);
    const status = await project.iact(['status', '--json'], { env });
    expect(status.exitCode, status.stderr).toBe(0);
    const states = (JSON.parse(status.stdout) as { sandboxes: { name: string; state: string }[] }).sandboxes.map((r) => r.state);
    expect(states).toEqual(['in sync', 'in sync', 'in sync']);
  });

  it("the health probe finishes its TLS handshakes: status adds no handshake error to the servers' logs", async () => {
    const logs = ['.iact/sandboxes/development/dev-postgres/logs/server.log', '.iact/sandboxes/development/dev-redis/logs/redis.log'];
    const before = logs.map((log) => project.read(log));
    for (let i = 0; i < 3; i++) expect((await project.iact(['status', '--json'], { env })).exitCode).toBe(0);
    // What an earlier test's plaintext and wrong-CA clients left stays; nothing comes after it.
    logs.forEach((log, i) => expect(project.read(log).slice(before[i]!.length), log).not.toMatch(/SSL|TLS|accept/));
  });

  it('the env file says verify-full and where the CA is; a plan right after apply has no changes', async () => {
    const envFile = project.read('.iact/env/development.env');
    expect(envFile).toContain("DB_SSL_MODE='verify-full'");
    expect(envFile).toContain(`DB_SSL_ROOT_CERT='${caPg}'`);
    expect(envFile).toContain(`REDIS_URL='rediss://default:${RD_PW}@127.0.0.1:${rd}/0'`);
    expect(envFile).toContain("REDIS_SSL_MODE='verify-full'");
    expect(envFile).toContain(`REDIS_SSL_CA='${caRd}'`);
    expect(readFileSync(caPg, 'utf8')).toMatch(/^-----BEGIN CERTIFICATE-----/);
    // The CA's key is gone: nothing else can ever be signed by it (sans: the names the certificate was made for).
    expect(readdirSync(path.dirname(caPg)).sort()).toEqual(['ca.crt', 'sans', 'server.crt', 'server.key']);
    expect(statSync(path.join(path.dirname(caPg), 'server.key')).mode & 0o777).toBe(0o600);
    const plan = await project.iact(['plan', '--detailed-exitcode'], { env });
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
    // An app that sources the env file reaches the database with verify-full.
    const app = await sh(
      'set -a; source .iact/env/development.env; set +a; PGPASSWORD="$DB_PASSWORD" psql -X -w -tA "host=$DB_HOST port=$DB_PORT dbname=$DB_NAME user=$DB_USER sslmode=$DB_SSL_MODE sslrootcert=$DB_SSL_ROOT_CERT" -c "select 42"',
    );
    expect(app.exitCode, app.stderr).toBe(0);
    expect(app.stdout.trim()).toBe('42');
    const cacheApp = await sh(
      'set -a; source .iact/env/development.env; set +a; redis-cli --no-auth-warning -u "$REDIS_URL" --cacert "$REDIS_SSL_CA" ping',
    );
    expect(cacheApp.exitCode, cacheApp.stderr).toBe(0);
    expect(cacheApp.stdout.trim()).toBe('PONG');
  });

  it('iact exec exports the TLS variables of each service; bin/activate too', async () => {
    // The TLS variables each exports, then the question asked with those variables alone.
    const exported: Record<TlsService, [string, string]> = {
      postgres: ['"$PGSSLMODE $DB_SSL_MODE"', 'verify-full verify-full'],
      mysql: ['"$DB_SSL_MODE $DB_SSL_CA"', `verify-full ${caMy}`],
      redis: ['"$REDIS_SSL_MODE ${REDIS_URL%%:*}"', 'verify-full rediss'],
    };
    for (const service of TLS_SERVICES) {
      const { fromEnv, answer } = encryptedCheck(service);
      const r = await cli(['exec', `dev-${service}`, '--', 'bash', '-c', `echo ${exported[service][0]}; ${fromEnv}`]);
      expect(r.exitCode, `${service}: ${r.stderr}`).toBe(0);
      expect(String(r.stdout).split('\n')[0], service).toBe(exported[service][1]);
      expect(String(r.stdout), service).toMatch(answer);
    }
    const activated = await sh(
      `source .iact/sandboxes/development/dev-redis/bin/activate && ${encryptedCheck('redis').fromEnv} && deactivate && echo "\${REDIS_SSL_CA-unset}"`,
    );
    expect(activated.exitCode, activated.stderr).toBe(0);
    expect(activated.stdout.split('\n')).toEqual(['PONG', 'unset']);
  });

  it('iact run --tls: each service serves TLS only and the command gets the verify-full variables', async () => {
    // After the verified login, the same without TLS: refused.
    const plaintext: Record<TlsService, string> = {
      postgres: 'PGSSLMODE=disable psql -X -w -tA -c "select 1"',
      mysql:
        'mariadb --no-defaults --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_TCP_PORT" -u "$MYSQL_USER" --skip-ssl -e "select 1" "$MYSQL_DATABASE"',
      redis: 'redis-cli --no-auth-warning -h "$REDIS_HOST" -p "$REDIS_PORT" ping | grep -q PONG',
    };
    const runs = await Promise.all(
      TLS_SERVICES.map((service) =>
        cli([
          'run',
          '--service',
          service,
          '--tls',
          '--',
          'bash',
          '-c',
          `${encryptedCheck(service).fromEnv}; ${plaintext[service]} >/dev/null 2>&1 || echo refused`,
        ]),
      ),
    );
    runs.forEach((r, i) => {
      const service = TLS_SERVICES[i]!;
      expect(r.exitCode, `${service}: ${r.stderr}`).toBe(0);
      expect(String(r.stdout), service).toMatch(encryptedCheck(service).answer);
      expect(String(r.stdout).split('\n').pop(), service).toBe('refused');
    });
  });

  it('iact connect logs in over verified TLS (psql verify-full, mariadb --ssl-verify-server-cert)', async () => {
    for (const service of TLS_SERVICES) {
      const { typed, answer } = encryptedCheck(service);
      const r = await cli(['connect', `dev-${service}`], typed);
      expect(r.exitCode, `${service}: ${r.stderr}`).toBe(0);
      expect(String(r.stdout), service).toMatch(answer);
    }
  });

  it('parity: verify-full in development and require in production both use TLS, so ssl_mode is not flagged', async () => {
    const parity = await project.iact(['diff', '--env', 'development', '--env', 'production', '--format', 'json']);
    expect(parity.exitCode, parity.stderr).toBe(0);
    const row = (JSON.parse(parity.stdout) as { rows: { key: string; values: Record<string, unknown>; risky: boolean }[] }).rows.find(
      (r) => r.key === 'DB_SSL_MODE',
    );
    expect(row).toMatchObject({ values: { development: 'verify-full', production: 'require' }, risky: false });
  });

  it('turning tls off and on again is a restart each way; plaintext is accepted, then refused again', async () => {
    const manifest = project.read('environments/development.yaml');
    for (const tls of [false, true]) {
      project.writeManifest('development', manifest.replace(/(dev-mysql:[\s\S]*?)tls: true/, `$1tls: ${tls}`));
      const plan = await project.iact(['plan'], { env });
      expect(plan.stdout).toMatch(tls ? /\+ tls += true # restart/ : /- tls += true # restart/);
      const applied = await project.iact(['apply', '--auto-approve'], { env });
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      expect(await plaintextAccepted('mysql', login(my, MY_PW)), `tls: ${tls}`).toBe(!tls);
      expect((await project.iact(['plan', '--detailed-exitcode'], { env })).exitCode).toBe(0);
    }
  });

  it('a redis-server built without TLS: iact doctor warns, and the driver refuses tls: true before changing anything', async () => {
    const fake = makeProject('iact-tls-nossl-');
    try {
      // A redis-server that knows no tls-* directive (a build without BUILD_TLS), first on PATH.
      mkdirSync(fake.file('bin'));
      writeFileSync(fake.file('bin/redis-server'), '#!/bin/sh\necho "Redis server v=7.0.15 sha=00000000:0 malloc=libc bits=64"\n', {
        mode: 0o755,
      });
      const PATH = `${fake.file('bin')}:${process.env.PATH}`;
      const doctor = await fake.iact(['doctor'], { env: { PATH } });
      expect(doctor.stdout).toMatch(/redis-server with TLS \(tls: true\) +.*built without TLS/);
      fake.writeManifest(
        'development',
        'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  nossl: { service: redis, port: 56391, password: x-Secret-4, tls: true }\n',
      );
      const plan = await fake.iact(['plan'], { env: { PATH } });
      expect(plan.exitCode, plan.stdout).toBe(1);
      expect(plan.stdout + plan.stderr).toContain('sandbox.nossl sets tls: true, and');
      expect(plan.stdout + plan.stderr).toContain('is built without TLS');
      const spec = fake.file('spec.json');
      writeFileSync(
        spec,
        JSON.stringify({
          name: 'nossl',
          environment: 'development',
          driver: 'lightweight',
          service: 'redis',
          port: 56391,
          password: 'x-Secret-4',
          settings: {},
          spec_hash: 'sha256:x',
          tls: true,
        }),
      );
      const refused = await execa(
        'bash',
        [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'preflight', 'nossl', '--spec', spec, '--env', 'development'],
        {
          cwd: fake.dir,
          env: { PATH, IACT_ENV: '', ENVIRONMENT: '', IACT_DRIVER_ERRORS: 'json' },
          reject: false,
        },
      );
      expect(refused.exitCode).toBe(1);
      expect(refused.stderr).toContain('is built without TLS, and sandbox nossl sets tls: true');
      expect(refused.stderr).toContain('"kind":"missing-binary"');
      expect(existsSync(fake.file('.iact/sandboxes/development/nossl'))).toBe(false);
    } finally {
      await fake.cleanup();
    }
  });

  it('validate refuses tls: true where it cannot be served (a none sandbox)', async () => {
    const bad = makeProject('iact-tls-bad-');
    try {
      bad.writeManifest(
        'development',
        'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  tools: { service: none, tls: true }\n',
      );
      const result = await bad.iact(['validate']);
      expect(result.exitCode).toBe(1);
      expect(result.stdout + result.stderr).toContain('sandbox tools sets tls: true, which none with the lightweight driver cannot serve');
      expect(result.stdout + result.stderr).toContain(
        'fix: remove tls:, or use one of: postgres (lightweight, namespace, docker), mysql (lightweight, namespace, docker), redis (lightweight, namespace, docker)',
      );
    } finally {
      await bad.cleanup();
    }
  });
});
