// Two projects share one pool of 2 workers (CONTRIBUTING.md "How the suite stays fast"):
//   services  every file that starts a server, a driver script, a CLI or any other process: forks,
//             one fresh module graph per file (they set process.env, signal process groups).
//   unit      pure files (values in, values out): worker threads that keep the module graph between
//             files, so src/ is imported once per worker instead of once per file.
// The sequencer starts the longest files first, so the two workers finish together.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/setup/sequencer.js';

/**
 * What makes a test file a services file: it uses the service helpers, runs processes itself, or changes
 * process-wide state (env, cwd, mocks) that a shared module graph would carry into the next file.
 */
const TOUCHES_THE_MACHINE =
  /helpers\/(services|iact-project|docker|lifecycle|server-admin)\.js|security\/driver\.js|from '\.\/driver\.js'|sandbox\/procs\.js|'execa'|node:child_process|process\.env\.[A-Za-z_]+ =|process\.chdir|vi\.(mock|stub|spyOn|useFakeTimers)/;

function testFiles(dir: string): string[] {
  return readdirSync(dir, { recursive: true, encoding: 'utf8' })
    .filter((f) => f.endsWith('.test.ts'))
    .map((f) => path.posix.join(dir, f.split(path.sep).join('/')));
}

const all = testFiles('test');
const unit = all.filter((file) => !TOUCHES_THE_MACHINE.test(readFileSync(file, 'utf8')));

const shared = { testTimeout: 60_000, hookTimeout: 60_000 };

export default defineConfig({
  test: {
    // Fails fast when dist/ is older than src/ (the CLI tests run dist/cli.js); shares the docker engine.
    globalSetup: ['test/setup/fresh-build.ts', 'test/setup/docker-engine.ts'],
    // Real services start in these tests; two cores cannot run many at once.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      { test: { ...shared, name: 'services', include: ['test/**/*.test.ts'], exclude: unit, pool: 'forks' } },
      { test: { ...shared, name: 'unit', include: unit, pool: 'threads', isolate: false } },
    ],
  },
});
