// Docker driver test support: a reachable engine (scripts/docker-engine.sh), the locally built images
// (scripts/docker-images.sh) and the driver script; the host clients are query() of ./services.ts.
import { readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { inject } from 'vitest';
import { repoRoot } from './iact-project.js';
import { query, type Credentials, type RunResult } from './services.js';

export { query, type RunResult };

export const virtualizeSh = path.join(repoRoot, 'bash', 'virtualize.sh');
const engineSh = path.join(repoRoot, 'scripts', 'docker-engine.sh');
const imagesSh = path.join(repoRoot, 'scripts', 'docker-images.sh');

export interface Engine {
  dockerHost: string;
  startedByUs: boolean;
}

/**
 * Two test files starting the engine or building images at once would race: one at a time. `flock -o`
 * keeps the lock's descriptor from the command: a dockerd started under it would hold the lock for good.
 */
const LOCK = path.join(tmpdir(), 'iact-test-docker.lock');

/**
 * Reuse a reachable engine or start the private one. Within the suite the engine outlives this file: the
 * start is noted for test/setup/docker-engine.ts, which stops it after the last file, and startedByUs is
 * false so no file stops it under another. Outside the suite the caller stops it if startedByUs.
 */
export async function ensureEngine(): Promise<Engine> {
  const before = await execa('bash', [engineSh, 'status'], { reject: false, stdin: 'ignore' });
  const started = await execa('flock', ['-o', LOCK, 'bash', engineSh, 'start'], { reject: false, stdin: 'ignore', timeout: 120_000 });
  if (started.exitCode !== 0) throw new Error(`scripts/docker-engine.sh start failed (exit ${started.exitCode}):\n${started.stderr}`);
  const match = /^export DOCKER_HOST=(\S+)$/m.exec(started.stdout);
  if (!match?.[1]) throw new Error(`scripts/docker-engine.sh start printed no DOCKER_HOST:\n${started.stdout}`);
  const startedByUs = before.exitCode !== 0;
  const runDir = inject('iactRunDir');
  if (startedByUs && runDir) writeFileSync(path.join(runDir, 'docker-engine-started'), `${match[1]}\n`);
  return { dockerHost: match[1], startedByUs: startedByUs && !runDir };
}

export async function stopEngine(): Promise<void> {
  await execa('bash', [engineSh, 'stop'], { reject: false, stdin: 'ignore', timeout: 120_000 });
}

/**
 * Builds the images that are missing or stale (TARGETS as scripts/docker-images.sh takes them, e.g.
 * postgres@16; default all); returns the script's stderr (timings).
 */
export async function ensureImages(dockerHost: string, targets: string[] = [], env: Record<string, string> = {}): Promise<string> {
  const r = await execa('flock', ['-o', LOCK, 'bash', imagesSh, ...targets], {
    env: { ...env, DOCKER_HOST: dockerHost },
    reject: false,
    stdin: 'ignore',
    timeout: 900_000,
  });
  if (r.exitCode !== 0) throw new Error(`scripts/docker-images.sh failed (exit ${r.exitCode}):\n${r.stderr}`);
  return String(r.stderr);
}

export type DriverRunner = (args: string[], opts?: { env?: Record<string, string>; timeout?: number }) => Promise<RunResult>;

/** Runs bash/virtualize.sh ARGS --env ENV in `cwd` with its own sandbox root. */
export function driverRunner(cwd: string, sandboxRoot: string, environment: string, dockerHost: string): DriverRunner {
  return async (args, opts = {}) => {
    const r = await execa('bash', [virtualizeSh, ...args, '--env', environment], {
      cwd,
      env: { IACT_SANDBOX_ROOT: sandboxRoot, DOCKER_HOST: dockerHost, IACT_ENV: '', ENVIRONMENT: '', ...opts.env },
      reject: false,
      stdin: 'ignore',
      timeout: opts.timeout ?? 240_000,
    });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  };
}

export async function docker(dockerHost: string, args: string[]): Promise<RunResult> {
  const r = await execa('docker', args, { env: { DOCKER_HOST: dockerHost }, reject: false, stdin: 'ignore', timeout: 120_000 });
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** What query() logs in with. */
export type Login = Credentials;

/** The container a docker sandbox's directory records (docs/remote-engines.md "Projects on one engine"). */
export function containerOf(sandboxDir: string): string {
  return readFileSync(path.join(sandboxDir, 'docker-container'), 'utf8').trim();
}
