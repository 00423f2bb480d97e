// Issue 11, item 16: destroy of a sandbox whose create never finished (its server refused its
// config) works without --no-backup: there is no data to back up (docs/driver-protocol.md "Verbs").
import { existsSync, readdirSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { needs, portOpen } from '../helpers/services.js';
import { freePorts, makeProject, processesUnder, type Project } from '../helpers/iact-project.js';

let project: Project;
beforeAll(() => {
  project = makeProject('iact-sec16-');
});
afterAll(async () => project.cleanup());

describe('item 16: destroy of a sandbox that never started', () => {
  it('deletes it, with no backup to take and no --no-backup needed', async (ctx) => {
    needs(ctx, 'root', 'postgres');
    const [port] = await freePorts(1);
    // A library that does not exist: PostgreSQL refuses to start with it, after the sandbox was made.
    project.writeManifest(
      'development',
      ['apiVersion: iact/v1', 'environment: development', 'defaults: { driver: lightweight }', 'sandboxes:', '  never:', '    service: postgres',
        `    port: ${port}`, '    database: app', '    user: app', '    password: never-started-pw', '    settings: { shared_preload_libraries: iact_no_such_library }', ''].join('\n'),
    );
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode).toBe(1);
    expect(applied.stdout + applied.stderr).toContain('did not start');
    const dir = path.join(project.dir, '.iact', 'sandboxes', 'development', 'never');
    expect(existsSync(path.join(dir, '.meta'))).toBe(true);

    const destroyed = await project.iact(['destroy', '--auto-approve']);
    expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
    expect(destroyed.stdout).toContain('Destroy complete: 1 deleted');
    expect(existsSync(dir)).toBe(false);
    const backups = path.join(project.dir, '.iact', 'backups', 'development');
    expect(existsSync(backups) ? readdirSync(backups) : []).toEqual([]);
    expect(await portOpen(port!)).toBe(false);
    expect(processesUnder(dir)).toEqual([]);
  }, 120_000);
});
