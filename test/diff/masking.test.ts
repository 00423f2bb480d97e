// Pure core: secrets are masked field by field whatever their origin (password field, sensitive
// variable, `sensitive:` list, a secret-looking setting), and an unset variable shows by name.
import { describe, expect, it } from 'vitest';
import { buildParity } from '../../src/diff/parity.js';
import { renderParityMarkdown, renderRevisionMarkdown } from '../../src/diff/render-markdown.js';
import { renderParityText, renderRevisionText } from '../../src/diff/render-text.js';
import { compareRevisions } from '../../src/diff/revisions.js';
import type { ManifestSet } from '../../src/diff/types.js';
import { resolveSet } from '../../src/diff/values.js';

const manifest = (env: string, settings: string, extra = '') =>
  `apiVersion: iact/v1\nenvironment: ${env}\nsensitive: [SIGNING_SEED]\nsandboxes:\n  ${env}-redis:\n    service: redis\n    port: 56001\n    password: \${REDIS_PW}\n    settings: { ${settings} }\nconnections:\n  cache: { backend: redis, sandbox: ${env}-redis, ttl: 60 }\n  api: { baseUrl: "https://\${SIGNING_SEED}.example.com", timeout: 1, verifySsl: true, useMock: false }\n${extra}`;

const set = (label: string, text: string, commit?: string): ManifestSet => ({
  label,
  ...(commit ? { commit } : {}),
  manifests: new Map([['staging', { file: 'environments/staging.yaml', text }]]),
});

const SECRETS = ['masterauth-secret-1', 'masterauth-secret-2', 'redis-pw-from-env', 'seed-value-xyz'];
const variables = { REDIS_PW: 'redis-pw-from-env', SIGNING_SEED: 'seed-value-xyz' };

describe('masking in the pure core', () => {
  it('revisions: a secret setting, a sensitive variable and a listed variable are masked; their changes are visible', () => {
    const from = set('HEAD~1', manifest('staging', 'masterauth: masterauth-secret-1, timeout: 10'), 'a'.repeat(40));
    const to = set('working tree', manifest('staging', 'masterauth: masterauth-secret-2, timeout: 20'));
    const d = compareRevisions({ from, to, before: resolveSet(from, '/p', () => variables), after: resolveSet(to, '/p', () => variables) });
    const sb = d.environments[0]!.sandboxes[0]!;
    expect(sb.fields).toEqual([
      { field: 'settings.masterauth', before: '(sensitive)', after: '(sensitive, changed)', sensitive: true, impact: 'restart' },
      { field: 'settings.timeout', before: 10, after: 20, sensitive: false, impact: 'reload' },
    ]);
    const all = JSON.stringify(d) + renderRevisionText(d, { color: true }) + renderRevisionMarkdown(d).join('');
    for (const s of SECRETS) expect(all).not.toContain(s);
  });

  it('parity: the same secrets never show, the API URL built from a listed variable is masked', () => {
    const sides = ['staging', 'qa'].map((env) => {
      const s: ManifestSet = {
        label: 'working tree',
        manifests: new Map([[env, { file: `environments/${env}.yaml`, text: manifest(env, 'masterauth: masterauth-secret-1') }]]),
      };
      return resolveSet(s, '/p', () => variables).get(env)!.resolved!;
    });
    const r = buildParity({ source: 't', environments: sides });
    expect(r.rows.find((x) => x.key === 'sandbox[cache].settings.masterauth')!.values).toEqual({
      staging: '(sensitive)',
      qa: '(sensitive)',
    });
    expect(r.rows.find((x) => x.key === 'API_BASE_URL')!.values).toEqual({ staging: '(sensitive)', qa: '(sensitive)' });
    const all = JSON.stringify(r) + renderParityText(r, { color: false }) + renderParityMarkdown(r).join('');
    for (const s of SECRETS) expect(all).not.toContain(s);
  });

  it('unset variables: shown by name, the same name on both sides is no change', () => {
    const from = set('HEAD~1', manifest('staging', 'timeout: 10'), 'b'.repeat(40));
    const to = set('working tree', manifest('staging', 'timeout: 10', 'features: { x: true }\n'));
    const d = compareRevisions({ from, to, before: resolveSet(from, '/p', () => ({})), after: resolveSet(to, '/p', () => ({})) });
    const e = d.environments[0]!;
    expect(e.sandboxes).toEqual([]);
    expect(e.features).toEqual([{ name: 'x', change: 'added', after: true }]);
    expect(e.unset_variables).toEqual(['REDIS_PW', 'SIGNING_SEED']);
  });
});
