// Shared by the diff tests: temporary git repositories built from fixture trees, a CommandIO that
// records output, and golden files with UPDATE_GOLDEN=1.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { expect } from 'vitest';
import type { CommandIO } from '../../src/commands/io.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/diff');
export const REPO_ROOT = path.resolve(import.meta.dirname, '../..');
const UPDATE = process.env.UPDATE_GOLDEN === '1';

/** Fixed identity and dates, so commit ids (shown in the output) are the same on every run. */
const GIT_ENV = {
  GIT_AUTHOR_NAME: 'iact test',
  GIT_AUTHOR_EMAIL: 'test@example.com',
  GIT_COMMITTER_NAME: 'iact test',
  GIT_COMMITTER_EMAIL: 'test@example.com',
  GIT_AUTHOR_DATE: '2026-01-01T00:00:00Z',
  GIT_COMMITTER_DATE: '2026-01-01T00:00:00Z',
  GIT_CONFIG_NOSYSTEM: '1',
  HOME: tmpdir(),
};

export function git(cwd: string, ...args: string[]): string {
  return execFileSync(
    'git',
    ['-c', 'user.email=test@example.com', '-c', 'user.name=iact test', '-c', 'core.autocrlf=false', '-c', 'commit.gpgsign=false', ...args],
    {
      cwd,
      env: { ...process.env, ...GIT_ENV },
      encoding: 'utf8',
    },
  );
}

/** Replace the repository's files (except .git) with a fixture tree and commit them. */
export function commitTree(repo: string, tree: string, message: string): string {
  for (const entry of ['environments', '.env.example']) rmSync(path.join(repo, entry), { recursive: true, force: true });
  cpSync(tree, repo, { recursive: true });
  git(repo, 'add', '-A');
  git(repo, 'commit', '-q', '-m', message);
  return git(repo, 'rev-parse', 'HEAD').trim();
}

/** A new repository in a temp dir; the caller removes it. */
export function tempRepo(prefix = 'iact-diff-'): string {
  const dir = mkdtempSync(path.join(tmpdir(), prefix));
  git(dir, 'init', '-q', '-b', 'main');
  return dir;
}

export interface Recorded {
  io: CommandIO;
  out: () => string;
  err: () => string;
}

export function recordingIO(cwd: string, env: NodeJS.ProcessEnv = {}, color = false): Recorded {
  let out = '';
  let err = '';
  return {
    io: {
      cwd,
      env,
      stdout: (t) => void (out += t),
      stderr: (t) => void (err += t),
      isTTY: false,
      color,
    },
    out: () => out,
    err: () => err,
  };
}

export function golden(file: string, actual: string): void {
  const p = path.join(FIXTURES, file);
  if (UPDATE || !existsSync(p)) {
    if (!UPDATE)
      throw new Error(`${p} is missing: run UPDATE_GOLDEN=1 npx vitest run test/diff test/commands/diff.test.ts and read the result`);
    writeFileSync(p, actual);
    return;
  }
  expect(actual, `${p} (UPDATE_GOLDEN=1 to rewrite, then read the diff)`).toBe(readFileSync(p, 'utf8'));
}
