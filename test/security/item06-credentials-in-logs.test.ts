// Issue 11, item 6: no credential statement in a server log or in statement statistics, whatever
// logging the manifest turns on (MariaDB's slow log at long_query_time 0 and its general log;
// PostgreSQL's log_statement=all and pg_stat_statements, in the view and on disk).
import { readdirSync, readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { specFor } from '../helpers/lifecycle.js';
import { mysqlAdmin, psqlAdmin } from '../helpers/server-admin.js';
import { freePort, repoRoot, TEMPLATE_DIR, tempRoot, type TempRoot } from '../helpers/services.js';
import { describeNeeding } from '../helpers/iact-project.js';
import type { DriverSpec } from '../../src/drivers/types.js';

/** Every regular file under DIR whose text holds NEEDLE (relative paths). */
function filesHolding(dir: string, needle: string): string[] {
  const found: string[] = [];
  const walk = (d: string) => {
    for (const entry of readdirSync(d)) {
      const full = path.join(d, entry);
      const st = statSync(full);
      if (st.isDirectory()) walk(full);
      else if (st.isFile() && readFileSync(full).includes(needle)) found.push(path.relative(dir, full));
    }
  };
  walk(dir);
  return found;
}

describeNeeding('postgres', 'mysql')('item 6: passwords never reach server logs or statement statistics', () => {
  let root: TempRoot;
  beforeAll(() => {
    root = tempRoot('iact-item06-');
  });
  afterAll(() => root?.cleanup());

  const run = (args: string[], input: string) =>
    execa('bash', [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), ...args, '--env', 'development'], {
      cwd: root.dir,
      env: { ...root.env, IACT_TEMPLATE_DIR: TEMPLATE_DIR },
      input,
      reject: false,
    });
  const create = (spec: DriverSpec) => run(['create', spec.name, spec.service, String(spec.port), '--spec', '-'], JSON.stringify(spec));
  const update = (spec: DriverSpec) => run(['update', spec.name, '--spec', '-', '--steps', 'set-password'], JSON.stringify(spec));

  it('MariaDB with the slow log at long_query_time 0 and the general log on', async () => {
    const port = await freePort();
    const settings = { slow_query_log: 1, long_query_time: 0, general_log: 1 };
    const first = specFor('lightweight', 'mysql', 'my-logs', port, { password: 'item06-Maria-First-1', settings });
    const created = await create(first);
    expect(created.exitCode, created.stderr).toBe(0);
    const changed = await update(specFor('lightweight', 'mysql', 'my-logs', port, { password: 'item06-Maria-Second-2', settings }));
    expect(changed.exitCode, changed.stderr).toBe(0);
    const dir = path.join(root.sandboxRoot, 'development', 'my-logs');
    // The logs are on and do log statements (the driver's own login check, at least).
    const files = (await mysqlAdmin(dir, 'SELECT @@slow_query_log_file, @@general_log_file')).split('\t');
    const slow = readFileSync(path.resolve(dir, 'data', files[0]!), 'utf8');
    expect(slow).toMatch(/SELECT 1/);
    expect(readFileSync(path.resolve(dir, 'data', files[1]!), 'utf8')).toMatch(/Query/);
    for (const pw of ['item06-Maria-First-1', 'item06-Maria-Second-2']) {
      expect(filesHolding(path.join(dir, 'data'), pw)).toEqual([]);
      expect(filesHolding(path.join(dir, 'logs'), pw)).toEqual([]);
    }
  }, 180_000);

  it('PostgreSQL with pg_stat_statements preloaded and every statement logged', async () => {
    const port = await freePort();
    const settings = { shared_preload_libraries: 'pg_stat_statements', log_statement: 'all' };
    const first = specFor('lightweight', 'postgres', 'pg-stats', port, { password: 'item06-Pg-First-1', settings });
    const created = await create(first);
    expect(created.exitCode, created.stderr).toBe(0);
    const dir = path.join(root.sandboxRoot, 'development', 'pg-stats');
    await psqlAdmin(dir, port, 'CREATE EXTENSION IF NOT EXISTS pg_stat_statements');
    const changed = await update(specFor('lightweight', 'postgres', 'pg-stats', port, { password: 'item06-Pg-Second-2', settings }));
    expect(changed.exitCode, changed.stderr).toBe(0);
    const statements = await psqlAdmin(dir, port, 'SELECT query FROM pg_stat_statements');
    // Tracking works (the extension's own statement is there) and holds no password.
    expect(statements).toMatch(/CREATE EXTENSION/i);
    for (const pw of ['item06-Pg-First-1', 'item06-Pg-Second-2']) {
      expect(statements).not.toContain(pw);
      expect(filesHolding(path.join(dir, 'data'), pw)).toEqual([]);
      expect(filesHolding(path.join(dir, 'logs'), pw)).toEqual([]);
    }
  }, 180_000);
});
