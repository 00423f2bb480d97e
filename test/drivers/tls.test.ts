// tls: true with every driver, for real: postgres, mariadb and redis serve TLS only, verified against
// the sandbox's own CA from the host (verify-full to 127.0.0.1 and localhost); plaintext is refused;
// the drivers' own login checks speak TLS (plan right after apply: no changes); turning tls off and on
// is planned as the restart (namespace) or recreate (docker) apply then takes.
// test/bash/tls.test.ts adds the env file, parity, iact run --tls and a redis-server without TLS.
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { ensureEngine, ensureImages } from '../helpers/docker.js';
import { cliPath, describeNeeding, freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { devEnv, devManifest } from '../helpers/manifests.js';
import { type Credentials, TEMPLATE_DIR } from '../helpers/services.js';
import { encryptedCheck, expectTlsOnly, plaintextAccepted, TLS_SERVICES, type TlsService } from '../helpers/tls.js';

const PG_PW = 'tls-Pg-Secret-31';
const MY_PW = 'tls-My-Secret-32';
const RD_PW = 'tls-Rd-Secret-33';
// An environment of this run alone: the docker driver sees every container of an environment on a
// shared engine, so another project's `development` must not meet ours.
const ENV = `tls${process.pid}`;

type Driver = 'lightweight' | 'docker' | 'namespace';
const NEEDS: Record<Driver, string[]> = {
  lightweight: ['postgres', 'mysql', 'redis'],
  docker: ['docker', 'postgres', 'mysql', 'redis'],
  namespace: ['root', 'namespace', 'postgres', 'mysql', 'redis'],
};
const SCRIPT: Record<Driver, string> = { lightweight: 'lightweight_venv.sh', docker: 'virtualize.sh', namespace: 'wasm_style_sandbox.sh' };
// What a tls change restarts, as the plan says it (src/plan/impact.ts).
const STEP: Record<Driver, string> = { lightweight: 'restart', docker: 'recreate', namespace: 'restart' };

for (const driver of ['lightweight', 'docker', 'namespace'] as const) {
  describeNeeding(...NEEDS[driver])(`TLS sandboxes with the ${driver} driver`, { timeout: 900_000 }, () => {
    let project: Project;
    const env: Record<string, string> = { IACT_TEMPLATE_DIR: TEMPLATE_DIR, IACT_ENV: ENV };
    let pg: number;
    let my: number;
    let rd: number;
    const ca = (service: TlsService) => project.file(`.iact/sandboxes/${ENV}/dev-${service}/tls/ca.crt`);
    const login = (service: TlsService): Credentials => ({
      port: { postgres: pg, mysql: my, redis: rd }[service],
      database: 'app',
      user: 'app',
      password: { postgres: PG_PW, mysql: MY_PW, redis: RD_PW }[service],
    });

    beforeAll(async () => {
      if (driver === 'docker') {
        const engine = await ensureEngine();
        await ensureImages(engine.dockerHost);
        env.DOCKER_HOST = engine.dockerHost;
      }
      project = makeProject(`iact-tls-${driver}-`);
      [pg, my, rd] = (await freePorts(3)) as [number, number, number];
      project.writeEnv(devEnv({ postgres: PG_PW, mysql: MY_PW, redis: RD_PW }));
      project.writeManifest(ENV, devManifest(pg, { mysql: my, redis: rd, cache: true, tls: true, environment: ENV, driver }));
      const applied = await project.iact(['apply', '--auto-approve'], { env });
      expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
    }, 900_000);
    afterAll(async () => {
      if (!project) return;
      await project.iact(['destroy', '--env', ENV, '--auto-approve', '--allow-destroy', '--no-backup'], { env });
      await project.cleanup();
    }, 300_000);

    it.each(TLS_SERVICES)('%s: verify-full from the host works; plaintext and another CA are refused', async (service) => {
      await expectTlsOnly(service, login(service), ca(service), ca(service === 'postgres' ? 'mysql' : 'postgres'));
    });

    /** The driver's own status: health, the login check (over TLS) and the pid of each sandbox. */
    async function driverStatus(): Promise<{ name: string; healthy: boolean; login?: boolean; pid: number | null }[]> {
      const status = await execa('bash', [path.join(repoRoot, 'bash', SCRIPT[driver]), 'status', '--json', '--env', ENV], {
        cwd: project.dir,
        env: { ...env, IACT_ENV: '', ENVIRONMENT: '' },
        reject: false,
      });
      expect(status.exitCode, status.stderr).toBe(0);
      return (JSON.parse(status.stdout) as { name: string; healthy: boolean; login?: boolean; pid: number | null }[]).sort((a, b) =>
        a.name.localeCompare(b.name),
      );
    }

    it('the driver logs in over TLS (login: true); a plan right after apply has no changes', async () => {
      const rows = await driverStatus();
      expect(rows.map((r) => [r.name, r.healthy, r.login]).sort()).toEqual([
        ['dev-mysql', true, true],
        ['dev-postgres', true, true],
        ['dev-redis', true, true],
      ]);
      const plan = await project.iact(['plan', '--detailed-exitcode'], { env });
      expect(plan.exitCode, plan.stdout + plan.stderr).toBe(0);
      expect(plan.stdout).toContain('No changes');
    });

    it('iact exec and iact connect reach every service over verified TLS', async () => {
      const cli = (args: string[], input?: string) =>
        execa(process.execPath, [cliPath, ...args], {
          cwd: project.dir,
          env: { NO_COLOR: '1', IACT_ENV: '', ENVIRONMENT: '', ...env },
          input,
          reject: false,
        });
      for (const service of TLS_SERVICES) {
        const { fromEnv, typed, answer } = encryptedCheck(service);
        for (const r of [
          await cli(['exec', `dev-${service}`, '--', 'sh', '-c', fromEnv]),
          await cli(['connect', `dev-${service}`], typed),
        ]) {
          expect(r.exitCode, `${service}: ${r.stderr}`).toBe(0);
          expect(String(r.stdout), service).toMatch(answer);
        }
      }
    });

    it(`turning tls off and on is planned as a ${STEP[driver]} and applied as one, for every service`, async () => {
      const manifest = project.read(`environments/${ENV}.yaml`);
      const plainWorks = async () => ({
        postgres: await plaintextAccepted('postgres', login('postgres')),
        mysql: await plaintextAccepted('mysql', login('mysql')),
        redis: await plaintextAccepted('redis', login('redis')),
      });
      for (const tls of [false, true]) {
        project.writeManifest(ENV, manifest.replace(/tls: true/g, `tls: ${tls}`));
        const plan = await project.iact(['plan', '--format', 'json'], { env });
        expect(plan.exitCode, plan.stderr).toBe(0);
        const changes = (JSON.parse(plan.stdout) as { changes: { name: string; action: string; steps: string[] }[] }).changes
          .filter((c) => c.name.startsWith('dev-'))
          .map((c) => [c.name, c.action, c.steps])
          .sort();
        expect(changes).toEqual([
          ['dev-mysql', 'update', [STEP[driver]]],
          ['dev-postgres', 'update', [STEP[driver]]],
          ['dev-redis', 'update', [STEP[driver]]],
        ]);
        const pidsBefore = (await driverStatus()).map((r) => r.pid);
        const applied = await project.iact(['apply', '--auto-approve'], { env });
        expect(applied.exitCode, applied.stdout + applied.stderr).toBe(0);
        expect(await plainWorks()).toEqual({ postgres: !tls, mysql: !tls, redis: !tls });
        // What the plan said: a new process (docker: a new container) for each, healthy, logged in.
        const after = await driverStatus();
        after.forEach((r, i) => expect(r.pid, r.name).not.toBe(pidsBefore[i]));
        expect(after.map((r) => [r.healthy, r.login])).toEqual([
          [true, true],
          [true, true],
          [true, true],
        ]);
        const again = await project.iact(['plan', '--detailed-exitcode'], { env });
        expect(again.exitCode, again.stdout + again.stderr).toBe(0);
      }
    });
  });
}
