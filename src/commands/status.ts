// iact status [--env E] [--json]: live sandboxes, health, ports, data size, drift against the manifest.
import path from 'node:path';
import { redact } from '../secrets/index.js';
import { renderStatusText, statusReport, type StatusReport } from '../sandbox/status-view.js';
import type { CommandIO } from './io.js';
import { preparePlan, selectEnvironments } from './shared.js';

export default async function status(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const { report, secrets, location } = await runStatus(opts, io);
  const text = opts.json ? statusJson(report, secrets) : renderStatusText(report, { color: io.color, location });
  io.stdout(redact(text, secrets));
  return report.notices.some((n) => n.severity === 'error') ? 1 : 0;
}

/** The report of `iact status` for --dir/--env; the library calls it too. */
export async function runStatus(
  opts: Record<string, unknown>,
  io: CommandIO,
): Promise<{ report: StatusReport; secrets: string[]; location: string }> {
  const selected = selectEnvironments({ dir: opts.dir, env: opts.env }, io);
  const environment = selected.environments[0]!;
  const { plan, observation, resolved } = await preparePlan(selected, environment, io, { targets: [], refreshOnly: false, backup: false });
  const report = statusReport(plan, observation.observed, resolved.sandboxes);
  const location = path.relative(selected.root, path.join(selected.paths.sandboxes, environment)) || '.';
  return { report, secrets: resolved.secretValues, location };
}

/** What `iact status --json` prints (secrets scrubbed). */
export function statusJson(report: StatusReport, secrets: readonly string[]): string {
  return redact(`${JSON.stringify(report, null, 2)}\n`, secrets);
}
