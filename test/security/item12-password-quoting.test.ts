// Issue 11, item 12: one rule for what a password may hold, enforced by iact validate (and the
// drivers) and honoured by every output format; .env read as node's dotenv and python-dotenv both
// read it, an escape they read differently being an error at its line.
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { specFor } from '../helpers/lifecycle.js';
import { describeNeeding, makeProject, needs, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';
import { repoRoot, tempRoot, type TempRoot } from '../helpers/services.js';

describeNeeding('jq')('item 12: password quoting', () => {
  let project: Project;
  let root: TempRoot;
  beforeAll(() => {
    project = makeProject('iact-item12-');
    project.writeManifest('development', devManifest(45432));
    root = tempRoot('iact-item12-drv-');
  });
  afterAll(async () => {
    await project?.cleanup();
    root?.cleanup();
  });

  it.each([`it's$dollar`, "it's`tick", "back'slash\\", `quote'"double`])(
    'validate refuses %s with its line; config never prints an empty password',
    async (password) => {
      project.writeEnv(`DB_VM_PASSWORD=${password}\n`);
      const v = await project.iact(['validate']);
      expect(v.exitCode).toBe(1);
      expect(v.stdout + v.stderr).toMatch(
        /environments\/development\.yaml:\d+:\d+.*the password of sandbox dev-postgres contains a single quote together with/,
      );
      expect(v.stdout + v.stderr).not.toContain(password);
      const c = await project.iact(['config', '--format', 'shell', '--show-sensitive']);
      expect(c.exitCode).toBe(1);
      expect(c.stdout).not.toMatch(/DB_PASSWORD=''/);
    },
  );

  it('a password with a single quote alone is carried by every output format exactly', async (ctx) => {
    needs(ctx, 'python-dotenv');
    const password = "it's fine #1";
    project.writeEnv(`DB_VM_PASSWORD="${password}"\n`);
    expect((await project.iact(['validate'])).exitCode).toBe(0);
    const shell = await project.iact(['config', '--format', 'shell', '--show-sensitive']);
    expect(shell.exitCode, shell.stderr).toBe(0);
    const sourced = await execa('bash', ['-c', 'eval "$1"; printf %s "$DB_PASSWORD"', 'x', shell.stdout]);
    expect(sourced.stdout).toBe(password);
    const env = await project.iact(['config', '--format', 'env', '--show-sensitive']);
    const node = (await import('dotenv')).parse(env.stdout);
    expect(node.DB_PASSWORD).toBe(password);
    const py = await execa(
      'python3',
      ['-c', 'import sys, dotenv, io; print(dotenv.dotenv_values(stream=io.StringIO(sys.stdin.read()))["DB_PASSWORD"], end="")'],
      { input: env.stdout },
    );
    expect(py.stdout).toBe(password);
  });

  it('an escape node and python read differently in .env is an error at its line', async () => {
    for (const line of [
      'DB_VM_PASSWORD="abc\\"def"',
      "DB_VM_PASSWORD='abc\\\\def'",
      'DB_VM_PASSWORD="tab\\there"',
      'DB_VM_PASSWORD=`tick`',
    ]) {
      project.writeEnv(`# first line\n${line}\n`);
      const v = await project.iact(['validate']);
      expect(v.exitCode, line).toBe(1);
      expect(v.stdout + v.stderr).toMatch(
        /\.env:2:\d+ +error: DB_VM_PASSWORD holds .*which node's dotenv and python-dotenv read differently/,
      );
    }
    project.writeEnv('DB_VM_PASSWORD="new\\nline-is-read-alike"\n');
    // \n is the one escape both expand: not a dotenv error (the password rule refuses the line break itself).
    const nl = await project.iact(['validate']);
    expect(nl.stdout + nl.stderr).not.toMatch(/read differently/);
  });

  it('the driver applies the same rule (exit 2, nothing made)', async () => {
    const spec = specFor('lightweight', 'redis', 'rd-quote', 45433, { password: `x'y$z` });
    const r = await execa(
      'bash',
      [path.join(repoRoot, 'bash', 'lightweight_venv.sh'), 'create', spec.name, 'redis', '45433', '--spec', '-', '--env', 'development'],
      {
        cwd: root.dir,
        env: root.env,
        input: JSON.stringify(spec),
        reject: false,
      },
    );
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('the password contains a single quote together with');
  });
});
