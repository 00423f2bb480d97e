// Where this iact's bash/ and scripts/ are: the module runs from src/ (tests), dist/ (tsc) or
// dist/chunks/ (the bundled CLI), so walk up to the folder that holds bash/lib instead of counting '..'.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { DiagnosticError, diag } from './diagnostics.js';

let found: string | undefined;

export function packageDir(): string {
  if (found) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'bash', 'lib', 'common.sh'))) {
    const parent = path.dirname(dir);
    if (parent === dir) {
      throw new DiagnosticError(
        diag(`this iact install is incomplete: no bash/lib/common.sh above ${fileURLToPath(import.meta.url)}`, {
          code: 'install.bash_missing',
          fix: 'reinstall iact (npm ci in its folder); a copied dist/ must keep bash/ and scripts/ beside it',
        }),
      );
    }
    dir = parent;
  }
  found = dir;
  return dir;
}
