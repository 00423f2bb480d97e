// Issue 11, item 19: Ctrl-C on a terminal sends SIGINT to iact's whole process group. The actions
// already running must finish (docs/commands.md "apply"): the sandbox being created is complete
// afterwards, and nothing is left half-made.
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, needs, waitFor } from '../helpers/services.js';
import { freePorts, makeProject, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';

const PG = 'pg-item-nineteen';
const MY = 'my-item-nineteen';
let project: Project;
beforeAll(() => {
  project = makeProject('iact-sec19-');
});
afterAll(async () => project.cleanup());

describe('item 19: Ctrl-C to the whole process group', () => {
  it('lets the running create finish, starts nothing new, and leaves no half-made sandbox', async (ctx) => {
    needs(ctx, 'root', 'postgres', 'mysql');
    const [pg, my] = await freePorts(2);
    project.writeEnv(`DB_VM_PASSWORD=${PG}\nMYSQL_VM_PASSWORD=${MY}\n`);
    project.writeManifest('development', devManifest(pg!, { mysql: my }));
    // As a shell runs a command: in a process group of its own, which the terminal's Ctrl-C signals whole.
    const { cliPath } = await import('../helpers/iact-project.js');
    const { spawn } = await import('node:child_process');
    const child = spawn(process.execPath, [cliPath, 'apply', '--auto-approve', '--parallelism', '1'], {
      cwd: project.dir,
      detached: true,
      stdio: ['ignore', 'pipe', 'pipe'],
      env: { ...process.env, NO_COLOR: '1', IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' },
    });
    let out = '';
    child.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr!.on('data', (c: Buffer) => (out += c.toString()));
    const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
    const envDir = path.join(project.dir, '.iact', 'sandboxes', 'development');
    // The first create is under way: its directory exists, its create has not finished.
    const started = await waitFor(() => existsSync(envDir) && readdirSync(envDir).some((n) => !n.startsWith('.')), 60_000);
    expect(started, out).toBe(true);
    const first = readdirSync(envDir).find((n) => !n.startsWith('.'))!;
    expect(existsSync(path.join(envDir, first, '.initialized'))).toBe(false);
    process.kill(-child.pid!, 'SIGINT');
    const code = await exited;

    expect(out).toContain('SIGINT received: finishing the actions already running');
    expect(code, out).toBe(1);
    // The create that was running finished: its sandbox works with its password.
    expect(existsSync(path.join(envDir, first, '.initialized')), out).toBe(true);
    const creds = first === 'dev-postgres' ? { service: 'postgres' as const, port: pg!, password: PG } : { service: 'mysql' as const, port: my!, password: MY };
    expect((await client(creds.service, { port: creds.port, database: 'app', user: 'app', password: creds.password }, 'SELECT 1')).out).toBe('1');
    // Nothing else was begun, so nothing is half-made.
    for (const name of readdirSync(envDir).filter((n) => !n.startsWith('.'))) {
      expect(existsSync(path.join(envDir, name, '.initialized')), `${name} is half-made`).toBe(true);
    }
    expect(out).toMatch(/skipped|not started|interrupted/i);
  }, 180_000);
});
