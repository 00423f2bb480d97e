// The docker driver (bash/virtualize.sh) against a real engine and the images scripts/docker-images.sh
// builds from this machine's postgres, mariadbd and redis-server: real containers, real logins.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { getDriver } from '../../src/drivers/index.js';
import { parseStatus } from '../../src/drivers/bash-driver.js';
import { toDriverSpec } from '../../src/drivers/spec.js';
import type { SandboxStatus } from '../../src/drivers/types.js';
import {
  containerOf,
  docker,
  driverRunner,
  ensureEngine,
  ensureImages,
  query,
  stopEngine,
  virtualizeSh,
  type DriverRunner,
  type Engine,
} from '../helpers/docker.js';
import { describeNeeding, freePorts, portOpen } from '../helpers/iact-project.js';

const ENV = `dkt${process.pid}`;

type Service = 'postgres' | 'mysql' | 'redis';
const CASES: Array<{ service: Service; write: string[]; read: string[]; expected: string }> = [
  { service: 'postgres', write: ["CREATE TABLE t (v text); INSERT INTO t VALUES ('kept')"], read: ['SELECT v FROM t'], expected: 'kept' },
  {
    service: 'mysql',
    write: ["CREATE TABLE t (v varchar(10)); INSERT INTO t VALUES ('kept')"],
    read: ['SELECT v FROM t'],
    expected: 'kept',
  },
  { service: 'redis', write: ['SET', 'k', 'kept'], read: ['GET', 'k'], expected: 'kept' },
];

describeNeeding('docker')('docker driver (bash/virtualize.sh)', () => {
  let engine: Engine;
  let work: string;
  let root: string;
  let run: DriverRunner;

  beforeAll(async () => {
    engine = await ensureEngine();
    const timings = await ensureImages(engine.dockerHost);
    if (/built /.test(timings)) console.info(timings.trim());
    work = mkdtempSync(path.join(tmpdir(), 'iact-docker-'));
    root = path.join(work, 'sandboxes');
    run = driverRunner(work, root, ENV, engine.dockerHost);
  }, 900_000);

  afterAll(async () => {
    if (!engine) return;
    // Whatever a failed test left: every container and volume of this test's environment.
    const left = await docker(engine.dockerHost, ['ps', '-aq', '--filter', `label=iact.environment=${ENV}`]);
    if (left.stdout.trim()) await docker(engine.dockerHost, ['rm', '-f', '-v', ...left.stdout.trim().split('\n')]);
    const volumes = await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', `label=iact.environment=${ENV}`]);
    if (volumes.stdout.trim()) await docker(engine.dockerHost, ['volume', 'rm', '-f', ...volumes.stdout.trim().split('\n')]);
    if (work) rmSync(work, { recursive: true, force: true });
    // Stop the engine we started, unless other tests still have containers on it.
    if (engine.startedByUs && !(await docker(engine.dockerHost, ['ps', '-aq'])).stdout.trim()) await stopEngine();
  }, 180_000);

  async function status(names: string[] = []): Promise<SandboxStatus[]> {
    const r = await run(['status', ...names, '--json']);
    expect(r.exitCode, r.stderr).toBe(0);
    return parseStatus(r.stdout); // also checks schemas/driver-status.schema.json
  }

  function writeSpec(name: string, spec: Record<string, unknown>): string {
    const file = path.join(work, `${name}-${Date.now()}.json`);
    writeFileSync(file, JSON.stringify({ name, environment: ENV, driver: 'docker', settings: {}, spec_hash: `sha256:${name}`, ...spec }), {
      mode: 0o600,
    });
    return file;
  }

  async function containersOf(name: string): Promise<string[]> {
    const r = await docker(engine.dockerHost, [
      'ps',
      '-aq',
      '--filter',
      `label=iact.environment=${ENV}`,
      '--filter',
      `label=iact.name=${name}`,
    ]);
    return r.stdout.split('\n').filter(Boolean);
  }

  describe.concurrent('every service: create, login, write, stop, start, data kept, destroy', () => {
    for (const c of CASES) {
      it(c.service, async () => {
        const name = `life-${c.service}`;
        const [port] = await freePorts(1);
        // Tricky, within the one password rule (no single quote beside $ ` \\ ", src/secrets/).
        const password = `pw"$\\ \`${c.service}!`;
        const spec = writeSpec(name, { service: c.service, port, database: 'appdb', user: 'app', password, memory: '256M' });
        const login = { port: port!, user: 'app', database: 'appdb', password };

        const created = await run(['create', name, c.service, String(port), '--spec', spec]);
        expect(created.exitCode, created.stderr).toBe(0);
        expect(created.stdout).toBe('');
        expect(created.stderr).not.toContain(password);

        const ok = await query(c.service, login, c.service === 'redis' ? ['PING'] : ['SELECT 1']);
        expect(ok.stdout, ok.stderr).toBe(c.service === 'redis' ? 'PONG' : '1');
        const wrong = await query(c.service, { ...login, password: 'not-the-password' }, c.service === 'redis' ? ['PING'] : ['SELECT 1']);
        expect(`${wrong.stdout}\n${wrong.stderr}`).toMatch(/password authentication failed|Access denied|WRONGPASS|NOAUTH/);
        expect(wrong.stdout).not.toMatch(/^(1|PONG)$/);

        const written = await query(c.service, login, c.write);
        expect(written.exitCode, written.stderr).toBe(0);

        // Labels, volume, memory limit, 127.0.0.1-only publishing; the password is in no container config.
        const [id] = await containersOf(name);
        expect(id).toBeTruthy();
        const inspect = await docker(engine.dockerHost, ['inspect', id!]);
        const info = JSON.parse(inspect.stdout)[0];
        expect(info.Config.Labels).toMatchObject({
          'iact.environment': ENV,
          'iact.name': name,
          'iact.spec_hash': `sha256:${name}`,
          'iact.service': c.service,
          'iact.port': String(port),
        });
        expect(info.HostConfig.Memory).toBe(256 * 1024 * 1024);
        // The host's network, the server bound to 127.0.0.1:PORT: it listens only where it is published.
        expect(info.HostConfig.NetworkMode).toBe('host');
        expect(info.Config.Env).toContain(`IACT_PORT=${port}`);
        expect(
          info.Mounts.some(
            (m: { Type: string; Name?: string }) => m.Type === 'volume' && m.Name === `${containerOf(path.join(root, ENV, name))}-data`,
          ),
        ).toBe(true);
        expect(inspect.stdout).not.toContain(password);

        // Sandbox directory: 0700, sandbox.json without the password (0600), the password apart (0600).
        const dir = path.join(root, ENV, name);
        expect(statSync(dir).mode & 0o777).toBe(0o700);
        expect(statSync(path.join(dir, 'sandbox.json')).mode & 0o777).toBe(0o600);
        expect(readFileSync(path.join(dir, 'sandbox.json'), 'utf8')).not.toContain(password);
        expect(statSync(path.join(dir, 'secrets', 'password')).mode & 0o777).toBe(0o600);

        let [st] = await status([name]);
        expect(st).toMatchObject({
          name,
          environment: ENV,
          driver: 'docker',
          service: c.service,
          port,
          running: true,
          healthy: true,
          spec_hash: `sha256:${name}`,
        });
        expect(st!.pid).toBeGreaterThan(1);
        expect(st!.data_bytes).toBeGreaterThan(0);
        expect(st!.spec).not.toHaveProperty('password');

        const stopped = await run(['stop', name]);
        expect(stopped.exitCode, stopped.stderr).toBe(0);
        [st] = await status([name]);
        expect(st).toMatchObject({ running: false, healthy: false, pid: null });
        expect(await portOpen(port!)).toBe(false);

        // A stopped sandbox is started for its backup and left stopped.
        const stoppedBackup = path.join(work, `${name}.stopped.backup`);
        const backedStopped = await run(['backup', name, '--out', stoppedBackup]);
        expect(backedStopped.exitCode, backedStopped.stderr).toBe(0);
        expect(readFileSync(stoppedBackup).toString('latin1')).toContain('kept');
        [st] = await status([name]);
        expect(st).toMatchObject({ running: false, pid: null });
        expect(await portOpen(port!)).toBe(false);

        const started = await run(['start', name]);
        expect(started.exitCode, started.stderr).toBe(0);
        const kept = await query(c.service, login, c.read);
        expect(kept.stdout, kept.stderr).toBe(c.expected);

        const backup = path.join(work, `${name}.backup`);
        const backed = await run(['backup', name, '--out', backup]);
        expect(backed.exitCode, backed.stderr).toBe(0);
        expect(statSync(backup).mode & 0o777).toBe(0o600);
        const dump = readFileSync(backup);
        if (c.service === 'redis') expect(dump.subarray(0, 5).toString()).toBe('REDIS');
        else expect(dump.toString()).toContain('kept');

        const volume = `${containerOf(dir)}-data`;
        const destroyed = await run(['destroy', name, '--yes']);
        expect(destroyed.exitCode, destroyed.stderr).toBe(0);
        expect(await containersOf(name)).toEqual([]);
        expect((await docker(engine.dockerHost, ['volume', 'inspect', volume])).exitCode).not.toBe(0);
        expect(await portOpen(port!)).toBe(false);
        expect(existsSync(dir)).toBe(false);
        expect(await status([name])).toEqual([]);
      }, 300_000);
    }
  });

  it('create twice is one container; a killed create is repaired by the next; destroy of a missing sandbox succeeds', async () => {
    const [port] = await freePorts(1);
    const name = 'idem-pg';
    const spec = writeSpec(name, { service: 'postgres', port, password: 'first-pw' });
    const child = execa('bash', [virtualizeSh, 'create', name, 'postgres', String(port), '--spec', spec, '--env', ENV], {
      cwd: work,
      env: { IACT_SANDBOX_ROOT: root, DOCKER_HOST: engine.dockerHost },
      reject: false,
      stdin: 'ignore',
    });
    // Kill the script once its container exists, before the service is ready.
    const deadline = Date.now() + 120_000;
    while ((await containersOf(name)).length === 0 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 100));
    child.kill('SIGKILL');
    await child;

    const again = await run(['create', name, 'postgres', String(port), '--spec', spec]);
    expect(again.exitCode, again.stderr).toBe(0);
    const twice = await run(['create', name, 'postgres', String(port), '--spec', spec]);
    expect(twice.exitCode, twice.stderr).toBe(0);
    expect(await containersOf(name)).toHaveLength(1);
    const login = { port: port!, user: 'idem_pg', database: 'idem_pg', password: 'first-pw' };
    expect((await query('postgres', login, ['SELECT 1'])).stdout).toBe('1');

    // Password change in place: same container, old password refused, new one works.
    const [before] = await containersOf(name);
    const changed = await run(['update', name, '--spec', writeSpec(name, { service: 'postgres', port, password: 'second-pw' })]);
    expect(changed.exitCode, changed.stderr).toBe(0);
    expect(await containersOf(name)).toEqual([before]);
    expect((await query('postgres', login, ['SELECT 1'])).exitCode).not.toBe(0);
    expect((await query('postgres', { ...login, password: 'second-pw' }, ['SELECT 1'])).stdout).toBe('1');

    // A port change recreates the container and keeps the volume (and the data in it).
    expect(
      (await query('postgres', { ...login, password: 'second-pw' }, ['CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)'])).exitCode,
    ).toBe(0);
    const [newPort] = await freePorts(1);
    const moved = await run([
      'update',
      name,
      '--spec',
      writeSpec(name, { service: 'postgres', port: newPort, password: 'second-pw' }),
      '--steps',
      'recreate',
    ]);
    expect(moved.exitCode, moved.stderr).toBe(0);
    expect(await containersOf(name)).not.toEqual([before]);
    expect((await query('postgres', { ...login, port: newPort!, password: 'second-pw' }, ['SELECT v FROM kept'])).stdout).toBe('7');
    expect(await portOpen(port!)).toBe(false);

    // A setting postgres refuses at start: the update fails and the sandbox is back as last applied, running.
    const applied = await status([name]);
    const refused = await run([
      'update',
      name,
      '--spec',
      writeSpec(name, {
        service: 'postgres',
        port: newPort,
        password: 'second-pw',
        settings: { shared_buffers: 'lots' },
        spec_hash: 'sha256:refused',
      }),
      '--steps',
      'recreate',
    ]);
    expect(refused.exitCode).not.toBe(0);
    expect(refused.stderr).toContain('back at its last applied spec');
    const [after] = await status([name]);
    expect(after).toMatchObject({ running: true, healthy: true, spec_hash: applied[0]!.spec_hash });
    expect(after!.spec?.settings).not.toHaveProperty('shared_buffers');
    expect((await query('postgres', { ...login, port: newPort!, password: 'second-pw' }, ['SELECT v FROM kept'])).stdout).toBe('7');

    expect((await run(['destroy', name, '--yes'])).exitCode).toBe(0);
    const missing = await run(['destroy', name, '--yes']);
    expect(missing.exitCode).toBe(0);
    expect(missing.stderr).toMatch(/nothing to destroy/);
  }, 300_000);

  // docs/driver-protocol.md "Update steps": set-password and reload act in the running container (same
  // id); recreate is a new container on the same volume; steps that cannot carry a change are refused.
  const STEPS: Array<{
    service: Service;
    key: string;
    before: string;
    after: string;
    show: string[];
    restartOnly: Record<string, string>;
  }> = [
    { service: 'postgres', key: 'work_mem', before: '4MB', after: '8MB', show: ['SHOW work_mem'], restartOnly: { shared_buffers: '16MB' } },
    {
      service: 'mysql',
      key: 'max_connections',
      before: '50',
      after: '60',
      show: ['SELECT @@global.max_connections'],
      restartOnly: { innodb_buffer_pool_size: '64M' },
    },
    {
      service: 'redis',
      key: 'loglevel',
      before: 'notice',
      after: 'warning',
      show: ['CONFIG', 'GET', 'loglevel'],
      restartOnly: { databases: '8' },
    },
  ];

  describe.concurrent('update steps: reload and set-password keep the container, recreate keeps the data', () => {
    for (const c of STEPS) {
      it(c.service, async () => {
        const name = `steps-${c.service}`;
        const [port, newPort] = await freePorts(2);
        const base = { service: c.service, port, database: 'appdb', user: 'app' };
        const login = { port: port!, user: 'app', database: 'appdb', password: 'first-pw' };
        const live = async (l: typeof login) => (await query(c.service, l, c.show)).stdout.split('\n').pop();
        const created = await run([
          'create',
          name,
          c.service,
          String(port),
          '--spec',
          writeSpec(name, { ...base, password: 'first-pw', settings: { [c.key]: c.before } }),
        ]);
        expect(created.exitCode, created.stderr).toBe(0);
        expect(await live(login)).toBe(c.before);
        const [id] = await containersOf(name);

        // A reloadable setting: the running server has the new value, the container is the same.
        const reloaded = await run([
          'update',
          name,
          '--spec',
          writeSpec(name, { ...base, password: 'first-pw', settings: { [c.key]: c.after } }),
          '--steps',
          'reload',
        ]);
        expect(reloaded.exitCode, reloaded.stderr).toBe(0);
        expect(await containersOf(name)).toEqual([id]);
        expect(await live(login)).toBe(c.after);

        // A password: set in the running container; the new one logs in, the old one is refused.
        const changed = await run([
          'update',
          name,
          '--spec',
          writeSpec(name, { ...base, password: 'second-pw', settings: { [c.key]: c.after } }),
          '--steps',
          'set-password',
        ]);
        expect(changed.exitCode, changed.stderr).toBe(0);
        expect(changed.stderr).not.toContain('second-pw');
        expect(await containersOf(name)).toEqual([id]);
        const relogin = { ...login, password: 'second-pw' };
        expect(await live(relogin)).toBe(c.after);
        const old = await query(c.service, login, c.show);
        expect(`${old.stdout}\n${old.stderr}`).toMatch(/password authentication failed|Access denied|WRONGPASS|NOAUTH/);
        const inspect = await docker(engine.dockerHost, ['inspect', id!]);
        expect(inspect.stdout).not.toContain('second-pw');

        // Steps that cannot carry the change (a restart-only setting, a port) are refused: exit 2, nothing changed.
        const specBefore = readFileSync(path.join(root, ENV, name, 'sandbox.json'), 'utf8');
        const moved = {
          ...base,
          port: newPort,
          password: 'second-pw',
          settings: { [c.key]: c.after, ...c.restartOnly },
          spec_hash: `sha256:${name}-moved`,
        };
        const refused = await run(['update', name, '--spec', writeSpec(name, moved), '--steps', 'set-password,reload']);
        expect(refused.exitCode, refused.stderr).toBe(2);
        expect(refused.stderr).toMatch(/needs the step\(s\) recreate \(port settings\./);
        expect(readFileSync(path.join(root, ENV, name, 'sandbox.json'), 'utf8')).toBe(specBefore);
        expect(await containersOf(name)).toEqual([id]);

        // recreate: a new container on the same volume, on the new port, with the data and the password.
        expect(
          (
            await query(
              c.service,
              relogin,
              c.service === 'redis' ? ['SET', 'k', 'kept'] : ['CREATE TABLE kept (v int); INSERT INTO kept VALUES (7)'],
            )
          ).exitCode,
        ).toBe(0);
        if (c.service === 'redis') expect((await query('redis', relogin, ['SAVE'])).stdout).toBe('OK');
        const recreated = await run(['update', name, '--spec', writeSpec(name, moved), '--steps', 'recreate']);
        expect(recreated.exitCode, recreated.stderr).toBe(0);
        const [newId] = await containersOf(name);
        expect(newId).not.toBe(id);
        const moved2 = { ...relogin, port: newPort! };
        expect((await query(c.service, moved2, c.service === 'redis' ? ['GET', 'k'] : ['SELECT v FROM kept'])).stdout).toBe(
          c.service === 'redis' ? 'kept' : '7',
        );
        expect(await live(moved2)).toBe(c.after);
        expect(await portOpen(port!)).toBe(false);
        expect((await run(['destroy', name, '--yes'])).exitCode).toBe(0);
      }, 300_000);
    }
  });

  it('a reload the server refuses fails the update; the container and its settings are as last applied', async () => {
    const name = 'reload-refused';
    const [port] = await freePorts(1);
    const login = { port: port!, user: 'reload_refused', database: 'reload_refused', password: 'pw-1' };
    const base = { service: 'postgres', port, password: 'pw-1' };
    expect(
      (await run(['create', name, 'postgres', String(port), '--spec', writeSpec(name, { ...base, settings: { work_mem: '4MB' } })]))
        .exitCode,
    ).toBe(0);
    const [id] = await containersOf(name);
    const refused = await run([
      'update',
      name,
      '--spec',
      writeSpec(name, { ...base, settings: { work_mem: 'lots' }, spec_hash: 'sha256:refused' }),
      '--steps',
      'reload',
    ]);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toMatch(/work_mem/);
    expect(refused.stderr).toContain('back at its last applied spec');
    expect(await containersOf(name)).toEqual([id]);
    expect((await query('postgres', login, ['SHOW work_mem'])).stdout).toBe('4MB');
    expect(readFileSync(path.join(root, ENV, name, 'data', 'iact.conf'), 'utf8')).toContain("work_mem = '4MB'");
    expect((await run(['destroy', name, '--yes'])).exitCode).toBe(0);
  }, 180_000);

  it('a bad setting key or value is refused (exit 2) with the same message as the lightweight driver', async () => {
    const lightweight = path.join(path.dirname(virtualizeSh), 'lightweight_venv.sh');
    const [port] = await freePorts(1);
    const bad: Array<Record<string, unknown>> = [{ 'Bad Key': '1' }, { work_mem: "1'; DROP" }, { port: 5 }, { 'shared-buffers;': '1' }];
    for (const settings of bad) {
      // No driver field: the same spec is valid input for both scripts.
      const file = path.join(work, `bad-${Date.now()}.json`);
      writeFileSync(file, JSON.stringify({ name: 'badset', service: 'postgres', port, settings }), { mode: 0o600 });
      const viaDocker = await run(['create', 'badset', 'postgres', String(port), '--spec', file]);
      const viaLightweight = await execa(
        'bash',
        [lightweight, 'create', 'badset', 'postgres', String(port), '--spec', file, '--env', ENV],
        { cwd: work, env: { IACT_SANDBOX_ROOT: root }, reject: false, stdin: 'ignore' },
      );
      expect(viaDocker.exitCode, JSON.stringify(settings)).toBe(2);
      expect(viaLightweight.exitCode, JSON.stringify(settings)).toBe(2);
      expect(viaDocker.stderr).toMatch(/^error: (invalid setting name|setting .* (has a value|is managed by iact))/m);
      expect(viaDocker.stderr).toBe(viaLightweight.stderr);
    }
    expect(existsSync(path.join(root, ENV, 'badset'))).toBe(false);
    expect(await containersOf('badset')).toEqual([]);
  });

  it('bad input exits 2 with a message and changes nothing', async () => {
    const mine = [`label=iact.environment=${ENV}`];
    const before = await docker(engine.dockerHost, ['ps', '-aq', '--filter', mine[0]!]);
    const volumesBefore = await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', mine[0]!]);
    const cases = [
      ['create', 'a;id', 'postgres', '25999'],
      ['create', '../x', 'postgres', '25999'],
      ['create', '$(id)', 'postgres', '25999'],
      ['create', 'okname', 'postgres', '80'],
      ['create', 'okname', 'postgres', '70000'],
      ['create', 'okname', 'mongodb', '25999'],
      ['create', 'okname', 'postgres', '25999', '--spec', writeSpec('other', { service: 'postgres', port: 25999 })],
      ['create', 'okname', 'postgres', '25999', '--spec', writeSpec('okname', { service: 'postgres', port: 25999, user: 'x; DROP' })],
      ['create', 'okname', 'postgres', '25999', '--spec', writeSpec('okname', { service: 'postgres', port: 25999, memory: '1G; id' })],
      [
        'create',
        'okname',
        'redis',
        '25999',
        '--spec',
        writeSpec('okname', { service: 'redis', port: 25999, settings: { maxmemory: '1mb\nrequirepass x' } }),
      ],
      ['create', 'okname', 'redis', '25999', '--spec', writeSpec('okname', { service: 'redis', port: 25999, password: 'two\nlines' })],
      ['destroy', '$(id)', '--yes'],
      ['start', '../x'],
      ['frobnicate'],
    ];
    for (const args of cases) {
      const r = await run(args);
      expect(r.exitCode, args.join(' ')).toBe(2);
      expect(r.stderr).toMatch(/^error: /m);
      expect(r.stdout).toBe('');
    }
    const badEnv = await execa('bash', [virtualizeSh, 'status', '--json', '--env', 'Bad;Env'], {
      cwd: work,
      env: { IACT_SANDBOX_ROOT: root, DOCKER_HOST: engine.dockerHost },
      reject: false,
      stdin: 'ignore',
    });
    expect(badEnv.exitCode).toBe(2);
    expect(existsSync(path.join(root, ENV, 'okname'))).toBe(false);
    expect((await docker(engine.dockerHost, ['ps', '-aq', '--filter', mine[0]!])).stdout).toBe(before.stdout);
    expect((await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', mine[0]!])).stdout).toBe(volumesBefore.stdout);
  }, 120_000);

  it('a port taken by something else is an error before anything is created', async () => {
    const { createServer } = await import('node:net');
    const server = createServer();
    const [port] = await freePorts(1);
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      const r = await run(['create', 'taken', 'redis', String(port)]);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain(`port ${port} is already in use`);
      expect(existsSync(path.join(root, ENV, 'taken'))).toBe(false);
      expect(await containersOf('taken')).toEqual([]);
    } finally {
      server.close();
    }
  });

  it('none: a directory and an activate script, no container; activate exports and deactivate restores', async () => {
    const [port] = await freePorts(1);
    const r = await run(['create', 'plain', 'none', String(port)]);
    expect(r.exitCode, r.stderr).toBe(0);
    expect(await containersOf('plain')).toEqual([]);
    const [st] = await status(['plain']);
    expect(st).toMatchObject({ name: 'plain', service: 'none', running: true, healthy: true, pid: null });
    const activate = (await run(['activate', 'plain'])).stdout.trim();
    expect(activate).toBe(path.join(root, ENV, 'plain', 'bin', 'activate'));
    expect((await run(['destroy', 'plain', '--yes'])).exitCode).toBe(0);
    expect(existsSync(path.join(root, ENV, 'plain'))).toBe(false);
  });

  it('through the TypeScript driver layer: create, status, bin/activate, destroy (redis)', async () => {
    const [port] = await freePorts(1);
    const driver = getDriver('docker');
    const ctx = { root: work, sandboxRoot: root, environment: ENV };
    const prevHost = process.env.DOCKER_HOST;
    process.env.DOCKER_HOST = engine.dockerHost; // BashDriver passes the process environment on
    try {
      expect(await driver.available(ctx)).toEqual({ available: true });
      const spec = toDriverSpec(ENV, {
        name: 'ts-redis',
        service: 'redis',
        driver: 'docker',
        port: port!,
        password: 'ts-secret',
        settings: { masterauth: 'docker-masterauth-Yankee' },
        depends_on: [],
        protect: false,
      });
      await driver.create(ctx, spec);
      const all = await driver.status(ctx);
      const mine = all.find((s) => s.name === 'ts-redis');
      expect(mine).toMatchObject({ running: true, healthy: true, spec_hash: spec.spec_hash });
      expect(mine!.spec).toMatchObject({ password_hash: spec.password_hash, settings: spec.settings });
      // The secret setting reaches redis; sandbox.json and status hold its hash.
      expect(
        (await query('redis', { port: port!, user: '', database: '', password: 'ts-secret' }, ['CONFIG', 'GET', 'masterauth'])).stdout,
      ).toContain('docker-masterauth-Yankee');
      expect(JSON.stringify(all)).not.toContain('docker-masterauth-Yankee');
      expect(readFileSync(path.join(root, ENV, 'ts-redis', 'sandbox.json'), 'utf8')).not.toContain('docker-masterauth-Yankee');

      const dir = path.join(root, ENV, 'ts-redis');
      const shell = `source ${JSON.stringify(path.join(dir, 'bin', 'activate'))}; printf '%s %s %s|' "$REDIS_PORT" "$REDIS_PASSWORD" "$IACT_SANDBOX"; deactivate; printf '%s' "\${REDIS_PORT:-unset}"`;
      const out = execFileSync('bash', ['-c', shell], { encoding: 'utf8', env: { PATH: process.env.PATH } });
      expect(out).toBe(`${port} ts-secret ts-redis|unset`);
      await driver.destroy(ctx, 'ts-redis');
      expect(await containersOf('ts-redis')).toEqual([]);
    } finally {
      if (prevHost === undefined) delete process.env.DOCKER_HOST;
      else process.env.DOCKER_HOST = prevHost;
    }
  }, 180_000);

  it('status: a container removed between `docker ps` and `docker inspect` (a concurrent destroy) is left out, not an error', async () => {
    // Two of this project's orphans (its name and label, no directory); a shim in front of the real CLI
    // removes one just before the first inspect.
    const idFile = path.join(root, '.docker-project');
    mkdirSync(root, { recursive: true });
    // The id the first create makes; this test may run alone.
    if (!existsSync(idFile)) writeFileSync(idFile, '0123456789ab');
    const project = readFileSync(idFile, 'utf8').trim();
    const labels = (name: string) => [
      '--name',
      `iact-${ENV}-${name}.${project}`,
      '--label',
      `iact.project=${project}`,
      '--label',
      `iact.environment=${ENV}`,
      '--label',
      'iact.driver=docker',
      '--label',
      `iact.name=${name}`,
      '--label',
      'iact.service=redis',
      '--label',
      'iact.port=26399',
    ];
    const kept = await docker(engine.dockerHost, ['create', ...labels('race-kept'), 'iact/redis:7']);
    const gone = await docker(engine.dockerHost, ['create', ...labels('race-gone'), 'iact/redis:7']);
    expect(kept.exitCode, kept.stderr).toBe(0);
    expect(gone.exitCode, gone.stderr).toBe(0);
    const bin = path.join(work, 'race-bin');
    const realDocker = execFileSync('bash', ['-c', 'command -v docker'], { encoding: 'utf8' }).trim();
    mkdirSync(bin, { recursive: true });
    const once = path.join(bin, 'removed');
    writeFileSync(
      path.join(bin, 'docker'),
      `#!/usr/bin/env bash\nif [[ ("$1" == inspect || "$1 $2" == "container inspect") && ! -e ${JSON.stringify(once)} ]]; then\n  touch ${JSON.stringify(once)}\n  ${JSON.stringify(realDocker)} rm -f ${gone.stdout.trim()} >/dev/null\nfi\nexec ${JSON.stringify(realDocker)} "$@"\n`,
      { mode: 0o755 },
    );
    try {
      const r = await run(['status', '--json'], { env: { PATH: `${bin}:${process.env.PATH}` } });
      expect(r.exitCode, r.stderr).toBe(0);
      expect(existsSync(once)).toBe(true);
      const names = (await parseStatus(r.stdout)).map((s) => s.name);
      expect(names).toContain('race-kept');
      expect(names).not.toContain('race-gone');
    } finally {
      await docker(engine.dockerHost, ['rm', '-f', kept.stdout.trim(), gone.stdout.trim()]);
    }
  }, 120_000);

  it('preflight: says what create would fail with (an image not built, a port in use) and changes nothing', async () => {
    const [port] = await freePorts(1);
    const ok = await run(['preflight', 'pre-pg', '--spec', writeSpec('pre-pg', { service: 'postgres', port })]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const noImage = await run(['preflight', 'pre-pg', '--spec', writeSpec('pre-pg', { service: 'postgres', port, version: '99' })]);
    expect(noImage.exitCode).toBe(1);
    expect(noImage.stderr).toContain('docker image iact/postgres:99 is not built');
    const squatter = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(port, '127.0.0.1', resolve));
    try {
      const busy = await run(['preflight', 'pre-pg', '--spec', writeSpec('pre-pg', { service: 'postgres', port })]);
      expect(busy.exitCode).toBe(1);
      expect(busy.stderr).toContain(`port ${port} is already in use`);
      const ours = await run(['preflight', 'pre-pg', '--spec', writeSpec('pre-pg', { service: 'postgres', port }), '--port-is-ours']);
      expect(ours.exitCode, ours.stderr).toBe(0);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect(await containersOf('pre-pg')).toEqual([]);
    expect(existsSync(path.join(root, ENV, 'pre-pg'))).toBe(false);
  });

  it('without a reachable engine: check and status exit 1 with the fix', async () => {
    const env = { DOCKER_HOST: 'unix:///nonexistent/docker.sock' };
    for (const args of [['check'], ['status', '--json'], ['create', 'noengine', 'redis', '25998']]) {
      const r = await run(args, { env });
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('no docker engine is reachable');
      expect(r.stderr).toContain('scripts/docker-engine.sh start');
      expect(r.stdout).toBe('');
    }
    expect(existsSync(path.join(root, ENV, 'noengine'))).toBe(false);
  });
});
