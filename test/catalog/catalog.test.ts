// The service catalogue and its generated bash form (docs/service-catalogue.md).
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import {
  CATALOG,
  SERVICES,
  connectionEnv,
  defaultImage,
  installHint,
  isAllowedSetting,
  isReloadable,
  isReserved,
} from '../../src/catalog/index.js';
import { renderCatalogSh } from '../../src/catalog/bash.js';

const REPO = path.resolve(import.meta.dirname, '../..');
const CATALOG_SH = path.join(REPO, 'bash/lib/catalog.sh');

/** Source bash/lib/catalog.sh in a real bash and print one map as `service=value` lines. */
function bashMap(name: string): Record<string, string> {
  const script = `set -euo pipefail; source "$1"; source "$1"; for s in \${IACT_SERVICES}; do printf '%s=%s\\n' "$s" "\${${name}[$s]}"; done`;
  const out = execFileSync('bash', ['-c', script, 'bash', CATALOG_SH], { encoding: 'utf8' });
  return Object.fromEntries(
    out
      .trimEnd()
      .split('\n')
      .map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1)]),
  );
}

describe('service catalogue', () => {
  it('bash/lib/catalog.sh is what scripts/gen-catalog.mjs makes from src/catalog/ (run npm run build)', () => {
    expect(() => execFileSync(process.execPath, [path.join(REPO, 'scripts/gen-catalog.mjs'), '--check'], { stdio: 'pipe' })).not.toThrow();
  });

  it('bash reads the agreed maps with the catalogue values, sourced twice (guarded)', () => {
    expect(bashMap('IACT_CAT_OS_USER')).toEqual({ postgres: 'postgres', mysql: 'mysql', redis: 'redis', none: 'root', tunnel: 'root' });
    expect(bashMap('IACT_CAT_SOCKET')).toEqual({
      postgres: 'run/.s.PGSQL.%PORT%',
      mysql: 'run/mysqld.sock',
      redis: 'run/redis.sock',
      none: '',
      tunnel: '',
    });
    expect(bashMap('IACT_CAT_DEFAULT_IMAGE')).toEqual({
      postgres: 'iact/postgres:15',
      mysql: 'iact/mariadb:10.11',
      redis: 'iact/redis:7',
      none: '',
      tunnel: '',
    });
    const reloadable = bashMap('IACT_CAT_RELOADABLE');
    for (const s of SERVICES) expect(reloadable[s]!.split(' ').filter(Boolean)).toEqual(CATALOG[s].reloadable);
    expect(bashMap('IACT_CAT_ADMIN_USERS').mysql).toBe('root mysql mariadb.sys');
    expect(bashMap('IACT_CAT_HAS_DATABASE')).toEqual({ postgres: '1', mysql: '1', redis: '0', none: '0', tunnel: '0' });
    expect(bashMap('IACT_CAT_INSTALL_HINT').postgres).toBe(installHint(CATALOG.postgres));
  });

  it('defines data only: no function, no command beyond the guard', () => {
    const text = renderCatalogSh();
    expect(text).not.toMatch(/\(\)\s*\{|^function /m);
    const statements = text.split('\n').filter((l) => l.trim() !== '' && !l.startsWith('#'));
    for (const line of statements)
      expect(line).toMatch(
        /^(\[\[ -n "\$\{IACT_CATALOG_SH:-\}" \]\] && return 0|IACT_CATALOG_SH=1|IACT_SERVICES=.*|declare -gA IACT_CAT_[A-Z_]+=\(.*\))$/,
      );
  });

  it('answers reloadable and reserved with - and _ folded, for known services only', () => {
    expect(isReloadable('redis', 'maxmemory-policy')).toBe(true);
    expect(isReloadable('postgres', 'shared_buffers')).toBe(false);
    expect(isReserved('mysql', 'bind-address')).toBe(true);
    expect(isReserved('redis', 'protected-mode')).toBe(true);
    expect(isReloadable('oracle', 'x')).toBe(false);
  });

  it('allows every reloadable setting and every setting of ephemeral sandboxes, and none of the keys iact owns', () => {
    for (const s of SERVICES) {
      for (const key of CATALOG[s].reloadable) expect(isAllowedSetting(s, key), `${s} ${key}`).toBe(true);
      for (const key of Object.keys(CATALOG[s].ephemeralSettings ?? {})) expect(isAllowedSetting(s, key), `${s} ${key}`).toBe(true);
      for (const key of CATALOG[s].reserved) expect(isAllowedSetting(s, key), `${s} ${key}`).toBe(false);
    }
    expect(isAllowedSetting('mysql', 'max-connections')).toBe(true);
    expect(isAllowedSetting('mysql', 'loose-max-connections')).toBe(false);
    expect(isAllowedSetting('none', 'anything.at_all')).toBe(true);
    expect(isAllowedSetting('oracle', 'x')).toBe(false);
  });

  it('builds the connection variables iact run exports, URL-encoded', () => {
    const env = connectionEnv(CATALOG.postgres, {
      host: '127.0.0.1',
      port: '5433',
      database: 'd b',
      user: 'u',
      password: 'p@ss',
      sandbox: 'run-1',
    });
    expect(env).toMatchObject({
      DB_HOST: '127.0.0.1',
      PGPORT: '5433',
      DATABASE_URL: 'postgresql://u:p%40ss@127.0.0.1:5433/d%20b',
      IACT_SANDBOX: 'run-1',
    });
    expect(connectionEnv(CATALOG.redis, { host: 'h', port: '1', database: '', user: '', password: 'x', sandbox: 's' }).REDIS_URL).toBe(
      'redis://default:x@h:1/0',
    );
    expect(defaultImage(CATALOG.postgres, '15.4')).toBe('iact/postgres:15');
    expect(defaultImage(CATALOG.postgres, '16')).toBe('iact/postgres:16');
  });
});
