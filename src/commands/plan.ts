// iact plan: compare the manifest with the machine and show what apply would do.
import { DiagnosticError, diag, formatDiagnostics } from '../diagnostics.js';
import type { PlanOptions } from '../plan/planner.js';
import { hasChanges, type Plan } from '../plan/types.js';
import { redact } from '../secrets/index.js';
import type { CommandIO } from './io.js';
import { preparePlan, selectEnvironments, targetsOf } from './shared.js';

type Format = 'text' | 'json' | 'markdown';

/** --target and --refresh-only as the planner takes them; the library maps its options through here too. */
export function planOptions(opts: Record<string, unknown>): PlanOptions {
  return { targets: targetsOf(opts), refreshOnly: Boolean(opts.refreshOnly), backup: true };
}

export default async function plan(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const selected = selectEnvironments(opts, io);
  const format = (opts.format as Format | undefined) ?? 'text';
  const out = typeof opts.out === 'string' ? opts.out : undefined;
  if (out && selected.environments.length > 1) {
    throw new DiagnosticError(diag('--out saves the plan of one environment', { fix: 'drop --all and pass --env NAME' }));
  }
  if (out && opts.refreshOnly) {
    throw new DiagnosticError(
      diag('a refresh-only plan changes nothing, so it cannot be saved for apply', {
        fix: 'drop --refresh-only to save a plan that apply can perform, or drop --out to just see the drift',
      }),
    );
  }
  const options = planOptions(opts);
  // Loaded while the drivers' status scans run rather than after them.
  const renderers = import('../render/index.js');
  renderers.catch(() => undefined); // awaited below; no unhandled rejection if planning throws first

  const plans: Plan[] = [];
  const secrets: string[] = [];
  const several = selected.environments.length > 1;
  let failedEnvironments = 0;
  const targetsFound = new Set<string>();
  for (const environment of selected.environments) {
    try {
      // With --all, one environment's error (or a target only another has) does not hide the others' plans.
      const prepared = await preparePlan(selected, environment, io, options, undefined, several);
      plans.push(prepared.plan);
      secrets.push(...prepared.resolved.secretValues);
      for (const t of options.targets) if (!prepared.unknownTargets.includes(t)) targetsFound.add(t);
    } catch (error) {
      if (!several || !(error instanceof DiagnosticError)) throw error;
      failedEnvironments++;
      io.stderr(`${environment}: not planned\n${formatDiagnostics(error.diagnostics)}\n\n`);
    }
  }
  if (plans.length === 0) return 1; // every environment failed, each said why above
  const nowhere = several && failedEnvironments === 0 ? options.targets.filter((t) => !targetsFound.has(t)) : [];
  if (nowhere.length > 0) {
    throw new DiagnosticError(
      nowhere.map((t) =>
        diag(`--target ${t}: no sandbox of that name in any environment`, { fix: 'check the name with iact status --env NAME' }),
      ),
    );
  }

  const { renderPlans } = await renderers;
  const rendered = renderPlans(plans, format, { color: io.color && format === 'text', array: Boolean(opts.all) });
  io.stdout(redact(rendered.endsWith('\n') ? rendered : `${rendered}\n`, secrets));

  if (out) {
    const { writePlanFile } = await import('../io/planfile.js');
    await writePlanFile(out, plans[0]!);
    if (format === 'text') io.stderr(`Saved the plan to ${out}. To perform exactly these actions, run: iact apply ${out}\n`);
  }

  const failed = failedEnvironments > 0 || plans.some((p) => p.notices.some((n) => n.severity === 'error'));
  if (failed) return 1;
  if (opts.detailedExitcode && plans.some(hasChanges)) return 2;
  return 0;
}
