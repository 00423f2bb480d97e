// Shared by the test/security/ files that drive bash/ scripts directly, as root, against real servers.
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { execa } from 'execa';
import { repoRoot, type TempRoot } from '../helpers/services.js';

export interface ScriptResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/** bash/<script> ARGS... in the temp project, the password (when given) as a spec on stdin. */
export async function script(root: TempRoot, args: string[], opts: { input?: string; driver?: string; env?: Record<string, string> } = {}): Promise<ScriptResult> {
  const file = path.join(repoRoot, 'bash', opts.driver ?? 'lightweight_venv.sh');
  const r = await execa('bash', [file, ...args, '--env', 'development'], {
    cwd: root.dir,
    env: { ...root.env, IACT_DRIVER_ERRORS: 'json', ...opts.env },
    reject: false,
    ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
  });
  return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
}

/** The spec iact would pass for a sandbox (settings empty), as JSON for `--spec -`. */
export function spec(name: string, service: string, port: number, password: string): string {
  return JSON.stringify({ name, environment: 'development', driver: 'lightweight', service, port, password, settings: {}, spec_hash: `sha256:${name}${port}` });
}

/** Runs a shell command as a system user (the attacker: the service's own user). */
export function asUser(user: string, command: string): { ok: boolean; out: string } {
  try {
    return { ok: true, out: execFileSync('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--clear-groups', '--', 'sh', '-c', command], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] }) };
  } catch (error) {
    return { ok: false, out: String((error as { stderr?: string }).stderr ?? '') };
  }
}


