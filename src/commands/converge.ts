// The apply/destroy flow shared by `iact apply`, `iact destroy` and `iact reconcile`:
// lock -> fresh plan -> stale check -> safety checks -> confirm -> execute -> env file -> history.
import { randomBytes } from 'node:crypto';
import { mkdir, unlink } from 'node:fs/promises';
import path from 'node:path';
import { DiagnosticError, diag, type Diagnostic } from '../diagnostics.js';
import { sensitiveSettingKeys, toDriverSpec } from '../drivers/spec.js';
import { parseBranchRef } from '../sandbox/branch.js';
import type { DriverSpec } from '../drivers/types.js';
import { nextApplied, writeApplied } from '../apply/applied.js';
import { appendHistory, type HistoryEvent } from '../apply/history.js';
import { acquireLock, parseDuration } from '../apply/lock.js';
import { countOutcomes, executePlan, summaryLine, type ActionResult, type ApplyEvent } from '../apply/executor.js';
import { liveReporter, plainReporter, recordReporter, type ApplyRecord, type ProgressReporter } from '../apply/progress.js';
import { renderEnvFile } from '../config/render.js';
import { summaryLine as planSummaryLine } from '../render/common.js';
import { buildPlan, withoutHeld } from '../plan/planner.js';
import { hasChanges, type Plan, type PlanInputs } from '../plan/types.js';
import { redact } from '../secrets/index.js';
import { withKept } from '../io/kept.js';
import { generatesPassword } from '../manifest/kept.js';
import { PORT_CHOSEN_AT_APPLY, type ResolvedEnvironment } from '../model/types.js';
import { freePort } from '../sandbox/free-port.js';
import type { CommandIO } from './io.js';
import { driverContext, envFilePath, lookupDriver, preparePlan, type Selected } from './shared.js';

export interface ConvergeOptions {
  command: string;
  verb: 'Apply' | 'Destroy';
  targets: string[];
  autoApprove: boolean;
  allowDestroy: boolean;
  backup: boolean;
  parallelism: number;
  lockTimeout: string;
  json: boolean;
  /** The `--json` records as objects (the library's onEvent); replaces the text output like --json does. */
  onRecord?: (record: ApplyRecord) => void;
  saved?: Plan;
  destroy: boolean;
  /** reconcile: no plan text, no prompt, a quiet reporter. */
  quiet?: boolean;
  /** reconcile: sandboxes backing off after failures; their changes (and their dependents') wait for a later pass. */
  hold?: ReadonlySet<string>;
  signal?: AbortSignal;
}

export type SummaryRecord = Extract<ApplyRecord, { type: 'summary' }>;

export interface ConvergeResult {
  exitCode: number;
  plan: Plan;
  results: ActionResult[];
  changed: boolean;
  /** The closing record of `apply --json`, also when there was nothing to do. */
  summary: SummaryRecord;
}

/** Why a saved plan no longer matches, in words a person can act on. */
export function explainStale(saved: PlanInputs, fresh: PlanInputs, manifestFile: string): string[] {
  const reasons: string[] = [];
  if (saved.manifest !== fresh.manifest) reasons.push(`${manifestFile} changed`);
  const names = new Set([...Object.keys(saved.variables), ...Object.keys(fresh.variables)]);
  for (const name of [...names].sort()) {
    if (!(name in fresh.variables)) reasons.push(`variable ${name} is no longer used`);
    else if (!(name in saved.variables)) reasons.push(`variable ${name} is newly used`);
    else if (saved.variables[name] !== fresh.variables[name]) reasons.push(`variable ${name} changed`);
  }
  const sandboxes = new Set([...Object.keys(saved.observed), ...Object.keys(fresh.observed)]);
  for (const name of [...sandboxes].sort()) {
    if (!(name in fresh.observed)) reasons.push(`sandbox ${name} disappeared from the machine`);
    else if (!(name in saved.observed)) reasons.push(`sandbox ${name} appeared on the machine`);
    else if (saved.observed[name] !== fresh.observed[name]) reasons.push(`sandbox ${name} changed on the machine`);
  }
  if (saved.env_file !== fresh.env_file) reasons.push('the connection-settings file on disk changed');
  return reasons.length > 0 ? reasons : ['the plan options (targets) differ'];
}

function reporterFor(io: CommandIO, options: ConvergeOptions, emit: ((record: ApplyRecord) => void) | undefined): ProgressReporter {
  if (emit) return recordReporter(emit);
  if (io.isTTY && !options.quiet) return liveReporter(io.stdout, io.color);
  return plainReporter(io.stdout);
}

/** --json writes the records to stdout; the library hands them to its caller. Messages are scrubbed either way. */
function recordSink(io: CommandIO, options: ConvergeOptions, secrets: readonly string[]): ((record: ApplyRecord) => void) | undefined {
  const target = options.onRecord ?? (options.json ? (record: ApplyRecord) => io.stdout(`${JSON.stringify(record)}\n`) : undefined);
  if (!target) return undefined;
  return (record) => target('message' in record && record.message ? { ...record, message: redact(record.message, secrets) } : record);
}

function summaryRecord(message: string, results: ActionResult[]): SummaryRecord {
  return { time: new Date().toISOString(), type: 'summary', message, ...countOutcomes(results) };
}

async function confirm(io: CommandIO, plan: Plan, options: ConvergeOptions): Promise<void> {
  if (options.autoApprove) return;
  if (!io.prompt) {
    throw new DiagnosticError(
      diag(`${options.verb.toLowerCase()} needs confirmation, and there is no terminal to ask on`, {
        fix:
          options.verb === 'Apply'
            ? 'pass --auto-approve, or save a reviewed plan with `iact plan --out FILE` and run `iact apply FILE`'
            : 'pass --auto-approve',
      }),
    );
  }
  const question =
    options.verb === 'Destroy'
      ? `\nDo you really want to destroy these sandboxes of ${plan.environment}? Only 'yes' will be accepted: `
      : `\nDo you want to perform these actions in ${plan.environment}? Only 'yes' will be accepted: `;
  const answer = (await io.prompt(question)).trim();
  if (answer !== 'yes') {
    throw new DiagnosticError(diag(`${options.verb} cancelled: the answer was not "yes"`, { fix: 'nothing was changed; run it again and type yes to proceed' }));
  }
}

function protectedDiagnostics(plan: Plan, options: ConvergeOptions): Diagnostic[] {
  if (options.allowDestroy) return [];
  const blocked = plan.changes
    .filter((c) => c.requiresAllowDestroy && (c.action === 'delete' || c.action === 'replace'))
    .map((c) =>
      diag(`${c.address} would be ${c.action === 'delete' ? 'deleted' : 'replaced'}, but it is protected${plan.environment === 'production' ? ' (every production sandbox is)' : ''}`, {
        detail: c.reasons.join('; '),
        fix: `review the plan, then rerun with --allow-destroy to let iact ${c.action} it`,
        code: 'apply.protected',
        subject: c.address,
      }),
    );
  if (blocked.length === 0 || !options.destroy) return blocked;
  // Nothing is deleted when one sandbox is refused: say what this destroy covers, so the rerun holds no surprise.
  const covered = plan.changes.filter((c) => c.action === 'delete').map((c) => `${c.address}${c.requiresAllowDestroy ? ' (protected)' : ''}`);
  return [
    ...blocked,
    diag(`nothing was destroyed; with --allow-destroy this destroy deletes ${covered.length} sandbox${covered.length === 1 ? '' : 'es'}`, {
      detail: covered.map((a) => `- ${a}`).join('\n'),
      fix: 'rerun with --allow-destroy to delete all of them, or with --target NAME for the unprotected ones only',
      code: 'destroy.refused',
    }),
  ];
}

/**
 * What the manifest leaves to the first apply (docs/data.md "Minimal manifests"): a free port, a
 * password. Drivers keep both (.meta, secrets/password); later loads read them back (src/io/kept.ts).
 */
async function chooseAtApply(resolved: ResolvedEnvironment): Promise<Record<string, { port?: number; password?: string }>> {
  const out: Record<string, { port?: number; password?: string }> = {};
  const claimed = new Set(Object.values(resolved.sandboxes).map((sb) => sb.port));
  for (const sb of Object.values(resolved.sandboxes)) {
    const values: { port?: number; password?: string } = {};
    if (sb.port === PORT_CHOSEN_AT_APPLY) {
      let port = await freePort();
      // Not one the manifest gives a sandbox that is not running yet, nor one chosen a moment ago.
      while (claimed.has(port) || port < 1024) port = await freePort();
      claimed.add(port);
      values.port = port;
    }
    if (generatesPassword(sb)) values.password = randomBytes(18).toString('base64url');
    if (values.port !== undefined || values.password !== undefined) out[sb.name] = values;
  }
  return out;
}

export async function converge(selected: Selected, environment: string, io: CommandIO, options: ConvergeOptions): Promise<ConvergeResult> {
  const paths = selected.paths;
  const reporterOut = options.json ? io.stderr : io.stdout;
  // Traversable, not listable: services run as their own users and must reach .iact/sandboxes.
  await mkdir(paths.iact, { recursive: true, mode: 0o711 });
  const lock = await acquireLock(paths.locks, environment, {
    command: options.command,
    timeoutMs: parseDuration(options.lockTimeout, '--lock-timeout'),
    onWarning: (m) => io.stderr(`warning: ${m}\n`),
    aborted: () => options.signal?.aborted ?? false,
  });
  const history: Promise<void>[] = [];
  let historyWarned = false;
  const record = (events: Omit<HistoryEvent, 'time' | 'environment' | 'command' | 'pid'>[]) =>
    history.push(
      appendHistory(
        paths.history,
        environment,
        events.map((e) => ({ time: new Date().toISOString(), environment, command: options.command, pid: process.pid, ...e })),
      ).catch((error: unknown) => {
        // Once per run: the apply goes on, and the same cause would repeat for every event.
        if (historyWarned) return;
        historyWarned = true;
        const code = (error as NodeJS.ErrnoException).code;
        io.stderr(`warning: could not write ${path.relative(paths.root, path.join(paths.history, `${environment}.jsonl`))}${code ? ` (${code})` : ''}; this run is not recorded\n  fix: check the owner and mode of ${paths.history} and the file in it\n`);
      }),
    );
  try {
    const prepared = await preparePlan(selected, environment, io, { targets: options.targets, refreshOnly: false, backup: options.backup }, options.signal);
    const { resolved } = prepared;
    let plan = prepared.plan;
    const secrets = resolved.secretValues;
    const say = (text: string) => reporterOut(redact(text, secrets));
    const emit = recordSink(io, options, secrets);

    if (options.destroy) {
      const envFile = envFilePath(paths, environment);
      plan = buildPlan({
        desired: { ...resolved, sandboxes: {} },
        observed: prepared.observation.observed,
        notices: prepared.observation.notices,
        unobservedDrivers: prepared.observation.unobservedDrivers,
        envFile: { path: envFile.relative, current: null },
        options: { targets: options.targets, refreshOnly: false, backup: options.backup },
      });
      // Protection follows the manifest too: 'protect: true' added but not yet applied still guards.
      const guarded = (name: string) => resolved.sandboxes[name]?.protect === true;
      // The planner's reason for a delete is a sandbox gone from the manifest; here the user asked for it.
      plan = {
        ...plan,
        changes: plan.changes.map((c) => ({
          ...c,
          reasons: c.action === 'delete' ? ['destroy requested'] : c.reasons,
          requiresAllowDestroy: c.requiresAllowDestroy || guarded(c.name),
        })),
      };
      const hadEnvFile = prepared.plan.inputs.env_file !== '';
      plan = { ...plan, config_changes: options.targets.length === 0 && hadEnvFile ? [{ path: envFile.relative, action: 'delete', diff: '' }] : [] };
      plan.summary.config = plan.config_changes.length;
    }

    if (options.hold) plan = withoutHeld(plan, options.hold);

    if (options.saved && options.saved.fingerprint !== plan.fingerprint) {
      throw new DiagnosticError(
        diag('Saved plan is stale', {
          detail: explainStale(options.saved.inputs, plan.inputs, resolved.file)
            .map((r) => `- ${r}`)
            .join('\n'),
          fix: 'make a new plan with `iact plan --out FILE`, review it, and apply that',
        }),
      );
    }

    const errors = plan.notices.filter((n) => n.severity === 'error');
    // The plan's own "No changes. X matches its manifest." would be wrong for a destroy: the manifest may list sandboxes.
    const nothing = hasChanges(plan)
      ? undefined
      : options.destroy
        ? `Nothing to destroy: ${options.targets.length > 0 ? `no sandbox named ${options.targets.join(', ')}` : 'no sandbox and no connection-settings file'} of ${environment} exists on this machine.`
        : planSummaryLine(plan);
    if (!options.quiet && !emit) {
      if (nothing && options.destroy && plan.notices.length === 0) say(`${nothing}\n`);
      else {
        const { renderPlanText } = await import('../render/text.js');
        say(renderPlanText(plan, { color: io.color }).replace(/\n?$/, '\n'));
      }
    }
    if (errors.length > 0) {
      throw new DiagnosticError(errors.map((n) => diag(n.summary, { detail: n.detail, fix: n.fix })));
    }
    if (nothing) {
      const summary = summaryRecord(nothing, []);
      emit?.(summary);
      return { exitCode: 0, plan, results: [], changed: false, summary };
    }
    const blocked = protectedDiagnostics(plan, options);
    if (blocked.length > 0) throw new DiagnosticError(blocked);
    if (!options.quiet) await confirm(io, plan, options);

    const specs: Record<string, DriverSpec> = {};
    const chosen = await chooseAtApply(resolved);
    for (const [name, sandbox] of Object.entries(resolved.sandboxes)) {
      specs[name] = toDriverSpec(environment, { ...sandbox, ...chosen[name] }, sensitiveSettingKeys(resolved, name));
      // A branch's source is in this environment's sandbox root (docs/data.md "Branches").
      if (sandbox.from) specs[name].from = { ...parseBranchRef(sandbox.from), environment, root: paths.sandboxes };
    }
    // Generated passwords are secrets like the manifest's: scrubbed from every message.
    for (const values of Object.values(chosen)) if (values.password) secrets.push(values.password);
    const backupDir = options.backup ? path.join(paths.backups, environment) : null;
    if (backupDir && plan.changes.some((c) => c.backup)) await mkdir(backupDir, { recursive: true, mode: 0o700 });
    if (!options.quiet && !emit) say('\n');

    // --json: the events are the machine-readable output (stdout); the human text went to stderr.
    const reporter = reporterFor({ ...io, stdout: say }, options, emit);
    const onEvent = (event: ApplyEvent) => {
      const safe = event.message ? { ...event, message: redact(event.message, secrets) } : event;
      reporter.event(safe);
      if (safe.type === 'end') {
        // The init files that ran, by hash (docs/data.md "Init"): a create runs them, an update with the step init again.
        const change = plan.changes.find((c) => c.name === safe.name);
        const ranInit = change && (change.steps.includes('init') || change.steps.includes('create')) && safe.outcome !== 'failed' && safe.outcome !== 'skipped';
        const init = ranInit ? specs[safe.name]?.init : undefined;
        record([
          { address: safe.address, action: safe.action, outcome: safe.outcome ?? 'unknown', duration_ms: safe.elapsedMs, error: safe.outcome === 'failed' ? safe.message : undefined, ...(init ? { init } : {}) },
        ]);
      }
    };
    const results = await executePlan(plan, {
      ctx: { ...driverContext(selected, environment, undefined), onWarning: (line) => io.stderr(`${redact(line, secrets)}\n`) },
      parallelism: options.parallelism,
      lookup: lookupDriver,
      specs,
      backupDir,
      onEvent,
      signal: options.signal,
    });

    await writeApplied(paths.iact, environment, nextApplied(prepared.lastApplied, results));
    const envFile = envFilePath(paths, environment);
    const config = plan.config_changes[0];
    // Settings that point at a sandbox apply did not converge would send applications to the wrong place.
    const bound = [resolved.connections.database?.sandbox, resolved.connections.cache?.sandbox];
    const unconverged = [
      ...results.filter((r) => (r.outcome === 'failed' || r.outcome === 'skipped') && bound.includes(r.name)).map((r) => r.address),
      // A sandbox reconcile holds back (backing off) did not converge either.
      ...[...(options.hold ?? [])].filter((n) => bound.includes(n)).map((n) => `sandbox.${n}`),
    ];
    if (config && config.action !== 'no-op' && config.action !== 'delete' && unconverged.length > 0) {
      reporter.line(`${envFile.relative}: left as it was, because ${unconverged.join(' and ')} did not converge; the next apply writes it`);
    } else if (config && config.action !== 'no-op') {
      if (config.action === 'delete') {
        await unlink(envFile.absolute).catch(() => undefined);
      } else {
        const { default: writeFileAtomic } = await import('write-file-atomic');
        await mkdir(paths.envFiles, { recursive: true, mode: 0o700 });
        // The ports and passwords chosen by this apply, as the drivers kept them.
        const settled = await withKept(paths.sandboxes, resolved);
        await writeFileAtomic(envFile.absolute, renderEnvFile(settled, { mask: false }), { mode: 0o600 });
      }
      reporter.line(`${envFile.relative}: ${config.action === 'create' ? 'written' : config.action === 'delete' ? 'removed' : 'updated'}`);
      record([{ address: envFile.relative, action: config.action, outcome: config.action === 'delete' ? 'deleted' : 'written' }]);
    }
    reporter.close();

    const counts = countOutcomes(results);
    const line = summaryLine(results, options.verb);
    const summary = summaryRecord(line, results);
    if (emit) emit(summary);
    else say(`\n${line}\n`);
    // Skipped actions (a failed dependency, an interrupt) leave the environment unconverged too.
    const unfinished = counts.failed > 0 || counts.skipped > 0;
    record([{ outcome: unfinished ? (options.signal?.aborted ? 'interrupted' : 'failed') : 'completed', error: unfinished ? line : undefined }]);
    return { exitCode: unfinished ? 1 : 0, plan, results, changed: true, summary };
  } finally {
    await Promise.all(history);
    await lock.release();
  }
}
