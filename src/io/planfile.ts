// Plan files on disk: atomic writes (mode 0600), reads with diagnostics. The only I/O of plan files.
import { readFile } from 'node:fs/promises';
import writeFileAtomic from 'write-file-atomic';
import { DiagnosticError, diag } from '../diagnostics.js';
import { parsePlanFile, serializePlanFile } from '../plan/planfile.js';
import type { Plan } from '../plan/types.js';

export async function writePlanFile(path: string, plan: Plan, now: Date = new Date()): Promise<void> {
  try {
    await writeFileAtomic(path, serializePlanFile(plan, now.toISOString()), { mode: 0o600 });
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code ?? 'error';
    throw new DiagnosticError(
      diag(`cannot write plan file ${path} (${code})`, {
        detail: error instanceof Error ? error.message : String(error),
        fix: 'check that its folder exists and is writable, or pass another --out path',
        code: 'planfile.write',
      }),
    );
  }
}

/** `shown` is the path as the user typed it (for messages); `path` is where to read. */
export async function readPlanFile(path: string, shown: string = path): Promise<Plan> {
  let text: string;
  try {
    text = await readFile(path, 'utf8');
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'ENOENT') {
      throw new DiagnosticError(
        diag(`plan file ${shown} not found`, {
          fix: `create it with \`iact plan --out ${shown}\`, or check the path`,
          code: 'planfile.missing',
        }),
      );
    }
    throw new DiagnosticError(
      diag(`cannot read plan file ${shown} (${code ?? 'error'})`, {
        detail: error instanceof Error ? error.message : String(error),
        fix: code === 'EISDIR' ? 'pass the plan file, not a folder' : 'check the file permissions',
        code: 'planfile.read',
      }),
    );
  }
  return parsePlanFile(text, shown);
}
