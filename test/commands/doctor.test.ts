// iact doctor on this machine, and with a PATH that hides prerequisites: each missing one is named with its fix.
import { existsSync, mkdtempSync, rmSync, symlinkSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, describe, expect, it } from 'vitest';
import type { CheckResult } from '../../src/doctor/types.js';
import { cliPath, needs } from '../helpers/iact-project.js';

// The first test expects every service binary; without them it fails with the install hint (or skips, when allowed).

function which(bin: string): string {
  for (const dir of (process.env.PATH ?? '').split(':')) {
    const candidate = path.join(dir, bin);
    if (dir && existsSync(candidate)) return candidate;
  }
  throw new Error(`${bin} is not on PATH (install it: apt-get install ${bin})`);
}

const BASE_TOOLS = ['setsid', 'flock', 'timeout', 'sha256sum', 'du'];

/** A bin dir holding only the named tools, so doctor sees a machine without the others. */
function pathWith(dir: string, tools: string[]): string {
  for (const tool of tools) symlinkSync(which(tool), path.join(dir, tool));
  return dir;
}

async function doctor(args: string[], env: Record<string, string> = {}) {
  const cwd = mkdtempSync(path.join(tmpdir(), 'iact-doctor-cwd-'));
  try {
    const r = await execa(process.execPath, [cliPath, 'doctor', ...args], {
      cwd,
      env: { NO_COLOR: '1', ...env },
      extendEnv: !('PATH' in env),
      reject: false,
      stdin: 'ignore',
    });
    return { exitCode: r.exitCode ?? 1, stdout: String(r.stdout), stderr: String(r.stderr) };
  } finally {
    rmSync(cwd, { recursive: true, force: true });
  }
}

describe('iact doctor', () => {
  const dirs: string[] = [];
  const tempBin = () => {
    const d = mkdtempSync(path.join(tmpdir(), 'iact-doctor-bin-'));
    dirs.push(d);
    return d;
  };
  afterAll(() => dirs.forEach((d) => rmSync(d, { recursive: true, force: true })));

  it('reports every driver on this machine, each missing check with a fix, in well under the time of serial probes', async (t) => {
    needs(t, 'postgres', 'mysql', 'redis');
    const started = Date.now();
    const r = await doctor([]);
    const elapsed = Date.now() - started;
    expect(r.stderr).toBe('');
    expect(r.exitCode).toBe(0); // bash, jq and the service binaries are installed here
    expect(r.stdout).toMatch(/^lightweight \(default driver\): usable; services: none, postgres, mysql, redis$/m);
    expect(r.stdout).toMatch(/^namespace: /m);
    expect(r.stdout).toMatch(/^docker: /m);
    expect(r.stdout).toMatch(/ok\s+bash >= 4\.4\s+\d+\.\d+/);
    expect(r.stdout).toMatch(/ok\s+PostgreSQL \(postgres, initdb, pg_dump, psql\)\s+15\.\d+ \(\/usr\/lib\/postgresql\/15\/bin\)/);
    expect(r.stdout).toMatch(/ok\s+MariaDB .*\s+10\.11\.\d+/);
    expect(r.stdout).toMatch(/ok\s+Redis .*\s+7\.\d+\.\d+/);
    const json = JSON.parse((await doctor(['--json'])).stdout) as { usable: boolean; checks: CheckResult[] };
    expect(json.usable).toBe(true);
    for (const check of json.checks.filter((c) => c.state !== 'ok')) {
      expect(check.fix, `${check.driver}/${check.id} has a fix`).toBeTruthy();
      expect(r.stdout).toContain(`fix: ${check.fix}`);
    }
    expect(elapsed).toBeLessThan(15_000);
  });

  it('names socat, bwrap, docker and the service binaries with install hints when PATH hides them', async () => {
    const bin = pathWith(tempBin(), ['bash', 'jq', ...BASE_TOOLS]);
    const r = await doctor([], { PATH: bin });
    expect(r.exitCode).toBe(0); // lightweight still runs `none` sandboxes with bash, jq and the base tools
    expect(r.stdout).toMatch(/MISSING\s+socat \(exposes the port on 127\.0\.0\.1\)\s+socat is not on PATH\n\s+fix: apt-get install socat/);
    expect(r.stdout).toMatch(/MISSING\s+bwrap .*\n\s+fix: apt-get install bubblewrap/);
    expect(r.stdout).toMatch(/MISSING\s+docker CLI\s+docker not found on PATH\n\s+fix: apt-get install docker\.io/);
    expect(r.stdout).toMatch(/MISSING\s+a reachable Docker engine.*\n\s+fix: .*docker-engine\.sh start/);
    expect(r.stdout).toMatch(
      /MISSING\s+MariaDB .*not found: mariadbd, mariadb-install-db, mariadb, mariadb-dump\n\s+fix: apt-get install -y mariadb-server mariadb-client/,
    );
    expect(r.stdout).toMatch(/MISSING\s+Redis .*not found: redis-server, redis-cli\n\s+fix: apt-get install -y redis-server redis-tools/);
    expect(r.stdout).toMatch(/^lightweight \(default driver\): usable; services: none$/m);
    expect(r.stdout).toMatch(/^namespace: not usable here$/m);
    expect(r.stdout).toMatch(/missing prerequisites; the default driver \(lightweight\) is usable\.$/m);
  });

  it('hides only socat: the namespace driver loses its forwarder, nothing else changes', async (t) => {
    needs(t, 'postgres', 'mysql', 'redis');
    const tools = [
      'bash',
      'jq',
      ...BASE_TOOLS,
      'bwrap',
      'setpriv',
      'redis-server',
      'redis-cli',
      'mariadbd',
      'mariadb-install-db',
      'mariadb',
      'mariadb-dump',
      'docker',
    ];
    const bin = pathWith(tempBin(), tools);
    const r = await doctor(['--json'], { PATH: bin });
    const json = JSON.parse(r.stdout) as { checks: CheckResult[]; drivers: { driver: string; usable: boolean }[] };
    const forwarder = json.checks.find((c) => c.driver === 'namespace' && c.id === 'forwarder')!;
    expect(forwarder.state).toBe('missing');
    expect(forwarder.fix).toMatch(/apt-get install socat/);
    expect(json.drivers.find((d) => d.driver === 'namespace')!.usable).toBe(false);
    expect(json.checks.filter((c) => c.state === 'missing' && c.driver === 'lightweight')).toEqual([]);
  });

  it('exits 1 when the default driver cannot run: no jq, no flock', async () => {
    const bin = pathWith(tempBin(), ['bash', 'setsid', 'timeout', 'sha256sum', 'du']);
    const r = await doctor([], { PATH: bin });
    expect(r.exitCode).toBe(1);
    expect(r.stdout).toMatch(/^lightweight \(default driver\): not usable here$/m);
    expect(r.stdout).toMatch(/MISSING\s+jq\s+jq not found on PATH\n\s+fix: apt-get install jq/);
    expect(r.stdout).toMatch(/MISSING\s+setsid, flock, timeout, sha256sum, du\s+not found: flock\n\s+fix: apt-get install util-linux/);
    expect(r.stdout).toMatch(/the default driver \(lightweight\) is NOT usable\.$/m);
  });
});
