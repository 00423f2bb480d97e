// Vitest globalSetup: the CLI tests run dist/, so a dist/ missing or older than src/ is rebuilt once
// before any test runs; a stale build is never tested (CONTRIBUTING.md "Tests").
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', '..');

function newestIn(dir: string): { file: string; mtime: number } {
  let newest = { file: dir, mtime: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    const candidate = entry.isDirectory() ? newestIn(full) : { file: full, mtime: statSync(full).mtimeMs };
    if (candidate.mtime > newest.mtime) newest = candidate;
  }
  return newest;
}

function staleBecause(): string | undefined {
  const cli = path.join(ROOT, 'dist', 'cli.js');
  if (!existsSync(cli)) return 'dist/cli.js is missing';
  const source = newestIn(path.join(ROOT, 'src'));
  return source.mtime > statSync(cli).mtimeMs ? `dist/cli.js is older than ${path.relative(ROOT, source.file)}` : undefined;
}

export default function freshBuild(): void {
  const reason = staleBecause();
  if (!reason) return;
  process.stderr.write(`${reason}: building before the tests (npm run build)\n`);
  try {
    execFileSync('npm', ['run', 'build', '--silent'], { cwd: ROOT, stdio: ['ignore', 'ignore', 'inherit'] });
  } catch {
    throw new Error(`${reason} and npm run build failed (its errors are above)\n  fix: make npm run build pass, then run the tests again`);
  }
}
