// The driver x service lifecycle every process driver must pass (issue 3 "Must show"), driven
// through the TypeScript driver layer with real clients. Shared by lightweight and namespace tests.
import { existsSync, readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { getDriver, type BashDriver } from '../../src/drivers/index.js';
import { toDriverSpec } from '../../src/drivers/spec.js';
import type { DriverContext, DriverSpec } from '../../src/drivers/types.js';
import type { DriverName, ServiceKind } from '../../src/model/types.js';
import {
  client,
  freePort,
  mode,
  portOpen,
  needs,
  processesMentioning,
  readCommand,
  TEMPLATE_DIR,
  tempRoot,
  waitFor,
  writeCommand,
  type TempRoot,
} from './services.js';

// A double quote, a dollar, a backtick, a backslash and a space: the password must survive every
// config format. No single quote beside them: the one password rule refuses that (src/secrets/).
export const TRICKY_PASSWORD = `S3cr"et\`pw$x y\\z`;

export function specFor(
  driver: DriverName,
  service: ServiceKind,
  name: string,
  port: number,
  extra: Partial<{ password: string; settings: Record<string, string | number | boolean>; memory: string }> = {},
): DriverSpec {
  return toDriverSpec('development', {
    name,
    service,
    driver,
    port,
    database: service === 'postgres' || service === 'mysql' ? 'appdb' : undefined,
    user: service === 'postgres' || service === 'mysql' ? 'app' : undefined,
    password: service === 'none' ? undefined : (extra.password ?? TRICKY_PASSWORD),
    memory: extra.memory,
    settings: extra.settings ?? {},
    depends_on: [],
    protect: false,
  });
}

export function creds(spec: DriverSpec, password = spec.password ?? '') {
  return { port: spec.port, database: spec.database ?? '', user: spec.user ?? '', password };
}

// Every test has its own sandbox name and port: they run at once, overlapping their waits for servers
// (CONTRIBUTING.md "How the suite stays fast").
export function lifecycleSuite(driverName: DriverName, services: ServiceKind[] = ['postgres', 'mysql', 'redis', 'none']): void {
  const driver = getDriver(driverName);
  // What the driver itself needs, checked with each test's services (test/helpers/services.ts).
  const driverNeeds = driverName === 'namespace' ? ['root', 'namespace'] : [];
  // A root per test: the tests run at once, and a status call runs clients and du over every sandbox of its root.
  const roots: TempRoot[] = [];
  function ownRoot(): { root: TempRoot; ctx: DriverContext } {
    const root = tempRoot(`iact-${driverName}-`);
    roots.push(root);
    return { root, ctx: { root: root.dir, sandboxRoot: root.sandboxRoot, environment: 'development' } };
  }

  beforeAll(() => {
    process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
  });
  afterAll(() => {
    for (const root of roots) root.cleanup();
  });

  describe.concurrent.each(services)('%s', (service) => {
    it('create -> password login (wrong one refused) -> write -> stop -> stopped -> start -> data kept -> destroy -> nothing left', async (t) => {
      needs(t, service, ...driverNeeds);
      const { root, ctx } = ownRoot();
      const port = await freePort();
      const name = `lc-${service}`;
      const spec = specFor(driverName, service, name, port);
      const dir = path.join(root.sandboxRoot, 'development', name);
      try {
        await driver.create(ctx, spec);

        let status = (await driver.status(ctx)).find((s) => s.name === name);
        expect(status).toMatchObject({ name, service, driver: driverName, port, running: true, healthy: true, spec_hash: spec.spec_hash });
        expect(status?.spec).toMatchObject({ name, service, port, spec_hash: spec.spec_hash });
        // The version that made the data: what an unpinned sandbox runs (pinning it is no replace).
        if (service === 'postgres') expect(status?.version).toBe(readFileSync(path.join(dir, 'data', 'PG_VERSION'), 'utf8').trim());
        expect(JSON.stringify(status)).not.toContain(TRICKY_PASSWORD);

        // As root, a service sandbox's directory is root's: lightweight lets the service user traverse it to
        // data/ and run/ (docs/driver-protocol.md "Sandbox directories"); namespace lets only the sandbox's own
        // uid, its group, traverse it (docs/namespace-sandbox.md).
        const asService = process.getuid?.() === 0 && service !== 'none';
        expect(mode(dir)).toBe(asService && driverName === 'lightweight' ? 0o711 : asService && driverName === 'namespace' ? 0o710 : 0o700);
        expect(statSync(dir).uid).toBe(process.getuid?.());
        expect(mode(path.join(dir, 'sandbox.json'))).toBe(0o600);
        expect(readFileSync(path.join(dir, 'sandbox.json'), 'utf8')).not.toContain('S3cr');
        expect(existsSync(path.join(dir, 'bin', 'activate'))).toBe(true);

        if (service !== 'none') {
          expect(status?.pid).toBeGreaterThan(0);
          expect(mode(path.join(dir, 'secrets', 'password'))).toBe(0o600);
          expect(readFileSync(path.join(dir, 'secrets', 'password'), 'utf8')).toBe(TRICKY_PASSWORD);
          const good = creds(spec);
          const wrong = await client(service, { ...good, password: 'not-the-password' }, service === 'redis' ? 'PING' : 'SELECT 1');
          expect(wrong.ok).toBe(false);
          const written = await client(service, good, writeCommand(service));
          expect(written.err).toBe('');
          expect(written.ok).toBe(true);

          // bin/activate exports the credentials and deactivate restores the shell.
          const vars = service === 'redis' ? 'REDIS_PORT REDIS_PASSWORD' : 'DB_PORT DB_NAME DB_USER DB_PASSWORD';
          const shell = await execa('bash', [
            '-c',
            `export DB_PORT=old REDIS_PORT=old; source "$1"; for v in ${vars}; do printf '%s=%s\\n' "$v" "\${!v}"; done; deactivate; printf 'after=%s\\n' "\${DB_PORT:-}\${REDIS_PORT:-}"`,
            'x',
            path.join(dir, 'bin', 'activate'),
          ]);
          expect(shell.stdout).toContain(`PORT=${port}`);
          expect(shell.stdout).toContain(`PASSWORD=${TRICKY_PASSWORD}`);
          expect(shell.stdout).toContain('after=oldold');
        }

        await driver.stop(ctx, name);
        status = (await driver.status(ctx)).find((s) => s.name === name);
        expect(status).toMatchObject({ running: false, healthy: false, pid: null });
        if (service !== 'none') {
          expect(await portOpen(port)).toBe(false);
          expect(processesMentioning(dir)).toEqual([]);

          // A stopped sandbox is started for its backup and left stopped (destroy of a stopped sandbox keeps its data).
          const out = path.join(root.dir, `${name}.stopped.backup`);
          await driver.backup(ctx, name, out);
          expect(mode(out)).toBe(0o600);
          expect(readFileSync(out).toString('latin1')).toContain('survived');
          expect((await driver.status(ctx)).find((s) => s.name === name)).toMatchObject({ running: false, pid: null });
          expect(await portOpen(port)).toBe(false);
        }

        await driver.start(ctx, name);
        status = (await driver.status(ctx)).find((s) => s.name === name);
        expect(status).toMatchObject({ running: true, healthy: true });
        if (service !== 'none') {
          const read = await client(service, creds(spec), readCommand(service));
          expect(read.out).toBe('survived');
        }
      } finally {
        await driver.destroy(ctx, name);
      }
      expect(existsSync(dir)).toBe(false);
      expect((await driver.status(ctx)).find((s) => s.name === name)).toBeUndefined();
      expect(await portOpen(port)).toBe(false);
      expect(await waitFor(() => processesMentioning(dir).length === 0, 5000)).toBe(true);
    });
  });

  describe.concurrent.each(services.filter((s) => s !== 'none'))('%s', (service) => {
    it('update: a new password works at once, without a restart; the old one is refused; backup is 0600', async (t) => {
      needs(t, service, ...driverNeeds);
      const { root, ctx } = ownRoot();
      const port = await freePort();
      const name = `up-${service}`;
      const spec = specFor(driverName, service, name, port, { password: 'first-password-1' });
      try {
        await driver.create(ctx, spec);
        const before = (await driver.status(ctx)).find((s) => s.name === name);
        expect((await client(service, creds(spec), writeCommand(service))).ok).toBe(true);

        const changed = specFor(driverName, service, name, port, { password: 'second-password-2' });
        expect(changed.spec_hash).not.toBe(spec.spec_hash);
        await driver.update(ctx, changed, { steps: ['set-password'] });
        const after = (await driver.status(ctx)).find((s) => s.name === name);
        expect(after?.pid).toBe(before?.pid);
        expect(after?.spec_hash).toBe(changed.spec_hash);
        expect(after?.spec?.password_hash).toBe(changed.password_hash);
        expect((await client(service, creds(changed), readCommand(service))).out).toBe('survived');
        expect((await client(service, creds(spec), readCommand(service))).ok).toBe(false);

        const out = path.join(root.dir, `${name}.backup`);
        await driver.backup(ctx, name, out);
        expect(mode(out)).toBe(0o600);
        const dump = readFileSync(out);
        expect(dump.length).toBeGreaterThan(0);
        expect(dump.toString('latin1')).toContain('survived');
      } finally {
        await driver.destroy(ctx, name);
      }
    });
  });

  describe.concurrent.each(['postgres', 'mysql'] as const)('%s', (service) => {
    it('with every statement logged, neither the first password nor a new one reaches a server log', async (t) => {
      needs(t, service, ...driverNeeds);
      const { root, ctx } = ownRoot();
      const port = await freePort();
      const name = `log-${service}`;
      const settings: Record<string, string | number> =
        service === 'postgres' ? { log_statement: 'all', log_min_error_statement: 'debug5' } : { general_log: 1 };
      const first = specFor(driverName, service, name, port, { password: 'logged-first-Golf', settings });
      const second = specFor(driverName, service, name, port, { password: 'logged-second-Hotel', settings });
      const dir = path.join(root.sandboxRoot, 'development', name);
      try {
        await driver.create(ctx, first);
        await driver.update(ctx, second, { steps: ['set-password'] });
        expect((await client(service, creds(second), 'SELECT 1')).ok).toBe(true);
        // Statement logging is really on: the probe above is in the log.
        const logs = logFiles(dir)
          .map((file) => readFileSync(file, 'latin1'))
          .join('\n');
        expect(logs).toMatch(/SELECT 1/);
        expect(logs).not.toContain('logged-first-Golf');
        expect(logs).not.toContain('logged-second-Hotel');
      } finally {
        await driver.destroy(ctx, name);
      }
    });
  });

  it.concurrent('a secret-named setting (masterauth) reaches the server, while sandbox.json and status hold only its hash', async (t) => {
    needs(t, 'redis', ...driverNeeds);
    const { root, ctx } = ownRoot();
    const spec = specFor(driverName, 'redis', 'replica', await freePort(), {
      settings: { masterauth: 'masterauth-Zulu-77', 'maxmemory-policy': 'allkeys-lru' },
    });
    expect(spec.secret_settings).toEqual({ masterauth: 'masterauth-Zulu-77' });
    try {
      await driver.create(ctx, spec);
      expect((await client('redis', creds(spec), 'CONFIG GET masterauth')).out).toContain('masterauth-Zulu-77');
      const status = (await driver.status(ctx)).find((s) => s.name === 'replica');
      expect(status?.spec?.settings).toEqual(spec.settings); // the hash, as the plan compares it
      expect(status?.spec?.settings.masterauth).toMatch(/^sha256:[0-9a-f]{16}$/);
      expect(JSON.stringify(status)).not.toContain('masterauth-Zulu-77');
      expect(readFileSync(path.join(root.sandboxRoot, 'development', 'replica', 'sandbox.json'), 'utf8')).not.toContain(
        'masterauth-Zulu-77',
      );
    } finally {
      await driver.destroy(ctx, 'replica');
    }
  });

  it.concurrent('health is an answer, not an open port: a frozen server (SIGSTOP) is unhealthy until it resumes', async (t) => {
    needs(t, 'redis', ...driverNeeds);
    const { root, ctx } = ownRoot();
    const spec = specFor(driverName, 'redis', 'frozen', await freePort());
    try {
      await driver.create(ctx, spec);
      const pid = (await driver.status(ctx)).find((s) => s.name === 'frozen')?.pid;
      expect(pid).toBeGreaterThan(0);
      // The server itself (under namespace, a child of the reported pid): every process of the sandbox.
      const frozen = [...new Set([pid!, ...processesMentioning(path.join(root.sandboxRoot, 'development', 'frozen'))])];
      for (const p of frozen) process.kill(p, 'SIGSTOP');
      try {
        expect((await driver.status(ctx)).find((s) => s.name === 'frozen')).toMatchObject({ running: true, healthy: false });
        // A dump would wait on it forever: the backup refuses, with the way out.
        await expect(driver.backup(ctx, 'frozen', path.join(root.dir, 'frozen.rdb'))).rejects.toThrow(/does not answer[\s\S]*--no-backup/);
      } finally {
        for (const p of frozen) process.kill(p, 'SIGCONT');
      }
      expect((await driver.status(ctx)).find((s) => s.name === 'frozen')).toMatchObject({ running: true, healthy: true });
      if (driverName === 'lightweight') {
        // Stopping a frozen server: SIGCONT goes with SIGTERM, so it stops now, not at the 30 s SIGKILL.
        process.kill(pid!, 'SIGSTOP');
        await driver.stop(ctx, 'frozen');
        // Redis logged the SIGTERM: it ran, so it was not held pending until the timeout's SIGKILL.
        const log = readFileSync(path.join(root.sandboxRoot, 'development', 'frozen', 'logs', 'redis.log'), 'utf8');
        expect(log).toMatch(/Received SIGTERM scheduling shutdown/);
        expect((await driver.status(ctx)).find((s) => s.name === 'frozen')).toMatchObject({ running: false });
      }
    } finally {
      await driver.destroy(ctx, 'frozen');
    }
  });

  it.concurrent('a failed update puts the sandbox back as last applied: files, spec hash, and a running server', async (t) => {
    needs(t, 'postgres', 'redis', ...driverNeeds);
    const { root, ctx } = ownRoot();
    const [pgPort, redisPort] = [await freePort(), await freePort()];
    const pg = specFor(driverName, 'postgres', 'fail-pg', pgPort, { settings: { work_mem: '4MB' } });
    const rd = specFor(driverName, 'redis', 'fail-rd', redisPort, { settings: { 'maxmemory-policy': 'allkeys-lru' } });
    const conf = (name: string, file: string) => readFileSync(path.join(root.sandboxRoot, 'development', name, file), 'utf8');
    try {
      await driver.create(ctx, pg);
      await driver.create(ctx, rd);
      const before = { pg: conf('fail-pg', 'data/iact.conf'), rd: conf('fail-rd', 'conf/redis.conf') };

      // Postgres refuses to start with a value it cannot read: the restart fails, the old config comes back up.
      const badPg = specFor(driverName, 'postgres', 'fail-pg', pgPort, { settings: { work_mem: '4MB', shared_buffers: 'lots' } });
      await expect(driver.update(ctx, badPg, { steps: ['restart'] })).rejects.toThrow(/did not start/);
      // A reloadable postgres setting with a value postgres refuses: caught before the reload.
      const badReload = specFor(driverName, 'postgres', 'fail-pg', pgPort, { settings: { work_mem: 'lots' } });
      await expect(driver.update(ctx, badReload, { steps: ['reload'] })).rejects.toThrow(/PostgreSQL refuses the new settings: work_mem/);
      // Redis refuses the value at runtime: the reload fails, the server keeps running as it was.
      const badRd = specFor(driverName, 'redis', 'fail-rd', redisPort, { settings: { 'maxmemory-policy': 'no-such-policy' } });
      await expect(driver.update(ctx, badRd, { steps: ['reload'] })).rejects.toThrow();

      const statuses = await driver.status(ctx);
      expect(statuses.find((s) => s.name === 'fail-pg')).toMatchObject({ running: true, healthy: true, spec_hash: pg.spec_hash });
      expect(statuses.find((s) => s.name === 'fail-rd')).toMatchObject({ running: true, healthy: true, spec_hash: rd.spec_hash });
      expect(conf('fail-pg', 'data/iact.conf')).toBe(before.pg);
      expect(conf('fail-rd', 'conf/redis.conf')).toBe(before.rd);
      expect((await client('postgres', creds(pg), 'SHOW work_mem')).out).toBe('4MB');
      expect((await client('redis', creds(rd), 'CONFIG GET maxmemory-policy')).out).toContain('allkeys-lru');
      expect(existsSync(path.join(root.sandboxRoot, 'development', 'fail-pg', '.update-saved'))).toBe(false);
    } finally {
      await driver.destroy(ctx, 'fail-pg');
      await driver.destroy(ctx, 'fail-rd');
    }
  });

  it.concurrent('update: a reloadable setting applies without a restart; a port change restarts on the new port', async (t) => {
    needs(t, 'postgres', ...driverNeeds);
    const { ctx } = ownRoot();
    const port = await freePort();
    const spec = specFor(driverName, 'postgres', 'reconf', port, { settings: { work_mem: '4MB' } });
    try {
      await driver.create(ctx, spec);
      expect((await client('postgres', creds(spec), 'SHOW work_mem')).out).toBe('4MB');
      const pid = (await driver.status(ctx)).find((s) => s.name === 'reconf')?.pid;

      const reloaded = specFor(driverName, 'postgres', 'reconf', port, { settings: { work_mem: '8MB' } });
      await driver.update(ctx, reloaded, { steps: ['reload'] });
      expect(await waitFor(async () => (await client('postgres', creds(reloaded), 'SHOW work_mem')).out === '8MB', 5000)).toBe(true);
      expect((await driver.status(ctx)).find((s) => s.name === 'reconf')?.pid).toBe(pid);

      const newPort = await freePort();
      const moved = specFor(driverName, 'postgres', 'reconf', newPort, { settings: { work_mem: '8MB' } });
      await driver.update(ctx, moved, { steps: ['restart'] });
      const status = (await driver.status(ctx)).find((s) => s.name === 'reconf');
      expect(status).toMatchObject({ port: newPort, running: true, healthy: true, spec_hash: moved.spec_hash });
      expect((await client('postgres', creds(moved), 'SELECT 1')).out).toBe('1');
      expect(await portOpen(port)).toBe(false);
    } finally {
      await driver.destroy(ctx, 'reconf');
    }
  });

  it.concurrent('create twice is one sandbox (same process); destroy of a missing sandbox succeeds', async (t) => {
    needs(t, 'redis', ...driverNeeds);
    const { ctx } = ownRoot();
    const port = await freePort();
    const spec = specFor(driverName, 'redis', 'twice', port);
    try {
      await driver.create(ctx, spec);
      const first = (await driver.status(ctx)).filter((s) => s.name === 'twice');
      await driver.create(ctx, spec);
      const second = (await driver.status(ctx)).filter((s) => s.name === 'twice');
      expect(first).toHaveLength(1);
      expect(second).toHaveLength(1);
      expect(second[0]?.pid).toBe(first[0]?.pid);
      expect((await client('redis', creds(spec), 'PING')).out).toBe('PONG');
    } finally {
      await driver.destroy(ctx, 'twice');
    }
    await expect(driver.destroy(ctx, 'twice')).resolves.toBeUndefined();
  });

  it.concurrent('create after a killed, half-finished create repairs the sandbox', async (t) => {
    needs(t, 'postgres', ...driverNeeds);
    const { root, ctx } = ownRoot();
    const port = await freePort();
    const spec = specFor(driverName, 'postgres', 'half', port);
    const specFile = path.join(root.dir, 'half-spec.json');
    const { writeFileSync } = await import('node:fs');
    writeFileSync(specFile, JSON.stringify(spec), { mode: 0o600 });
    try {
      // Kill the whole script process group mid-way (after .meta, around the server start; sandbox.json
      // comes last, once the server accepted the spec).
      const child = execa(
        'bash',
        [(driver as BashDriver).scriptPath, 'create', 'half', 'postgres', String(port), '--spec', specFile, '--env', 'development'],
        {
          cwd: root.dir,
          env: root.env,
          detached: true,
          reject: false,
          stdin: 'ignore',
        },
      );
      const dir = path.join(root.sandboxRoot, 'development', 'half');
      await waitFor(() => existsSync(path.join(dir, '.meta')), 20_000);
      process.kill(-(child.pid as number), 'SIGKILL');
      await child;
      expect(existsSync(path.join(dir, '.initialized'))).toBe(false);

      await driver.create(ctx, spec);
      const status = (await driver.status(ctx)).filter((s) => s.name === 'half');
      expect(status).toHaveLength(1);
      expect(status[0]).toMatchObject({ running: true, healthy: true });
      expect((await client('postgres', creds(spec), 'SELECT 1')).out).toBe('1');
    } finally {
      await driver.destroy(ctx, 'half');
    }
  });
}

/** Every *.log file under a sandbox directory (server logs, the general log in the data directory). */
function logFiles(dir: string): string[] {
  const out: string[] = [];
  for (const entry of readdirSync(dir, { recursive: true, encoding: 'utf8' })) {
    const file = path.join(dir, entry);
    if (/\.log$|(^|\/)log(s)?\//.test(entry) && statSync(file).isFile()) out.push(file);
  }
  return out;
}
