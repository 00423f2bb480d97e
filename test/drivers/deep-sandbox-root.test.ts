// A project so deep that every sandbox's socket path is longer than a unix socket may be (107
// bytes of sun_path): servers name their sockets relative to data/ and iact's clients connect from
// run/ (docs/driver-protocol.md "Sockets"). Real services, real logins with the rendered env files.
import { chmodSync, existsSync, mkdirSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { freePorts, needs, processesUnder, projectFor, type Project } from '../helpers/iact-project.js';
import { PG_BIN, TEMPLATE_DIR } from '../helpers/services.js';

const SUN_PATH_MAX = 107;
const PG_PASSWORD = 'pg-Deep-4711';
const MY_PASSWORD = 'my-Deep-4712';
const REDIS_PASSWORD = 'redis-Deep-4713';
const REDIS_PASSWORD_2 = 'redis-Deeper-4714';
// mkdtemp's prefix: with /tmp/ and the sandbox's own path, every socket below passes the limit.
const DEEP_PREFIX = `iact-deep-${'d'.repeat(90)}-`;

const DRIVERS = { lightweight: [] as string[], namespace: ['root', 'namespace'] };

/** development: postgres bound to `database`, redis to `cache`; `mysqlenv`: mysql bound to `database`. */
function manifests(driver: string, ports: number[], redisPassword: string, mysqlSettings = ''): Record<string, string> {
  const [pg, my, rd] = ports;
  return {
    development: [
      'apiVersion: iact/v1',
      'environment: development',
      `defaults: { driver: ${driver} }`,
      'sandboxes:',
      `  deep-postgres: { service: postgres, port: ${pg}, database: app, user: app, password: "\${PG_PW}", extensions: [pgcrypto] }`,
      `  deep-redis: { service: redis, port: ${rd}, password: "\${${redisPassword}}" }`,
      'connections:',
      '  database: { sandbox: deep-postgres }',
      '  cache: { backend: redis, sandbox: deep-redis }',
      '',
    ].join('\n'),
    mysqlenv: [
      'apiVersion: iact/v1',
      'environment: mysqlenv',
      `defaults: { driver: ${driver} }`,
      'sandboxes:',
      `  deep-mysql: { service: mysql, port: ${my}, database: app, user: app, password: "\${MY_PW}"${mysqlSettings} }`,
      'connections:',
      '  database: { sandbox: deep-mysql }',
      '',
    ].join('\n'),
  };
}

/** Sources the env file as docs/connection-variables.md says, then runs SCRIPT (a real client login). */
async function withEnvFile(project: Project, environment: string, script: string): Promise<string> {
  const file = project.file(`.iact/env/${environment}.env`);
  const r = await execa('bash', ['-c', `set -euo pipefail; set -a; source "$1"; set +a; ${script}`, 'login', file], {
    env: { PATH: `${PG_BIN}:${process.env.PATH}` },
    reject: false,
    stdin: 'ignore',
  });
  expect(r.stderr).toBe('');
  expect(r.exitCode, `${r.stdout}${r.stderr}`).toBe(0);
  return String(r.stdout).trim();
}

const psql = (sql: string) =>
  `PGPASSWORD="$DB_PASSWORD" PGCONNECT_TIMEOUT=5 psql -X -w -tA -v ON_ERROR_STOP=1 -h "$DB_HOST" -p "$DB_PORT" -U "$DB_USER" -d "$DB_NAME" -c "${sql}"`;
const mariadb = (sql: string) =>
  `MYSQL_PWD="$MYSQL_PASSWORD" mariadb --no-defaults --protocol=TCP -h "$MYSQL_HOST" -P "$MYSQL_PORT" -u "$MYSQL_USER" -D "$MYSQL_DATABASE" --connect-timeout=5 -N -B -e "${sql}"`;
const redis = (command: string) =>
  `REDISCLI_AUTH="$REDIS_PASSWORD" redis-cli --no-auth-warning -h "$REDIS_HOST" -p "$REDIS_PORT" ${command}`;

describe.concurrent.each(Object.keys(DRIVERS) as (keyof typeof DRIVERS)[])('%s driver under a deep project path', (driver) => {
  it('applies postgres, mysql and redis whose socket paths pass 107 bytes, logs in, plans no changes, destroys', async (t) => {
    needs(t, 'postgres', 'mysql', 'redis', ...DRIVERS[driver]);
    const project = projectFor(t, DEEP_PREFIX);
    const ports = await freePorts(3);
    const env: Record<string, string> = { IACT_TEMPLATE_DIR: TEMPLATE_DIR };
    if (driver === 'lightweight') {
      // The mysql template is made here, under a deep TMPDIR: its build socket passes the limit too.
      const deepTmp = project.file('tmp');
      mkdirSync(deepTmp);
      chmodSync(deepTmp, 0o1777);
      env.TMPDIR = deepTmp;
      env.IACT_TEMPLATE_DIR = project.file('templates');
      expect(Buffer.byteLength(`${deepTmp}/iact-template.XXXXXX/run/s.sock`)).toBeGreaterThan(SUN_PATH_MAX);
    }
    project.writeEnv(`PG_PW=${PG_PASSWORD}\nMY_PW=${MY_PASSWORD}\nREDIS_PW=${REDIS_PASSWORD}\nREDIS_PW_2=${REDIS_PASSWORD_2}\n`);
    for (const [name, yaml] of Object.entries(manifests(driver, ports, 'REDIS_PW'))) project.writeManifest(name, yaml);

    const sandbox = (environment: string, name: string) => project.file(`.iact/sandboxes/${environment}/${name}`);
    const sockets = {
      postgres: path.join(sandbox('development', 'deep-postgres'), 'run', `.s.PGSQL.${ports[0]}`),
      mysql: path.join(sandbox('mysqlenv', 'deep-mysql'), 'run', 'mysqld.sock'),
      redis: path.join(sandbox('development', 'deep-redis'), 'run', 'redis.sock'),
    };
    for (const socket of Object.values(sockets)) expect(Buffer.byteLength(socket)).toBeGreaterThan(SUN_PATH_MAX);

    for (const environment of ['development', 'mysqlenv']) {
      const applied = await project.iact(['apply', '--env', environment, '--auto-approve'], { env });
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      expect(applied.stdout).toMatch(/Apply complete: \d created/);
    }
    // Each socket is where the catalogue says, in its run/ of mode 0700.
    for (const socket of Object.values(sockets)) {
      expect(statSync(socket).isSocket()).toBe(true);
      expect(statSync(path.dirname(socket)).mode & 0o777).toBe(0o700);
    }
    if (driver === 'lightweight') expect(readdirSync(project.file('templates')).some((d) => d.startsWith('mysql-'))).toBe(true);

    // Real logins with what the env files render.
    // pgcrypto was made by iact's superuser connection through the socket.
    expect(await withEnvFile(project, 'development', psql("select count(*) from pg_extension where extname = 'pgcrypto'"))).toBe('1');
    expect(await withEnvFile(project, 'development', redis('SET deep kept'))).toBe('OK');
    expect(
      await withEnvFile(
        project,
        'mysqlenv',
        mariadb("create table notes(body text); insert into notes values ('kept'); select body from notes"),
      ),
    ).toBe('kept');

    for (const environment of ['development', 'mysqlenv']) {
      const plan = await project.iact(['plan', '--env', environment, '--detailed-exitcode'], { env });
      expect(plan.stdout).toContain(`No changes. ${environment} matches its manifest.`);
      expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
    }

    // iact's own clients through the sockets: redis's new password (CONFIG SET), a mysql setting at runtime (SET GLOBAL).
    for (const [name, yaml] of Object.entries(manifests(driver, ports, 'REDIS_PW_2', ', settings: { max_connections: 57 }'))) {
      project.writeManifest(name, yaml);
    }
    for (const environment of ['development', 'mysqlenv']) {
      const updated = await project.iact(['apply', '--env', environment, '--auto-approve'], { env });
      expect(updated.exitCode, updated.stdout + updated.stderr).toBe(0);
      expect(updated.stdout).toMatch(/Apply complete: 0 created, 1 updated/);
    }
    expect(await withEnvFile(project, 'development', redis('GET deep'))).toBe('kept');
    expect(await withEnvFile(project, 'mysqlenv', mariadb('select @@max_connections'))).toBe('57');
    const wrong = await execa('redis-cli', ['--no-auth-warning', '-p', String(ports[2]), 'PING'], {
      env: { REDISCLI_AUTH: REDIS_PASSWORD },
      reject: false,
    });
    expect(String(wrong.stdout) + String(wrong.stderr)).toMatch(/WRONGPASS|NOAUTH|AUTH failed/);

    // Destroy backs each sandbox up through its socket first (pg_dump, mariadb-dump, redis SAVE).
    for (const environment of ['development', 'mysqlenv']) {
      const destroyed = await project.iact(['destroy', '--env', environment, '--auto-approve', '--allow-destroy'], { env });
      expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
      expect(existsSync(project.file(`.iact/env/${environment}.env`))).toBe(false);
    }
    const backups = (environment: string, name: string) => {
      const dir = project.file(`.iact/backups/${environment}`);
      const file = readdirSync(dir).find((f) => f.startsWith(`${name}-`));
      expect(file, `a backup of ${name}`).toBeDefined();
      return readFileSync(path.join(dir, file!)).toString('latin1');
    };
    expect(backups('development', 'deep-postgres')).toContain('PostgreSQL database dump');
    expect(backups('development', 'deep-redis')).toContain('kept');
    expect(backups('mysqlenv', 'deep-mysql')).toContain("'kept'");
    for (const environment of ['development', 'mysqlenv']) {
      const dir = project.file(`.iact/sandboxes/${environment}`);
      expect((existsSync(dir) ? readdirSync(dir) : []).filter((n) => !n.startsWith('.'))).toEqual([]);
    }
    expect(processesUnder(project.dir)).toEqual([]);
  }, 300_000);
});
