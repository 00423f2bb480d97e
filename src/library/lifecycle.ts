// plan, apply, destroy and status from TypeScript (an automation API in Pulumi's sense): the same
// command modules the CLI runs, with their output as data instead of text. See README "From TypeScript".
import { DiagnosticError, diag, systemErrorDiagnostic, type Diagnostic } from '../diagnostics.js';
import type { ApplyRecord } from '../apply/progress.js';
import type { ActionResult } from '../apply/executor.js';
import type { Plan } from '../plan/types.js';
import type { StatusReport } from '../sandbox/status-view.js';
import type { CommandIO } from '../commands/io.js';
import type { ConvergeResult, SummaryRecord } from '../commands/converge.js';

export type { ApplyRecord, StatusReport, SummaryRecord };

/** Where and on what: the CLI's --dir and --env, plus the process the CLI would run in. */
export interface ProjectOptions {
  /** Project root (--dir); default: the nearest ancestor of `cwd` with environments/. */
  dir?: string;
  /** Environment (--env); default: detected as the CLI does (IACT_ENV, ENVIRONMENT, ... then development). */
  env?: string;
  /** Where the project is looked for; default process.cwd(). */
  cwd?: string;
  /** Variables for interpolation and detection; default process.env. */
  variables?: NodeJS.ProcessEnv;
  /** Warnings the CLI prints on stderr (a lock taken over, manifest warnings); default: process.stderr. */
  log?: (text: string) => void;
}

export interface PlanRequest extends ProjectOptions {
  /** --target: only these sandboxes. */
  targets?: string[];
  /** --refresh-only: report drift, change nothing. */
  refreshOnly?: boolean;
}

/** apply and destroy never ask: the call is the approval (the CLI's --auto-approve). */
export interface ApplyRequest extends ProjectOptions {
  targets?: string[];
  /** --parallelism; default: cores, at most 8. */
  parallelism?: number;
  /** --allow-destroy: protected and production sandboxes may be deleted or replaced. */
  allowDestroy?: boolean;
  /** --no-backup: no backup before data-loss actions. */
  noBackup?: boolean;
  /** --lock-timeout, e.g. "30s"; default: fail at once when another apply holds the lock. */
  lockTimeout?: string;
  /** Each `apply --json` record as it happens (begin, end, note, message, then summary). */
  onEvent?: (event: ApplyRecord) => void;
  /** Once aborted, running actions finish, no new one begins, the lock is released. */
  signal?: AbortSignal;
}

export interface ApplyResult {
  /** The plan that was carried out, as `iact plan --format json` prints it. */
  plan: Plan;
  /** Every record `apply --json` printed, in order; the last is `summary`. */
  events: ApplyRecord[];
  summary: SummaryRecord;
  /** Per sandbox: what was done and how long it took. */
  results: ActionResult[];
}

/** Every failure of plan, apply, destroy and status: the CLI's diagnostics (summary, location, fix). */
export class IactError extends DiagnosticError {
  /** Set when apply or destroy ran and some actions failed or were skipped: what did happen. */
  readonly result?: ApplyResult;
  constructor(diagnostics: Diagnostic | Diagnostic[], result?: ApplyResult) {
    super(diagnostics);
    this.name = 'IactError';
    this.result = result;
  }
}

function commandIO(options: ProjectOptions): CommandIO {
  const log = options.log ?? ((text: string) => void process.stderr.write(text));
  // stdout carries only what the records and return values already hold.
  return {
    cwd: options.cwd ?? process.cwd(),
    env: options.variables ?? process.env,
    stdout: () => undefined,
    stderr: log,
    isTTY: false,
    color: false,
  };
}

/** DiagnosticError and file-system errors become IactError; anything else is a bug and stays as thrown. */
async function diagnosed<T>(run: () => Promise<T>): Promise<T> {
  try {
    return await run();
  } catch (error) {
    if (error instanceof IactError) throw error;
    if (error instanceof DiagnosticError) throw new IactError(error.diagnostics);
    const system = systemErrorDiagnostic(error);
    if (system) throw new IactError(system);
    throw error;
  }
}

const flags = (options: ProjectOptions) => ({ dir: options.dir, env: options.env });

async function planJson(plan: Plan): Promise<Plan> {
  const { planToJson } = await import('../plan/json.js');
  return JSON.parse(JSON.stringify(planToJson(plan))) as Plan;
}

/** `iact plan --format json` for one environment: what apply would do. Changes nothing. */
export function plan(options: PlanRequest = {}): Promise<Plan> {
  return diagnosed(async () => {
    const io = commandIO(options);
    const [{ planOptions }, { preparePlan, selectEnvironments }] = await Promise.all([
      import('../commands/plan.js'),
      import('../commands/shared.js'),
    ]);
    const opts = { ...flags(options), target: options.targets, refreshOnly: options.refreshOnly };
    const selected = selectEnvironments(opts, io);
    const prepared = await preparePlan(selected, selected.environments[0]!, io, planOptions(opts));
    return planJson(prepared.plan);
  });
}

async function converged(
  options: ApplyRequest,
  run: (
    opts: Record<string, unknown>,
    io: CommandIO,
    extras: { signal?: AbortSignal; onRecord: (r: ApplyRecord) => void },
  ) => Promise<ConvergeResult>,
): Promise<ApplyResult> {
  const events: ApplyRecord[] = [];
  const onRecord = (record: ApplyRecord) => {
    events.push(record);
    options.onEvent?.(record);
  };
  const opts = {
    ...flags(options),
    target: options.targets,
    autoApprove: true,
    parallelism: options.parallelism,
    allowDestroy: options.allowDestroy,
    backup: !options.noBackup,
    lockTimeout: options.lockTimeout,
  };
  const outcome = await run(opts, commandIO(options), { signal: options.signal, onRecord });
  const result: ApplyResult = { plan: await planJson(outcome.plan), events, summary: outcome.summary, results: outcome.results };
  if (outcome.exitCode !== 0) {
    const unfinished = outcome.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped');
    throw new IactError(
      unfinished.length > 0
        ? unfinished.map((r) =>
            diag(`${r.address}: ${r.action} ${r.outcome}`, {
              detail: r.message,
              fix:
                r.outcome === 'failed'
                  ? 'fix the cause above, then apply again: what converged is kept'
                  : 'it waited for a sandbox that failed, or the run was aborted; apply again',
            }),
          )
        : [diag(outcome.summary.message, { fix: 'see the events for the cause' })],
      result,
    );
  }
  return result;
}

/** `iact apply --auto-approve --json`: converge the environment; resolves with its records and summary. */
export function apply(options: ApplyRequest = {}): Promise<ApplyResult> {
  return diagnosed(async () => {
    const { runApply } = await import('../commands/apply.js');
    return converged(options, (opts, io, extras) => runApply(opts, io, [], extras));
  });
}

/** `iact destroy --auto-approve --json`: delete the environment's sandboxes (a backup first unless noBackup). */
export function destroy(options: ApplyRequest = {}): Promise<ApplyResult> {
  return diagnosed(async () => {
    const { runDestroy } = await import('../commands/destroy.js');
    return converged(options, runDestroy);
  });
}

/** `iact status --json`: every sandbox of the environment, live. */
export function status(options: ProjectOptions = {}): Promise<StatusReport> {
  return diagnosed(async () => {
    const { runStatus, statusJson } = await import('../commands/status.js');
    const { report, secrets } = await runStatus(flags(options), commandIO(options));
    return JSON.parse(statusJson(report, secrets)) as StatusReport;
  });
}
