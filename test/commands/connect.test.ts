// iact connect against real sandboxes: the service's client reads a query from stdin, its exit code
// is iact's, and no process's command line ever holds the password.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { describeNeeding, cliPath, freePorts, makeProject, type Project } from '../helpers/iact-project.js';
import { devEnv, devManifest } from '../helpers/manifests.js';
import { TEMPLATE_DIR } from '../helpers/services.js';

const PASSWORDS = { pg: 'conn-Pg-Secret-83', my: 'conn-My-Secret-84', redis: 'conn-Rd-Secret-85' };
const env = { IACT_TEMPLATE_DIR: TEMPLATE_DIR };

/** Pids whose /proc/PID/cmdline contains `needle` (every process of the machine). */
function cmdlinesContaining(needle: string): number[] {
  const found: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      if (readFileSync(`/proc/${entry}/cmdline`).includes(needle)) found.push(Number(entry));
    } catch {
      // gone
    }
  }
  return found;
}

/** The argv of a running process named `name` whose command line mentions `hint`. */
function clientArgv(name: string, hint: string): string[] | undefined {
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const argv = readFileSync(`/proc/${entry}/cmdline`, 'utf8').split('\0');
      if (argv[0]?.endsWith(`/${name}`) && argv.some((a) => a.includes(hint))) return argv;
    } catch {
      // gone
    }
  }
  return undefined;
}

async function until(check: () => boolean, what: string, ms = 30_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

describeNeeding('postgres', 'mysql', 'redis')('iact connect (lightweight sandboxes)', { timeout: 300_000 }, () => {
  let project: Project;
  let ports: number[];
  beforeAll(async () => {
    project = makeProject('iact-connect-');
    ports = await freePorts(3);
    project.writeEnv(devEnv({ postgres: PASSWORDS.pg, mysql: PASSWORDS.my, redis: PASSWORDS.redis }));
    project.writeManifest('development', devManifest(ports[0]!, { mysql: ports[1], redis: ports[2] }));
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);
  });
  afterAll(async () => project?.cleanup());

  const cases = [
    {
      sandbox: 'dev-postgres',
      client: 'psql',
      password: PASSWORDS.pg,
      query: "select 'who=' || current_user || '@' || current_database();\n",
      expected: 'who=app@app',
    },
    {
      sandbox: 'dev-mysql',
      client: 'mariadb',
      password: PASSWORDS.my,
      query: "select concat('who=', current_user(), '@', database());\n",
      expected: 'who=app@127.0.0.1@app',
    },
    {
      sandbox: 'dev-redis',
      client: 'redis-cli',
      password: PASSWORDS.redis,
      query: 'SET greeting hello-from-stdin\nGET greeting\n',
      expected: 'hello-from-stdin',
    },
  ];

  for (const c of cases) {
    it(`${c.sandbox}: ${c.client} reads the query from stdin; no command line holds the password while it runs`, async () => {
      const running = execa(process.execPath, [cliPath, 'connect', c.sandbox], {
        cwd: project.dir,
        env: { NO_COLOR: '1', ...env },
        stdin: 'pipe',
        reject: false,
      });
      let argv: string[] | undefined;
      await until(
        () =>
          (argv = clientArgv(c.client, String(ports[cases.indexOf(c)])) ?? clientArgv(c.client, '--defaults-extra-file=')) !== undefined,
        `${c.client} to start`,
      );
      expect(cmdlinesContaining(c.password)).toEqual([]);
      // MariaDB's client reads the password from a private defaults file that is gone afterwards.
      const defaultsFile = argv!.find((a) => a.startsWith('--defaults-extra-file='))?.slice('--defaults-extra-file='.length);
      if (c.client === 'mariadb') expect(statSync(defaultsFile!).mode & 0o777).toBe(0o600);
      running.stdin!.end(c.query);
      const result = await running;
      expect(result.exitCode, String(result.stderr)).toBe(0);
      expect(String(result.stdout)).toContain(c.expected);
      expect(String(result.stderr)).not.toContain(c.password);
      if (defaultsFile) expect(existsSync(defaultsFile)).toBe(false);
    });
  }

  it("passes the client's exit code through (psql stops a failing script with 3)", async () => {
    const result = await execa(process.execPath, [cliPath, 'connect', 'dev-postgres'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...env },
      input: '\\set ON_ERROR_STOP on\nselect 1/0;\n',
      reject: false,
    });
    expect(result.exitCode).toBe(3);
    expect(String(result.stderr)).toContain('division by zero');
  });

  it("a SIGINT to iact (a terminal's Ctrl-C reaches the client itself) neither ends iact nor is sent on to the client", async () => {
    const running = execa(process.execPath, [cliPath, 'connect', 'dev-postgres'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...env },
      stdin: 'pipe',
      reject: false,
    });
    await until(() => clientArgv('psql', String(ports[0])) !== undefined, 'psql to start');
    running.kill('SIGINT');
    await new Promise((r) => setTimeout(r, 500));
    expect(running.exitCode).toBeNull();
    running.stdin!.end("select 'still-here';\n");
    const result = await running;
    expect(result.exitCode, String(result.stderr)).toBe(0);
    expect(String(result.stdout)).toContain('still-here');
  });

  it('says how to install a client that is missing', async () => {
    const result = await project.iact(['connect', 'dev-redis'], { env: { ...env, PATH: '/nonexistent' } });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('error: redis-cli (the Redis client) is not installed');
    expect(result.stderr).toContain('fix: apt-get install -y redis-tools');
  });
});
