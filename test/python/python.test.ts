// `npm test` covers the Python side: python/tests (pytest) against real servers through the built CLI,
// every test passing, none skipped, and no sandbox, owner record or process left in the run root.
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, expect, it } from 'vitest';
import { cliPath, describeNeeding, repoRoot } from '../helpers/iact-project.js';
import { killProcessesIn, processesIn } from '../sandbox/procs.js';

const runRoot = mkdtempSync(path.join(tmpdir(), 'iact-python-run-'));

afterAll(() => {
  killProcessesIn(runRoot);
  rmSync(runRoot, { recursive: true, force: true });
});

function pytest(args: string[]) {
  return execa('python3', ['-m', 'pytest', 'python/tests', '-q', '-p', 'no:cacheprovider', ...args], {
    cwd: repoRoot,
    // IACT_CLI: this checkout's build, never some other iact on PATH; a private run root to inspect afterwards.
    env: { IACT_CLI: cliPath, IACT_RUN_ROOT: runRoot, NO_COLOR: '1', PYTHONDONTWRITEBYTECODE: '1' },
    reject: false,
    stdin: 'ignore',
    all: true,
  });
}

describeNeeding(
  'postgres',
  'mysql',
  'redis',
  'pytest',
)('python/ (the iact package and its pytest plugin)', { timeout: 600_000 }, () => {
  it('python3 -m pytest python/tests: every test passes, none skipped, nothing left behind', async () => {
    const collected = await pytest(['--collect-only']);
    const count = Number(/^(\d+) tests? collected/m.exec(String(collected.all))?.[1]);
    expect(count, String(collected.all)).toBeGreaterThan(0);

    const run = await pytest([]);
    const output = String(run.all);
    expect(run.exitCode, output).toBe(0);
    // "18 passed in 30.12s": any skipped, xfailed, warning or error would appear in this line.
    const summary = output.trim().split('\n').pop() ?? '';
    expect(summary, output).toMatch(new RegExp(`^${count} passed in [\\d.]+s`));
    expect(summary).not.toMatch(/skipped|failed|error/);

    expect(readdirSync(path.join(runRoot, 'run'))).toEqual([]);
    expect(readdirSync(path.join(runRoot, 'owners'))).toEqual([]);
    expect(processesIn(runRoot)).toEqual([]);
  });
});
