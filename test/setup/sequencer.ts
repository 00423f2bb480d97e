// Longest file first, across both projects, so the two workers end together instead of one running the
// last long file alone. Durations come from vitest's own cache of the last run on this machine, else
// from test/setup/durations.json (committed, for a fresh checkout: `node scripts/test-durations.mjs`).
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { BaseSequencer, type TestSpecification } from 'vitest/node';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function committed(): Record<string, number> {
  try {
    return JSON.parse(readFileSync(path.join(ROOT, 'test', 'setup', 'durations.json'), 'utf8')) as Record<string, number>;
  } catch {
    return {};
  }
}

export class LongestFirstSequencer extends BaseSequencer {
  override async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const known = committed();
    const weight = (spec: TestSpecification): number => {
      const file = path.relative(ROOT, spec.moduleId).split(path.sep).join('/');
      const cached = this.ctx.cache.getFileTestResults(`${spec.project.name}:${file}`);
      if (cached?.failed) return Number.POSITIVE_INFINITY; // what failed last runs first
      // A file never timed (new) runs early: it may be long, and an early long file costs nothing.
      return cached?.duration ?? known[file] ?? Number.MAX_SAFE_INTEGER;
    };
    return [...files].sort((a, b) => weight(b) - weight(a) || a.moduleId.localeCompare(b.moduleId));
  }
}
