// One validation of spec fields for every driver (bash/lib/validate.sh, iact::validate_spec): it
// accepts exactly what schemas/manifest.schema.json accepts for the fields a driver receives.
import { execa } from 'execa';
import { describe, expect, it } from 'vitest';
import { isAllowedSetting } from '../../src/catalog/index.js';
import { schemaAt } from '../../src/manifest/schema.js';
import { repoRoot } from '../helpers/services.js';

const SAMPLES: Record<string, string[]> = {
  memory: ['512M', '1G', '64K', '1048576', '0', '512MB', '512m', '1.5G', '1T', '', '1234567890'],
  version: ['15', '10.11', '7.2.4', '15-beta1', '7.0.0-rc2', 'x15', '15 ', '.15', '1'.repeat(33)],
  database: ['appdb', '_x', 'App_1', '1db', 'a-b', "x'; DROP", 'a'.repeat(63), 'a'.repeat(64)],
  image: ['iact/postgres:15', 'postgres', 'Registry/x', `x:tag@sha256:${'a'.repeat(64)}`, 'x:'],
};
// A setting's key and value: the schema's propertyNames and value pattern.
const SETTING_KEYS = ['work_mem', 'maxmemory-policy', 'a.b', '_x', 'Bad', 'bad key', 'k'.repeat(63), 'k'.repeat(64)];
const SETTING_VALUES = ['4MB', 'a b', 'x#y;z', "it's", 'say "hi"', 'back\\slash', 'line\nbreak', 'tab\there'];

/** One bash process: every sample through iact::validate_spec, in a subshell each; prints ok or bad per line. */
async function bashVerdicts(cases: Array<{ field: string; value: string; key?: string; service?: string }>): Promise<string[]> {
  const script = `
    set -euo pipefail
    source "$1/bash/lib/common.sh"
    shift
    while (($# > 0)); do
      field="$1" value="$2" key="$3" service="$4"; shift 4
      declare -A f=([name]=ok [environment]=development [service]="\${service}" [port]=20000 [database]=appdb [user]=app)
      keys=() values=()
      if [[ "\${field}" == setting ]]; then keys=("\${key}"); values=("\${value}"); else f[\${field}]="\${value}"; fi
      if (iact::validate_spec f keys values) 2>/dev/null; then echo ok; else echo bad; fi
    done`;
  const args = cases.flatMap((c) => [c.field, c.value, c.key ?? '', c.service ?? 'postgres']);
  const r = await execa('bash', ['-c', script, 'x', repoRoot, ...args]);
  return r.stdout.split('\n');
}

function schemaAccepts(field: string, value: string): boolean {
  const node = schemaAt(['sandboxes', 'x', field]) as { pattern?: string };
  expect(node?.pattern).toBeTypeOf('string');
  return value === '' ? field !== 'database' && field !== 'user' : new RegExp(node.pattern as string, 'u').test(value);
}

describe('iact::validate_spec agrees with the manifest schema', () => {
  it.each(Object.keys(SAMPLES))('%s', async (field) => {
    const values = SAMPLES[field] as string[];
    const verdicts = await bashVerdicts(values.map((value) => ({ field, value })));
    expect(Object.fromEntries(values.map((v, i) => [v, verdicts[i]]))).toEqual(
      Object.fromEntries(values.map((v) => [v, schemaAccepts(field, v) ? 'ok' : 'bad'])),
    );
  });

  it('setting keys and values', async () => {
    const settings = schemaAt(['sandboxes', 'x', 'settings']) as {
      propertyNames: { pattern: string };
      additionalProperties: { pattern: string };
    };
    const keyRe = new RegExp(settings.propertyNames.pattern, 'u');
    const valueRe = new RegExp(settings.additionalProperties.pattern, 'u');
    // The key's syntax alone: `none` allows any key (postgres, mysql and redis have an allow-list, below).
    const cases = [
      ...SETTING_KEYS.map((key) => ({ field: 'setting', key, value: '1', service: 'none' })),
      ...SETTING_VALUES.map((value) => ({ field: 'setting', key: 'work_mem', value })),
    ];
    const verdicts = await bashVerdicts(cases);
    expect(verdicts).toEqual(cases.map((c) => (keyRe.test(c.key) && valueRe.test(c.value) ? 'ok' : 'bad')));
  });

  it('allows the settings the catalogue allows, per service, and nothing else (the TypeScript check agrees)', async () => {
    const keys = [
      'work_mem',
      'include',
      'include_dir',
      'listen_addresses',
      'bind',
      'bind-address',
      'loose-bind-address',
      'loose_max_connections',
      'max-connections',
      'skip-grant-tables',
      'user',
      'maxmemory-policy',
      'rename-command',
      'aclfile',
      'masterauth',
      'role',
    ];
    const cases = (['postgres', 'mysql', 'redis', 'none'] as const).flatMap((service) =>
      keys.map((key) => ({ field: 'setting', key, value: '1', service })),
    );
    const verdicts = await bashVerdicts(cases);
    expect(verdicts).toEqual(cases.map((c) => (isAllowedSetting(c.service, c.key) ? 'ok' : 'bad')));
    expect(verdicts.filter((v) => v === 'ok').length).toBeGreaterThan(keys.length);
  });

  it('refuses what the schema cannot know: a setting iact owns, and the administrator as user', async () => {
    const r = await bashVerdicts([
      { field: 'setting', key: 'listen_addresses', value: '*' },
      { field: 'setting', key: 'unix-socket-directories', value: '/tmp' },
      { field: 'user', value: 'postgres' },
      { field: 'user', value: 'app' },
    ]);
    expect(r).toEqual(['bad', 'bad', 'bad', 'ok']);
  });
});
