// I/O edge for `iact diff`: read manifests and .env.example from a git revision (`git show`,
// `git ls-tree`) or from the working tree, without a checkout. Nothing here interprets them.
import { readdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { DiagnosticError, diag } from '../diagnostics.js';
import type { ManifestSet } from '../diff/types.js';
import { MAX_DOTENV_BYTES } from '../manifest/dotenv.js';
import { MAX_MANIFEST_BYTES, tooLargeDiagnostic } from '../manifest/yaml.js';
import { readProjectText } from '../io/files.js';

/** The manifests and .env.example of one side of a diff. */
export type Snapshot = ManifestSet;

export const WORKING_TREE = 'working tree';
const MANIFEST_NAME = /^([a-z][a-z0-9_-]{0,62})\.(yaml|yml)$/;

async function git(cwd: string, args: string[]): Promise<{ stdout: string; stderr: string; exitCode: number }> {
  try {
    const result = await execa('git', args, { cwd, reject: false, stripFinalNewline: false, env: { GIT_TERMINAL_PROMPT: '0', LC_ALL: 'C' } });
    if ((result as { code?: string }).code === 'ENOENT') throw new Error('git: command not found');
    return { stdout: String(result.stdout ?? ''), stderr: String(result.stderr ?? ''), exitCode: result.exitCode ?? 1 };
  } catch (error) {
    throw new DiagnosticError(
      diag('git could not be run', {
        code: 'git.missing',
        detail: error instanceof Error ? error.message : String(error),
        fix: 'install git (apt-get install git) and make sure it is on PATH',
      }),
    );
  }
}

/** Where the project root sits in its git repository: the repository's top folder and the root's prefix ("" or "app/"). */
export async function gitLocation(root: string): Promise<{ top: string; prefix: string }> {
  const result = await git(root, ['rev-parse', '--show-toplevel', '--show-prefix']);
  if (result.exitCode !== 0) {
    throw new DiagnosticError(
      diag(`${root} is not inside a git repository`, {
        code: 'git.not-a-repository',
        detail: result.stderr.trim() || undefined,
        fix: 'run iact diff --from inside a git clone of the project, or compare environments with --env A --env B',
      }),
    );
  }
  const [top = root, prefix = ''] = result.stdout.split('\n');
  return { top, prefix };
}

/** The commit a ref names, or a diagnostic that says how to get it (shallow CI clones lack the base branch). */
export async function resolveRef(root: string, ref: string, flag: string): Promise<string> {
  // A ref beginning with '-' would be read by git as an option.
  if (ref === '' || ref.startsWith('-') || /[\0\s]/.test(ref)) {
    throw new DiagnosticError(diag(`${flag} ${JSON.stringify(ref)} is not a git revision`, { code: 'git.bad-ref', fix: `pass a branch, tag or commit, e.g. ${flag} origin/main or ${flag} HEAD~1` }));
  }
  const result = await git(root, ['rev-parse', '--verify', '--quiet', '--end-of-options', `${ref}^{commit}`]);
  if (result.exitCode !== 0) {
    throw new DiagnosticError(
      diag(`unknown git revision ${JSON.stringify(ref)} (${flag})`, {
        code: 'git.unknown-ref',
        detail: 'git rev-parse knows no commit by that name in this clone',
        fix: ref.includes('/')
          ? `fetch it first (git fetch origin ${ref.replace(/^[^/]+\//, '')}); in GitHub Actions use actions/checkout with fetch-depth: 0`
          : `check the spelling (git log --oneline, git branch -a), or fetch it; in GitHub Actions use actions/checkout with fetch-depth: 0`,
      }),
    );
  }
  return result.stdout.trim();
}

/** Manifests and .env.example as they are in `commit`. */
export async function readRevision(root: string, ref: string, commit: string): Promise<Snapshot> {
  const { prefix } = await gitLocation(root);
  // ls-tree takes paths relative to the working directory (the project root) and, with --full-name, prints them from the top.
  const listing = await git(root, ['ls-tree', '-z', '--full-name', '--name-only', commit, '--', 'environments/']);
  if (listing.exitCode !== 0) {
    throw new DiagnosticError(diag(`git ls-tree failed for ${ref}`, { code: 'git.failed', detail: listing.stderr.trim(), fix: 'run `git ls-tree HEAD environments/` to see what git says' }));
  }
  const manifests = new Map<string, { file: string; text: string }>();
  const files = listing.stdout
    .split('\0')
    .filter(Boolean)
    .map((full) => full.slice(prefix.length))
    .sort();
  for (const file of files) {
    const match = MANIFEST_NAME.exec(path.posix.basename(file));
    if (!match || path.posix.dirname(file) !== 'environments') continue;
    const environment = match[1]!;
    // .yaml wins over .yml, as when loading from the working tree.
    if (manifests.has(environment) && match[2] === 'yml') continue;
    manifests.set(environment, { file, text: await showFile(root, commit, `${prefix}${file}`, file, ref) });
  }
  const example = await git(root, ['cat-file', '-e', `${commit}:${prefix}.env.example`]);
  const envExample = example.exitCode === 0 ? await showFile(root, commit, `${prefix}.env.example`, '.env.example', ref) : undefined;
  return { label: ref, commit, manifests, ...(envExample !== undefined ? { envExample } : {}) };
}

async function showFile(root: string, commit: string, fullPath: string, file: string, ref: string): Promise<string> {
  const result = await git(root, ['show', `${commit}:${fullPath}`]);
  if (result.exitCode !== 0) {
    throw new DiagnosticError(diag(`could not read ${file} at ${ref}`, { code: 'git.failed', detail: result.stderr.trim(), fix: `check it with: git show ${ref}:${fullPath}` }));
  }
  if (result.stdout.length > MAX_MANIFEST_BYTES) throw new DiagnosticError(tooLargeDiagnostic(`${file} (at ${ref})`, result.stdout.length));
  return result.stdout;
}

/** Manifests and .env.example as they are on disk now. */
export function readWorkingTree(root: string): Snapshot {
  const manifests = new Map<string, { file: string; text: string }>();
  let entries: string[] = [];
  try {
    entries = readdirSync(path.join(root, 'environments')).sort();
  } catch {
    // no environments/ folder: every manifest was removed
  }
  for (const name of entries) {
    const match = MANIFEST_NAME.exec(name);
    if (!match) continue;
    const environment = match[1]!;
    if (manifests.has(environment) && match[2] === 'yml') continue;
    const file = `environments/${name}`;
    // Regular files only, size-capped before reading (docs/manifest.md "Files").
    const text = readProjectText(path.join(root, file), file, MAX_MANIFEST_BYTES, 'manifests');
    if (text !== undefined) manifests.set(environment, { file, text });
  }
  let envExample: string | undefined;
  try {
    envExample = readProjectText(path.join(root, '.env.example'), '.env.example', MAX_DOTENV_BYTES, '.env files');
  } catch {
    envExample = undefined;
  }
  return { label: WORKING_TREE, manifests, ...(envExample !== undefined ? { envExample } : {}) };
}
