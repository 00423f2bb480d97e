// iact reconcile [--env E] [--interval 30s] [--once]: the GitOps loop. Each pass is level-based
// (observe everything, plan, apply what differs) and ends with one JSON line on stdout.
import { parseDuration } from '../apply/lock.js';
import { DiagnosticError } from '../diagnostics.js';
import { redact } from '../util/redact.js';
import { defaultParallelism } from './apply.js';
import { converge } from './converge.js';
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
  actions?: { address: string; action: string; outcome: string }[];
  error?: string;
  /** Milliseconds until the next pass (absent after the last one). */
  next_pass_in_ms?: number;
}

export type PassOutcome = 'ok' | 'failed' | 'locked';

/** Pure: the wait after a pass, given how many passes in a row have failed. */
export function nextDelay(intervalMs: number, consecutiveFailures: number): number {
  if (consecutiveFailures <= 0) return intervalMs;
  return intervalMs * Math.min(2 ** consecutiveFailures, MAX_BACKOFF_FACTOR);
}

function errorText(error: unknown): string {
  if (error instanceof DiagnosticError) {
    return error.diagnostics.map((d) => [d.summary, d.detail, d.fix ? `fix: ${d.fix}` : undefined].filter(Boolean).join(': ')).join('; ');
  }
  return error instanceof Error ? error.message : String(error);
}

function isLockHeld(error: unknown): boolean {
  return error instanceof DiagnosticError && error.diagnostics.some((d) => / is locked by /.test(d.summary));
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
    const { diag } = await import('../diagnostics.js');
    throw new DiagnosticError(diag(`--interval ${String(opts.interval)} must be longer than 0`, { fix: 'write it like 30s, 5m or 1h' }));
  }
  const once = Boolean(opts.once);
  // Progress and plan notes go to stderr: stdout carries exactly one JSON line per pass.
  const passIO: CommandIO = { ...io, stdout: io.stderr, isTTY: false, prompt: undefined };

  return withInterrupts(io, async (signal) => {
    let failures = 0;
    let lastOutcome: PassOutcome = 'ok';
    for (let pass = 1; ; pass += 1) {
      const started = Date.now();
      const entry: PassLog = { time: new Date(started).toISOString(), environment, pass, changes_found: 0, applied: 0, failed: 0, duration_ms: 0 };
      let secrets: string[] = [];
      try {
        // The manifest and .env are re-read every pass: a merged change is picked up without a restart.
        secrets = (await loadResolved(selected.root, environment, io.env)).secretValues;
        const result = await converge(selected, environment, passIO, {
          command: `iact reconcile (pass ${pass})`,
          verb: 'Apply',
          targets: [],
          autoApprove: true,
          allowDestroy: false,
          backup: true,
          parallelism: defaultParallelism(),
          lockTimeout: '0s',
          json: false,
          destroy: false,
          quiet: true,
          signal,
        });
        const plan = result.plan;
        entry.changes_found = plan ? plan.changes.filter((c) => c.action !== 'no-op').length + plan.config_changes.filter((c) => c.action !== 'no-op').length : 0;
        entry.applied = result.results.filter((r) => r.outcome !== 'failed' && r.outcome !== 'skipped').length;
        entry.failed = result.results.filter((r) => r.outcome === 'failed' || r.outcome === 'skipped').length;
        if (result.results.length > 0) entry.actions = result.results.map((r) => ({ address: r.address, action: r.action, outcome: r.outcome }));
        const messages = result.results.filter((r) => r.outcome === 'failed' && r.message).map((r) => `${r.address}: ${r.message}`);
        if (messages.length > 0) entry.error = messages.join('; ');
        lastOutcome = result.exitCode === 0 ? 'ok' : 'failed';
      } catch (error) {
        if (isLockHeld(error)) {
          entry.skipped = 'locked';
          lastOutcome = 'locked';
        } else {
          entry.failed = Math.max(entry.failed, 1);
          lastOutcome = 'failed';
        }
        entry.error = errorText(error);
      }
      if (lastOutcome === 'failed') failures += 1;
      else if (lastOutcome === 'ok') failures = 0;
      entry.duration_ms = Date.now() - started;
      const last = once || signal.aborted;
      const delay = nextDelay(intervalMs, failures);
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
