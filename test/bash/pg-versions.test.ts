// PostgreSQL majors beside each other: a sandbox pinned to a major the system lacks runs the
// binaries `iact install` put in the iact cache; bash finds that cache by the same rule as the
// TypeScript side; a major that is nowhere fails apply with the command that installs it.
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { iactCacheDir } from '../../src/install/cache.js';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { TEMPLATE_DIR } from '../helpers/services.js';

/** svc::iact_cache_dir of bash/lib/services.sh under this environment. */
function bashCacheDir(env: Record<string, string>): string {
  const script =
    'set -euo pipefail; for f in common sandbox services; do source "$1/bash/lib/$f.sh"; done; svc::iact_cache_dir; printf %s "$REPLY"';
  return execFileSync('bash', ['-c', script, 'bash', repoRoot], {
    env: { PATH: process.env.PATH!, ...env },
    encoding: 'utf8',
    cwd: repoRoot,
  });
}

describe('the iact cache: one rule in bash and TypeScript', () => {
  it('IACT_CACHE_DIR, else XDG_CACHE_HOME/iact, else the home or (root) /var/cache/iact', () => {
    const uid = process.getuid?.() ?? -1;
    const cases: Record<string, string>[] = [
      { IACT_CACHE_DIR: '/srv/iact-cache', HOME: '/home/a' },
      { XDG_CACHE_HOME: '/home/a/.xdg', HOME: '/home/a' },
      { HOME: '/home/a' },
    ];
    for (const env of cases) {
      expect(bashCacheDir(env), JSON.stringify(env)).toBe(iactCacheDir(env, uid));
    }
  });
});

describeNeeding('postgres')('a postgres sandbox of a major from the iact cache', { timeout: 900_000 }, () => {
  let project: Project;
  let scratch: string;
  let cache: string;
  let env: Record<string, string>;
  beforeAll(async () => {
    scratch = mkdtempSync(path.join(tmpdir(), 'iact-pg-versions-'));
    chmodSync(scratch, 0o755);
    // Shared across runs when set (CI downloads once), else a temp cache the postgres user may enter.
    cache = process.env.IACT_CACHE_DIR ?? path.join(scratch, 'cache');
    mkdirSync(cache, { recursive: true });
    env = { IACT_CACHE_DIR: cache, IACT_TEMPLATE_DIR: TEMPLATE_DIR };
    project = makeProject('iact-pg-versions-');
    const installed = await project.iact(['install', 'postgres@16'], { env });
    expect(installed.exitCode, installed.stderr).toBe(0);
  });
  afterAll(async () => {
    await project?.cleanup();
    rmSync(scratch, { recursive: true, force: true });
  });

  it("a 16 sandbox (iact cache) beside the machine's 15, both accepting logins; plan afterwards says no changes", async () => {
    const [p15, p16] = (await freePorts(2)) as [number, number];
    project.writeEnv('PG_PW=versions-Pg-Secret-16\n');
    const sandbox = (name: string, port: number, version: string) =>
      `  ${name}:\n    service: postgres\n    version: "${version}"\n    port: ${port}\n    database: app\n    user: app\n    password: \${PG_PW}\n`;
    project.writeManifest(
      'development',
      `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n${sandbox('pg-fifteen', p15, '15')}${sandbox('pg-sixteen', p16, '16')}`,
    );
    const applied = await project.iact(['apply', '--auto-approve'], { env });
    expect(applied.exitCode, applied.stderr).toBe(0);

    for (const [name, port, major] of [
      ['pg-fifteen', p15, 15],
      ['pg-sixteen', p16, 16],
    ] as const) {
      const login = await execa(
        'psql',
        ['-X', '-w', '-tA', '-h', '127.0.0.1', '-p', String(port), '-U', 'app', '-d', 'app', '-c', 'show server_version_num'],
        { env: { PGPASSWORD: 'versions-Pg-Secret-16' }, reject: false },
      );
      expect(login.exitCode, `${name}: ${login.stderr}`).toBe(0);
      expect(Math.floor(Number(login.stdout.trim()) / 10000), name).toBe(major);
    }
    const status = JSON.parse((await project.iact(['status', '--json'], { env })).stdout) as {
      sandboxes: { name: string; healthy: boolean }[];
    };
    expect(status.sandboxes.map((s) => [s.name, s.healthy])).toEqual([
      ['pg-fifteen', true],
      ['pg-sixteen', true],
    ]);

    const plan = await project.iact(['plan', '--detailed-exitcode'], { env });
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
    expect(plan.stdout).toContain('No changes.');

    // The client of iact connect is the system's psql, which talks to the newer server too.
    const connected = await execa(process.execPath, [path.join(repoRoot, 'dist', 'cli.js'), 'connect', 'pg-sixteen'], {
      cwd: project.dir,
      env: { NO_COLOR: '1', ...env },
      input: 'select 40 + 2;\n',
      reject: false,
    });
    expect(connected.exitCode, String(connected.stderr)).toBe(0);
    expect(String(connected.stdout)).toContain('42');
  });

  it('a major that is neither installed nor cached fails apply with the command that installs it', async () => {
    const [port] = (await freePorts(1)) as [number];
    project.writeManifest(
      'development',
      `apiVersion: iact/v1\nenvironment: development\ndefaults: { driver: lightweight }\nsandboxes:\n  pg-old:\n    service: postgres\n    version: "13"\n    port: ${port}\n    database: app\n    user: app\n    password: \${PG_PW}\n`,
    );
    const empty = path.join(scratch, 'empty-cache');
    mkdirSync(empty, { recursive: true });
    const applied = await project.iact(['apply', '--auto-approve', '--allow-destroy', '--no-backup'], {
      env: { ...env, IACT_CACHE_DIR: empty },
    });
    expect(applied.exitCode).toBe(1);
    // apply reports a failed action in its progress, on stdout.
    expect(applied.stdout).toContain('error: PostgreSQL 13 is not installed');
    expect(applied.stdout).toContain('fix: iact install postgres@13');
  });
});
