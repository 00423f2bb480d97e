// Append-only history of every action (.iact/history/<env>.jsonl). Never holds a secret.
import { appendFile, mkdir } from 'node:fs/promises';
import path from 'node:path';

export interface HistoryEvent {
  time: string;
  environment: string;
  command: string;
  address?: string;
  action?: string;
  outcome: string; // "created", "failed", "skipped", "started", "completed", ...
  duration_ms?: number;
  error?: string;
  /** The init files that ran, each "PATH sha256:HEX" (docs/data.md "Init"). */
  init?: string[];
  pid: number;
}

export async function appendHistory(historyDir: string, environment: string, events: HistoryEvent[]): Promise<void> {
  if (events.length === 0) return;
  await mkdir(historyDir, { recursive: true, mode: 0o700 });
  // One write per call: O_APPEND keeps concurrent lines whole.
  await appendFile(path.join(historyDir, `${environment}.jsonl`), events.map((e) => `${JSON.stringify(e)}\n`).join(''), { mode: 0o600 });
}
