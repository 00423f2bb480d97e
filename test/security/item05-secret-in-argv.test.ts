// Issue 11, item 5: no secret and no setting value on a command line (/proc/PID/cmdline is readable
// by every local user). The clients the driver runs through PATH (redis-cli, mariadb) are wrapped
// here to record their argv; a reload, a repair create and a password change must leave no value there.
import { chmodSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { specFor } from '../helpers/lifecycle.js';
import { client, freePort, repoRoot, TEMPLATE_DIR, tempRoot, type TempRoot } from '../helpers/services.js';
import { describeNeeding } from '../helpers/iact-project.js';
import type { DriverSpec } from '../../src/drivers/types.js';

const MASTERAUTH = 'item05-Masterauth-Secret-77';

describeNeeding('redis', 'mysql')('item 5: secrets and setting values never ride on a command line', () => {
  let root: TempRoot;
  let argvLog: string;
  let wrapperDir: string;

  beforeAll(() => {
    root = tempRoot('iact-item05-');
    wrapperDir = path.join(root.dir, 'wrappers');
    mkdirSync(wrapperDir, { mode: 0o755 });
    chmodSync(wrapperDir, 0o755);
    argvLog = path.join(root.dir, 'argv.log');
    writeFileSync(argvLog, '', { mode: 0o666 });
    chmodSync(argvLog, 0o666);
    for (const bin of ['redis-cli', 'mariadb']) {
      const real = execaSyncWhich(bin);
      writeFileSync(path.join(wrapperDir, bin), `#!/bin/bash\nprintf '%s\\n' "${bin} $*" >>'${argvLog}'\nexec '${real}' "$@"\n`, {
        mode: 0o755,
      });
    }
  });

  afterAll(() => root?.cleanup());

  const run = (args: string[], input: string) =>
    execa('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), ...args, '--env', 'development'], {
      cwd: root.dir,
      env: { ...root.env, IACT_TEMPLATE_DIR: TEMPLATE_DIR, PATH: `${wrapperDir}:${process.env.PATH ?? ''}` },
      input,
      reject: false,
    });
  const create = (spec: DriverSpec) => run(['create', spec.name, spec.service, String(spec.port), '--spec', '-'], JSON.stringify(spec));
  const update = (spec: DriverSpec, steps: string) => run(['update', spec.name, '--spec', '-', '--steps', steps], JSON.stringify(spec));
  const argv = () => readFileSync(argvLog, 'utf8');

  it('redis: a repair create and a reload send CONFIG SET on stdin; masterauth and the password stay off argv', async () => {
    const port = await freePort();
    const first = specFor('lightweight', 'redis', 'rd-argv', port, {
      password: 'item05-Redis-pw-1',
      settings: { masterauth: MASTERAUTH, maxmemory: '64mb' },
    });
    expect((await create(first)).exitCode).toBe(0);
    // create is an ensure: on the running server, with a changed setting.
    const second = specFor('lightweight', 'redis', 'rd-argv', port, {
      password: 'item05-Redis-pw-2',
      settings: { masterauth: MASTERAUTH, maxmemory: '128mb' },
    });
    const ensured = await create(second);
    expect(ensured.exitCode, ensured.stderr).toBe(0);
    const third = specFor('lightweight', 'redis', 'rd-argv', port, {
      password: 'item05-Redis-pw-3',
      settings: { masterauth: MASTERAUTH, maxmemory: '96mb', 'notify-keyspace-events': 'Ex' },
    });
    const reloaded = await update(third, 'set-password,reload');
    expect(reloaded.exitCode, reloaded.stderr).toBe(0);
    const c = { port, database: '', user: '', password: 'item05-Redis-pw-3' };
    expect((await client('redis', c, 'CONFIG GET maxmemory')).out).toContain(String(96 * 1024 * 1024));
    expect((await client('redis', c, 'CONFIG GET notify-keyspace-events')).out).toMatch(/xE|Ex/);
    const log = argv();
    expect(log).toContain('redis-cli');
    for (const secret of [MASTERAUTH, 'item05-Redis-pw-1', 'item05-Redis-pw-2', 'item05-Redis-pw-3', '96mb', 'Ex'])
      expect(log).not.toContain(secret);
    // `-x CONFIG SET requirepass` reads the value from stdin; no CONFIG SET carries a value in argv.
    expect(log).not.toMatch(/CONFIG SET \S+ \S/i);
  }, 120_000);

  it('mariadb: SET GLOBAL of a reload goes on stdin, not -e', async () => {
    const port = await freePort();
    const first = specFor('lightweight', 'mysql', 'my-argv', port, { password: 'item05-Maria-pw-1', settings: { long_query_time: 7 } });
    const created = await create(first);
    expect(created.exitCode, created.stderr).toBe(0);
    const second = specFor('lightweight', 'mysql', 'my-argv', port, {
      password: 'item05-Maria-pw-2',
      settings: { long_query_time: 9, sql_mode: 'ANSI_QUOTES' },
    });
    const updated = await update(second, 'set-password,reload');
    expect(updated.exitCode, updated.stderr).toBe(0);
    const out = await client(
      'mysql',
      { port, database: 'appdb', user: 'app', password: 'item05-Maria-pw-2' },
      'SELECT @@global.long_query_time, @@global.sql_mode',
    );
    expect(out.out).toMatch(/^9\.0+\s+ANSI_QUOTES$/);
    const log = argv();
    expect(log).toContain('mariadb');
    for (const secret of ['item05-Maria-pw-1', 'item05-Maria-pw-2', 'ANSI_QUOTES']) expect(log).not.toContain(secret);
    expect(log).not.toMatch(/SET GLOBAL/i);
  }, 180_000);
});

function execaSyncWhich(bin: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, bin);
    try {
      readFileSync(candidate);
      return candidate;
    } catch {
      // not here
    }
  }
  throw new Error(`${bin} is not on PATH`);
}
