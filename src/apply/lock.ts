// Per-environment lock (.iact/locks/<env>.lock): pid, host, command, started.
import { link, mkdir, readFile, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { DiagnosticError, diag } from '../diagnostics.js';

export interface LockInfo {
  pid: number;
  host: string;
  command: string;
  started: string;
}

export interface LockHandle {
  info: LockInfo;
  release(): Promise<void>;
}

export interface LockOptions {
  command: string;
  timeoutMs: number;
  /** Called once when a dead holder's lock is taken over. */
  onWarning?: (message: string) => void;
  /** Polled while waiting; a true result stops waiting (SIGTERM during --lock-timeout). */
  aborted?: () => boolean;
}

/** kill(pid, 0): running, or running as another user (EPERM). */
export function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

async function readLock(file: string): Promise<LockInfo | null> {
  try {
    const parsed = JSON.parse(await readFile(file, 'utf8')) as Partial<LockInfo>;
    if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') return parsed as LockInfo;
    return null;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') throw error;
    return null;
  }
}

/** Create the lock file with its content in one step: write a temp file, then link() it (fails if taken). */
async function tryCreate(file: string, info: LockInfo): Promise<boolean> {
  const tmp = `${file}.${process.pid}.${Date.now()}.tmp`;
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600 });
  try {
    await link(tmp, file);
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw error;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export function describeHolder(holder: LockInfo): string {
  return `pid ${holder.pid} on ${holder.host} (${holder.command}, started ${holder.started})`;
}

export async function acquireLock(locksDir: string, environment: string, options: LockOptions): Promise<LockHandle> {
  await mkdir(locksDir, { recursive: true, mode: 0o700 });
  const file = path.join(locksDir, `${environment}.lock`);
  const info: LockInfo = { pid: process.pid, host: hostname(), command: options.command, started: new Date().toISOString() };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await tryCreate(file, info)) {
      return {
        info,
        release: async () => {
          const current = await readLock(file).catch(() => null);
          if (current && current.pid === info.pid && current.host === info.host) await unlink(file).catch(() => undefined);
        },
      };
    }
    let holder: LockInfo | null;
    try {
      holder = await readLock(file);
    } catch {
      continue; // released between our attempt and the read: try again
    }
    const stale = holder === null || (holder.host === info.host && !alive(holder.pid));
    if (stale) {
      options.onWarning?.(
        holder
          ? `taking over the lock of ${environment}: its holder, ${describeHolder(holder)}, is no longer running`
          : `taking over the lock of ${environment}: the lock file was unreadable (a killed run)`,
      );
      await unlink(file).catch(() => undefined);
      continue;
    }
    if (Date.now() >= deadline || options.aborted?.()) {
      throw new DiagnosticError(
        diag(`environment ${environment} is locked by ${describeHolder(holder!)}`, {
          detail: `lock file: ${file}`,
          code: 'lock.held',
          fix: `${
            options.timeoutMs > 0 ? 'wait for that run to finish, or raise --lock-timeout' : 'wait for that run to finish, or pass --lock-timeout 5m to wait for it'
          }; if pid ${String(holder!.pid)} is not an iact (ps -p ${String(holder!.pid)} -o args=), delete ${file}`,
        }),
      );
    }
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

/** "30s", "5m", "1h", "250ms", or plain seconds. */
export function parseDuration(text: string, flag: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h)?$/.exec(text.trim());
  if (!m) {
    throw new DiagnosticError(diag(`${flag} ${text} is not a duration`, { fix: 'write it like 30s, 5m or 1h' }));
  }
  const value = Number(m[1]);
  const unit = m[2] ?? 's';
  const factor = unit === 'ms' ? 1 : unit === 's' ? 1000 : unit === 'm' ? 60_000 : 3_600_000;
  return Math.round(value * factor);
}
