import { execFileSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { isSensitiveKey, isSensitiveVariable, MASKED, passwordHash, redact, variableHash } from '../../src/secrets/index.js';

describe('secrets', () => {
  it('one rule for variables, settings and env-file keys', () => {
    for (const k of ['DB_PASSWORD', 'API_KEY', 'GITHUB_TOKEN', 'LLM_API_KEY', 'apiKey', 'requirepass', 'masterauth', 'client_secret']) {
      expect(isSensitiveKey(k), k).toBe(true);
    }
    for (const k of ['LLM_MAX_TOKENS', 'DB_HOST', 'max_connections', 'KEYBOARD', 'maxmemory-policy'])
      expect(isSensitiveKey(k), k).toBe(false);
    expect(isSensitiveVariable('DATABASE_URL', ['DATABASE_URL'])).toBe(true);
  });

  it('redacts the longest secret first and leaves short strings alone', () => {
    expect(redact('pw=hunter22 and hunter2 and abc', ['hunter2', 'hunter22', 'abc'])).toBe(`pw=${MASKED} and ${MASKED} and abc`);
  });

  it('hashes a password exactly as the bash drivers do without --spec (docs/driver-protocol.md)', () => {
    const bash = execFileSync('bash', ['-c', `printf 'iact-password\\0%s\\0%s\\0%s' dev pg 's3cret' | sha256sum | cut -c1-16`], {
      encoding: 'utf8',
    }).trim();
    expect(passwordHash('dev', 'pg', 's3cret')).toBe(`sha256:${bash}`);
  });

  it('keys variable hashes by the project salt', () => {
    expect(variableHash('X', undefined, 'salt')).toBe('unset');
    expect(variableHash('X', 'v', 'salt')).not.toBe(variableHash('X', 'v'));
    expect(variableHash('X', 'v', 'salt')).toMatch(/^sha256:[0-9a-f]{16}$/);
  });
});
