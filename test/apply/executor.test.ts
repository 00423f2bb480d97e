// Ordering, parallelism and failure isolation of the executor. The writer here records calls:
// the real drivers are exercised end to end in test/commands/apply.test.ts.
import { describe, expect, it } from 'vitest';
import { dependencyEdges, executePlan, summaryLine, type ApplyEvent } from '../../src/apply/executor.js';
import type { DriverSpec, DriverWriter } from '../../src/drivers/types.js';
import type { Action, ResourceChange, Step } from '../../src/plan/types.js';

/** The steps the planner gives each action (src/plan/planner.ts). */
const STEPS_OF: Record<Action, Step[]> = {
  create: ['create'],
  update: ['restart'],
  replace: ['preflight', 'delete', 'create'],
  start: ['start'],
  delete: ['delete'],
  'no-op': [],
};
import { planOf } from '../helpers/plans.js';

function change(name: string, action: Action, depends_on: string[] = []): ResourceChange {
  return {
    address: `sandbox.${name}`,
    name,
    driver: 'lightweight',
    service: 'none',
    action,
    impact: action === 'delete' || action === 'replace' ? 'data-loss' : 'none',
    reasons: [],
    steps: STEPS_OF[action],
    before: action === 'create' ? null : { driver: 'lightweight' },
    after: action === 'delete' ? null : { driver: 'lightweight' },
    fields: [],
    drift: [],
    backup: false,
    requiresAllowDestroy: false,
    depends_on,
  };
}

function recorder(failing: Set<string> = new Set(), delayMs = 20) {
  const log: string[] = [];
  let running = 0;
  let maxRunning = 0;
  const act = (verb: string) => async (_ctx: unknown, specOrName: DriverSpec | string) => {
    const name = typeof specOrName === 'string' ? specOrName : specOrName.name;
    running += 1;
    maxRunning = Math.max(maxRunning, running);
    log.push(`${verb}:${name}:begin`);
    await new Promise((r) => setTimeout(r, delayMs));
    running -= 1;
    log.push(`${verb}:${name}:end`);
    if (failing.has(name)) throw new Error(`${verb} ${name} failed: port 1234 is already in use`);
  };
  const writer = {
    name: 'lightweight',
    available: async () => ({ available: true }),
    status: async () => [],
    create: act('create'),
    update: act('update'),
    start: act('start'),
    stop: act('stop'),
    destroy: act('destroy'),
    backup: act('backup'),
  } as unknown as DriverWriter;
  return { writer, log, maxRunning: () => maxRunning };
}

const specs = (names: string[]): Record<string, DriverSpec> =>
  Object.fromEntries(
    names.map((n) => [
      n,
      { name: n, environment: 'development', driver: 'lightweight', service: 'none', port: 2000, settings: {}, spec_hash: '' },
    ]),
  );

const ctx = { root: '/tmp', sandboxRoot: '/tmp/sb', environment: 'development' };

describe('executePlan', () => {
  it('creates dependencies first and deletes dependents first', async () => {
    const r = recorder();
    const p = planOf([
      change('app', 'create', ['db']),
      change('db', 'create'),
      change('old-app', 'delete', ['old-db']),
      change('old-db', 'delete'),
    ]);
    await executePlan(p, {
      ctx,
      parallelism: 4,
      lookup: async () => r.writer,
      specs: specs(['app', 'db']),
      backupDir: null,
      onEvent: () => undefined,
    });
    expect(r.log.indexOf('create:db:end')).toBeLessThan(r.log.indexOf('create:app:begin'));
    expect(r.log.indexOf('destroy:old-app:end')).toBeLessThan(r.log.indexOf('destroy:old-db:begin'));
  });

  it('runs independent sandboxes in parallel, bounded by --parallelism', async () => {
    const r = recorder(new Set(), 40);
    const names = ['a', 'b', 'c', 'd', 'e', 'f'];
    await executePlan(planOf(names.map((n) => change(n, 'create'))), {
      ctx,
      parallelism: 3,
      lookup: async () => r.writer,
      specs: specs(names),
      backupDir: null,
      onEvent: () => undefined,
    });
    expect(r.maxRunning()).toBe(3);
  });

  it('a replace checks first, backs up, deletes, creates; a create failing after the delete names the backup', async () => {
    const calls: string[] = [];
    const writer = {
      ...(recorder().writer as object),
      preflight: async () => void calls.push('preflight'),
      backup: async () => void calls.push('backup'),
      destroy: async () => void calls.push('destroy'),
      create: async () => {
        calls.push('create');
        throw new Error('Redis refused maxmemory');
      },
    } as unknown as DriverWriter;
    const replaced: ResourceChange = {
      ...change('db', 'replace'),
      service: 'redis',
      backup: true,
      steps: ['preflight', 'backup', 'delete', 'create'],
    };
    const results = await executePlan(planOf([replaced]), {
      ctx,
      parallelism: 1,
      lookup: async () => writer,
      specs: specs(['db']),
      backupDir: '/tmp/backups',
      onEvent: () => undefined,
      now: () => new Date('2026-01-02T03:04:05Z'),
    });
    expect(calls).toEqual(['preflight', 'backup', 'destroy', 'create']);
    expect(results[0]).toMatchObject({
      outcome: 'failed',
      message: 'Redis refused maxmemory\nthe old sandbox was deleted; its backup is /tmp/backups/db-20260102T030405Z.rdb',
    });
  });

  it('keeps going after a failure, skips only the dependents, and names each outcome', async () => {
    const r = recorder(new Set(['db']));
    const events: ApplyEvent[] = [];
    const p = planOf([change('db', 'create'), change('app', 'create', ['db']), change('cache', 'create')]);
    const results = await executePlan(p, {
      ctx,
      parallelism: 2,
      lookup: async () => r.writer,
      specs: specs(['db', 'app', 'cache']),
      backupDir: null,
      onEvent: (e) => events.push(e),
    });
    const byName = Object.fromEntries(results.map((x) => [x.name, x]));
    expect(byName.db!.outcome).toBe('failed');
    expect(byName.db!.message).toContain('already in use');
    expect(byName.app!.outcome).toBe('skipped');
    expect(byName.app!.message).toBe('sandbox.db failed');
    expect(byName.cache!.outcome).toBe('created');
    expect(r.log).not.toContain('create:app:begin');
    expect(summaryLine(results)).toBe(
      'Apply failed: 1 created, 0 updated, 0 replaced, 0 deleted, 0 started. Failed: sandbox.db. Skipped: sandbox.app.',
    );
    expect(events.filter((e) => e.type === 'end')).toHaveLength(3);
  });

  it('starts nothing new once aborted', async () => {
    const r = recorder();
    const controller = new AbortController();
    controller.abort();
    const results = await executePlan(planOf([change('a', 'create')]), {
      ctx,
      parallelism: 1,
      lookup: async () => r.writer,
      specs: specs(['a']),
      backupDir: null,
      onEvent: () => undefined,
      signal: controller.signal,
    });
    expect(results[0]!.outcome).toBe('skipped');
    expect(r.log).toEqual([]);
  });

  it('performs the steps of the plan: stop+start for a sandbox whose port stopped answering, start for a stopped one', async () => {
    const r = recorder();
    const unhealthy: ResourceChange = { ...change('a', 'start'), impact: 'restart', steps: ['stop', 'start'] };
    await executePlan(planOf([unhealthy, change('b', 'start')]), {
      ctx,
      parallelism: 1,
      lookup: async () => r.writer,
      specs: specs([]),
      backupDir: null,
      onEvent: () => undefined,
    });
    expect(r.log.filter((l) => l.endsWith(':begin'))).toEqual(['stop:a:begin', 'start:a:begin', 'start:b:begin']);
  });

  it('creates many `none` sandboxes in one batch call, and still orders dependents after them', async () => {
    const r = recorder();
    const batches: string[][] = [];
    const writer = {
      ...r.writer,
      createMany: async (_ctx: unknown, list: DriverSpec[]) => {
        batches.push(list.map((s) => s.name));
        return list.map((s) => ({
          name: s.name,
          ok: s.name !== 'n3',
          message: s.name === 'n3' ? 'port 2003 is already in use' : undefined,
        }));
      },
    } as DriverWriter;
    const names = Array.from({ length: 12 }, (_, i) => `n${i}`);
    const changes = [...names.map((n) => change(n, 'create')), { ...change('app', 'create', ['n1']), service: 'postgres' }];
    const events: ApplyEvent[] = [];
    const results = await executePlan(planOf(changes), {
      ctx,
      parallelism: 2,
      lookup: async () => writer,
      specs: specs([...names, 'app']),
      backupDir: null,
      onEvent: (e) => events.push(e),
    });
    expect(batches).toEqual([names]);
    expect(r.log).toEqual(['create:app:begin', 'create:app:end']);
    const byName = Object.fromEntries(results.map((x) => [x.name, x]));
    expect(byName.n3).toMatchObject({ outcome: 'failed', message: 'port 2003 is already in use' });
    expect(byName.n0!.outcome).toBe('created');
    expect(byName.app!.outcome).toBe('created');
    expect(events.filter((e) => e.type === 'begin')).toHaveLength(13);
    expect(events.filter((e) => e.type === 'end')).toHaveLength(13);
  });

  it('a sandbox moving onto a port waits for the one that gives it up (rename, port moved)', () => {
    const at = (c: ResourceChange, before: number | null, after: number | null): ResourceChange => ({
      ...c,
      before: before === null ? null : { ...c.before, port: before },
      after: after === null ? null : { ...c.after, port: after },
    });
    const edges = dependencyEdges([
      at(change('cache2', 'create'), null, 6379), // the rename's new name
      at(change('cache', 'delete'), 6379, null), // the rename's old name
      at(change('db', 'update'), 5432, 5433), // moves away from 5432
      at(change('db2', 'create'), null, 5432), // takes 5432
      at(change('other', 'update'), 7000, 7000), // keeps its port: waits for nobody
    ]);
    expect(edges.get('cache2')).toEqual(['cache']);
    expect(edges.get('db2')).toEqual(['db']);
    expect(edges.get('cache')).toEqual([]);
    expect(edges.get('other')).toEqual([]);
  });

  it('ignores edges that close a cycle in hand-edited specs', () => {
    const edges = dependencyEdges([change('a', 'create', ['b']), change('b', 'create', ['a'])]);
    const total = [...edges.values()].reduce((n, deps) => n + deps.length, 0);
    expect(total).toBe(1);
  });

  it('summarises a destroy by what it deleted', () => {
    const results = [{ address: 'sandbox.a', name: 'a', action: 'delete' as const, outcome: 'deleted' as const, elapsedMs: 1 }];
    expect(summaryLine(results, 'Destroy')).toBe('Destroy complete: 1 deleted.');
    expect(
      summaryLine([...results, { address: 'sandbox.b', name: 'b', action: 'delete', outcome: 'failed', elapsedMs: 1 }], 'Destroy'),
    ).toBe('Destroy failed: 1 deleted. Failed: sandbox.b.');
  });

  it('summarises a clean run with the closing line of docs/commands.md', () => {
    expect(summaryLine([{ address: 'sandbox.a', name: 'a', action: 'create', outcome: 'created', elapsedMs: 1 }])).toBe(
      'Apply complete: 1 created, 0 updated, 0 replaced, 0 deleted, 0 started.',
    );
  });
});

describe('executePlan performs steps, deciding nothing again', () => {
  it("passes an update's driver steps to one update call, then starts a stopped sandbox", async () => {
    const calls: string[] = [];
    const writer = {
      name: 'lightweight',
      update: async (_ctx: unknown, spec: DriverSpec, opts: { steps: string[] }) =>
        void calls.push(`update:${spec.name}:${opts.steps.join(',')}`),
      start: async (_ctx: unknown, name: string) => void calls.push(`start:${name}`),
    } as unknown as DriverWriter;
    const update: ResourceChange = { ...change('db', 'update'), steps: ['set-password', 'reload', 'start'] };
    const files: ResourceChange = { ...change('meta', 'update'), steps: [] };
    await executePlan(planOf([update, files]), {
      ctx,
      parallelism: 1,
      lookup: async () => writer,
      specs: specs(['db', 'meta']),
      backupDir: null,
      onEvent: () => undefined,
    });
    expect(calls).toEqual(['update:db:set-password,reload', 'start:db', 'update:meta:']);
  });
});
