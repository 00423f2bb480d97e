// Hand-built plans for the renderer tests: every action, every impact, a secret, drift, a settings diff.
import { PLAN_FORMAT_VERSION } from '../../src/plan/types.js';
import { MASKED, MASKED_CHANGED } from '../../src/secrets/index.js';
import type { Plan, PlanSummary, ResourceChange } from '../../src/plan/types.js';

/** Plaintext secrets that must never appear in a rendering (they are not in the plan either). */
export const SECRETS = ['hunter2-old-password', 'n3w-s3cret-password'];

function change(partial: Partial<ResourceChange> & Pick<ResourceChange, 'name' | 'action'>): ResourceChange {
  return {
    address: `sandbox.${partial.name}`,
    driver: 'lightweight',
    service: 'postgres',
    impact: 'none',
    reasons: [],
    steps: [],
    before: null,
    after: null,
    fields: [],
    drift: [],
    backup: false,
    requiresAllowDestroy: false,
    depends_on: [],
    ...partial,
  };
}

function summarize(changes: ResourceChange[], config: number): PlanSummary {
  const count = (a: ResourceChange['action']) => changes.filter((c) => c.action === a).length;
  return {
    create: count('create'),
    update: count('update'),
    replace: count('replace'),
    delete: count('delete'),
    start: count('start'),
    no_op: count('no-op'),
    config,
  };
}

const appDbAfter = {
  database: 'app',
  depends_on: [],
  driver: 'lightweight',
  password: MASKED,
  port: 5434,
  protect: false,
  service: 'postgres',
  settings: { max_connections: 50, work_mem: '8MB' },
  user: 'app',
};

export function everyActionPlan(): Plan {
  const changes: ResourceChange[] = [
    change({
      name: 'app-db',
      action: 'create',
      reasons: ['not on the machine'],
      after: appDbAfter,
    }),
    change({
      name: 'cache',
      service: 'redis',
      action: 'update',
      impact: 'restart',
      reasons: ['port changed', 'settings.maxmemory changed'],
      before: { driver: 'lightweight', port: 6380, service: 'redis', settings: { maxmemory: '64mb' } },
      after: { depends_on: [], driver: 'lightweight', port: 6381, protect: false, service: 'redis', settings: { maxmemory: '128mb' } },
      fields: [
        { field: 'port', before: 6380, after: 6381, sensitive: false, impact: 'restart', metadataOnly: false },
        { field: 'settings.maxmemory', before: '64mb', after: '128mb', sensitive: false, impact: 'reload', metadataOnly: false },
        { field: 'protect', before: false, after: true, sensitive: false, impact: 'none', metadataOnly: true },
      ],
    }),
    change({
      name: 'reports-db',
      action: 'update',
      impact: 'reload',
      reasons: ['settings.work_mem changed'],
      before: { port: 5440, settings: { work_mem: '4MB' } },
      after: { port: 5440, settings: { work_mem: '16MB', statement_timeout: 3000 } },
      fields: [
        { field: 'settings.work_mem', before: '4MB', after: '16MB', sensitive: false, impact: 'reload', metadataOnly: false },
        { field: 'settings.statement_timeout', before: undefined, after: 3000, sensitive: false, impact: 'reload', metadataOnly: false },
      ],
    }),
    change({
      name: 'auth-db',
      action: 'update',
      impact: 'none',
      reasons: ['password changed'],
      before: { port: 5441, password: MASKED },
      after: { port: 5441, password: MASKED },
      fields: [{ field: 'password', before: MASKED, after: MASKED_CHANGED, sensitive: true, impact: 'none', metadataOnly: false }],
    }),
    change({
      name: 'legacy-db',
      action: 'replace',
      impact: 'data-loss',
      service: 'mysql',
      backup: true,
      requiresAllowDestroy: true,
      reasons: ['service changed: postgres -> mysql'],
      before: { port: 5442, service: 'postgres', version: '15' },
      after: { port: 5442, service: 'mysql', version: '10.11' },
      fields: [
        { field: 'service', before: 'postgres', after: 'mysql', sensitive: false, impact: 'data-loss', metadataOnly: false },
        { field: 'version', before: '15', after: '10.11', sensitive: false, impact: 'data-loss', metadataOnly: false },
      ],
    }),
    change({
      name: 'worker',
      service: 'none',
      action: 'start',
      impact: 'none',
      reasons: ['service is not running (drift)'],
      steps: ['start'],
      drift: [{ kind: 'stopped' }],
      before: { port: 7000, service: 'none' },
      after: { port: 7000, service: 'none' },
    }),
    change({
      name: 'old-cache',
      service: 'redis',
      action: 'delete',
      impact: 'data-loss',
      backup: true,
      reasons: ['no longer in the manifest'],
      before: { driver: 'lightweight', port: 6390, service: 'redis', password_hash: 'sha256:0123456789abcdef' },
    }),
    change({ name: 'steady', action: 'no-op', before: { port: 5450 }, after: { port: 5450 } }),
  ];
  const config_changes = [
    {
      path: '.iact/env/development.env',
      action: 'update' as const,
      diff: [
        'Index: .iact/env/development.env',
        '===================================================================',
        '--- .iact/env/development.env',
        '+++ .iact/env/development.env',
        '@@ -1,4 +1,4 @@',
        ' ENVIRONMENT=development',
        ' DB_HOST=127.0.0.1',
        '-DB_PORT=5433',
        '+DB_PORT=5434',
        ` DB_PASSWORD=${MASKED}`,
        '',
      ].join('\n'),
    },
  ];
  return {
    format_version: PLAN_FORMAT_VERSION,
    environment: 'development',
    fingerprint: 'sha256:feedfacefeedfacefeedfacefeedface',
    inputs: {
      manifest: 'sha256:aaaa',
      variables: { DB_PASSWORD: 'sha256:bbbb' },
      observed: { cache: 'sha256:cccc' },
      env_file: 'sha256:dddd',
    },
    refresh_only: false,
    targets: [],
    changes,
    config_changes,
    notices: [
      {
        severity: 'warning',
        summary: 'driver docker is not available: no docker engine is running',
        detail: 'sandboxes of the docker driver were not observed',
        fix: 'start dockerd, or run `iact doctor`',
      },
    ],
    summary: summarize(changes, 1),
  };
}

export function emptyPlan(environment = 'staging', refreshOnly = false): Plan {
  const changes = [change({ name: 'db', action: 'no-op', before: { port: 5500 }, after: { port: 5500 } })];
  return {
    format_version: PLAN_FORMAT_VERSION,
    environment,
    fingerprint: 'sha256:0000',
    inputs: { manifest: 'sha256:1', variables: {}, observed: {}, env_file: '' },
    refresh_only: refreshOnly,
    targets: [],
    changes,
    config_changes: [{ path: `.iact/env/${environment}.env`, action: 'no-op', diff: '' }],
    notices: [],
    summary: summarize(changes, 0),
  };
}

/** Many created sandboxes: a markdown plan far over GitHub's comment limit. */
export function hugePlan(count: number, environment = 'production'): Plan {
  const changes: ResourceChange[] = [];
  for (let i = 0; i < count; i += 1) {
    const name = `svc-${String(i).padStart(4, '0')}`;
    changes.push(
      change({
        name,
        service: 'none',
        action: i % 10 === 9 ? 'delete' : 'create',
        impact: i % 10 === 9 ? 'data-loss' : 'none',
        backup: i % 10 === 9,
        reasons: [i % 10 === 9 ? 'no longer in the manifest' : 'not on the machine'],
        before: i % 10 === 9 ? { driver: 'lightweight', port: 20000 + i, service: 'none' } : null,
        after:
          i % 10 === 9 ? null : { depends_on: [], driver: 'lightweight', port: 20000 + i, protect: false, service: 'none', settings: {} },
      }),
    );
  }
  return {
    format_version: PLAN_FORMAT_VERSION,
    environment,
    fingerprint: 'sha256:huge',
    inputs: { manifest: 'sha256:2', variables: {}, observed: {}, env_file: '' },
    refresh_only: false,
    targets: [],
    changes,
    config_changes: [],
    notices: [],
    summary: summarize(changes, 0),
  };
}
