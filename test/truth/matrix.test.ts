// "The plan tells the truth" (docs/plan-json.md, "Steps"): for each driver and service, the steps a
// plan lists are what apply does to the real server. One sandbox per service per driver, reused:
// (a) a reloadable setting -> [reload], same process/container, the server reports the new value;
// (b) the port -> [restart] ([recreate] on docker), a new process/container, the data kept;
// (c) the password -> [set-password], same process/container, the new password logs in, the old does not.
// After every apply the plan says No changes.
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { DriverName } from '../../src/model/types.js';
import type { Step } from '../../src/plan/types.js';
import { containerOf, docker, ensureEngine, ensureImages, query, stopEngine, type Engine, type Login } from '../helpers/docker.js';
import { freePorts, makeProject, needs, type Project } from '../helpers/iact-project.js';
import { missingPrerequisites } from '../helpers/services.js';

type Service = 'postgres' | 'mysql' | 'redis';
const SERVICES: Service[] = ['postgres', 'mysql', 'redis'];
/** What each driver's row needs: missing, it fails with the install hint, or skips showing why (test/helpers/services.ts). */
const NEEDS: Record<DriverName, string[]> = {
  lightweight: [...SERVICES],
  namespace: ['root', 'namespace', ...SERVICES],
  docker: ['docker'],
};
const ENV = 'development';
const SLOW = 900_000;

/** Per service: a reloadable setting (the catalogue's) with two values, and how the server reports it. */
const RELOADABLE: Record<
  Service,
  { key: string; before: string | number; after: string | number; read: string[]; shows: (out: string, v: string | number) => boolean }
> = {
  postgres: { key: 'work_mem', before: '4MB', after: '8MB', read: ['SHOW work_mem'], shows: (out, v) => out === String(v) },
  mysql: { key: 'max_connections', before: 50, after: 60, read: ['SELECT @@GLOBAL.max_connections'], shows: (out, v) => out === String(v) },
  redis: {
    key: 'maxmemory-policy',
    before: 'allkeys-lru',
    after: 'allkeys-random',
    read: ['CONFIG', 'GET', 'maxmemory-policy'],
    shows: (out, v) => out.split('\n').includes(String(v)),
  },
};

interface Cell {
  service: Service;
  name: string;
  port: number;
  password: string;
  setting: string | number;
}

function manifest(driver: DriverName, cells: Cell[]): string {
  const lines = ['apiVersion: iact/v1', `environment: ${ENV}`, `defaults: { driver: ${driver} }`, 'sandboxes:'];
  for (const c of cells) {
    const r = RELOADABLE[c.service];
    lines.push(
      `  ${c.name}:`,
      `    service: ${c.service}`,
      `    port: ${c.port}`,
      `    password: ${c.password}`,
      `    settings: { ${r.key}: ${JSON.stringify(c.setting)} }`,
    );
    if (c.service !== 'redis') lines.push('    database: app', '    user: app_user');
  }
  return `${lines.join('\n')}\n`;
}

const login = (c: Cell, password = c.password): Login => ({ port: c.port, user: 'app_user', database: 'app', password });

async function canLogIn(c: Cell, password: string): Promise<boolean> {
  const r = await query(c.service, login(c, password), c.service === 'redis' ? ['PING'] : ['SELECT 1']);
  return r.exitCode === 0 && (c.service === 'redis' ? r.stdout === 'PONG' : r.stdout === '1');
}

// The drivers' rows run at once (own project, names and ports); within a row the steps build on each other.
describe.concurrent.each<DriverName>(['lightweight', 'namespace', 'docker'])('the plan tells the truth: %s driver', (driver) => {
  let project: Project;
  let engine: Engine | undefined;
  let env: Record<string, string> = {};
  let cells: Cell[] = [];
  const suffix = randomBytes(3).toString('hex');

  /** pid of the server, or the container id on docker, per sandbox. */
  async function identities(): Promise<Record<string, string>> {
    const out: Record<string, string> = {};
    if (driver === 'docker') {
      for (const c of cells)
        out[c.name] = (
          await docker(engine!.dockerHost, [
            'inspect',
            '--format',
            '{{.Id}}',
            containerOf(project.file(`.iact/sandboxes/${ENV}/${c.name}`)),
          ])
        ).stdout.trim();
      return out;
    }
    const status = JSON.parse((await project.iact(['status', '--json'], { env })).stdout) as {
      sandboxes: { name: string; pid: number | null }[];
    };
    for (const row of status.sandboxes) out[row.name] = String(row.pid);
    return out;
  }

  async function planSteps(): Promise<Record<string, Step[]>> {
    const r = await project.iact(['plan', '--format', 'json'], { env });
    expect(r.exitCode, r.stderr).toBe(0);
    const plan = JSON.parse(r.stdout) as { changes: { name: string; action: string; steps: Step[] }[] };
    return Object.fromEntries(
      plan.changes
        .filter((c) => c.action !== 'no-op')
        .map((c) => [c.name, c.action === 'update' ? c.steps : [`not an update: ${c.action}` as Step]]),
    );
  }

  async function applyAndSettle(): Promise<void> {
    const r = await project.iact(['apply', '--auto-approve'], { env });
    expect(r.exitCode, `${r.stdout}\n${r.stderr}`).toBe(0);
    const again = await project.iact(['plan', '--detailed-exitcode'], { env });
    expect(again.exitCode, `plan after apply:\n${again.stdout}${again.stderr}`).toBe(0);
    expect(again.stdout).toContain('No changes.');
  }

  beforeAll(async () => {
    if (missingPrerequisites(...NEEDS[driver])) return; // each test then skips with the reason
    if (driver === 'docker') {
      engine = await ensureEngine();
      await ensureImages(engine.dockerHost);
      env = { DOCKER_HOST: engine.dockerHost };
    }
    project = makeProject(`iact-truth-${driver}-`);
    const ports = await freePorts(SERVICES.length);
    cells = SERVICES.map((service, i) => ({
      service,
      name: `t${suffix}-${service.slice(0, 2)}`,
      port: ports[i]!,
      password: `first-${randomBytes(6).toString('hex')}`,
      setting: RELOADABLE[service].before,
    }));
    project.writeManifest(ENV, manifest(driver, cells));
    await applyAndSettle();
  }, SLOW);

  afterAll(async () => {
    await project?.cleanup();
    if (engine?.startedByUs) await stopEngine();
  }, SLOW);

  it.sequential(
    '(a) a reloadable setting: steps [reload]; same process; the server reports the new value',
    async (t) => {
      needs(t, ...NEEDS[driver]);
      const before = await identities();
      cells = cells.map((c) => ({ ...c, setting: RELOADABLE[c.service].after }));
      project.writeManifest(ENV, manifest(driver, cells));
      expect(await planSteps()).toEqual(Object.fromEntries(cells.map((c) => [c.name, ['reload']])));
      await applyAndSettle();
      expect(await identities()).toEqual(before);
      for (const c of cells) {
        const r = RELOADABLE[c.service];
        const out = (await query(c.service, login(c), r.read)).stdout;
        expect(r.shows(out, c.setting), `${c.service} reports ${r.key} = ${out}`).toBe(true);
      }
    },
    SLOW,
  );

  it.sequential(
    `(b) the port: steps [${driver === 'docker' ? 'recreate' : 'restart'}]; a new process; the data written before is still there`,
    async (t) => {
      needs(t, ...NEEDS[driver]);
      for (const c of cells) {
        const write = c.service === 'redis' ? ['SET', 'truth', 'kept'] : ["CREATE TABLE truth (v text); INSERT INTO truth VALUES ('kept')"];
        expect((await query(c.service, login(c), write)).exitCode).toBe(0);
      }
      const before = await identities();
      const ports = await freePorts(cells.length);
      cells = cells.map((c, i) => ({ ...c, port: ports[i]! }));
      project.writeManifest(ENV, manifest(driver, cells));
      const step = driver === 'docker' ? 'recreate' : 'restart';
      expect(await planSteps()).toEqual(Object.fromEntries(cells.map((c) => [c.name, [step]])));
      await applyAndSettle();
      const after = await identities();
      for (const c of cells) {
        expect(after[c.name], `${c.service}: a new process/container`).not.toBe(before[c.name]);
        const read = c.service === 'redis' ? ['GET', 'truth'] : ['SELECT v FROM truth'];
        expect((await query(c.service, login(c), read)).stdout, `${c.service}: data kept`).toBe('kept');
      }
    },
    SLOW,
  );

  it.sequential(
    '(c) the password: steps [set-password]; same process; the new password logs in, the old one is refused',
    async (t) => {
      needs(t, ...NEEDS[driver]);
      const before = await identities();
      const old = cells.map((c) => c.password);
      cells = cells.map((c) => ({ ...c, password: `second-${randomBytes(6).toString('hex')}` }));
      project.writeManifest(ENV, manifest(driver, cells));
      expect(await planSteps()).toEqual(Object.fromEntries(cells.map((c) => [c.name, ['set-password']])));
      await applyAndSettle();
      expect(await identities()).toEqual(before);
      for (const [i, c] of cells.entries()) {
        expect(await canLogIn(c, c.password), `${c.service}: the new password logs in`).toBe(true);
        expect(await canLogIn(c, old[i]!), `${c.service}: the old password is refused`).toBe(false);
      }
    },
    SLOW,
  );
});
