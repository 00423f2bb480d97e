// Golden output of `iact config` in every format; secrets masked unless --show-sensitive.
import { cpSync, readFileSync, writeFileSync, mkdirSync, existsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemp, REPO, runCli, runCommand, tempProject } from '../manifest/helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const GOLDEN = path.join(REPO, 'test/fixtures/config-golden');

const PROD_ENV = {
  DB_PROD_HOST: 'db.internal.example.com',
  DB_PROD_USER: 'app_user',
  DB_PROD_PASSWORD: "pr0d-pa55word-'quoted' & spaced",
  REDIS_PROD_HOST: 'cache.internal.example.com',
  REDIS_PROD_PASSWORD: 'redis-prod-secret-value',
  LLM_API_KEY: 'sk-live-0123456789abcdef',
  API_BASE_URL: 'https://api.example.com',
};
const SECRETS = [PROD_ENV.DB_PROD_PASSWORD, PROD_ENV.REDIS_PROD_PASSWORD, PROD_ENV.LLM_API_KEY, 'pr0d-pa'];

function project(): string {
  const dir = tempProject();
  cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
  return dir;
}

function golden(name: string, actual: string): string {
  const file = path.join(GOLDEN, name);
  if (UPDATE || !existsSync(file)) {
    mkdirSync(GOLDEN, { recursive: true });
    if (UPDATE) writeFileSync(file, actual);
  }
  return readFileSync(file, 'utf8');
}

afterAll(cleanupTemp);

describe('iact config', () => {
  for (const format of ['text', 'json', 'env', 'shell'] as const) {
    it(`production --format ${format} matches the golden and hides every secret`, async () => {
      const dir = project();
      const run = await runCommand('config', { env: 'production', format }, dir, PROD_ENV);
      expect(run.stderr).toBe('');
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(golden(`production.${format}`, run.stdout));
      for (const secret of SECRETS) expect(run.stdout).not.toContain(secret);
    });

    it(`development --format ${format} (detected by default) matches the golden`, async () => {
      const dir = project();
      const run = await runCommand('config', { format }, dir, {});
      expect(run.code).toBe(0);
      expect(run.stdout).toBe(golden(`development.${format}`, run.stdout));
      expect(run.stdout).not.toContain('iact-dev-password');
    });
  }

  it('--format json through the real CLI never shows the password unless --show-sensitive', async () => {
    const dir = project();
    const masked = await runCli(['config', '--env', 'production', '--format', 'json'], dir, PROD_ENV);
    expect(masked.code).toBe(0);
    const parsed = JSON.parse(masked.stdout) as { database: { password: string }; cache: { password: string }; llm: { api_key: string } };
    expect(parsed.database.password).toBe('(sensitive)');
    expect(parsed.cache.password).toBe('(sensitive)');
    expect(parsed.llm.api_key).toBe('(sensitive)');
    for (const secret of SECRETS) expect(masked.stdout + masked.stderr).not.toContain(secret);

    const shown = await runCli(['config', '--env', 'production', '--format', 'json', '--show-sensitive'], dir, PROD_ENV);
    expect(shown.code).toBe(0);
    expect((JSON.parse(shown.stdout) as { database: { password: string } }).database.password).toBe(PROD_ENV.DB_PROD_PASSWORD);
  });

  it('a .env line that is not KEY=VALUE is an error with file:line, as in plan and validate', async () => {
    const dir = project();
    writeFileSync(path.join(dir, '.env.development'), 'garbage line\n');
    const r = await runCli(['config', '--env', 'development'], dir);
    expect(r.code).toBe(1);
    expect(r.stderr).toContain('.env.development:1:1  error: not a KEY=VALUE line');
  });

  it('eval "$(iact config --format shell --show-sensitive)" gives bash the exact values', async () => {
    const dir = project();
    const { execFileSync } = await import('node:child_process');
    const out = execFileSync(
      'bash',
      [
        '-c',
        `set -euo pipefail; eval "$(node ${JSON.stringify(path.join(REPO, 'dist/cli.js'))} config --env production --format shell --show-sensitive)"; printf '%s\\n' "$DB_PASSWORD" "$DB_HOST" "$DB_SSL_MODE" "$FEATURE_DEBUG_MODE"`,
      ],
      { cwd: dir, env: { PATH: process.env.PATH, ...PROD_ENV }, encoding: 'utf8' },
    );
    expect(out).toBe(`${PROD_ENV.DB_PROD_PASSWORD}\n${PROD_ENV.DB_PROD_HOST}\nrequire\nfalse\n`);
  });

  it('prints one setting by variable name or path, masked', async () => {
    const dir = project();
    expect((await runCommand('config', { env: 'production' }, dir, PROD_ENV, ['DB_HOST'])).stdout).toBe(`${PROD_ENV.DB_PROD_HOST}\n`);
    expect((await runCommand('config', { env: 'production' }, dir, PROD_ENV, ['database.port'])).stdout).toBe('5432\n');
    const masked = await runCommand('config', { env: 'production' }, dir, PROD_ENV, ['DB_PASSWORD']);
    expect(masked).toEqual({ code: 1, stdout: '(sensitive)\n', stderr: 'DB_PASSWORD is sensitive; add --show-sensitive to print it\n' });
    const tree = await runCommand('config', { env: 'production' }, dir, PROD_ENV, ['database']);
    expect(tree.code).toBe(1);
    expect(tree.stderr).toBe('database holds sensitive values; add --show-sensitive to print it\n');
    expect((await runCommand('config', { env: 'production', showSensitive: true }, dir, PROD_ENV, ['DB_PASSWORD'])).stdout).toBe(
      `${PROD_ENV.DB_PROD_PASSWORD}\n`,
    );
    const unknown = await runCommand('config', { env: 'production' }, dir, PROD_ENV, ['DB_HOTS']);
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe('error: no setting "DB_HOTS" in production\n  fix: did you mean "DB_HOST"?\n');
  });

  it('says where the environment came from, and lists manifests for an unknown one', async () => {
    const dir = project();
    writeFileSync(path.join(dir, '.env'), 'ENVIRONMENT=staging\n');
    const fromDotenv = await runCommand('config', {}, dir, {});
    expect(fromDotenv.stdout.split('\n')[0]).toBe('environment: staging (from ENVIRONMENT in .env; environments/staging.yaml)');
    const fromProcess = await runCommand('config', { format: 'env' }, dir, { APP_ENV: 'production', ...PROD_ENV });
    expect(fromProcess.stdout.split('\n')[0]).toBe('# iact config: staging, from ENVIRONMENT in .env');
    const unknown = await runCommand('config', {}, dir, { IACT_ENV: 'qa' });
    expect(unknown.code).toBe(1);
    expect(unknown.stderr).toBe(
      'error: no manifest for environment "qa" (from IACT_ENV in the process environment)\n' +
        '  manifests in environments/: development, production, staging\n' +
        '  fix: use --env development | production | staging, or create environments/qa.yaml\n',
    );
  });

  it('refuses an empty --env, a name no manifest can have, and two manifests for one environment', async () => {
    const dir = project();
    const empty = await runCommand('config', { env: '' }, dir, { IACT_ENV: 'staging' });
    expect(empty.code).toBe(1);
    expect(empty.stderr).toContain('error: --env needs an environment name');
    const upper = await runCommand('config', { env: 'Staging' }, dir, {});
    expect(upper.code).toBe(1);
    expect(upper.stderr).toBe(
      'error: invalid environment name "Staging" (from --env)\n' +
        '  an environment name matches ^[a-z][a-z0-9_-]{0,62}$ (its manifest is environments/<name>.yaml)\n' +
        '  manifests in environments/: development, production, staging\n' +
        '  fix: use --env staging\n',
    );
    const escaped = await runCommand('config', {}, dir, { IACT_ENV: '../etc' });
    expect(escaped.stderr).toContain('error: invalid environment name "../etc" (from IACT_ENV in the process environment)');
    expect(escaped.stderr).not.toContain('create environments/../etc');
    cpSync(path.join(dir, 'environments/staging.yaml'), path.join(dir, 'environments/staging.yml'));
    const twice = await runCommand('config', { env: 'staging' }, dir, {});
    expect(twice.code).toBe(1);
    expect(twice.stderr).toBe(
      'error: environment staging has two manifests: environments/staging.yaml and environments/staging.yml\n' +
        '  fix: keep one: delete or rename environments/staging.yml or environments/staging.yaml\n',
    );
  });

  it('refuses a value no env file quoting can carry, without echoing it', async () => {
    const dir = project();
    const run = await runCommand('config', { env: 'production' }, dir, { ...PROD_ENV, DB_PROD_PASSWORD: "it's-$HOME" });
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain("it's");
    expect(run.stderr).toMatch(
      /^environments\/production\.yaml:12:15 {2}error: connections\.database\.password contains a single quote together with/m,
    );
  });

  it('reports a missing production secret with file:line:col and exits 1', async () => {
    const dir = project();
    const { DB_PROD_PASSWORD: _omitted, ...rest } = PROD_ENV;
    const run = await runCommand('config', { env: 'production', format: 'json' }, dir, rest);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe(
      'environments/production.yaml:12:15  error: variable DB_PROD_PASSWORD is not set, used by connections.database.password\n' +
        '  fix: set DB_PROD_PASSWORD in .env.production\n',
    );
  });
});
