// Where things live in a user's repo (docs/manifest.md "Files").
import { existsSync, statSync } from 'node:fs';
import path from 'node:path';
import { DiagnosticError, diag } from './diagnostics.js';

export interface ProjectPaths {
  root: string;
  environments: string;
  iact: string;
  sandboxes: string;
  locks: string;
  history: string;
  envFiles: string;
  backups: string;
}

/** `--dir`, else the nearest ancestor of cwd that has an `environments/` folder. */
export function findProjectRoot(cwd: string, dir?: string): string {
  if (dir) {
    const abs = path.resolve(cwd, dir);
    if (!existsSync(abs) || !statSync(abs).isDirectory()) {
      throw new DiagnosticError(diag(`--dir ${dir} is not a directory`, { fix: 'pass the folder that holds environments/' }));
    }
    return abs;
  }
  let current = path.resolve(cwd);
  for (;;) {
    if (existsSync(path.join(current, 'environments'))) return current;
    const parent = path.dirname(current);
    if (parent === current) break;
    current = parent;
  }
  throw new DiagnosticError(
    diag(`no environments/ folder in ${cwd} or any parent`, {
      fix: 'run `iact init` to scaffold one, or pass --dir to point at your project',
    }),
  );
}

/**
 * `sandboxRoot`: IACT_SANDBOX_ROOT as the environment and the .env files set it (io/load.ts
 * sandboxRootSetting); without it, the process environment alone. Empty counts as unset, as in bash.
 */
export function projectPaths(root: string, env: NodeJS.ProcessEnv = process.env, sandboxRoot?: string): ProjectPaths {
  const iact = path.join(root, '.iact');
  const sandboxOverride = sandboxRoot || env.IACT_SANDBOX_ROOT || env.WASI_SANDBOX_DIR;
  return {
    root,
    environments: path.join(root, 'environments'),
    iact,
    sandboxes: sandboxOverride ? path.resolve(root, sandboxOverride) : path.join(iact, 'sandboxes'),
    locks: path.join(iact, 'locks'),
    history: path.join(iact, 'history'),
    envFiles: path.join(iact, 'env'),
    backups: path.join(iact, 'backups'),
  };
}

/**
 * What --env and --all can never mean, checked before anything is read: an empty --env (which
 * detection would silently replace) and --env together with --all.
 */
export function checkEnvironmentFlags(opts: { env?: unknown; all?: unknown }): void {
  const names = Array.isArray(opts.env) ? (opts.env as unknown[]) : opts.env === undefined ? [] : [opts.env];
  if (names.some((n) => typeof n === 'string' && n.trim() === '')) {
    throw new DiagnosticError(diag('--env needs an environment name', { fix: 'pass --env NAME (e.g. --env staging), or leave --env out to use the detected environment' }));
  }
  if (opts.all && names.length > 0) throw new DiagnosticError(diag('--env and --all exclude each other', { fix: 'pass one of them' }));
}
