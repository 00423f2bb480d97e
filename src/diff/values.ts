// Pure: resolve manifests without secrets, and turn resolved values into what a diff may show.
import { formatDiagnostic, hasErrors } from '../diagnostics.js';
import { resolveManifest } from '../manifest/resolve.js';
import type { ResolvedEnvironment, SandboxSpec } from '../model/types.js';
import { isSensitiveVariable, MASKED, MASKED_CHANGED } from '../secrets/index.js';
import type { DiffValue, ManifestSet } from './types.js';

export interface ResolvedSide {
  file: string;
  resolved?: ResolvedEnvironment;
  /** `file:line:col  error: ...` lines when the manifest does not resolve. */
  problems: string[];
}

export type Variables = Record<string, string | undefined>;

/** Every manifest of a set, resolved with unset variables kept as `${NAME}` (never an error). */
export function resolveSet(set: ManifestSet, root: string, variablesFor: (environment: string) => Variables): Map<string, ResolvedSide> {
  const out = new Map<string, ResolvedSide>();
  for (const [environment, { file, text }] of set.manifests) {
    const result = resolveManifest({ text, file, environment, root, variables: variablesFor(environment), allowMissingVariables: true });
    const errors = result.diagnostics.filter((d) => d.severity === 'error');
    if (!result.resolved || hasErrors(result.diagnostics)) {
      const at = set.commit ? `at ${set.label}: ` : '';
      out.set(environment, { file, problems: errors.map((d) => `${at}${formatDiagnostic(d)}`) });
    } else {
      out.set(environment, { file, resolved: result.resolved, problems: [] });
    }
  }
  return out;
}

/** Secret values a last-line-of-defence redaction must scrub: resolved secrets and the sensitive variables a manifest read. */
export function secretsOf(sides: Iterable<{ side: ResolvedSide; variables: Variables }>): string[] {
  const out = new Set<string>();
  for (const { side, variables } of sides) {
    // `${NAME}` of an unset variable is a name, not a secret, and the diff shows it.
    for (const s of side.resolved?.secretValues ?? []) if (!unsetReference(side.resolved!, s)) out.add(s);
    // A manifest that did not resolve may still have echoed a variable into a message.
    const names = side.resolved ? Object.keys(side.resolved.variables) : Object.keys(variables);
    for (const name of names) {
      const value = variables[name];
      if (value && isSensitiveVariable(name)) out.add(value);
    }
  }
  return [...out];
}

const UNSET_REFERENCE = /^\$\{([A-Za-z_][A-Za-z0-9_]*)\}$/;

/** `${NAME}` left by an unset variable (not a literal that merely looks like one). */
export function unsetReference(resolved: ResolvedEnvironment, value: unknown): string | undefined {
  if (typeof value !== 'string') return undefined;
  const name = UNSET_REFERENCE.exec(value)?.[1];
  return name !== undefined && resolved.variables[name] === 'unset' ? value : undefined;
}

/** Variables whose `${NAME}` shows in a value (unset, and no default took its place). */
export function unsetVariables(resolved: ResolvedEnvironment | undefined): string[] {
  if (!resolved) return [];
  const shown = JSON.stringify([resolved.sandboxes, resolved.connections]);
  return Object.keys(resolved.variables)
    .filter((name) => resolved.variables[name] === 'unset' && shown.includes(`\${${name}}`))
    .sort();
}

/** A sandbox as flat field -> value, the way the impact table names fields (settings.<key>). */
export function flattenSandbox(spec: SandboxSpec): Record<string, DiffValue> {
  const out: Record<string, DiffValue> = { service: spec.service, driver: spec.driver, port: spec.port };
  for (const field of ['version', 'database', 'user', 'password', 'memory', 'image'] as const) {
    const value = spec[field];
    if (value !== undefined) out[field] = value;
  }
  for (const key of Object.keys(spec.settings).sort()) out[`settings.${key}`] = spec.settings[key]!;
  out.depends_on = [...spec.depends_on];
  out.protect = spec.protect;
  return out;
}

export function sameValue(a: DiffValue | undefined, b: DiffValue | undefined): boolean {
  if (Array.isArray(a) && Array.isArray(b)) return a.length === b.length && a.every((v, i) => v === b[i]);
  return a === b;
}

/** What one side of a sensitive value shows: the variable's name when unset, else a mask. */
export function maskOne(resolved: ResolvedEnvironment | undefined, value: DiffValue | undefined, mask: string): DiffValue | undefined {
  if (value === undefined) return undefined;
  return (resolved && unsetReference(resolved, value)) ?? mask;
}

/** Both sides of a sensitive change: never the values; `(sensitive, changed)` on the new side. */
export function maskPair(
  before: { resolved?: ResolvedEnvironment; value?: DiffValue },
  after: { resolved?: ResolvedEnvironment; value?: DiffValue },
): { before?: DiffValue; after?: DiffValue } {
  const b = maskOne(before.resolved, before.value, MASKED);
  const a = maskOne(after.resolved, after.value, before.value === undefined ? MASKED : MASKED_CHANGED);
  return { ...(b !== undefined ? { before: b } : {}), ...(a !== undefined ? { after: a } : {}) };
}
