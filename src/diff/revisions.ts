// Pure: the desired-state change between two revisions, per environment: sandboxes field by field
// (impact from the one table in src/plan/impact.ts), connection settings key by key, features.
import { parse as parseDotenv } from 'dotenv';
import { connectionVariables } from '../config/render.js';
import type { ResolvedEnvironment, SandboxSpec } from '../model/types.js';
import { effectOf, worstImpact } from '../plan/impact.js';
import type { Impact } from '../plan/types.js';
import {
  DIFF_FORMAT_VERSION,
  type DiffSummary,
  type EnvironmentDiff,
  type FeatureDiff,
  type FieldDiff,
  type ManifestSet,
  type RevisionDiff,
  type SandboxDiff,
  type SettingDiff,
} from './types.js';
import { isSensitiveKey } from '../secrets/index.js';
import { flattenSandbox, maskPair, sameValue, unsetVariables, type ResolvedSide } from './values.js';

export interface RevisionInput {
  from: ManifestSet;
  to: ManifestSet;
  before: Map<string, ResolvedSide>;
  after: Map<string, ResolvedSide>;
}

const byName = (a: string, b: string) => (a < b ? -1 : a > b ? 1 : 0);

export function compareRevisions(input: RevisionInput): RevisionDiff {
  const names = [...new Set([...input.before.keys(), ...input.after.keys()])].sort(byName);
  const environments = names.map((name) => compareEnvironment(name, input.before.get(name), input.after.get(name)));
  return {
    format_version: DIFF_FORMAT_VERSION,
    kind: 'revisions',
    from: { ref: input.from.label, commit: input.from.commit ?? null },
    to: { ref: input.to.label, commit: input.to.commit ?? null },
    environments,
    env_example: compareEnvExample(input.from.envExample, input.to.envExample),
    summary: summarize(environments, input),
  };
}

function compareEnvironment(environment: string, before: ResolvedSide | undefined, after: ResolvedSide | undefined): EnvironmentDiff {
  const diff: EnvironmentDiff = {
    environment,
    status: 'unchanged',
    ...(before ? { before_file: before.file } : {}),
    ...(after ? { after_file: after.file } : {}),
    sandboxes: [],
    connections: [],
    features: [],
    problems: [...(before?.problems ?? []), ...(after?.problems ?? [])],
    unset_variables: [...new Set([...unsetVariables(before?.resolved), ...unsetVariables(after?.resolved)])].sort(byName),
  };
  if (diff.problems.length > 0) return { ...diff, status: 'error' };
  const b = before?.resolved;
  const a = after?.resolved;
  diff.sandboxes = compareSandboxes(environment, b, a);
  diff.connections = compareConnections(b, a);
  diff.features = compareFeatures(b?.features ?? {}, a?.features ?? {});
  const changed = diff.sandboxes.length + diff.connections.length + diff.features.length > 0 || before?.file !== after?.file;
  diff.status = !before ? 'added' : !after ? 'removed' : changed ? 'changed' : 'unchanged';
  return diff;
}

function compareSandboxes(
  environment: string,
  before: ResolvedEnvironment | undefined,
  after: ResolvedEnvironment | undefined,
): SandboxDiff[] {
  const b = before?.sandboxes ?? {};
  const a = after?.sandboxes ?? {};
  const out: SandboxDiff[] = [];
  for (const name of [...new Set([...Object.keys(b), ...Object.keys(a)])].sort(byName)) {
    const old = b[name];
    const now = a[name];
    if (old && now) {
      const change = compareSandbox(environment, name, old, now, before!, after!);
      if (change) out.push(change);
    } else if (now) {
      out.push(wholeSandbox(name, now, after!, 'create', environment));
    } else if (old) {
      out.push(wholeSandbox(name, old, before!, 'delete', environment));
    }
  }
  return out;
}

function isSensitiveField(resolved: ResolvedEnvironment, name: string, field: string): boolean {
  return (
    field === 'password' ||
    resolved.sensitivePaths.includes(`sandboxes.${name}.${field}`) ||
    isSensitiveKey(field.replace(/^settings\./, ''))
  );
}

/** Apply refuses to delete or replace these without --allow-destroy (docs/commands.md "iact apply"). */
function guarded(environment: string, spec: SandboxSpec): boolean {
  return spec.protect || environment === 'production';
}

function compareSandbox(
  environment: string,
  name: string,
  old: SandboxSpec,
  now: SandboxSpec,
  before: ResolvedEnvironment,
  after: ResolvedEnvironment,
): SandboxDiff | undefined {
  const b = flattenSandbox(old);
  const a = flattenSandbox(now);
  const fields: FieldDiff[] = [];
  let replaces = false;
  for (const field of [...new Set([...Object.keys(b), ...Object.keys(a)])]) {
    if (sameValue(b[field], a[field])) continue;
    // The new service's table decides (settings reloadable in redis are not in postgres).
    const effect = effectOf(field, now.service, now.driver);
    if (effect.kind === 'replace') replaces = true;
    const sensitive = isSensitiveField(before, name, field) || isSensitiveField(after, name, field);
    const shown = sensitive
      ? maskPair({ resolved: before, value: b[field] }, { resolved: after, value: a[field] })
      : { ...(b[field] !== undefined ? { before: b[field] } : {}), ...(a[field] !== undefined ? { after: a[field] } : {}) };
    fields.push({ field, ...shown, sensitive, impact: effect.impact });
  }
  if (fields.length === 0) return undefined;
  const action = replaces ? 'replace' : 'update';
  return {
    name,
    service: now.service,
    action,
    impact: worstImpact(fields.map((f) => f.impact)),
    reasons: fields.map((f) => reasonFor(f)),
    needs_allow_destroy: action === 'replace' && guarded(environment, old),
    fields,
  };
}

function reasonFor(f: FieldDiff): string {
  const what = f.before === undefined ? 'added' : f.after === undefined ? 'removed' : 'changed';
  const effect: Record<Impact, string> = {
    'data-loss': 'forces a replace',
    restart: 'needs a restart',
    reload: 'needs a reload',
    none: 'no restart',
  };
  return `${f.field} ${what} (${effect[f.impact]})`;
}

function wholeSandbox(
  name: string,
  spec: SandboxSpec,
  resolved: ResolvedEnvironment,
  action: 'create' | 'delete',
  environment: string,
): SandboxDiff {
  const flat = flattenSandbox(spec);
  const fields: FieldDiff[] = [];
  for (const [field, value] of Object.entries(flat)) {
    // Defaults say nothing to a reviewer.
    if ((field === 'depends_on' && Array.isArray(value) && value.length === 0) || (field === 'protect' && value === false)) continue;
    const sensitive = isSensitiveField(resolved, name, field);
    const side = action === 'create' ? 'after' : 'before';
    const shown = sensitive ? maskPair({}, { resolved, value }).after : value;
    fields.push({ field, ...(shown !== undefined ? { [side]: shown } : {}), sensitive, impact: 'none' });
  }
  return {
    name,
    service: spec.service,
    action,
    impact: action === 'delete' && spec.service !== 'none' ? 'data-loss' : 'none',
    reasons: [action === 'create' ? 'added to the manifest' : 'removed from the manifest'],
    needs_allow_destroy: action === 'delete' && guarded(environment, spec),
    fields,
  };
}

type Settings = Map<string, { value: string; sensitive: boolean }>;

function settingsOf(resolved: ResolvedEnvironment | undefined): Settings {
  const out: Settings = new Map();
  if (!resolved) return out;
  for (const v of connectionVariables(resolved)) {
    // Features are compared on their own; ENVIRONMENT is the manifest's name, never a change.
    if (v.key === 'ENVIRONMENT' || v.path?.startsWith('features.')) continue;
    out.set(v.key, { value: v.value, sensitive: v.sensitive || isSensitiveKey(v.key) });
  }
  return out;
}

function compareConnections(before: ResolvedEnvironment | undefined, after: ResolvedEnvironment | undefined): SettingDiff[] {
  const b = settingsOf(before);
  const a = settingsOf(after);
  const keys = [...a.keys(), ...[...b.keys()].filter((k) => !a.has(k))];
  const out: SettingDiff[] = [];
  for (const key of keys) {
    const old = b.get(key);
    const now = a.get(key);
    if (old && now && old.value === now.value) continue;
    const change = !old ? 'added' : !now ? 'removed' : 'changed';
    const sensitive = Boolean(old?.sensitive || now?.sensitive);
    const shown = sensitive
      ? maskPair({ resolved: before, value: old?.value }, { resolved: after, value: now?.value })
      : { ...(old ? { before: old.value } : {}), ...(now ? { after: now.value } : {}) };
    out.push({ key, change, ...shown, sensitive });
  }
  return out;
}

function compareFeatures(before: Record<string, boolean>, after: Record<string, boolean>): FeatureDiff[] {
  const out: FeatureDiff[] = [];
  for (const name of [...new Set([...Object.keys(before), ...Object.keys(after)])].sort(byName)) {
    const b = before[name];
    const a = after[name];
    if (b === a) continue;
    const change = b === undefined ? 'added' : a === undefined ? 'removed' : 'changed';
    out.push({ name, change, ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) });
  }
  return out;
}

/** Names only: .env.example values are examples, and a real secret pasted there must not leak. */
function compareEnvExample(before: string | undefined, after: string | undefined): { added: string[]; removed: string[] } {
  const b = Object.keys(before ? parseDotenv(before) : {});
  const a = Object.keys(after ? parseDotenv(after) : {});
  return { added: a.filter((k) => !b.includes(k)).sort(byName), removed: b.filter((k) => !a.includes(k)).sort(byName) };
}

function summarize(environments: EnvironmentDiff[], input: RevisionInput): DiffSummary {
  const count = (action: SandboxDiff['action']) =>
    environments.reduce((n, e) => n + e.sandboxes.filter((s) => s.action === action).length, 0);
  const summary: DiffSummary = {
    environments_changed: environments.filter((e) => e.status !== 'unchanged' && e.status !== 'error').length,
    create: count('create'),
    update: count('update'),
    replace: count('replace'),
    delete: count('delete'),
    connections: environments.reduce((n, e) => n + e.connections.length, 0),
    features: environments.reduce((n, e) => n + e.features.length, 0),
    // A base revision that did not resolve (a pull request that fixes it) is a difference, not a failure.
    errors: environments.filter((e) => e.status === 'error' && (input.after.get(e.environment)?.problems.length ?? 0) > 0).length,
    has_differences: false,
  };
  const example = compareEnvExample(input.from.envExample, input.to.envExample);
  const fixed = environments.some((e) => e.status === 'error' && (input.after.get(e.environment)?.problems.length ?? 0) === 0);
  summary.has_differences = summary.environments_changed > 0 || fixed || example.added.length + example.removed.length > 0;
  return summary;
}
