// Which drivers a plan asks: lightweight first, then whatever the sandbox directories on disk and the
// manifest name. Fake readers stand in for the bash scripts; the directories are real.
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { DriverContext, DriverReader, SandboxStatus } from '../../src/drivers/types.js';
import type { DriverName, ResolvedEnvironment } from '../../src/model/types.js';
import { beginObservation } from '../../src/io/observe.js';

const made: string[] = [];
afterEach(() => made.splice(0).forEach((dir) => rmSync(dir, { recursive: true, force: true })));

/** A sandbox root with one directory per name, each with the sandbox.json its driver writes. */
function sandboxRoot(sandboxes: Record<string, DriverName>): string {
  const root = mkdtempSync(path.join(tmpdir(), 'iact-observe-'));
  made.push(root);
  for (const [name, driver] of Object.entries(sandboxes)) {
    mkdirSync(path.join(root, 'development', name), { recursive: true });
    const spec = { name, environment: 'development', driver, service: 'none', port: 30000, spec_hash: 'sha256:x', settings: {} };
    writeFileSync(path.join(root, 'development', name, 'sandbox.json'), `${JSON.stringify(spec)}\n`);
  }
  return root;
}

function status(name: string, driver: DriverName): SandboxStatus {
  return {
    name,
    environment: 'development',
    driver,
    service: 'none',
    port: 30000,
    running: true,
    healthy: true,
    pid: null,
    spec_hash: '',
    spec: null,
    data_bytes: 0,
  };
}

/** Readers that report the sandboxes of their driver and record that they were asked. */
function readers(onDisk: Record<string, DriverName>, unavailable: DriverName[] = []) {
  const asked: DriverName[] = [];
  const lookup = async (name: DriverName): Promise<DriverReader> => ({
    name,
    available: async () => (unavailable.includes(name) ? { available: false, reason: `no ${name} here` } : { available: true }),
    status: async () => {
      asked.push(name);
      return Object.entries(onDisk)
        .filter(([, driver]) => driver === name)
        .map(([sandbox]) => status(sandbox, name));
    },
  });
  return { asked, lookup };
}

const manifest = (drivers: Record<string, DriverName>) =>
  ({
    environment: 'development',
    sandboxes: Object.fromEntries(Object.entries(drivers).map(([name, driver]) => [name, { name, driver }])),
  }) as unknown as ResolvedEnvironment;

describe('beginObservation', () => {
  it('finds a docker sandbox behind many lightweight ones (read only because lightweight does not report it)', async () => {
    const onDisk: Record<string, DriverName> = {};
    for (let i = 0; i < 40; i++) onDisk[`lw-${String(i).padStart(2, '0')}`] = 'lightweight';
    onDisk['zz-docker'] = 'docker';
    const root = sandboxRoot(onDisk);
    const { asked, lookup } = readers(onDisk);
    const ctx: DriverContext = { root, sandboxRoot: root, environment: 'development' };

    const observing = beginObservation(ctx, lookup);
    await observing.started;
    expect(asked).toEqual(['lightweight']); // docker is not among the first directories
    const observation = await observing.complete(manifest({ 'lw-00': 'lightweight' }));

    expect(asked).toContain('docker');
    expect(observation.observed.map((s) => s.name)).toContain('zz-docker');
    expect(observation.observed).toHaveLength(41);
    expect(observation.notices).toEqual([]);
  });

  it('asks a driver seen among the first directories before the manifest is read', async () => {
    const onDisk: Record<string, DriverName> = { 'a-docker': 'docker', 'b-light': 'lightweight' };
    const root = sandboxRoot(onDisk);
    const { asked, lookup } = readers(onDisk);
    const observing = beginObservation({ root, sandboxRoot: root, environment: 'development' }, lookup);
    await observing.started;
    expect(asked.sort()).toEqual(['docker', 'lightweight']);
  });

  it('an unavailable driver with sandboxes on disk is a notice; a guessed one with nothing to say is not', async () => {
    const onDisk: Record<string, DriverName> = { 'only-docker': 'docker' };
    const root = sandboxRoot(onDisk);
    const { lookup } = readers(onDisk, ['docker']);
    const observation = await beginObservation({ root, sandboxRoot: root, environment: 'development' }, lookup).complete(manifest({}));
    expect(observation.unobservedDrivers).toEqual(['docker']);
    expect(observation.notices).toHaveLength(1);
    expect(observation.notices[0]!.summary).toMatch(/driver docker cannot run here/);
    expect(observation.notices[0]!.detail).toMatch(/on disk that may be due for deletion/);
  });
});
