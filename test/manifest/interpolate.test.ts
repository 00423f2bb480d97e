import { describe, expect, it } from 'vitest';
import { interpolate } from '../../src/manifest/interpolate.js';
import { isSensitiveVariable } from '../../src/secrets/index.js';

const vars: Record<string, string> = { HOST: 'db', EMPTY: '', PORT: '5433' };
const lookup = (n: string) => vars[n];

describe('interpolate', () => {
  it.each([
    ['plain', 'plain'],
    ['${HOST}:${PORT}', 'db:5433'],
    ['${MISSING:-fallback}', 'fallback'],
    ['${EMPTY:-fallback}', 'fallback'],
    ['${EMPTY-fallback}', ''],
    ['${MISSING-x}', 'x'],
    ['$${HOST}', '${HOST}'],
    ['cost: $5', 'cost: $5'],
    ['${MISSING:-${HOST}}', 'db'],
    ['${MISSING:-a:b}', 'a:b'],
  ])('%s -> %s', (input, expected) => {
    const r = interpolate(input, lookup);
    expect(r.problems).toEqual([]);
    expect(r.value).toBe(expected);
  });

  it('names a missing variable with its offset and the manifest message', () => {
    const r = interpolate('x ${NOPE:?set NOPE in .env}', lookup);
    expect(r.problems).toEqual([
      { kind: 'missing', variable: 'NOPE', index: 2, message: 'variable NOPE is not set', hint: 'set NOPE in .env' },
    ]);
    expect(interpolate('${NOPE}', lookup).problems[0]?.message).toBe('variable NOPE is not set');
    expect(interpolate('${EMPTY:?}', lookup).problems[0]?.message).toBe('variable EMPTY is empty');
    expect(interpolate('${EMPTY}', lookup).problems).toEqual([]);
  });

  it('keeps unset variables as ${NAME} with allowMissing, and uses fallbacks only where an error would be', () => {
    expect(interpolate('${NOPE}/${HOST}', lookup, { allowMissing: true }).value).toBe('${NOPE}/db');
    const used: string[] = [];
    const r = interpolate('${NOPE}:${DEF:-d}', lookup, { fallback: (n) => `<${n}>`, onFallback: (n) => used.push(n) });
    expect(r.value).toBe('<NOPE>:d');
    expect(used).toEqual(['NOPE']);
  });

  it('reports syntax errors and never evaluates anything', () => {
    expect(interpolate('${1X}', lookup).problems[0]?.kind).toBe('syntax');
    expect(interpolate('${HOST', lookup).problems[0]?.message).toContain('unterminated');
    expect(interpolate('${HOST:+x}', lookup).problems[0]?.kind).toBe('syntax');
    expect(interpolate('$(id) `id`', lookup).value).toBe('$(id) `id`');
  });

  it('records variables in order and whether substitution happened', () => {
    const r = interpolate('${PORT}${HOST}${PORT}', lookup);
    expect(r.variables).toEqual(['PORT', 'HOST']);
    expect(r.substituted).toBe(true);
    expect(interpolate('$$', lookup).substituted).toBe(false);
  });

  it('classifies sensitive variable names', () => {
    for (const n of ['DB_PASSWORD', 'API_SECRET', 'GITHUB_TOKEN', 'LLM_API_KEY', 'db_password']) expect(isSensitiveVariable(n)).toBe(true);
    expect(isSensitiveVariable('DB_HOST')).toBe(false);
    // One rule with plans and renderers (src/secrets/): a token budget is not a token.
    for (const n of ['LLM_MAX_TOKENS', 'KEYBOARD_LAYOUT', 'MONKEY']) expect(isSensitiveVariable(n)).toBe(false);
    expect(isSensitiveVariable('DATABASE_URL', ['DATABASE_URL'])).toBe(true);
  });
});
