// Two projects share one pool of 2 workers (CONTRIBUTING.md "How the suite stays fast"):
//   services  every file that starts a server, a driver script, a CLI or any other process, or sets
//             process.env: child processes (forks), for process-wide signals and environment.
//   unit      pure files (values in, values out): worker threads, cheaper to start.
// Neither isolates files: a worker keeps its process and module graph from file to file, so src/ and
// the helpers are imported once per worker, not once per file (a fresh fork per file cost ~0.4 s each).
// A file that changes process-wide state puts it back (process.env, signal handlers, cwd).
// The sequencer starts the longest files first, so the two workers finish together.
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vitest/config';
import { LongestFirstSequencer } from './test/setup/sequencer.js';

/** What makes a test file a services file: it uses the service helpers, runs processes, or changes process state. */
const TOUCHES_THE_MACHINE =
  /helpers\/(services|iact-project|docker|lifecycle|server-admin)\.js|security\/driver\.js|from '\.\/driver\.js'|sandbox\/procs\.js|'execa'|node:child_process|process\.env\.[A-Za-z_]+ =|process\.chdir|vi\.(mock|stub|spyOn|useFakeTimers)/;

const ROOT = path.dirname(fileURLToPath(import.meta.url));
/** Test files as include patterns take them: relative to the root, forward slashes. */
const all = readdirSync(path.join(ROOT, 'test'), { recursive: true, encoding: 'utf8' })
  .filter((f) => f.endsWith('.test.ts'))
  .map((f) => `test/${f.split(path.sep).join('/')}`);
const unit = all.filter((file) => !TOUCHES_THE_MACHINE.test(readFileSync(path.join(ROOT, file), 'utf8')));

// No warm spares (docs/data.md "Warm spares") outlive a test: the spare tests turn them on themselves.
const shared = { testTimeout: 60_000, hookTimeout: 60_000, env: { IACT_RUN_SPARE_TTL: '0' } };

export default defineConfig({
  test: {
    // Fails fast when dist/ is older than src/ (the CLI tests run dist/cli.js); shares the docker engine.
    globalSetup: ['test/setup/fresh-build.ts', 'test/setup/docker-engine.ts'],
    // Real services start in these tests; two cores cannot run many at once.
    maxWorkers: 2,
    sequence: { sequencer: LongestFirstSequencer },
    projects: [
      { test: { ...shared, name: 'services', include: ['test/**/*.test.ts'], exclude: unit, pool: 'forks', isolate: false } },
      { test: { ...shared, name: 'unit', include: unit, pool: 'threads', isolate: false } },
    ],
  },
});
