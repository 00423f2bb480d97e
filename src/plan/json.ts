// The plan as plain JSON data in schema order (schemas/plan.schema.json). Pure; keys in one fixed order so output diffs cleanly.
import { isSensitiveKey, MASKED, MASKED_CHANGED } from '../secrets/index.js';
import type { ConfigChange, DisplayValue, FieldChange, Plan, PlanNotice, ResourceChange } from './types.js';

type Json = DisplayValue | undefined;

/** A mask or a salted hash may be shown; anything else under a secret's name is masked (defence in depth). */
function safeSecret(value: Json): Json {
  if (value === undefined || value === null) return value;
  if (value === MASKED || value === MASKED_CHANGED) return value;
  if (typeof value === 'string' && /^sha256:[0-9a-f]+$/.test(value)) return value;
  return MASKED;
}

/** Object keys sorted at every level; arrays keep their order. */
function sortDeep(value: Json): Json {
  if (Array.isArray(value)) return value.map((v) => sortDeep(v) as DisplayValue);
  if (value === null || typeof value !== 'object') return value;
  const out: { [key: string]: DisplayValue } = {};
  for (const key of Object.keys(value).sort()) {
    const v = isSensitiveKey(key) ? safeSecret(value[key]) : sortDeep(value[key]);
    if (v !== undefined) out[key] = v;
  }
  return out;
}

function sortHashes(hashes: Record<string, string>): Record<string, string> {
  return Object.fromEntries(
    Object.keys(hashes)
      .sort()
      .map((k) => [k, hashes[k]!]),
  );
}

function record(value: Record<string, DisplayValue> | null): Record<string, DisplayValue> | null {
  return value === null ? null : (sortDeep(value) as Record<string, DisplayValue>);
}

function field(f: FieldChange): Record<string, unknown> {
  return {
    field: f.field,
    before: f.sensitive || isSensitiveKey(f.field) ? safeSecret(f.before) : sortDeep(f.before),
    after: f.sensitive || isSensitiveKey(f.field) ? safeSecret(f.after) : sortDeep(f.after),
    sensitive: f.sensitive,
    impact: f.impact,
    metadataOnly: f.metadataOnly,
  };
}

function resource(c: ResourceChange): Record<string, unknown> {
  return {
    address: c.address,
    name: c.name,
    service: c.service,
    driver: c.driver,
    action: c.action,
    impact: c.impact,
    reasons: [...c.reasons],
    steps: [...c.steps],
    drift: c.drift.map((d) => (d.detail === undefined ? { kind: d.kind } : { kind: d.kind, detail: d.detail })),
    before: record(c.before),
    after: record(c.after),
    fields: c.fields.map(field),
    backup: c.backup,
    requiresAllowDestroy: c.requiresAllowDestroy,
    depends_on: [...c.depends_on],
  };
}

function config(c: ConfigChange): Record<string, unknown> {
  return { path: c.path, action: c.action, diff: c.diff };
}

function notice(n: PlanNotice): Record<string, unknown> {
  return { severity: n.severity, summary: n.summary, detail: n.detail, fix: n.fix };
}

/** The plan as plain data in schema order (also the body of a plan file). */
export function planToJson(plan: Plan): Record<string, unknown> {
  const s = plan.summary;
  return {
    format_version: plan.format_version,
    environment: plan.environment,
    created_at: plan.created_at,
    fingerprint: plan.fingerprint,
    refresh_only: plan.refresh_only,
    targets: [...plan.targets],
    summary: { create: s.create, update: s.update, replace: s.replace, delete: s.delete, start: s.start, no_op: s.no_op, config: s.config },
    changes: plan.changes.map(resource),
    config_changes: plan.config_changes.map(config),
    notices: plan.notices.map(notice),
    inputs: {
      manifest: plan.inputs.manifest,
      // Hashes keyed by variable name (DB_PASSWORD...): sorted, never masked, they are already hashes.
      variables: sortHashes(plan.inputs.variables),
      observed: sortHashes(plan.inputs.observed),
      env_file: plan.inputs.env_file,
    },
  };
}
