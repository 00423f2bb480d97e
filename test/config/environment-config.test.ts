import { cpSync, mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnvironmentConfig } from '../../src/io/config.js';
import { DiagnosticError } from '../../src/diagnostics.js';
import { cleanupTemp, REPO, tempProject } from '../manifest/helpers.js';

function project(): string {
  const dir = tempProject();
  cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
  return dir;
}

afterAll(cleanupTemp);

describe('loadEnvironmentConfig', () => {
  it('detects development by default and exposes the EnvironmentConfig fields', async () => {
    const dir = project();
    mkdirSync(path.join(dir, 'src/app'), { recursive: true });
    const config = await loadEnvironmentConfig({ cwd: path.join(dir, 'src/app'), env: { DB_VM_PASSWORD: 'dev-pw-123' } });
    expect(config.environment).toBe('development');
    expect([config.isDev, config.isStaging, config.isProd]).toEqual([true, false, false]);
    expect(config.source).toMatch(/^the default/);
    expect(config.database()).toEqual({
      sandbox: 'dev-postgres',
      host: '127.0.0.1',
      port: 55432,
      database: 'iact_dev',
      user: 'iact_user',
      password: 'dev-pw-123',
      ssl_mode: 'disable',
      use_vm: true,
      ssh_tunnel: { enabled: false },
    });
    expect(config.cache()).toMatchObject({ backend: 'redis', sandbox: 'dev-redis', host: '127.0.0.1', port: 56379, ttl: 300 });
    expect(config.llm()).toMatchObject({ provider: 'ollama', model: 'llama3.1:8b', max_tokens: 2000, prefer_local: true });
    expect(config.logging()).toEqual({ level: 'DEBUG', console: true, file: false });
    expect(config.features).toEqual({ enable_llm: true, enable_caching: true, debug_mode: true });
    expect(config.isFeatureEnabled('debug_mode')).toBe(true);
    expect(config.isFeatureEnabled('nope')).toBe(false);
    expect(config.validate()).toEqual({ valid: true, problems: [] });
    expect(config.toEnv()).toMatchObject({
      DB_HOST: '127.0.0.1',
      DB_PORT: '55432',
      DB_PASSWORD: 'dev-pw-123',
      CACHE_BACKEND: 'redis',
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '56379',
    });
    // Callers get copies: mutating one does not change the next.
    config.database()!.port = 1;
    expect(config.database()!.port).toBe(55432);
  });

  it('follows ENVIRONMENT in .env and .env.<environment> values, process env winning', async () => {
    const dir = project();
    writeFileSync(path.join(dir, '.env'), 'ENVIRONMENT=staging\nDB_STAGING_PASSWORD=from-dotenv\nSTAGING_POSTGRES_PORT=55500\n');
    writeFileSync(path.join(dir, '.env.staging'), 'DB_STAGING_PASSWORD=from-dotenv-staging\n');
    const config = await loadEnvironmentConfig({ cwd: dir, env: { STAGING_POSTGRES_PORT: '55600' } });
    expect(config.environment).toBe('staging');
    expect(config.source).toBe('ENVIRONMENT in .env');
    expect(config.isStaging).toBe(true);
    expect(config.database()).toMatchObject({ port: 55600, password: 'from-dotenv-staging' });
    expect(config.cache()).toMatchObject({ backend: 'redis', host: '127.0.0.1', port: 56380, ttl: 1800 });
  });

  it('production: validate() checks the required settings', async () => {
    const dir = project();
    const env = {
      DB_PROD_HOST: 'db.example.com',
      DB_PROD_USER: 'app',
      DB_PROD_PASSWORD: 'pw',
      REDIS_PROD_HOST: 'r.example.com',
      REDIS_PROD_PASSWORD: 'rpw',
      LLM_API_KEY: 'k',
      API_BASE_URL: 'https://api.example.com',
    };
    const config = await loadEnvironmentConfig({ cwd: dir, env, environment: 'production' });
    expect(config.isProd).toBe(true);
    expect(config.database()).toMatchObject({ host: 'db.example.com', ssl_mode: 'require', use_vm: false });
    expect(config.validate().valid).toBe(true);
  });

  it('throws a DiagnosticError naming the file, line and variable', async () => {
    const dir = project();
    const error = await loadEnvironmentConfig({ cwd: dir, env: {}, environment: 'production' }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiagnosticError);
    expect((error as DiagnosticError).diagnostics[0]).toMatchObject({
      summary: 'variable DB_PROD_HOST is not set, used by connections.database.host',
      location: { file: 'environments/production.yaml', line: 8, col: 11 },
    });
    const unknown = await loadEnvironmentConfig({ cwd: dir, env: { APP_ENV: 'qa' } }).catch((e: unknown) => e);
    expect((unknown as DiagnosticError).diagnostics[0]!.summary).toBe(
      'no manifest for environment "qa" (from APP_ENV in the process environment)',
    );
  });
});
