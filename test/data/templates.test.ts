// Templates as layers (docs/data.md "Storage"): a lasting overlay sandbox holds its own copy of the
// template it starts from, so deleting the template cache (~/.cache/iact/templates) loses nothing.
// Real postgres through the built CLI and the lightweight driver, as root (overlay storage), with a
// template directory of this file's own (IACT_TEMPLATE_DIR) that it deletes at will.
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { cliPath, describeNeeding, freePorts, makeProject, type Project, repoRoot } from '../helpers/iact-project.js';
import { client, type Credentials } from '../helpers/services.js';

const driver = path.join(repoRoot, 'bash', 'lightweight_venv.sh');

/** The mount of DIR in /proc/self/mountinfo, with its options (lowerdir=...), or undefined. */
function mountOf(dir: string): string | undefined {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .find((l) => l.split(' ')[4] === dir);
}

function mountsUnder(dir: string): string[] {
  return readFileSync('/proc/self/mountinfo', 'utf8')
    .split('\n')
    .map((l) => l.split(' ')[4] ?? '')
    .filter((p) => p === dir || p.startsWith(`${dir}/`));
}

describeNeeding('postgres', 'root')('a lasting overlay sandbox outlives its template', () => {
  let project: Project;
  let templates: string;
  let ports: number[];
  const env = () => ({ IACT_TEMPLATE_DIR: templates });
  const sandboxes = () => project.file('.iact/sandboxes');
  const sandboxDir = (name: string) => path.join(sandboxes(), 'development', name);
  const layers = () => path.join(sandboxes(), '.layers');
  const templateLayers = () => (existsSync(layers()) ? readdirSync(layers()).filter((n) => n.startsWith('template-')) : []);
  const lowers = (name: string) =>
    readFileSync(path.join(sandboxDir(name), '.layer', 'lowers'), 'utf8')
      .trim()
      .split('\n');
  const templateData = () => path.join(templates, readdirSync(templates).find((n) => n.startsWith('postgres-'))!, 'data');
  const creds = (name: string, port: number): Credentials => ({
    port,
    database: name,
    user: name,
    password: readFileSync(path.join(sandboxDir(name), 'secrets', 'password'), 'utf8'),
  });
  const drv = (args: string[]) =>
    execa('bash', [driver, ...args, '--env', 'development'], {
      cwd: project.dir,
      env: { IACT_SANDBOX_ROOT: sandboxes(), IACT_DRIVER_EPHEMERAL: '', ...env() },
      reject: false,
      stdin: 'ignore',
    });
  const manifest = (names: string[]) =>
    `apiVersion: iact/v1\nenvironment: development\nsandboxes:\n${names.map((n, i) => `  ${n}:\n    service: postgres\n    port: ${ports[i]}\n`).join('')}`;
  const apply = async () => {
    const applied = await project.iact(['apply', '--auto-approve'], { env: env() });
    expect(applied.exitCode, applied.stderr).toBe(0);
  };
  /** A stop and a reboot: the server stops and data/ is no mount any more. */
  const stopAndUnmount = async (name: string) => {
    const stopped = await drv(['stop', name]);
    expect(stopped.exitCode, stopped.stderr).toBe(0);
    await execa('umount', [path.join(sandboxDir(name), 'data')]);
    expect(mountOf(path.join(sandboxDir(name), 'data'))).toBeUndefined();
  };
  /** The layout iact made before templates were imported: data/ over the cache's template itself. */
  const makeLegacy = async (name: string, mounted: boolean) => {
    await stopAndUnmount(name);
    const dir = path.join(sandboxDir(name), '.layer');
    writeFileSync(path.join(dir, 'lowers'), `${templateData()}\n`);
    for (const layer of templateLayers()) {
      const refs = path.join(layers(), layer, 'refs');
      for (const ref of readdirSync(refs))
        if (readFileSync(path.join(refs, ref), 'utf8').startsWith(`${sandboxDir(name)}\n`)) rmSync(path.join(refs, ref));
    }
    if (mounted) {
      const opts = `lowerdir=${templateData()},upperdir=${dir}/upper,workdir=${dir}/work,index=off,redirect_dir=on`;
      await execa('mount', ['-t', 'overlay', 'overlay', '-o', opts, path.join(sandboxDir(name), 'data')]);
    }
  };

  beforeAll(async () => {
    templates = mkdtempSync(path.join(tmpdir(), 'iact-templates-test-'));
    project = makeProject('iact-templates-');
    ports = await freePorts(4);
    const storage = await drv(['storage']);
    expect(JSON.parse(storage.stdout), 'these tests need overlay storage (root and a kernel with overlayfs)').toMatchObject({
      storage: 'overlay',
    });
  }, 60_000);

  afterAll(async () => {
    for (const name of existsSync(path.join(sandboxes(), 'development')) ? readdirSync(path.join(sandboxes(), 'development')) : [])
      if (!name.startsWith('.')) await drv(['destroy', name, '--yes']);
    await project?.cleanup();
    if (project) expect(mountsUnder(project.dir)).toEqual([]);
    rmSync(templates, { recursive: true, force: true });
  }, 120_000);

  it('imports the template into the sandbox root; the data survives the deleted template and a remount', async () => {
    project.writeManifest('development', manifest(['db']));
    await apply();
    expect(templateLayers()).toHaveLength(1);
    const layer = path.join(layers(), templateLayers()[0]!, 'data');
    expect(lowers('db')).toEqual([layer]);
    // Hard links where the template and the sandbox root share a filesystem (they do here: both in the temp dir).
    expect(readFileSync(path.join(layer, 'PG_VERSION'), 'utf8')).toBe(readFileSync(path.join(templateData(), 'PG_VERSION'), 'utf8'));
    // The store is root's alone: the postgres user cannot reach the hard-linked template files its server lies over.
    expect(statSync(layers()).mode & 0o777).toBe(0o700);
    const reach = await execa(
      'setpriv',
      ['--reuid=postgres', '--regid=postgres', '--init-groups', '--', 'cat', path.join(layer, 'PG_VERSION')],
      { reject: false },
    );
    expect(reach.exitCode).not.toBe(0);
    expect(reach.stderr).toContain('Permission denied');
    expect((await client('postgres', creds('db', ports[0]!), 'CREATE TABLE t (x int); INSERT INTO t VALUES (42)')).ok).toBe(true);

    rmSync(templates, { recursive: true, force: true });
    await stopAndUnmount('db');
    // apply starts the stopped sandbox: the overlay is mounted again over the imported layer alone.
    await apply();
    expect(mountOf(path.join(sandboxDir('db'), 'data'))).toContain(`lowerdir=${layer}`);
    expect((await client('postgres', creds('db', ports[0]!), 'SELECT x FROM t')).out).toBe('42');
  }, 180_000);

  it('an iact run sandbox lies over the cache template itself: it dies with its process, no import', async () => {
    const runRoot = mkdtempSync(path.join(tmpdir(), 'iact-templates-run-'));
    try {
      const ran = await execa(
        process.execPath,
        [cliPath, 'run', '--service', 'postgres', '--', 'sh', '-c', 'cat "$IACT_RUN_ROOT"/run/run-*/.layer/lowers; ls -A "$IACT_RUN_ROOT"'],
        {
          cwd: project.dir,
          env: { NO_COLOR: '1', IACT_ENV: '', IACT_RUN_ROOT: runRoot, IACT_RUN_SPARE_TTL: '0', ...env() },
          reject: false,
          stdin: 'ignore',
        },
      );
      expect(ran.exitCode, ran.stderr).toBe(0);
      expect(ran.stdout.split('\n')).toEqual([templateData(), 'owners', 'run']);
      expect(mountsUnder(runRoot)).toEqual([]);
    } finally {
      rmSync(runRoot, { recursive: true, force: true });
    }
  }, 120_000);

  it('two sandboxes share one imported layer; a snapshot holds it too; it goes with its last holder', async () => {
    project.writeManifest('development', manifest(['db', 'db2']));
    await apply();
    expect(templateLayers()).toHaveLength(1);
    const layer = path.join(layers(), templateLayers()[0]!, 'data');
    expect(lowers('db2')).toEqual([layer]);
    expect(readdirSync(path.join(layer, '..', 'refs'))).toHaveLength(2);

    const destroyed = await project.iact(['destroy', '--target', 'db2', '--auto-approve', '--no-backup'], { env: env() });
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(existsSync(layer)).toBe(true);

    // The snapshot's lowers keep the template layer: the sandbox may go, a branch of the snapshot works.
    const taken = await project.iact(['snapshot', 'db', 'kept'], { env: env() });
    expect(taken.exitCode, taken.stderr).toBe(0);
    const destroyedDb = await project.iact(['destroy', '--target', 'db', '--auto-approve', '--no-backup'], { env: env() });
    expect(destroyedDb.exitCode, destroyedDb.stderr).toBe(0);
    expect(existsSync(layer)).toBe(true);
    const branched = await drv(['create', 'copy', 'postgres', String(ports[2]), '--from', 'db@kept']);
    expect(branched.exitCode, branched.stderr).toBe(0);
    expect((await client('postgres', creds('copy', ports[2]!), 'SELECT x FROM t')).out).toBe('42');
    expect((await drv(['destroy', 'copy', '--yes'])).exitCode).toBe(0);
    expect(existsSync(layer)).toBe(true);

    const deleted = await project.iact(['snapshot', '--delete', 'db@kept'], { env: env() });
    expect(deleted.exitCode, deleted.stderr).toBe(0);
    expect(templateLayers()).toEqual([]);
  }, 240_000);

  it('a sandbox over the cache template (made before imports) takes its own copy at its next start', async () => {
    project.writeManifest('development', manifest(['db', 'db2', 'old']));
    await apply();
    expect((await client('postgres', creds('old', ports[2]!), 'CREATE TABLE t (x int); INSERT INTO t VALUES (7)')).ok).toBe(true);
    const layer = path.join(layers(), templateLayers()[0]!, 'data');

    // Mounted over the template and stopped: the start remakes the mount over the store's copy.
    await makeLegacy('old', true);
    expect(mountOf(path.join(sandboxDir('old'), 'data'))).toContain(`lowerdir=${templateData()}`);
    const started = await drv(['start', 'old']);
    expect(started.exitCode, started.stderr).toBe(0);
    expect(lowers('old')).toEqual([layer]);
    expect(mountOf(path.join(sandboxDir('old'), 'data'))).toContain(`lowerdir=${layer}`);
    expect(readdirSync(path.join(layer, '..', 'refs'))).toHaveLength(3);

    // Not mounted (after a reboot): the same at the mount.
    await makeLegacy('old', false);
    const again = await drv(['start', 'old']);
    expect(again.exitCode, again.stderr).toBe(0);
    expect(lowers('old')).toEqual([layer]);
    expect(readdirSync(path.join(layer, '..', 'refs'))).toHaveLength(3);

    // Its template gone as well: the error names the missing layer and the way out.
    await makeLegacy('db2', false);
    const gone = templateData();
    rmSync(templates, { recursive: true, force: true });
    const failed = await drv(['start', 'db2']);
    expect(failed.exitCode).toBe(1);
    expect(failed.stderr).toContain(`layer ${gone} of sandbox 'db2' is gone`);
    expect(failed.stderr).toContain('destroy the sandbox and create it again');

    // The migrated one needs no template: stopped, unmounted and started again, its row is there.
    await stopAndUnmount('old');
    expect((await drv(['start', 'old'])).exitCode).toBe(0);
    expect((await client('postgres', creds('old', ports[2]!), 'SELECT x FROM t')).out).toBe('7');
  }, 240_000);
});
