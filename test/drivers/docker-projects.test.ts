// Two projects on one docker engine (docs/remote-engines.md "Projects on one engine"): the same
// environment and sandbox names, each project's containers named and labelled with its own id, so
// neither plans the other's containers as orphans nor touches them; and a container made before
// projects is adopted by the project whose sandbox record names it, by no other.
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { containerOf, docker, ensureEngine, ensureImages, query, type Engine } from '../helpers/docker.js';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';

const ENV = `dproj${process.pid}`;
const PASSWORD = 'two-projects-pa55word';

describeNeeding('docker')('docker driver: two projects on one engine', () => {
  let engine: Engine;
  let a: Project;
  let b: Project;
  let old: string;
  const ports: number[] = [];

  const manifest = (port: number) => `apiVersion: iact/v1
environment: ${ENV}
sandboxes:
  db:
    service: postgres
    driver: docker
    port: ${port}
    password: ${PASSWORD}
`;
  const iact = (p: Project, args: string[]) => p.iact([...args, '--env', ENV], { env: { DOCKER_HOST: engine.dockerHost } });
  const dir = (p: Project) => p.file(`.iact/sandboxes/${ENV}/db`);
  const login = (port: number) => query('postgres', { port, user: 'db', database: 'db', password: PASSWORD }, ['SELECT 1']);
  const names = async () =>
    (await docker(engine.dockerHost, ['ps', '-a', '--filter', `label=iact.environment=${ENV}`, '--format', '{{.Names}}'])).stdout
      .split('\n')
      .filter(Boolean)
      .sort();

  beforeAll(async () => {
    engine = await ensureEngine();
    await ensureImages(engine.dockerHost);
    ports.push(...(await freePorts(3)));
    a = makeProject('iact-proj-a-');
    b = makeProject('iact-proj-b-');
    a.writeManifest(ENV, manifest(ports[0]!));
    b.writeManifest(ENV, manifest(ports[1]!));
    // The driver as it was before project ids (commit 39ea03d, main before them), for the upgrade case.
    old = mkdtempSync(path.join(tmpdir(), 'iact-old-driver-'));
    execFileSync('sh', ['-c', `git -C "${repoRoot}" archive 39ea03d bash | tar -x -C "${old}"`]);
    cpSync(path.join(repoRoot, 'bash', 'lib', 'catalog.sh'), path.join(old, 'bash', 'lib', 'catalog.sh'));
  }, 900_000);

  afterAll(async () => {
    for (const p of [a, b]) if (p) await iact(p, ['destroy', '--auto-approve', '--allow-destroy', '--no-backup']).catch(() => undefined);
    if (engine) {
      const left = (await docker(engine.dockerHost, ['ps', '-aq', '--filter', `label=iact.environment=${ENV}`])).stdout.trim();
      if (left) await docker(engine.dockerHost, ['rm', '-f', '-v', ...left.split('\n')]);
      const volumes = (await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', `label=iact.environment=${ENV}`])).stdout.trim();
      if (volumes) await docker(engine.dockerHost, ['volume', 'rm', '-f', ...volumes.split('\n')]);
    }
    for (const p of [a, b]) if (p) await p.cleanup();
    if (old) rmSync(old, { recursive: true, force: true });
  }, 300_000);

  it('both create; each plan says No changes; destroying one leaves the other running', async () => {
    for (const p of [a, b]) {
      const r = await iact(p, ['apply', '--auto-approve']);
      expect(r.exitCode, r.stderr + r.stdout).toBe(0);
    }
    const idA = readFileSync(a.file('.iact/sandboxes/.docker-project'), 'utf8');
    const idB = readFileSync(b.file('.iact/sandboxes/.docker-project'), 'utf8');
    expect(idA).toMatch(/^[0-9a-f]{12}$/);
    expect(idB).toMatch(/^[0-9a-f]{12}$/);
    expect(idA).not.toBe(idB);
    expect(containerOf(dir(a))).toBe(`iact-${ENV}-db.${idA}`);
    expect(await names()).toEqual([`iact-${ENV}-db.${idA}`, `iact-${ENV}-db.${idB}`].sort());
    const labels = JSON.parse((await docker(engine.dockerHost, ['inspect', containerOf(dir(b))])).stdout)[0].Config.Labels;
    expect(labels['iact.project']).toBe(idB);
    const volume = JSON.parse((await docker(engine.dockerHost, ['volume', 'inspect', `iact-${ENV}-db.${idB}-data`])).stdout)[0];
    expect(volume.Labels['iact.project']).toBe(idB);

    for (const p of [a, b]) {
      const plan = await iact(p, ['plan']);
      expect(plan.exitCode, plan.stderr).toBe(0);
      expect(plan.stdout).toContain(`No changes. ${ENV} matches its manifest.`);
      const status = JSON.parse((await iact(p, ['status', '--json'])).stdout) as { sandboxes: Array<{ name: string }> };
      expect(status.sandboxes.map((s) => s.name)).toEqual(['db']);
    }
    expect((await login(ports[0]!)).stdout).toBe('1');
    expect((await login(ports[1]!)).stdout).toBe('1');

    const destroyed = await iact(a, ['destroy', '--auto-approve', '--allow-destroy', '--no-backup']);
    expect(destroyed.exitCode, destroyed.stderr + destroyed.stdout).toBe(0);
    expect(await names()).toEqual([`iact-${ENV}-db.${idB}`]);
    const still = await login(ports[1]!);
    expect(still.stdout, still.stderr).toBe('1');
    const plan = await iact(b, ['plan']);
    expect(plan.stdout).toContain(`No changes. ${ENV} matches its manifest.`);
  }, 600_000);

  it('a container made before projects: adopted by the project whose record names it, untouched by the other', async () => {
    // Project A's sandbox as the driver before this change made it: iact-ENV-db, no project label.
    a.writeManifest(ENV, manifest(ports[2]!));
    const spec = JSON.stringify({ name: 'db', service: 'postgres', driver: 'docker', port: ports[2], password: PASSWORD, settings: {} });
    const made = await execa(
      'bash',
      [path.join(old, 'bash', 'virtualize.sh'), 'create', 'db', 'postgres', String(ports[2]), '--spec', '-', '--env', ENV],
      {
        cwd: a.dir,
        env: { DOCKER_HOST: engine.dockerHost, IACT_ENV: '', ENVIRONMENT: '' },
        input: spec,
        reject: false,
      },
    );
    expect(made.exitCode, made.stderr).toBe(0);
    const legacy = `iact-${ENV}-db`;
    expect(existsSync(path.join(dir(a), 'docker-container'))).toBe(false);
    const id = (await docker(engine.dockerHost, ['inspect', '--format', '{{.Id}}', legacy])).stdout.trim();

    // B (its own db, on a container of its project) neither plans it as an orphan nor touches it.
    const planB = await iact(b, ['plan']);
    expect(planB.stdout, planB.stderr).toContain(`No changes. ${ENV} matches its manifest.`);
    // A adopts it: its record names it (name and port); the apply (the password the old driver's
    // record lacks) acts on that container, and the next plan has nothing to do.
    const write = await query('postgres', { port: ports[2]!, user: 'db', database: 'db', password: PASSWORD }, [
      "CREATE TABLE kept (v text); INSERT INTO kept VALUES ('before')",
    ]);
    expect(write.exitCode, write.stderr).toBe(0);
    const adopted = await iact(a, ['apply', '--auto-approve']);
    expect(adopted.exitCode, adopted.stderr + adopted.stdout).toBe(0);
    expect(adopted.stdout).not.toMatch(/sandbox\.db .*will be (created|replaced|deleted)/);
    expect(containerOf(dir(a))).toBe(legacy);
    expect((await docker(engine.dockerHost, ['inspect', '--format', '{{.Id}}', legacy])).stdout.trim()).toBe(id);
    const planA = await iact(a, ['plan']);
    expect(planA.stdout, planA.stderr).toContain(`No changes. ${ENV} matches its manifest.`);
    // A change that makes a new container keeps the adopted name and its volume's data.
    a.writeManifest(ENV, manifest(ports[2]!).replace('    password:', '    memory: 300M\n    password:'));
    const applied = await iact(a, ['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr + applied.stdout).toBe(0);
    expect(containerOf(dir(a))).toBe(legacy);
    expect((await docker(engine.dockerHost, ['inspect', '--format', '{{.Id}}', legacy])).stdout.trim()).not.toBe(id);
    const read = await query('postgres', { port: ports[2]!, user: 'db', database: 'db', password: PASSWORD }, ['SELECT v FROM kept']);
    expect(read.stdout, read.stderr).toBe('before');

    // B destroys its own sandbox only; A's adopted one runs on.
    const destroyed = await iact(b, ['destroy', '--auto-approve', '--allow-destroy', '--no-backup']);
    expect(destroyed.exitCode, destroyed.stderr + destroyed.stdout).toBe(0);
    expect(await names()).toEqual([legacy]);
    expect((await login(ports[2]!)).stdout).toBe('1');
    const gone = await iact(a, ['destroy', '--auto-approve', '--allow-destroy', '--no-backup']);
    expect(gone.exitCode, gone.stderr + gone.stdout).toBe(0);
    expect(await names()).toEqual([]);
    expect((await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', `label=iact.environment=${ENV}`])).stdout.trim()).toBe('');
  }, 600_000);
});
