// action.yml end to end: its steps run as the runner would (test/action/run-action.ts) in a git
// repository with a base and a head commit, against a local stand-in for the GitHub API. One comment
// is created, then updated in place; a huge diff takes several; no changes update it to say so.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { repoRoot } from '../helpers/iact-project.js';
import { startGitHubStub, type GitHubStub } from './github-stub.js';
import { runAction } from './run-action.js';

const REPOSITORY = 'acme/shop';
const PR = 7;
const TOKEN = 'ghs_test-token-5f2';
const GOLDEN = path.join(repoRoot, 'test/fixtures/action/comment.md');

let repo: string;
let stub: GitHubStub;

function git(...args: string[]): string {
  // Fixed identity and dates: the same commits (and so the same output) on every run.
  const env = {
    ...process.env,
    GIT_AUTHOR_NAME: 'Dev',
    GIT_AUTHOR_EMAIL: 'dev@example.com',
    GIT_COMMITTER_NAME: 'Dev',
    GIT_COMMITTER_EMAIL: 'dev@example.com',
    GIT_AUTHOR_DATE: '2024-01-01T00:00:00Z',
    GIT_COMMITTER_DATE: '2024-01-01T00:00:00Z',
  };
  return execFileSync('git', args, { cwd: repo, env, encoding: 'utf8' });
}

function manifest(port: number, extra = ''): string {
  return `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n  dev-postgres:\n    service: postgres\n    port: ${port}\n    database: app\n    user: app\n    password: \${DB_PASSWORD}\n${extra}`;
}

/** Commit the manifest on the pull request's branch (the base stays at origin/main). */
function commitHead(text: string, message: string): void {
  writeFileSync(path.join(repo, 'environments/development.yaml'), text);
  git('commit', '-qam', message);
}

function action(inputs: Record<string, string> = {}) {
  return runAction({
    workspace: repo,
    inputs,
    github: { base_ref: 'main', token: TOKEN, event: { pull_request: { number: PR } } },
    env: {
      PATH: process.env.PATH!,
      HOME: process.env.HOME ?? '/root',
      NO_COLOR: '1',
      GITHUB_API_URL: stub.url,
      GITHUB_REPOSITORY: REPOSITORY,
    },
    skip: ['install'],
  });
}

const bodies = () => stub.comments.map((c) => c.body);
const writes = () => stub.requests.filter((r) => r.method !== 'GET').map((r) => `${r.method} ${r.url}`);

describe('action.yml (composite: iact diff, one pull-request comment)', { timeout: 180_000 }, () => {
  beforeEach(async () => {
    repo = mkdtempSync(path.join(tmpdir(), 'iact-action-repo-'));
    mkdirSync(path.join(repo, 'environments'));
    git('init', '-q', '-b', 'main');
    writeFileSync(path.join(repo, 'environments/development.yaml'), manifest(55432));
    git('add', '-A');
    git('commit', '-qm', 'base');
    // What actions/checkout with fetch-depth 0 leaves: the base branch as origin/main.
    git('update-ref', 'refs/remotes/origin/main', 'HEAD');
    git('checkout', '-q', '-b', 'feature');
    stub = await startGitHubStub(REPOSITORY, PR);
  });
  afterEach(async () => {
    await stub.close();
    rmSync(repo, { recursive: true, force: true });
  });

  it('creates one comment (the golden body), then updates the same comment in place', async () => {
    commitHead(manifest(55442), 'move the database port');
    const first = await action();
    expect(first.exitCode, first.log).toBe(0);
    expect(first.outputs['exit-code']).toBe('2');
    expect(first.outputs.changed).toBe('true');
    expect(writes()).toEqual([`POST /repos/${REPOSITORY}/issues/${PR}/comments`]);
    expect(stub.requests.every((r) => r.authorization === `Bearer ${TOKEN}`)).toBe(true);
    // IACT_UPDATE_GOLDEN=1 rewrites the fixture after a deliberate change to the output; review its diff.
    if (process.env.IACT_UPDATE_GOLDEN === '1') writeFileSync(GOLDEN, stub.comments[0]!.body);
    expect(bodies()).toEqual([readFileSync(GOLDEN, 'utf8')]);
    expect(first.summary).toContain('port: `55432` → `55442`');
    const id = stub.comments[0]!.id;
    expect(first.outputs['comment-id']).toBe(String(id));

    stub.requests.length = 0;
    commitHead(manifest(55442, '    settings:\n      work_mem: 64MB\n'), 'more work_mem');
    const second = await action();
    expect(second.exitCode, second.log).toBe(0);
    expect(writes()).toEqual([`PATCH /repos/${REPOSITORY}/issues/comments/${id}`]);
    expect(stub.comments).toHaveLength(1);
    expect(stub.comments[0]!.body).toContain('work_mem');
    expect(second.outputs['comment-id']).toBe(String(id));
  });

  it('splits a huge diff into several marked comments under 65,536 characters, and deletes parts no longer needed', async () => {
    const many = Array.from(
      { length: 700 },
      (_, i) =>
        `  worker-queue-number-${i}:\n    service: none\n    port: ${20000 + i}\n    settings: { purpose: "a rather long description of queue worker ${i}" }\n`,
    ).join('');
    commitHead(manifest(55442, many), 'seven hundred workers');
    const big = await action();
    expect(big.exitCode, big.log).toBe(0);
    const parts = bodies();
    expect(parts.length).toBeGreaterThan(1);
    parts.forEach((body, i) => {
      expect(body.length).toBeLessThanOrEqual(65_536);
      expect(body.startsWith(`<!-- iact:diff -->\n<!-- iact:diff part ${i + 1} of ${parts.length} -->\n`)).toBe(true);
    });
    const ids = stub.comments.map((c) => c.id);

    stub.requests.length = 0;
    commitHead(manifest(55442), 'drop the workers again');
    const small = await action();
    expect(small.exitCode, small.log).toBe(0);
    expect(writes()).toEqual([
      `PATCH /repos/${REPOSITORY}/issues/comments/${ids[0]}`,
      ...ids.slice(1).map((id) => `DELETE /repos/${REPOSITORY}/issues/comments/${id}`),
    ]);
    expect(stub.comments.map((c) => c.id)).toEqual([ids[0]]);
    expect(stub.comments[0]!.body).toContain('part 1 of 1');
  });

  it('updates the comment to "no changes" when the pull request no longer changes anything', async () => {
    commitHead(manifest(55442), 'move the port');
    expect((await action()).exitCode).toBe(0);
    commitHead(manifest(55432), 'move it back');
    const none = await action();
    expect(none.exitCode, none.log).toBe(0);
    expect(none.outputs['exit-code']).toBe('0');
    expect(none.outputs.changed).toBe('false');
    expect(stub.comments).toHaveLength(1);
    expect(stub.comments[0]!.body).toContain('No differences between origin/main and the working tree.');
    expect(writes().at(-1)).toMatch(/^PATCH /);
  });

  it('passes exit codes through: changes fail the action with fail-on-changes, an error always fails it', async () => {
    commitHead(manifest(55442), 'move the port');
    const strict = await action({ 'fail-on-changes': 'true' });
    expect(strict.exitCode).toBe(2);
    expect(strict.log).toContain('::error::iact found changes (fail-on-changes is true)');
    expect(stub.comments).toHaveLength(1);

    commitHead(
      'apiVersion: iact/v1\nenvironment: development\nsandboxes:\n  dev-postgres:\n    service: postgres\n    port: 80\n',
      'a port iact refuses',
    );
    const broken = await action();
    expect(broken.exitCode).toBe(1);
    expect(broken.outputs['exit-code']).toBe('1');
    expect(stub.comments).toHaveLength(1);
    expect(stub.comments[0]!.body).toContain('**iact diff failed** (exit code 1)');
  });
});
