// Where `iact install` keeps server binaries, and which PostgreSQL majors this machine can run:
// the system's (/usr/lib/postgresql/N/bin, the catalogue's binDirs) and the iact cache's
// (<cache>/postgres/N/bin). docs/operators.md, "iact install".
import { existsSync } from 'node:fs';
import { readdir } from 'node:fs/promises';
import { homedir } from 'node:os';
import path from 'node:path';
import { CATALOG } from '../catalog/index.js';
import { versionedDirs } from '../io/which.js';

/**
 * $IACT_CACHE_DIR, else $XDG_CACHE_HOME/iact, else ~/.cache/iact; for root /var/cache/iact, because
 * the servers then run as their system user, who cannot enter /root.
 */
export function iactCacheDir(env: NodeJS.ProcessEnv, uid: number = process.getuid?.() ?? -1): string {
  if (env.IACT_CACHE_DIR) return path.resolve(env.IACT_CACHE_DIR);
  if (env.XDG_CACHE_HOME) return path.join(path.resolve(env.XDG_CACHE_HOME), 'iact');
  return uid === 0 ? '/var/cache/iact' : path.join(env.HOME || homedir(), '.cache', 'iact');
}

/** <cache>/postgres/<major>: bin/, lib/, share/ of one PostgreSQL major. */
export function postgresCacheDir(env: NodeJS.ProcessEnv, major: number, uid?: number): string {
  return path.join(iactCacheDir(env, uid), 'postgres', String(major));
}

export interface PostgresMajor {
  major: number;
  bin: string;
  source: 'system' | 'iact cache';
}

/** Every PostgreSQL major with a runnable postgres binary, newest first; the system's win over the cache's. */
export async function postgresMajors(env: NodeJS.ProcessEnv, uid?: number): Promise<PostgresMajor[]> {
  const found = new Map<number, PostgresMajor>();
  for (const bin of await versionedDirs(CATALOG.postgres.binDirs)) {
    const major = Number(path.basename(path.dirname(bin)));
    if (existsSync(path.join(bin, 'postgres'))) found.set(major, { major, bin, source: 'system' });
  }
  const cache = path.join(iactCacheDir(env, uid), 'postgres');
  let entries: string[] = [];
  try {
    entries = await readdir(cache);
  } catch {
    // nothing installed yet
  }
  for (const entry of entries.filter((e) => /^\d+$/.test(e))) {
    const major = Number(entry);
    const bin = path.join(cache, entry, 'bin');
    if (!found.has(major) && existsSync(path.join(bin, 'postgres'))) found.set(major, { major, bin, source: 'iact cache' });
  }
  return [...found.values()].sort((a, b) => b.major - a.major);
}
