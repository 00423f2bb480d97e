// Where this iact's bash/ and scripts/ are: the module runs from src/ (tests), dist/ (tsc) or
// dist/chunks/ (the bundled CLI), so walk up to the folder that holds bash/lib instead of counting '..'.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

let found: string | undefined;

export function packageDir(): string {
  if (found) return found;
  let dir = path.dirname(fileURLToPath(import.meta.url));
  while (!existsSync(path.join(dir, 'bash', 'lib', 'common.sh'))) {
    const parent = path.dirname(dir);
    if (parent === dir) throw new Error(`cannot find iact's bash/ folder above ${fileURLToPath(import.meta.url)}`);
    dir = parent;
  }
  found = dir;
  return dir;
}
