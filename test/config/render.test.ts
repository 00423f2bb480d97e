import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { parse } from 'dotenv';
import { afterAll, describe, expect, it } from 'vitest';
import { connectionVariables, renderEnvFile } from '../../src/config/render.js';
import { envFileQuote } from '../../src/util/env-quote.js';
import { resolveManifest } from '../../src/manifest/resolve.js';
import { needs } from '../helpers/services.js';
import { cleanupTemp, tempProject } from '../manifest/helpers.js';

const manifest = `apiVersion: iact/v1
environment: development
sandboxes:
  dev-postgres:
    service: postgres
    port: 55432
    database: app
    user: app
    password: \${DB_VM_PASSWORD}
connections:
  database:
    sandbox: dev-postgres
  api:
    baseUrl: http://localhost:8000/a b
features:
  new_ui: true
`;

function resolve(password: string) {
  const r = resolveManifest({
    text: manifest.replace('/a b', '/x'),
    file: 'environments/development.yaml',
    environment: 'development',
    root: '/p',
    variables: { DB_VM_PASSWORD: password },
  });
  if (!r.resolved) throw new Error(JSON.stringify(r.diagnostics));
  return r.resolved;
}

afterAll(cleanupTemp);

/** python-dotenv's reading of KEY (the test asks for python-dotenv first: test/helpers/services.ts). */
function pythonDotenv(file: string, key: string): string {
  return execFileSync(
    'python3',
    ['-c', 'import sys, dotenv; sys.stdout.write(dotenv.dotenv_values(sys.argv[1])[sys.argv[2]])', file, key],
    { encoding: 'utf8' },
  );
}

describe('renderEnvFile', () => {
  const tricky = ['it\'s a "pass" word & more', 'plain-pw', "with 'single' quotes only", 'dollar $HOME `id` \\n'];

  for (const password of tricky) {
    it(`bash source, node dotenv and python-dotenv read back ${JSON.stringify(password)} exactly`, (t) => {
      needs(t, 'python-dotenv');
      const quoted = envFileQuote(password);
      if (quoted === undefined) {
        expect(password.includes("'") && /[$`\\"]/.test(password)).toBe(true);
        return;
      }
      const resolved = resolve(password);
      const text = renderEnvFile(resolved, { mask: false });
      const dir = tempProject();
      const file = path.join(dir, 'development.env');
      writeFileSync(file, text);
      const fromBash = execFileSync('bash', ['-c', 'set -euo pipefail; source "$1"; printf "%s" "$DB_PASSWORD"', 'bash', file], {
        encoding: 'utf8',
      });
      expect(fromBash).toBe(password);
      expect(parse(text).DB_PASSWORD).toBe(password);
      expect(pythonDotenv(file, 'DB_PASSWORD')).toBe(password);
    });
  }

  it('is deterministic, has a header without timestamps, and masks with a salted hash', () => {
    const a = renderEnvFile(resolve('secret-one'), { mask: false });
    expect(renderEnvFile(resolve('secret-one'), { mask: false })).toBe(a);
    expect(a.split('\n')[0]).toBe(
      '# iact connection settings for development, rendered from environments/development.yaml. Do not edit: `iact apply` rewrites this file.',
    );
    expect(a).toContain("DB_PASSWORD='secret-one'\n");
    expect(a).toContain("FEATURE_NEW_UI='true'\n");
    const masked1 = renderEnvFile(resolve('secret-one'), { mask: true });
    const masked2 = renderEnvFile(resolve('secret-two'), { mask: true });
    expect(masked1).not.toContain('secret-one');
    expect(masked1).toMatch(/^DB_PASSWORD='\(sensitive sha256:[0-9a-f]{12}\)'$/m);
    expect(masked1).not.toBe(masked2);
  });

  it('uses the variable names of docs/connection-variables.md and flags sensitive ones', () => {
    const vars = connectionVariables(resolve('pw-1234'));
    expect(vars.map((v) => v.key)).toEqual([
      'ENVIRONMENT',
      'DB_HOST',
      'DB_PORT',
      'DB_NAME',
      'DB_USER',
      'DB_PASSWORD',
      'DB_SSL_MODE',
      'DB_USE_VM',
      'DB_SANDBOX',
      'SSH_TUNNEL_ENABLED',
      'API_BASE_URL',
      'API_TIMEOUT',
      'API_VERIFY_SSL',
      'API_USE_MOCK',
      'FEATURE_NEW_UI',
    ]);
    expect(vars.filter((v) => v.sensitive).map((v) => v.key)).toEqual(['DB_PASSWORD']);
  });

  it('a cache bound to a tls: true redis sandbox gets a rediss:// REDIS_URL (sensitive) and REDIS_SSL_MODE; the loader adds REDIS_SSL_CA', () => {
    const r = resolveManifest({
      text: 'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  cache: { service: redis, port: 56379, password: "${RP}", tls: true }\nconnections:\n  cache: { backend: redis, sandbox: cache }\n',
      file: 'environments/development.yaml',
      environment: 'development',
      root: '/p',
      variables: { RP: 'p w/1' },
    });
    if (!r.resolved) throw new Error(JSON.stringify(r.diagnostics));
    const vars = connectionVariables(r.resolved);
    const get = (key: string) => vars.find((v) => v.key === key);
    expect(get('REDIS_URL')).toMatchObject({ value: 'rediss://default:p%20w%2F1@127.0.0.1:56379/0', sensitive: true });
    expect(get('REDIS_SSL_MODE')?.value).toBe('verify-full');
    // The CA's path is the loader's (src/io/load.ts): it knows where the sandboxes live.
    expect(get('REDIS_SSL_CA')).toBeUndefined();
    const plain = resolveManifest({
      text: 'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  cache: { service: redis, port: 56379, password: x-Secret-9 }\nconnections:\n  cache: { backend: redis, sandbox: cache }\n',
      file: 'environments/development.yaml',
      environment: 'development',
      root: '/p',
      variables: {},
    });
    expect(connectionVariables(plain.resolved!).map((v) => v.key)).not.toContain('REDIS_URL');
  });
});
