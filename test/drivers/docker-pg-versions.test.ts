// PostgreSQL majors beside each other on the docker driver (docs/operators.md "More PostgreSQL
// majors"): `version: "16"` runs iact/postgres:16, which scripts/docker-images.sh postgres@16 builds
// from the binaries `iact install postgres@16` cached; a major with no image fails with both commands;
// doctor lists the majors the engine has images of.
import { chmodSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { probeEngines } from '../../src/doctor/engines.js';
import { containerOf, docker, driverRunner, ensureEngine, ensureImages, query, type Engine } from '../helpers/docker.js';
import { describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';

const ENV = `dpgv${process.pid}`;
const PASSWORD = 'docker-Pg-versions-16';

describeNeeding('docker', 'root')('docker driver: postgres 16 (iact install) beside postgres 15', { timeout: 900_000 }, () => {
  let engine: Engine;
  let project: Project;
  let scratch: string;
  let env: Record<string, string>;
  const sandbox = (name: string, port: number, version: string) =>
    `  ${name}:\n    service: postgres\n    driver: docker\n    version: "${version}"\n    port: ${port}\n    database: app\n    user: app\n    password: ${PASSWORD}\n`;
  const iact = (args: string[]) => project.iact([...args, '--env', ENV], { env });

  beforeAll(async () => {
    engine = await ensureEngine();
    scratch = mkdtempSync(path.join(tmpdir(), 'iact-docker-pg-versions-'));
    chmodSync(scratch, 0o755);
    // Shared across runs when set (CI downloads once), else a temp cache.
    const cache = process.env.IACT_CACHE_DIR ?? path.join(scratch, 'cache');
    mkdirSync(cache, { recursive: true });
    env = { IACT_CACHE_DIR: cache, DOCKER_HOST: engine.dockerHost };
    project = makeProject('iact-docker-pg-versions-');
    const installed = await project.iact(['install', 'postgres@16'], { env });
    expect(installed.exitCode, installed.stderr).toBe(0);
    await ensureImages(engine.dockerHost, ['postgres', 'postgres@16'], { IACT_CACHE_DIR: cache });
  }, 900_000);

  afterAll(async () => {
    if (project) await iact(['destroy', '--auto-approve', '--allow-destroy', '--no-backup']).catch(() => undefined);
    // Whatever a failed assertion left behind, containers and volumes alike.
    for (const environment of engine ? [ENV, `${ENV}x`] : []) {
      const left = (await docker(engine.dockerHost, ['ps', '-aq', '--filter', `label=iact.environment=${environment}`])).stdout.trim();
      if (left) await docker(engine.dockerHost, ['rm', '-f', '-v', ...left.split('\n')]);
      const volumes = (
        await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', `label=iact.environment=${environment}`])
      ).stdout.trim();
      if (volumes) await docker(engine.dockerHost, ['volume', 'rm', '-f', ...volumes.split('\n')]);
    }
    await project?.cleanup();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }, 300_000);

  it('a 16 and a 15 sandbox both accept logins and report their major; plan afterwards says No changes', async () => {
    const [p15, p16] = (await freePorts(2)) as [number, number];
    project.writeManifest(
      ENV,
      `apiVersion: iact/v1\nenvironment: ${ENV}\nsandboxes:\n${sandbox('pg-fifteen', p15, '15')}${sandbox('pg-sixteen', p16, '16')}`,
    );
    const applied = await iact(['apply', '--auto-approve']);
    expect(applied.exitCode, applied.stderr + applied.stdout).toBe(0);

    for (const [port, major] of [
      [p15, 15],
      [p16, 16],
    ] as const) {
      const r = await query('postgres', { port, user: 'app', database: 'app', password: PASSWORD }, ['SELECT version()']);
      expect(r.exitCode, r.stderr).toBe(0);
      expect(r.stdout).toMatch(new RegExp(`^PostgreSQL ${major}\\.`));
    }

    const plan = await iact(['plan']);
    expect(plan.exitCode, plan.stderr).toBe(0);
    expect(plan.stdout).toContain(`No changes. ${ENV} matches its manifest.`);

    // The 15 sandbox backs up; the 16 image has no pg_dump (none here is 16 or newer) and says what to install.
    const driver = driverRunner(project.dir, project.file('.iact/sandboxes'), ENV, engine.dockerHost);
    const ok = await driver(['backup', 'pg-fifteen', '--out', path.join(scratch, 'fifteen.sql')]);
    expect(ok.exitCode, ok.stderr).toBe(0);
    const hasNewDump =
      (
        await docker(engine.dockerHost, [
          'exec',
          containerOf(project.file(`.iact/sandboxes/${ENV}/pg-sixteen`)),
          'bash',
          '-c',
          'command -v pg_dump',
        ])
      ).exitCode === 0;
    if (!hasNewDump) {
      const noDump = await driver(['backup', 'pg-sixteen', '--out', path.join(scratch, 'sixteen.sql')]);
      expect(noDump.exitCode).not.toBe(0);
      expect(noDump.stderr).toContain('image iact/postgres:16 has no pg_dump');
      expect(noDump.stderr).toContain('scripts/docker-images.sh --force postgres@16');
    }

    // doctor names the majors this engine has images of (one `docker image ls`).
    const doctor = await project.iact(['doctor'], { env });
    expect(doctor.stdout).toMatch(/PostgreSQL majors with docker images\s+.*iact\/postgres:16.*iact\/postgres:15/);
  });

  it('docker-images.sh postgres@14 with no PostgreSQL 14 anywhere fails with the command that fetches it', async () => {
    const empty = mkdtempSync(path.join(scratch, 'empty-cache-'));
    const r = await execa('bash', [path.join(repoRoot, 'scripts', 'docker-images.sh'), 'postgres@14'], {
      env: { IACT_CACHE_DIR: empty, DOCKER_HOST: engine.dockerHost },
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(1);
    expect(r.stderr).toContain(
      `error: PostgreSQL 14 is not installed (no postgres in /usr/lib/postgresql/14/bin or ${empty}/postgres/14/bin)`,
    );
    expect(r.stderr).toContain('fix: iact install postgres@14');
  });

  it('a major whose image is not built fails with the two commands that build it', async () => {
    const [port] = (await freePorts(1)) as [number];
    // 13 has no image here: no test builds it (an operator who did would see this test fail, and why).
    const has13 = (await docker(engine.dockerHost, ['image', 'inspect', 'iact/postgres:13'])).exitCode === 0;
    expect(has13, 'iact/postgres:13 exists on this engine; docker rmi it to run this test').toBe(false);
    project.writeManifest(`${ENV}x`, `apiVersion: iact/v1\nenvironment: ${ENV}x\nsandboxes:\n${sandbox('pg-thirteen', port, '13')}`);
    const applied = await project.iact(['apply', '--auto-approve', '--env', `${ENV}x`], { env });
    expect(applied.exitCode, applied.stdout + applied.stderr).not.toBe(0);
    expect(applied.stdout).toContain('docker image iact/postgres:13 is not built');
    expect(applied.stdout).toContain('fix: iact install postgres@13, then scripts/docker-images.sh postgres@13');
    // Nothing is left that no record names: the image is checked before the volume is made.
    const volumes = await docker(engine.dockerHost, ['volume', 'ls', '-q', '--filter', `label=iact.environment=${ENV}x`]);
    expect(volumes.stdout.trim()).toBe('');
    // doctor's check of an engine the manifests name gives the same two commands.
    const use = {
      label: engine.dockerHost,
      engine: { host: engine.dockerHost, publish: '127.0.0.1' },
      images: new Set(['iact/postgres:13', 'iact/postgres:16']),
      sandboxes: [`${ENV}x/pg-thirteen`],
    };
    const images = (await probeEngines([use], project.dir, process.env, 'scripts/docker-images.sh')).find(
      (r) => r.id === 'engine-1-images',
    );
    expect(images).toMatchObject({ state: 'missing', found: 'missing: iact/postgres:13' });
    expect(images?.fix).toBe(`iact install postgres@13, then DOCKER_HOST=${engine.dockerHost} scripts/docker-images.sh postgres@13`);
    await project.iact(['destroy', '--auto-approve', '--allow-destroy', '--no-backup', '--env', `${ENV}x`], { env });
  });
});
