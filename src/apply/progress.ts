// Progress a person can follow: live lines on a terminal, one plain line per event otherwise,
// or one JSON object per line (--json).
import type { Action } from '../plan/types.js';
import type { ApplyCounts, ApplyEvent } from './executor.js';

export interface ProgressReporter {
  event(e: ApplyEvent): void;
  /** A line outside the per-sandbox display (warnings, backups, the summary). */
  line(text: string): void;
  close(): void;
}

const ING: Record<Action, string> = {
  create: 'creating',
  update: 'updating',
  replace: 'replacing',
  delete: 'deleting',
  start: 'starting',
  'no-op': 'checking',
};

function seconds(ms: number): string {
  return `${(ms / 1000).toFixed(1)}s`;
}

function endText(e: ApplyEvent): string {
  const took = e.elapsedMs !== undefined && e.outcome !== 'skipped' ? ` after ${seconds(e.elapsedMs)}` : '';
  const note = e.message ? `: ${e.message}` : '';
  if (e.outcome === 'failed') return `${e.address}: failed${took}${note}`;
  if (e.outcome === 'skipped') return `${e.address}: skipped${note}`;
  return `${e.address}: ${e.outcome}${took}${e.message ? ` (${e.message})` : ''}`;
}

export function plainReporter(write: (text: string) => void): ProgressReporter {
  return {
    event(e) {
      if (e.type === 'begin') write(`${e.address}: ${ING[e.action]}...\n`);
      else if (e.type === 'end') write(`${endText(e)}\n`);
      else if (e.message) write(`${e.address}: ${e.message}\n`);
    },
    line: (text) => write(`${text}\n`),
    close: () => undefined,
  };
}

/** One line of `apply --json`, and what the library's onEvent receives: the same objects. */
export type ApplyRecord =
  | ({ time: string } & ApplyEvent)
  | { time: string; type: 'message'; message: string }
  | ({ time: string; type: 'summary'; message: string } & ApplyCounts);

export function recordReporter(emit: (record: ApplyRecord) => void, now: () => Date = () => new Date()): ProgressReporter {
  return {
    event: (e) => emit({ time: now().toISOString(), ...e }),
    line: (text) => emit({ time: now().toISOString(), type: 'message', message: text }),
    close: () => undefined,
  };
}

export function jsonReporter(write: (text: string) => void, now: () => Date = () => new Date()): ProgressReporter {
  return recordReporter((record) => write(`${JSON.stringify(record)}\n`), now);
}

interface LiveRow {
  text: string;
  startedAt?: number;
  action: Action;
  done: boolean;
}

/** One line per sandbox, redrawn in place with a running clock. */
export function liveReporter(write: (text: string) => void, color: boolean): ProgressReporter {
  const rows = new Map<string, LiveRow>();
  let drawn = 0;
  const paint = (code: string, text: string) => (color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const render = () => {
    let out = drawn > 0 ? `\u001b[${drawn}A` : '';
    for (const [address, row] of rows) {
      const text = row.done ? row.text : `${address}: ${ING[row.action]}... ${seconds(Date.now() - (row.startedAt ?? Date.now()))}`;
      out += `\u001b[2K${text}\n`;
    }
    drawn = rows.size;
    write(out);
  };
  const timer = setInterval(() => {
    if ([...rows.values()].some((r) => !r.done)) render();
  }, 200);
  timer.unref();
  return {
    event(e) {
      if (e.type === 'begin') rows.set(e.address, { text: '', startedAt: Date.now(), action: e.action, done: false });
      else if (e.type === 'end') {
        const text = endText(e);
        const styled = e.outcome === 'failed' ? paint('31', text) : e.outcome === 'skipped' ? paint('33', text) : paint('32', text);
        rows.set(e.address, { text: styled, action: e.action, done: true });
      }
      render();
    },
    line(text) {
      // Print above the live block: clear it, print, draw it again below.
      if (drawn > 0) write(`\u001b[${drawn}A\u001b[0J`);
      drawn = 0;
      write(`${text}\n`);
      if (rows.size > 0) render();
    },
    close() {
      clearInterval(timer);
      if (rows.size > 0) render();
    },
  };
}
