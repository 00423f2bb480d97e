// iact logs against a real lightweight postgres sandbox: the last lines, and a follow that keeps
// going while the log is rotated and the server restarts.
import { renameSync, truncateSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, afterEach, beforeAll, expect, it } from 'vitest';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { ensureEngine, ensureImages, stopEngine, virtualizeSh, type Engine } from '../helpers/docker.js';
import { TEMPLATE_DIR } from '../helpers/services.js';

function manifest(port: number): string {
  return `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n  dev-postgres:\n    service: postgres\n    port: ${port}\n    database: app\n    user: app\n    password: \${DB_VM_PASSWORD}\n`;
}

async function until(check: () => boolean, what: string, ms = 60_000): Promise<void> {
  const end = Date.now() + ms;
  while (!check()) {
    if (Date.now() > end) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 100));
  }
}

describeNeeding('postgres')('iact logs (lightweight postgres)', { timeout: 240_000 }, () => {
  let project: Project | undefined;
  afterEach(async () => {
    await project?.cleanup();
    project = undefined;
  });

  it('prints the last lines, and -f follows the log across a rotation, a restart and a truncation', async () => {
    project = makeProject('iact-logs-');
    const [port] = await freePorts(1);
    project.writeEnv('DB_VM_PASSWORD=logs-Pg-Secret-41\n');
    project.writeManifest('development', manifest(port!));
    const env = { IACT_TEMPLATE_DIR: TEMPLATE_DIR };
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);

    const last = await project.iact(['logs', 'dev-postgres', '-n', '3'], { env });
    expect(last.exitCode, last.stderr).toBe(0);
    const lines = last.stdout.trimEnd().split('\n');
    expect(lines).toHaveLength(3);
    expect(last.stdout).toContain('database system is ready to accept connections');
    const all = await project.iact(['logs', 'dev-postgres'], { env });
    expect(all.stdout.endsWith(last.stdout)).toBe(true);
    expect(all.stdout.split('\n').length).toBeGreaterThan(3);

    // Follow from the end (-n 0), rotate the file away, restart the server: both halves show up, in order.
    const follower = project.spawnIact(['logs', 'dev-postgres', '-f', '-n', '0'], { env });
    let out = '';
    follower.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    expect(out).toBe('');
    const logFile = project.file('.iact/sandboxes/development/dev-postgres/logs/server.log');
    renameSync(logFile, `${logFile}.1`);
    const driver = path.join(repoRoot, 'bash', 'lightweight_venv.sh');
    const driverEnv = { ...process.env, IACT_TEMPLATE_DIR: TEMPLATE_DIR, IACT_ENV: 'development' };
    await execa('bash', [driver, 'stop', 'dev-postgres'], { cwd: project.dir, env: driverEnv });
    await execa('bash', [driver, 'start', 'dev-postgres'], { cwd: project.dir, env: driverEnv });
    await until(() => out.includes('database system is ready to accept connections'), 'the restarted server in the followed log');
    const stopped = out.indexOf('database system is shut down');
    expect(stopped, out).toBeGreaterThanOrEqual(0);
    expect(out.indexOf('database system is ready to accept connections')).toBeGreaterThan(stopped);

    // Truncated in place (copytruncate): what the server logs next is printed from the file's new start.
    truncateSync(logFile, 0);
    const failed = await execa('psql', ['-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'app', '-c', 'select 1'], {
      env: { ...process.env, PGPASSWORD: 'wrong' },
      reject: false,
    });
    expect(failed.exitCode).not.toBe(0);
    await until(() => out.includes('password authentication failed for user "app"'), 'the failed login after truncation');

    follower.kill('SIGINT');
    const ended = await follower;
    expect(ended.exitCode).toBe(0);
  });

  it('names the sandboxes there are when the one asked for does not exist', async () => {
    project = makeProject('iact-logs-');
    project.writeManifest('development', manifest(55999));
    const missing = await project.iact(['logs', 'nope']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain("error: no sandbox 'nope' in environment development");
    expect(missing.stderr).toContain('fix: run `iact apply --env development`');
    expect(missing.stderr).not.toContain('    at ');
  });
});

describeNeeding('docker')('iact logs (docker redis)', { timeout: 600_000 }, () => {
  let project: Project | undefined;
  let engine: Engine;
  beforeAll(async () => {
    engine = await ensureEngine();
    await ensureImages(engine.dockerHost);
  }, 900_000);
  afterAll(async () => {
    await project?.cleanup();
    if (engine?.startedByUs) await stopEngine();
  });

  it('shows docker logs, and -f goes on after the container is stopped and started again', async () => {
    project = makeProject('iact-logs-docker-');
    const [port] = await freePorts(1);
    // An environment of its own: the engine is shared, and docker sandboxes are found by environment label.
    project.writeManifest(
      'logsdocker',
      `apiVersion: iact/v1\nenvironment: logsdocker\nsandboxes:\n  dev-redis:\n    driver: docker\n    service: redis\n    port: ${port}\n    password: logs-Docker-Secret-9\n`,
    );
    const env = { DOCKER_HOST: engine.dockerHost, IACT_ENV: 'logsdocker' };
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);
    const last = await project.iact(['logs', 'dev-redis', '-n', '2'], { env });
    expect(last.exitCode, last.stderr).toBe(0);
    expect(last.stdout.split('\n')).toHaveLength(2);
    expect(last.stdout).toMatch(/ready to accept connections/i);

    const follower = project.spawnIact(['logs', 'dev-redis', '-f', '-n', '0'], { env });
    let out = '';
    follower.stdout!.on('data', (chunk: Buffer) => (out += chunk.toString()));
    await new Promise((r) => setTimeout(r, 1500));
    const driverEnv = { ...process.env, ...env };
    await execa('bash', [virtualizeSh, 'stop', 'dev-redis'], { cwd: project.dir, env: driverEnv });
    await execa('bash', [virtualizeSh, 'start', 'dev-redis'], { cwd: project.dir, env: driverEnv });
    await until(() => /Ready to accept connections/.test(out), 'the restarted container in the followed log');
    expect(out).toContain('User requested shutdown');
    expect(out.indexOf('User requested shutdown')).toBeLessThan(out.indexOf('Ready to accept connections'));
    follower.kill('SIGINT');
    expect((await follower).exitCode).toBe(0);
  });
});
