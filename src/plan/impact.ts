// The one table: which field change forces what (SPEC "Plan"). Nothing else decides impact.
import type { Impact } from './types.js';

export type FieldEffect =
  | { kind: 'replace' } // delete then create; data is lost
  | { kind: 'restart' }
  | { kind: 'reload' }
  | { kind: 'in-place' } // update with no restart (password: ALTER ROLE / CONFIG SET)
  | { kind: 'metadata' }; // no machine change at all

export const FIELD_EFFECTS: Readonly<Record<string, FieldEffect>> = {
  service: { kind: 'replace' },
  driver: { kind: 'replace' },
  version: { kind: 'replace' },
  image: { kind: 'replace' },
  database: { kind: 'replace' },
  user: { kind: 'replace' },
  port: { kind: 'restart' },
  memory: { kind: 'restart' },
  password: { kind: 'in-place' },
  depends_on: { kind: 'metadata' },
  protect: { kind: 'metadata' },
};

/** Service settings that the running server picks up on reload; every other setting needs a restart. */
export const RELOADABLE_SETTINGS: Readonly<Record<string, readonly string[]>> = {
  postgres: [
    'work_mem', 'maintenance_work_mem', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
    'log_statement', 'log_min_duration_statement', 'log_min_messages', 'log_connections', 'log_disconnections',
    'search_path', 'default_transaction_isolation', 'effective_cache_size', 'random_page_cost', 'timezone',
  ],
  mysql: [
    'max_connections', 'wait_timeout', 'interactive_timeout', 'long_query_time', 'slow_query_log',
    'general_log', 'sql_mode', 'max_allowed_packet', 'sort_buffer_size', 'join_buffer_size',
  ],
  redis: [
    'maxmemory', 'maxmemory-policy', 'timeout', 'tcp-keepalive', 'loglevel', 'notify-keyspace-events',
    'slowlog-log-slower-than', 'slowlog-max-len', 'hz', 'appendonly', 'save',
  ],
  none: [],
};

export function effectOf(field: string, service: string): FieldEffect {
  const direct = FIELD_EFFECTS[field];
  if (direct) return direct;
  if (field.startsWith('settings.')) {
    const key = field.slice('settings.'.length);
    return (RELOADABLE_SETTINGS[service] ?? []).includes(key) ? { kind: 'reload' } : { kind: 'restart' };
  }
  return { kind: 'restart' };
}

export function impactOf(effect: FieldEffect): Impact {
  switch (effect.kind) {
    case 'replace':
      return 'data-loss';
    case 'restart':
      return 'restart';
    case 'reload':
      return 'reload';
    case 'in-place':
    case 'metadata':
      return 'none';
  }
}

const ORDER: Record<Impact, number> = { none: 0, reload: 1, restart: 2, 'data-loss': 3 };

export function worstImpact(impacts: Iterable<Impact>): Impact {
  let worst: Impact = 'none';
  for (const impact of impacts) if (ORDER[impact] > ORDER[worst]) worst = impact;
  return worst;
}
