// The first mistakes a new user makes get one diagnostic each, naming the cause and the fix.
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { unquotedInterpolationsInFlow } from '../../src/manifest/yaml.js';
import { cleanupTemp, runCommand, tempProject } from './helpers.js';

afterAll(cleanupTemp);

function project(manifest: string): string {
  const dir = tempProject();
  mkdirSync(path.join(dir, 'environments'));
  writeFileSync(path.join(dir, 'environments', 'development.yaml'), manifest);
  return dir;
}

const HEAD = 'apiVersion: iact/v1\nenvironment: development\n';
const PG = '  app-pg:\n    service: postgres\n    port: 55999\n    database: app\n    user: app\n    password: x\n';

describe('new-user diagnostics', () => {
  it('an unquoted ${...} inside { } gives one error that says to quote it', async () => {
    const dir = project(`${HEAD}sandboxes:\n${PG}connections:\n  database: { sandbox: app-pg, sslMode: \${DB_SSL:-disable} }\n`);
    const r = await runCommand('validate', {}, dir);
    expect(r.code).toBe(1);
    const errors = (r.stdout + r.stderr).split('\n').filter((l) => / error: /.test(l));
    expect(errors).toEqual(['environments/development.yaml:11:41  error: ${DB_SSL:-disable} inside { } or [ ] must be quoted']);
    expect(r.stdout + r.stderr).toContain('fix: quote it: "${DB_SSL:-disable}"');
  });

  it('the same value quoted is valid', async () => {
    const dir = project(`${HEAD}sandboxes:\n${PG}connections:\n  database: { sandbox: app-pg, sslMode: "\${DB_SSL:-disable}" }\n`);
    const r = await runCommand('validate', {}, dir);
    expect(r.code, r.stdout + r.stderr).toBe(0);
  });

  it('finds unquoted ${...} only inside flow collections, not in quotes, comments or block values', () => {
    const text = [
      'a: ${PLAIN:-1}',
      'b: { x: "${QUOTED}", y: \'${SINGLE}\' } # ${COMMENT}',
      'c: [one, ${IN_SEQ}]',
      'd: { e: { f: ${NESTED:-z} } }',
      'g: text{with}braces ${AFTER}',
    ].join('\n');
    expect(unquotedInterpolationsInFlow(text).map((u) => u.expression)).toEqual(['${IN_SEQ}', '${NESTED:-z}']);
  });

  it('a misspelt required field is reported once, without its echoes', async () => {
    const dir = project(
      `${HEAD}sandboxes:\n${PG}  app-redis:\n    servce: redis\n    port: 55998\n    password: x\nconnections:\n  database: { sandbox: app-pg }\n  cache: { backend: redis, sandbox: app-redis }\n`,
    );
    const r = await runCommand('validate', {}, dir);
    expect(r.code).toBe(1);
    const errors = (r.stdout + r.stderr).split('\n').filter((l) => / error: /.test(l));
    expect(errors).toEqual(['environments/development.yaml:11:5  error: unknown field "servce" in sandboxes.app-redis']);
    expect(r.stdout + r.stderr).toContain('fix: did you mean "service"?');
  });

  it('a field that is really missing is still reported', async () => {
    const dir = project(`${HEAD}sandboxes:\n  app-redis:\n    port: 55998\n    password: x\n`);
    const r = await runCommand('validate', {}, dir);
    expect(r.code).toBe(1);
    expect(r.stdout + r.stderr).toContain('sandboxes.app-redis is missing the required field "service"');
  });
});
