// Vitest globalSetup: one docker engine for the whole run. A docker test file that finds no engine starts
// it (test/helpers/docker.ts ensureEngine) and leaves a note here instead of stopping it in its afterAll;
// the engine is stopped once, after the last file, if a test started it. Images are built once under a lock.
import { execFileSync } from 'node:child_process';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { TestProject } from 'vitest/node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

declare module 'vitest' {
  interface ProvidedContext {
    /** A directory for this run's notes between test files (test/helpers/docker.ts). */
    iactRunDir: string;
  }
}

export default function dockerEngine(project: TestProject): () => void {
  const runDir = mkdtempSync(path.join(tmpdir(), 'iact-test-run-'));
  project.provide('iactRunDir', runDir);
  return () => {
    if (existsSync(path.join(runDir, 'docker-engine-started'))) {
      execFileSync('bash', [path.join(ROOT, 'scripts', 'docker-engine.sh'), 'stop'], { stdio: 'ignore', timeout: 120_000 });
    }
    rmSync(runDir, { recursive: true, force: true });
  };
}
