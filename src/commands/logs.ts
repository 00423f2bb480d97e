// iact logs SANDBOX [-f] [-n N] [--env E]: the server's log. Lightweight and namespace sandboxes
// keep it in the sandbox directory (the catalogue's logFile); docker sandboxes have `docker logs`.
import { execFile } from 'node:child_process';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import { DiagnosticError, diag } from '../diagnostics.js';
import { findSandbox, type LiveSandbox } from './live-sandbox.js';
import { startForeground } from '../sandbox/child.js';
import { tailLog } from '../sandbox/log-file.js';
import type { CommandIO } from './io.js';

function lineCount(value: unknown): number | undefined {
  if (value === undefined) return undefined;
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0)
    throw new DiagnosticError(diag(`--lines ${String(value)} is not a number of lines`, { fix: 'pass a whole number, e.g. -n 50' }));
  return n;
}

/** Ends a follow on Ctrl-C or SIGTERM; the command then exits 0, as `docker logs -f` does. */
function interruptible(): { signal: AbortSignal; release: () => void } {
  const controller = new AbortController();
  const stop = () => controller.abort();
  process.on('SIGINT', stop);
  process.on('SIGTERM', stop);
  return {
    signal: controller.signal,
    release: () => {
      process.off('SIGINT', stop);
      process.off('SIGTERM', stop);
    },
  };
}

function run(
  file: string,
  args: string[],
  options: { cwd: string; env: NodeJS.ProcessEnv },
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { ...options, timeout: 60_000, maxBuffer: 1 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

/** What the docker driver records in a sandbox's `docker-container`: iact-ENV-NAME, with `.PROJECT` since projects (docs/remote-engines.md). */
export function recordedContainer(sandbox: Pick<LiveSandbox, 'environment' | 'name'>, text: string): string | undefined {
  const name = text.trim();
  const base = `iact-${sandbox.environment}-${sandbox.name}`;
  return name === base || (name.startsWith(`${base}.`) && /^[0-9a-f]{12}$/.test(name.slice(base.length + 1))) ? name : undefined;
}

/**
 * The container of a docker sandbox: the name its directory records (docs/remote-engines.md
 * "Projects on one engine"; another project's container of the same environment and name is not
 * it), looked up again after a restart, since a recreating update makes a new container.
 */
async function containerOf(sandbox: LiveSandbox, io: CommandIO): Promise<string | undefined> {
  let recorded: string | undefined;
  try {
    recorded = recordedContainer(sandbox, await readFile(path.join(sandbox.dir, 'docker-container'), 'utf8'));
  } catch {
    // Made before projects and not touched since: its old name (the driver records it at the next change).
    recorded = `iact-${sandbox.environment}-${sandbox.name}`;
  }
  if (!recorded) return undefined;
  const out = await run('docker', ['ps', '-aq', '--no-trunc', '--filter', `name=^/?${recorded.replaceAll('.', '\\.')}$`], {
    cwd: io.cwd,
    env: io.env,
  });
  if (out.code !== 0) {
    throw new DiagnosticError(
      diag(`cannot list the containers of sandbox ${sandbox.name}: ${out.stderr.trim() || `docker exit ${out.code}`}`, {
        fix: 'check that the docker engine runs (`iact doctor`; scripts/docker-engine.sh start)',
      }),
    );
  }
  return out.stdout
    .split('\n')
    .find((l) => l.trim() !== '')
    ?.trim();
}

async function dockerRunning(container: string, io: CommandIO): Promise<boolean> {
  const out = await run('docker', ['inspect', '--format', '{{.State.Running}}', container], { cwd: io.cwd, env: io.env });
  return out.code === 0 && out.stdout.trim() === 'true';
}

/**
 * `docker logs`; with follow, a stopped or recreated container (a restart, an update that recreates
 * it) is waited for and followed again from the moment the previous follow ended.
 */
async function dockerLogs(sandbox: LiveSandbox, io: CommandIO, lines: number | undefined, follow: boolean): Promise<number> {
  let container = await containerOf(sandbox, io);
  if (!container)
    throw new DiagnosticError(
      diag(`sandbox ${sandbox.name} has no container`, { fix: `run \`iact apply --env ${sandbox.environment}\` to create it again` }),
    );
  const base = ['logs', ...(lines !== undefined ? ['--tail', String(lines)] : [])];
  if (!follow) return startForeground(['docker', ...base, container], { env: io.env, cwd: io.cwd, log: io.stderr }).exit;
  const { signal, release } = interruptible();
  try {
    let args = [...base, '--follow'];
    while (!signal.aborted) {
      const running = startForeground(['docker', ...args, container], { env: io.env, cwd: io.cwd, log: io.stderr });
      const stop = () => running.child.kill('SIGTERM');
      signal.addEventListener('abort', stop, { once: true });
      const code = await running.exit;
      signal.removeEventListener('abort', stop);
      if (signal.aborted) break;
      if (code === 127) return code;
      const since = new Date().toISOString();
      io.stderr(`iact logs: the container of ${sandbox.name} stopped; waiting for it to run again (Ctrl-C to stop)\n`);
      while (!signal.aborted) {
        const current = await containerOf(sandbox, io);
        if (current && (await dockerRunning(current, io))) {
          container = current;
          break;
        }
        await new Promise((r) => setTimeout(r, 500));
      }
      args = ['logs', '--since', since, '--follow'];
    }
    return 0;
  } finally {
    release();
  }
}

export default async function logs(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const sandbox = await findSandbox(opts, io, args[0]!, 'show the log of');
  const lines = lineCount(opts.lines);
  const follow = Boolean(opts.follow);
  if (sandbox.driver === 'docker') return dockerLogs(sandbox, io, lines, follow);
  const file = path.join(sandbox.dir, sandbox.entry.logFile ?? 'logs/server.log');
  if (follow) {
    const { signal, release } = interruptible();
    try {
      await tailLog(file, io.stdout, { lines, follow: true, signal });
    } finally {
      release();
    }
    return 0;
  }
  if (!(await tailLog(file, io.stdout, { lines, follow: false }))) {
    throw new DiagnosticError(
      diag(`sandbox ${sandbox.name} has no log yet (${file})`, { fix: `start it: iact apply --env ${sandbox.environment}` }),
    );
  }
  return 0;
}
