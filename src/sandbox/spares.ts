// Warm spares of ephemeral sandboxes (docs/data.md "Warm spares"), as pg_tmp keeps one: after a run,
// a detached keeper (`iact __spare`) makes a sandbox of the same shape and publishes a record in
// ROOT/spares/; the next run of that shape claims it by renaming the record into ROOT/owners/, so
// exactly one run gets it. Unclaimed, the keeper destroys it after IACT_RUN_SPARE_TTL seconds.
import { spawn } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { mkdir, open, readdir, readFile, readlink, realpath, rename, unlink, writeFile } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { alive } from '../apply/lock.js';
import type { DriverName, SettingValue } from '../model/types.js';
import { packageDir } from '../package-dir.js';
import type { EphemeralService } from './connection.js';

export const SPARE_TTL_ENV = 'IACT_RUN_SPARE_TTL';
export const DEFAULT_SPARE_TTL_SECONDS = 60;
/** The driver whose server a claiming run can prove cheaply (its pid works in the data directory). */
export const SPARE_DRIVERS: readonly DriverName[] = ['lightweight'];

/** What a run leaves in ROOT/owners/NAME.json: who owns the sandbox (a dead owner's sandbox is reaped). */
export interface OwnerRecord {
  pid: number;
  host: string;
  driver: DriverName;
  started: string;
}

/** A ready spare (ROOT/spares/SHAPE.NAME.json); pid is its keeper's. It is an owner record too. */
export interface SpareRecord extends OwnerRecord {
  name: string;
  service: EphemeralService;
  port: number;
  /** The server's pid when the spare was made: a claim proves it still works in the data directory. */
  serverPid: number;
  shape: string;
  expires: string;
}

/** Everything that makes two ephemeral sandboxes interchangeable. */
export interface SpareShape {
  driver: DriverName;
  service: EphemeralService;
  version?: string;
  /** The final settings (ephemeral ones included), as the driver gets them. */
  settings: Record<string, SettingValue>;
  admin: boolean;
  memory?: string;
  image?: string;
  durable: boolean;
  tls: boolean;
}

/** What the keeper is asked to make (read from its stdin: no setting value in any argv). */
export interface SpareRequest {
  root: string;
  ttlSeconds: number;
  spec: {
    service: EphemeralService;
    driver: DriverName;
    version?: string;
    settings?: Record<string, SettingValue>;
    memory?: string;
    image?: string;
    admin?: boolean;
    durable?: boolean;
    tls?: boolean;
  };
}

/** Seconds a spare waits for a run; 0 turns spares off (neither made nor claimed). */
export function spareTtlSeconds(env: NodeJS.ProcessEnv): number {
  const raw = env[SPARE_TTL_ENV];
  if (raw === undefined || raw.trim() === '') return DEFAULT_SPARE_TTL_SECONDS;
  const n = Number(raw);
  // At most a day: node's timers cannot wait longer than ~24.8 days and would fire at once.
  return Number.isFinite(n) && n >= 0 ? Math.min(n, 86_400) : DEFAULT_SPARE_TTL_SECONDS;
}

/** A short hash of the shape (and of this installation: another iact's scripts make other sandboxes). */
export function shapeKey(shape: SpareShape): string {
  const sorted = Object.fromEntries(Object.entries(shape.settings).sort(([a], [b]) => a.localeCompare(b)));
  const canonical = JSON.stringify([
    packageDir(),
    shape.driver,
    shape.service,
    shape.version ?? '',
    sorted,
    shape.admin,
    shape.memory ?? '',
    shape.image ?? '',
    shape.durable,
    shape.tls,
  ]);
  return createHash('sha256').update(canonical).digest('hex').slice(0, 16);
}

export const sparesDir = (root: string): string => path.join(root, 'spares');
const recordName = (key: string, name: string): string => `${key}.${name}.json`;
const slotName = (key: string): string => `${key}.making`;
const RECORD_RE = /^([0-9a-f]{16})\.(run-[0-9a-f]{10})\.json$/;
const SLOT_RE = /^([0-9a-f]{16})\.making$/;

async function readJson<T>(file: string): Promise<T | undefined> {
  try {
    return JSON.parse(await readFile(file, 'utf8')) as T;
  } catch {
    return undefined;
  }
}

/** True when PID is alive, not a zombie, and works in DIR (its cwd): the spare's server, still there. */
async function worksIn(pid: number, dir: string): Promise<boolean> {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    const stat = await readFile(`/proc/${pid}/stat`, 'utf8');
    const state = stat.slice(stat.lastIndexOf(')') + 2, stat.lastIndexOf(')') + 3);
    if (state === 'Z' || state === 'X') return false;
    return (await readlink(`/proc/${pid}/cwd`)) === (await realpath(dir));
  } catch {
    return false;
  }
}

export interface ClaimedSpare {
  name: string;
  port: number;
  password: string;
  /** The claim worked but the spare's server is gone: the caller owns it now and destroys it. */
  broken: boolean;
}

/**
 * Claim a ready spare of SHAPE KEY: rename its record to ROOT/owners/NAME.json (one rename wins),
 * then check its server still runs in its data directory and read its password (ROOT/run/NAME/secrets).
 */
export async function claimSpare(root: string, key: string, environment: string): Promise<ClaimedSpare | undefined> {
  let entries: string[];
  try {
    entries = await readdir(sparesDir(root));
  } catch {
    return undefined;
  }
  for (const entry of entries) {
    const m = RECORD_RE.exec(entry);
    if (!m || m[1] !== key) continue;
    const file = path.join(sparesDir(root), entry);
    const record = await readJson<SpareRecord>(file);
    // A keeper that died leaves its spare to the reaper (its watchdog destroys the sandbox).
    if (!record || record.name !== m[2] || record.host !== hostname() || !alive(record.pid)) continue;
    try {
      await rename(file, path.join(root, 'owners', `${record.name}.json`));
    } catch {
      continue; // another run claimed it first
    }
    const dir = path.join(root, environment, record.name);
    let password = '';
    try {
      password = await readFile(path.join(dir, 'secrets', 'password'), 'utf8');
    } catch {
      // no password: broken below
    }
    const portOk = Number.isInteger(record.port) && record.port >= 1024 && record.port <= 65535;
    const broken = !portOk || password === '' || !(await worksIn(record.serverPid, path.join(dir, 'data')));
    return { name: record.name, port: record.port, password, broken };
  }
  return undefined;
}

/** Ready records and keepers at work in ROOT/spares/ (for `iact run --spares` and the reaper). */
export async function listSpares(
  root: string,
): Promise<{ ready: (SpareRecord & { file: string })[]; making: { key: string; pid: number; file: string }[] }> {
  const ready: (SpareRecord & { file: string })[] = [];
  const making: { key: string; pid: number; file: string }[] = [];
  let entries: string[];
  try {
    entries = await readdir(sparesDir(root));
  } catch {
    return { ready, making };
  }
  for (const entry of entries) {
    const file = path.join(sparesDir(root), entry);
    const r = RECORD_RE.exec(entry);
    if (r) {
      const record = await readJson<SpareRecord>(file);
      if (record && record.name === r[2]) ready.push({ ...record, file });
      continue;
    }
    const s = SLOT_RE.exec(entry);
    if (s) {
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      making.push({ key: s[1]!, pid, file });
    }
  }
  return { ready, making };
}

/**
 * Spares whose keeper died (killed, or a reboot of a disk-backed root): their records move to
 * ROOT/owners/ for the reaper of ephemeral.ts; slots of dead keepers are freed.
 */
export async function orphanSpares(root: string): Promise<void> {
  const { ready, making } = await listSpares(root);
  await Promise.all([
    ...ready
      .filter((r) => r.host === hostname() && !alive(r.pid))
      .map((r) => rename(r.file, path.join(root, 'owners', `${r.name}.json`)).catch(() => undefined)),
    ...making.filter((s) => !(s.pid > 0 && alive(s.pid))).map((s) => unlink(s.file).catch(() => undefined)),
  ]);
}

/** True when a spare of KEY is ready or being made (no second keeper is started then). */
export async function spareUnderway(root: string, key: string): Promise<boolean> {
  const { ready, making } = await listSpares(root);
  return ready.some((r) => r.shape === key && alive(r.pid)) || making.some((s) => s.key === key && s.pid > 0 && alive(s.pid));
}

/** Start a keeper for REQUEST, detached: it outlives this process and makes the spare in the background. */
export function launchKeeper(request: SpareRequest, env: NodeJS.ProcessEnv): void {
  const cli = path.join(packageDir(), 'dist', 'cli.js');
  if (!existsSync(cli)) return;
  try {
    const child = spawn(process.execPath, [cli, '__spare'], {
      cwd: request.root,
      env: { ...env },
      detached: true,
      stdio: ['pipe', 'ignore', 'ignore'],
    });
    child.on('error', () => undefined);
    child.stdin?.on('error', () => undefined);
    child.stdin?.end(JSON.stringify(request));
    child.unref();
  } catch {
    // No spare this time: the next run creates its sandbox itself.
  }
}

/** The keeper's slot for KEY (O_EXCL): one keeper per shape at a time. False when another holds it. */
export async function takeSlot(root: string, key: string): Promise<boolean> {
  await mkdir(sparesDir(root), { recursive: true, mode: 0o700 });
  const file = path.join(sparesDir(root), slotName(key));
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      const handle = await open(file, 'wx', 0o600);
      await handle.writeFile(`${process.pid}\n`);
      await handle.close();
      return true;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== 'EEXIST') return false;
      const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
      if (pid > 0 && alive(pid)) return false;
      await unlink(file).catch(() => undefined);
    }
  }
  return false;
}

export async function releaseSlot(root: string, key: string): Promise<void> {
  const file = path.join(sparesDir(root), slotName(key));
  const pid = Number((await readFile(file, 'utf8').catch(() => '')).trim());
  if (pid === process.pid) await unlink(file).catch(() => undefined);
}

/** Publish a ready spare: written aside, then renamed into place (a claim never reads half a record). */
export async function publishSpare(root: string, record: SpareRecord): Promise<string> {
  const file = path.join(sparesDir(root), recordName(record.shape, record.name));
  const tmp = path.join(sparesDir(root), `.${record.name}.tmp`);
  await writeFile(tmp, `${JSON.stringify(record)}\n`, { mode: 0o600 });
  await rename(tmp, file);
  return file;
}
