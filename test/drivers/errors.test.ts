// src/drivers/errors.ts: the iact-error line of docs/driver-protocol.md, its text fallback, and a real script's report.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { getDriver } from '../../src/drivers/index.js';
import { DriverError, driverDiagnostic, humanStderr, reportedError } from '../../src/drivers/errors.js';

const root = mkdtempSync(path.join(tmpdir(), 'iact-errors-'));
afterAll(() => rmSync(root, { recursive: true, force: true }));

describe('driver errors', () => {
  it('reads the last iact-error line: summary, detail, fix, kind, retryable', () => {
    const stderr = [
      'error: port 55432 is already in use',
      '  fix: choose another port',
      'iact-error: {"summary":"old","detail":"","fix":"","retryable":false,"kind":"internal","exit":1}',
      'iact-error: {"summary":"port 55432 is already in use","detail":"ss says pid 7","fix":"choose another port","retryable":true,"kind":"port-in-use","exit":1}',
    ].join('\n');
    expect(reportedError(stderr, 1)).toEqual({
      summary: 'port 55432 is already in use',
      detail: 'ss says pid 7',
      fix: 'choose another port',
      kind: 'port-in-use',
      retryable: true,
    });
    expect(humanStderr(stderr)).not.toContain('iact-error');
  });

  it('falls back to the error: and fix: lines of a script without the structured line; kind from the exit code', () => {
    expect(reportedError('info: x\nerror: invalid port 80\n  fix: use 1024..65535\n', 2)).toEqual({
      summary: 'invalid port 80',
      detail: '',
      fix: 'use 1024..65535',
      kind: 'usage',
      retryable: false,
    });
    expect(reportedError('error: boom\n', 1)).toMatchObject({ kind: 'internal', fix: '' });
    expect(reportedError('iact-error: {not json\nerror: boom\n', 1)).toMatchObject({ summary: 'boom', kind: 'internal' });
    expect(reportedError('nothing useful', 1)).toBeUndefined();
  });

  it('a diagnostic from a DriverError keeps its summary and fix, and names the kind', () => {
    const error = new DriverError({
      summary: 'Redis refused maxmemory at runtime',
      fix: 'fix the value in the manifest',
      kind: 'refused-setting',
      exit: 1,
      command: 'bash/lightweight_venv.sh update x',
    });
    expect(error.retryable).toBe(false);
    expect(driverDiagnostic(error)).toMatchObject({
      summary: 'Redis refused maxmemory at runtime',
      fix: 'fix the value in the manifest',
      code: 'driver.refused-setting',
    });
  });

  it('a real script refusing bad input is a typed usage error, not text to match', async () => {
    const driver = getDriver('lightweight');
    const ctx = { root, sandboxRoot: path.join(root, 'sb'), environment: 'development' };
    const error = await driver.stop(ctx, 'no-such-sandbox').then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DriverError);
    const e = error as DriverError;
    expect(e.summary).toMatch(/no-such-sandbox/);
    expect(e.exit).not.toBe(0);
    expect(e.message).not.toContain('iact-error');
  });
});
