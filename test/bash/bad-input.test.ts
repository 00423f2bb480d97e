// The driver scripts validate their own input again (names, ports, services, specs): exit 2, nothing changed.
import { existsSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { execa } from 'execa';
import { repoRoot, tempRoot, type TempRoot } from '../helpers/services.js';

const SCRIPTS = ['lightweight_venv.sh', 'wasm_style_sandbox.sh'];

describe.each(SCRIPTS)('bash/%s', (script) => {
  let root: TempRoot;
  const run = (args: string[]) =>
    execa('bash', [path.join(repoRoot, 'bash', script), ...args], { cwd: root.dir, env: root.env, reject: false, stdin: 'ignore' });

  beforeAll(() => {
    root = tempRoot('iact-badinput-');
  });
  afterAll(() => root.cleanup());

  it('--help prints the verbs and exits 0', async () => {
    const r = await run(['--help']);
    expect(r.exitCode).toBe(0);
    for (const verb of ['create', 'update', 'start', 'stop', 'destroy', 'status', 'list', 'info', 'activate', 'backup'])
      expect(r.stdout).toContain(verb);
  });

  const bad: Array<[string, string[], RegExp]> = [
    ['a name with a shell metacharacter', ['create', 'a;id', 'redis', '20000'], /invalid sandbox name/],
    ['a path in the name', ['create', '../x', 'redis', '20000'], /invalid sandbox name/],
    ['a command substitution in the name', ['create', '$(id)', 'redis', '20000'], /invalid sandbox name/],
    ['a privileged port', ['create', 'ok-name', 'redis', '80'], /invalid port/],
    ['a port above 65535', ['create', 'ok-name', 'redis', '70000'], /invalid port/],
    ['a non-numeric port', ['create', 'ok-name', 'redis', '5432;id'], /invalid port/],
    ['an unknown service', ['create', 'ok-name', 'oracle', '20000'], /unknown service/],
    ['a bad environment', ['create', 'ok-name', 'redis', '20000', '--env', '../prod'], /invalid environment/],
    ['an unknown verb', ['explode', 'ok-name'], /unknown verb/],
    ['an unknown option', ['create', 'ok-name', 'redis', '20000', '--force'], /unknown option/],
    ['missing arguments', ['create', 'ok-name'], /expected NAME SERVICE PORT/],
    ['a bad name to destroy', ['destroy', '../../etc', '--yes'], /invalid sandbox name/],
    ['a bad name to status', ['status', 'a b', '--json'], /invalid sandbox name/],
  ];

  it.each(bad)('%s exits 2 with a message and creates nothing', async (_label, args, message) => {
    const r = await run(args);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toMatch(/uid=\d+/); // `id` never ran
    expect(r.stdout).toBe('');
    expect(existsSync(root.sandboxRoot)).toBe(false);
  });

  const badSpecs: Array<[string, Record<string, unknown>, RegExp]> = [
    ['a setting value with a newline', { settings: { max_connections: '5\nlisten_addresses = *' } }, /line breaks/],
    ['a setting value with a quote', { settings: { work_mem: "4MB'" } }, /quotes/],
    ['a setting name with a space', { settings: { 'bad key': 1 } }, /invalid setting name/],
    ['a setting the driver owns', { settings: { port: 1 } }, /managed by iact/],
    ['a database name with a quote', { database: "x'; DROP" }, /invalid database name/],
    ['the administrator as user', { user: 'postgres' }, /administrator/],
    ['a spec for another sandbox', { name: 'other' }, /does not match/],
    ['a port that differs from the command line', { port: 20001 }, /does not match/],
  ];

  it.each(badSpecs)('a spec with %s exits 2 and creates nothing', async (_label, patch, message) => {
    const spec = {
      name: 'ok-name',
      environment: 'development',
      service: 'postgres',
      port: 20000,
      database: 'db',
      user: 'app',
      password: 'pw-secret-1',
      settings: {},
      spec_hash: 'sha256:x',
      ...patch,
    };
    const file = path.join(root.dir, 'spec.json');
    writeFileSync(file, JSON.stringify(spec), { mode: 0o600 });
    const r = await run(['create', 'ok-name', 'postgres', '20000', '--spec', file]);
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toMatch(message);
    expect(r.stderr).not.toContain('pw-secret-1');
    expect(existsSync(root.sandboxRoot)).toBe(false);
  });

  it('a spec file that is not JSON exits 2', async () => {
    const file = path.join(root.dir, 'broken.json');
    writeFileSync(file, '{"name": ', { mode: 0o600 });
    const r = await run(['create', 'ok-name', 'redis', '20000', '--spec', file]);
    expect(r.exitCode).toBe(2);
    expect(existsSync(root.sandboxRoot)).toBe(false);
  });

  it('status of an empty environment is an empty JSON array', async () => {
    const r = await run(['status', '--json']);
    expect(r.exitCode).toBe(0);
    expect(JSON.parse(r.stdout)).toEqual([]);
  });

  it('destroy of a missing sandbox succeeds and says so on stderr', async () => {
    const r = await run(['destroy', 'never-made', '--yes']);
    expect(r.exitCode).toBe(0);
    expect(r.stderr).toMatch(/no sandbox 'never-made'.*nothing to destroy/);
    expect(r.stdout).toBe('');
  });
});
