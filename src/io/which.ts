// Finding executables the way `command -v` does, plus the versioned bin dirs Debian keeps off PATH.
import { constants } from 'node:fs';
import { access, readdir, stat } from 'node:fs/promises';
import path from 'node:path';

export async function executable(file: string): Promise<boolean> {
  try {
    await access(file, constants.X_OK);
    return (await stat(file)).isFile();
  } catch {
    return false;
  }
}

/** `command -v NAME` against the given PATH. */
export async function which(name: string, env: NodeJS.ProcessEnv, extraDirs: string[] = []): Promise<string | null> {
  const dirs = [...(env.PATH ?? '').split(':').filter(Boolean), ...extraDirs];
  for (const dir of dirs) {
    const candidate = path.join(dir, name);
    if (await executable(candidate)) return candidate;
  }
  return null;
}

/** Debian keeps some servers' binaries off PATH, in versioned dirs (the catalogue's binDirs), newest first. */
export async function versionedDirs(pattern: string | undefined): Promise<string[]> {
  if (!pattern) return [];
  const [head, tail] = pattern.split('*') as [string, string | undefined];
  try {
    const versions = (await readdir(head)).filter((v) => /^\d+$/.test(v)).sort((a, b) => Number(b) - Number(a));
    return versions.map((v) => `${head}${v}${tail ?? ''}`);
  } catch {
    return [];
  }
}

/** The first of several alternative names found (mariadbd or mysqld). */
export async function whichAny(names: string[], env: NodeJS.ProcessEnv, extraDirs: string[] = []): Promise<string | null> {
  for (const name of names) {
    const found = await which(name, env, extraDirs);
    if (found) return found;
  }
  return null;
}
