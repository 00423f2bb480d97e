// iact plan through the built CLI (execa drops the last newline of stderr): the flag combinations it refuses, and how it reads --env and --target.
import { createServer, type AddressInfo } from 'node:net';
import { afterEach, describe, expect, it } from 'vitest';
import { makeProject, type Project } from '../helpers/iact-project.js';

/** Two sandboxes of service `none`: plannable without any database binary. */
const MANIFEST = [
  'apiVersion: iact/v1',
  'environment: development',
  'sandboxes:',
  '  a: { service: none, driver: lightweight, port: 41234 }',
  '  b: { service: none, driver: lightweight, port: 41235 }',
  '',
].join('\n');

describe('iact plan (CLI)', () => {
  let project: Project;
  afterEach(async () => project?.cleanup());

  const setup = () => {
    project = makeProject();
    project.writeManifest('development', MANIFEST);
    project.writeManifest('staging', MANIFEST.replace('environment: development', 'environment: staging'));
    return project;
  };

  it('refuses --env together with --all instead of planning everything', async () => {
    const run = await setup().iact(['plan', '--env', 'staging', '--all']);
    expect(run.exitCode).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toBe('error: --env and --all exclude each other\n  fix: pass one of them');
  });

  it('refuses an empty --env instead of falling back to the detected environment', async () => {
    const p = setup();
    for (const args of [
      ['plan', '--env', ''],
      ['plan', '--env='],
      ['validate', '--env', ''],
      ['apply', '--env', ''],
    ]) {
      const run = await p.iact(args, { env: { IACT_ENV: 'staging' } });
      expect(run.exitCode, args.join(' ')).toBe(1);
      expect(run.stdout).toBe('');
      expect(run.stderr).toMatch(/^error: --env needs an environment name\n {2}fix: /);
    }
  });

  it('refuses an --env that no manifest can be named, with the pattern and the manifests there are', async () => {
    const p = setup();
    const traversal = await p.iact(['plan', '--env', '../etc']);
    expect(traversal.exitCode).toBe(1);
    expect(traversal.stderr).toBe(
      'error: invalid environment name "../etc" (from --env)\n' +
        '  an environment name matches ^[a-z][a-z0-9_-]{0,62}$ (its manifest is environments/<name>.yaml)\n' +
        '  manifests in environments/: development, staging\n' +
        '  fix: use --env development | staging',
    );
    const upper = await p.iact(['plan', '--env', 'Staging']);
    expect(upper.exitCode).toBe(1);
    expect(upper.stderr).toContain('fix: use --env staging');
    expect(upper.stderr).not.toContain('Staging.yaml');
  });

  it('refuses two manifests for one environment (.yaml and .yml)', async () => {
    const p = setup();
    const { writeFileSync } = await import('node:fs');
    writeFileSync(p.file('environments/staging.yml'), MANIFEST.replace('environment: development', 'environment: staging'));
    const run = await p.iact(['plan', '--env', 'staging']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toBe(
      'error: environment staging has two manifests: environments/staging.yaml and environments/staging.yml\n' +
        '  fix: keep one: delete or rename environments/staging.yml or environments/staging.yaml',
    );
  });

  it('names a repeated --target once', async () => {
    const run = await setup().iact(['plan', '--target', 'a', '--target', 'a']);
    expect(run.exitCode, run.stderr).toBe(0);
    expect(run.stdout).toContain('Targets: a and what they depend on;');
    expect(run.stdout).toContain('Plan: 1 to create,');
  });

  it('refuses to save a refresh-only plan, which apply could never perform', async () => {
    const p = setup();
    const run = await p.iact(['plan', '--refresh-only', '--out', 'drift.plan']);
    expect(run.exitCode).toBe(1);
    expect(run.stderr).toMatch(/^error: a refresh-only plan changes nothing, so it cannot be saved for apply\n {2}fix: /);
    const { existsSync } = await import('node:fs');
    expect(existsSync(p.file('drift.plan'))).toBe(false);
  });

  it('--all: an environment that fails to load does not hide the plans of the others', async () => {
    const p = setup();
    p.writeManifest(
      'production',
      MANIFEST.replace('environment: development', 'environment: production').replace(
        'port: 41234 }',
        'port: 41234, settings: { k: "${UNSET_IN_TEST}" } }',
      ),
    );
    const run = await p.iact(['plan', '--all', '--format', 'json']);
    expect(run.exitCode).toBe(1);
    const plans = JSON.parse(run.stdout) as Array<{ environment: string }>;
    expect(plans.map((plan) => plan.environment)).toEqual(['development', 'staging']);
    expect(run.stderr).toContain('production: not planned');
    expect(run.stderr).toContain('variable UNSET_IN_TEST is not set');
  });

  it('--all --target: a name one environment has is planned there and selects nothing elsewhere; a name none has is an error', async () => {
    const p = setup();
    p.writeManifest('staging', MANIFEST.replace('environment: development', 'environment: staging').replace('  b: {', '  c: {'));
    const run = await p.iact(['plan', '--all', '--target', 'b', '--format', 'json']);
    expect(run.exitCode, run.stderr).toBe(0);
    const plans = JSON.parse(run.stdout) as Array<{ environment: string; changes: Array<{ name: string }> }>;
    expect(plans.map((plan) => [plan.environment, plan.changes.map((c) => c.name)])).toEqual([
      ['development', ['b']],
      ['staging', []],
    ]);
    const nowhere = await p.iact(['plan', '--all', '--target', 'zzz']);
    expect(nowhere.exitCode).toBe(1);
    expect(nowhere.stderr).toContain('--target zzz: no sandbox of that name in any environment');
  });

  it('warns when a port the plan would claim is already taken: apply would fail there', async () => {
    const p = setup();
    const squatter = createServer(() => undefined);
    await new Promise<void>((resolve) => squatter.listen(0, '127.0.0.1', resolve));
    const port = (squatter.address() as AddressInfo).port;
    try {
      p.writeManifest(
        'development',
        MANIFEST.replace(
          '  b: { service: none, driver: lightweight, port: 41235 }',
          `  cache: { service: redis, driver: lightweight, port: ${port}, password: pw-123456 }`,
        ),
      );
      const run = await p.iact(['plan']);
      expect(run.exitCode, run.stderr).toBe(0);
      expect(run.stdout).toContain(`port ${port} of sandbox.cache is already in use on 127.0.0.1: apply will fail for it`);
    } finally {
      await new Promise((resolve) => squatter.close(resolve));
    }
    expect((await p.iact(['plan'])).stdout).not.toContain('already in use');
  });
});
