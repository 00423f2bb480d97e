// Issue 11, item 1: links planted by the service user where root writes (docs/driver-protocol.md
// "Sandbox directories"). The sandbox starts in the layout older drivers left (the service user
// owned the directory, conf/ and logs/); the redis user then plants links to root's files, and
// root's next create and update must neither write nor chown through them.
import { chownSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, freePort, needs, tempRoot, type TempRoot } from '../helpers/services.js';
import { asUser, script, spec } from './driver.js';

let root: TempRoot;
let victims: string;
beforeAll(() => {
  root = tempRoot('iact-sec01-');
  // Root's files, in a directory only root can enter.
  victims = mkdtempSync(path.join(tmpdir(), 'iact-sec01-victims-'));
});
afterAll(async () => {
  for (const name of ['links-redis', 'links-pg']) await script(root, ['destroy', name, '--yes']);
  root.cleanup();
  rmSync(victims, { recursive: true, force: true });
});

function victim(name: string): string {
  const file = path.join(victims, name);
  writeFileSync(file, `precious ${name}\n`, { mode: 0o600 });
  return file;
}

function untouched(file: string): void {
  const st = statSync(file);
  expect(readFileSync(file, 'utf8'), file).toBe(`precious ${path.basename(file)}\n`);
  expect(st.uid, `${file} owner`).toBe(0);
  expect(st.mode & 0o777, `${file} mode`).toBe(0o600);
}

/** What drivers before this change left: the service user owned the directory, conf/, logs/, run/, data/. */
function oldLayout(dir: string, user: string): void {
  const { uid, gid } = (() => {
    const line = readFileSync('/etc/passwd', 'utf8')
      .split('\n')
      .find((l) => l.startsWith(`${user}:`))!
      .split(':');
    return { uid: Number(line[2]), gid: Number(line[3]) };
  })();
  for (const d of ['', 'conf', 'logs', 'run', 'data']) chownSync(path.join(dir, d), uid, gid);
}

/** The driver's create (or repair) of NAME with the spec's password PASSWORD. */
function create(name: string, service: 'redis' | 'postgres', port: number, password: string) {
  return script(root, ['create', name, service, String(port), '--spec', '-'], { input: spec(name, service, port, password) });
}

/** NAME made on a free port with PASSWORD: its port and directory. */
async function created(name: string, service: 'redis' | 'postgres', password: string): Promise<{ port: number; dir: string }> {
  const port = await freePort();
  const r = await create(name, service, port, password);
  expect(r.exitCode, r.stderr).toBe(0);
  return { port, dir: path.join(root.sandboxRoot, 'development', name) };
}

describe('item 1: links planted by the service user', () => {
  it('redis: conf/redis.conf, sandbox.json, logs/ and secrets/password linked to root files are not written through', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const name = 'links-redis';
    const { port, dir } = await created(name, 'redis', 'first-pass');
    oldLayout(dir, 'redis');

    const conf = victim('conf');
    const json = victim('json');
    const log = victim('log');
    const password = victim('password');
    // The attack as the redis user: each may fail where the directory is no longer its own.
    asUser('redis', `cd '${dir}' && rm -f conf/redis.conf && ln -s '${conf}' conf/redis.conf`);
    asUser('redis', `cd '${dir}' && mv sandbox.json old.json && ln -s '${json}' sandbox.json`);
    asUser('redis', `cd '${dir}' && rm -f logs/redis.log && ln -s '${log}' logs/redis.log`);
    asUser('redis', `cd '${dir}' && mv secrets secrets.old && mkdir secrets && ln -s '${password}' secrets/password`);

    const again = await create(name, 'redis', port, 'second-pass');
    expect(again.exitCode, again.stderr).toBe(0);
    const updated = await script(root, ['update', name, '--spec', '-', '--steps', 'set-password'], {
      input: spec(name, 'redis', port, 'third-pass'),
    });
    expect(updated.exitCode, updated.stderr).toBe(0);
    await script(root, ['stop', name]);
    expect((await script(root, ['start', name])).exitCode).toBe(0);

    for (const file of [conf, json, log, password]) untouched(file);
    // The directory is root's again, and the sandbox works with its latest password.
    expect(statSync(dir).uid).toBe(0);
    expect((await client('redis', { port, database: '', user: '', password: 'third-pass' }, 'PING')).out).toBe('PONG');
  }, 120_000);

  it('postgres: iact.conf, pg_hba.conf and pg_ident.conf linked from data/ (the postgres user keeps that directory) are replaced, not written through', async (ctx) => {
    needs(ctx, 'root', 'postgres');
    const name = 'links-pg';
    const { port, dir } = await created(name, 'postgres', 'pg-first');

    const files = ['iact.conf', 'pg_hba.conf', 'pg_ident.conf'].map((f) => [f, victim(f)] as const);
    for (const [f, target] of files) {
      const planted = asUser('postgres', `cd '${dir}/data' && rm -f ${f} && ln -s '${target}' ${f}`);
      expect(planted.ok, planted.out).toBe(true); // data/ is the postgres user's: this attack always succeeds
    }
    const again = await create(name, 'postgres', port, 'pg-first');
    expect(again.exitCode, again.stderr).toBe(0);
    for (const [, target] of files) untouched(target);
    expect((await client('postgres', { port, database: 'links_pg', user: 'links_pg', password: 'pg-first' }, 'SELECT 1')).out).toBe('1');
  }, 120_000);
});
