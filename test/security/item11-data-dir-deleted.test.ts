// Issue 11, item 11: the data directory deleted under a running server. The plan says so (drift
// data-missing, a replace with its data-loss notice, docs/plan-json.md "Drift kinds"), apply stops
// the orphaned server and makes a new sandbox, and the next plan has no changes.
import { rmSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, needs } from '../helpers/services.js';
import { freePorts, makeProject, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';

const PASSWORD = 'pg-item-eleven';
let project: Project;
beforeAll(() => {
  project = makeProject('iact-sec11-');
});
afterAll(async () => project.cleanup());

describe('item 11: a data directory deleted under a running server', () => {
  it('is planned as a replace with data loss, repaired by apply, and then in sync', async (ctx) => {
    needs(ctx, 'root', 'postgres');
    const [pg] = await freePorts(1);
    // A plain data directory (IACT_STORAGE=copy): an overlay layer's mount point cannot be removed at all.
    project.writeEnv(`DB_VM_PASSWORD=${PASSWORD}\nIACT_STORAGE=copy\n`);
    project.writeManifest('development', devManifest(pg!));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    const creds = { port: pg!, database: 'app', user: 'app', password: PASSWORD };
    expect((await client('postgres', creds, 'CREATE TABLE gone (v int)')).ok).toBe(true);

    rmSync(path.join(project.dir, '.iact', 'sandboxes', 'development', 'dev-postgres', 'data'), { recursive: true, force: true });

    const plan = await project.iact(['plan', '--format', 'json']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    const change = (
      JSON.parse(plan.stdout) as { changes: { name: string; action: string; impact: string; drift: { kind: string }[]; steps: string[] }[] }
    ).changes.find((c) => c.name === 'dev-postgres');
    expect(change).toMatchObject({
      action: 'replace',
      impact: 'data-loss',
      drift: [{ kind: 'data-missing' }],
      steps: ['preflight', 'delete', 'create'],
    });
    const text = await project.iact(['plan']);
    expect(text.stdout).toContain('its data directory is gone');

    const repaired = await project.iact(['apply', '--auto-approve']);
    expect(repaired.exitCode, repaired.stdout + repaired.stderr).toBe(0);
    expect((await client('postgres', creds, 'SELECT 1')).out).toBe('1');
    expect((await client('postgres', creds, 'SELECT count(*) FROM gone')).ok).toBe(false); // a new, empty database
    const after = await project.iact(['plan', '--detailed-exitcode']);
    expect(after.exitCode, after.stdout + after.stderr).toBe(0);
  }, 180_000);
});
