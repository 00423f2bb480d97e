// Issue 11, item 13: a manifest that is a link to a file of secrets (/etc/shadow) must not have its
// lines echoed by validate or plan (docs/manifest.md "Files").
import { symlinkSync } from 'node:fs';
import path from 'node:path';
import { needs } from '../helpers/services.js';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeProject, type Project } from '../helpers/iact-project.js';

let project: Project;
beforeAll(() => {
  project = makeProject('iact-sec13-');
});
afterAll(async () => project.cleanup());

describe('item 13: a manifest linked to /etc/shadow', () => {
  it('validate and plan refuse it without quoting a line of it', async (ctx) => {
    needs(ctx, 'root');
    symlinkSync('/etc/shadow', path.join(project.dir, 'environments', 'development.yaml'));
    const { readFileSync } = await import('node:fs');
    // Every account name and hash field of the real file: none may appear in any output.
    const fields = readFileSync('/etc/shadow', 'utf8')
      .split('\n')
      .filter((l) => l.includes(':'))
      .flatMap((l) => [l.split(':')[0]!, l.split(':')[1]!])
      .filter((f) => f.length > 2);
    expect(fields.length).toBeGreaterThan(0);
    for (const args of [['validate'], ['plan'], ['config', '--show-sensitive']]) {
      const r = await project.iact(args);
      expect(r.exitCode, args.join(' ')).toBe(1);
      expect(r.stderr).toContain('environments/development.yaml:1:1  error: this is not an iact manifest');
      for (const f of fields) {
        expect(r.stdout + r.stderr, `${args.join(' ')} quotes "${f}"`).not.toContain(`"${f}`);
        expect(r.stdout + r.stderr).not.toContain(`${f}:`);
      }
    }
  }, 60_000);
});
