// The keeper of one warm spare (`iact __spare`, started detached by a run that ended; docs/data.md
// "Warm spares"): makes an ephemeral sandbox of the run's shape, publishes it in ROOT/spares/, and
// waits. Claimed (its record renamed away by a run), it lets go; unclaimed after the TTL, or asked to
// stop (SIGTERM: `iact run --clean-spares`), it takes its record back and destroys the sandbox.
import { existsSync } from 'node:fs';
import { readFile, rename, stat } from 'node:fs/promises';
import { hostname } from 'node:os';
import path from 'node:path';
import { alive } from '../apply/lock.js';
import { CATALOG } from '../catalog/index.js';
import { DRIVERS } from '../model/types.js';
import { EPHEMERAL_SERVICES } from './connection.js';
import { createKept, defaultRunRoot, type KeptSandbox, RUN_ENVIRONMENT, reapOrphans, runRoot, spareShapeOf } from './ephemeral.js';
import { listSpares, publishSpare, releaseSlot, SPARE_DRIVERS, type SpareRecord, type SpareRequest, shapeKey, takeSlot } from './spares.js';

const CLAIM_POLL_MS = 200;

function readStdin(): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    process.stdin.on('data', (c: Buffer) => chunks.push(c));
    process.stdin.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    process.stdin.on('error', reject);
  });
}

/** The request, checked: it comes over a pipe from iact itself, but nothing unchecked reaches a driver. */
function parseRequest(text: string): SpareRequest | undefined {
  let r: SpareRequest;
  try {
    r = JSON.parse(text) as SpareRequest;
  } catch {
    return undefined;
  }
  if (!r || typeof r.root !== 'string' || !path.isAbsolute(r.root)) return undefined;
  if (typeof r.ttlSeconds !== 'number' || !(r.ttlSeconds > 0)) return undefined;
  const spec = r.spec;
  if (!spec || !(EPHEMERAL_SERVICES as readonly string[]).includes(spec.service)) return undefined;
  if (!(DRIVERS as readonly string[]).includes(spec.driver) || !SPARE_DRIVERS.includes(spec.driver)) return undefined;
  return r;
}

/** The server's pid from its pidfile (first line). */
async function serverPid(root: string, name: string, service: SpareRequest['spec']['service']): Promise<number> {
  const pidfile = CATALOG[service].pidfile;
  if (!pidfile) return 0;
  const text = await readFile(path.join(root, RUN_ENVIRONMENT, name, pidfile), 'utf8').catch(() => '');
  const pid = Number(text.split('\n')[0]?.trim());
  return Number.isInteger(pid) && pid > 0 ? pid : 0;
}

/** `iact __spare`: the request on stdin. Exit 0 whatever became of the spare; 1 when none could be made. */
export default async function keepSpare(): Promise<number> {
  const request = parseRequest(await readStdin());
  if (!request) return 2;
  const { root, ttlSeconds, spec } = request;
  const key = shapeKey(spareShapeOf(spec, spec.driver));
  let stopRequested = false;
  let wake: (() => void) | undefined;
  const onStop = () => {
    stopRequested = true;
    wake?.();
  };
  process.on('SIGTERM', onStop);
  process.on('SIGINT', onStop);
  process.on('SIGHUP', onStop);

  if (!(await takeSlot(root, key))) return 0;
  let sandbox: KeptSandbox | undefined;
  try {
    // One ready spare per shape is enough.
    const { ready } = await listSpares(root);
    if (ready.some((r) => r.shape === key && alive(r.pid))) return 0;
    sandbox = await createKept(spec, { root, env: process.env, spare: false });
  } catch {
    return 1;
  } finally {
    if (!sandbox || stopRequested) await releaseSlot(root, key);
  }
  const name = sandbox.connection.name;
  const pid = await serverPid(root, name, spec.service);
  if (stopRequested || pid === 0) {
    await sandbox.destroy().catch(() => undefined);
    return 0;
  }
  const expires = new Date(Date.now() + ttlSeconds * 1000);
  const record: SpareRecord = {
    pid: process.pid,
    host: hostname(),
    driver: spec.driver,
    started: new Date().toISOString(),
    name,
    service: spec.service,
    port: sandbox.connection.port,
    serverPid: pid,
    shape: key,
    expires: expires.toISOString(),
  };
  const file = await publishSpare(root, record);
  await releaseSlot(root, key);

  const claimed = await new Promise<boolean>((resolve) => {
    const finish = (wasClaimed: boolean) => {
      clearTimeout(timer);
      clearInterval(poll);
      resolve(wasClaimed);
    };
    const timer = setTimeout(() => finish(false), ttlSeconds * 1000);
    const poll = setInterval(() => {
      if (!existsSync(file)) finish(true);
    }, CLAIM_POLL_MS);
    wake = () => finish(false);
    if (stopRequested) finish(false);
  });
  if (!claimed) {
    // Take the record back before destroying: a run renaming it at the same moment wins or loses whole.
    const mine = await rename(file, path.join(root, 'owners', `${name}.json`)).then(
      () => true,
      () => false,
    );
    if (mine) {
      await sandbox.destroy().catch(() => undefined);
      return 0;
    }
  }
  // A run owns it now (its own supervisor watches it): only our supervisor goes.
  await sandbox.release();
  return 0;
}

/** Run roots spares may live in (IACT_RUN_ROOT, else the tmpfs one and the temp dir one) that are this user's. */
export async function spareRoots(env: NodeJS.ProcessEnv): Promise<string[]> {
  const roots = new Set<string>([(await runRoot(env, false)).root, (await runRoot(env, true)).root, defaultRunRoot(env)]);
  const uid = process.getuid?.();
  const mine = await Promise.all(
    [...roots].map(async (root) => {
      try {
        // Another user's root (a shared temp dir) could hold records planted for us to act on.
        return uid === undefined || (await stat(root)).uid === uid ? root : undefined;
      } catch {
        return undefined;
      }
    }),
  );
  return mine.filter((r): r is string => r !== undefined);
}

/** PID is a keeper of this user: `iact __spare` in its command line (proven before any signal). */
async function isKeeper(pid: number): Promise<boolean> {
  if (!(pid > 0) || !alive(pid)) return false;
  try {
    const argv = (await readFile(`/proc/${pid}/cmdline`, 'utf8')).split('\0');
    const owner = (await stat(`/proc/${pid}`)).uid;
    return argv.includes('__spare') && owner === process.getuid?.();
  } catch {
    return false;
  }
}

export interface SpareListing {
  root: string;
  name: string;
  service: string;
  port: number;
  expires: string;
  keeper: number;
}

/** Ready spares (and keepers still making one) under ROOTS. */
export async function spareListing(roots: string[]): Promise<{ ready: SpareListing[]; making: { root: string; keeper: number }[] }> {
  const ready: SpareListing[] = [];
  const making: { root: string; keeper: number }[] = [];
  for (const root of roots) {
    const found = await listSpares(root);
    for (const r of found.ready)
      if (alive(r.pid)) ready.push({ root, name: r.name, service: r.service, port: r.port, expires: r.expires, keeper: r.pid });
    for (const m of found.making) if (m.pid > 0 && alive(m.pid)) making.push({ root, keeper: m.pid });
  }
  return { ready, making };
}

/**
 * Stop every keeper under ROOTS (each destroys its spare) and wait for them; spares whose keeper is
 * gone are reaped. Returns how many keepers were stopped.
 */
export async function cleanSpares(roots: string[], log: (m: string) => void = () => undefined): Promise<number> {
  const { ready, making } = await spareListing(roots);
  const keepers = [...new Set([...ready.map((r) => r.keeper), ...making.map((m) => m.keeper)])];
  const stopped: number[] = [];
  for (const pid of keepers) {
    if (!(await isKeeper(pid))) continue;
    try {
      process.kill(pid, 'SIGTERM');
      stopped.push(pid);
    } catch {
      // gone already
    }
  }
  const deadline = Date.now() + 60_000;
  while (stopped.some(alive) && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
  for (const pid of stopped.filter(alive)) log(`keeper ${pid} did not stop within 60 s`);
  const { getDriver } = await import('../drivers/index.js');
  for (const root of roots) {
    if (!existsSync(path.join(root, 'owners'))) continue;
    await reapOrphans(root, path.join(root, 'owners'), async (n) => getDriver(n), log);
  }
  return stopped.length;
}
