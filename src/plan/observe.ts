// Observation: one `status` call per driver per run, however many sandboxes.
import { readdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { DriverContext, DriverReader, SandboxStatus } from '../drivers/types.js';
import { DRIVERS, type DriverName, type ResolvedEnvironment } from '../model/types.js';
import type { PlanNotice } from './types.js';

export interface Observation {
  observed: SandboxStatus[];
  notices: PlanNotice[];
  /** Drivers whose sandboxes could not be seen: the planner must not propose creating them. */
  unobservedDrivers: DriverName[];
}

export type DriverLookup = (name: DriverName) => Promise<DriverReader>;

/** Drivers that recorded a sandbox of this environment on disk (deletes and driver changes are seen too). */
async function driversOnDisk(sandboxRoot: string, environment: string): Promise<Set<DriverName>> {
  const found = new Set<DriverName>();
  const dir = path.join(sandboxRoot, environment);
  let names: string[];
  try {
    names = await readdir(dir);
  } catch {
    return found;
  }
  await Promise.all(
    names.filter((name) => !name.startsWith('.')).map(async (name) => {
      try {
        const raw = JSON.parse(await readFile(path.join(dir, name, 'sandbox.json'), 'utf8')) as { driver?: string };
        if ((DRIVERS as readonly string[]).includes(raw.driver ?? '')) found.add(raw.driver as DriverName);
      } catch {
        // A half-made sandbox without sandbox.json is reported by every driver's status scan.
        found.add('lightweight');
      }
    }),
  );
  return found;
}

export async function observe(desired: ResolvedEnvironment, ctx: DriverContext, lookup: DriverLookup): Promise<Observation> {
  const wanted = new Set<DriverName>(Object.values(desired.sandboxes).map((s) => s.driver));
  const onDisk = await driversOnDisk(ctx.sandboxRoot, ctx.environment);
  const drivers = DRIVERS.filter((d) => wanted.has(d) || onDisk.has(d));

  const results = await Promise.all(
    drivers.map(async (name) => {
      const driver = await lookup(name);
      const availability = await driver.available(ctx);
      if (!availability.available) {
        // Error either way: a sandbox it holds on disk may be due for deletion, unseen.
        const notice: PlanNotice = {
          severity: 'error',
          summary: `driver ${name} cannot run here: ${availability.reason ?? 'unavailable'}`,
          detail: wanted.has(name) ? undefined : `${ctx.environment} has sandboxes of driver ${name} on disk that may be due for deletion`,
          fix: availability.fix,
        };
        return { name, statuses: [] as SandboxStatus[], notice };
      }
      try {
        return { name, statuses: await driver.status(ctx), notice: undefined };
      } catch (error) {
        const notice: PlanNotice = {
          severity: 'error',
          summary: `driver ${name} could not report status`,
          detail: error instanceof Error ? error.message : String(error),
          fix: 'run `iact doctor` to check what the driver needs',
        };
        return { name, statuses: [] as SandboxStatus[], notice };
      }
    }),
  );

  const observed: SandboxStatus[] = [];
  const notices: PlanNotice[] = [];
  const unobservedDrivers: DriverName[] = [];
  for (const result of results) {
    observed.push(...result.statuses);
    if (result.notice) {
      notices.push(result.notice);
      unobservedDrivers.push(result.name);
    }
  }
  return { observed, notices, unobservedDrivers };
}
