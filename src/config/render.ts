// Pure: the connection settings as environment variables (docs/connection-variables.md) and the env file apps source.
import { serviceEntry } from '../catalog/index.js';
import { generatesPassword } from '../manifest/kept.js';
import { maskedEnvValue } from '../secrets/index.js';
import { KNOWN_AFTER_APPLY, PORT_CHOSEN_AT_APPLY, type ResolvedEnvironment } from '../model/types.js';
import { envFileQuote } from '../util/env-quote.js';

export interface ConnectionVariable {
  key: string;
  value: string;
  sensitive: boolean;
  /** Dotted path in the resolved model this variable comes from (for masking and messages). */
  path?: string;
}

const text = (v: string | number | boolean): string => String(v);

/** Every variable the environment defines, in a stable order (ENVIRONMENT first, features last). */
export function connectionVariables(resolved: ResolvedEnvironment): ConnectionVariable[] {
  const sensitive = new Set(resolved.sensitivePaths);
  const out: ConnectionVariable[] = [];
  const add = (key: string, value: string | number | boolean | undefined, path?: string) => {
    if (value === undefined) return;
    out.push({ key, value: text(value), sensitive: path !== undefined && sensitive.has(path), ...(path ? { path } : {}) });
  };
  const c = resolved.connections;
  // A bound sandbox's password not generated yet (its first apply): a placeholder the plan masks.
  const generated = (sandbox: string | undefined): string | undefined => {
    const sb = sandbox === undefined ? undefined : resolved.sandboxes[sandbox];
    return sb && generatesPassword(sb) ? KNOWN_AFTER_APPLY : undefined;
  };
  add('ENVIRONMENT', resolved.environment);
  if (c.database) {
    const db = c.database;
    const p = (f: string) => `connections.database.${f}`;
    add('DB_HOST', db.host, p('host'));
    add('DB_PORT', db.port === PORT_CHOSEN_AT_APPLY ? KNOWN_AFTER_APPLY : db.port, p('port'));
    add('DB_NAME', db.database, p('database'));
    add('DB_USER', db.user, p('user'));
    add('DB_PASSWORD', db.password ?? generated(db.sandbox), p('password'));
    add('DB_SSL_MODE', db.ssl_mode, p('ssl_mode'));
    add('DB_SSL_CA', db.ssl_ca, p('ssl_ca'));
    // libpq's name for the same file (sslrootcert), which verify-full needs.
    add('DB_SSL_ROOT_CERT', db.ssl_ca, p('ssl_ca'));
    add('DB_USE_VM', db.use_vm, p('use_vm'));
    add('DB_SANDBOX', db.sandbox, p('sandbox'));
    add('SSH_TUNNEL_ENABLED', db.ssh_tunnel.enabled, p('ssh_tunnel.enabled'));
    add('SSH_TUNNEL_HOST', db.ssh_tunnel.host, p('ssh_tunnel.host'));
    add('SSH_TUNNEL_PORT', db.ssh_tunnel.port, p('ssh_tunnel.port'));
    add('SSH_TUNNEL_USER', db.ssh_tunnel.user, p('ssh_tunnel.user'));
    // The bound service's own names too (MYSQL_HOST, ...): the catalogue says which (docs/connection-variables.md).
    const bound = db.sandbox === undefined ? undefined : resolved.sandboxes[db.sandbox];
    const extra = bound ? serviceEntry(bound.service)?.connection?.envFile : undefined;
    const fieldOf = { host: 'host', port: 'port', database: 'database', user: 'user', password: 'password' } as const;
    for (const [key, field] of Object.entries(extra ?? {})) {
      const value = field === 'port' ? (db.port === PORT_CHOSEN_AT_APPLY ? KNOWN_AFTER_APPLY : db.port) : db[fieldOf[field]];
      add(key, value, p(fieldOf[field]));
    }
  }
  if (c.cache) {
    const cache = c.cache;
    const p = (f: string) => `connections.cache.${f}`;
    add('CACHE_BACKEND', cache.backend, p('backend'));
    add('CACHE_TTL', cache.ttl, p('ttl'));
    add('REDIS_HOST', cache.host, p('host'));
    add('REDIS_PORT', cache.port === PORT_CHOSEN_AT_APPLY ? KNOWN_AFTER_APPLY : cache.port, p('port'));
    add('REDIS_PASSWORD', cache.password ?? generated(cache.sandbox), p('password'));
    if (cache.ssl_mode !== undefined) {
      // A tls: true sandbox: most clients take TLS from a rediss:// URL; it holds the password.
      const pw = cache.password ?? generated(cache.sandbox);
      const port = cache.port === PORT_CHOSEN_AT_APPLY ? undefined : cache.port;
      const auth = pw === undefined ? '' : `default:${encodeURIComponent(pw)}@`;
      const url = pw === KNOWN_AFTER_APPLY || port === undefined ? KNOWN_AFTER_APPLY : `rediss://${auth}${cache.host}:${port}/0`;
      add('REDIS_URL', url, p('password'));
      add('REDIS_SSL_MODE', cache.ssl_mode, p('ssl_mode'));
      add('REDIS_SSL_CA', cache.ssl_ca, p('ssl_ca'));
    }
  }
  if (c.llm) {
    const llm = c.llm;
    const p = (f: string) => `connections.llm.${f}`;
    add('LLM_PROVIDER', llm.provider, p('provider'));
    add('LLM_MODEL', llm.model, p('model'));
    add('LLM_API_KEY', llm.api_key, p('api_key'));
    add('LLM_BASE_URL', llm.base_url, p('base_url'));
    add('LLM_MAX_TOKENS', llm.max_tokens, p('max_tokens'));
    add('LLM_MONTHLY_BUDGET', llm.monthly_budget, p('monthly_budget'));
    add('LLM_PREFER_LOCAL', llm.prefer_local, p('prefer_local'));
    add('LLM_FALLBACK_TO_HEURISTICS', llm.fallback_to_heuristics, p('fallback_to_heuristics'));
  }
  if (c.api) {
    const api = c.api;
    const p = (f: string) => `connections.api.${f}`;
    add('API_BASE_URL', api.base_url, p('base_url'));
    add('API_TIMEOUT', api.timeout, p('timeout'));
    add('API_VERIFY_SSL', api.verify_ssl, p('verify_ssl'));
    add('API_USE_MOCK', api.use_mock, p('use_mock'));
    add('API_KEY', api.api_key, p('api_key'));
  }
  if (c.logging) {
    const log = c.logging;
    const p = (f: string) => `connections.logging.${f}`;
    add('LOG_LEVEL', log.level, p('level'));
    add('LOG_CONSOLE', log.console, p('console'));
    add('LOG_FILE', log.file, p('file'));
    add('LOG_FILE_PATH', log.file_path, p('file_path'));
  }
  for (const name of Object.keys(resolved.features).sort()) {
    add(`FEATURE_${name.toUpperCase()}`, resolved.features[name], `features.${name}`);
  }
  return out;
}

/**
 * `.iact/env/<environment>.env`: KEY='value' lines that `source` in bash, python-dotenv and
 * node's dotenv read identically. Deterministic (no timestamps) so plans can diff it.
 */
export function renderEnvFile(resolved: ResolvedEnvironment, opts: { mask: boolean }): string {
  const lines = [
    `# iact connection settings for ${resolved.environment}, rendered from ${resolved.file}. Do not edit: \`iact apply\` rewrites this file.`,
  ];
  for (const v of connectionVariables(resolved)) {
    const value = opts.mask && v.sensitive ? maskedEnvValue(resolved.environment, v.key, v.value) : v.value;
    // Values that cannot be quoted are rejected by validation; never emit a line bash would misread.
    const quoted = envFileQuote(value);
    if (quoted === undefined) throw new Error(`${v.key} has a value the env file cannot carry (validate should have refused it)`);
    lines.push(`${v.key}=${quoted}`);
  }
  return `${lines.join('\n')}\n`;
}
