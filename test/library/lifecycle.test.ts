// The TypeScript API alone (no CLI process): plan, apply, talk to the servers, status, destroy.
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { IactError, apply, destroy, plan, status, type ApplyRecord } from '../../src/index.js';
import { client, describeNeeding, freePort, portOpen } from '../helpers/services.js';
import { devManifest } from '../helpers/manifests.js';
import { killProcessesIn } from '../sandbox/procs.js';

const DB_PASSWORD = 'lib-Pg-Secret-81';
const REDIS_PASSWORD = 'lib-Redis-Secret-82';

describeNeeding('postgres', 'redis')('library: plan, apply, status, destroy', { timeout: 180_000 }, () => {
  let dir: string | undefined;
  afterEach(() => {
    if (!dir) return;
    killProcessesIn(dir);
    rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    dir = undefined;
  });

  /** A temporary project with a postgres and a redis sandbox on free ports. */
  async function newProject(protectRedis = false) {
    dir = mkdtempSync(path.join(tmpdir(), 'iact-lib-'));
    // Services run as their system users: the project dir must be traversable, as a real one is.
    chmodSync(dir, 0o711);
    mkdirSync(path.join(dir, 'environments'));
    const pg = await freePort();
    let redis = await freePort();
    while (redis === pg) redis = await freePort();
    writeFileSync(path.join(dir, 'environments', 'development.yaml'), devManifest(pg, { redis, cache: true, protectRedis }));
    // Variables come from the caller, not from .env or process.env.
    const project = {
      cwd: dir,
      variables: { DB_VM_PASSWORD: DB_PASSWORD, REDIS_VM_PASSWORD: REDIS_PASSWORD, PATH: process.env.PATH },
      log: () => undefined,
    };
    return { dir, pg, redis, project };
  }

  it('converges an environment from TypeScript and reports it as the JSON formats do', async () => {
    const { dir, pg, redis, project } = await newProject();

    const planned = await plan(project);
    expect(planned.environment).toBe('development');
    expect(planned.summary).toMatchObject({ create: 2, delete: 0, config: 1 });
    expect(planned.changes.map((c) => `${c.address} ${c.action}`).sort()).toEqual([
      'sandbox.dev-postgres create',
      'sandbox.dev-redis create',
    ]);

    const seen: ApplyRecord[] = [];
    const applied = await apply({ ...project, onEvent: (e) => seen.push(e) });
    expect(seen).toEqual(applied.events);
    expect(
      applied.events
        .filter((e) => e.type === 'end')
        .map((e) => ('outcome' in e ? `${e.address} ${e.outcome}` : ''))
        .sort(),
    ).toEqual(['sandbox.dev-postgres created', 'sandbox.dev-redis created']);
    expect(applied.events.at(-1)).toEqual(applied.summary);
    expect(applied.summary).toMatchObject({ type: 'summary', created: 2, failed: 0, skipped: 0 });
    expect(applied.plan.summary.create).toBe(2);
    expect(JSON.stringify(applied)).not.toMatch(new RegExp(`${DB_PASSWORD}|${REDIS_PASSWORD}`));

    // The servers are real: log in with the manifest's credentials, write and read back.
    const creds = { port: pg, database: 'app', user: 'app', password: DB_PASSWORD };
    expect((await client('postgres', creds, "CREATE TABLE lib_probe (v text); INSERT INTO lib_probe VALUES ('kept')")).ok).toBe(true);
    expect((await client('postgres', creds, 'SELECT v FROM lib_probe')).out).toBe('kept');
    const redisCreds = { port: redis, database: '0', user: 'default', password: REDIS_PASSWORD };
    expect((await client('redis', redisCreds, 'SET lib_probe kept')).ok).toBe(true);
    expect((await client('redis', redisCreds, 'GET lib_probe')).out).toBe('kept');
    const envFile = readFileSync(path.join(dir, '.iact', 'env', 'development.env'), 'utf8');
    expect(envFile).toContain(`DB_PORT='${pg}'`);
    expect(envFile).toContain(`REDIS_PORT='${redis}'`);

    const live = await status(project);
    expect(live.environment).toBe('development');
    expect(live.sandboxes.map((s) => [s.name, s.port, s.running, s.healthy, s.state])).toEqual([
      ['dev-postgres', pg, true, true, 'in sync'],
      ['dev-redis', redis, true, true, 'in sync'],
    ]);

    const again = await plan(project);
    expect(again.changes.every((c) => c.action === 'no-op')).toBe(true);
    expect(again.summary).toMatchObject({ create: 0, update: 0, replace: 0, delete: 0, start: 0, config: 0 });
    const nothing = await apply(project);
    expect(nothing.summary).toMatchObject({ message: 'No changes. development matches its manifest.', created: 0 });

    // Errors are typed and carry the CLI's diagnostics (summary and fix), not a stack trace.
    const unknown = await plan({ ...project, env: 'nope' }).catch((e: unknown) => e);
    expect(unknown).toBeInstanceOf(IactError);
    expect((unknown as IactError).diagnostics[0]?.summary).toMatch(/nope/);
    expect((unknown as IactError).diagnostics[0]?.fix).toBeTruthy();

    const destroyed = await destroy({ ...project, noBackup: true });
    expect(destroyed.summary).toMatchObject({ deleted: 2, failed: 0 });
    expect(destroyed.plan.changes.map((c) => c.reasons)).toEqual([['destroy requested'], ['destroy requested']]);
    expect(await portOpen(pg)).toBe(false);
    expect(await portOpen(redis)).toBe(false);
    expect(existsSync(path.join(dir, '.iact', 'env', 'development.env'))).toBe(false);
    expect((await status(project)).sandboxes.every((s) => s.state === 'missing')).toBe(true);
    const empty = await destroy(project);
    expect(empty.summary.message).toBe(
      'Nothing to destroy: no sandbox and no connection-settings file of development exists on this machine.',
    );
  });

  it('a destroy refused for a protected sandbox throws, deletes nothing and lists what it would delete', async () => {
    const { pg, redis, project } = await newProject(true);
    await apply(project);
    const refused = await destroy({ ...project, noBackup: true }).catch((e: unknown) => e);
    expect(refused).toBeInstanceOf(IactError);
    const diagnostics = (refused as IactError).diagnostics;
    expect(diagnostics.map((d) => d.code)).toEqual(['apply.protected', 'destroy.refused']);
    expect(diagnostics[0]!.summary).toBe('sandbox.dev-redis would be deleted, but it is protected');
    expect(diagnostics[1]!.summary).toBe('nothing was destroyed; with --allow-destroy this destroy deletes 2 sandboxes');
    expect(diagnostics[1]!.detail).toBe('- sandbox.dev-postgres\n- sandbox.dev-redis (protected)');
    expect(await portOpen(pg)).toBe(true);
    expect(await portOpen(redis)).toBe(true);
    const allowed = await destroy({ ...project, noBackup: true, allowDestroy: true });
    expect(allowed.summary).toMatchObject({ deleted: 2, failed: 0 });
  });
});
