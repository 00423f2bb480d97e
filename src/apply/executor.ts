// Turns a plan into driver calls: dependency order, bounded parallelism, one failure never
// stops unrelated sandboxes, dependents of a failure are skipped.
import path from 'node:path';
import pLimit from 'p-limit';
import { serviceEntry } from '../catalog/index.js';
import { DriverError, type DriverErrorKind } from '../drivers/errors.js';
import type { BatchResult, DriverContext, DriverSpec, DriverWriter } from '../drivers/types.js';
import { isDriverStep } from '../plan/types.js';
import type { DriverName } from '../model/types.js';
import type { Action, Plan, ResourceChange } from '../plan/types.js';

export type Outcome = 'created' | 'updated' | 'replaced' | 'deleted' | 'started' | 'failed' | 'skipped';

export interface ApplyEvent {
  type: 'begin' | 'end' | 'note';
  address: string;
  name: string;
  action: Action;
  outcome?: Outcome;
  elapsedMs?: number;
  /** Failure message or skip reason; never holds a secret (drivers scrub, and so does the CLI). */
  message?: string;
}

export interface ActionResult {
  address: string;
  name: string;
  action: Action;
  outcome: Outcome;
  elapsedMs: number;
  message?: string;
  /** A failure's kind and whether a retry may fix it, when a driver reported them (src/drivers/errors.ts). */
  kind?: DriverErrorKind;
  retryable?: boolean;
}

export interface ExecuteOptions {
  ctx: DriverContext;
  parallelism: number;
  lookup: (name: DriverName) => Promise<DriverWriter>;
  /** Desired specs (with passwords) for every sandbox the manifest has, by name. */
  specs: Record<string, DriverSpec>;
  /** Where backups go (.iact/backups/<env>); null with --no-backup. */
  backupDir: string | null;
  onEvent: (event: ApplyEvent) => void;
  /** Once aborted, actions not yet begun are skipped; running ones finish. */
  signal?: AbortSignal;
  now?: () => Date;
}

const DONE: Record<Action, Outcome> = {
  create: 'created',
  update: 'updated',
  replace: 'replaced',
  delete: 'deleted',
  start: 'started',
  'no-op': 'started',
};

/** The error with a line added to its message, its type and fields (a DriverError's kind) kept. */
function withNote(error: unknown, note: string): Error {
  if (error instanceof Error) {
    error.message = `${error.message}\n${note}`;
    return error;
  }
  return new Error(`${String(error)}\n${note}`);
}

function stamp(date: Date): string {
  return date.toISOString().replace(/[-:]/g, '').replace(/\.\d+Z$/, 'Z');
}

/** Where the backup of sandbox NAME taken at DATE goes (`iact restore` takes one the same way). */
export function backupPath(dir: string, name: string, service: string, date: Date): string {
  return path.join(dir, `${name}-${stamp(date)}.${serviceEntry(service)?.backup.ext ?? 'bak'}`);
}

/** Fewer than this many `none` creates are not worth a batch; more are split into chunks. */
const BATCH_MIN = 8;
const BATCH_SIZE = 250;


const portOf = (side: ResourceChange['before']): unknown => side?.port;

/**
 * Edges: who must finish before whom. Creates follow depends_on; deletes go in reverse; a sandbox
 * that moves onto a port waits for the one that gives it up (a rename, a port moved to another).
 */
export function dependencyEdges(changes: ResourceChange[]): Map<string, string[]> {
  const active = new Map(changes.filter((c) => c.action !== 'no-op').map((c) => [c.name, c]));
  const waitsFor = new Map<string, string[]>();
  for (const change of active.values()) waitsFor.set(change.name, []);
  const releasing = new Map<unknown, string>();
  for (const change of active.values()) {
    const held = portOf(change.before);
    if (held !== undefined && (change.action === 'delete' || portOf(change.after) !== held)) releasing.set(held, change.name);
  }
  for (const change of active.values()) {
    const wanted = portOf(change.after);
    const giver = wanted === undefined || wanted === portOf(change.before) ? undefined : releasing.get(wanted);
    if (giver !== undefined && giver !== change.name) waitsFor.get(change.name)!.push(giver);
  }
  for (const change of active.values()) {
    if (change.action === 'delete') {
      // A sandbox is deleted only after the sandboxes that depend on it are gone.
      for (const other of active.values()) {
        if (other.action === 'delete' && other.depends_on.includes(change.name)) waitsFor.get(change.name)!.push(other.name);
      }
    } else {
      for (const dep of change.depends_on) {
        const depChange = active.get(dep);
        if (depChange && depChange.action !== 'delete') waitsFor.get(change.name)!.push(dep);
      }
    }
  }
  return breakCycles(waitsFor);
}

/** Hand-edited sandbox.json files can describe a cycle; drop the edges that close one. */
function breakCycles(waitsFor: Map<string, string[]>): Map<string, string[]> {
  const state = new Map<string, 'visiting' | 'done'>();
  const visit = (name: string) => {
    state.set(name, 'visiting');
    const deps = waitsFor.get(name) ?? [];
    waitsFor.set(
      name,
      deps.filter((dep) => {
        if (state.get(dep) === 'visiting') return false;
        if (!state.has(dep)) visit(dep);
        return true;
      }),
    );
    state.set(name, 'done');
  };
  for (const name of [...waitsFor.keys()].sort()) if (!state.has(name)) visit(name);
  return waitsFor;
}

export async function executePlan(plan: Plan, options: ExecuteOptions): Promise<ActionResult[]> {
  const now = options.now ?? (() => new Date());
  const changes = plan.changes.filter((c) => c.action !== 'no-op');
  const byName = new Map(changes.map((c) => [c.name, c]));
  const waitsFor = dependencyEdges(changes);
  const limit = pLimit(Math.max(1, options.parallelism));
  const results = new Map<string, Promise<ActionResult>>();

  /**
   * Performs the change's steps in order (docs/plan-json.md, "Steps"): the plan decided them, this
   * decides nothing again. An update's driver steps go to the driver in one `update --steps` call.
   */
  const perform = async (change: ResourceChange): Promise<string | undefined> => {
    const { ctx } = options;
    const desired = options.specs[change.name];
    const observedDriver = (change.before?.driver ?? change.driver) as DriverName;
    const need = (): DriverSpec => {
      if (!desired) throw new Error(`no desired spec for ${change.address}`);
      return desired;
    };
    const writerFor = async (which: 'desired' | 'observed'): Promise<DriverWriter> => options.lookup(which === 'desired' ? need().driver : observedDriver);
    let backupFile: string | undefined;
    let deleted = false;
    if (change.action === 'update') {
      await (await writerFor('desired')).update(ctx, need(), { steps: change.steps.filter(isDriverStep) });
    }
    for (const step of change.steps) {
      switch (step) {
        case 'preflight':
          // Nothing is deleted before the new sandbox is known to be creatable (binaries, version, port).
          await (await writerFor('desired')).preflight?.(ctx, need(), { portIsOurs: change.before?.port === need().port });
          break;
        case 'backup': {
          if (!options.backupDir) break; // --no-backup
          const file = backupPath(options.backupDir, change.name, change.service, now());
          // false: the sandbox's create never finished, so it holds no data and no backup was written.
          const written = await (await writerFor('observed')).backup(ctx, change.name, file);
          backupFile = written === false ? undefined : file;
          break;
        }
        case 'delete':
          await (await writerFor('observed')).destroy(ctx, change.name);
          deleted = true;
          break;
        case 'create':
          try {
            await (await writerFor('desired')).create(ctx, need());
          } catch (error) {
            // The old sandbox is gone by now: say where its data is.
            if (!deleted || !backupFile) throw error;
            throw withNote(error, `the old sandbox was deleted; its backup is ${backupFile}`);
          }
          break;
        case 'stop':
          await (await writerFor('observed')).stop(ctx, change.name);
          break;
        case 'start':
          await (await writerFor('observed')).start(ctx, change.name);
          break;
        case 'set-password':
        case 'reload':
        case 'restart':
        case 'recreate':
          break; // carried out by the update call above
      }
    }
    return backupFile ? `backup: ${backupFile}` : undefined;
  };

  // `none` creates without dependencies go to the driver in batches: one process for many.
  const batched = new Map<string, Promise<ActionResult>>();
  const batchable = changes.filter(
    (c) => c.action === 'create' && c.service === 'none' && (waitsFor.get(c.name) ?? []).length === 0 && options.specs[c.name] !== undefined,
  );
  const byDriver = new Map<DriverName, ResourceChange[]>();
  for (const c of batchable) byDriver.set(options.specs[c.name]!.driver, [...(byDriver.get(options.specs[c.name]!.driver) ?? []), c]);
  for (const [driverName, group] of byDriver) {
    if (group.length < BATCH_MIN) continue;
    for (let i = 0; i < group.length; i += BATCH_SIZE) {
      const chunk = group.slice(i, i + BATCH_SIZE);
      const outcome = limit(async (): Promise<Map<string, ActionResult>> => {
        const writer = await options.lookup(driverName);
        const out = new Map<string, ActionResult>();
        if (!writer.createMany) return out; // the driver cannot batch: each runs alone below
        const started = Date.now();
        const skipAll = options.signal?.aborted;
        for (const c of chunk) {
          if (skipAll) out.set(c.name, { address: c.address, name: c.name, action: c.action, outcome: 'skipped', elapsedMs: 0, message: 'interrupted before it began' });
          else options.onEvent({ type: 'begin', address: c.address, name: c.name, action: c.action });
        }
        if (skipAll) return out;
        let batch: BatchResult[];
        try {
          batch = await writer.createMany(options.ctx, chunk.map((c) => options.specs[c.name]!));
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          batch = chunk.map((c) => ({ name: c.name, ok: false, message }));
        }
        const byName = new Map(batch.map((b) => [b.name, b]));
        for (const c of chunk) {
          const b = byName.get(c.name);
          out.set(c.name, {
            address: c.address,
            name: c.name,
            action: c.action,
            outcome: b?.ok ? 'created' : 'failed',
            elapsedMs: Date.now() - started,
            message: b?.ok ? undefined : (b?.message ?? 'the driver reported nothing for it'),
          });
        }
        return out;
      });
      for (const c of chunk) {
        batched.set(
          c.name,
          outcome.then((out) => {
            const result = out.get(c.name);
            if (!result) return single(c); // driver without createMany
            options.onEvent({ type: 'end', ...result });
            return result;
          }),
        );
      }
    }
  }

  const run = (change: ResourceChange): Promise<ActionResult> => {
    const existing = results.get(change.name);
    if (existing) return existing;
    const fromBatch = batched.get(change.name);
    if (fromBatch) {
      results.set(change.name, fromBatch);
      return fromBatch;
    }
    const promise = single(change);
    results.set(change.name, promise);
    return promise;
  };

  function single(change: ResourceChange): Promise<ActionResult> {
    return (async (): Promise<ActionResult> => {
      const deps = await Promise.all((waitsFor.get(change.name) ?? []).map((dep) => run(byName.get(dep)!)));
      const base = { address: change.address, name: change.name, action: change.action };
      const blocked = deps.find((d) => d.outcome === 'failed' || d.outcome === 'skipped');
      if (blocked) {
        const result: ActionResult = { ...base, outcome: 'skipped', elapsedMs: 0, message: `${blocked.address} ${blocked.outcome === 'failed' ? 'failed' : 'was skipped'}` };
        options.onEvent({ type: 'end', ...result });
        return result;
      }
      return limit(async () => {
        if (options.signal?.aborted) {
          const result: ActionResult = { ...base, outcome: 'skipped', elapsedMs: 0, message: 'interrupted before it began' };
          options.onEvent({ type: 'end', ...result });
          return result;
        }
        const started = Date.now();
        options.onEvent({ type: 'begin', ...base });
        try {
          const note = await perform(change);
          const result: ActionResult = { ...base, outcome: DONE[change.action], elapsedMs: Date.now() - started, message: note };
          options.onEvent({ type: 'end', ...result });
          return result;
        } catch (error) {
          const message = error instanceof Error ? error.message : String(error);
          const typed = error instanceof DriverError ? { kind: error.kind, retryable: error.retryable } : {};
          const result: ActionResult = { ...base, outcome: 'failed', elapsedMs: Date.now() - started, message, ...typed };
          options.onEvent({ type: 'end', ...result });
          return result;
        }
      });
    })();
  }

  return Promise.all(changes.map(run));
}

export interface ApplyCounts {
  created: number;
  updated: number;
  replaced: number;
  deleted: number;
  started: number;
  failed: number;
  skipped: number;
}

export function countOutcomes(results: ActionResult[]): ApplyCounts {
  const counts: ApplyCounts = { created: 0, updated: 0, replaced: 0, deleted: 0, started: 0, failed: 0, skipped: 0 };
  for (const r of results) counts[r.outcome] += 1;
  return counts;
}

/** The closing line of docs/commands.md "iact apply", naming each failure and skip. */
export function summaryLine(results: ActionResult[], verb: 'Apply' | 'Destroy' = 'Apply'): string {
  const c = countOutcomes(results);
  // Destroy only deletes: "0 created, 0 updated, ..." would be noise (Terraform: "Destroy complete! Resources: 2 destroyed.").
  const base = verb === 'Destroy' ? `${c.deleted} deleted.` : `${c.created} created, ${c.updated} updated, ${c.replaced} replaced, ${c.deleted} deleted, ${c.started} started.`;
  if (c.failed === 0 && c.skipped === 0) return `${verb} complete: ${base}`;
  const failed = results.filter((r) => r.outcome === 'failed').map((r) => r.address);
  const skipped = results.filter((r) => r.outcome === 'skipped').map((r) => r.address);
  const parts = [`${verb} failed: ${base}`];
  if (failed.length > 0) parts.push(`Failed: ${failed.join(', ')}.`);
  if (skipped.length > 0) parts.push(`Skipped: ${skipped.join(', ')}.`);
  return parts.join(' ');
}
