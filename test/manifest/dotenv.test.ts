// src/manifest/dotenv.ts: lines dotenv would misread are diagnostics with file:line; good files are silent.
import { describe, expect, it } from 'vitest';
import { lintDotenv, parseDotenv } from '../../src/manifest/dotenv.js';

describe('lintDotenv', () => {
  it('is silent on what dotenv reads as intended: comments, blanks, export, quotes, multi-line values', () => {
    const text = [
      '# comment',
      '',
      'A=1',
      'export B=2',
      "C='single'",
      'D="double # not a comment"',
      'E="line one',
      'line two"',
      'G.H-I=ok',
      'J=  # empty',
    ].join('\n');
    expect(lintDotenv(text, '.env')).toEqual([]);
    expect(parseDotenv(text)).toMatchObject({ A: '1', B: '2', C: 'single', E: 'line one\nline two', 'G.H-I': 'ok' });
  });

  it('names each line that is not KEY=VALUE, with the fix', () => {
    const diagnostics = lintDotenv('A=1\nnot a valid line\nBAD KEY=1\n  =nokey\nF: colon\nB=2\n', '.env.staging');
    expect(diagnostics.map((d) => [d.severity, d.location?.line, d.location?.col, d.summary])).toEqual([
      ['error', 2, 1, 'not a KEY=VALUE line'],
      ['error', 3, 1, 'not a KEY=VALUE line'],
      ['error', 4, 3, 'not a KEY=VALUE line'],
      ['error', 5, 1, 'not a KEY=VALUE line'],
    ]);
    expect(diagnostics[0]).toMatchObject({ location: { file: '.env.staging' }, fix: expect.stringContaining('KEY=VALUE') });
  });

  it('warns about a quote that never closes (the value keeps the quote)', () => {
    const [d] = lintDotenv('A=1\nPASSWORD="unterminated\nB=2\n', '.env');
    expect(d).toMatchObject({ severity: 'warning', summary: 'the " quote opened here is never closed', location: { line: 2, col: 10 } });
  });
});
