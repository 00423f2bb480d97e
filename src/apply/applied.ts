// Which sandboxes the last apply left in place (.iact/applied/<env>.json), so a plan can tell a
// sandbox deleted behind iact's back from one never created.
import { mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import type { ActionResult } from './executor.js';

interface AppliedFile {
  format_version: 1;
  sandboxes: string[];
}

export function appliedFile(iactDir: string, environment: string): string {
  return path.join(iactDir, 'applied', `${environment}.json`);
}

export async function readApplied(iactDir: string, environment: string): Promise<string[]> {
  try {
    const parsed = JSON.parse(await readFile(appliedFile(iactDir, environment), 'utf8')) as Partial<AppliedFile>;
    return Array.isArray(parsed.sandboxes) ? parsed.sandboxes.filter((s): s is string => typeof s === 'string') : [];
  } catch {
    return []; // absent or unreadable: only the drift hint is lost
  }
}

/** Pure: the set after an apply. */
export function nextApplied(previous: string[], results: ActionResult[]): string[] {
  const names = new Set(previous);
  for (const r of results) {
    if (r.outcome === 'deleted') names.delete(r.name);
    else if (r.outcome !== 'failed' && r.outcome !== 'skipped') names.add(r.name);
  }
  return [...names].sort();
}

export async function writeApplied(iactDir: string, environment: string, sandboxes: string[]): Promise<void> {
  const file = appliedFile(iactDir, environment);
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  const { default: writeFileAtomic } = await import('write-file-atomic');
  const content: AppliedFile = { format_version: 1, sandboxes };
  await writeFileAtomic(file, `${JSON.stringify(content)}\n`, { mode: 0o600 });
}
