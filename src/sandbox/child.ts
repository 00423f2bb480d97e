// A command run in the foreground of iact (`iact run`, `iact exec`, `iact connect`): the terminal
// and standard streams are its, and its exit status becomes iact's (128+N when signal N ended it).
import { spawn, type ChildProcess } from 'node:child_process';
import { constants } from 'node:os';

export function exitCodeOfSignal(signal: NodeJS.Signals): number {
  return 128 + (constants.signals[signal] ?? 1);
}

export interface ForegroundChild {
  child: ChildProcess;
  /** The exit code: the child's own, 128+N for a signal, 127 when the command does not exist, 126 when it cannot run. */
  exit: Promise<number>;
}

/** Starts `command` with inherited stdio; `log` hears why it could not start. */
export function startForeground(
  command: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; log: (text: string) => void },
): ForegroundChild {
  const [file, ...rest] = command as [string, ...string[]];
  const child = spawn(file, rest, { stdio: 'inherit', env: options.env, cwd: options.cwd });
  const exit = new Promise<number>((resolve) => {
    child.once('error', (error: NodeJS.ErrnoException) => {
      options.log(`error: cannot run ${file}: ${error.code === 'ENOENT' ? 'command not found' : error.message}\n`);
      resolve(error.code === 'ENOENT' ? 127 : 126);
    });
    child.once('exit', (exitCode, signal) => resolve(exitCode ?? (signal ? exitCodeOfSignal(signal) : 1)));
  });
  return { child, exit };
}

const HANDLED: NodeJS.Signals[] = ['SIGINT', 'SIGTERM', 'SIGHUP'];

/**
 * Runs `command` in the foreground; SIGINT, SIGTERM and SIGHUP sent to iact do not end iact but are
 * passed on to it (the command decides what they mean, and its exit status is returned).
 * `keepSigint`: an interactive client already gets the terminal's Ctrl-C itself (same process
 * group), and a second SIGINT could end mariadb instead of cancelling a query, so none is forwarded.
 */
export async function runForeground(
  command: readonly string[],
  options: { env: NodeJS.ProcessEnv; cwd: string; log: (text: string) => void; keepSigint?: boolean },
): Promise<number> {
  // Handlers before the spawn: on a busy machine the command can start and be seen (and signalled)
  // before iact runs its next statement; a signal then would end iact and leave the command running.
  // Node runs the handler from its event loop, so by then `running` is set.
  let running: ForegroundChild | undefined;
  const forward = (signal: NodeJS.Signals) => {
    if (signal === 'SIGINT' && options.keepSigint) return;
    const child = running?.child;
    if (child && child.exitCode === null && child.signalCode === null) child.kill(signal);
  };
  for (const s of HANDLED) process.on(s, forward);
  try {
    running = startForeground(command, options);
    return await running.exit;
  } finally {
    for (const s of HANDLED) process.off(s, forward);
  }
}
