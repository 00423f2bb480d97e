// Pure pieces of the sandbox area: connection variables, status rows, reconcile backoff; and free ports.
import { createServer } from 'node:net';
import { describe, expect, it } from 'vitest';
import { nextDelay, refusedSandboxes } from '../../src/commands/reconcile.js';
import { DiagnosticError, diag } from '../../src/diagnostics.js';
import { connectionFor } from '../../src/sandbox/connection.js';
import { freePort, portTaken } from '../../src/sandbox/free-port.js';
import { formatBytes } from '../../src/sandbox/status-view.js';

describe('connectionFor', () => {
  it('postgres: DB_*, DATABASE_URL and libpq variables', () => {
    const c = connectionFor({
      name: 'run-ab',
      service: 'postgres',
      host: '127.0.0.1',
      port: 41000,
      database: 'iact_run',
      user: 'iact_run',
      password: 'p@ss/word',
    });
    expect(c.url).toBe('postgresql://iact_run:p%40ss%2Fword@127.0.0.1:41000/iact_run');
    expect(c.env).toMatchObject({
      DB_HOST: '127.0.0.1',
      DB_PORT: '41000',
      DB_NAME: 'iact_run',
      DB_USER: 'iact_run',
      DB_PASSWORD: 'p@ss/word',
      DATABASE_URL: c.url,
      PGPORT: '41000',
      PGPASSWORD: 'p@ss/word',
    });
  });
  it('mysql: a mysql:// URL', () => {
    const c = connectionFor({ name: 'run-ab', service: 'mysql', host: '127.0.0.1', port: 41001, database: 'd', user: 'u', password: 'x' });
    expect(c.env.DATABASE_URL).toBe('mysql://u:x@127.0.0.1:41001/d');
    expect(c.env.MYSQL_TCP_PORT).toBe('41001');
  });
  it('redis: REDIS_* only', () => {
    const c = connectionFor({
      name: 'run-ab',
      service: 'redis',
      host: '127.0.0.1',
      port: 41002,
      database: 'ignored',
      user: 'ignored',
      password: 'x',
    });
    expect(c.env).toEqual({
      REDIS_HOST: '127.0.0.1',
      REDIS_PORT: '41002',
      REDIS_PASSWORD: 'x',
      REDIS_URL: 'redis://default:x@127.0.0.1:41002/0',
      IACT_SANDBOX: 'run-ab',
    });
  });
});

describe('reconcile backoff', () => {
  it('doubles per consecutive failure up to ten intervals, and resets', () => {
    expect([0, 1, 2, 3, 4, 5, 9].map((n) => nextDelay(2000, n))).toEqual([2000, 4000, 8000, 16000, 20000, 20000, 20000]);
  });
});

describe('reconcile refusals', () => {
  it('names the protected sandboxes only when every diagnostic is a protection refusal (by code and subject, not text)', () => {
    const deleted = diag('sandbox.old-db would be deleted, but it is protected', { code: 'apply.protected', subject: 'sandbox.old-db' });
    const replaced = diag('sandbox.main-db would be replaced, but it is protected (every production sandbox is)', {
      code: 'apply.protected',
      subject: 'sandbox.main-db',
    });
    expect(refusedSandboxes(new DiagnosticError([deleted, replaced]))).toEqual(['old-db', 'main-db']);
    expect(refusedSandboxes(new DiagnosticError([deleted, diag('driver docker cannot run here')]))).toBeNull();
    // The same words without the code are not a refusal: nothing is matched by its text.
    expect(refusedSandboxes(new DiagnosticError([diag('sandbox.x would be deleted, but it is protected')]))).toBeNull();
    expect(refusedSandboxes(new Error('sandbox.x would be deleted, but it is protected'))).toBeNull();
  });
});

describe('formatBytes', () => {
  it('uses human units', () => {
    expect([0, 1023, 1024, 1536, 40 * 1024 * 1024, 3 * 1024 ** 3].map(formatBytes)).toEqual([
      '0 B',
      '1023 B',
      '1.0 KB',
      '1.5 KB',
      '40.0 MB',
      '3.0 GB',
    ]);
  });
});

describe('free ports', () => {
  it('freePort gives a port nobody holds; portTaken sees a listener', async () => {
    const port = await freePort();
    expect(port).toBeGreaterThan(1023);
    expect(await portTaken(port)).toBe(false);
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(port, '127.0.0.1', resolve));
    try {
      expect(await portTaken(port)).toBe(true);
    } finally {
      await new Promise((resolve) => server.close(resolve));
    }
  });
});
