// Issue 11, item 20: a repair create (sandbox.json deleted) must not record a spec the server does not
// run with. A create that changes restart-only settings restarts the server; one that fails leaves
// the plan showing the difference, never "No changes" beside a refused password.
import { rmSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, makeProject, describeNeeding, type Project } from '../helpers/iact-project.js';
import { client } from '../helpers/services.js';

const manifest = (port: number, settings: string) =>
  [
    'apiVersion: iact/v1',
    'environment: development',
    'sandboxes:',
    '  cache:',
    '    service: redis',
    `    port: ${port}`,
    '    password: ${CACHE_PASSWORD}',
    `    settings: { ${settings} }`,
    '',
  ].join('\n');

describeNeeding('redis')('item 20: a failed create hides drift', () => {
  let project: Project;
  let port: number;
  const redis = (password: string, command: string) => client('redis', { port, database: '', user: '', password }, command);

  beforeAll(async () => {
    project = makeProject('iact-item20-');
    [port] = (await freePorts(1)) as [number];
    project.writeEnv('CACHE_PASSWORD=item20-First-pw\n');
    project.writeManifest('development', manifest(port, 'databases: 16'));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);
  }, 120_000);
  afterAll(async () => {
    await project?.cleanup();
  });

  it('a repair create with a new password and a restart-only setting leaves the server running with both', async () => {
    rmSync(project.file('.iact/sandboxes/development/cache/sandbox.json'));
    project.writeEnv('CACHE_PASSWORD=item20-Second-pw\n');
    project.writeManifest('development', manifest(port, 'databases: 32'));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    expect((await redis('item20-Second-pw', 'CONFIG GET databases')).out).toContain('32');
    expect((await redis('item20-First-pw', 'PING')).ok).toBe(false);
    expect((await project.iact(['plan', '--detailed-exitcode'])).exitCode).toBe(0);
  }, 120_000);

  it('a repair create that fails records nothing: the plan still shows the create', async () => {
    rmSync(project.file('.iact/sandboxes/development/cache/sandbox.json'));
    project.writeEnv('CACHE_PASSWORD=item20-Third-pw\n');
    // Valid for the schema, refused by redis itself.
    project.writeManifest('development', manifest(port, "databases: 32, maxmemory-policy: 'no-such-policy'"));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode).toBe(1);
    const plan = await project.iact(['plan', '--detailed-exitcode']);
    expect(plan.exitCode, plan.stdout).toBe(2);
    expect(plan.stdout).toMatch(/create/);
    // Whatever runs, a plan that says "in sync" would need the manifest's password to work.
    expect((await redis('item20-Third-pw', 'PING')).ok).toBe(false);
  }, 120_000);
});
