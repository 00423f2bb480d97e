import { readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveManifest } from '../../src/manifest/resolve.js';
import { REPO } from './helpers.js';

const text = readFileSync(path.join(REPO, 'environments/development.yaml'), 'utf8');
const base = { file: 'environments/development.yaml', environment: 'development', root: '/p' };

describe('resolveManifest', () => {
  it('applies defaults, coerces interpolated ports and derives the bound connection', () => {
    const { resolved, diagnostics } = resolveManifest({
      ...base,
      text,
      variables: { DEV_POSTGRES_PORT: '55999', DB_VM_PASSWORD: 'pw-from-env' },
    });
    expect(diagnostics).toEqual([]);
    const pg = resolved!.sandboxes['dev-postgres']!;
    expect(pg).toMatchObject({ driver: 'lightweight', port: 55999, depends_on: [], protect: false, password: 'pw-from-env' });
    expect(resolved!.sandboxes['dev-redis']!.settings).toEqual({});
    expect(resolved!.connections.database).toMatchObject({
      host: '127.0.0.1',
      port: 55999,
      database: 'iact_dev',
      user: 'iact_user',
      use_vm: true,
      sandbox: 'dev-postgres',
    });
    expect(resolved!.locations['sandboxes.dev-postgres.port']).toEqual({ file: base.file, line: 11, col: 11 });
    expect(resolved!.locations['connections.database.port']).toEqual({ file: base.file, line: 11, col: 11 });
  });

  it('a quoted number or boolean: the fix is to remove the quotes; a tab: indent with spaces', () => {
    const quoted = 'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  t: { service: none, port: "41000", protect: "true" }\n';
    const fixes = resolveManifest({ ...base, text: quoted, variables: {} }).diagnostics.map((d) => d.fix);
    expect(fixes).toEqual(expect.arrayContaining(['remove the quotes: port: 41000', 'remove the quotes: protect: true']));
    const tabbed = 'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n\tt:\n    service: none\n';
    expect(resolveManifest({ ...base, text: tabbed, variables: {} }).diagnostics[0]).toMatchObject({
      location: { line: 4 },
      fix: expect.stringContaining('indent with spaces'),
    });
  });

  it('tracks sensitive paths and values, and hashes variables without revealing them', () => {
    const { resolved } = resolveManifest({ ...base, text, variables: { DB_VM_PASSWORD: 'pw-from-env' } });
    expect(resolved!.sensitivePaths).toEqual(
      expect.arrayContaining(['sandboxes.dev-postgres.password', 'connections.database.password', 'sandboxes.dev-redis.password']),
    );
    expect(resolved!.secretValues).toContain('pw-from-env');
    expect(resolved!.variables.DB_VM_PASSWORD).toMatch(/^sha256:[0-9a-f]{16}$/);
    expect(JSON.stringify(resolved!.variables)).not.toContain('pw-from-env');
    expect(resolved!.variables.DEV_POSTGRES_PORT).toBe('unset');
    const other = resolveManifest({ ...base, text, variables: { DB_VM_PASSWORD: 'another' } }).resolved!;
    expect(other.variables.DB_VM_PASSWORD).not.toBe(resolved!.variables.DB_VM_PASSWORD);
  });

  it('marks values from `sensitive:` variables and from secret-named variables anywhere', () => {
    const manifest = `apiVersion: iact/v1
environment: development
sensitive: [CONN_PART]
connections:
  api:
    baseUrl: https://\${CONN_PART}.example.com/\${SERVICE_TOKEN}
`;
    const { resolved } = resolveManifest({ ...base, text: manifest, variables: { CONN_PART: 'tenant42', SERVICE_TOKEN: 'tok123' } });
    expect(resolved!.sensitivePaths).toContain('connections.api.base_url');
    expect(resolved!.secretValues).toEqual(expect.arrayContaining(['tenant42', 'tok123', 'https://tenant42.example.com/tok123']));
  });

  it('keeps unset variables as placeholders with allowMissingVariables', () => {
    const prod = readFileSync(path.join(REPO, 'environments/production.yaml'), 'utf8');
    const { resolved, diagnostics } = resolveManifest({
      file: 'environments/production.yaml',
      environment: 'production',
      root: '/p',
      text: prod,
      variables: {},
      allowMissingVariables: true,
    });
    expect(diagnostics).toEqual([]);
    expect(resolved!.connections.database).toMatchObject({
      host: '${DB_PROD_HOST}',
      password: '${DB_PROD_PASSWORD}',
      port: 5432,
      ssl_mode: 'require',
    });
    expect(resolved!.variables.DB_PROD_PASSWORD).toBe('unset');
  });

  it('never interpolates keys or YAML structure', () => {
    const manifest = 'apiVersion: iact/v1\nenvironment: development\nfeatures:\n  debug_mode: ${FLAG}\n';
    const { resolved } = resolveManifest({ ...base, text: manifest, variables: { FLAG: 'true\nevil: true' } });
    expect(resolved).toBeUndefined();
    const ok = resolveManifest({ ...base, text: manifest, variables: { FLAG: 'true' } });
    expect(ok.resolved!.features).toEqual({ debug_mode: true });
  });
});
