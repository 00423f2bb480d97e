// Issue 11, item 4: a SIGKILL during an in-place password change must not leave a plan that says
// "in sync" while the manifest's password is refused. State records a password only once the
// server accepted it, and the status logs in with it, so the next plan shows the difference.
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, makeProject, describeNeeding, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';
import { killTree, psqlAdmin } from '../helpers/server-admin.js';
import { client, PG_BIN, waitFor } from '../helpers/services.js';

const OLD = 'item04-Old-pw-1';
const NEW = 'item04-New-pw-2';

describeNeeding('postgres', 'root')('item 4: SIGKILL during an in-place password change', () => {
  let project: Project;
  let port: number;
  let dir: string;
  const login = (password: string) => client('postgres', { port, database: 'app', user: 'app', password }, 'SELECT 1');

  beforeAll(async () => {
    project = makeProject('iact-item04-');
    [port] = (await freePorts(1)) as [number];
    project.writeManifest('development', devManifest(port));
    project.writeEnv(`DB_VM_PASSWORD=${OLD}\n`);
    const applied = await project.iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr).toBe(0);
    dir = project.file('.iact/sandboxes/development/dev-postgres');
  }, 120_000);

  afterAll(async () => {
    await project?.cleanup();
  });

  it('after a kill between the files and ALTER ROLE, the plan shows the change and apply makes the new password work', async () => {
    // A transaction holding the role's row: the driver's ALTER ROLE waits on it, so the kill lands mid-change.
    const blocker = execa(
      'setpriv',
      [
        '--reuid=postgres',
        '--regid=postgres',
        '--init-groups',
        '--',
        path.join(PG_BIN, 'psql'),
        '-X',
        '-tA',
        '-h',
        path.join(dir, 'run'),
        '-p',
        String(port),
        '-U',
        'postgres',
        '-d',
        'postgres',
      ],
      { stdin: 'pipe', reject: false },
    );
    blocker.stdin!.write("BEGIN; ALTER ROLE app CONNECTION LIMIT -1; SELECT 'locked';\n");
    let out = '';
    blocker.stdout!.on('data', (c: Buffer) => (out += c.toString()));
    expect(await waitFor(() => out.includes('locked'), 10_000)).toBe(true);

    project.writeEnv(`DB_VM_PASSWORD=${NEW}\n`);
    const apply = project.spawnIact(['apply', '--auto-approve']);
    let waiting = '';
    const found = await waitFor(async () => {
      waiting = await psqlAdmin(dir, port, "SELECT pid FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query ILIKE 'ALTER ROLE%'");
      return waiting !== '';
    }, 60_000);
    expect(found, 'the driver never reached ALTER ROLE').toBe(true);
    killTree(apply.pid!);
    await apply;
    // The statement never ran: its backend goes, then the blocker lets go.
    await psqlAdmin(dir, port, `SELECT pg_terminate_backend(${waiting})`);
    blocker.stdin!.end('ROLLBACK;\n');
    await blocker;

    expect((await login(OLD)).ok).toBe(true);
    expect((await login(NEW)).ok).toBe(false);
    const plan = await project.iact(['plan', '--detailed-exitcode']);
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toMatch(/password/);

    const repaired = await project.iact(['apply', '--auto-approve']);
    expect(repaired.exitCode, repaired.stdout + repaired.stderr).toBe(0);
    expect((await login(NEW)).ok).toBe(true);
    expect((await project.iact(['plan', '--detailed-exitcode'])).exitCode).toBe(0);
  }, 180_000);

  it("a server that refuses the manifest's password is drift: the plan says so and apply sets it again", async () => {
    await psqlAdmin(dir, port, "ALTER ROLE app PASSWORD 'changed-behind-iacts-back'");
    expect((await login(NEW)).ok).toBe(false);
    const plan = await project.iact(['plan', '--detailed-exitcode']);
    expect(plan.exitCode, plan.stdout + plan.stderr).toBe(2);
    expect(plan.stdout).toContain("refuses the manifest's password");
    expect(plan.stdout).toContain('set-password');
    const repaired = await project.iact(['apply', '--auto-approve']);
    expect(repaired.exitCode, repaired.stdout + repaired.stderr).toBe(0);
    expect((await login(NEW)).ok).toBe(true);
    expect((await project.iact(['plan', '--detailed-exitcode'])).exitCode).toBe(0);
  }, 120_000);
});
