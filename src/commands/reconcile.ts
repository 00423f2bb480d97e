// iact reconcile [--env E] [--interval 30s] [--once]: the GitOps loop. Each pass is level-based
// (observe everything, plan, apply what differs) and ends with one JSON line on stdout.
import { parseDuration } from '../apply/lock.js';
import { DiagnosticError, diag, formatLocation } from '../diagnostics.js';
import { DriverError } from '../drivers/errors.js';
import { redact } from '../secrets/index.js';
import { defaultParallelism } from './apply.js';
import { converge, type ConvergeOptions, type ConvergeResult } from './converge.js';
import type { CommandIO } from './io.js';
import { loadResolved, selectEnvironments, withInterrupts } from './shared.js';

/** Repeated failures wait longer, up to this many intervals; a success resets it. */
export const MAX_BACKOFF_FACTOR = 10;

export interface PassLog {
  time: string;
  environment: string;
  pass: number;
  changes_found: number;
  applied: number;
  failed: number;
  duration_ms: number;
  /** Set when the pass did not run because another apply held the lock. */
  skipped?: 'locked';
  /** Protected (or production) sandboxes the manifest would delete or replace: left alone, counted as failed. */
  refused?: string[];
  actions?: { address: string; action: string; outcome: string }[];
  error?: string;
  /** Set on a failed pass: whether the next pass may succeed without a change to the manifest. */
  retryable?: boolean;
  /** Milliseconds until the next pass (absent after the last one). */
  next_pass_in_ms?: number;
  /** Sandboxes left alone this pass: each backs off after its own failures (the others heal every interval). */
  held?: string[];
}

/**
 * ok: converged. refused: converged except protected sandboxes (needs a person, not a retry).
 * failed: the pass itself failed (the manifest, the drivers); sandbox-failed: some sandboxes' actions
 * failed, and only they back off (docs/commands.md "reconcile").
 */
export type PassOutcome = 'ok' | 'refused' | 'failed' | 'sandbox-failed' | 'locked';

/** Per sandbox: failures in a row and when it may be tried again. */
export interface SandboxBackoff {
  failures: number;
  until: number;
}

/**
 * Pure: the backoff of each sandbox after a pass's results; a success forgets it, a failure waits
 * nextDelay() of its own count (a sandbox that fails never delays the others' healing).
 */
export function nextBackoff(
  backoff: ReadonlyMap<string, SandboxBackoff>,
  results: readonly { name: string; outcome: string; retryable?: boolean }[],
  intervalMs: number,
  now: number,
): Map<string, SandboxBackoff> {
  const next = new Map(backoff);
  for (const r of results) {
    if (r.outcome === 'failed') {
      const failures = (next.get(r.name)?.failures ?? 0) + 1;
      next.set(r.name, { failures, until: now + nextDelay(intervalMs, failures, r.retryable ?? true) });
    } else if (r.outcome !== 'skipped') next.delete(r.name);
  }
  return next;
}

/**
 * Pure: the wait after a pass, given how many passes in a row have failed and whether the last
 * failure is one a retry may fix (DriverError.retryable); one that needs a manifest change waits longest.
 */
export function nextDelay(intervalMs: number, consecutiveFailures: number, retryable = true): number {
  if (consecutiveFailures <= 0) return intervalMs;
  if (!retryable) return intervalMs * MAX_BACKOFF_FACTOR;
  return intervalMs * Math.min(2 ** consecutiveFailures, MAX_BACKOFF_FACTOR);
}

function errorText(error: unknown): string {
  if (error instanceof DiagnosticError) {
    // file:line first, as iact validate prints it: a log reader must find the line to fix.
    return error.diagnostics
      .map((d) =>
        [d.location ? `${formatLocation(d.location)} ${d.summary}` : d.summary, d.detail, d.fix ? `fix: ${d.fix}` : undefined]
          .filter(Boolean)
          .join(': '),
      )
      .join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

/** Names of the sandboxes a refusal names, when every diagnostic is a protection refusal; else null. */
export function refusedSandboxes(error: unknown): string[] | null {
  if (!(error instanceof DiagnosticError) || error.diagnostics.length === 0) return null;
  const names = error.diagnostics.map((d) =>
    d.code === 'apply.protected' && d.subject?.startsWith('sandbox.') ? d.subject.slice('sandbox.'.length) : undefined,
  );
  return names.every((n): n is string => n !== undefined) ? names : null;
}

function isLockHeld(error: unknown): boolean {
  return error instanceof DiagnosticError && error.diagnostics.some((d) => d.code === 'lock.held');
}

/** Sleep that an abort ends early. */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done, { once: true });
  });
}

export default async function reconcile(opts: Record<string, unknown>, io: CommandIO): Promise<number> {
  const selected = selectEnvironments({ dir: opts.dir, env: opts.env }, io);
  const environment = selected.environments[0]!;
  const intervalMs = parseDuration(typeof opts.interval === 'string' ? opts.interval : '30s', '--interval');
  if (intervalMs <= 0) {
    throw new DiagnosticError(diag(`--interval ${String(opts.interval)} must be longer than 0`, { fix: 'write it like 30s, 5m or 1h' }));
  }
  const once = Boolean(opts.once);
  // Progress and plan notes go to stderr: stdout carries exactly one JSON line per pass.
  const passIO: CommandIO = { ...io, stdout: io.stderr, isTTY: false, prompt: undefined };

  /** One level-based pass: observe, plan, apply what differs; fills `entry`. */
  let backoff = new Map<string, SandboxBackoff>();
  const runPass = async (pass: number, entry: PassLog, signal: AbortSignal): Promise<{ outcome: PassOutcome; secrets: string[] }> => {
    let secrets: string[] = [];
    const now = Date.now();
    const hold = new Set([...backoff].filter(([, b]) => b.until > now).map(([name]) => name));
    if (hold.size > 0) entry.held = [...hold].sort().map((n) => `sandbox.${n}`);
    const options = (targets: string[]): ConvergeOptions => ({
      command: `iact reconcile (pass ${pass})`,
      verb: 'Apply',
      targets,
      autoApprove: true,
      allowDestroy: false,
      backup: true,
      parallelism: defaultParallelism(),
      lockTimeout: '0s',
      json: false,
      destroy: false,
      quiet: true,
      signal,
      hold,
    });
    try {
      // The manifest and .env are re-read every pass: a merged change is picked up without a restart.
      const resolved = await loadResolved(selected.root, environment, io.env);
      secrets = resolved.secretValues;
      let result: ConvergeResult;
      let refused: string[] = [];
      try {
        result = await converge(selected, environment, passIO, options([]));
      } catch (error) {
        const blocked = refusedSandboxes(error);
        if (!blocked) throw error;
        // Protected sandboxes wait for a person; everything else still converges (self-healing goes on).
        refused = blocked;
        entry.refused = blocked.map((n) => `sandbox.${n}`);
        entry.error = errorText(error);
        const rest = Object.keys(resolved.sandboxes).filter((n) => !blocked.includes(n));
        if (rest.length === 0) {
          entry.changes_found = blocked.length;
          entry.failed = blocked.length;
          return { outcome: 'refused', secrets };
        }
        try {
          result = await converge(selected, environment, passIO, options(rest));
        } catch (second) {
          if (refusedSandboxes(second) === null) throw second;
          entry.changes_found = blocked.length;
          entry.failed = blocked.length;
          return { outcome: 'refused', secrets };
        }
      }
      const plan = result.plan;
      const found = plan
        ? plan.changes.filter((c) => c.action !== 'no-op').length + plan.config_changes.filter((c) => c.action !== 'no-op').length
        : 0;
      entry.changes_found = found + refused.length;
      // converge writes the connection-settings file once it went past planning (result.changed).
      const configWritten = result.changed && plan ? plan.config_changes.filter((c) => c.action !== 'no-op').length : 0;
      entry.applied = result.results.filter((r) => r.outcome !== 'failed' && r.outcome !== 'skipped').length + configWritten;
      const failedActions = result.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped').length;
      entry.failed = failedActions + refused.length;
      if (result.results.length > 0)
        entry.actions = result.results.map((r) => ({ address: r.address, action: r.action, outcome: r.outcome }));
      const failedResults = result.results.filter((r) => r.outcome === 'failed');
      const messages = failedResults.filter((r) => r.message).map((r) => `${r.address}: ${r.message}`);
      // A failure the drivers call retryable (a port in use, a lock, a slow start) may pass next time.
      if (failedResults.length > 0) entry.retryable = failedResults.some((r) => r.retryable !== false);
      if (entry.error) messages.unshift(entry.error);
      if (messages.length > 0) entry.error = messages.join('; ');
      backoff = nextBackoff(backoff, result.results, intervalMs, Date.now());
      if (failedResults.length > 0) return { outcome: 'sandbox-failed', secrets };
      if (failedActions > 0 || result.exitCode !== 0) return { outcome: 'failed', secrets };
      return { outcome: refused.length > 0 ? 'refused' : 'ok', secrets };
    } catch (error) {
      entry.error = errorText(error);
      entry.retryable = error instanceof DriverError ? error.retryable : !(error instanceof DiagnosticError);
      if (isLockHeld(error)) {
        delete entry.retryable;
        entry.skipped = 'locked';
        return { outcome: 'locked', secrets };
      }
      entry.failed = Math.max(entry.failed, 1);
      return { outcome: 'failed', secrets };
    }
  };

  return withInterrupts(io, async (signal) => {
    let failures = 0;
    let lastOutcome: PassOutcome = 'ok';
    for (let pass = 1; ; pass += 1) {
      const started = Date.now();
      const entry: PassLog = {
        time: new Date(started).toISOString(),
        environment,
        pass,
        changes_found: 0,
        applied: 0,
        failed: 0,
        duration_ms: 0,
      };
      const { outcome, secrets } = await runPass(pass, entry, signal);
      lastOutcome = outcome;
      // The loop backs off when the pass itself fails; a failing sandbox backs off alone (nextBackoff),
      // so the others heal every interval. A lock or a refusal is not a failure.
      if (outcome === 'failed') failures += 1;
      else if (outcome !== 'locked') failures = 0;
      entry.duration_ms = Date.now() - started;
      const last = once || signal.aborted;
      const delay = nextDelay(intervalMs, failures, entry.retryable ?? true);
      if (!last) entry.next_pass_in_ms = delay;
      if (entry.error) entry.error = redact(entry.error, secrets);
      io.stdout(`${JSON.stringify(entry)}\n`);
      if (last) break;
      await sleep(delay, signal);
      if (signal.aborted) break;
    }
    // A loop stopped by a signal has done its job; --once reports how its one pass went.
    if (once && !signal.aborted) return lastOutcome === 'ok' ? 0 : 1;
    return 0;
  });
}
