import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync, existsSync, mkdirSync } from 'node:fs';
import { hostname, tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { acquireLock, parseDuration } from '../../src/apply/lock.js';
import { DiagnosticError } from '../../src/diagnostics.js';

let dir: string;
beforeEach(() => {
  dir = mkdtempSync(path.join(tmpdir(), 'iact-lock-'));
});
afterEach(() => rmSync(dir, { recursive: true, force: true }));

describe('acquireLock', () => {
  it('writes pid, host, command and start time, and removes the file on release', async () => {
    const lock = await acquireLock(dir, 'development', { command: 'iact apply', timeoutMs: 0 });
    const info = JSON.parse(readFileSync(path.join(dir, 'development.lock'), 'utf8'));
    expect(info).toMatchObject({ pid: process.pid, host: hostname(), command: 'iact apply' });
    expect(Number.isNaN(Date.parse(info.started))).toBe(false);
    await lock.release();
    expect(existsSync(path.join(dir, 'development.lock'))).toBe(false);
  });

  it('refuses a second holder and names the first', async () => {
    const first = await acquireLock(dir, 'staging', { command: 'iact apply', timeoutMs: 0 });
    const error = await acquireLock(dir, 'staging', { command: 'iact destroy', timeoutMs: 0 }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(DiagnosticError);
    const d = (error as DiagnosticError).diagnostics[0]!;
    expect(d.summary).toContain(`environment staging is locked by pid ${process.pid}`);
    expect(d.summary).toContain('iact apply');
    expect(d.fix).toContain('--lock-timeout');
    await first.release();
  });

  it('waits with a timeout and gets the lock once it is released', async () => {
    const first = await acquireLock(dir, 'development', { command: 'a', timeoutMs: 0 });
    setTimeout(() => void first.release(), 300);
    const started = Date.now();
    const second = await acquireLock(dir, 'development', { command: 'b', timeoutMs: 5000 });
    expect(Date.now() - started).toBeGreaterThanOrEqual(250);
    await second.release();
  });

  it('takes over the lock of a dead process with a warning', async () => {
    const child = spawn(process.execPath, ['-e', '0']);
    const deadPid = child.pid!;
    await new Promise((resolve) => child.on('exit', resolve));
    mkdirSync(dir, { recursive: true });
    writeFileSync(
      path.join(dir, 'development.lock'),
      JSON.stringify({ pid: deadPid, host: hostname(), command: 'iact apply', started: '2026-01-01T00:00:00Z' }),
    );
    const warnings: string[] = [];
    const lock = await acquireLock(dir, 'development', { command: 'iact apply', timeoutMs: 0, onWarning: (m) => warnings.push(m) });
    expect(warnings).toHaveLength(1);
    expect(warnings[0]).toContain(`pid ${deadPid}`);
    expect(warnings[0]).toContain('no longer running');
    await lock.release();
  });

  it('takes over an unreadable lock file left by a killed run', async () => {
    writeFileSync(path.join(dir, 'development.lock'), '{"pid": 12');
    const warnings: string[] = [];
    const lock = await acquireLock(dir, 'development', { command: 'x', timeoutMs: 0, onWarning: (m) => warnings.push(m) });
    expect(warnings[0]).toContain('unreadable');
    await lock.release();
  });
});

describe('parseDuration', () => {
  it.each([
    ['30s', 30_000],
    ['5m', 300_000],
    ['1h', 3_600_000],
    ['250ms', 250],
    ['2', 2000],
  ])('%s is %d ms', (text, ms) => expect(parseDuration(text, '--interval')).toBe(ms));

  it('rejects nonsense with the fix', () => {
    expect(() => parseDuration('soon', '--interval')).toThrow(/--interval soon is not a duration/);
  });
});
