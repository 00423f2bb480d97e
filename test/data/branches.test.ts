// Snapshots, branches and restore end to end (docs/data.md): real servers through the built CLI and
// the lightweight driver, on this machine's storage (overlay as root) and on plain copies.
import { chmodSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliPath, describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { client, type Credentials } from '../helpers/services.js';

const driver = path.join(repoRoot, 'bash', 'lightweight_venv.sh');

/** Mount points under DIR still in this mount namespace (an overlay data directory left behind). */
function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

const values = async (c: Credentials, sql = "SELECT coalesce(string_agg(x::text, ',' ORDER BY x), '') FROM t"): Promise<string> => {
  const r = await client('postgres', c, sql);
  expect(r.ok, r.err).toBe(true);
  return r.out;
};

describeNeeding(
  'postgres',
  'mysql',
  'redis',
)('snapshots and branches, postgres through the CLI', () => {
  let project: Project;
  let runRoot: string;
  let ports: number[];
  const source = (): Credentials => ({ port: ports[0]!, database: 'app', user: 'app', password: 'pw-source' });
  const branch = (): Credentials => ({ port: ports[1]!, database: 'app_test', user: 'tester', password: 'pw-branch' });
  const manifest = (withBranch: boolean) => `apiVersion: iact/v1
environment: development
sandboxes:
  db:
    service: postgres
    port: ${ports[0]}
    database: app
    user: app
    password: pw-source
${
  withBranch
    ? `  db-test:
    service: postgres
    port: ${ports[1]}
    database: app_test
    user: tester
    password: pw-branch
    from: db@seeded
`
    : ''
}`;
  const run = (args: string[], env: Record<string, string> = {}) =>
    execa(process.execPath, [cliPath, 'run', ...args], {
      cwd: project.dir,
      env: { NO_COLOR: '1', IACT_ENV: '', IACT_RUN_ROOT: runRoot, ...env },
      reject: false,
      stdin: 'ignore',
    });

  beforeAll(async () => {
    project = makeProject('iact-branches-');
    runRoot = mkdtempSync(path.join(tmpdir(), 'iact-branches-run-'));
    ports = await freePorts(2);
    project.writeManifest('development', manifest(false));
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect((await client('postgres', source(), 'CREATE TABLE t (x int); INSERT INTO t VALUES (1)')).ok).toBe(true);
  }, 120_000);

  afterAll(async () => {
    await project?.cleanup();
    if (project) expect(mountsUnder(project.dir)).toEqual([]);
    if (runRoot) {
      expect(mountsUnder(runRoot)).toEqual([]);
      rmSync(runRoot, { recursive: true, force: true });
    }
  }, 120_000);

  it('takes a snapshot of the running source, which keeps running and writing', async () => {
    const taken = await project.iact(['snapshot', 'db', 'seeded']);
    expect(taken.exitCode, taken.stderr).toBe(0);
    expect(taken.stdout).toMatch(/Snapshot db@seeded taken in [\d.]+s \((overlay|reflink|copy)\)/);
    expect((await client('postgres', source(), 'INSERT INTO t VALUES (2)')).ok).toBe(true);
    expect(await values(source())).toBe('1,2');
    const listed = await project.iact(['snapshot', '--list', '--json']);
    const records = JSON.parse(listed.stdout) as { sandbox: string; name: string; service: string; database: string }[];
    expect(records.map((r) => [r.sandbox, r.name, r.service, r.database])).toEqual([['db', 'seeded', 'postgres', 'app']]);
  }, 60_000);

  it('iact run --from a snapshot: the branch has the snapshot data; its writes reach neither the source nor the snapshot', async () => {
    const first = await run([
      '--from',
      'db@seeded',
      '--',
      'sh',
      '-c',
      'psql -X -tA -c "SELECT string_agg(x::text, \',\') FROM t" && psql -X -q -c "INSERT INTO t VALUES (100)" && psql -X -tA -c "SELECT string_agg(x::text, \',\' ORDER BY x) FROM t"',
    ]);
    expect(first.exitCode, first.stderr).toBe(0);
    expect(first.stdout.split('\n')).toEqual(['1', '1,100']);
    expect(first.stderr).toMatch(/postgres sandbox run-\w+ \(from db@seeded\) ready/);
    expect(await values(source())).toBe('1,2');
    const again = await run(['--from', 'db@seeded', '--', 'psql', '-X', '-tA', '-c', "SELECT string_agg(x::text, ',') FROM t"]);
    expect(again.stdout.trim()).toBe('1');
    // Nothing of the runs is left: directories, mounts.
    expect(readdirSync(path.join(runRoot, 'run')).filter((n) => n.startsWith('run-'))).toEqual([]);
  }, 90_000);

  it('iact run --from the live source sees its data now; the source runs on', async () => {
    const live = await run(['--from', 'db', '--', 'psql', '-X', '-tA', '-c', "SELECT string_agg(x::text, ',' ORDER BY x) FROM t"]);
    expect(live.exitCode, live.stderr).toBe(0);
    expect(live.stdout.trim()).toBe('1,2');
    expect(await values(source())).toBe('1,2');
    // The snapshot taken for the branch is gone once the branch holds its data.
    const listed = JSON.parse((await project.iact(['snapshot', '--list', '--json'])).stdout) as { name: string }[];
    expect(listed.map((r) => r.name)).toEqual(['seeded']);
  }, 90_000);

  it('from: in a manifest creates a branch under its own names; later writes stay on their side', async () => {
    project.writeManifest('development', manifest(true));
    const plan = await project.iact(['plan']);
    expect(plan.stdout).toContain('starts as a copy of snapshot db@seeded');
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    expect(await values(branch())).toBe('1');
    expect((await client('postgres', source(), 'INSERT INTO t VALUES (3)')).ok).toBe(true);
    expect((await client('postgres', branch(), 'INSERT INTO t VALUES (50)')).ok).toBe(true);
    expect(await values(branch())).toBe('1,50');
    expect(await values(source())).toBe('1,2,3');
    // The branch's data belongs to its own user: the source's role is not there.
    expect((await client('postgres', branch(), "SELECT count(*) FROM pg_roles WHERE rolname = 'app'")).out).toBe('0');
    expect((await project.iact(['plan'])).stdout).toContain('No changes.');
  }, 120_000);

  it('iact restore puts the snapshot back after a backup; deleting the snapshot keeps its branch', async () => {
    const refused = await project.iact(['restore', 'db@seeded']);
    expect(refused.exitCode).toBe(1);
    expect(refused.stderr).toContain('restore needs confirmation');
    expect(await values(source())).toBe('1,2,3');
    const restored = await project.iact(['restore', 'db@seeded', '--auto-approve']);
    expect(restored.exitCode, restored.stderr).toBe(0);
    expect(await values(source())).toBe('1');
    const backups = readdirSync(project.file('.iact/backups/development'));
    expect(backups.some((f) => /^db-\d{8}T\d{6}Z\.sql$/.test(f))).toBe(true);
    expect(readFileSync(project.file(`.iact/backups/development/${backups[0]}`), 'utf8')).toContain('COPY public.t');
    expect(project.read('.iact/history/development.jsonl')).toContain('"command":"restore"');
    expect((await project.iact(['plan'])).stdout).toContain('No changes.');

    const deleted = await project.iact(['snapshot', '--delete', 'db@seeded']);
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(JSON.parse((await project.iact(['snapshot', '--list', '--json'])).stdout)).toEqual([]);
    expect(await values(branch())).toBe('1,50');
    const missing = await run(['--from', 'db@seeded', '--', 'true']);
    expect(missing.exitCode).toBe(1);
    expect(missing.stderr).toContain('there is no snapshot db@seeded in development');
  }, 120_000);
});

describeNeeding(
  'postgres',
  'mysql',
  'redis',
)('branches with the driver alone: mysql and redis, and plain copies', () => {
  let root: string;
  let cwd: string;
  const drv = (args: string[], env: Record<string, string> = {}) =>
    execa('bash', [driver, ...args, '--env', 'dev'], { cwd, env: { IACT_SANDBOX_ROOT: root, ...env }, reject: false, stdin: 'ignore' });
  const creds = (name: string, port: number, service: string): Credentials => ({
    port,
    database: service === 'redis' ? '' : name.replace(/-/g, '_'),
    user: service === 'redis' ? '' : name.replace(/-/g, '_'),
    password: readFileSync(path.join(root, 'dev', name, 'secrets', 'password'), 'utf8'),
  });

  beforeAll(() => {
    // Traversable by the service users (mariadb needs real paths, not capabilities).
    root = mkdtempSync(path.join('/tmp', 'iact-branch-drv-'));
    cwd = root;
    chmodSync(root, 0o711);
  });

  afterAll(async () => {
    for (const name of existsSync(path.join(root, 'dev')) ? readdirSync(path.join(root, 'dev')).filter((n) => !n.startsWith('.')) : [])
      await drv(['destroy', name, '--yes']);
    expect(mountsUnder(root)).toEqual([]);
    rmSync(root, { recursive: true, force: true });
  }, 120_000);

  it('a mysql branch gets the source tables in its own database, under its own user', async () => {
    const [p1, p2] = await freePorts(2);
    expect((await drv(['create', 'shop', 'mysql', String(p1)])).exitCode).toBe(0);
    expect((await client('mysql', creds('shop', p1!, 'mysql'), 'CREATE TABLE t (x int); INSERT INTO t VALUES (7)')).ok).toBe(true);
    const made = await drv(['create', 'shop-copy', 'mysql', String(p2), '--from', 'shop']);
    expect(made.exitCode, made.stderr).toBe(0);
    const copy = creds('shop-copy', p2!, 'mysql');
    expect((await client('mysql', copy, 'SELECT database(), x FROM t')).out).toBe('shop_copy\t7');
    expect((await client('mysql', copy, 'INSERT INTO t VALUES (8)')).ok).toBe(true);
    expect((await client('mysql', creds('shop', p1!, 'mysql'), 'SELECT group_concat(x) FROM t')).out).toBe('7');
  }, 120_000);

  it('a redis branch of a snapshot has its keys; on plain copies (IACT_STORAGE=copy) as with layers', async () => {
    const [p1, p2, p3] = await freePorts(3);
    expect((await drv(['create', 'cache', 'redis', String(p1)])).exitCode).toBe(0);
    expect((await client('redis', creds('cache', p1!, 'redis'), 'SET k before')).ok).toBe(true);
    const snap = await drv(['snapshot', 'cache', 'one']);
    expect(snap.exitCode, snap.stderr).toBe(0);
    expect(JSON.parse(snap.stdout)).toMatchObject({ sandbox: 'cache', name: 'one', service: 'redis' });
    expect((await client('redis', creds('cache', p1!, 'redis'), 'SET k after')).ok).toBe(true);
    expect((await drv(['create', 'cache-a', 'redis', String(p2), '--from', 'cache@one'])).exitCode).toBe(0);
    expect((await client('redis', creds('cache-a', p2!, 'redis'), 'GET k')).out).toBe('before');
    const copied = await drv(['create', 'cache-b', 'redis', String(p3), '--from', 'cache@one'], { IACT_STORAGE: 'copy' });
    expect(copied.exitCode, copied.stderr).toBe(0);
    expect(existsSync(path.join(root, 'dev', 'cache-b', '.layer'))).toBe(false);
    expect((await client('redis', creds('cache-b', p3!, 'redis'), 'GET k')).out).toBe('before');
    expect((await client('redis', creds('cache', p1!, 'redis'), 'GET k')).out).toBe('after');
  }, 120_000);

  it('storage says what this machine gives; a bad snapshot name changes nothing', async () => {
    const storage = JSON.parse((await drv(['storage'])).stdout) as { storage: string; reason: string };
    expect(['overlay', 'reflink', 'copy']).toContain(storage.storage);
    expect(storage.reason).not.toBe('');
    expect(JSON.parse((await drv(['storage'], { IACT_STORAGE: 'copy' })).stdout)).toMatchObject({
      storage: 'copy',
      reason: 'IACT_STORAGE=copy',
    });
    const bad = await drv(['snapshot', 'cache', '../x']);
    expect(bad.exitCode).toBe(2);
    expect(bad.stderr).toContain("invalid snapshot name '../x'");
  }, 60_000);
});
