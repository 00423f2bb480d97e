// I/O edge of `init:` (docs/data.md "Init"): what each entry stands for on disk now — a file, or the
// files of a directory sorted by name — with a hash of each one's content, so a plan sees a change.
import { createHash } from 'node:crypto';
import { readdir, readFile, stat } from 'node:fs/promises';
import path from 'node:path';
import { CATALOG } from '../catalog/index.js';
import { diag, type Diagnostic } from '../diagnostics.js';
import type { InitFile, ResolvedEnvironment, SandboxSpec } from '../model/types.js';

// The schema's rule for init paths: what sandbox.json's "PATH sha256:HEX" entries can carry.
const SAFE_PATH = /^[^\s'"\\\u0000-\u001f]{1,255}$/;

const hashOf = (content: Buffer): string => `sha256:${createHash('sha256').update(content).digest('hex').slice(0, 16)}`;

/** Fills `initFiles` of every sandbox with `init:`; a missing file, an unknown kind or an unsafe name is a diagnostic. */
export async function resolveInitFiles(resolved: ResolvedEnvironment): Promise<Diagnostic[]> {
  const diagnostics: Diagnostic[] = [];
  await Promise.all(
    Object.values(resolved.sandboxes)
      .filter((sb) => sb.init !== undefined)
      .map(async (sb) => {
        const files: InitFile[][] = await Promise.all(
          (sb.init ?? []).map((entry, index) => filesOf(resolved, sb, entry, index, diagnostics)),
        );
        sb.initFiles = files.flat();
      }),
  );
  return diagnostics;
}

async function filesOf(
  resolved: ResolvedEnvironment,
  sb: SandboxSpec,
  entry: string,
  index: number,
  out: Diagnostic[],
): Promise<InitFile[]> {
  const kinds = CATALOG[sb.service].initKinds ?? [];
  // Locations are mapped on first read: only a problem asks for them.
  const problem = (summary: string, fix: string) =>
    out.push(
      diag(summary, {
        location: resolved.locations[`sandboxes.${sb.name}.init.${index}`] ?? resolved.locations[`sandboxes.${sb.name}.init`],
        code: 'init.file',
        fix,
      }),
    );
  const absolute = path.resolve(resolved.root, entry);
  const relative = (file: string) => path.relative(resolved.root, file).split(path.sep).join('/');
  let info: import('node:fs').Stats;
  try {
    info = await stat(absolute);
  } catch {
    problem(
      `init file ${entry} of sandbox ${sb.name} does not exist`,
      `create ${entry}, or fix the path: init paths are relative to the project root (the folder that holds environments/)`,
    );
    return [];
  }
  const candidates: string[] = [];
  if (info.isDirectory()) {
    // Only the kinds the service runs; anything else there (a README) is left alone.
    const names = (await readdir(absolute, { withFileTypes: true }))
      .filter((d) => d.isFile() && kinds.includes(path.extname(d.name)))
      .map((d) => d.name);
    candidates.push(...names.sort().map((n) => path.join(absolute, n)));
  } else if (kinds.includes(path.extname(absolute))) {
    candidates.push(absolute);
  } else {
    problem(`init file ${entry} of sandbox ${sb.name} is not one a ${sb.service} sandbox runs`, `name it with one of ${kinds.join(', ')}`);
    return [];
  }
  const files: InitFile[] = [];
  for (const file of candidates) {
    const rel = relative(file);
    if (!SAFE_PATH.test(rel)) {
      problem(`init file ${rel} of sandbox ${sb.name} has a blank, quote, backslash or control character in its path`, 'rename it');
      continue;
    }
    files.push({ path: rel, hash: hashOf(await readFile(file)) });
  }
  return files;
}
