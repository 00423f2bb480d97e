// Renderers: markdown split under GitHub's limit with tables and fences reopened, nothing lost;
// colour only when asked; JSON round-trips.
import { describe, expect, it } from 'vitest';
import { buildParity } from '../../src/diff/parity.js';
import { renderParityMarkdown, renderRevisionMarkdown } from '../../src/diff/render-markdown.js';
import { renderParityText, renderRevisionText } from '../../src/diff/render-text.js';
import { DIFF_PART_SEPARATOR } from '../../src/diff/split.js';
import { GITHUB_COMMENT_LIMIT, packBlocks } from '../../src/render/comments.js';
import { DIFF_FORMAT_VERSION, type EnvironmentDiff, type RevisionDiff, type SandboxDiff } from '../../src/diff/types.js';
import { renderDiff } from '../../src/diff/index.js';
import { resolveManifest } from '../../src/manifest/resolve.js';

function sandbox(i: number): SandboxDiff {
  return {
    name: `sb-${String(i).padStart(5, '0')}`,
    service: 'postgres',
    action: i % 2 === 0 ? 'create' : 'replace',
    impact: i % 2 === 0 ? 'none' : 'data-loss',
    reasons: ['version changed (forces a replace)'],
    needs_allow_destroy: false,
    fields:
      i % 2 === 0
        ? [
            { field: 'port', after: 20000 + i, sensitive: false, impact: 'none' },
            { field: 'password', after: '(sensitive)', sensitive: true, impact: 'none' },
          ]
        : [{ field: 'version', before: '15', after: '16', sensitive: false, impact: 'data-loss' }],
  };
}

function bigDiff(n: number): RevisionDiff {
  const env: EnvironmentDiff = {
    environment: 'development',
    status: 'changed',
    before_file: 'environments/development.yaml',
    after_file: 'environments/development.yaml',
    sandboxes: Array.from({ length: n }, (_, i) => sandbox(i)),
    connections: [{ key: 'DB_PORT', change: 'changed', before: '1', after: '2', sensitive: false }],
    features: [],
    problems: [],
    unset_variables: [],
  };
  return {
    format_version: DIFF_FORMAT_VERSION,
    kind: 'revisions',
    from: { ref: 'origin/main', commit: 'a'.repeat(40) },
    to: { ref: 'working tree', commit: null },
    environments: [env],
    env_example: { added: [], removed: [] },
    summary: {
      environments_changed: 1,
      create: n / 2,
      update: 0,
      replace: n / 2,
      delete: 0,
      connections: 1,
      features: 0,
      errors: 0,
      has_differences: true,
    },
  };
}

describe('markdown split', () => {
  it('a diff far over 65,536 characters becomes several comments, each under the limit, nothing lost', () => {
    const d = bigDiff(3000);
    const parts = renderRevisionMarkdown(d);
    expect(parts.length).toBeGreaterThan(2);
    for (const [i, part] of parts.entries()) {
      expect(part.length, `part ${i + 1}`).toBeLessThan(GITHUB_COMMENT_LIMIT);
      expect(part).toContain(`<!-- iact-diff; part ${i + 1} of ${parts.length} -->`);
      // Balanced: every fence and <details> opened in a part is closed in it.
      expect((part.match(/^`{3,}/gm) ?? []).length % 2, `fences in part ${i + 1}`).toBe(0);
      expect((part.match(/<details>/g) ?? []).length).toBe((part.match(/<\/details>/g) ?? []).length);
      // A table continued from the previous part starts with its header again.
      const firstRow = part.split('\n').findIndex((l) => l.startsWith('| + create') || l.startsWith('| -/+ replace'));
      if (firstRow > 0) expect(part.split('\n')[firstRow - 1]).toMatch(/^\| (---|Change)/);
    }
    expect(parts[0]!.startsWith('**iact diff · `origin/main` → working tree:** Diff: 1 environment changed')).toBe(true);
    expect(parts[1]!.startsWith('**iact diff · origin/main → working tree (part 2 of')).toBe(true);
    const all = parts.join('');
    for (let i = 0; i < 3000; i++) expect(all).toContain(`sb-${String(i).padStart(5, '0')}`);
    // The stdout form separates the parts with a marker a CI step can split on.
    expect(renderDiff(d, 'markdown', { color: false }).split(DIFF_PART_SEPARATOR)).toEqual(parts);
  });

  it('a small maxChars splits a parity table and repeats its header', () => {
    const envs = ['staging', 'production'].map((environment) => {
      const features = Array.from({ length: 120 }, (_, i) => `f${i}: ${environment === 'production' || i % 3 === 0}`).join(', ');
      const extra =
        environment === 'production'
          ? '\nconnections:\n  database: { host: db, name: app, user: app, password: x }\n  api: { baseUrl: https://a.example.com, timeout: 1, verifySsl: true, useMock: false }'
          : '';
      const text = `apiVersion: iact/v1\nenvironment: ${environment}\nfeatures: { ${features} }${extra}\n`;
      const r = resolveManifest({
        text,
        file: `environments/${environment}.yaml`,
        environment,
        root: '/p',
        variables: {},
        allowMissingVariables: true,
      });
      if (!r.resolved) throw new Error(JSON.stringify(r.diagnostics));
      return r.resolved;
    });
    const report = buildParity({ source: 't', environments: envs });
    const parts = renderParityMarkdown(report, { maxChars: 4000 });
    expect(parts.length).toBeGreaterThan(2);
    for (const part of parts) {
      expect(part.length).toBeLessThan(4000);
      const lines = part.split('\n');
      const row = lines.findIndex((l) => /^\| (≠|:warning:|) \| `/.test(l));
      if (row > 0) expect(lines[row - 1]).toBe('| --- | --- | --- | --- |');
    }
    const all = parts.join('');
    for (let i = 0; i < 120; i++) expect(all).toContain(`\`features.f${i}\``);
  });

  it('packBlocks cuts a single line longer than a whole comment instead of overflowing', () => {
    const parts = packBlocks([{ kind: 'lines', open: '```', reopen: '```', close: '```', lines: ['x'.repeat(5000)] }], 1000);
    expect(parts).toHaveLength(1);
    expect(parts[0]!.length).toBeLessThanOrEqual(1000);
    expect(parts[0]).toContain('(line truncated)');
  });
});

describe('text', () => {
  it('colour only when asked', () => {
    const d = bigDiff(4);
    expect(renderRevisionText(d, { color: false })).not.toContain('\u001b[');
    const coloured = renderRevisionText(d, { color: true });
    expect(coloured).toContain('\u001b[32m+\u001b[39m');
    expect(coloured).toContain('\u001b[31m-\u001b[39m/\u001b[32m+\u001b[39m');
    expect(coloured.replace(/\u001b\[\d+m/g, '')).toBe(renderRevisionText(d, { color: false }));
  });

  it('parity text lines up columns and ends with the summary line', () => {
    const env = (environment: string, port: number) => {
      const text = `apiVersion: iact/v1\nenvironment: ${environment}\nsandboxes:\n  ${environment}-redis: { service: redis, port: ${port}, password: pw12345 }\nconnections:\n  cache: { backend: redis, sandbox: ${environment}-redis, ttl: 60 }\n`;
      return resolveManifest({ text, file: 'x', environment, root: '/p', variables: {}, allowMissingVariables: true }).resolved!;
    };
    const out = renderParityText(
      buildParity({ source: 'manifests in the working tree', environments: [env('qa', 56001), env('staging', 56002)] }),
      { color: false },
    );
    const header = out.split('\n')[2]!;
    const portRow = out.split('\n').find((l) => l.includes('sandbox[cache].port'))!;
    expect(portRow.indexOf('56001')).toBe(header.indexOf('qa'));
    expect(portRow.indexOf('56002')).toBe(header.indexOf('staging'));
    expect(out).not.toContain('pw12345');
    expect(out.trimEnd().split('\n').pop()).toMatch(/^Parity: \d+ of \d+ keys differ, 0 risky divergences\.$/);
  });
});
