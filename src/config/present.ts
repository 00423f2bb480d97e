// Pure: `iact config` output in text, json, env and shell formats, masked unless asked otherwise.
import { DiagnosticError, diag } from '../diagnostics.js';
import type { ResolvedEnvironment } from '../model/types.js';
import { MASKED, redact } from '../secrets/index.js';
import { envFileQuote } from '../util/env-quote.js';
import { connectionVariables } from './render.js';

export type ConfigFormat = 'text' | 'json' | 'env' | 'shell';

export interface ConfigView {
  environment: string;
  source: string;
  file: string;
  database?: unknown;
  cache?: unknown;
  llm?: unknown;
  api?: unknown;
  logging?: unknown;
  features: Record<string, boolean>;
}

/** Production requires database host/user/password and the API URL; every environment needs its own settings complete. */
export function configProblems(resolved: ResolvedEnvironment): string[] {
  const c = resolved.connections;
  const problems: string[] = [];
  if (resolved.environment === 'production') {
    for (const field of ['host', 'user', 'password'] as const) {
      if (!c.database?.[field]) problems.push(`production needs database ${field}`);
    }
    if (!c.api?.base_url) problems.push('production needs the API base URL');
  }
  if (c.database && (!c.database.host || !c.database.database || !c.database.user)) problems.push('database needs host, name and user');
  if (c.cache?.backend === 'redis' && !c.cache.host) problems.push('redis cache needs a host');
  return problems;
}

/** The settings as one tree (EnvironmentConfig field names, docs/connection-variables.md), sensitive leaves replaced by "(sensitive)" when masked. */
export function configView(resolved: ResolvedEnvironment, source: string, mask: boolean): ConfigView {
  const sensitive = new Set(resolved.sensitivePaths);
  const scrub = (value: unknown, path: string): unknown => {
    if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
      return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, scrub(v, `${path}.${k}`)]));
    }
    return mask && sensitive.has(path) ? MASKED : value;
  };
  const c = resolved.connections;
  const view = { environment: resolved.environment, source, file: resolved.file } as ConfigView;
  for (const section of ['database', 'cache', 'llm', 'api', 'logging'] as const) {
    if (c[section]) view[section] = scrub(c[section], `connections.${section}`);
  }
  view.features = { ...resolved.features };
  return view;
}

function textTree(value: unknown, indent: string): string[] {
  const lines: string[] = [];
  for (const [k, v] of Object.entries(value as Record<string, unknown>)) {
    if (v !== null && typeof v === 'object') lines.push(`${indent}${k}:`, ...textTree(v, `${indent}  `));
    else lines.push(`${indent}${k}: ${String(v)}`);
  }
  return lines;
}

export function renderConfig(resolved: ResolvedEnvironment, opts: { format: ConfigFormat; mask: boolean; source: string }): string {
  const { format, mask, source } = opts;
  let out: string;
  if (format === 'json') {
    // `problems` is what EnvironmentConfig.validate() reports, for clients of the JSON (python/iact).
    out = `${JSON.stringify({ ...configView(resolved, source, mask), problems: configProblems(resolved) }, null, 2)}\n`;
  } else if (format === 'text') {
    const { environment, source: _s, file, ...rest } = configView(resolved, source, mask);
    out = `${[`environment: ${environment} (from ${source}; ${file})`, ...textTree(rest, '')].join('\n')}\n`;
  } else {
    const prefix = format === 'shell' ? 'export ' : '';
    const lines = [`# iact config: ${resolved.environment}, from ${source}`];
    for (const v of connectionVariables(resolved)) {
      if (mask && v.sensitive) {
        lines.push(`# ${v.key} is sensitive: add --show-sensitive to include it`);
        continue;
      }
      const quoted = envFileQuote(v.value);
      // Never a line that reads back as another value (an empty password with exit 0 was one).
      if (quoted === undefined) {
        throw new DiagnosticError(
          diag(`${v.key} has a value the ${format} format cannot carry for bash, python-dotenv and node alike`, {
            fix: 'run iact validate: it names the value to change (docs/manifest.md "Secrets")',
          }),
        );
      }
      lines.push(`${prefix}${v.key}=${quoted}`);
    }
    out = `${lines.join('\n')}\n`;
  }
  // Last line of defence: a secret that slipped into a non-sensitive field is still scrubbed.
  return mask ? redact(out, resolved.secretValues) : out;
}

/** One setting by variable name (DB_HOST) or dotted path (database.host, features.debug_mode). */
export function lookupSetting(
  resolved: ResolvedEnvironment,
  key: string,
  mask: boolean,
): { found: true; value: string } | { found: false; candidates: string[] } {
  const vars = connectionVariables(resolved);
  const byName = vars.find((v) => v.key === key);
  if (byName) return { found: true, value: mask && byName.sensitive ? MASKED : byName.value };
  const view = configView(resolved, '', mask) as unknown as Record<string, unknown>;
  const value = key
    .split('.')
    .reduce<unknown>((acc, k) => (acc !== null && typeof acc === 'object' ? (acc as Record<string, unknown>)[k] : undefined), view);
  if (value !== undefined && (value === null || typeof value !== 'object')) return { found: true, value: String(value) };
  if (value !== undefined) return { found: true, value: JSON.stringify(value) };
  const paths: string[] = [];
  const walk = (node: unknown, prefix: string) => {
    if (node !== null && typeof node === 'object') for (const [k, v] of Object.entries(node)) walk(v, prefix ? `${prefix}.${k}` : k);
    else paths.push(prefix);
  };
  walk(view, '');
  return { found: false, candidates: [...vars.map((v) => v.key), ...paths.filter((p) => p !== 'source')] };
}
