// Per-environment lock (.iact/locks/<env>.lock): pid, host, command, started.
import { link, mkdir, open, readFile, rename, unlink, writeFile } from 'node:fs/promises';
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

/** Our lock's content in a temp file next to the lock: linked or renamed into place whole. */
async function writeTemp(file: string, info: LockInfo): Promise<string> {
  const tmp = `${file}.${process.pid}.${Date.now()}.${Math.random().toString(36).slice(2)}.tmp`;
  await writeFile(tmp, `${JSON.stringify(info)}\n`, { mode: 0o600, flag: 'wx' });
  return tmp;
}

/** Create the lock file with its content in one step: write a temp file, then link() it (fails if taken). */
async function tryCreate(file: string, info: LockInfo): Promise<boolean> {
  const tmp = await writeTemp(file, info);
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

interface Snapshot {
  ino: number;
  text: string;
  holder: LockInfo | null;
}

/** The lock file's inode, text and holder (null when unreadable); ENOENT is thrown. */
async function snapshot(file: string): Promise<Snapshot> {
  const handle = await open(file, 'r');
  try {
    const { ino } = await handle.stat();
    const text = await handle.readFile('utf8');
    let holder: LockInfo | null = null;
    try {
      const parsed = JSON.parse(text) as Partial<LockInfo>;
      if (typeof parsed.pid === 'number' && typeof parsed.host === 'string') holder = parsed as LockInfo;
    } catch {
      // a killed run's partial file: no holder
    }
    return { ino, text, holder };
  } finally {
    await handle.close();
  }
}

const isStale = (holder: LockInfo | null, host: string): boolean => holder === null || (holder.host === host && !alive(holder.pid));

/**
 * Replaces the dead holder's lock file (`stale`) with ours, atomically among processes that saw the
 * same dead holder: only the one that creates `<file>.takeover-<inode>` (link(2) fails for the
 * others) may replace that inode, and it does so with rename(2), so the lock never goes missing.
 * A taker that died holding its claim leaves a stale claim, taken over the same way.
 */
async function takeOver(file: string, stale: Snapshot, info: LockInfo, depth = 0): Promise<boolean> {
  const claim = `${file}.takeover-${stale.ino}`;
  const tmp = await writeTemp(file, info);
  try {
    try {
      await link(tmp, claim);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
      let other: Snapshot;
      try {
        other = await snapshot(claim);
      } catch {
        return false; // that taker just finished: look again
      }
      if (depth >= 8 || !isStale(other.holder, info.host)) return false;
      if (!(await takeOver(claim, other, info, depth + 1))) return false;
    }
    // The claim on this inode is ours: no one else replaces it while we look.
    let now: Snapshot | undefined;
    try {
      now = await snapshot(file);
    } catch {
      // released meanwhile: the plain create is open again
    }
    if (!now || now.ino !== stale.ino || now.text !== stale.text) {
      await unlink(claim).catch(() => undefined);
      return false;
    }
    await rename(claim, file);
    return true;
  } finally {
    await unlink(tmp).catch(() => undefined);
  }
}

export function describeHolder(holder: LockInfo): string {
  return `pid ${holder.pid} on ${holder.host} (${holder.command}, started ${holder.started})`;
}

function handleFor(file: string, info: LockInfo): LockHandle {
  return {
    info,
    release: async () => {
      const current = await readLock(file).catch(() => null);
      if (current && current.pid === info.pid && current.host === info.host) await unlink(file).catch(() => undefined);
    },
  };
}

export async function acquireLock(locksDir: string, environment: string, options: LockOptions): Promise<LockHandle> {
  await mkdir(locksDir, { recursive: true, mode: 0o700 });
  const file = path.join(locksDir, `${environment}.lock`);
  const info: LockInfo = { pid: process.pid, host: hostname(), command: options.command, started: new Date().toISOString() };
  const deadline = Date.now() + options.timeoutMs;
  for (;;) {
    if (await tryCreate(file, info)) return handleFor(file, info);
    let seen: Snapshot;
    try {
      seen = await snapshot(file);
    } catch {
      continue; // released between our attempt and the read: try again
    }
    const holder = seen.holder;
    if (isStale(holder, info.host)) {
      // Two processes that both saw the dead holder must not both take over (docs/commands.md "apply").
      if (await takeOver(file, seen, info)) {
        options.onWarning?.(
          holder
            ? `taking over the lock of ${environment}: its holder, ${describeHolder(holder)}, is no longer running`
            : `taking over the lock of ${environment}: the lock file was unreadable (a killed run)`,
        );
        return handleFor(file, info);
      }
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
