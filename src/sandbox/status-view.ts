// Pure: `iact status` rows from a plan (drift, pending action) and what the drivers reported.
import type { SandboxStatus } from '../drivers/types.js';
import type { SandboxSpec } from '../model/types.js';
import { driftSentence, hasDrift } from '../plan/drift.js';
import type { Action, Plan, PlanNotice } from '../plan/types.js';

export type SandboxState = 'in sync' | 'drift' | 'changed' | 'missing' | 'orphan' | 'unknown';

export interface StatusRow {
  name: string;
  driver: string;
  service: string;
  port: number | null;
  running: boolean | null;
  healthy: boolean | null;
  pid: number | null;
  data_bytes: number | null;
  state: SandboxState;
  /** What `iact apply` would do about it. */
  action: Action;
  /** Differences the machine shows (stopped, not accepting connections, edited sandbox.json), as sentences. */
  drift: string[];
  /** Manifest fields that differ from what the sandbox was applied with. */
  changed_fields: string[];
  /** One line for people. */
  note: string;
}

export interface StatusReport {
  environment: string;
  sandboxes: StatusRow[];
  notices: PlanNotice[];
}

const PENDING: Record<Action, string> = {
  create: 'apply creates it',
  update: 'apply updates it',
  replace: 'apply replaces it',
  start: 'apply starts it',
  delete: 'apply deletes it',
  'no-op': '',
};

/** `desired`: the manifest's sandboxes, so those whose driver could not be observed still get a row. */
export function statusReport(plan: Plan, observed: readonly SandboxStatus[], desired: Record<string, SandboxSpec> = {}): StatusReport {
  const byName = new Map(observed.filter((s) => s.environment === plan.environment).map((s) => [s.name, s]));
  const rows = plan.changes.map((change): StatusRow => {
    const status = byName.get(change.name);
    const changedFields = change.fields.filter((f) => !f.metadataOnly).map((f) => f.field);
    const drift = change.drift.map(driftSentence);
    let state: SandboxState;
    let note: string;
    if (change.action === 'delete') {
      state = 'orphan';
      note = `orphan (not in manifest); ${PENDING.delete}${change.requiresAllowDestroy ? ' with --allow-destroy' : ''}`;
    } else if (!status) {
      state = 'missing';
      note = `not on the machine; ${PENDING.create}`;
    } else if (changedFields.length > 0 && hasDrift(change.drift, 'spec-edited')) {
      // sandbox.json was edited: the differences are the machine's, not the manifest's.
      state = 'drift';
      note = `drift: ${drift.join('; ')} (${changedFields.join(', ')}); ${PENDING[change.action]}`;
    } else if (changedFields.length > 0) {
      state = 'changed';
      note = `manifest changed: ${changedFields.join(', ')}${drift.length > 0 ? `; drift: ${drift.join('; ')}` : ''}; ${PENDING[change.action]}`;
    } else if (drift.length > 0) {
      state = 'drift';
      note = `drift: ${drift.join('; ')}; ${PENDING[change.action]}`;
    } else {
      state = 'in sync';
      note = 'in sync';
    }
    return {
      name: change.name,
      driver: status?.driver ?? change.driver,
      service: status?.service ?? change.service,
      port: status?.port ?? (typeof change.after?.port === 'number' ? change.after.port : null),
      running: status ? status.running : null,
      healthy: status ? status.healthy : null,
      pid: status?.pid ?? null,
      data_bytes: status ? status.data_bytes : null,
      state,
      action: change.action,
      drift,
      changed_fields: changedFields,
      note,
    };
  });
  const planned = new Set(rows.map((r) => r.name));
  for (const spec of Object.values(desired)) {
    if (planned.has(spec.name)) continue;
    rows.push({
      name: spec.name,
      driver: spec.driver,
      service: spec.service,
      port: spec.port,
      running: null,
      healthy: null,
      pid: null,
      data_bytes: null,
      state: 'unknown',
      action: 'no-op',
      drift: [],
      changed_fields: [],
      note: `unknown: the ${spec.driver} driver could not be observed`,
    });
  }
  rows.sort((a, b) => a.name.localeCompare(b.name));
  return { environment: plan.environment, sandboxes: rows, notices: [...plan.notices] };
}

export function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  const units = ['KB', 'MB', 'GB', 'TB'];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit += 1;
  }
  return `${value >= 100 ? value.toFixed(0) : value.toFixed(1)} ${units[unit]}`;
}

const yesNo = (value: boolean | null) => (value === null ? '-' : value ? 'yes' : 'no');

export function renderStatusText(report: StatusReport, options: { color: boolean; location?: string }): string {
  const paint = (code: string, text: string) => (options.color ? `\u001b[${code}m${text}\u001b[0m` : text);
  const lines: string[] = [`Environment ${report.environment}${options.location ? ` (${options.location})` : ''}`];
  if (report.sandboxes.length === 0) {
    lines.push('No sandboxes in the manifest or on the machine.');
  } else {
    const header = ['NAME', 'DRIVER', 'SERVICE', 'PORT', 'RUNNING', 'HEALTHY', 'PID', 'DATA', 'STATE'];
    const cells = report.sandboxes.map((r) => [
      r.name,
      r.driver,
      r.service,
      r.port === null ? '-' : String(r.port),
      yesNo(r.running),
      yesNo(r.healthy),
      r.pid === null ? '-' : String(r.pid),
      r.data_bytes === null ? '-' : formatBytes(r.data_bytes),
      r.note,
    ]);
    const widths = header.map((h, i) => Math.max(h.length, ...cells.map((c) => c[i]!.length)));
    const row = (c: string[]) =>
      c
        .map((v, i) => (i === c.length - 1 ? v : v.padEnd(widths[i]!)))
        .join('  ')
        .trimEnd();
    lines.push(row(header));
    report.sandboxes.forEach((r, i) => {
      const text = row(cells[i]!);
      const tint = r.state === 'in sync' ? '' : r.state === 'orphan' || r.state === 'missing' || r.state === 'unknown' ? '33' : '31';
      lines.push(tint ? paint(tint, text) : text);
    });
    const count = (s: SandboxState) => report.sandboxes.filter((r) => r.state === s).length;
    const parts = [`${count('in sync')} in sync`];
    if (count('drift') > 0) parts.push(`${count('drift')} drifted`);
    if (count('changed') > 0) parts.push(`${count('changed')} changed in the manifest`);
    if (count('missing') > 0) parts.push(`${count('missing')} missing`);
    if (count('orphan') > 0) parts.push(`${count('orphan')} orphan`);
    if (count('unknown') > 0) parts.push(`${count('unknown')} unknown`);
    lines.push('', `${report.sandboxes.length} sandbox${report.sandboxes.length === 1 ? '' : 'es'}: ${parts.join(', ')}.`);
  }
  for (const n of report.notices) {
    lines.push(`${n.severity}: ${n.summary}`);
    if (n.detail) lines.push(...n.detail.split('\n').map((l) => `  ${l}`));
    if (n.fix) lines.push(`  fix: ${n.fix}`);
  }
  return `${lines.join('\n')}\n`;
}
