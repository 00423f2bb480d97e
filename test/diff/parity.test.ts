// `iact diff --env A --env B [--env C]`: the parity table on the bundled manifests (golden), and the
// risky-divergence rules on small manifests written for each rule.
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import diff from '../../src/commands/diff.js';
import { buildParity } from '../../src/diff/parity.js';
import type { ParityReport } from '../../src/diff/types.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import { golden, recordingIO, REPO_ROOT } from './helpers.js';

const GITHUB_LIMIT = 65_536;
const dirs: string[] = [];
afterAll(() => {
  for (const d of dirs) rmSync(d, { recursive: true, force: true });
});

/** The bundled environments/ in a temp project, so a developer's own .env cannot change the golden. */
function bundledProject(): string {
  const dir = mkdtempSync(path.join(tmpdir(), 'iact-parity-'));
  dirs.push(dir);
  cpSync(path.join(REPO_ROOT, 'environments'), path.join(dir, 'environments'), { recursive: true });
  return dir;
}

async function parity(cwd: string, envs: string[], format: string, env: NodeJS.ProcessEnv = {}, extra: Record<string, unknown> = {}) {
  const rec = recordingIO(cwd, env);
  const code = await diff({ env: envs, format, ...extra }, rec.io);
  return { code, out: rec.out(), err: rec.err() };
}

describe('parity table on the bundled manifests', () => {
  const envs = ['development', 'staging', 'production'];

  it('text (golden)', async () => {
    const { code, out, err } = await parity(bundledProject(), envs, 'text');
    expect([code, err]).toEqual([0, '']);
    golden('parity/bundled.txt', out);
  });

  it('markdown (golden), one comment under the limit', async () => {
    const { out } = await parity(bundledProject(), envs, 'markdown');
    golden('parity/bundled.md', out);
    expect(out.length).toBeLessThan(GITHUB_LIMIT);
    expect(out.split('\n')[0]).toMatch(
      /^\*\*iact diff · `development` ↔ `staging` ↔ `production`:\*\* Parity: \d+ of \d+ keys differ, \d+ risky divergences?\.$/,
    );
  });

  it('json (golden): stable shape with format_version, rows flag differs and risky', async () => {
    const { out } = await parity(bundledProject(), envs, 'json');
    golden('parity/bundled.json', out);
    const r = JSON.parse(out) as ParityReport;
    expect(r.format_version).toBe(1);
    expect(r.kind).toBe('environments');
    expect(r.environments).toEqual(envs);
    const row = (key: string) => r.rows.find((x) => x.key === key)!;
    // dev-postgres and staging-postgres share a row: both serve connections.database.
    expect(row('sandbox[database]').values).toEqual({ development: 'dev-postgres', staging: 'staging-postgres', production: null });
    // dev-redis is development's cache sandbox, as staging-redis is staging's.
    expect(row('sandbox[cache]').values).toEqual({ development: 'dev-redis', staging: 'staging-redis', production: null });
    expect(row('DB_SSL_MODE')).toMatchObject({ differs: true, risky: true });
    // development caches in dev-redis like the others (the cache-backend rule has its own test below).
    expect(row('CACHE_BACKEND')).toMatchObject({ differs: false, risky: false });
    expect(row('features.enable_llm')).toMatchObject({ differs: false, risky: false });
    expect(row('DB_PASSWORD').values).toEqual({ development: '(sensitive)', staging: '(sensitive)', production: '${DB_PROD_PASSWORD}' });
    // Production's unset host is shown by name; nothing failed for lack of secrets.
    expect(row('DB_HOST').values.production).toBe('${DB_PROD_HOST}');
  });

  it('--detailed-exitcode: 2 when environments differ, 0 when their manifests agree', async () => {
    const dir = bundledProject();
    cpSync(path.join(dir, 'environments/staging.yaml'), path.join(dir, 'environments/staging2.yaml'));
    const text = readFileSync(path.join(dir, 'environments/staging2.yaml'), 'utf8').replace(
      'environment: staging',
      'environment: staging2',
    );
    writeFileSync(path.join(dir, 'environments/staging2.yaml'), text);
    expect((await parity(dir, ['development', 'staging'], 'text', {}, { detailedExitcode: true })).code).toBe(2);
    const same = await parity(dir, ['staging', 'staging2'], 'text', {}, { detailedExitcode: true });
    expect(same.err).toBe('');
    // Sandbox names are the same too (copied file), so nothing differs.
    expect(same.out.trimEnd().split('\n').pop()).toMatch(/^No differences: staging, staging2 agree on all \d+ keys\.$/);
    expect(same.code).toBe(0);
  });

  it('secrets set in the environment never show', async () => {
    const secrets = {
      DB_PROD_PASSWORD: 'prod-secret-91ab',
      DB_STAGING_PASSWORD: 'staging-secret-22cd',
      LLM_API_KEY: 'sk-llm-secret-77ef',
      REDIS_PROD_PASSWORD: 'redis-prod-secret-5',
    };
    for (const format of ['text', 'json', 'markdown']) {
      const { out } = await parity(bundledProject(), envs, format, secrets);
      for (const s of Object.values(secrets)) expect(out).not.toContain(s);
      expect(out).toContain('(sensitive)');
    }
  });
});

interface Parts {
  sandboxes?: string;
  connections?: string;
  features?: string;
}

/** A manifest that passes validation: production always needs a database and the API URL. */
function manifest(environment: string, parts: Parts) {
  let connections = parts.connections ?? '';
  if (environment === 'production') {
    if (!connections.includes('  database:'))
      connections += '  database: { host: db.example.com, name: app, user: app, password: "${DB_PROD_PASSWORD}" }\n';
    connections += '  api: { baseUrl: https://api.example.com, timeout: 10, verifySsl: true, useMock: false }\n';
  }
  const text = [
    `apiVersion: iact/v1\nenvironment: ${environment}\n`,
    parts.sandboxes ? `sandboxes:\n${parts.sandboxes}` : '',
    connections ? `connections:\n${connections}` : '',
    parts.features ? `features: ${parts.features}\n` : '',
  ].join('');
  const result = resolveManifest({
    text,
    file: `environments/${environment}.yaml`,
    environment,
    root: '/p',
    variables: {},
    allowMissingVariables: true,
  });
  if (!result.resolved) throw new Error(JSON.stringify(result.diagnostics));
  return result.resolved;
}

const pg = (name: string, version: string | undefined, service = 'postgres'): Parts => ({
  sandboxes: `  ${name}:\n    service: ${service}\n    port: 55440\n${version ? `    version: "${version}"\n` : ''}    database: app\n    user: app\n    password: pw-${name}\n`,
  connections: `  database: { sandbox: ${name} }\n`,
});

describe('risky divergence rules', () => {
  it('postgres 15 in staging but 16 in production', () => {
    const r = buildParity({
      source: 't',
      environments: [manifest('staging', pg('staging-postgres', '15')), manifest('production', pg('prod-postgres', '16'))],
    });
    const row = r.rows.find((x) => x.key === 'sandbox[database].version')!;
    expect(row).toMatchObject({ values: { staging: '15', production: '16' }, differs: true, risky: true });
    expect(row.why).toBe(
      'Version 15 in staging, 16 in production: behaviour, extensions and dump formats differ between versions, so tests in one do not vouch for the other.',
    );
    // Names differ by design: marked as differing, not risky.
    expect(r.rows.find((x) => x.key === 'sandbox[database]')).toMatchObject({ differs: true, risky: false });
    // Passwords are never compared or shown.
    expect(r.rows.find((x) => x.key === 'sandbox[database].password')).toMatchObject({
      values: { staging: '(sensitive)', production: '(sensitive)' },
      differs: false,
    });
    expect(JSON.stringify(r)).not.toContain('pw-');
  });

  it('version pinned in one environment only', () => {
    const r = buildParity({
      source: 't',
      environments: [manifest('staging', pg('staging-postgres', '15')), manifest('production', pg('prod-postgres', undefined))],
    });
    const row = r.rows.find((x) => x.key === 'sandbox[database].version')!;
    expect(row.risky).toBe(true);
    expect(row.why).toMatch(/^Version pinned in some environments only \(15 in staging, unset in production\)/);
  });

  it('a different service kind behind the same connection', () => {
    const r = buildParity({
      source: 't',
      environments: [manifest('staging', pg('staging-postgres', '15')), manifest('production', pg('prod-db', '15', 'mysql'))],
    });
    const row = r.rows.find((x) => x.key === 'sandbox[database].service')!;
    expect(row).toMatchObject({ values: { staging: 'postgres', production: 'mysql' }, risky: true });
    expect(row.why).toMatch(/^Different engines \(postgres in staging, mysql in production\)/);
  });

  it('a feature flag on in production but off in staging; off in production is only a difference', () => {
    const r = buildParity({
      source: 't',
      environments: [
        manifest('staging', { features: '{ new_checkout: false, debug_mode: true }' }),
        manifest('production', { features: '{ new_checkout: true, debug_mode: false }' }),
      ],
    });
    expect(r.rows.find((x) => x.key === 'features.new_checkout')).toMatchObject({
      risky: true,
      why: 'On in production but off in staging: production runs code that staging never exercised.',
    });
    expect(r.rows.find((x) => x.key === 'features.debug_mode')).toMatchObject({ differs: true, risky: false });
  });

  it('ssl_mode and cache backend', () => {
    const r = buildParity({
      source: 't',
      environments: [
        manifest('staging', {
          connections: '  database: { host: db.staging, name: app, user: app, sslMode: disable }\n  cache: { backend: memory, ttl: 60 }\n',
        }),
        manifest('production', {
          connections:
            '  database: { host: db.prod, name: app, user: app, password: x, sslMode: require }\n  cache: { backend: redis, host: cache.prod, ttl: 60 }\n',
        }),
      ],
    });
    expect(r.rows.find((x) => x.key === 'DB_SSL_MODE')).toMatchObject({ risky: true });
    expect(r.rows.find((x) => x.key === 'CACHE_BACKEND')).toMatchObject({ risky: true });
    expect(r.rows.find((x) => x.key === 'DB_HOST')).toMatchObject({ differs: true, risky: false });
    expect(r.summary).toMatchObject({ risky: 2, has_differences: true });
  });

  it('the production-like environment is "production", else the last one given', () => {
    const envs = [manifest('production', { features: '{ f: true }' }), manifest('qa', { features: '{ f: false }' })];
    expect(buildParity({ source: 't', environments: envs }).rows.find((x) => x.key === 'features.f')).toMatchObject({ risky: true });
    const noProd = [manifest('qa', { features: '{ f: true }' }), manifest('preview', { features: '{ f: false }' })];
    // Last given (preview) is the target; f is off there, so it is not "on in production".
    expect(buildParity({ source: 't', environments: noProd }).rows.find((x) => x.key === 'features.f')).toMatchObject({
      risky: false,
      differs: true,
    });
  });

  it('sandboxes of one kind that serve no connection match by name without the environment prefix', () => {
    const two = (env: string): Parts => ({
      sandboxes: `  ${env}-queue:\n    service: redis\n    port: 56001\n    password: q\n  ${env}-sessions:\n    service: redis\n    driver: namespace\n    port: 56002\n    password: s\n    memory: ${env === 'staging' ? '64M' : '128M'}\n`,
    });
    const r = buildParity({ source: 't', environments: [manifest('staging', two('staging')), manifest('qa', two('qa'))] });
    expect(r.rows.find((x) => x.key === 'sandbox[redis:queue]')!.values).toEqual({ staging: 'staging-queue', qa: 'qa-queue' });
    expect(r.rows.find((x) => x.key === 'sandbox[redis:sessions].memory')!.values).toEqual({ staging: '64M', qa: '128M' });
  });
});

describe('--to reads the environments from a revision', () => {
  it('outside a git repository --to is a diagnostic', async () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'iact-parity-norepo-'));
    dirs.push(dir);
    mkdirSync(path.join(dir, 'environments'));
    await expect(parity(dir, ['a', 'b'], 'text', {}, { to: 'HEAD' })).rejects.toThrow(/is not inside a git repository/);
  });
});
