// Warm spares of iact run (docs/data.md "Warm spares") with the real lightweight driver and postgres:
// a run claims the spare the previous one left (the port and server pid recorded when it was made),
// two runs at once never share one, a request of another shape never takes it, an unclaimed spare
// stops itself after its TTL, IACT_RUN_SPARE_TTL=0 makes none; every test leaves no process behind.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterEach, describe, expect, it } from 'vitest';
import { withSandbox } from '../../src/sandbox/ephemeral.js';
import { listSpares, shapeKey, spareTtlSeconds, type SpareShape } from '../../src/sandbox/spares.js';
import { cliPath, describeNeeding, freePort } from '../helpers/iact-project.js';
import { waitFor } from '../helpers/services.js';
import { killProcessesIn, processesIn } from './procs.js';

let roots: { root: string; cwd: string }[] = [];

function newRoot(): { root: string; cwd: string } {
  const r = {
    root: mkdtempSync(path.join(tmpdir(), 'iact-spare-root-')),
    cwd: mkdtempSync(path.join(tmpdir(), 'iact-spare-cwd-')),
  };
  roots.push(r);
  return r;
}

/** Every keeper under ROOT has published its spare or gone: none is still starting or making one. */
async function settle(root: string): Promise<void> {
  const keepers = () =>
    processesIn(root).filter((pid) => {
      try {
        return readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('__spare');
      } catch {
        return false;
      }
    });
  await waitFor(async () => {
    const ready = (await listSpares(root)).ready.map((s) => s.pid);
    return keepers().every((pid) => ready.includes(pid));
  }, 60_000);
}

async function cleanup(): Promise<void> {
  for (const r of roots) {
    await settle(r.root);
    // The command users have; then whatever a failed test left.
    await execa(process.execPath, [cliPath, 'run', '--clean-spares'], { env: { IACT_RUN_ROOT: r.root }, reject: false });
    killProcessesIn(r.root);
    rmSync(r.root, { recursive: true, force: true });
    rmSync(r.cwd, { recursive: true, force: true });
  }
  roots = [];
}

function iactRun(r: { root: string; cwd: string }, args: string[], ttl = '30') {
  return execa(process.execPath, [cliPath, 'run', ...args], {
    cwd: r.cwd,
    env: { NO_COLOR: '1', IACT_RUN_ROOT: r.root, IACT_RUN_SPARE_TTL: ttl },
    reject: false,
    stdin: 'ignore',
  });
}

/** The one ready spare under ROOT, once its keeper has published it. */
async function readySpare(root: string) {
  expect(await waitFor(async () => (await listSpares(root)).ready.length === 1, 60_000), 'a spare is made').toBe(true);
  const [spare] = (await listSpares(root)).ready;
  return spare!;
}

const PRINT_PORT = 'psql "$DATABASE_URL" -v ON_ERROR_STOP=1 -Atc "select 1" >/dev/null && echo "port=$PGPORT"';
const portOf = (stdout: string) => Number(/port=(\d+)/.exec(stdout)?.[1]);

async function expectNothingLeft(root: string): Promise<void> {
  expect(await waitFor(() => processesIn(root).length === 0, 30_000), `no process under ${root}: ${processesIn(root).join(' ')}`).toBe(
    true,
  );
  const runDir = path.join(root, 'run');
  expect(existsSync(runDir) ? readdirSync(runDir).filter((n) => n.startsWith('run-')) : []).toEqual([]);
  const spares = path.join(root, 'spares');
  expect(existsSync(spares) ? readdirSync(spares) : []).toEqual([]);
  const owners = path.join(root, 'owners');
  expect(existsSync(owners) ? readdirSync(owners) : []).toEqual([]);
}

describe('spare shapes and TTL', () => {
  it('IACT_RUN_SPARE_TTL: default 60, 0 turns spares off, nonsense is the default, at most a day', () => {
    expect(spareTtlSeconds({})).toBe(60);
    expect(spareTtlSeconds({ IACT_RUN_SPARE_TTL: '0' })).toBe(0);
    expect(spareTtlSeconds({ IACT_RUN_SPARE_TTL: '2.5' })).toBe(2.5);
    expect(spareTtlSeconds({ IACT_RUN_SPARE_TTL: 'soon' })).toBe(60);
    expect(spareTtlSeconds({ IACT_RUN_SPARE_TTL: '-1' })).toBe(60);
    expect(spareTtlSeconds({ IACT_RUN_SPARE_TTL: '1e12' })).toBe(86_400);
  });

  it('a shape is its service, version, settings, admin, durable, tls and driver; setting order does not matter', () => {
    const base: SpareShape = {
      driver: 'lightweight',
      service: 'postgres',
      settings: { fsync: 'off', a: '1' },
      admin: false,
      durable: false,
      tls: false,
    };
    const key = shapeKey(base);
    expect(shapeKey({ ...base, settings: { a: '1', fsync: 'off' } })).toBe(key);
    for (const other of [
      { ...base, settings: { fsync: 'off', a: '2' } },
      { ...base, admin: true },
      { ...base, durable: true },
      { ...base, tls: true },
      { ...base, version: '16' },
      { ...base, service: 'redis' as const },
      { ...base, driver: 'namespace' as const },
    ]) {
      expect(shapeKey(other)).not.toBe(key);
    }
  });
});

describeNeeding('postgres')('warm spares of iact run', { timeout: 300_000 }, () => {
  afterEach(cleanup);

  it('a run takes the spare the previous run left, leaves the next one, and --clean-spares removes it', async () => {
    const r = newRoot();
    const first = await iactRun(r, ['--service', 'postgres', '--', 'true']);
    expect(first.exitCode, first.stderr).toBe(0);
    const spare = await readySpare(r.root);
    expect(spare.service).toBe('postgres');
    // Its server runs in its data directory; its password is in no process's argv.
    expect(readFileSync(`/proc/${spare.serverPid}/cmdline`, 'utf8')).toContain('postgres');
    const password = readFileSync(path.join(r.root, 'run', spare.name, 'secrets', 'password'), 'utf8');
    expect(password.length).toBeGreaterThan(0);
    for (const pid of processesIn(r.root)) {
      expect(readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes(password)).toBe(false);
    }

    const listed = await execa(process.execPath, [cliPath, 'run', '--spares'], { env: { IACT_RUN_ROOT: r.root }, reject: false });
    expect(listed.stdout).toContain(spare.name);

    const second = await iactRun(r, ['--service', 'postgres', '--', 'sh', '-c', PRINT_PORT]);
    expect(second.exitCode, second.stderr).toBe(0);
    expect(portOf(second.stdout)).toBe(spare.port);
    expect(second.stderr).toContain(`took the warm spare ${spare.name}`);
    // The claimed spare's server is gone with its run; a fresh spare (a new name and password) waits.
    expect(await waitFor(() => !existsSync(`/proc/${spare.serverPid}`), 10_000)).toBe(true);
    const next = await readySpare(r.root);
    expect(next.name).not.toBe(spare.name);
    expect(readFileSync(path.join(r.root, 'run', next.name, 'secrets', 'password'), 'utf8')).not.toBe(password);

    const clean = await execa(process.execPath, [cliPath, 'run', '--clean-spares'], { env: { IACT_RUN_ROOT: r.root }, reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    await expectNothingLeft(r.root);
  });

  it('two runs at once each get a server of their own; another shape never takes the spare', async () => {
    const r = newRoot();
    expect((await iactRun(r, ['--service', 'postgres', '--', 'true'])).exitCode).toBe(0);
    const spare = await readySpare(r.root);

    // --setting, --admin and --durable are other shapes: the spare stays where it is (each leaves its own).
    for (const extra of [['--setting', 'max_connections=50'], ['--admin'], ['--durable']]) {
      const other = await iactRun(r, ['--service', 'postgres', ...extra, '--', 'sh', '-c', PRINT_PORT]);
      expect(other.exitCode, other.stderr).toBe(0);
      expect(portOf(other.stdout)).not.toBe(spare.port);
      expect(other.stderr).not.toContain('warm spare');
    }
    await settle(r.root);
    const shapes = (await listSpares(r.root)).ready;
    expect(shapes.map((s) => s.name)).toContain(spare.name);
    expect(new Set(shapes.map((s) => s.shape)).size).toBe(shapes.length);
    // --port and --from never take one either.
    const fixed = await iactRun(r, ['--service', 'postgres', '--port', String(await freePort()), '--', 'sh', '-c', PRINT_PORT]);
    expect(fixed.stderr).not.toContain('warm spare');
    expect((await listSpares(r.root)).ready.map((s) => s.name)).toContain(spare.name);

    const hold = `${PRINT_PORT}; sleep 1`;
    const [a, b] = await Promise.all([
      iactRun(r, ['--service', 'postgres', '--', 'sh', '-c', hold]),
      iactRun(r, ['--service', 'postgres', '--', 'sh', '-c', hold]),
    ]);
    expect(a.exitCode, a.stderr).toBe(0);
    expect(b.exitCode, b.stderr).toBe(0);
    const ports = [portOf(a.stdout), portOf(b.stdout)];
    expect(ports[0]).not.toBe(ports[1]);
    expect(ports.filter((p) => p === spare.port)).toHaveLength(1);
    expect([a.stderr, b.stderr].filter((e) => e.includes(`took the warm spare ${spare.name}`))).toHaveLength(1);

    await settle(r.root);
    const clean = await execa(process.execPath, [cliPath, 'run', '--clean-spares'], { env: { IACT_RUN_ROOT: r.root }, reject: false });
    expect(clean.exitCode, clean.stderr).toBe(0);
    await expectNothingLeft(r.root);
  });

  it('withSandbox leaves a spare and takes one as iact run does; spare: false does neither', async () => {
    const r = newRoot();
    const env = { ...process.env, IACT_RUN_SPARE_TTL: '30' };
    const first = await withSandbox({ service: 'postgres' }, async (c) => c.port, { root: r.root, env });
    const spare = await readySpare(r.root);
    expect(spare.port).not.toBe(first);
    const off = await withSandbox({ service: 'postgres' }, async (c) => c.port, { root: r.root, env, spare: false });
    expect(off).not.toBe(spare.port);
    const second = await withSandbox({ service: 'postgres' }, async (c) => c.port, { root: r.root, env });
    expect(second).toBe(spare.port);
  });

  it('an unclaimed spare stops itself after its TTL; IACT_RUN_SPARE_TTL=0 makes none', async () => {
    const r = newRoot();
    expect((await iactRun(r, ['--service', 'postgres', '--', 'true'], '2')).exitCode).toBe(0);
    const spare = await readySpare(r.root);
    expect(await waitFor(() => !existsSync(`/proc/${spare.pid}`), 30_000), 'the keeper exits').toBe(true);
    expect(existsSync(`/proc/${spare.serverPid}`)).toBe(false);
    await expectNothingLeft(r.root);

    const off = newRoot();
    const run = await iactRun(off, ['--service', 'postgres', '--', 'true'], '0');
    expect(run.exitCode, run.stderr).toBe(0);
    // No keeper was started: nothing at all under the root, now or a moment later.
    await new Promise((res) => setTimeout(res, 1000));
    expect(processesIn(off.root)).toEqual([]);
    await expectNothingLeft(off.root);
  });
});
