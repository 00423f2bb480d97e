// Observation: one `status` call per driver per run, however many sandboxes. It starts before
// the manifest is parsed (drivers found on disk are asked at once), so the two overlap.
import { closeSync, openSync, readdirSync, readFileSync, readSync } from 'node:fs';
import path from 'node:path';
import type { DriverContext, DriverReader, SandboxStatus } from '../drivers/types.js';
import { DRIVERS, type DriverName, type ResolvedEnvironment } from '../model/types.js';
import type { PlanNotice } from '../plan/types.js';

export interface Observation {
  observed: SandboxStatus[];
  notices: PlanNotice[];
  /** Drivers whose sandboxes could not be seen: the planner must not propose creating them. */
  unobservedDrivers: DriverName[];
}

export type DriverLookup = (name: DriverName) => Promise<DriverReader>;

interface DriverResult {
  name: DriverName;
  statuses: SandboxStatus[];
  notice?: PlanNotice;
}

const DRIVER_FIELD = /"driver"\s*:\s*"([a-z]+)"/;
const HEAD_BYTES = 512;
/** Sandbox directories read before the manifest; the rest only when no scan accounts for them. */
const EARLY_SCAN = 16;

/** The entries of an environment's sandbox folder (empty when there is none yet). */
function sandboxEntries(sandboxRoot: string, environment: string): string[] {
  try {
    return readdirSync(path.join(sandboxRoot, environment)).filter((name) => !name.startsWith('.'));
  } catch {
    return [];
  }
}

/**
 * Drivers that recorded a sandbox of this environment on disk (deletes and driver changes are
 * seen too). Synchronous reads of each file's head into one buffer: sandbox.json names its driver
 * within its first bytes, and a thousand files cost ~12 ms so (~20 ms with readFileSync, ~100 ms as promises).
 */
export function driversOnDisk(sandboxRoot: string, environment: string, names = sandboxEntries(sandboxRoot, environment)): Set<DriverName> {
  const found = new Set<DriverName>();
  const dir = path.join(sandboxRoot, environment);
  const head = Buffer.allocUnsafe(HEAD_BYTES);
  for (const name of names) {
    const file = path.join(dir, name, 'sandbox.json');
    let driver: string | undefined;
    try {
      const fd = openSync(file, 'r');
      let text: string;
      try {
        const length = readSync(fd, head, 0, HEAD_BYTES, 0);
        text = head.toString('utf8', 0, length);
      } finally {
        closeSync(fd);
      }
      // A hand-edited file may name it later: read all of it then.
      driver = (DRIVER_FIELD.exec(text) ?? DRIVER_FIELD.exec(readFileSync(file, 'utf8')))?.[1];
    } catch {
      // Half-made, without sandbox.json: .meta ("driver service port version") still names its driver.
      try {
        driver = readFileSync(path.join(dir, name, '.meta'), 'utf8').split(' ', 1)[0];
      } catch {
        driver = undefined;
      }
    }
    // Anything else (a stray folder) is the lightweight scan's to report or ignore.
    found.add(driver && (DRIVERS as readonly string[]).includes(driver) ? (driver as DriverName) : 'lightweight');
    if (found.size === DRIVERS.length) break;
  }
  return found;
}

async function ask(
  name: DriverName,
  ctx: DriverContext,
  lookup: DriverLookup,
  onStarted: () => void = () => undefined,
): Promise<DriverResult> {
  let driver: DriverReader;
  let availability: Awaited<ReturnType<DriverReader['available']>> | undefined;
  try {
    driver = await lookup(name);
    availability = await driver.available(ctx);
  } finally {
    if (!availability?.available) onStarted();
  }
  if (!availability.available) {
    return {
      name,
      statuses: [],
      notice: {
        severity: 'error',
        summary: `driver ${name} cannot run here: ${availability.reason ?? 'unavailable'}`,
        fix: availability.fix,
      },
    };
  }
  try {
    const statuses = driver.status(ctx);
    onStarted();
    return { name, statuses: await statuses };
  } catch (error) {
    return {
      name,
      statuses: [],
      notice: {
        severity: 'error',
        summary: `driver ${name} could not report status`,
        detail: error instanceof Error ? error.message : String(error),
        fix: 'run `iact doctor` to check what the driver needs',
      },
    };
  }
}

export interface PendingObservation {
  /** Resolves once the drivers found on disk have been asked (their scans run from then on). */
  started: Promise<void>;
  /** Ask the drivers the manifest needs that are not already being asked, and gather everything. */
  complete(desired: ResolvedEnvironment): Promise<Observation>;
}

export function beginObservation(ctx: DriverContext, lookup: DriverLookup): PendingObservation {
  const asked = new Map<DriverName, Promise<DriverResult>>();
  const starts: Promise<void>[] = [];
  const askNow = (name: DriverName) => {
    let markStarted!: () => void;
    starts.push(new Promise<void>((resolve) => (markStarted = resolve)));
    const pending = ask(name, ctx, lookup, markStarted);
    pending.catch(() => undefined); // awaited in complete(); never an unhandled rejection meanwhile
    asked.set(name, pending);
  };
  const entries = sandboxEntries(ctx.sandboxRoot, ctx.environment);
  // Most sandboxes are lightweight: its scan starts first. The first few directories tell at once
  // which other drivers to ask too (docker's scan is slow: it should start before the manifest is
  // read); the rest are read only if lightweight's scan does not account for them.
  if (entries.length > 0) askNow('lightweight');
  const early = entries.slice(0, EARLY_SCAN);
  const scanned = Promise.all(starts).then(() => {
    const onDisk = driversOnDisk(ctx.sandboxRoot, ctx.environment, early);
    for (const name of onDisk) if (!asked.has(name)) askNow(name);
    return onDisk;
  });
  return {
    // One more turn of the event loop lets a driver's spawn, queued behind the call, happen.
    started: scanned.then(() => Promise.all(starts)).then(() => new Promise<void>((resolve) => setImmediate(resolve))),
    async complete(desired) {
      const onDisk = await scanned;
      const wanted = new Set<DriverName>(Object.values(desired.sandboxes).map((s) => s.driver));
      for (const name of wanted) if (!asked.has(name)) askNow(name);
      if (entries.length > EARLY_SCAN) {
        const reported = new Set((await asked.get('lightweight')!).statuses.map((s) => s.name));
        const unaccounted = entries.slice(EARLY_SCAN).filter((name) => !reported.has(name));
        for (const name of driversOnDisk(ctx.sandboxRoot, ctx.environment, unaccounted)) {
          onDisk.add(name);
          if (!asked.has(name)) askNow(name);
        }
      }
      const results = await Promise.all(DRIVERS.filter((d) => asked.has(d)).map((d) => asked.get(d)!));
      const observed: SandboxStatus[] = [];
      const notices: PlanNotice[] = [];
      const unobservedDrivers: DriverName[] = [];
      for (const result of results) {
        observed.push(...result.statuses);
        // Asked early on a guess, neither wanted nor on disk: it has nothing to say.
        if (!result.notice || (!wanted.has(result.name) && !onDisk.has(result.name))) continue;
        notices.push(
          wanted.has(result.name)
            ? result.notice
            : {
                ...result.notice,
                detail: `${ctx.environment} has sandboxes of driver ${result.name} on disk that may be due for deletion`,
              },
        );
        unobservedDrivers.push(result.name);
      }
      return { observed, notices, unobservedDrivers };
    },
  };
}

export async function observe(desired: ResolvedEnvironment, ctx: DriverContext, lookup: DriverLookup): Promise<Observation> {
  return beginObservation(ctx, lookup).complete(desired);
}
