// Pure: environments side by side. Every key with its value per environment, rows that differ
// marked, and divergence that tends to break production (engine, version, TLS, cache, flags) flagged.
import { connectionVariables } from '../config/render.js';
import type { ResolvedEnvironment, SandboxSpec } from '../model/types.js';
import { DIFF_FORMAT_VERSION, type DiffValue, type ParityReport, type ParityRow } from './types.js';
import { isSensitiveKey, MASKED } from '../secrets/index.js';
import { flattenSandbox, sameValue, unsetReference, unsetVariables } from './values.js';

export interface ParityInput {
  source: string;
  /** In the order the user gave them. */
  environments: ResolvedEnvironment[];
}

/** Environment-name prefixes stripped when matching same-role sandboxes (dev-postgres ~ staging-postgres). */
const ENV_PREFIX = /^(dev|development|stg|stage|staging|prod|production|test|qa|uat|preview|local)-/;

/**
 * Sandboxes keyed by role, so dev-postgres and staging-postgres share a row: the connection a sandbox
 * serves ("database", "cache"), else its service kind when unique, else its name without the env prefix.
 */
export function sandboxRoles(resolved: ResolvedEnvironment): Map<string, SandboxSpec> {
  const roles = new Map<string, SandboxSpec>();
  const bound = new Set<string>();
  const bind = (role: string, name: string | undefined) => {
    const spec = name !== undefined ? resolved.sandboxes[name] : undefined;
    if (spec && !bound.has(spec.name)) {
      roles.set(role, spec);
      bound.add(spec.name);
    }
  };
  bind('database', resolved.connections.database?.sandbox);
  bind('cache', resolved.connections.cache?.sandbox);
  const rest = Object.values(resolved.sandboxes)
    .filter((s) => !bound.has(s.name))
    .sort((a, b) => (a.name < b.name ? -1 : 1));
  for (const spec of rest) {
    const sameKind = rest.filter((s) => s.service === spec.service).length;
    const stripped = spec.name.replace(ENV_PREFIX, '').replace(new RegExp(`^${resolved.environment}-`), '');
    let role = sameKind === 1 ? spec.service : `${spec.service}:${stripped}`;
    if (roles.has(role)) role = `${spec.service}:${spec.name}`;
    roles.set(role, spec);
  }
  return roles;
}

/**
 * A sandbox that serves a connection elsewhere but not here (dev-redis while development caches in
 * memory) takes that connection's role when it is the only one of its kind, so it shares the row.
 */
function alignRoles(perEnv: Map<string, SandboxSpec>[]): Map<string, SandboxSpec>[] {
  const connectionRoles = ['database', 'cache'];
  return perEnv.map((roles) => {
    const out = new Map(roles);
    for (const role of connectionRoles) {
      if (out.has(role)) continue;
      const kinds = new Set(perEnv.map((r) => r.get(role)?.service).filter((k): k is SandboxSpec['service'] => k !== undefined));
      if (kinds.size !== 1) continue;
      const [kind] = kinds;
      const spec = out.get(kind!);
      if (spec) {
        out.delete(kind!);
        out.set(role, spec);
      }
    }
    return out;
  });
}

const display = (resolved: ResolvedEnvironment, value: DiffValue | undefined, sensitive: boolean): DiffValue | null => {
  if (value === undefined) return null;
  if (sensitive) return unsetReference(resolved, value) ?? MASKED;
  return value;
};

/** The environment the others are a rehearsal for: "production" (or "prod"), else the last one given. */
export function productionOf(names: string[]): string {
  return names.find((n) => n === 'production') ?? names.find((n) => n === 'prod') ?? names[names.length - 1]!;
}

export function buildParity(input: ParityInput): ParityReport {
  const envs = input.environments;
  const names = envs.map((e) => e.environment);
  const rows: ParityRow[] = [];
  /** `among`: the environments a row compares (a sandbox's fields only where that sandbox exists). */
  const add = (
    key: string,
    section: ParityRow['section'],
    pick: (e: ResolvedEnvironment) => DiffValue | null,
    among: (e: ResolvedEnvironment) => boolean = () => true,
  ) => {
    const values: Record<string, DiffValue | null> = {};
    for (const e of envs) values[e.environment] = pick(e);
    const list = envs.filter(among).map((e) => values[e.environment] ?? null);
    const differs = list.some((v) => !sameValue(v ?? undefined, list[0] ?? undefined));
    rows.push({ key, section, values, differs, risky: false });
  };

  // Sandboxes, by role.
  const roles = alignRoles(envs.map((e) => sandboxRoles(e)));
  const roleNames = [...new Set(roles.flatMap((r) => [...r.keys()]))].sort(roleOrder);
  for (const role of roleNames) {
    const fields = new Set<string>();
    for (const r of roles) {
      const spec = r.get(role);
      if (!spec) continue;
      for (const [f, v] of Object.entries(flattenSandbox(spec))) if (!(Array.isArray(v) && v.length === 0)) fields.add(f);
    }
    add(`sandbox[${role}]`, 'sandbox', (e) => roles[envs.indexOf(e)]!.get(role)?.name ?? null);
    for (const field of [...fields].sort(fieldOrder)) {
      add(
        `sandbox[${role}].${field}`,
        'sandbox',
        (e) => {
          const spec = roles[envs.indexOf(e)]!.get(role);
          if (!spec) return null;
          const sensitive =
            field === 'password' ||
            e.sensitivePaths.includes(`sandboxes.${spec.name}.${field}`) ||
            isSensitiveKey(field.replace(/^settings\./, ''));
          return display(e, flattenSandbox(spec)[field], sensitive);
        },
        (e) => roles[envs.indexOf(e)]!.has(role),
      );
    }
  }

  // Connection settings, by the variable name apps read; ENVIRONMENT differs by definition.
  const settings = envs.map((e) => new Map(connectionVariables(e).map((v) => [v.key, v])));
  const keys: string[] = [];
  for (const s of settings)
    for (const k of s.keys()) if (!keys.includes(k) && k !== 'ENVIRONMENT' && !k.startsWith('FEATURE_')) keys.push(k);
  for (const key of keys) {
    add(key, 'connection', (e) => {
      const v = settings[envs.indexOf(e)]!.get(key);
      return v ? display(e, v.value, v.sensitive || isSensitiveKey(key)) : null;
    });
  }

  // Features.
  const features = [...new Set(envs.flatMap((e) => Object.keys(e.features)))].sort();
  for (const name of features) add(`features.${name}`, 'feature', (e) => e.features[name] ?? null);

  for (const row of rows) flagRisk(row, names, rows);

  const unset: Record<string, string[]> = {};
  for (const e of envs) unset[e.environment] = unsetVariables(e);
  const differing = rows.filter((r) => r.differs).length;
  return {
    format_version: DIFF_FORMAT_VERSION,
    kind: 'environments',
    source: input.source,
    environments: names,
    rows,
    unset_variables: unset,
    summary: { keys: rows.length, differing, risky: rows.filter((r) => r.risky).length, has_differences: differing > 0 },
  };
}

const ROLE_FIRST = ['database', 'cache'];
function roleOrder(a: string, b: string): number {
  const ra = ROLE_FIRST.indexOf(a);
  const rb = ROLE_FIRST.indexOf(b);
  if (ra !== rb) return (ra < 0 ? 99 : ra) - (rb < 0 ? 99 : rb);
  return a < b ? -1 : a > b ? 1 : 0;
}

const FIELD_ORDER = ['service', 'version', 'driver', 'image', 'port', 'memory', 'database', 'user', 'password'];
function fieldOrder(a: string, b: string): number {
  const rank = (f: string) => {
    const i = FIELD_ORDER.indexOf(f);
    return i >= 0 ? i : f.startsWith('settings.') ? 50 : 90;
  };
  return rank(a) - rank(b) || (a < b ? -1 : a > b ? 1 : 0);
}

/** "15 in staging, 16 in production" */
function spread(row: ParityRow, names: string[], only?: (v: DiffValue | null) => boolean): string {
  const groups = new Map<string, string[]>();
  for (const n of names) {
    const v = row.values[n] ?? null;
    if (only && !only(v)) continue;
    const text = v === null ? 'unset' : Array.isArray(v) ? `[${v.join(', ')}]` : String(v);
    groups.set(text, [...(groups.get(text) ?? []), n]);
  }
  return [...groups].map(([v, ns]) => `${v} in ${ns.join(' and ')}`).join(', ');
}

/** Divergence that staging cannot rehearse for production. Differences by design (names, ports) stay unflagged. */
/** sslmode values that always encrypt: environments that differ only among these all exercise TLS (a `tls: true` sandbox is verify-full). */
const TLS_MODES: ReadonlySet<string> = new Set(['require', 'verify-ca', 'verify-full']);

function flagRisk(row: ParityRow, names: string[], rows: ParityRow[]): void {
  const present = names.map((n) => row.values[n] ?? null).filter((v) => v !== null);
  const presentDiffers = present.some((v) => !sameValue(v, present[0]));
  const flag = (why: string) => {
    row.risky = true;
    row.why = why;
  };
  const sandboxField = /^sandbox\[[^\]]+\]\.(service|version)$/.exec(row.key)?.[1];
  if (sandboxField === 'service' && presentDiffers) {
    flag(
      `Different engines (${spread(row, names, (v) => v !== null)}): queries, types and migrations that pass on one can fail on the other.`,
    );
  } else if (sandboxField === 'version' && row.differs) {
    const identity = rows.find((r) => r.key === row.key.slice(0, row.key.lastIndexOf('.')));
    const withSandbox = names.filter((n) => (identity?.values[n] ?? null) !== null);
    if (presentDiffers) {
      flag(
        `Version ${spread(row, names, (v) => v !== null)}: behaviour, extensions and dump formats differ between versions, so tests in one do not vouch for the other.`,
      );
    } else if (present.length > 0 && present.length < withSandbox.length) {
      flag(`Version pinned in some environments only (${spread(row, names)}): the unpinned one runs whatever binary the machine has.`);
    }
  } else if (row.key === 'DB_SSL_MODE' && row.differs && !names.every((n) => TLS_MODES.has(String(row.values[n])))) {
    flag(`TLS to the database differs (${spread(row, names)}): certificate and connection errors show up only where TLS is required.`);
  } else if (row.key === 'CACHE_BACKEND' && row.differs) {
    flag(`Different cache backends (${spread(row, names)}): expiry, eviction and sharing between processes are not exercised everywhere.`);
  } else if (row.section === 'feature') {
    const prod = productionOf(names);
    const off = names.filter((n) => n !== prod && row.values[n] !== true);
    if (row.values[prod] === true && off.length > 0) {
      flag(
        `On in ${prod} but ${off.map((n) => `${row.values[n] === null ? 'absent' : 'off'} in ${n}`).join(', ')}: ${prod} runs code that ${off.join(' and ')} never exercised.`,
      );
    }
  }
}
