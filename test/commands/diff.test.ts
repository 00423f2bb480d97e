// `iact diff --from` in a real temporary git repository with two commits that change manifests:
// exactly the changes listed, secrets masked in every format, exit 2 under --detailed-exitcode,
// the markdown as a GitHub comment (golden), errors as diagnostics.
import { execFileSync, spawnSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import diff from '../../src/commands/diff.js';
import { DiagnosticError, formatDiagnostics } from '../../src/diagnostics.js';
import type { ParityReport, RevisionDiff } from '../../src/diff/types.js';
import { commitTree, FIXTURES, git, golden, recordingIO, REPO_ROOT, tempRepo } from '../diff/helpers.js';

/** Secrets the manifests read or write literally: none may appear in any output. */
const SECRETS = {
  DB_DEV_PASSWORD: 'env-secret-old-7c1d9',
  DB_DEV_PASSWORD_V2: 'env-secret-new-4b8e2',
  DB_STAGING_PASSWORD: 'env-secret-staging-55a1',
};
const LITERAL_SECRETS = ['literal-redis-secret-1', 'literal-redis-secret-2', 'literal-mysql-secret-9', 'staging-default-pw'];
const ALL_SECRETS = [...Object.values(SECRETS), ...LITERAL_SECRETS];

let repo: string;
let baseCommit: string;
let headCommit: string;
const scratch = mkdtempSync(path.join(tmpdir(), 'iact-diff-scratch-'));

beforeAll(() => {
  repo = tempRepo();
  baseCommit = commitTree(repo, path.join(FIXTURES, 'revisions/base'), 'base manifests');
  headCommit = commitTree(repo, path.join(FIXTURES, 'revisions/head'), 'change manifests');
});
afterAll(() => {
  rmSync(repo, { recursive: true, force: true });
  rmSync(scratch, { recursive: true, force: true });
});

async function run(opts: Record<string, unknown>, env: NodeJS.ProcessEnv = SECRETS, cwd = repo) {
  const rec = recordingIO(cwd, env);
  let code: number;
  try {
    code = await diff({ format: 'text', ...opts }, rec.io);
  } catch (error) {
    if (!(error instanceof DiagnosticError)) throw error;
    rec.io.stderr(`${formatDiagnostics(error.diagnostics)}\n`);
    code = 1;
  }
  return { code, out: rec.out(), err: rec.err() };
}

function expectNoSecret(text: string): void {
  for (const secret of ALL_SECRETS) expect(text, `secret ${secret} leaked`).not.toContain(secret);
}

describe('iact diff --from HEAD~1', () => {
  it('commits are the fixture trees (deterministic ids keep the goldens stable)', () => {
    expect(git(repo, 'rev-list', '--count', 'HEAD').trim()).toBe('2');
    expect(baseCommit).toMatch(/^[0-9a-f]{40}$/);
    expect(headCommit).not.toBe(baseCommit);
  });

  it('lists exactly the changes (JSON)', async () => {
    const { code, out, err } = await run({ from: 'HEAD~1', format: 'json' });
    expect(err).toBe('');
    expect(code).toBe(0);
    const d = JSON.parse(out) as RevisionDiff;
    expect(d.format_version).toBe(1);
    expect(d.from).toEqual({ ref: 'HEAD~1', commit: baseCommit });
    expect(d.to).toEqual({ ref: 'working tree', commit: null });
    expect(d.environments.map((e) => [e.environment, e.status])).toEqual([
      ['development', 'changed'],
      ['production', 'added'],
      ['staging', 'unchanged'], // only a comment changed
    ]);
    const dev = d.environments[0]!;
    expect(dev.sandboxes.map((s) => [s.name, s.action, s.impact])).toEqual([
      ['dev-mysql', 'delete', 'data-loss'],
      ['dev-postgres', 'replace', 'data-loss'],
      ['dev-queue', 'create', 'none'],
      ['dev-redis', 'update', 'none'],
    ]);
    const pg = dev.sandboxes.find((s) => s.name === 'dev-postgres')!;
    expect(pg.fields).toEqual([
      { field: 'port', before: 55432, after: 55442, sensitive: false, impact: 'restart' },
      { field: 'version', before: '15', after: '16', sensitive: false, impact: 'data-loss' },
      { field: 'password', before: '(sensitive)', after: '(sensitive, changed)', sensitive: true, impact: 'none' },
      { field: 'settings.work_mem', after: '64MB', sensitive: false, impact: 'reload' }, // reloadable in postgres
    ]);
    const redis = dev.sandboxes.find((s) => s.name === 'dev-redis')!;
    expect(redis.fields).toEqual([
      { field: 'password', before: '(sensitive)', after: '(sensitive, changed)', sensitive: true, impact: 'none' },
    ]);
    // An unset variable is shown by name, never failing the diff.
    const queue = dev.sandboxes.find((s) => s.name === 'dev-queue')!;
    expect(queue.fields.find((f) => f.field === 'password')).toEqual({
      field: 'password',
      after: '${QUEUE_PASSWORD}',
      sensitive: true,
      impact: 'none',
    });
    expect(dev.unset_variables).toEqual(['QUEUE_PASSWORD']);
    expect(dev.connections).toEqual([
      { key: 'DB_PORT', change: 'changed', before: '55432', after: '55442', sensitive: false },
      { key: 'DB_PASSWORD', change: 'changed', before: '(sensitive)', after: '(sensitive, changed)', sensitive: true },
      { key: 'CACHE_BACKEND', change: 'changed', before: 'memory', after: 'redis', sensitive: false },
      { key: 'REDIS_HOST', change: 'added', after: '127.0.0.1', sensitive: false },
      { key: 'REDIS_PORT', change: 'added', after: '56379', sensitive: false },
      { key: 'REDIS_PASSWORD', change: 'added', after: '(sensitive)', sensitive: true },
    ]);
    expect(dev.features).toEqual([
      { name: 'debug_mode', change: 'changed', before: true, after: false },
      { name: 'new_checkout', change: 'added', after: true },
    ]);
    const prod = d.environments[1]!;
    expect(prod.unset_variables).toEqual(['PROD_DB_HOST', 'PROD_DB_PASSWORD']);
    expect(prod.connections.find((c) => c.key === 'DB_HOST')).toEqual({
      key: 'DB_HOST',
      change: 'added',
      after: '${PROD_DB_HOST}',
      sensitive: false,
    });
    expect(prod.connections.find((c) => c.key === 'DB_PASSWORD')).toEqual({
      key: 'DB_PASSWORD',
      change: 'added',
      after: '${PROD_DB_PASSWORD}',
      sensitive: true,
    });
    expect(d.env_example).toEqual({
      added: ['DB_DEV_PASSWORD_V2', 'PROD_DB_HOST', 'PROD_DB_PASSWORD', 'QUEUE_PASSWORD'],
      removed: ['DB_DEV_PASSWORD'],
    });
    expect(d.summary).toEqual({
      environments_changed: 2,
      create: 1,
      update: 1,
      replace: 1,
      delete: 1,
      connections: 6 + prod.connections.length,
      features: 2 + prod.features.length,
      errors: 0,
      has_differences: true,
    });
    golden('revisions/diff.json', out);
    expectNoSecret(out);
  });

  it('text: Terraform idiom, impact per field, secrets masked (golden)', async () => {
    const { code, out } = await run({ from: 'HEAD~1' });
    expect(code).toBe(0);
    golden('revisions/diff.txt', out);
    expectNoSecret(out);
    expect(out.trimEnd().split('\n').pop()).toBe(
      'Diff: 2 environments changed (development, production): 1 to create, 1 to update, 1 to replace, 1 to delete; 20 connection settings and 5 features changed.',
    );
  });

  it('markdown renders as a GitHub comment (golden): summary first, caution, table, details', async () => {
    const { code, out } = await run({ from: 'HEAD~1', format: 'markdown' });
    expect(code).toBe(0);
    golden('revisions/diff.md', out);
    expectNoSecret(out);
    expect(out.length).toBeLessThan(65_536);
    const lines = out.split('\n');
    expect(lines[0]).toMatch(/^\*\*iact diff · `HEAD~1` → working tree:\*\* Diff: 2 environments changed/);
    expect(out).toContain('> [!CAUTION]');
    expect(out).toContain('| Change | What | Impact | Details |');
    expect(out).toContain('<details><summary>Full diff for development</summary>');
    // Every fence opened is closed, every <details> too.
    expect((out.match(/^```/gm) ?? []).length % 2).toBe(0);
    expect((out.match(/<details>/g) ?? []).length).toBe((out.match(/<\/details>/g) ?? []).length);
  });

  it('exits 2 under --detailed-exitcode when something changed, 0 when nothing did', async () => {
    expect((await run({ from: 'HEAD~1', detailedExitcode: true })).code).toBe(2);
    const same = await run({ from: 'HEAD', detailedExitcode: true });
    expect(same.code).toBe(0);
    expect(same.out.trimEnd().split('\n').pop()).toBe('No differences between HEAD and the working tree.');
  });

  it('--to compares two commits without touching the working tree', async () => {
    const { code, out } = await run({ from: 'HEAD~1', to: 'HEAD', format: 'json', detailedExitcode: true });
    expect(code).toBe(2);
    const d = JSON.parse(out) as RevisionDiff;
    expect(d.to).toEqual({ ref: 'HEAD', commit: headCommit });
    const viaWorkingTree = JSON.parse((await run({ from: 'HEAD~1', format: 'json' })).out) as RevisionDiff;
    expect(d.environments).toEqual(viaWorkingTree.environments);
    // Reverse direction: the mirror image.
    const back = JSON.parse((await run({ from: 'HEAD', to: 'HEAD~1', format: 'json' })).out) as RevisionDiff;
    expect(back.environments.map((e) => [e.environment, e.status])).toEqual([
      ['development', 'changed'],
      ['production', 'removed'],
      ['staging', 'unchanged'],
    ]);
    expect(back.environments[0]!.sandboxes.map((s) => [s.name, s.action])).toEqual([
      ['dev-mysql', 'create'],
      ['dev-postgres', 'replace'],
      ['dev-queue', 'delete'],
      ['dev-redis', 'update'],
    ]);
  });

  it('--env A --env B --to REF: parity of the environments as they were at that revision', async () => {
    const { code, out } = await run({ env: ['development', 'staging'], to: 'HEAD~1', format: 'json' });
    expect(code).toBe(0);
    const r = JSON.parse(out) as ParityReport;
    expect(r.source).toBe('manifests at HEAD~1');
    expect(r.rows.find((x) => x.key === 'sandbox[database].version')).toMatchObject({
      values: { development: '15', staging: '15' },
      differs: false,
    });
    const now = JSON.parse((await run({ env: ['development', 'staging'], format: 'json' })).out) as ParityReport;
    expect(now.rows.find((x) => x.key === 'sandbox[database].version')).toMatchObject({
      values: { development: '16', staging: '15' },
      risky: true,
    });
    expectNoSecret(out);
  });

  it('--env limits the diff to one environment', async () => {
    const d = JSON.parse((await run({ from: 'HEAD~1', env: ['production'], format: 'json' })).out) as RevisionDiff;
    expect(d.environments.map((e) => e.environment)).toEqual(['production']);
  });

  it('works without any secret set, and from a subdirectory of the repository', async () => {
    const { code, out, err } = await run({ from: 'HEAD~1', format: 'json' }, {}, path.join(repo, 'environments'));
    expect([code, err]).toEqual([0, '']);
    const d = JSON.parse(out) as RevisionDiff;
    const pg = d.environments[0]!.sandboxes.find((s) => s.name === 'dev-postgres')!;
    // Both passwords unset: each shown by its variable's name.
    expect(pg.fields.find((f) => f.field === 'password')).toMatchObject({ before: '${DB_DEV_PASSWORD}', after: '${DB_DEV_PASSWORD_V2}' });
  });

  it('--summary appends the markdown to $GITHUB_STEP_SUMMARY', async () => {
    const file = path.join(scratch, 'step-summary.md');
    writeFileSync(file, '# earlier step\n');
    const { code, out } = await run({ from: 'HEAD~1', summary: true }, { ...SECRETS, GITHUB_STEP_SUMMARY: file });
    expect(code).toBe(0);
    expect(out).toContain('Diff: 2 environments changed'); // stdout keeps its own format
    const written = readFileSync(file, 'utf8');
    expect(written.startsWith('# earlier step\n**iact diff · `HEAD~1` → working tree:**')).toBe(true);
    expectNoSecret(written);
  });

  it('a secret that is the value of a connection setting is scrubbed from every format', async () => {
    for (const format of ['text', 'json', 'markdown']) {
      const r = await run({ from: 'HEAD~1', format });
      expectNoSecret(r.out + r.err);
    }
  });
});

describe('iact diff errors are diagnostics', () => {
  it('unknown git ref', async () => {
    const { code, err, out } = await run({ from: 'no-such-branch' });
    expect([code, out]).toEqual([1, '']);
    expect(err).toContain('error: unknown git revision "no-such-branch" (--from)');
    expect(err).toContain('fix: check the spelling');
    const remote = await run({ from: 'origin/main' });
    expect(remote.err).toContain('fix: fetch it first (git fetch origin main); in GitHub Actions use actions/checkout with fetch-depth: 0');
  });

  it('a ref that looks like an option is refused before git sees it', async () => {
    const { code, err } = await run({ from: '--output=/tmp/x' });
    expect(code).toBe(1);
    expect(err).toContain('is not a git revision');
  });

  it('not a git repository', async () => {
    const plain = mkdtempSync(path.join(tmpdir(), 'iact-diff-nogit-'));
    try {
      commitFreeCopy(plain);
      const { code, err } = await run({ from: 'HEAD~1' }, {}, plain);
      expect(code).toBe(1);
      expect(err).toMatch(/error: .* is not inside a git repository/);
      expect(err).toContain('fix: run iact diff --from inside a git clone');
    } finally {
      rmSync(plain, { recursive: true, force: true });
    }
  });

  it('--from with two --env, neither, --to alone, a repeated --env, --summary without GITHUB_STEP_SUMMARY', async () => {
    const both = await run({ from: 'HEAD~1', env: ['staging', 'production'] });
    expect(both.code).toBe(1);
    expect(both.err).toContain('error: --from and several --env cannot be combined');
    const neither = await run({});
    expect(neither.err).toContain('error: iact diff needs --from GITREF or two --env');
    const toAlone = await run({ to: 'HEAD' });
    expect(toAlone.err).toContain('error: --to needs --from');
    const twice = await run({ env: ['staging', 'staging'] });
    expect(twice.err).toContain('error: --env staging is given twice');
    const summary = await run({ from: 'HEAD~1', summary: true }, {});
    expect(summary.err).toContain('error: --summary appends to $GITHUB_STEP_SUMMARY, which is not set');
    expect(summary.err).toContain('fix: ');
  });

  it('unknown environment', async () => {
    const r = await run({ from: 'HEAD~1', env: ['qa'] });
    expect(r.code).toBe(1);
    expect(r.err).toContain('error: no manifest for environment "qa" in HEAD~1 or working tree');
    const parity = await run({ env: ['staging', 'qa'] });
    expect(parity.err).toContain('no manifest for environment "qa"');
    expect(parity.err).toContain('development, production, staging');
  });

  it('a manifest that does not resolve makes the diff fail with its location, not a stack trace', async () => {
    const broken = tempRepo();
    try {
      commitTree(broken, path.join(FIXTURES, 'revisions/base'), 'base');
      writeFileSync(
        path.join(broken, 'environments/staging.yaml'),
        'apiVersion: iact/v1\nenvironment: staging\nsandboxes:\n  Bad_Name: { service: postgres, port: 80 }\n',
      );
      const r = await run({ from: 'HEAD', format: 'text' }, {}, broken);
      expect(r.code).toBe(1);
      expect(r.out).toContain('! environment staging could not be compared (environments/staging.yaml):');
      expect(r.out).toMatch(/environments\/staging\.yaml:4:\d+ {2}error: /);
      expect(r.out.trimEnd().split('\n').pop()).toMatch(/^1 environment could not be compared\./);
    } finally {
      rmSync(broken, { recursive: true, force: true });
    }
  });
});

describe('the built CLI, as a user runs it (node dist/cli.js, cwd in the temp repository)', () => {
  const cli = path.join(REPO_ROOT, 'dist/cli.js');
  const node = (args: string[], env: NodeJS.ProcessEnv = {}) =>
    spawnSync(process.execPath, [cli, ...args], { cwd: repo, encoding: 'utf8', env: { PATH: process.env.PATH, NO_COLOR: '1', ...env } });

  beforeAll(() => {
    if (!existsSync(cli)) execFileSync('npm', ['run', 'build'], { cwd: REPO_ROOT, stdio: 'inherit' });
  });

  it('prints the golden text and markdown, exits 2 under --detailed-exitcode, leaks nothing', () => {
    const text = node(['diff', '--from', 'HEAD~1', '--detailed-exitcode'], SECRETS);
    expect([text.status, text.stderr]).toEqual([2, '']);
    expect(text.stdout).toBe(readFileSync(path.join(FIXTURES, 'revisions/diff.txt'), 'utf8'));
    const md = node(['diff', '--from', 'HEAD~1', '--format', 'markdown'], SECRETS);
    expect(md.status).toBe(0);
    expect(md.stdout).toBe(readFileSync(path.join(FIXTURES, 'revisions/diff.md'), 'utf8'));
    expectNoSecret(text.stdout + text.stderr + md.stdout + md.stderr);
  });

  it('an unknown ref is a diagnostic on stderr with exit 1 and no stack trace', () => {
    const r = node(['diff', '--from', 'nope']);
    expect(r.status).toBe(1);
    expect(r.stdout).toBe('');
    expect(r.stderr.split('\n')[0]).toBe('error: unknown git revision "nope" (--from)');
    expect(r.stderr).not.toMatch(/\bat .*\.js:\d+/);
  });
});

describe('a project in a subfolder of its repository (monorepo)', () => {
  it('reads REV:app/environments/... and lists the same changes', async () => {
    const mono = tempRepo();
    try {
      const app = path.join(mono, 'app');
      cpSync(path.join(FIXTURES, 'revisions/base'), app, { recursive: true });
      git(mono, 'add', '-A');
      git(mono, 'commit', '-q', '-m', 'base');
      rmSync(path.join(app, 'environments'), { recursive: true });
      cpSync(path.join(FIXTURES, 'revisions/head'), app, { recursive: true });
      git(mono, 'add', '-A');
      git(mono, 'commit', '-q', '-m', 'head');
      const here = JSON.parse((await run({ from: 'HEAD~1', to: 'HEAD', format: 'json' }, SECRETS, app)).out) as RevisionDiff;
      const flat = JSON.parse((await run({ from: 'HEAD~1', to: 'HEAD', format: 'json' })).out) as RevisionDiff;
      expect(here.environments).toEqual(flat.environments);
      expect(here.env_example).toEqual(flat.env_example);
    } finally {
      rmSync(mono, { recursive: true, force: true });
    }
  });
});

describe('a base revision whose manifest does not resolve', () => {
  it('is reported with its revision, and a pull request that fixes it does not fail', async () => {
    const fixing = tempRepo();
    try {
      commitTree(fixing, path.join(FIXTURES, 'revisions/base'), 'base');
      writeFileSync(
        path.join(fixing, 'environments/staging.yaml'),
        'apiVersion: iact/v1\nenvironment: staging\nsandboxes:\n  Bad_Name: { service: postgres, port: 80 }\n',
      );
      git(fixing, 'commit', '-q', '-am', 'break staging');
      commitTree(fixing, path.join(FIXTURES, 'revisions/base'), 'fix staging');
      const r = await run({ from: 'HEAD~1', detailedExitcode: true }, {}, fixing);
      expect(r.err).toBe('');
      expect(r.code).toBe(2);
      expect(r.out).toContain('! environment staging could not be compared (environments/staging.yaml):');
      expect(r.out).toMatch(/ {4}at HEAD~1: environments\/staging\.yaml:4:\d+ {2}error: /);
      const json = JSON.parse((await run({ from: 'HEAD~1', format: 'json' }, {}, fixing)).out) as RevisionDiff;
      expect(json.summary).toMatchObject({ errors: 0, has_differences: true });
    } finally {
      rmSync(fixing, { recursive: true, force: true });
    }
  });
});

/** A project folder (environments/ with a manifest) that is not a git repository. */
function commitFreeCopy(dir: string): void {
  mkdirSync(path.join(dir, 'environments'));
  writeFileSync(path.join(dir, 'environments/development.yaml'), 'apiVersion: iact/v1\nenvironment: development\n');
}
