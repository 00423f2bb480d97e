// Issue 11, item 17: a SIGKILLed `iact run` takes its server and the user's command with it (its
// supervisor sees the pipe from iact close), instead of leaving both until the next run.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, chmodSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, expect, it } from 'vitest';
import { makeProject, portOpen, describeNeeding, type Project } from '../helpers/iact-project.js';
import { alive, processTree } from '../helpers/server-admin.js';
import { waitFor } from '../helpers/services.js';

describeNeeding('redis')('item 17: iact run dies whole', () => {
  let project: Project;
  const runRoot = mkdtempSync(path.join(tmpdir(), 'iact-item17-run-'));
  chmodSync(runRoot, 0o755);
  afterAll(async () => {
    await project?.cleanup();
    rmSync(runRoot, { recursive: true, force: true });
  });

  it('SIGKILL to iact: the command, its children and the server are gone within seconds; nothing is left in the run root', async () => {
    project = makeProject('iact-item17-');
    const marker = project.file('started');
    // The command and a child of its own, both waiting; the marker says where the server listens.
    const child = project.spawnIact(
      ['run', '--service', 'redis', '--', 'bash', '-c', `sleep 300 & printf '%s %s %s' "$$" "$!" "$REDIS_PORT" > '${marker}'; wait`],
      { env: { IACT_RUN_ROOT: runRoot } },
    );
    expect(await waitFor(() => existsSync(marker) && readFileSync(marker, 'utf8').split(' ').length === 3, 60_000)).toBe(true);
    const [shell, sleeper, port] = readFileSync(marker, 'utf8').split(' ').map(Number) as [number, number, number];
    expect(await portOpen(port)).toBe(true);
    expect(processTree(child.pid!)).toContain(shell);

    process.kill(child.pid!, 'SIGKILL');
    await child;
    const killedAt = Date.now();
    expect(await waitFor(() => !alive(shell) && !alive(sleeper), 15_000)).toBe(true);
    expect(await waitFor(async () => !(await portOpen(port)), 30_000)).toBe(true);
    expect(
      await waitFor(
        () => readdirSync(path.join(runRoot, 'run')).length === 0 && readdirSync(path.join(runRoot, 'owners')).length === 0,
        30_000,
      ),
    ).toBe(true);
    expect(Date.now() - killedAt).toBeLessThan(30_000);
  }, 120_000);
});
