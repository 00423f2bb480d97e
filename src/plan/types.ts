// The plan: plain, versioned data. The planner produces it, renderers and apply read it.
// Nothing here is a secret: sensitive values appear only as a mask or a salted hash (src/secrets/).

// Format 2 (docs/plan-json.md): every change lists its steps; drift is a list of kinds, not prose.
export const PLAN_FORMAT_VERSION = 2;

/** Closed set (docs/commands.md "iact plan"). */
export const ACTIONS = ['create', 'update', 'replace', 'start', 'delete', 'no-op'] as const;
export type Action = (typeof ACTIONS)[number];

/** Ordered from harmless to destructive; a change's impact is the worst of its fields. */
export const IMPACTS = ['none', 'reload', 'restart', 'data-loss'] as const;
export type Impact = (typeof IMPACTS)[number];

/**
 * What apply does, in order (docs/plan-json.md, "Steps"). set-password, reload, restart and
 * recreate are an update's driver steps (`update --steps`, docs/driver-protocol.md).
 */
export const STEPS = [
  'preflight', 'backup', 'delete', 'create', 'set-password', 'grant', 'reload', 'restart', 'recreate', 'extensions', 'init', 'stop', 'start',
] as const;
export type Step = (typeof STEPS)[number];

/** The steps `<script> update --steps` carries out, in the order the driver runs them. */
export const DRIVER_STEPS = ['set-password', 'grant', 'reload', 'restart', 'recreate', 'extensions', 'init'] as const;
export type DriverStep = (typeof DRIVER_STEPS)[number];

export function isDriverStep(step: Step): step is DriverStep {
  return (DRIVER_STEPS as readonly string[]).includes(step);
}

/**
 * Closed set of drift (docs/plan-json.md, "Drift kinds"): what the machine shows that neither the
 * last applied spec nor the manifest explain. Renderers turn a kind into a sentence (plan/drift.ts).
 */
export const DRIFT_KINDS = ['stopped', 'unhealthy', 'half-made', 'spec-edited', 'directory-missing', 'other-driver', 'login-failed', 'data-missing'] as const;
export type DriftKind = (typeof DRIFT_KINDS)[number];

export interface Drift {
  kind: DriftKind;
  /** The one variable part: the port that stopped answering, the driver the half-made sandbox is under. */
  detail?: string;
}

export { KNOWN_AFTER_APPLY } from '../model/types.js';

/** Display value of a field: plain JSON, secrets already replaced by the masks below. */
export type DisplayValue = string | number | boolean | null | DisplayValue[] | { [key: string]: DisplayValue };

export interface FieldChange {
  /** Dotted field path, e.g. "port" or "settings.max_connections". */
  field: string;
  before: DisplayValue | undefined;
  after: DisplayValue | undefined;
  sensitive: boolean;
  impact: Impact;
  /** No machine change (depends_on, protect): shown, never acted on. */
  metadataOnly: boolean;
}

export interface ResourceChange {
  /** "sandbox.<name>" */
  address: string;
  name: string;
  driver: string;
  service: string;
  action: Action;
  impact: Impact;
  /** Why, in sentences a reviewer reads ("port changed", "process not running (drift)"). Renderers only. */
  reasons: string[];
  /** What apply does, in order; apply performs exactly these and decides nothing again. */
  steps: Step[];
  /** Observed state (sandbox.json as the driver reports it), masked; null when it does not exist. */
  before: Record<string, DisplayValue> | null;
  /** Desired state from the manifest, masked; null for delete. */
  after: Record<string, DisplayValue> | null;
  fields: FieldChange[];
  /** Differences the machine shows that neither the last applied spec nor the manifest explain. */
  drift: Drift[];
  /** Apply will take a backup first (data-loss without --no-backup). */
  backup: boolean;
  /** Set when the change deletes or replaces a protected (or production) sandbox. */
  requiresAllowDestroy: boolean;
  depends_on: string[];
}

export interface ConfigChange {
  /** Path relative to the project root, e.g. ".iact/env/development.env". */
  path: string;
  action: 'create' | 'update' | 'delete' | 'no-op';
  /** Unified diff, sensitive values masked; empty for no-op. */
  diff: string;
}

export interface PlanNotice {
  severity: 'error' | 'warning';
  summary: string;
  detail?: string;
  fix?: string;
}

export interface PlanSummary {
  create: number;
  update: number;
  replace: number;
  delete: number;
  start: number;
  no_op: number;
  config: number; // connection-settings files that change
}

/** The parts a fingerprint covers, each hashed, so a stale plan can say what changed. */
export interface PlanInputs {
  manifest: string;
  variables: Record<string, string>; // variable name -> salted hash of its value
  observed: Record<string, string>; // sandbox name -> hash of what the driver reported
  env_file: string; // hash of the rendered connection-settings file on disk ("" when absent)
}

export interface Plan {
  format_version: typeof PLAN_FORMAT_VERSION;
  environment: string;
  fingerprint: string;
  inputs: PlanInputs;
  refresh_only: boolean;
  targets: string[];
  changes: ResourceChange[];
  config_changes: ConfigChange[];
  /** Drivers that could not be observed, and similar: the plan still covers everything else. */
  notices: PlanNotice[];
  summary: PlanSummary;
  /** Set only in saved plan files. */
  created_at?: string;
}

export function hasChanges(plan: Plan): boolean {
  return plan.changes.some((c) => c.action !== 'no-op') || plan.config_changes.some((c) => c.action !== 'no-op');
}
