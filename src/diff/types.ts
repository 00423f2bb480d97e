// `iact diff` data: plain, versioned, already masked. The comparisons produce it, the renderers read it.
// JSON shape documented in docs/pull-requests.md; bump DIFF_FORMAT_VERSION on any breaking change.
import type { Impact } from '../plan/types.js';

export const DIFF_FORMAT_VERSION = 1;

/** A displayed value: secrets are already `(sensitive)` / `(sensitive, changed)`; an unset variable is `${NAME}`. */
export type DiffValue = string | number | boolean | string[];

/** The manifests and .env.example of one side of a revision diff (read by src/git, compared here). */
export interface ManifestSet {
  /** What the user wrote (`HEAD~1`), or "working tree". */
  label: string;
  /** Full commit id; undefined for the working tree. */
  commit?: string;
  manifests: Map<string, { file: string; text: string }>;
  envExample?: string;
}

export interface FieldDiff {
  /** Sandbox field, dotted for settings: "port", "settings.max_connections". */
  field: string;
  before?: DiffValue;
  after?: DiffValue;
  sensitive: boolean;
  /** From src/plan/impact.ts, the one table. */
  impact: Impact;
}

export type SandboxAction = 'create' | 'update' | 'replace' | 'delete';

export interface SandboxDiff {
  name: string;
  service: string;
  action: SandboxAction;
  impact: Impact;
  reasons: string[];
  /** Apply would refuse this delete/replace without --allow-destroy (protect: true, or production). */
  needs_allow_destroy: boolean;
  fields: FieldDiff[];
}

export type Change = 'added' | 'removed' | 'changed';

/** One connection setting, by its variable name in the rendered env file (DB_HOST, ...). */
export interface SettingDiff {
  key: string;
  change: Change;
  before?: DiffValue;
  after?: DiffValue;
  sensitive: boolean;
}

export interface FeatureDiff {
  name: string;
  change: Change;
  before?: boolean;
  after?: boolean;
}

export type EnvironmentStatus = 'added' | 'removed' | 'changed' | 'unchanged' | 'error';

export interface EnvironmentDiff {
  environment: string;
  status: EnvironmentStatus;
  /** Manifest path on each side; absent where the manifest does not exist. */
  before_file?: string;
  after_file?: string;
  sandboxes: SandboxDiff[];
  connections: SettingDiff[];
  features: FeatureDiff[];
  /** Why the environment could not be compared (status "error"): `file:line:col  message`, masked. */
  problems: string[];
  /** Variables the manifests read that are set nowhere here; their values show as `${NAME}`. */
  unset_variables: string[];
}

export interface DiffSummary {
  environments_changed: number;
  create: number;
  update: number;
  replace: number;
  delete: number;
  connections: number;
  features: number;
  errors: number;
  has_differences: boolean;
}

export interface RevisionDiff {
  format_version: typeof DIFF_FORMAT_VERSION;
  kind: 'revisions';
  from: { ref: string; commit: string | null };
  to: { ref: string; commit: string | null };
  environments: EnvironmentDiff[];
  /** Variable names added to or removed from .env.example (names only: values there are examples). */
  env_example: { added: string[]; removed: string[] };
  summary: DiffSummary;
}

export type ParitySection = 'sandbox' | 'connection' | 'feature';

export interface ParityRow {
  /** "sandbox[database].version", "DB_SSL_MODE", "features.debug_mode". */
  key: string;
  section: ParitySection;
  /** Per environment, in the order given; null where the key does not exist. */
  values: Record<string, DiffValue | null>;
  differs: boolean;
  risky: boolean;
  /** Risky rows: why the divergence matters, one sentence. */
  why?: string;
}

export interface ParityReport {
  format_version: typeof DIFF_FORMAT_VERSION;
  kind: 'environments';
  /** Where the manifests were read: "working tree" or the --to revision. */
  source: string;
  environments: string[];
  rows: ParityRow[];
  unset_variables: Record<string, string[]>;
  summary: { keys: number; differing: number; risky: number; has_differences: boolean };
}

export type DiffReport = RevisionDiff | ParityReport;
