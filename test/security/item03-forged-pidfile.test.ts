// Issue 11, item 3: the service user writes another process's pid into its pidfile (docs/driver-protocol.md
// "Processes"). Destroy must leave that process alone, stop the real server, and say so.
import { redisManifest } from '../helpers/manifests.js';
import { spawn } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, needs, portOpen, processesMentioning, tempRoot, type TempRoot, waitFor } from '../helpers/services.js';
import { makeProject, type Project } from '../helpers/iact-project.js';
import { asUser, script, spec } from './driver.js';

let root: TempRoot;
let project: Project;
beforeAll(() => {
  root = tempRoot('iact-sec03-');
  project = makeProject('iact-sec03-cli-');
});
afterAll(async () => {
  root.cleanup();
  await project.cleanup();
});

const alive = (pid: number): boolean => {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return !/^\S+ \(.*\) [ZX]/.test(stat);
  } catch {
    return false;
  }
};

describe('item 3: a forged pidfile', () => {
  it('status and destroy find the real server by its port; the process the pidfile names lives on and is reported', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const port = await freePort();
    const dir = path.join(root.sandboxRoot, 'development', 'forged');
    const created = await script(root, ['create', 'forged', 'redis', String(port), '--spec', '-'], {
      input: spec('forged', 'redis', port, 'pw-forged'),
    });
    expect(created.exitCode, created.stderr).toBe(0);
    const before = JSON.parse((await script(root, ['status', '--json'])).stdout)[0];
    const server = before.pid as number;

    // A process that is not the sandbox's (root's, as a database or an editor would be), its pid in redis's pidfile.
    const bystander = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const forged = asUser('redis', `printf '%s\\n' ${bystander.pid} > '${dir}/run/redis.pid'`);
      expect(forged.ok, forged.out).toBe(true);

      const status = JSON.parse((await script(root, ['status', '--json'])).stdout)[0];
      expect(status).toMatchObject({ name: 'forged', running: true, healthy: true, pid: server });

      const destroyed = await script(root, ['destroy', 'forged', '--yes']);
      expect(destroyed.exitCode, destroyed.stderr).toBe(0);
      expect(destroyed.stderr).toContain(`names pid ${bystander.pid}`);
      expect(destroyed.stderr).toContain('which is not the server of sandbox forged; that process was left alone');
      expect(alive(bystander.pid!), 'the process the pidfile named').toBe(true);
      expect(await waitFor(() => !alive(server), 10_000), 'the real server').toBe(true);
      expect(await portOpen(port)).toBe(false);
      expect(processesMentioning(dir)).toEqual([]);
    } finally {
      bystander.kill('SIGKILL');
    }
  }, 60_000);

  it('iact destroy says so too, and does not claim a clean destroy of the wrong process', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const port = await freePort();
    project.writeEnv('REDIS_PW=item-three\n');
    project.writeManifest('development', redisManifest(port));
    expect((await project.iact(['apply', '--auto-approve'])).exitCode).toBe(0);
    const bystander = spawn('sleep', ['600'], { stdio: 'ignore' });
    try {
      const dir = path.join(project.dir, '.iact', 'sandboxes', 'development', 'cache');
      expect(asUser('redis', `printf '%s\\n' ${bystander.pid} > '${dir}/run/redis.pid'`).ok).toBe(true);
      const destroyed = await project.iact(['destroy', '--auto-approve', '--no-backup']);
      expect(destroyed.exitCode, destroyed.stdout + destroyed.stderr).toBe(0);
      expect(destroyed.stderr).toContain(`names pid ${bystander.pid}`);
      expect(alive(bystander.pid!)).toBe(true);
      expect(await portOpen(port)).toBe(false);
    } finally {
      bystander.kill('SIGKILL');
    }
  }, 60_000);
});
