// Issue 11, item 15: a setting whose value comes from a sensitive variable is a secret whatever its
// key: the server's config gets it, sandbox.json, status and plans hold only its salted hash.
import { readFileSync } from 'node:fs';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, makeProject, describeNeeding, type Project } from '../helpers/iact-project.js';
import { client } from '../helpers/services.js';

const VALUE = 'allkeys-lru';

describeNeeding('redis')('item 15: sensitive setting values in sandbox.json', () => {
  let project: Project;
  let port: number;
  beforeAll(async () => {
    project = makeProject('iact-item15-');
    [port] = (await freePorts(1)) as [number];
    project.writeEnv(`REDIS_PASSWORD_VALUE=item15-Redis-pw\nEVICTION_SECRET=${VALUE}\n`);
    project.writeManifest(
      'development',
      [
        'apiVersion: iact/v1',
        'environment: development',
        'sandboxes:',
        '  cache:',
        '    service: redis',
        `    port: ${port}`,
        '    password: ${REDIS_PASSWORD_VALUE}',
        "    settings: { maxmemory-policy: '${EVICTION_SECRET}' }",
        '',
      ].join('\n'),
    );
  });
  afterAll(async () => {
    await project?.cleanup();
  });

  it('the server runs with it; sandbox.json, status and the plan show only a hash', async () => {
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(
      (await client('redis', { port, database: '', user: '', password: 'item15-Redis-pw' }, 'CONFIG GET maxmemory-policy')).out,
    ).toContain(VALUE);
    const state = readFileSync(project.file('.iact/sandboxes/development/cache/sandbox.json'), 'utf8');
    expect(state).not.toContain(VALUE);
    expect(JSON.parse(state).settings['maxmemory-policy']).toMatch(/^sha256:[0-9a-f]{16}$/);
    const status = await project.iact(['status', '--json']);
    expect(status.stdout).not.toContain(VALUE);
    const plan = await project.iact(['plan', '--detailed-exitcode', '--format', 'json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).not.toContain(VALUE);
  }, 120_000);
});
