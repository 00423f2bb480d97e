// iact apply [PLANFILE]: converge the machine to the manifest, safely and visibly.
import { availableParallelism } from 'node:os';
import path from 'node:path';
import { DiagnosticError, diag } from '../diagnostics.js';
import type { Plan } from '../plan/types.js';
import type { CommandIO } from './io.js';
import { converge, type ConvergeOptions, type ConvergeResult } from './converge.js';
import { selectEnvironments, targetsOf, withInterrupts } from './shared.js';

export function defaultParallelism(): number {
  return Math.min(8, Math.max(2, availableParallelism()));
}

export function parseParallelism(value: unknown): number {
  if (value === undefined) return defaultParallelism();
  // The flag arrives as the user's text: "4x" or "abc" is refused and echoed as typed, not as NaN.
  const n = typeof value === 'string' ? (/^\s*\d+\s*$/.test(value) ? Number(value) : Number.NaN) : Number(value);
  if (!Number.isInteger(n) || n < 1) {
    throw new DiagnosticError(diag(`--parallelism ${String(value)} is not a positive whole number`, { fix: 'pass e.g. --parallelism 4' }));
  }
  return n;
}

/** What the CLI and the library (src/library/lifecycle.ts) add to the parsed flags. */
export interface RunExtras {
  signal?: AbortSignal;
  onRecord?: ConvergeOptions['onRecord'];
}

export default async function apply(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const result = await withInterrupts(io, (signal) => runApply(opts, io, args, { signal }));
  return result.exitCode;
}

/** `iact apply` from its flags (`opts`, as commander names them) to the converge result. */
export async function runApply(
  opts: Record<string, unknown>,
  io: CommandIO,
  args: string[],
  extras: RunExtras = {},
): Promise<ConvergeResult> {
  const planFile = args[0];
  let saved: Plan | undefined;
  if (planFile) {
    // The saved plan fixes its targets; silently applying all of it would surprise.
    if (targetsOf(opts).length > 0) {
      throw new DiagnosticError(
        diag('--target cannot be combined with a saved plan', {
          fix: `the plan file already fixes its targets: make it with iact plan --target ${targetsOf(opts).join(' --target ')} --out FILE, then run iact apply FILE`,
        }),
      );
    }
    const { readPlanFile } = await import('../io/planfile.js');
    saved = await readPlanFile(path.resolve(io.cwd, planFile), planFile);
    if (typeof opts.env === 'string' && opts.env !== saved.environment) {
      throw new DiagnosticError(
        diag(`${planFile} is a plan for ${saved.environment}, not ${opts.env}`, {
          fix: `drop --env, or make a plan for ${opts.env} with iact plan --env ${opts.env} --out FILE`,
        }),
      );
    }
  }
  const selected = selectEnvironments({ dir: opts.dir, env: saved?.environment ?? opts.env }, io);
  const environment = selected.environments[0]!;
  const options: ConvergeOptions = {
    command: planFile ? `iact apply ${planFile}` : 'iact apply',
    verb: 'Apply',
    targets: saved ? saved.targets : targetsOf(opts),
    autoApprove: Boolean(opts.autoApprove) || saved !== undefined,
    allowDestroy: Boolean(opts.allowDestroy),
    backup: opts.backup !== false,
    parallelism: parseParallelism(opts.parallelism),
    lockTimeout: typeof opts.lockTimeout === 'string' ? opts.lockTimeout : '0s',
    json: Boolean(opts.json),
    saved,
    destroy: false,
    ...extras,
  };
  return converge(selected, environment, io, options);
}
