// Issue 12, part 1, end to end with real servers (docs/data.md): minimal manifests, init files,
// extensions, admin users, `password: null`, and the run flags.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { parseDotenv } from '../../src/manifest/dotenv.js';
import { cliPath, describeNeeding, makeProject, type Project } from '../helpers/iact-project.js';

const PG_BIN = '/usr/lib/postgresql/15/bin';

function write(project: Project, rel: string, text: string): void {
  mkdirSync(path.dirname(project.file(rel)), { recursive: true });
  writeFileSync(project.file(rel), text);
}

/** The rendered env file, read as python-dotenv and bash would. */
const envFile = (project: Project, env = 'development'): Record<string, string> => parseDotenv(project.read(`.iact/env/${env}.env`));

/** psql with nothing but the env file's values (the password in PGPASSWORD, never in argv). */
function psql(env: Record<string, string>, sql: string): string {
  return execFileSync(
    `${PG_BIN}/psql`,
    ['-X', '-w', '-h', env.DB_HOST!, '-p', env.DB_PORT!, '-U', env.DB_USER!, '-d', env.DB_NAME!, '-Atc', sql],
    {
      env: { ...process.env, PGPASSWORD: env.DB_PASSWORD, PGCONNECT_TIMEOUT: '5' },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

/** The mariadb client with the MYSQL_* variables of the env file (the client reads MYSQL_HOST, MYSQL_PWD itself). */
function mariadb(env: Record<string, string>, sql: string): string {
  return execFileSync(
    'mariadb',
    ['--protocol=TCP', '-P', env.MYSQL_PORT!, '-u', env.MYSQL_USER!, '-D', env.MYSQL_DATABASE!, '-N', '-B', '-e', sql],
    {
      env: { ...process.env, MYSQL_HOST: env.MYSQL_HOST, MYSQL_PWD: env.MYSQL_PASSWORD },
      encoding: 'utf8',
      stdio: ['ignore', 'pipe', 'pipe'],
    },
  ).trim();
}

function redis(env: Record<string, string>, ...args: string[]): string {
  return execFileSync('redis-cli', ['--no-auth-warning', '-h', env.REDIS_HOST!, '-p', env.REDIS_PORT!, ...args], {
    env: { ...process.env, ...(env.REDIS_PASSWORD ? { REDISCLI_AUTH: env.REDIS_PASSWORD } : {}) },
    encoding: 'utf8',
  }).trim();
}

const MINIMAL = (binding: 'db' | 'my-db') => `apiVersion: iact/v1
environment: development
sandboxes:
  db:
    service: postgres
    init: [db/schema.sql, db/seed/]
    extensions: [pgcrypto]
  my-db:
    service: mysql
    init: [db/mysql.sql]
  cache:
    service: redis
    init: [db/cache.redis]
connections:
  database: { sandbox: ${binding} }
  cache: { backend: redis, sandbox: cache, ttl: 60 }
`;

describeNeeding('postgres', 'mysql', 'redis')(
  'data: minimal manifests, init, extensions (lightweight driver)',
  { timeout: 600_000 },
  () => {
    let project: Project;
    afterEach(async () => project?.cleanup());

    it('brings up a minimal postgres + mysql + redis manifest with init files, reruns a changed init, and names a failing line', async () => {
      project = makeProject('iact-data-');
      write(project, 'db/schema.sql', 'CREATE TABLE IF NOT EXISTS items (id serial PRIMARY KEY, name text NOT NULL, digest text);\n');
      // pgcrypto's digest(): the extension exists before the init files run.
      write(
        project,
        'db/seed/01-items.sql',
        "INSERT INTO items (name, digest) VALUES ('first', encode(digest('first', 'sha256'), 'hex'));\n",
      );
      write(
        project,
        'db/seed/02-check.sh',
        'set -e\ntest -n "$DB_PASSWORD" && test -n "$PGPORT"\npsql -Atc "INSERT INTO items (name) VALUES (\'from-sh\')" >/dev/null\n',
      );
      write(project, 'db/seed/README.txt', 'not run: neither .sql nor .sh\n');
      write(
        project,
        'db/mysql.sql',
        "CREATE TABLE IF NOT EXISTS notes (id int PRIMARY KEY, body varchar(40));\nREPLACE INTO notes VALUES (1, 'héllo ✓');\n",
      );
      write(project, 'db/cache.redis', '# seed\nSET greeting "hello world"\nDEL queue\nRPUSH queue a b c\n');
      project.writeManifest('development', MINIMAL('db'));

      const planned = await project.iact(['plan']);
      expect(planned.exitCode, planned.stdout + planned.stderr).toBe(0);
      expect(planned.stdout).toContain('+ port       = (known after apply)');
      expect(planned.stdout).toContain("+ DB_PORT='(known after apply)'");
      expect(planned.stdout).toContain('+ DB_PASSWORD=(sensitive)');
      expect(planned.stdout).toMatch(
        /\+ init += \["db\/schema\.sql sha256:[0-9a-f]{16}", "db\/seed\/01-items\.sql sha256:[0-9a-f]{16}", "db\/seed\/02-check\.sh sha256:[0-9a-f]{16}"\]/,
      );

      const applied = await project.iact(['apply', '--auto-approve']);
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      expect(applied.stdout).toContain('Apply complete: 3 created');

      // The env file has the chosen ports and the generated passwords (0600), and no output ever showed them.
      expect(statSync(project.file('.iact/env/development.env')).mode & 0o777).toBe(0o600);
      const env = envFile(project);
      expect(Number(env.DB_PORT)).toBeGreaterThan(1023);
      expect(env.DB_NAME).toBe('db');
      expect(env.DB_USER).toBe('db');
      expect(env.DB_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24}$/);
      expect(env.REDIS_PASSWORD).toMatch(/^[A-Za-z0-9_-]{24}$/);
      for (const secret of [env.DB_PASSWORD!, env.REDIS_PASSWORD!]) {
        expect(applied.stdout + applied.stderr).not.toContain(secret);
        expect(project.read('.iact/sandboxes/development/db/sandbox.json')).not.toContain(secret);
      }
      expect(project.read('.iact/sandboxes/development/db/secrets/password')).toBe(env.DB_PASSWORD);
      expect(statSync(project.file('.iact/sandboxes/development/db/secrets/password')).mode & 0o777).toBe(0o600);

      // The init data is there; the extension was made though the sandbox user is no superuser.
      expect(psql(env, 'SELECT name FROM items ORDER BY id')).toBe('first\nfrom-sh');
      expect(psql(env, "SELECT digest = encode(digest('first', 'sha256'), 'hex') FROM items WHERE name = 'first'")).toBe('t');
      expect(psql(env, "SELECT extname FROM pg_extension WHERE extname = 'pgcrypto'")).toBe('pgcrypto');
      expect(psql(env, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toBe('f');
      expect(redis(env, 'GET', 'greeting')).toBe('hello world');
      expect(redis(env, 'LRANGE', 'queue', '0', '-1')).toBe('a\nb\nc');

      // Kept: the next plan reads the port and password back and has nothing to do.
      const again = await project.iact(['plan', '--detailed-exitcode']);
      expect(again.stdout, again.stderr).toContain('No changes.');
      expect(again.exitCode).toBe(0);

      // An init file whose content changes is planned as an update with the step init, and runs again (all files, in order).
      write(project, 'db/seed/01-items.sql', "INSERT INTO items (name) VALUES ('second');\n");
      const changed = await project.iact(['plan', '--format', 'json']);
      const change = (
        JSON.parse(changed.stdout) as {
          changes: { name: string; action: string; steps: string[]; fields: { field: string; after: string[] }[] }[];
        }
      ).changes.find((c) => c.name === 'db')!;
      expect(change.action).toBe('update');
      expect(change.steps).toEqual(['init']);
      expect(change.fields.map((f) => f.field)).toEqual(['init']);
      expect(change.fields[0]!.after[1]).toMatch(/^db\/seed\/01-items\.sql sha256:[0-9a-f]{16}$/);
      const text = await project.iact(['plan']);
      expect(text.stdout).toContain('# steps: init');
      const rerun = await project.iact(['apply', '--auto-approve']);
      expect(rerun.exitCode, rerun.stdout + rerun.stderr).toBe(0);
      expect(rerun.stdout).toContain('1 updated');
      expect(psql(env, 'SELECT name FROM items ORDER BY id')).toBe('first\nfrom-sh\nsecond\nfrom-sh');
      expect((await project.iact(['plan'])).stdout).toContain('No changes.');
      // History records which files ran, by hash.
      const history = project
        .read('.iact/history/development.jsonl')
        .trim()
        .split('\n')
        .map((l) => JSON.parse(l) as { address?: string; action?: string; init?: string[] });
      const ran = history.filter((h) => h.address === 'sandbox.db' && h.init);
      expect(ran.map((h) => h.action)).toEqual(['create', 'update']);
      expect(ran[1]!.init).toContain(change.fields[0]!.after[1]);

      // The database bound to the mysql sandbox: the env file carries MYSQL_* too, and utf8mb4 is the default.
      project.writeManifest('development', MINIMAL('my-db'));
      const rebound = await project.iact(['apply', '--auto-approve']);
      expect(rebound.exitCode, rebound.stdout + rebound.stderr).toBe(0);
      const myEnv = envFile(project);
      expect(myEnv.MYSQL_DATABASE).toBe('my_db');
      expect(myEnv.MYSQL_USER).toBe('my_db');
      expect(myEnv.MYSQL_PORT).toBe(myEnv.DB_PORT);
      expect(myEnv.MYSQL_PASSWORD).toBe(myEnv.DB_PASSWORD);
      expect(mariadb(myEnv, 'SELECT body FROM notes')).toBe('héllo ✓');
      expect(mariadb(myEnv, 'SELECT @@character_set_server, @@character_set_database')).toBe('utf8mb4\tutf8mb4');

      // A failing statement: the error names the file and the line the server reported; the sandbox stays at its last applied spec.
      write(project, 'db/seed/03-bad.sql', 'SELECT 1;\n\nSELEC broken;\n');
      const failed = await project.iact(['apply', '--auto-approve']);
      expect(failed.exitCode).toBe(1);
      expect(failed.stdout + failed.stderr).toContain("init file db/seed/03-bad.sql of sandbox 'db' failed at line 3");
      write(project, 'db/cache.redis', 'SET ok 1\n\n# a comment\nINCR too many args\n');
      const redisFailed = await project.iact(['apply', '--auto-approve']);
      expect(redisFailed.stdout + redisFailed.stderr).toContain("init file db/cache.redis of sandbox 'cache' failed at line 4");
      const stillPlanned = await project.iact(['plan', '--format', 'json']);
      const pending = (JSON.parse(stillPlanned.stdout) as { changes: { name: string; steps: string[] }[] }).changes.filter((c) =>
        c.steps.includes('init'),
      );
      expect(pending.map((c) => c.name).sort()).toEqual(['cache', 'db']);
    });

    it('refuses an extension this machine does not have at plan time, naming what to install', async () => {
      project = makeProject('iact-data-');
      project.writeManifest(
        'development',
        'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  db: { service: postgres, extensions: [pgcrypto, no_such_ext] }\n',
      );
      const plan = await project.iact(['plan']);
      expect(plan.exitCode).toBe(1);
      expect(plan.stdout + plan.stderr).toContain('extension no_such_ext of sandbox.db is not installed for PostgreSQL 15');
      expect(plan.stdout + plan.stderr).toContain('apt-get install -y postgresql-15-no_such_ext');
      expect(plan.stdout + plan.stderr).not.toContain('extension pgcrypto');
      const doctor = await project.iact(['doctor', '--json']);
      const check = (JSON.parse(doctor.stdout) as { checks: { id: string; found: string }[] }).checks.find(
        (c) => c.id === 'postgres-extensions',
      );
      expect(check?.found).toMatch(/^\d+ for PostgreSQL 15: .*\bpgcrypto\b/);
    });

    it('gives admin: true sandboxes a user that can CREATE DATABASE and CREATE USER, and takes it back in place', async () => {
      project = makeProject('iact-data-');
      const manifest = (admin: boolean) =>
        `apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  pg: { service: postgres, admin: ${admin} }\n  my: { service: mysql, admin: ${admin} }\nconnections:\n  database: { sandbox: pg }\n`;
      project.writeManifest('development', manifest(true));
      const applied = await project.iact(['apply', '--auto-approve']);
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      const env = envFile(project);
      psql(env, 'CREATE DATABASE made_by_admin');
      psql(env, 'CREATE USER made_by_admin');
      expect(psql(env, "SELECT count(*) FROM pg_database WHERE datname = 'made_by_admin'")).toBe('1');

      // The mysql sandbox through its bin/activate (the same variables as iact run).
      const activate = project.file('.iact/sandboxes/development/my/bin/activate');
      const mysqlAs = (sql: string) =>
        execa(
          'bash',
          [
            '-c',
            `source "$1" && mariadb --protocol=TCP -u "$MYSQL_USER" -P "$MYSQL_PORT" -D "$MYSQL_DATABASE" -N -B -e "$2"`,
            'x',
            activate,
            sql,
          ],
          { reject: false },
        );
      const made = await mysqlAs(
        "CREATE DATABASE made_by_admin; CREATE USER 'someone'@'localhost'; SELECT COUNT(*) FROM mysql.user WHERE User = 'someone'",
      );
      expect(made.exitCode, made.stderr).toBe(0);
      expect(made.stdout).toBe('1');

      project.writeManifest('development', manifest(false));
      const plan = await project.iact(['plan']);
      expect(plan.stdout).toContain('# steps: grant');
      expect(plan.stdout).toContain('Plan: 0 to create, 2 to update');
      expect((await project.iact(['apply', '--auto-approve'])).exitCode).toBe(0);
      expect(() => psql(env, 'CREATE DATABASE not_any_more')).toThrow(/permission denied/);
      const refused = await mysqlAs('CREATE DATABASE not_any_more');
      expect(refused.exitCode).not.toBe(0);
      expect(refused.stderr).toMatch(/Access denied/);
      // Its own database still works.
      expect((await mysqlAs('CREATE TABLE t (i int); SELECT 1')).stdout).toBe('1');
    });

    it('runs redis without auth for password: null, and refuses it in production', async () => {
      project = makeProject('iact-data-');
      project.writeManifest(
        'development',
        'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  open: { service: redis, password: null }\nconnections:\n  cache: { backend: redis, sandbox: open }\n',
      );
      const applied = await project.iact(['apply', '--auto-approve']);
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
      const env = envFile(project);
      expect(env.REDIS_PASSWORD).toBeUndefined();
      expect(redis(env, 'PING')).toBe('PONG');
      expect((await project.iact(['plan'])).stdout).toContain('No changes.');
      expect(readFileSync(project.file('.iact/sandboxes/development/open/conf/redis.conf'), 'utf8')).not.toContain('requirepass');

      project.writeManifest(
        'production',
        'apiVersion: iact/v1\nenvironment: production\nsandboxes:\n  open: { service: redis, password: null }\nconnections:\n  database: { host: db.example.com, name: app, user: app, password: x }\n  api: { baseUrl: https://api.example.com }\n',
      );
      const validate = await project.iact(['validate', '--env', 'production']);
      expect(validate.exitCode).toBe(1);
      expect(validate.stdout + validate.stderr).toContain('production never allows');
    });
  },
);

describeNeeding('postgres', 'mysql')('iact run: --admin, --setting, --port', { timeout: 300_000 }, () => {
  it('makes an admin sandbox with the settings asked for on the port asked for', async () => {
    const { freePort } = await import('../helpers/iact-project.js');
    const port = await freePort();
    const script =
      'psql -Atc "SHOW max_connections" && psql -Atc "CREATE DATABASE made_by_run" && psql -Atc "CREATE USER made_by_run" && echo "$PGPORT"';
    const run = await execa(
      process.execPath,
      [
        cliPath,
        'run',
        '--service',
        'postgres',
        '--admin',
        '--setting',
        'max_connections=33',
        '--port',
        String(port),
        '--',
        'bash',
        '-c',
        script,
      ],
      {
        reject: false,
        env: { PATH: `${PG_BIN}:${process.env.PATH ?? ''}` },
      },
    );
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout.split('\n')).toEqual(['33', 'CREATE DATABASE', 'CREATE ROLE', String(port)]);

    const my = await execa(
      process.execPath,
      [
        cliPath,
        'run',
        '--service',
        'mysql',
        '--admin',
        '--',
        'bash',
        '-c',
        'test -n "$MYSQL_PASSWORD" && mariadb --protocol=TCP -u "$MYSQL_USER" -P "$MYSQL_PORT" -D "$MYSQL_DATABASE" -N -B -e "CREATE USER x@localhost; SELECT 1"',
      ],
      { reject: false },
    );
    expect(my.exitCode, my.stderr).toBe(0);
    expect(my.stdout).toBe('1');

    const bad = await execa(process.execPath, [cliPath, 'run', '--service', 'redis', '--admin', '--', 'true'], { reject: false });
    expect(bad.exitCode).toBe(1);
    expect(bad.stderr).toContain('--admin is for a service with users');
  });
});

describeNeeding(
  'postgres',
  'redis',
  'namespace',
  'root',
)('data: the namespace driver', { timeout: 300_000 }, () => {
  let project: Project;
  afterEach(async () => project?.cleanup());

  it('runs init files, extensions and admin inside the namespaces, through the forwarded port', async () => {
    project = makeProject('iact-data-ns-');
    write(project, 'db/schema.sql', "CREATE TABLE IF NOT EXISTS t (x text);\nINSERT INTO t VALUES (encode(digest('x', 'sha1'), 'hex'));\n");
    write(project, 'db/cache.redis', 'SET k "from init"\n');
    project.writeManifest(
      'development',
      `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: namespace }\nsandboxes:\n  db: { service: postgres, init: [db/schema.sql], extensions: [pgcrypto], admin: true }\n  cache: { service: redis, init: [db/cache.redis] }\nconnections:\n  database: { sandbox: db }\n  cache: { backend: redis, sandbox: cache }\n`,
    );
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    const env = envFile(project);
    expect(psql(env, 'SELECT x FROM t')).toBe('11f6ad8ec52a2984abaafd7c3b516503785c2072');
    expect(psql(env, 'SELECT rolsuper FROM pg_roles WHERE rolname = current_user')).toBe('t');
    expect(redis(env, 'GET', 'k')).toBe('from init');
    expect((await project.iact(['plan'])).stdout).toContain('No changes.');
  });
});
