// iact status against real lightweight sandboxes: live state, data size, drift, orphans; no secrets.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { afterEach, expect, it } from 'vitest';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { killProcessesIn } from '../sandbox/procs.js';
import type { StatusRow } from '../../src/sandbox/status-view.js';

const PG_PASSWORD = 'status-Pg-Secret-71';
const REDIS_PASSWORD = 'status-Redis-Secret-72';

interface Sandboxes {
  pg?: number;
  redis?: number;
  extra?: number;
}

function manifest(s: Sandboxes): string {
  const blocks: string[] = [];
  if (s.pg)
    blocks.push(
      `  dev-postgres:\n    service: postgres\n    port: ${s.pg}\n    database: app\n    user: app\n    password: \${DB_VM_PASSWORD}\n`,
    );
  if (s.redis) blocks.push(`  dev-redis:\n    service: redis\n    port: ${s.redis}\n    password: \${REDIS_VM_PASSWORD}\n`);
  if (s.extra) blocks.push(`  old-cache:\n    service: redis\n    port: ${s.extra}\n    password: \${REDIS_VM_PASSWORD}\n`);
  return `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n${blocks.join('')}`;
}

describeNeeding('postgres', 'redis')('iact status (lightweight driver)', { timeout: 180_000 }, () => {
  let project: Project;
  afterEach(async () => {
    const dir = project?.dir;
    await project?.cleanup();
    if (dir) killProcessesIn(dir); // a manifest left broken by a failed test cannot drive destroy
  });

  it('lists live sandboxes with health, pid and data size, then drift, manifest changes, missing and orphan sandboxes', async () => {
    project = makeProject('iact-status-');
    const [pg, rd, extra, newPort] = await freePorts(4);
    project.writeEnv(`DB_VM_PASSWORD=${PG_PASSWORD}\nREDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`);
    project.writeManifest('development', manifest({ pg, redis: rd, extra }));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);

    const text = await project.iact(['status']);
    expect(text.exitCode, text.stderr).toBe(0);
    const lines = text.stdout.split('\n');
    expect(lines[0]).toBe('Environment development (.iact/sandboxes/development)');
    expect(lines[1]).toMatch(/^NAME\s+DRIVER\s+SERVICE\s+PORT\s+RUNNING\s+HEALTHY\s+PID\s+DATA\s+STATE$/);
    expect(text.stdout).toMatch(
      new RegExp(`dev-postgres\\s+lightweight\\s+postgres\\s+${pg}\\s+yes\\s+yes\\s+\\d+\\s+\\d+(\\.\\d)? (KB|MB)\\s+in sync`),
    );
    expect(text.stdout).toMatch(
      new RegExp(`dev-redis\\s+lightweight\\s+redis\\s+${rd}\\s+yes\\s+yes\\s+\\d+\\s+\\S+ (B|KB|MB)\\s+in sync`),
    );
    expect(text.stdout).toContain('3 sandboxes: 3 in sync.');

    const json = JSON.parse((await project.iact(['status', '--json'])).stdout) as { environment: string; sandboxes: StatusRow[] };
    expect(json.environment).toBe('development');
    const pgRow = json.sandboxes.find((r) => r.name === 'dev-postgres')!;
    expect(pgRow).toMatchObject({
      driver: 'lightweight',
      service: 'postgres',
      port: pg,
      running: true,
      healthy: true,
      state: 'in sync',
      action: 'no-op',
      drift: [],
    });
    expect(pgRow.pid).toBeGreaterThan(1);
    expect(pgRow.data_bytes).toBeGreaterThan(1024 * 1024); // a real cluster
    expect(() => process.kill(pgRow.pid!, 0)).not.toThrow();

    // Drift: redis stopped behind iact's back. Manifest change: postgres port. Missing: a new sandbox.
    // Orphan: old-cache left the manifest but is still on the machine.
    execFileSync('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'stop', 'dev-redis', '--env', 'development'], {
      cwd: project.dir,
      stdio: 'ignore',
    });
    const [fresh] = await freePorts(1);
    project.writeManifest(
      'development',
      `${manifest({ pg: newPort, redis: rd })}  new-cache:\n    service: redis\n    port: ${fresh}\n    password: \${REDIS_VM_PASSWORD}\n`,
    );
    const after = await project.iact(['status']);
    expect(after.exitCode, after.stderr).toBe(0);
    expect(after.stdout).toMatch(
      new RegExp(
        `dev-redis\\s+lightweight\\s+redis\\s+${rd}\\s+no\\s+no\\s+-\\s+\\S+ (B|KB|MB)\\s+drift: service is not running; apply starts it`,
      ),
    );
    expect(after.stdout).toMatch(
      new RegExp(`dev-postgres\\s+lightweight\\s+postgres\\s+${pg}\\s+yes\\s+yes\\s+\\d+.*manifest changed: port; apply updates it`),
    );
    expect(after.stdout).toMatch(
      new RegExp(`new-cache\\s+lightweight\\s+redis\\s+${fresh}\\s+-\\s+-\\s+-\\s+-\\s+not on the machine; apply creates it`),
    );
    expect(after.stdout).toMatch(
      new RegExp(`old-cache\\s+lightweight\\s+redis\\s+${extra}\\s+yes\\s+yes\\s+\\d+.*orphan \\(not in manifest\\); apply deletes it`),
    );
    expect(after.stdout).toContain('4 sandboxes: 0 in sync, 1 drifted, 1 changed in the manifest, 1 missing, 1 orphan.');

    const afterJson = JSON.parse((await project.iact(['status', '--json'])).stdout) as { sandboxes: StatusRow[] };
    const byName = Object.fromEntries(afterJson.sandboxes.map((r) => [r.name, r]));
    expect(byName['dev-redis']).toMatchObject({ state: 'drift', action: 'start', running: false, drift: ['service is not running'] });
    expect(byName['dev-postgres']).toMatchObject({ state: 'changed', action: 'update', changed_fields: ['port'] });
    expect(byName['new-cache']).toMatchObject({ state: 'missing', action: 'create', running: null, pid: null });
    expect(byName['old-cache']).toMatchObject({ state: 'orphan', action: 'delete' });

    for (const out of [text.stdout, text.stderr, after.stdout, after.stderr, JSON.stringify(afterJson)]) {
      expect(out).not.toContain(PG_PASSWORD);
      expect(out).not.toContain(REDIS_PASSWORD);
    }
  });

  it('a sandbox whose driver cannot be observed is listed as unknown, with the driver problem', async () => {
    project = makeProject('iact-status-');
    const [a, b] = await freePorts(2);
    project.writeEnv(`REDIS_VM_PASSWORD=${REDIS_PASSWORD}\n`);
    project.writeManifest(
      'development',
      `apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  boxed-cache:\n    service: redis\n    driver: docker\n    port: ${a}\n    password: \${REDIS_VM_PASSWORD}\n  local-cache:\n    service: redis\n    driver: lightweight\n    port: ${b}\n    password: \${REDIS_VM_PASSWORD}\n`,
    );
    // No engine anywhere: a bogus DOCKER_HOST and an empty private-engine directory.
    const r = await project.iact(['status'], {
      env: { DOCKER_HOST: 'unix:///nonexistent/docker.sock', IACT_DOCKER_RUN: project.file('no-engine') },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(
      new RegExp(`boxed-cache\\s+docker\\s+redis\\s+${a}\\s+-\\s+-\\s+-\\s+-\\s+unknown: the docker driver could not be observed`),
    );
    expect(r.stdout).toMatch(
      new RegExp(`local-cache\\s+lightweight\\s+redis\\s+${b}\\s+-\\s+-\\s+-\\s+-\\s+not on the machine; apply creates it`),
    );
    expect(r.stdout).toContain('2 sandboxes: 0 in sync, 1 missing, 1 unknown.');
    expect(r.stdout).toMatch(/^error: driver docker cannot run here: /m);
    expect(r.stdout).not.toContain(REDIS_PASSWORD);
  });

  it('an empty environment, and an unknown one (the diagnostic lists the manifests)', async () => {
    project = makeProject('iact-status-');
    project.writeManifest('development', 'apiVersion: iact/v1\nenvironment: development\nsandboxes: {}\n');
    const empty = await project.iact(['status']);
    expect(empty.exitCode, empty.stderr).toBe(0);
    expect(empty.stdout).toContain('No sandboxes in the manifest or on the machine.');
    const unknown = await project.iact(['status', '--env', 'qa']);
    expect(unknown.exitCode).toBe(1);
    expect(unknown.stderr).toMatch(/^error: .*qa/m);
    expect(unknown.stderr).toContain('development');
    expect(unknown.stderr).not.toMatch(/\n\s+at /);
  });
});
