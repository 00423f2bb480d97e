// Issue 11, item 18: IACT_SANDBOX_ROOT set in .env means the same to the CLI as to the driver
// scripts (docs/manifest.md "Files"): apply makes the sandbox there, and both see it there.
import { redisManifest } from '../helpers/manifests.js';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, needs } from '../helpers/services.js';
import { freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';

let project: Project;
beforeAll(() => {
  project = makeProject('iact-sec18-');
});
afterAll(async () => {
  await project.iact(['destroy', '--auto-approve', '--no-backup']);
  await project.cleanup();
});

describe('item 18: IACT_SANDBOX_ROOT in .env', () => {
  it('the CLI puts and finds sandboxes where the drivers do', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const [port] = await freePorts(1);
    project.writeEnv('IACT_SANDBOX_ROOT=alt-sandboxes\nREDIS_PW=item-eighteen\n');
    project.writeManifest('development', redisManifest(port!));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect(existsSync(path.join(project.dir, 'alt-sandboxes', 'development', 'cache', 'sandbox.json'))).toBe(true);
    expect(existsSync(path.join(project.dir, '.iact', 'sandboxes', 'development', 'cache'))).toBe(false);
    expect((await client('redis', { port: port!, database: '', user: '', password: 'item-eighteen' }, 'PING')).out).toBe('PONG');

    // The driver on its own, from the project, reads the same .env.
    const standalone = await execa('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'status', '--json'], {
      cwd: project.dir,
      env: { IACT_SANDBOX_ROOT: '', IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' },
      reject: false,
    });
    expect(JSON.parse(standalone.stdout)).toEqual([expect.objectContaining({ name: 'cache', running: true })]);
    const status = await project.iact(['status', '--json']);
    expect(JSON.parse(status.stdout).sandboxes).toEqual([expect.objectContaining({ name: 'cache' })]);
    expect((await project.iact(['plan', '--detailed-exitcode'])).exitCode).toBe(0);
  }, 120_000);
});
