// `iact show PLANFILE [--format text|json|markdown]`: render a saved plan.
import path from 'node:path';
import { readPlanFile } from '../io/planfile.js';
import { renderPlans } from '../render/index.js';
import type { PlanFormat } from '../render/index.js';
import type { CommandIO } from './io.js';

export default async function show(opts: Record<string, unknown>, io: CommandIO, args: string[]): Promise<number> {
  const file = args[0];
  if (!file) {
    io.stderr('error: missing plan file\n  fix: iact show PLANFILE (a file written by `iact plan --out PLANFILE`)\n');
    return 1;
  }
  const format = (opts.format as PlanFormat | undefined) ?? 'text';
  const plan = await readPlanFile(path.resolve(io.cwd, file), file);
  io.stdout(renderPlans([plan], format, { color: io.color && format === 'text' }));
  return 0;
}
