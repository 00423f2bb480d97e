// `update --steps` (docs/driver-protocol.md "Update steps"): the driver performs exactly the steps it
// is given, in the order set-password, reload, restart, and refuses (exit 2, nothing changed) a
// change those steps cannot carry out. Real servers, driven through the scripts as iact calls them.
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriverSpec } from '../../src/drivers/types.js';
import type { DriverName } from '../../src/model/types.js';
import { creds, specFor } from '../helpers/lifecycle.js';
import { client, freePort, portOpen, repoRoot, needs, tempRoot, TEMPLATE_DIR, type TempRoot } from '../helpers/services.js';

const isRoot = process.getuid?.() === 0;
const DRIVERS: readonly { driver: DriverName; script: string }[] = [
  { driver: 'lightweight', script: 'lightweight_venv.sh' },
  ...(isRoot ? [{ driver: 'namespace' as const, script: 'wasm_style_sandbox.sh' }] : []),
];

// The drivers run at once (a root each); within a driver the tests run in order.
describe.concurrent.each(DRIVERS)('update --steps ($driver)', ({ driver, script }) => {
  let root: TempRoot;
  const run = (args: string[], input?: string, extraEnv: Record<string, string> = {}) =>
    execa('bash', [path.join(repoRoot, 'bash', script), ...args, '--env', 'development'], {
      cwd: root.dir,
      env: { ...root.env, ...extraEnv },
      reject: false,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    });
  const create = async (spec: DriverSpec) => {
    const r = await run(['create', spec.name, spec.service, String(spec.port), '--spec', '-'], JSON.stringify(spec));
    expect(r.stderr).not.toMatch(/^error:/m);
    expect(r.exitCode).toBe(0);
  };
  const update = (spec: DriverSpec, steps: string[] | null, extraEnv: Record<string, string> = {}) =>
    run(['update', spec.name, '--spec', '-', ...(steps === null ? [] : ['--steps', steps.join(',')])], JSON.stringify(spec), extraEnv);
  const status = async (name: string) => {
    const r = await run(['status', name, '--json']);
    return (
      JSON.parse(r.stdout) as Array<{
        name: string;
        pid: number | null;
        running: boolean;
        healthy: boolean;
        port: number;
        spec_hash: string;
      }>
    )[0];
  };
  const sandboxFile = (name: string, file: string) => readFileSync(path.join(root.sandboxRoot, 'development', name, file), 'utf8');

  beforeAll(() => {
    root = tempRoot(`iact-steps-${driver}-`);
    root.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
  });
  afterAll(() => root.cleanup());

  it.sequential('redis with settings: a new password and a reloadable setting in one update both take effect, same process', async (ctx) => {
    needs(ctx, 'redis'); // a missing binary fails with its install hint (test/helpers/services.ts)
    const port = await freePort();
    const first = specFor(driver, 'redis', 'rd-pw', port, {
      password: 'first-Alpha-1',
      settings: { loglevel: 'notice', 'maxmemory-policy': 'allkeys-lru' },
    });
    const second = specFor(driver, 'redis', 'rd-pw', port, {
      password: 'second-Bravo-2',
      settings: { loglevel: 'warning', 'maxmemory-policy': 'allkeys-lru' },
    });
    try {
      await create(first);
      const pid = (await status('rd-pw'))?.pid;
      const r = await update(second, ['set-password', 'reload']);
      expect(r.stderr).not.toMatch(/WRONGPASS|AUTH failed|error:/);
      expect(r.exitCode).toBe(0);
      expect(await status('rd-pw')).toMatchObject({ pid, running: true, healthy: true, spec_hash: second.spec_hash });
      expect((await client('redis', creds(second), 'CONFIG GET loglevel')).out).toContain('warning');
      expect((await client('redis', creds(first), 'PING')).ok).toBe(false);
    } finally {
      await run(['destroy', 'rd-pw', '--yes']);
    }
  });

  it.sequential('mysql: a new password and a reloadable setting at runtime, same process; a dropped setting is named', async (ctx) => {
    needs(ctx, 'mysql'); // a missing binary fails with its install hint (test/helpers/services.ts)
    const port = await freePort();
    const first = specFor(driver, 'mysql', 'my-pw', port, {
      password: 'first-Kilo-1',
      settings: { max_connections: 50, wait_timeout: 100 },
    });
    const second = specFor(driver, 'mysql', 'my-pw', port, { password: 'second-Lima-2', settings: { max_connections: 60 } });
    try {
      await create(first);
      const pid = (await status('my-pw'))?.pid;
      const r = await update(second, ['set-password', 'reload']);
      expect(r.exitCode).toBe(0);
      expect(r.stderr).toMatch(/wait_timeout left the spec/);
      expect(r.stderr).not.toContain('second-Lima-2');
      expect(await status('my-pw')).toMatchObject({ pid, running: true, healthy: true, spec_hash: second.spec_hash });
      expect((await client('mysql', creds(second), 'SELECT @@global.max_connections')).out).toBe('60');
      expect((await client('mysql', creds(first), 'SELECT 1')).ok).toBe(false);
    } finally {
      await run(['destroy', 'my-pw', '--yes']);
    }
  });

  it.sequential('refuses what the steps cannot carry out: exit 2, files, process and port unchanged', async (ctx) => {
    needs(ctx, 'postgres'); // a missing binary fails with its install hint (test/helpers/services.ts)
    const port = await freePort();
    const spec = specFor(driver, 'postgres', 'pg-steps', port, { password: 'pg-Charlie-3', settings: { work_mem: '4MB' } });
    try {
      await create(spec);
      const before = {
        json: sandboxFile('pg-steps', 'sandbox.json'),
        conf: sandboxFile('pg-steps', 'data/iact.conf'),
        pid: (await status('pg-steps'))?.pid,
      };
      const newPort = await freePort();
      const cases: Array<[DriverSpec, string[], RegExp]> = [
        [
          specFor(driver, 'postgres', 'pg-steps', newPort, { password: 'pg-Charlie-3', settings: { work_mem: '4MB' } }),
          ['reload'],
          /needs the step\(s\) restart \(port\)/,
        ],
        [
          specFor(driver, 'postgres', 'pg-steps', port, {
            password: 'pg-Charlie-3',
            settings: { work_mem: '4MB', shared_buffers: '64MB' },
          }),
          ['reload'],
          /restart \(settings\.shared_buffers\)/,
        ],
        [
          specFor(driver, 'postgres', 'pg-steps', port, { password: 'pg-Charlie-3', settings: { work_mem: '8MB' } }),
          ['set-password'],
          /reload \(settings\.work_mem\)/,
        ],
        [
          specFor(driver, 'postgres', 'pg-steps', port, { password: 'pg-Delta-4', settings: { work_mem: '4MB' } }),
          ['reload', 'restart'],
          /set-password \(password\)/,
        ],
        [spec, ['recreate'], /no step 'recreate'/],
        [spec, ['bounce'], /unknown update step 'bounce'/],
      ];
      for (const [changed, steps, message] of cases) {
        const r = await update(changed, steps);
        expect(r.stderr).toMatch(message);
        expect(r.exitCode).toBe(2);
        expect(r.stderr).not.toContain('pg-Delta-4');
      }
      expect(sandboxFile('pg-steps', 'sandbox.json')).toBe(before.json);
      expect(sandboxFile('pg-steps', 'data/iact.conf')).toBe(before.conf);
      expect(await status('pg-steps')).toMatchObject({ pid: before.pid, port, running: true, healthy: true });
      expect(await portOpen(newPort)).toBe(false);

      // The port change with a new password: set on the running server, then a new process on the new port, same data.
      expect((await client('postgres', creds(spec), 'CREATE TABLE kept (v int)')).ok).toBe(true);
      const moved = specFor(driver, 'postgres', 'pg-steps', newPort, { password: 'pg-Delta-4', settings: { work_mem: '4MB' } });
      const r = await update(moved, ['set-password', 'restart']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(await status('pg-steps')).toMatchObject({ port: newPort, running: true, healthy: true, spec_hash: moved.spec_hash });
      expect((await status('pg-steps'))?.pid).not.toBe(before.pid);
      expect((await client('postgres', creds(moved), 'SELECT count(*) FROM kept')).out).toBe('0');
      expect(await portOpen(port)).toBe(false);
    } finally {
      await run(['destroy', 'pg-steps', '--yes']);
    }
  });

  it.sequential('a stopped sandbox stays stopped; its new password and port work once it starts', async (ctx) => {
    needs(ctx, 'postgres'); // a missing binary fails with its install hint (test/helpers/services.ts)
    const port = await freePort();
    const spec = specFor(driver, 'postgres', 'pg-stopped', port, { password: 'stopped-Echo-5' });
    try {
      await create(spec);
      expect((await run(['stop', 'pg-stopped'])).exitCode).toBe(0);
      const newPort = await freePort();
      const changed = specFor(driver, 'postgres', 'pg-stopped', newPort, { password: 'stopped-Foxtrot-6' });
      const r = await update(changed, ['set-password', 'restart']);
      expect(r.exitCode).toBe(0);
      expect(await status('pg-stopped')).toMatchObject({ running: false, port: newPort, spec_hash: changed.spec_hash });
      expect(await portOpen(newPort)).toBe(false);
      expect((await run(['start', 'pg-stopped'])).exitCode).toBe(0);
      expect((await client('postgres', creds(changed), 'SELECT 1')).out).toBe('1');
      expect((await client('postgres', creds(spec, 'stopped-Echo-5'), 'SELECT 1')).ok).toBe(false);
    } finally {
      await run(['destroy', 'pg-stopped', '--yes']);
    }
  });

  it.sequential('callers from before --steps: nothing means set-password and reload, --restart adds a restart', async (ctx) => {
    needs(ctx, 'redis'); // a missing binary fails with its install hint (test/helpers/services.ts)
    const port = await freePort();
    const spec = specFor(driver, 'redis', 'rd-legacy', port, { password: 'legacy-Golf-7', settings: { hz: 10 } });
    try {
      await create(spec);
      const pid = (await status('rd-legacy'))?.pid;
      const reloaded = specFor(driver, 'redis', 'rd-legacy', port, { password: 'legacy-Hotel-8', settings: { hz: 20 } });
      expect((await update(reloaded, null)).exitCode).toBe(0);
      expect(await status('rd-legacy')).toMatchObject({ pid, healthy: true });
      expect((await client('redis', creds(reloaded), 'CONFIG GET hz')).out).toContain('20');

      const newPort = await freePort();
      const moved = specFor(driver, 'redis', 'rd-legacy', newPort, { password: 'legacy-Hotel-8', settings: { hz: 20 } });
      const refused = await update(moved, null);
      expect(refused.exitCode).toBe(2);
      expect(refused.stderr).toMatch(/restart \(port\)/);
      const r = await run(['update', 'rd-legacy', '--spec', '-', '--restart'], JSON.stringify(moved));
      expect(r.exitCode).toBe(0);
      expect(await status('rd-legacy')).toMatchObject({ port: newPort, healthy: true });
      expect((await client('redis', creds(moved), 'PING')).out).toBe('PONG');
    } finally {
      await run(['destroy', 'rd-legacy', '--yes']);
    }
  });
});
