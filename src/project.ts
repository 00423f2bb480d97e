// Where things live in a user's repo (SPEC "Layout of a user's repo").
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

export function projectPaths(root: string, env: NodeJS.ProcessEnv = process.env): ProjectPaths {
  const iact = path.join(root, '.iact');
  const sandboxOverride = env.IACT_SANDBOX_ROOT ?? env.WASI_SANDBOX_DIR;
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
