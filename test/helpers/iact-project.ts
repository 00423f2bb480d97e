// A throw-away iact project in a temp dir, driven through the built CLI as a user would.
import { spawnSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { execa, type ResultPromise } from 'execa';
import type { TestContext } from 'vitest';
import { describeNeeding, freePort, needs, portOpen, unmountUnder } from './services.js';

export { describeNeeding, freePort, needs, portOpen };

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');
export const cliPath = path.join(repoRoot, 'dist', 'cli.js');

export async function freePorts(n: number): Promise<number[]> {
  const ports = new Set<number>();
  while (ports.size < n) ports.add(await freePort());
  return [...ports];
}

export interface Project {
  dir: string;
  writeManifest(environment: string, yaml: string): void;
  writeEnv(text: string): void;
  iact(
    args: string[],
    opts?: { env?: Record<string, string>; reject?: boolean },
  ): Promise<{ exitCode: number; stdout: string; stderr: string }>;
  spawnIact(args: string[], opts?: { env?: Record<string, string> }): ResultPromise;
  file(rel: string): string;
  read(rel: string): string;
  cleanup(): Promise<void>;
}

export function makeProject(prefix = 'iact-e2e-'): Project {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  // Services run as their system users (mysql, postgres): like a real project dir, it must be traversable.
  chmodSync(dir, 0o711);
  mkdirSync(path.join(dir, 'environments'));
  const baseEnv = { NO_COLOR: '1', IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' };
  const project: Project = {
    dir,
    writeManifest: (environment, yaml) => writeFileSync(path.join(dir, 'environments', `${environment}.yaml`), yaml),
    writeEnv: (text) => writeFileSync(path.join(dir, '.env'), text, { mode: 0o600 }),
    async iact(args, opts = {}) {
      const result = await execa(process.execPath, [cliPath, ...args], {
        cwd: dir,
        env: { ...baseEnv, ...opts.env },
        reject: false,
        stdin: 'ignore',
      });
      return { exitCode: result.exitCode ?? 1, stdout: String(result.stdout), stderr: String(result.stderr) };
    },
    spawnIact: (args, opts = {}) =>
      execa(process.execPath, [cliPath, ...args], { cwd: dir, env: { ...baseEnv, ...opts.env }, reject: false, stdin: 'ignore' }),
    file: (rel) => path.join(dir, rel),
    read: (rel) => readFileSync(path.join(dir, rel), 'utf8'),
    async cleanup() {
      const sandboxes = path.join(dir, '.iact', 'sandboxes');
      for (const env of existsSync(sandboxes) ? readdirSync(sandboxes) : []) {
        if (!/^[a-z][a-z0-9-]*$/.test(env)) continue; // .templates and the like are no environment
        await project.iact(['destroy', '--env', env, '--auto-approve', '--allow-destroy', '--no-backup']).catch(() => undefined);
      }
      killProcessesUnder(dir);
      unmountUnder(dir);
      // A killed service may still be writing its last files for a moment.
      rmSync(dir, { recursive: true, force: true, maxRetries: 10, retryDelay: 100 });
    },
  };
  return project;
}

/** A project for one test, cleaned up when the test ends: the tests of a file can then run at once. */
export function projectFor(t: TestContext, prefix?: string): Project {
  const project = makeProject(prefix);
  t.onTestFinished(() => project.cleanup());
  return project;
}

/**
 * Pids of processes whose command line or working directory is under `dir` (services started
 * from a sandbox; redis-server rewrites its command line, so the cwd matters too).
 */
export function processesUnder(dir: string): number[] {
  const out = spawnSync('ps', ['-eo', 'pid=,args='], { encoding: 'utf8' }).stdout;
  const pids = new Set<number>();
  for (const line of out.split('\n')) {
    const pid = Number.parseInt(line.trim(), 10);
    if (!Number.isInteger(pid) || pid === process.pid || line.includes('vitest')) continue;
    let cwd = '';
    try {
      cwd = readlinkSync(`/proc/${pid}/cwd`);
    } catch {
      // gone, or not ours to read
    }
    if (line.includes(dir) || cwd === dir || cwd.startsWith(`${dir}/`)) pids.add(pid);
  }
  return [...pids];
}

export function killProcessesUnder(dir: string): void {
  for (const pid of processesUnder(dir)) {
    try {
      process.kill(pid, 'SIGKILL');
    } catch {
      // already gone
    }
  }
}
