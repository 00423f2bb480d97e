// iact run and withSandbox with the real lightweight driver: real services, real clients,
// nothing left behind (sandbox directory, process, port), also after failures and signals.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa, type ResultPromise } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { withSandbox, createEphemeral } from '../../src/sandbox/ephemeral.js';
import { describeNeeding, cliPath, freePort, portOpen } from '../helpers/iact-project.js';
import { killProcessesIn, processesIn } from '../sandbox/procs.js';
import { processesMentioning } from '../helpers/services.js';

interface Run {
  root: string;
  cwd: string;
}

let runs: Run[] = [];

/** A private run root and a working directory with no environments/ (iact run works outside a project). */
function newRun(): Run {
  const root = mkdtempSync(path.join(tmpdir(), 'iact-run-root-'));
  const cwd = mkdtempSync(path.join(tmpdir(), 'iact-run-cwd-'));
  const run = { root, cwd };
  runs.push(run);
  return run;
}

function removeRuns(): void {
  for (const run of runs) {
    killProcessesIn(run.root);
    rmSync(run.root, { recursive: true, force: true });
    rmSync(run.cwd, { recursive: true, force: true });
  }
  runs = [];
}

function iactRun(run: Run, args: string[]): ResultPromise {
  return execa(process.execPath, [cliPath, 'run', ...args], {
    cwd: run.cwd,
    env: { NO_COLOR: '1', IACT_RUN_ROOT: run.root },
    reject: false,
    stdin: 'ignore',
  });
}

/** Sandbox directories still present under the run root. */
function sandboxesIn(root: string): string[] {
  const dir = path.join(root, 'run');
  return existsSync(dir) ? readdirSync(dir).filter((n) => n.startsWith('run-')) : [];
}

function portsFrom(stderr: string): number[] {
  return [...stderr.matchAll(/ready on 127\.0\.0\.1:(\d+)/g)].map((m) => Number(m[1]));
}

async function expectNothingLeft(run: Run, ports: number[]): Promise<void> {
  expect(sandboxesIn(run.root)).toEqual([]);
  expect(processesIn(run.root)).toEqual([]);
  for (const port of ports) expect(await portOpen(port), `port ${port} closed`).toBe(false);
  const owners = path.join(run.root, 'owners');
  expect(existsSync(owners) ? readdirSync(owners) : []).toEqual([]);
}

const WRITE_READ_PG = `psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atc "create table t(x int); insert into t values (1); select x from t" && test "$DB_HOST" = 127.0.0.1 && test -n "$DB_PASSWORD"`;

// Real services on two shared cores: generous limits, so load elsewhere does not fail a correct run.
describeNeeding('postgres', 'mysql', 'redis')('iact run (lightweight driver)', { timeout: 300_000 }, () => {
  afterEach(removeRuns);

  it('ten runs at once all pass, one interrupted with SIGINT exits 130, and nothing is left', async () => {
    const run = newRun();
    const started = Date.now();
    const writers = Array.from({ length: 9 }, () => iactRun(run, ['--service', 'postgres', '--', 'sh', '-c', WRITE_READ_PG]));
    const sleeper = iactRun(run, ['--service', 'postgres', '--', 'sh', '-c', 'echo started; exec sleep 60']);
    // Interrupt the sleeper once its command runs (its sandbox exists then).
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error('the interrupted run never started its command')), 240_000);
      sleeper.stdout!.on('data', (chunk: Buffer) => {
        if (chunk.toString().includes('started')) {
          clearTimeout(timer);
          resolve();
        }
      });
    });
    process.kill(sleeper.pid!, 'SIGINT');
    const results = await Promise.all(writers);
    const interrupted = await sleeper;
    const elapsed = Date.now() - started;
    const ports: number[] = [];
    for (const r of results) {
      expect(r.exitCode, String(r.stderr)).toBe(0);
      expect(String(r.stdout).trim().split('\n')).toEqual(['CREATE TABLE', 'INSERT 0 1', '1']);
      ports.push(...portsFrom(String(r.stderr)));
    }
    expect(interrupted.exitCode).toBe(130);
    expect(String(interrupted.stderr)).toMatch(/run-[0-9a-f]{10} destroyed after \d+\.\ds/);
    ports.push(...portsFrom(String(interrupted.stderr)));
    expect(new Set(ports).size).toBe(10); // never the same port twice
    await expectNothingLeft(run, ports);
    console.log(`10 parallel iact run (postgres) on 2 cores: ${elapsed} ms`);
  });

  it("propagates the command's exit code and still destroys the sandbox", async () => {
    const run = newRun();
    const r = await iactRun(run, ['--service', 'postgres', '--', 'sh', '-c', `${WRITE_READ_PG} >/dev/null && exit 7`]);
    expect(r.exitCode).toBe(7);
    await expectNothingLeft(run, portsFrom(String(r.stderr)));
  });

  it('SIGTERM: forwarded to the command, sandbox destroyed, exit 143', async () => {
    const run = newRun();
    const child = iactRun(run, ['--service', 'redis', '--', 'sh', '-c', 'echo started; exec sleep 60']);
    await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('started') && resolve()));
    process.kill(child.pid!, 'SIGTERM');
    const r = await child;
    expect(r.exitCode).toBe(143);
    await expectNothingLeft(run, portsFrom(String(r.stderr)));
  });

  it('a command that handles SIGINT itself decides the exit status (an interactive client survives Ctrl-C)', async () => {
    const run = newRun();
    const child = iactRun(run, [
      '--service',
      'redis',
      '--',
      'sh',
      '-c',
      'trap "echo caught; exit 0" INT; echo started; while :; do sleep 0.1; done',
    ]);
    await new Promise<void>((resolve) => child.stdout!.on('data', (c: Buffer) => c.toString().includes('started') && resolve()));
    process.kill(child.pid!, 'SIGINT');
    const r = await child;
    expect(r.exitCode, String(r.stderr)).toBe(0);
    expect(String(r.stdout)).toContain('caught');
    await expectNothingLeft(run, portsFrom(String(r.stderr)));
  });

  it("a terminal's Ctrl-C (SIGINT to the whole process group), while the sandbox is made and while the command runs", async () => {
    const run = newRun();
    const asTerminal = (args: string[]) =>
      execa(process.execPath, [cliPath, 'run', ...args], {
        cwd: run.cwd,
        env: { NO_COLOR: '1', IACT_RUN_ROOT: run.root },
        reject: false,
        stdin: 'ignore',
        detached: true,
      });
    // During creation: as soon as the sandbox directory exists, the driver script is still at work.
    const early = asTerminal(['--service', 'postgres', '--', 'sh', '-c', 'echo should-not-run']);
    const deadline = Date.now() + 120_000;
    while (sandboxesIn(run.root).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 10));
    expect(sandboxesIn(run.root)).toHaveLength(1);
    process.kill(-early.pid!, 'SIGINT');
    const e = await early;
    expect(e.exitCode, String(e.stderr)).toBe(130);
    expect(String(e.stdout)).not.toContain('should-not-run');
    // While the command runs: the command gets the signal from the terminal, iact cleans up.
    const late = asTerminal(['--service', 'postgres', '--', 'sh', '-c', 'echo started; exec sleep 60']);
    await new Promise<void>((resolve) => late.stdout!.on('data', (c: Buffer) => c.toString().includes('started') && resolve()));
    process.kill(-late.pid!, 'SIGINT');
    const l = await late;
    expect(l.exitCode, String(l.stderr)).toBe(130);
    await expectNothingLeft(run, [...portsFrom(String(e.stderr)), ...portsFrom(String(l.stderr))]);
  });

  it('redis and mysql: REDIS_* / DB_* exported, real clients write and read', async () => {
    const run = newRun();
    const [redis, mysql] = await Promise.all([
      iactRun(run, [
        '--service',
        'redis',
        '--',
        'sh',
        '-c',
        'redis-cli -h "$REDIS_HOST" -p "$REDIS_PORT" -a "$REDIS_PASSWORD" --no-auth-warning set k v >/dev/null && redis-cli -u "$REDIS_URL" --no-auth-warning get k',
      ]),
      iactRun(run, [
        '--service',
        'mysql',
        '--',
        'sh',
        '-c',
        'mariadb -h "$DB_HOST" -P "$DB_PORT" -u "$DB_USER" -p"$DB_PASSWORD" "$DB_NAME" -N -B -e "create table t(x int); insert into t values (42); select x from t"',
      ]),
    ]);
    expect(redis.exitCode, String(redis.stderr)).toBe(0);
    expect(String(redis.stdout).trim()).toBe('v');
    expect(mysql.exitCode, String(mysql.stderr)).toBe(0);
    expect(String(mysql.stdout).trim()).toBe('42');
    await expectNothingLeft(run, [...portsFrom(String(redis.stderr)), ...portsFrom(String(mysql.stderr))]);
  });

  it('a command that does not exist: exit 127, nothing left; a bad service: a diagnostic, exit 1', async () => {
    const run = newRun();
    const r = await iactRun(run, ['--service', 'redis', '--', 'no-such-command-iact']);
    expect(r.exitCode).toBe(127);
    expect(String(r.stderr)).toContain('cannot run no-such-command-iact: command not found');
    await expectNothingLeft(run, portsFrom(String(r.stderr)));
    const bad = await iactRun(run, ['--service', 'oracle', '--', 'true']);
    expect(bad.exitCode).toBe(1);
    expect(String(bad.stderr)).toMatch(
      /^error: --service oracle is not a service iact can run\n {2}fix: use one of: postgres, mysql, redis/m,
    );
    expect(String(bad.stderr)).not.toMatch(/\n\s+at /);
  });

  it('--service twice is refused before anything is made, and says how to get two services', async () => {
    const run = newRun();
    const r = await iactRun(run, ['--service', 'postgres', '--service', 'redis', '--', 'true']);
    expect(r.exitCode).toBe(1);
    expect(String(r.stderr)).toMatch(
      /^error: --service was given 2 times \(postgres, redis\); iact run makes one sandbox\n {2}fix: pass --service once; for two services, nest the runs: iact run --service postgres -- iact run --service redis -- COMMAND/m,
    );
    expect(sandboxesIn(run.root)).toEqual([]);
  });

  it('a run killed with SIGKILL together with its supervisor (power loss) leaves a sandbox that the next run removes', async () => {
    const run = newRun();
    const victim = iactRun(run, ['--service', 'redis', '--', 'sh', '-c', 'echo "started $$"; exec sleep 60']);
    const commandPid = await new Promise<number>((resolve) =>
      victim.stdout!.on('data', (c: Buffer) => {
        const m = /started (\d+)/.exec(c.toString());
        if (m) resolve(Number(m[1]));
      }),
    );
    // Everything at once, the supervisor too (bash/run-watchdog.sh, which would otherwise clean up).
    for (const pid of processesMentioning(run.root).filter((p) => readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('run-watchdog.sh')))
      process.kill(pid, 'SIGKILL');
    victim.kill('SIGKILL');
    process.kill(commandPid, 'SIGKILL');
    await victim;
    expect(sandboxesIn(run.root)).toHaveLength(1);
    const next = await iactRun(run, ['--service', 'redis', '--', 'true']);
    expect(next.exitCode, String(next.stderr)).toBe(0);
    expect(String(next.stderr)).toMatch(/removed run-[0-9a-f]{10}, left behind by run \d+ that no longer exists/);
    await expectNothingLeft(run, []);
  });
});

describeNeeding('postgres', 'mysql', 'redis')('withSandbox (library)', { timeout: 180_000 }, () => {
  afterEach(removeRuns);

  it('gives a live connection and destroys the sandbox after, also when the callback throws', async () => {
    const run = newRun();
    let seen = 0;
    const value = await withSandbox(
      { service: 'postgres' },
      async (conn) => {
        seen = conn.port;
        expect(conn.url).toBe(`postgresql://${conn.user}:${conn.password}@127.0.0.1:${conn.port}/${conn.database}`);
        const r = await execa('psql', [conn.url, '-Atc', 'select 40 + 2'], { reject: false });
        return String(r.stdout).trim();
      },
      { root: run.root },
    );
    expect(value).toBe('42');
    await expectNothingLeft(run, [seen]);

    let port = 0;
    await expect(
      withSandbox(
        { service: 'redis' },
        async (conn) => {
          port = conn.port;
          expect(await portOpen(conn.port)).toBe(true);
          throw new Error('test failed inside');
        },
        { root: run.root },
      ),
    ).rejects.toThrow('test failed inside');
    await expectNothingLeft(run, [port]);
  });

  it('retries on another port when the chosen one is taken before the driver binds it', async () => {
    const run = newRun();
    const busyPort = await freePort();
    const holder: Server = createServer();
    await new Promise<void>((resolve) => holder.listen(busyPort, '127.0.0.1', resolve));
    const candidates = [busyPort];
    const logs: string[] = [];
    try {
      const sandbox = await createEphemeral(
        { service: 'redis' },
        { root: run.root, log: (m) => logs.push(m), pickPort: async () => candidates.shift() ?? freePort() },
      );
      try {
        expect(sandbox.connection.port).not.toBe(busyPort);
        expect(await portOpen(sandbox.connection.port)).toBe(true);
        expect(logs.join('\n')).toContain(`port ${busyPort} was taken by another process`);
      } finally {
        await sandbox.destroy();
      }
      await expectNothingLeft(run, []);
    } finally {
      await new Promise((resolve) => holder.close(resolve));
    }
  });
});
