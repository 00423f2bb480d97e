// Issue 5 end to end, with the real lightweight driver and real clients.
import { execFileSync, spawn } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, copyFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import {
  describeNeeding,
  cliPath,
  freePorts,
  makeProject,
  projectFor,
  portOpen,
  processesUnder,
  type Project,
  needs,
} from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';

const PG_PASSWORD = 'pg-Secret-4711';
const MY_PASSWORD = 'my-Secret-4712';
const REDIS_PASSWORD = 'redis-Secret-4713';
const ENV_TEXT = `DB_VM_PASSWORD=${PG_PASSWORD}\nMYSQL_VM_PASSWORD=${MY_PASSWORD}\nREDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`;
const SECRETS = [PG_PASSWORD, MY_PASSWORD, REDIS_PASSWORD];

/** The three services of the end-to-end scenario; withRedis: false drops redis (and binds the cache to memory). */
const manifest = (ports: { pg: number; my: number; redis: number }, opts: { withRedis?: boolean } = {}) =>
  devManifest(ports.pg, { mysql: ports.my, redis: opts.withRedis === false ? undefined : ports.redis, cache: true });

function psql(port: number, sql: string, password = PG_PASSWORD): string {
  return execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'app', '-Atc', sql], {
    env: { ...process.env, PGPASSWORD: password, PGCONNECT_TIMEOUT: '5' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function mariadb(port: number, sql: string, password = MY_PASSWORD): string {
  return execFileSync('mariadb', ['-h', '127.0.0.1', '-P', String(port), '-u', 'app', `-p${password}`, 'app', '-N', '-B', '-e', sql], {
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

function redis(port: number, ...args: string[]): string {
  return execFileSync('redis-cli', ['-h', '127.0.0.1', '-p', String(port), '--no-auth-warning', '-a', REDIS_PASSWORD, ...args], {
    encoding: 'utf8',
  }).trim();
}

const t0 = Date.now();
const trace = (step: string) => {
  if (process.env.IACT_TEST_TRACE === '1') console.error(`[${((Date.now() - t0) / 1000).toFixed(1)}s] ${step}`);
};

function expectNoSecrets(...texts: string[]): void {
  for (const text of texts) for (const secret of SECRETS) expect(text).not.toContain(secret);
}

describeNeeding('postgres', 'mysql', 'redis')('apply end to end (lightweight driver)', { concurrent: true }, () => {
  it('converges, keeps data across a restart, backs up before a delete, and destroys everything', async (t) => {
    const project = projectFor(t);
    const [pg, my, rd, pg2] = await freePorts(4);
    const ports = { pg: pg!, my: my!, redis: rd! };
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', manifest(ports));

    trace("const first = await project.iact(['apply', '--auto-approve']");
    const first = await project.iact(['apply', '--auto-approve']);
    expect(first.stderr).toBe('');
    expect(first.exitCode, first.stdout + first.stderr).toBe(0);
    expect(first.stdout).toContain('Apply complete: 3 created, 0 updated, 0 replaced, 0 deleted, 0 started.');
    expectNoSecrets(first.stdout, first.stderr);

    // Real logins with the manifest's passwords; a wrong one is refused.
    expect(psql(ports.pg, 'select 1')).toBe('1');
    expect(() => psql(ports.pg, 'select 1', 'wrong-password')).toThrow();
    psql(ports.pg, "create table notes(body text); insert into notes values ('kept')");
    mariadb(ports.my, "create table notes(body text); insert into notes values ('kept')");
    expect(redis(ports.redis, 'SET', 'greeting', 'kept')).toBe('OK');

    const envFile = project.file('.iact/env/development.env');
    expect(statSync(envFile).mode & 0o777).toBe(0o600);
    expect(readFileSync(envFile, 'utf8')).toContain(`DB_PORT='${ports.pg}'`);

    trace("const clean = await project.iact(['plan', '--detailed-exitco");
    const clean = await project.iact(['plan', '--detailed-exitcode']);
    expect(clean.stdout).toContain('No changes. development matches its manifest.');
    expect(clean.exitCode, clean.stdout + clean.stderr).toBe(0);

    // A port change is a restart, and the data survives it.
    project.writeManifest('development', manifest({ ...ports, pg: pg2! }));
    trace("const portPlan = await project.iact(['plan', '--detailed-exi");
    const portPlan = await project.iact(['plan', '--detailed-exitcode']);
    expect(portPlan.exitCode, portPlan.stdout + portPlan.stderr).toBe(2);
    expect(portPlan.stdout).toMatch(/sandbox\.dev-postgres .*updated in place \(restart\)/);
    expect(portPlan.stdout).toContain('Plan: 0 to create, 1 to update, 0 to replace, 0 to delete, 0 to start.');
    trace("const portApply = await project.iact(['apply', '--auto-appro");
    const portApply = await project.iact(['apply', '--auto-approve']);
    expect(portApply.exitCode, portApply.stdout + portApply.stderr).toBe(0);
    expect(psql(pg2!, 'select body from notes')).toBe('kept');
    expect(await portOpen(ports.pg)).toBe(false);

    // Removing a sandbox from the manifest is a delete with data-loss, backed up first.
    project.writeManifest('development', manifest({ ...ports, pg: pg2! }, { withRedis: false }));
    trace("const deletePlan = await project.iact(['plan']);");
    const deletePlan = await project.iact(['plan']);
    expect(deletePlan.stdout).toMatch(/sandbox\.dev-redis .*will be deleted \(data-loss: backup/);
    trace("const deleteApply = await project.iact(['apply', '--auto-app");
    const deleteApply = await project.iact(['apply', '--auto-approve']);
    expect(deleteApply.exitCode, deleteApply.stdout + deleteApply.stderr).toBe(0);
    expect(deleteApply.stdout).toContain('1 deleted');
    const backups = readdirSync(project.file('.iact/backups/development'));
    const rdb = backups.find((f) => f.startsWith('dev-redis-'));
    expect(rdb).toBeDefined();
    expect(statSync(project.file(`.iact/backups/development/${rdb}`)).mode & 0o077).toBe(0);

    // The backup restores: a fresh redis-server loads it and has the key.
    const restoreDir = mkdtempSync(path.join(tmpdir(), 'iact-restore-'));
    const [restorePort] = await freePorts(1);
    copyFileSync(project.file(`.iact/backups/development/${rdb}`), path.join(restoreDir, 'dump.rdb'));
    const server = spawn(
      'redis-server',
      ['--port', String(restorePort), '--bind', '127.0.0.1', '--dir', restoreDir, '--dbfilename', 'dump.rdb', '--save', ''],
      { stdio: 'ignore' },
    );
    try {
      await waitFor(() => portOpen(restorePort!));
      expect(execFileSync('redis-cli', ['-p', String(restorePort), 'GET', 'greeting'], { encoding: 'utf8' }).trim()).toBe('kept');
    } finally {
      server.kill('SIGKILL');
      rmSync(restoreDir, { recursive: true, force: true });
    }

    const history = readFileSync(project.file('.iact/history/development.jsonl'), 'utf8').trim().split('\n');
    for (const line of history) expect(() => JSON.parse(line)).not.toThrow();
    expectNoSecrets(history.join('\n'), deletePlan.stdout, portPlan.stdout);

    trace("const destroyed = await project.iact(['destroy', '--auto-app");
    const destroyed = await project.iact(['destroy', '--auto-approve']);
    expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain('2 deleted');
    expect(await portOpen(pg2!)).toBe(false);
    expect(await portOpen(ports.my)).toBe(false);
    expect(processesUnder(project.dir)).toEqual([]);
    const left = existsSync(project.file('.iact/sandboxes/development')) ? readdirSync(project.file('.iact/sandboxes/development')) : [];
    expect(left.filter((n) => !n.startsWith('.'))).toEqual([]);
    expect(existsSync(envFile)).toBe(false);
  }, 240_000);

  it('refuses without a terminal and without --auto-approve, and says how to proceed', async (t) => {
    const project = projectFor(t);
    const [pg, my, rd] = await freePorts(3);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', manifest({ pg: pg!, my: my!, redis: rd! }));
    const refused = await project.iact(['apply']);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain('needs confirmation');
    expect(refused.stderr).toContain('--auto-approve');
    expect(refused.stderr).not.toMatch(/\n\s+at /);
  });

  it('keeps two applies apart: one runs, the other names the lock holder and exits 1', async (t) => {
    const project = projectFor(t);
    const [pg, my, rd] = await freePorts(3);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', manifest({ pg: pg!, my: my!, redis: rd! }));
    const [a, b] = await Promise.all([project.iact(['apply', '--auto-approve']), project.iact(['apply', '--auto-approve'])]);
    const codes = [a.exitCode, b.exitCode].sort();
    expect(codes).toEqual([0, 1]);
    const loser = a.exitCode === 1 ? a : b;
    expect(loser.stderr).toMatch(/environment development is locked by pid \d+ on .* \(iact apply, started /);
    expect(loser.stderr).toMatch(/if pid \d+ is not an iact \(ps -p \d+ -o args=\), delete .*development\.lock/);

    // With --lock-timeout the second waits and then finds nothing to do.
    project.writeManifest('development', manifest({ pg: pg!, my: my!, redis: rd! }, { withRedis: false }));
    const [c, d] = await Promise.all([
      project.iact(['apply', '--auto-approve', '--lock-timeout', '60s']),
      project.iact(['apply', '--auto-approve', '--lock-timeout', '60s']),
    ]);
    expect([c.exitCode, d.exitCode]).toEqual([0, 0]);
    expect(existsSync(project.file('.iact/locks/development.lock'))).toBe(false);
  });

  it('lets unrelated sandboxes converge when one fails, and names it', async (t) => {
    const project = projectFor(t);
    const [pg, my, rd] = await freePorts(3);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', manifest({ pg: pg!, my: my!, redis: rd! }));
    // Something else already listens on the redis port: the driver must refuse that sandbox.
    const squatter: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(rd, '127.0.0.1', resolve));
    try {
      const result = await project.iact(['apply', '--auto-approve']);
      expect(result.exitCode, result.stdout + result.stderr).toBe(1);
      expect(result.stdout).toContain('Apply failed: 2 created, 0 updated, 0 replaced, 0 deleted, 0 started. Failed: sandbox.dev-redis.');
      // The cache settings would point at the squatter: the env file waits for a converged apply.
      expect(result.stdout).toContain('.iact/env/development.env: left as it was, because sandbox.dev-redis did not converge');
      expect(existsSync(project.file('.iact/env/development.env'))).toBe(false);
      expect(psql(pg!, 'select 1')).toBe('1');
      expect(mariadb(my!, 'select 1')).toBe('1');
      expectNoSecrets(result.stdout, result.stderr);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    const retry = await project.iact(['apply', '--auto-approve']);
    expect(retry.exitCode, retry.stdout + retry.stderr).toBe(0);
    expect(retry.stdout).toContain('1 created');
    expect(project.read('.iact/env/development.env')).toContain(`REDIS_PORT='${rd}'`);
  });

  it('a replace that could not create the new sandbox deletes nothing (a version not installed, a port in use)', async (t) => {
    const project = projectFor(t);
    const [pg, taken] = await freePorts(2);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', devManifest(pg!));
    expect((await project.iact(['apply', '--auto-approve'])).exitCode).toBe(0);
    psql(pg!, 'CREATE TABLE kept (v int); INSERT INTO kept VALUES (42)');

    project.writeManifest('development', devManifest(pg!).replace(`port: ${pg}`, `port: ${pg}\n    version: "99"`));
    const missing = await project.iact(['apply', '--auto-approve']);
    expect(missing.exitCode, missing.stdout + missing.stderr).toBe(1);
    expect(missing.stdout).toContain('PostgreSQL 99 is not installed');
    expect(missing.stdout).not.toContain('backup:');
    expect(psql(pg!, 'SELECT v FROM kept')).toBe('42');

    // A driver change (a replace) onto a port something else listens on.
    const squatter: Server = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    try {
      project.writeManifest('development', devManifest(pg!).replace(`port: ${pg}`, `port: ${taken}\n    driver: namespace`));
      const busy = await project.iact(['apply', '--auto-approve']);
      expect(busy.exitCode, busy.stdout + busy.stderr).toBe(1);
      expect(busy.stdout).toContain(`port ${taken} is already in use`);
      expect(psql(pg!, 'SELECT v FROM kept')).toBe('42');
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
  });

  it('a create the server refused is planned as a create again, and converges once the manifest is fixed', async (t) => {
    const project = projectFor(t);
    const [pg, rd] = await freePorts(2);
    project.writeEnv(ENV_TEXT);
    const withSetting = (value: string) =>
      devManifest(pg!, { redis: rd! }).replace(
        '    password: ${REDIS_VM_PASSWORD}',
        `    password: \${REDIS_VM_PASSWORD}\n    settings: { maxmemory: ${value} }`,
      );
    project.writeManifest('development', withSetting('lots'));
    const refused = await project.iact(['apply', '--auto-approve']);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stdout).toContain('Failed: sandbox.dev-redis');
    const plan = await project.iact(['plan']);
    expect(plan.stdout).toContain('sandbox.dev-redis (redis, lightweight) will be created');
    expect(plan.stdout).toContain('half-made');

    project.writeManifest('development', withSetting('100mb'));
    const fixed = await project.iact(['apply', '--auto-approve']);
    expect(fixed.exitCode, fixed.stdout + fixed.stderr).toBe(0);
    expect(redis(rd!, 'CONFIG', 'GET', 'maxmemory')).toContain('104857600');
    expect((await project.iact(['plan', '--detailed-exitcode'])).exitCode).toBe(0);
  });

  it('--json: stdout is one JSON event per line, ending with the summary', async (t) => {
    const project = projectFor(t);
    const [pg] = await freePorts(1);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', devManifest(pg!));
    const r = await project.iact(['apply', '--auto-approve', '--json']);
    expect(r.exitCode, r.stdout + r.stderr).toBe(0);
    const events = r.stdout
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as { type: string; address?: string });
    expect(events.map((e) => e.type)).toEqual(expect.arrayContaining(['begin', 'end']));
    expect(events.find((e) => e.type === 'begin')?.address).toBe('sandbox.dev-postgres');
    expect(events.at(-1)?.type).toBe('summary');
    expect(r.stdout).not.toContain('Plan: 1 to create'); // no human text among the events
    expectNoSecrets(r.stdout, r.stderr);
  });

  it('destroy honours protect: true from the manifest even before it was applied', async (t) => {
    const project = projectFor(t);
    const [pg] = await freePorts(1);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', devManifest(pg!));
    expect((await project.iact(['apply', '--auto-approve'])).exitCode).toBe(0);
    project.writeManifest(
      'development',
      devManifest(pg!).replace('    password: ${DB_VM_PASSWORD}', '    password: ${DB_VM_PASSWORD}\n    protect: true'),
    );
    const refused = await project.iact(['destroy', '--auto-approve', '--no-backup']);
    expect(refused.exitCode, refused.stdout + refused.stderr).toBe(1);
    expect(refused.stderr).toContain('sandbox.dev-postgres would be deleted, but it is protected');
    expect(psql(pg!, 'select 1')).toBe('1');
    const allowed = await project.iact(['destroy', '--auto-approve', '--no-backup', '--allow-destroy']);
    expect(allowed.exitCode, allowed.stdout + allowed.stderr).toBe(0);
  });

  it('refuses a stale saved plan and says what changed', async (t) => {
    const project = projectFor(t);
    const [pg, my, rd] = await freePorts(3);
    project.writeEnv(ENV_TEXT);
    project.writeManifest('development', manifest({ pg: pg!, my: my!, redis: rd! }, { withRedis: false }));
    const saved = await project.iact(['plan', '--out', 'dev.plan']);
    expect(saved.exitCode, saved.stdout + saved.stderr).toBe(0);
    const planText = project.read('dev.plan');
    expectNoSecrets(planText);
    project.writeEnv(ENV_TEXT.replace(PG_PASSWORD, 'another-Secret-9'));
    const stale = await project.iact(['apply', 'dev.plan']);
    expect(stale.exitCode, stale.stdout + stale.stderr).toBe(1);
    expect(stale.stderr).toContain('Saved plan is stale');
    expect(stale.stderr).toContain('variable DB_VM_PASSWORD changed');
    expect(stale.stderr).not.toContain('development.yaml changed'); // the file did not: only a variable
    expect(stale.stderr).not.toContain('another-Secret-9');

    project.writeEnv(ENV_TEXT);
    const applied = await project.iact(['apply', 'dev.plan']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(applied.stdout).toContain('Apply complete: 2 created');
  });
});

/** Two sandboxes of service `none`: a plan with changes, and a prompt, without any database binary. */
const NONE_MANIFEST = [
  'apiVersion: iact/v1',
  'environment: development',
  'sandboxes:',
  '  a: { service: none, driver: lightweight, port: 41236 }',
  '  b: { service: none, driver: lightweight, port: 41237 }',
  '',
].join('\n');

/** Runs the CLI on a pseudo-terminal (python3's pty) and types `keys` at the confirmation prompt. */
function answerPrompt(cwd: string, args: string[], keys: string): { exitCode: number; output: string } {
  const driver = [
    'import os, pty, sys, time, select',
    'pid, fd = pty.fork()',
    'if pid == 0:',
    '    os.execvp(sys.argv[2], sys.argv[2:])',
    "out = b''; sent = False",
    'while True:',
    '    try:',
    '        r, _, _ = select.select([fd], [], [], 30)',
    '        if not r: break',
    '        d = os.read(fd, 4096)',
    '        if not d: break',
    '        out += d',
    "        if not sent and b'will be accepted' in out:",
    '            time.sleep(0.2); os.write(fd, sys.argv[1].encode()); sent = True',
    '    except OSError: break',
    '_, st = os.waitpid(pid, 0)',
    "sys.stdout.write(out.decode(errors='replace'))",
    "sys.stdout.write('\\nEXIT %d\\n' % os.waitstatus_to_exitcode(st))",
  ].join('\n');
  const out = execFileSync('python3', ['-c', driver, keys, process.execPath, cliPath, ...args], {
    cwd,
    env: { ...process.env, NO_COLOR: '1', IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' },
    encoding: 'utf8',
  });
  const exit = /\nEXIT (-?\d+)\n$/.exec(out);
  return { exitCode: Number(exit?.[1]), output: out };
}

describe('apply: flags and saved plans (no services needed)', () => {
  let project: Project;
  afterEach(async () => project?.cleanup());

  it('refuses --target with a saved plan, which already fixes its targets', async () => {
    project = makeProject();
    project.writeManifest('development', NONE_MANIFEST);
    expect((await project.iact(['plan', '--out', 'dev.plan'])).exitCode).toBe(0);
    const run = await project.iact(['apply', 'dev.plan', '--target', 'a']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'error: --target cannot be combined with a saved plan\n' +
        '  fix: the plan file already fixes its targets: make it with iact plan --target a --out FILE, then run iact apply FILE',
    );
    expect(existsSync(project.file('.iact/sandboxes/development'))).toBe(false);
    const otherEnv = await project.iact(['apply', 'dev.plan', '--env', 'staging']);
    expect(otherEnv.exitCode).toBe(1);
    expect(otherEnv.stderr).toContain('error: dev.plan is a plan for development, not staging');
  });

  it('echoes --parallelism as typed when it is not a positive whole number', async () => {
    project = makeProject();
    project.writeManifest('development', NONE_MANIFEST);
    for (const value of ['abc', '4x', '0']) {
      const run = await project.iact(['apply', '--auto-approve', '--parallelism', value]);
      expect(run.exitCode).toBe(1);
      expect(run.stderr).toBe(`error: --parallelism ${value} is not a positive whole number\n  fix: pass e.g. --parallelism 4`);
    }
  });

  it('refuses a plan file that is not JSON without printing its content', async () => {
    project = makeProject();
    project.writeManifest('development', NONE_MANIFEST);
    const { writeFileSync } = await import('node:fs');
    writeFileSync(project.file('secret.plan'), 'PW=hunter2xyz\n');
    const run = await project.iact(['apply', 'secret.plan']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^secret\.plan:1:1 {2}error: secret\.plan is not an iact plan file \(not JSON\)\n {2}fix: /);
    expect(run.stderr).not.toContain('hunter2');
  });

  it('Ctrl-C or Ctrl-D at the prompt changes nothing, like "no"; Ctrl-C exits 130', async (t) => {
    needs(t, 'python3'); // its pty module gives the CLI a terminal
    project = makeProject();
    project.writeManifest('development', NONE_MANIFEST);
    for (const [keys, code] of [
      ['\u0003', 130],
      ['\u0004', 1],
      ['no\r', 1],
    ] as const) {
      const run = answerPrompt(project.dir, ['apply'], keys);
      expect(run.exitCode, run.output).toBe(code);
      expect(run.output).toContain('error: Apply cancelled: the answer was not "yes"');
      expect(run.output).toContain('fix: nothing was changed');
      expect(run.output).not.toContain('Aborted with Ctrl');
      expect(run.output).not.toContain('IACT_DEBUG');
    }
    expect(existsSync(project.file('.iact/sandboxes/development'))).toBe(false);
  });
});

async function waitFor(check: () => Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((r) => setTimeout(r, 50));
  }
  throw new Error('timed out');
}
