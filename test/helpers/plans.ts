// A plan around some changes, for tests of what consumes plans (executor, status view).
import { PLAN_FORMAT_VERSION, type Plan, type ResourceChange } from '../../src/plan/types.js';

export function planOf(changes: ResourceChange[], environment = 'development'): Plan {
  return {
    format_version: PLAN_FORMAT_VERSION,
    environment,
    fingerprint: 'x',
    inputs: { manifest: '', variables: {}, observed: {}, env_file: '' },
    refresh_only: false,
    targets: [],
    changes,
    config_changes: [],
    notices: [],
    summary: { create: 0, update: 0, replace: 0, delete: 0, start: 0, no_op: 0, config: 0 },
  };
}
