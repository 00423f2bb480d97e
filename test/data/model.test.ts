// The pure half of docs/data.md: defaults of a minimal manifest, the checks, the kept values, and
// what the planner makes of init files, extensions and admin (steps from the one impact table).
import { describe, expect, it } from 'vitest';
import { connectionVariables, renderEnvFile } from '../../src/config/render.js';
import { observedFromDriverSpec, toDriverSpec } from '../../src/drivers/spec.js';
import type { SandboxStatus } from '../../src/drivers/types.js';
import { settleKept } from '../../src/manifest/kept.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import type { ResolvedEnvironment, SandboxSpec } from '../../src/model/types.js';
import { buildPlan } from '../../src/plan/planner.js';

const base = { file: 'environments/development.yaml', environment: 'development', root: '/p' };
const head = 'apiVersion: iact/v1\nenvironment: development\n';

function resolve(text: string, environment = 'development'): ResolvedEnvironment {
  const { resolved, diagnostics } = resolveManifest({
    ...base,
    file: `environments/${environment}.yaml`,
    environment,
    text,
    variables: {},
  });
  expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
  return resolved!;
}

const problems = (text: string, environment = 'development') =>
  resolveManifest({ ...base, file: `environments/${environment}.yaml`, environment, text, variables: {} }).diagnostics.map((d) => d.code);

/** What a driver reports for a sandbox applied with this spec, running and healthy. */
function observed(environment: string, sb: SandboxSpec): SandboxStatus {
  const spec = observedFromDriverSpec(toDriverSpec(environment, sb));
  return {
    name: sb.name,
    environment,
    driver: sb.driver,
    service: sb.service,
    port: sb.port,
    running: true,
    healthy: true,
    pid: 1,
    spec_hash: spec.spec_hash,
    spec,
    data_bytes: 0,
  };
}

const plan = (desired: ResolvedEnvironment, observedStatuses: SandboxStatus[]) =>
  buildPlan({
    desired,
    observed: observedStatuses,
    notices: [],
    envFile: { path: '.iact/env/development.env', current: null },
    options: { targets: [], refreshOnly: false, backup: true },
  });

describe('minimal manifests', () => {
  it('takes `service:` alone: database and user from the name, the port and the password chosen at apply', () => {
    const resolved = resolve(
      `${head}sandboxes:\n  my-db: { service: mysql }\n  cache: { service: redis }\nconnections:\n  database: { sandbox: my-db }\n`,
    );
    expect(resolved.sandboxes['my-db']).toMatchObject({ port: 0, database: 'my_db', user: 'my_db' });
    expect(resolved.sandboxes['my-db']!.password).toBeUndefined();
    expect(resolved.sandboxes.cache!.database).toBeUndefined();
    const vars = Object.fromEntries(connectionVariables(resolved).map((v) => [v.key, v.value]));
    expect(vars).toMatchObject({
      DB_PORT: '(known after apply)',
      DB_PASSWORD: '(known after apply)',
      MYSQL_DATABASE: 'my_db',
      MYSQL_PORT: '(known after apply)',
    });

    const created = plan(resolved, []);
    expect(created.changes.map((c) => [c.name, c.action, c.after?.port, c.after?.password])).toEqual([
      ['cache', 'create', '(known after apply)', '(sensitive)'],
      ['my-db', 'create', '(known after apply)', '(sensitive)'],
    ]);
  });

  it('puts the kept port and password into the sandbox, its connections and the secret lists', () => {
    const resolved = resolve(
      `${head}sandboxes:\n  db: { service: postgres }\n  cache: { service: redis }\nconnections:\n  database: { sandbox: db }\n  cache: { backend: redis, sandbox: cache }\n`,
    );
    settleKept(resolved, { db: { port: 41001, password: 'kept-Secret-1' }, cache: { port: 41002, password: 'kept-Secret-2' } });
    expect(resolved.sandboxes.db).toMatchObject({ port: 41001, password: 'kept-Secret-1' });
    expect(resolved.connections.database).toMatchObject({ port: 41001, password: 'kept-Secret-1' });
    expect(resolved.connections.cache).toMatchObject({ port: 41002, password: 'kept-Secret-2' });
    expect(resolved.secretValues).toEqual(expect.arrayContaining(['kept-Secret-1', 'kept-Secret-2']));
    expect(resolved.sensitivePaths).toEqual(
      expect.arrayContaining(['sandboxes.db.password', 'connections.database.password', 'connections.cache.password']),
    );
    expect(renderEnvFile(resolved, { mask: true })).not.toContain('kept-Secret');
    // What the machine then reports is exactly this: no changes.
    const again = plan(
      resolved,
      Object.values(resolved.sandboxes).map((sb) => observed('development', sb)),
    );
    expect(again.changes.map((c) => c.action)).toEqual(['no-op', 'no-op']);
  });

  it('keeps a manifest value over a kept one', () => {
    const resolved = resolve(`${head}sandboxes:\n  db: { service: postgres, port: 41003, password: from-manifest }\n`);
    settleKept(resolved, { db: { port: 41001, password: 'kept' } });
    expect(resolved.sandboxes.db).toMatchObject({ port: 41003, password: 'from-manifest' });
  });

  it('refuses what the services and drivers cannot do', () => {
    expect(problems(`${head}sandboxes:\n  db: { service: postgres, password: null }\n`)).toContain('semantic.no-auth');
    expect(problems(`${head}sandboxes:\n  c: { service: redis, extensions: [pgcrypto] }\n`)).toContain('semantic.field-service');
    expect(problems(`${head}sandboxes:\n  c: { service: redis, admin: true }\n`)).toContain('semantic.field-service');
    expect(problems(`${head}sandboxes:\n  d: { service: postgres, driver: docker, init: [db.sql] }\n`)).toContain(
      'semantic.docker-unsupported',
    );
    expect(
      problems('apiVersion: iact/v1\nenvironment: production\nsandboxes:\n  c: { service: redis, password: null }\n', 'production'),
    ).toContain('semantic.no-auth');
    expect(problems(`${head}sandboxes:\n  db: { service: postgres, init: ["has space.sql"] }\n`)).toContain('schema.pattern');
    expect(resolve(`${head}sandboxes:\n  c: { service: redis, password: null }\n`).sandboxes.c).toMatchObject({ auth: false });
  });
});

describe('init, extensions and admin in the plan', () => {
  const text = `${head}sandboxes:\n  db: { service: postgres, port: 41010, password: pw-1, init: [db/], extensions: [pgcrypto] }\n`;
  const withFiles = (hash: string, extra: Partial<SandboxSpec> = {}): ResolvedEnvironment => {
    const resolved = resolve(text);
    Object.assign(resolved.sandboxes.db!, { initFiles: [{ path: 'db/schema.sql', hash }], ...extra });
    return resolved;
  };

  it('shows the init files with their hashes on create, and a changed file as an update with the step init', () => {
    const first = withFiles('sha256:0000000000000001');
    const create = plan(first, []).changes[0]!;
    expect(create.steps).toEqual(['create']);
    expect(create.after?.init).toEqual(['db/schema.sql sha256:0000000000000001']);
    expect(create.after?.extensions).toEqual(['pgcrypto']);

    const machine = [observed('development', first.sandboxes.db!)];
    expect(plan(first, machine).changes[0]!.action).toBe('no-op');
    const changed = plan(withFiles('sha256:0000000000000002'), machine).changes[0]!;
    expect(changed).toMatchObject({ action: 'update', impact: 'none', steps: ['init'] });
    expect(changed.fields).toEqual([
      expect.objectContaining({
        field: 'init',
        before: ['db/schema.sql sha256:0000000000000001'],
        after: ['db/schema.sql sha256:0000000000000002'],
      }),
    ]);
  });

  it('adds extensions with the step extensions and turns admin on or off with the step grant, in the driver order', () => {
    const first = withFiles('sha256:0000000000000001');
    const machine = [observed('development', first.sandboxes.db!)];
    const next = withFiles('sha256:0000000000000003', { extensions: ['pgcrypto', 'uuid-ossp'], admin: true, password: 'pw-2' });
    const change = plan(next, machine).changes[0]!;
    expect(change.action).toBe('update');
    expect(change.steps).toEqual(['set-password', 'grant', 'extensions', 'init']);
    expect(change.fields.map((f) => f.field)).toEqual(['password', 'admin', 'extensions', 'init']);
  });
});
