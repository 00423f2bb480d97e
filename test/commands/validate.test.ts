// Golden diagnostics for broken manifests, through the command module and the built CLI.
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { cleanupTemp, FIXTURES, REPO, runCli, runCommand, tempProject } from '../manifest/helpers.js';

const UPDATE = process.env.UPDATE_GOLDEN === '1';
const cases = readdirSync(FIXTURES)
  .filter((name) => existsSync(path.join(FIXTURES, name, 'environments')))
  .sort();

function argsOf(fixture: string): string[] {
  const file = path.join(FIXTURES, fixture, 'args.txt');
  return existsSync(file) ? readFileSync(file, 'utf8').trim().split(/\s+/) : ['validate', '--all'];
}

function optsOf(args: string[]): Record<string, unknown> {
  const opts: Record<string, unknown> = {};
  for (let i = 1; i < args.length; i++) {
    if (args[i] === '--all') opts.all = true;
    else if (args[i] === '--env') opts.env = args[++i];
  }
  return opts;
}

afterAll(cleanupTemp);

describe('validate: broken manifests', () => {
  it('has at least 25 cases', () => {
    expect(cases.length).toBeGreaterThanOrEqual(25);
  });

  for (const fixture of cases) {
    it(`${fixture}: exit 1 with the golden diagnostics`, async () => {
      const dir = tempProject(path.join(FIXTURES, fixture));
      const args = argsOf(fixture);
      const viaModule = await runCommand('validate', optsOf(args), dir);
      const viaCli = await runCli(args, dir);
      const goldenFile = path.join(FIXTURES, fixture, 'expected.txt');
      if (UPDATE) writeFileSync(goldenFile, viaCli.stderr);
      const golden = readFileSync(goldenFile, 'utf8');

      for (const run of [viaModule, viaCli]) {
        expect(run.code).toBe(1);
        // A manifest with an error is never also reported "ok".
        for (const file of golden.match(/^environments\/\S+\.yaml(?=:)/gm) ?? []) expect(run.stdout).not.toContain(`ok  ${file}`);
        expect(run.stderr).toBe(golden);
        expect(run.stderr + run.stdout).not.toContain('    at ');
      }
      if (!existsSync(path.join(FIXTURES, fixture, 'args.txt'))) {
        expect(golden).toMatch(/^environments\/[a-z_-]+\.yaml:\d+:\d+ {2}error: /m);
      }
      for (const line of golden.split('\n').filter((l) => /^\S.*error: /.test(l))) {
        expect(line.startsWith('environments/') || line.startsWith('error: ')).toBe(true);
      }
    });
  }

  it('refuses a 20 MB manifest quickly, before parsing it', async () => {
    const dir = tempProject();
    const { mkdirSync } = await import('node:fs');
    mkdirSync(path.join(dir, 'environments'));
    const line = 'x'.repeat(1023);
    const big = `apiVersion: iact/v1\nenvironment: development\nfeatures:\n${`  # ${line}\n`.repeat(20 * 1024)}`;
    writeFileSync(path.join(dir, 'environments/development.yaml'), big);
    const started = performance.now();
    const run = await runCli(['validate', '--all'], dir);
    const elapsed = performance.now() - started;
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^environments\/development\.yaml:1:1 {2}error: manifest is 20\.\d MB; the limit is 1 MB$/m);
    expect(run.stderr).not.toContain('    at ');
    expect(elapsed).toBeLessThan(3000);
  });

  it('checks one environment against the ports of the others', async () => {
    const dir = tempProject(path.join(FIXTURES, 'port-reused-across-environments'));
    const run = await runCommand('validate', { env: 'development' }, dir);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr).toMatch(
      /^environments\/development\.yaml:6:11 {2}error: port 56379 of sandbox dev-redis is also used by staging\/staging-redis \(environments\/staging\.yaml:7:11\)$/m,
    );
  });

  it('never echoes secret values in diagnostics', async () => {
    const dir = tempProject(path.join(FIXTURES, 'sensitive-value-not-echoed'));
    const run = await runCli(['validate', '--all'], dir);
    expect(run.code).toBe(1);
    expect(run.stderr).not.toContain('newline-secret');
    expect(run.stderr).not.toContain('secret-part');
    expect(run.stderr).toContain('(sensitive value)');
  });
});

describe('validate: the bundled manifests', () => {
  it('pass `validate --all` on a fresh checkout (no .env)', async () => {
    const dir = tempProject();
    const { cpSync } = await import('node:fs');
    cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
    cpSync(path.join(REPO, '.env.example'), path.join(dir, '.env.example'));
    const run = await runCli(['validate', '--all'], dir);
    expect(run.stderr).toBe('');
    expect(run.code).toBe(0);
    expect(run.stdout).toContain('ok  environments/development.yaml (2 sandboxes)');
    expect(run.stdout).toContain('ok  environments/staging.yaml (2 sandboxes)');
    expect(run.stdout).toMatch(
      /ok {2}environments\/production\.yaml \(0 sandboxes; unset here, checked with \.env\.example values: .*DB_PROD_PASSWORD/,
    );
    expect(run.stdout).toContain('3 manifests valid.');
  });

  it('still names a variable that is neither set nor in .env.example', async () => {
    const dir = tempProject();
    const { cpSync } = await import('node:fs');
    cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
    const example = readFileSync(path.join(REPO, '.env.example'), 'utf8').replace(/^DB_PROD_PASSWORD=.*\n/m, '');
    writeFileSync(path.join(dir, '.env.example'), example);
    const run = await runCommand('validate', { env: 'production' }, dir);
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(
      /^environments\/production\.yaml:12:15 {2}error: variable DB_PROD_PASSWORD is not set, used by connections\.database\.password$/m,
    );
    expect(run.stderr).toContain('fix: set DB_PROD_PASSWORD in .env.production');
  });

  it('validates the detected environment and says where it came from', async () => {
    const dir = tempProject();
    const { cpSync } = await import('node:fs');
    cpSync(path.join(REPO, 'environments'), path.join(dir, 'environments'), { recursive: true });
    writeFileSync(path.join(dir, '.env'), 'ENVIRONMENT=staging\n');
    const run = await runCommand('validate', {}, dir);
    expect(run.code).toBe(0);
    expect(run.stderr).toBe('validating staging, from ENVIRONMENT in .env\n');
    expect(run.stdout).toBe('ok  environments/staging.yaml (2 sandboxes)\n1 manifest valid.\n');
  });
});
