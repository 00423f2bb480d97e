// Crash safety, for real: an apply killed with SIGKILL at several points, then rerun, converges.
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import path from 'node:path';
import { expect, it } from 'vitest';
import { describeNeeding, freePorts, processesUnder, projectFor } from '../helpers/iact-project.js';

function manifest(ports: number[]): string {
  return `apiVersion: iact/v1
environment: development
defaults: { driver: lightweight }
sandboxes:
  pg-a: { service: postgres, port: ${ports[0]}, database: app, user: app, password: "\${DB_VM_PASSWORD}" }
  pg-b: { service: postgres, port: ${ports[1]}, database: app, user: app, password: "\${DB_VM_PASSWORD}", depends_on: [pg-a] }
  cache: { service: redis, port: ${ports[2]}, password: "\${DB_VM_PASSWORD}" }
  files: { service: none, port: ${ports[3]} }
connections:
  database: { sandbox: pg-a }
`;
}

/** Every JSON file iact or a driver wrote must parse; history may not hold a torn line. */
function expectNoCorruptJson(dir: string): void {
  const walk = (d: string): string[] =>
    existsSync(d)
      ? readdirSync(d, { withFileTypes: true }).flatMap((e) =>
          e.isDirectory() ? (e.name === 'data' ? [] : walk(path.join(d, e.name))) : [path.join(d, e.name)],
        )
      : [];
  for (const file of walk(path.join(dir, '.iact'))) {
    if (file.endsWith('.json')) expect(() => JSON.parse(readFileSync(file, 'utf8')), file).not.toThrow();
    if (file.endsWith('.jsonl')) {
      for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) expect(() => JSON.parse(line), file).not.toThrow();
    }
  }
}

// Each kill point its own project: they run at once.
describeNeeding('postgres', 'redis')('apply killed with SIGKILL', { concurrent: true }, () => {
  it.for([150, 400, 700, 1000])('converges on rerun after a kill at %d ms', async (killAfterMs, t) => {
    const project = projectFor(t);
    const ports = await freePorts(4);
    project.writeEnv('DB_VM_PASSWORD=crash-Secret-1\n');
    project.writeManifest('development', manifest(ports));

    const victim = project.spawnIact(['apply', '--auto-approve', '--parallelism', '2']);
    await new Promise((r) => setTimeout(r, killAfterMs));
    victim.kill('SIGKILL');
    await victim;

    const rerun = await project.iact(['apply', '--auto-approve']);
    expect(rerun.exitCode, rerun.stdout + rerun.stderr).toBe(0);
    const plan = await project.iact(['plan', '--detailed-exitcode']);
    expect(plan.stdout).toContain('No changes.');
    expect(plan.exitCode).toBe(0);

    // No orphan: every service process under the project is a sandbox's recorded pid.
    const status = JSON.parse((await project.iact(['status', '--json'])).stdout) as unknown;
    const recorded = new Set(
      JSON.stringify(status)
        .match(/"pid":\s*(\d+)/g)
        ?.map((m) => Number(m.replace(/\D/g, ''))) ?? [],
    );
    const running = processesUnder(project.dir).filter((pid) => {
      try {
        return !readFileSync(`/proc/${pid}/cmdline`, 'utf8').includes('socat');
      } catch {
        return false;
      }
    });
    const parents = running.filter((pid) => {
      const ppid = Number(readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ')[1]);
      return !running.includes(ppid);
    });
    for (const pid of parents) expect(recorded.has(pid), `pid ${pid} is not a recorded sandbox process`).toBe(true);
    expectNoCorruptJson(project.dir);
  });
});
