// The bash drivers parse .env themselves (never `source` it); they must read what node's dotenv reads.
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parse } from 'dotenv';
import { describe, expect, it } from 'vitest';

const common = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../bash/lib/common.sh');

const TEXT = [
  '# a comment',
  'PLAIN=value',
  'export EXPORTED=yes',
  'SPACED = padded   ',
  'DOUBLE="two words"',
  "SINGLE='$(id) stays literal'",
  'TRAILING="staging" # why',
  'BARE=dev # note',
  'EMPTY=',
  'FIRST=one',
].join('\n');

describe('iact::dotenv_get', () => {
  it('reads every key as node dotenv does, and runs nothing', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 'iact-dotenv-'));
    try {
      writeFileSync(path.join(dir, '.env'), `${TEXT}\n`);
      const expected = parse(TEXT);
      for (const [key, value] of Object.entries(expected)) {
        const got = execFileSync('bash', ['-c', `source "$1"; iact::dotenv_get .env "$2"`, 'x', common, key], {
          cwd: dir,
          encoding: 'utf8',
        });
        expect(got, key).toBe(value);
      }
      const missing = (() => {
        try {
          execFileSync('bash', ['-c', `source "$1"; iact::dotenv_get .env NOPE`, 'x', common], { cwd: dir, stdio: 'pipe' });
          return 0;
        } catch (error) {
          return (error as { status: number }).status;
        }
      })();
      expect(missing).toBe(1);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
