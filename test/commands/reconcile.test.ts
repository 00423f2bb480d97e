// iact reconcile against real lightweight sandboxes: self-healing, lock contention, protected
// sandboxes, backoff, clean stop on SIGTERM.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync, writeFileSync } from 'node:fs';
import { hostname } from 'node:os';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import type { ResultPromise } from 'execa';
import { afterEach, expect, it } from 'vitest';
import { describeNeeding, repoRoot, freePorts, makeProject, portOpen, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';
import { killProcessesIn } from '../sandbox/procs.js';
import type { PassLog } from '../../src/commands/reconcile.js';

const PG_PASSWORD = 'reconcile-Pg-Secret-91';
const REDIS_PASSWORD = 'reconcile-Redis-Secret-92';

const manifest = (ports: { pg: number; redis: number }, opts: { withRedis?: boolean; protectRedis?: boolean; extra?: string } = {}) =>
  devManifest(ports.pg, { redis: opts.withRedis === false ? undefined : ports.redis, protectRedis: opts.protectRedis, extra: opts.extra });

type PassLine = PassLog;

/** Collects the loop's stdout as parsed pass lines; every stdout line must be JSON.
 * Signals go through process.kill: execa's kill() adds a SIGKILL 5 s after a SIGTERM. */
class Loop {
  readonly lines: PassLine[] = [];
  readonly raw: string[] = [];
  stderr = '';
  private buffer = '';
  private waiters: (() => void)[] = [];
  constructor(readonly child: ResultPromise) {
    child.stdout!.on('data', (chunk: Buffer) => {
      this.buffer += chunk.toString();
      let i: number;
      while ((i = this.buffer.indexOf('\n')) >= 0) {
        const line = this.buffer.slice(0, i);
        this.buffer = this.buffer.slice(i + 1);
        this.raw.push(line);
        this.lines.push(JSON.parse(line) as PassLine);
        this.waiters.splice(0).forEach((w) => w());
      }
    });
    child.stderr!.on('data', (chunk: Buffer) => {
      this.stderr += chunk.toString();
    });
  }

  /** The first pass line after `from` (an index into lines) that matches. */
  async waitFor(predicate: (line: PassLine) => boolean, from: number, timeoutMs = 120_000): Promise<PassLine> {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
      const found = this.lines.slice(from).find(predicate);
      if (found) return found;
      if (Date.now() > deadline)
        throw new Error(`no matching pass line within ${timeoutMs} ms; got:\n${this.raw.join('\n')}\nstderr:\n${this.stderr}`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, 250);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
  }
}

function psql(port: number, sql: string): string {
  return execFileSync('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'app', '-Atc', sql], {
    env: { ...process.env, PGPASSWORD: PG_PASSWORD, PGCONNECT_TIMEOUT: '5' },
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  }).trim();
}

interface StatusJson {
  sandboxes: { name: string; pid: number | null; running: boolean | null; healthy: boolean | null; state: string }[];
}

describeNeeding('postgres', 'redis')('iact reconcile (lightweight driver)', { timeout: 240_000 }, () => {
  let project: Project;
  let loop: Loop | undefined;
  afterEach(async () => {
    if (loop && loop.child.exitCode === null) loop.child.kill('SIGKILL');
    await loop?.child;
    loop = undefined;
    const dir = project?.dir;
    await project?.cleanup();
    if (dir) killProcessesIn(dir); // a manifest left broken by a failed test cannot drive destroy
  });

  it('heals a killed and a vanished sandbox within one interval, skips a locked pass, stops on SIGTERM with the lock released', async () => {
    project = makeProject('iact-reconcile-');
    const [pg, rd] = await freePorts(2);
    const ports = { pg: pg!, redis: rd! };
    project.writeEnv(`DB_VM_PASSWORD=${PG_PASSWORD}\nREDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`);
    project.writeManifest('development', manifest(ports));

    loop = new Loop(project.spawnIact(['reconcile', '--interval', '2s']));
    const first = await loop.waitFor((l) => l.pass === 1, 0);
    expect(first).toMatchObject({ environment: 'development', changes_found: 3, applied: 3, failed: 0, next_pass_in_ms: 2000 });
    expect(psql(ports.pg, 'select 1')).toBe('1');
    psql(ports.pg, "create table notes(body text); insert into notes values ('survives')");
    const quiet = await loop.waitFor((l) => l.pass === 2, 0);
    expect(quiet).toMatchObject({ changes_found: 0, applied: 0, failed: 0 });

    // Kill postgres by hand (its pid from iact status): the next pass starts it again.
    const status = JSON.parse((await project.iact(['status', '--json'])).stdout) as StatusJson;
    const pgRow = status.sandboxes.find((s) => s.name === 'dev-postgres')!;
    expect(pgRow).toMatchObject({ running: true, healthy: true, state: 'in sync' });
    const killedAt = Date.now();
    const killedIndex = loop.lines.length;
    const lastPassBeforeKill = loop.lines.at(-1)!.pass;
    process.kill(pgRow.pid!, 'SIGKILL');
    const healed = await loop.waitFor(
      (l) => (l.actions ?? []).some((a) => a.address === 'sandbox.dev-postgres' && a.action === 'start'),
      killedIndex,
      60_000,
    );
    expect(healed).toMatchObject({ changes_found: 1, applied: 1, failed: 0 });
    expect(healed.actions).toEqual([{ address: 'sandbox.dev-postgres', action: 'start', outcome: 'started' }]);
    const healedAfter = Date.now() - killedAt;
    expect(psql(ports.pg, 'select body from notes')).toBe('survives');
    // Within one interval: the pass under way at the kill may have observed before it; the next one heals.
    expect(healed.pass).toBeLessThanOrEqual(lastPassBeforeKill + 2);
    console.log(
      `reconcile: postgres killed -> running again and accepting logins after ${healedAfter} ms (pass took ${healed.duration_ms} ms)`,
    );

    // A sandbox that vanished (destroyed behind iact's back) is created again.
    const vanishedIndex = loop.lines.length;
    execFileSync('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'destroy', 'dev-redis', '--yes', '--env', 'development'], {
      cwd: project.dir,
      stdio: 'ignore',
    });
    expect(await portOpen(ports.redis)).toBe(false);
    const recreated = await loop.waitFor(
      (l) => (l.actions ?? []).some((a) => a.address === 'sandbox.dev-redis' && a.action === 'create'),
      vanishedIndex,
      60_000,
    );
    expect(recreated.failed).toBe(0);
    expect(await portOpen(ports.redis)).toBe(true);

    // A lock held by another live apply (this test process stands in for it): the pass is skipped and logged.
    const lockFile = project.file('.iact/locks/development.lock');
    const lockedIndex = loop.lines.length;
    writeFileSync(
      lockFile,
      `${JSON.stringify({ pid: process.pid, host: hostname(), command: 'iact apply', started: new Date().toISOString() })}\n`,
    );
    const locked = await loop.waitFor((l) => l.skipped === 'locked', lockedIndex, 60_000);
    expect(locked.error).toMatch(/environment development is locked by pid \d+ on .* \(iact apply, started /);
    expect(locked.next_pass_in_ms).toBe(2000); // a lock is not a failure: no backoff
    rmSync(lockFile);
    await loop.waitFor((l) => l.skipped === undefined && l.failed === 0, loop.lines.indexOf(locked) + 1, 60_000);

    // SIGTERM: the loop stops, exit 0, lock released, every stdout line was one JSON object.
    process.kill(loop.child.pid!, 'SIGTERM');
    const result = await loop.child;
    expect(result.exitCode).toBe(0);
    expect(existsSync(lockFile)).toBe(false);
    for (const line of loop.raw)
      expect(Object.keys(JSON.parse(line) as object)).toEqual(
        expect.arrayContaining(['time', 'environment', 'pass', 'changes_found', 'applied', 'failed', 'duration_ms']),
      );
    const everything = loop.raw.join('\n') + loop.stderr;
    expect(everything).not.toContain(PG_PASSWORD);
    expect(everything).not.toContain(REDIS_PASSWORD);
  });

  it('SIGTERM in the middle of a pass: the running action finishes, the lock is released, exit 0', async () => {
    project = makeProject('iact-reconcile-');
    const [pg] = await freePorts(1);
    project.writeEnv(`DB_VM_PASSWORD=${PG_PASSWORD}\nREDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`);
    project.writeManifest('development', manifest({ pg: pg!, redis: 0 }, { withRedis: false }));
    loop = new Loop(project.spawnIact(['reconcile', '--interval', '30s']));
    const deadline = Date.now() + 120_000;
    while (!loop.stderr.includes('sandbox.dev-postgres: creating...') && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
    process.kill(loop.child.pid!, 'SIGTERM');
    const result = await loop.child;
    expect(result.exitCode, `exit ${String(result.exitCode)} signal ${String(result.signal)}\n${loop.raw.join('\n')}\n${loop.stderr}`).toBe(
      0,
    );
    expect(loop.stderr).toContain('SIGTERM received: finishing the actions already running');
    expect(loop.lines).toHaveLength(1);
    expect(loop.lines[0]!.actions).toEqual([{ address: 'sandbox.dev-postgres', action: 'create', outcome: 'created' }]);
    expect(loop.lines[0]!.next_pass_in_ms).toBeUndefined();
    expect(existsSync(project.file('.iact/locks/development.lock'))).toBe(false);
    expect(psql(pg!, 'select 1')).toBe('1');
  });

  it('a bad --interval is a diagnostic, not a stack trace', async () => {
    project = makeProject('iact-reconcile-');
    project.writeManifest('development', 'apiVersion: iact/v1\nenvironment: development\nsandboxes: {}\n');
    const r = await project.iact(['reconcile', '--interval', 'soon']);
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr).toMatch(/^error: --interval soon is not a duration\n {2}fix: write it like 30s, 5m or 1h/);
    const once = await project.iact(['reconcile', '--once']);
    expect(once.exitCode, once.stderr).toBe(0);
    expect(JSON.parse(once.stdout)).toMatchObject({ environment: 'development', pass: 1, changes_found: 1, applied: 1, failed: 0 });

    // A broken manifest: the pass's error names the file and line, as validate does.
    project.writeManifest('development', 'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  t: { service: none, port: 80 }\n');
    const broken = await project.iact(['reconcile', '--once']);
    expect(broken.exitCode).toBe(1);
    expect((JSON.parse(broken.stdout.trim()) as { error: string }).error).toMatch(
      /^environments\/development\.yaml:4:\d+ sandboxes\.t\.port is 80, out of range/,
    );
  });

  it('never deletes a protected sandbox, keeps healing the rest, and backs off on failures a retry may fix', async () => {
    project = makeProject('iact-reconcile-');
    const [pg, rd, busy] = await freePorts(3);
    const ports = { pg: pg!, redis: rd! };
    project.writeEnv(`DB_VM_PASSWORD=${PG_PASSWORD}\nREDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`);
    project.writeManifest('development', manifest(ports, { protectRedis: true }));
    const once = await project.iact(['reconcile', '--once']);
    expect(once.exitCode, once.stderr).toBe(0);
    const onceLine = JSON.parse(once.stdout.trim()) as PassLine;
    expect(onceLine).toMatchObject({ pass: 1, changes_found: 3, applied: 3, failed: 0 });
    expect(onceLine.next_pass_in_ms).toBeUndefined();

    // The protected redis leaves the manifest; postgres is stopped behind iact's back; a new
    // sandbox wants a port something else holds (a failure a retry may fix).
    const squatter: Server = createServer();
    await new Promise<void>((resolve) => squatter.listen(busy, '127.0.0.1', resolve));
    try {
      project.writeManifest(
        'development',
        manifest(ports, {
          withRedis: false,
          extra: `  extra-cache:\n    service: redis\n    port: ${busy}\n    password: \${REDIS_VM_PASSWORD}\n`,
        }),
      );
      execFileSync('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'stop', 'dev-postgres', '--env', 'development'], {
        cwd: project.dir,
        stdio: 'ignore',
      });
      loop = new Loop(project.spawnIact(['reconcile', '--interval', '1s']));
      const a = await loop.waitFor((l) => l.pass === 1, 0);
      const b = await loop.waitFor((l) => l.pass === 2, 0);
      expect(a.refused, JSON.stringify(a) + loop.stderr).toEqual(['sandbox.dev-redis']);
      expect(a.error).toMatch(/sandbox\.dev-redis would be deleted, but it is protected/);
      expect(a.error).toMatch(/sandbox\.extra-cache: [\s\S]*port \d+ is already in use/);
      expect(a.actions).toEqual(
        expect.arrayContaining([
          { address: 'sandbox.dev-postgres', action: 'start', outcome: 'started' },
          { address: 'sandbox.extra-cache', action: 'create', outcome: 'failed' },
        ]),
      );
      expect(a).toMatchObject({ applied: 1, failed: 2 });
      // The failing sandbox backs off alone (held for its own 2 s); the loop keeps its interval.
      expect(b).toMatchObject({ applied: 0, failed: 1, refused: ['sandbox.dev-redis'], held: ['sandbox.extra-cache'] });
      expect([a.next_pass_in_ms, b.next_pass_in_ms]).toEqual([1000, 1000]);
      expect(psql(ports.pg, 'select 1')).toBe('1');
      expect(await portOpen(ports.redis)).toBe(true);
      process.kill(loop.child.pid!, 'SIGINT');
      expect((await loop.child).exitCode).toBe(0);
      expect(existsSync(project.file('.iact/locks/development.lock'))).toBe(false);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }

    // Only the refusal left: no backoff (a person must act, retrying faster or slower changes nothing),
    // --once exits 1, and the protected sandbox is still there.
    project.writeManifest('development', manifest(ports, { withRedis: false }));
    loop = new Loop(project.spawnIact(['reconcile', '--interval', '1s']));
    const c = await loop.waitFor((l) => l.pass === 2, 0);
    expect(c).toMatchObject({ failed: 1, applied: 0, refused: ['sandbox.dev-redis'], next_pass_in_ms: 1000 });
    process.kill(loop.child.pid!, 'SIGTERM');
    expect((await loop.child).exitCode).toBe(0);
    const refused = await project.iact(['reconcile', '--once']);
    expect(refused.exitCode).toBe(1);
    expect(await portOpen(ports.redis)).toBe(true);
  });
});
