// src/package-dir.ts: a built CLI copied without its bash/ says so, with the fix, not a stack trace.
import { cpSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from './helpers/iact-project.js';

describe('packageDir', () => {
  let copy: string;
  beforeAll(() => {
    copy = mkdtempSync(path.join(tmpdir(), 'iact-nobash-'));
    cpSync(path.join(repoRoot, 'dist'), path.join(copy, 'dist'), { recursive: true });
    symlinkSync(path.join(repoRoot, 'node_modules'), path.join(copy, 'node_modules'));
  });
  afterAll(() => rmSync(copy, { recursive: true, force: true }));

  it('a dist/ without bash/ beside it: exit 1, what is missing and the fix, no stack trace', async () => {
    const r = await execa(process.execPath, [path.join(copy, 'dist', 'cli.js'), 'status'], {
      cwd: repoRoot,
      reject: false,
      env: { IACT_DEBUG: '' },
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain('this iact install is incomplete: no bash/lib/common.sh above');
    expect(r.stderr).toContain('fix: reinstall iact');
    expect(r.stderr).not.toMatch(/^\s+at /m);
  });
});
