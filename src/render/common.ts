// Shared by the renderers: words, symbols, value formatting and masking. Pure.
import { isSensitiveKey, MASKED, MASKED_CHANGED } from '../secrets/index.js';
import { KNOWN_AFTER_APPLY } from '../model/types.js';
import { driftSentence } from '../plan/drift.js';
import type { Action, ConfigChange, DisplayValue, Impact, Plan, ResourceChange } from '../plan/types.js';

export const SYMBOLS: Record<Action, string> = {
  create: '+',
  update: '~',
  replace: '-/+',
  delete: '-',
  start: '>',
  'no-op': ' ',
};

export const LEGEND: Record<Exclude<Action, 'no-op'>, string> = {
  create: 'create',
  update: 'update in place',
  replace: 'replace (delete, then create)',
  delete: 'delete',
  start: 'start (exists but not running or not answering)',
};

/** What happens to a sandbox, after its name. */
export const VERBS: Record<Action, string> = {
  create: 'will be created',
  update: 'will be updated in place',
  replace: 'must be replaced',
  delete: 'will be deleted',
  start: 'will be started',
  'no-op': 'is unchanged',
};

const CONFIG_VERBS: Record<ConfigChange['action'], string> = {
  create: 'will be created',
  update: 'will be updated',
  delete: 'will be deleted',
  'no-op': 'is unchanged',
};

/** "3 sandboxes", "1 sandbox". */
export function plural(n: number, one: string, many: string): string {
  return `${n} ${n === 1 ? one : many}`;
}

export function verbOf(change: ResourceChange, refreshOnly = false): string {
  if (refreshOnly)
    return change.action === 'no-op' ? 'has drifted' : `has drifted (a plan without --refresh-only would ${change.action} it)`;
  return VERBS[change.action];
}

export function configVerbOf(change: ConfigChange): string {
  return CONFIG_VERBS[change.action];
}

/** "(restart)", "(data-loss: backup to .iact/backups/dev/ first)"; empty when there is nothing to say. */
export function impactNote(change: ResourceChange, environment: string): string {
  const impact: Impact = change.impact;
  switch (impact) {
    case 'none':
      if (change.action !== 'update') return '';
      return change.fields.length > 0 && change.fields.every((f) => f.metadataOnly) ? 'no machine change' : 'no restart';
    case 'reload':
      return 'reload';
    case 'restart':
      return 'restart';
    case 'data-loss':
      return change.backup ? `data-loss: backup to .iact/backups/${environment}/ first` : 'data-loss, no backup';
  }
}

/** Reasons, then any drift the reasons do not already state (the planner may list drift in both). */
export function reasonsOf(change: ResourceChange): string[] {
  const sentences = change.drift.map(driftSentence);
  const drift = sentences.filter((d) => !change.reasons.some((r) => r.startsWith(d))).map((d) => `${d} (drift)`);
  return [...change.reasons, ...drift];
}

/** An update's steps on one line ("set-password, reload"); "" for other actions and file-only updates (docs/plan-json.md). */
export function stepsNote(change: ResourceChange): string {
  return change.action === 'update' && change.steps.length > 0 ? `steps: ${change.steps.join(', ')}` : '';
}

/** Why apply will refuse without --allow-destroy: protect: true, or any sandbox of production. */
export function guardNote(environment: string): string {
  return environment === 'production' ? 'production' : 'protected';
}

export function isChange(change: ResourceChange): boolean {
  return change.action !== 'no-op';
}

/** A change worth showing: it acts, or (refresh-only) the machine drifted. */
export function isShown(change: ResourceChange): boolean {
  return change.action !== 'no-op' || change.drift.length > 0;
}

export function driftCount(plan: Plan): number {
  return plan.changes.filter(isShown).length;
}

export function configChanges(plan: Plan): ConfigChange[] {
  return plan.config_changes.filter((c) => c.action !== 'no-op');
}

/** The last line of a text plan (docs/commands.md "iact plan"). */
export function summaryLine(plan: Plan): string {
  if (plan.refresh_only) {
    const n = driftCount(plan);
    return n === 0
      ? `No drift. ${plan.environment} matches its last applied spec.`
      : `Drift: ${n === 1 ? '1 sandbox differs from its' : `${n} sandboxes differ from their`} last applied spec.`;
  }
  const s = plan.summary;
  const acting = s.create + s.update + s.replace + s.delete + s.start + configChanges(plan).length;
  if (acting === 0) {
    // Claiming a match would be false when part of the machine could not be seen.
    if (plan.notices.length === 0) return `No changes. ${plan.environment} matches its manifest.`;
    return `No changes in what iact could observe; see the ${plan.notices.some((n) => n.severity === 'error') ? 'errors' : 'warnings'} above.`;
  }
  return `Plan: ${s.create} to create, ${s.update} to update, ${s.replace} to replace, ${s.delete} to delete, ${s.start} to start.`;
}

/** Sentence for settings files, or "" when none change. */
export function configSummary(plan: Plan): string {
  const changed = configChanges(plan);
  if (changed.length === 0) return '';
  const parts = changed.map((c) => `${c.path} ${configVerbOf(c)}`);
  return `Connection settings: ${parts.join('; ')}.`;
}

export function sortedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

/** One value on one line, HCL-like: strings quoted, masks bare, lists inline. */
export function formatValue(value: DisplayValue | undefined, key = ''): string {
  if (value === undefined) return 'null';
  if (value === MASKED || value === MASKED_CHANGED || value === KNOWN_AFTER_APPLY) return value;
  if (key !== '' && isSensitiveKey(key)) return MASKED;
  if (value === null) return 'null';
  if (typeof value === 'string') return JSON.stringify(value);
  if (typeof value === 'number' || typeof value === 'boolean') return String(value);
  if (Array.isArray(value)) return `[${value.map((v) => formatValue(v)).join(', ')}]`;
  const keys = sortedKeys(value);
  return `{ ${keys.map((k) => `${k} = ${formatValue(value[k], k)}`).join(', ')} }`;
}

export function isObject(value: DisplayValue | undefined): value is { [key: string]: DisplayValue } {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
