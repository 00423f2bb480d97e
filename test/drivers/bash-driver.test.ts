// The TypeScript driver layer: registry, script location, status validation, errors, secrets.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { BASH_DIR, BashDriver, DriverError, getDriver, parseStatus } from '../../src/drivers/index.js';
import type { DriverContext } from '../../src/drivers/types.js';
import { specFor } from '../helpers/lifecycle.js';
import { freePort, tempRoot, TEMPLATE_DIR, type TempRoot } from '../helpers/services.js';

const validStatus = {
  name: 'dev-pg',
  environment: 'development',
  driver: 'lightweight',
  service: 'postgres',
  port: 5433,
  running: true,
  healthy: true,
  pid: 123,
  spec_hash: 'sha256:abc',
  spec: {
    name: 'dev-pg',
    environment: 'development',
    driver: 'lightweight',
    service: 'postgres',
    port: 5433,
    settings: { max_connections: 50 },
    spec_hash: 'sha256:abc',
  },
  data_bytes: 10,
};

describe('driver registry', () => {
  it('maps each driver to its script in bash/, once', () => {
    expect((getDriver('lightweight') as BashDriver).scriptPath).toBe(path.join(BASH_DIR, 'lightweight_venv.sh'));
    expect((getDriver('namespace') as BashDriver).scriptPath).toBe(path.join(BASH_DIR, 'wasm_style_sandbox.sh'));
    expect((getDriver('docker') as BashDriver).scriptPath).toBe(path.join(BASH_DIR, 'virtualize.sh'));
    expect(getDriver('lightweight')).toBe(getDriver('lightweight'));
    expect(existsSync(path.join(BASH_DIR, 'lib', 'common.sh'))).toBe(true);
  });

  it('reports availability with a reason and a fix when a driver cannot run', async () => {
    const root = tempRoot('iact-avail-');
    try {
      const ctx: DriverContext = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: 'development' };
      expect(await getDriver('lightweight').available(ctx)).toEqual({ available: true });
      const ns = await getDriver('namespace').available(ctx);
      expect(ns.available).toBe(process.getuid?.() === 0);
      const docker = await getDriver('docker').available(ctx);
      expect(typeof docker.available).toBe('boolean');
      if (!docker.available) {
        expect(docker.reason).toBeTruthy();
        expect(docker.fix).toBeTruthy();
      }
    } finally {
      root.cleanup();
    }
  });
});

describe('parseStatus (schemas/driver-status.schema.json)', () => {
  it('accepts what the scripts print', async () => {
    expect(
      await parseStatus(
        JSON.stringify([validStatus, { ...validStatus, name: 'x', spec: null, pid: null, running: false, healthy: false }]),
      ),
    ).toHaveLength(2);
  });

  it.each([
    ['not JSON', 'nope', /not JSON/],
    ['an object instead of an array', JSON.stringify(validStatus), /does not match/],
    ['a missing field', JSON.stringify([{ ...validStatus, healthy: undefined }]), /healthy/],
    ['a bad name', JSON.stringify([{ ...validStatus, name: 'a;id' }]), /name/],
    ['a password in the spec', JSON.stringify([{ ...validStatus, spec: { ...validStatus.spec, password: 'secret' } }]), /spec/],
    ['an unknown service', JSON.stringify([{ ...validStatus, service: 'oracle' }]), /service/],
  ])('rejects %s', async (_label, text, message) => {
    await expect(parseStatus(text)).rejects.toThrow(message);
  });
});

describe('BashDriver against the lightweight script', () => {
  const driver = getDriver('lightweight');
  let root: TempRoot;
  let ctx: DriverContext;
  let blocker: Server;
  let blockedPort: number;

  beforeAll(async () => {
    process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
    root = tempRoot('iact-bashdrv-');
    ctx = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: 'development' };
    blockedPort = await freePort();
    blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(blockedPort, '127.0.0.1', resolve));
  });
  afterAll(async () => {
    await new Promise((resolve) => blocker.close(resolve));
    root.cleanup();
  });

  it('a failing script throws DriverError: command, exit code, stderr tail, never the password', async () => {
    const spec = specFor('lightweight', 'redis', 'taken', blockedPort, { password: 'hunter2-very-secret' });
    const error = await driver.create(ctx, spec).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(DriverError);
    const e = error as DriverError;
    expect(e.message).toMatch(
      new RegExp(
        `^Command failed with exit code 1: bash/lightweight_venv.sh create taken redis ${blockedPort} --spec - --env development\\n`,
      ),
    );
    expect(e.message).toContain(`port ${blockedPort} is already in use`);
    expect(e.exitCode).toBe(1);
    expect(e.message).not.toContain('hunter2');
    expect(e.stderrTail).not.toContain('hunter2');
    // The spec (it holds the password) went in on stdin, never into a file; nothing was created.
    expect(e.command).toContain('--spec -');
    expect(existsSync(path.join(root.sandboxRoot, 'development', 'taken'))).toBe(false);
  });

  it('a failing status (its own spawn, not execa) throws the same DriverError shapes: exit code, timeout, cancel', async () => {
    const missing = new BashDriver('lightweight', 'no-such-driver.sh', async () => ({ available: true }));
    await expect(missing.status(ctx)).rejects.toMatchObject({
      name: 'DriverError',
      exitCode: 127,
      message: expect.stringMatching(
        /^Command failed with exit code 127: bash\/no-such-driver.sh status --json --env development\n.*No such file/s,
      ),
    });
    process.env.IACT_DRIVER_TIMEOUT_MS = '1';
    try {
      await expect(driver.status(ctx)).rejects.toThrow(/^Command timed out: bash\/lightweight_venv.sh status --json --env development/);
    } finally {
      delete process.env.IACT_DRIVER_TIMEOUT_MS;
    }
    const controller = new AbortController();
    controller.abort();
    await expect(driver.status({ ...ctx, signal: controller.signal })).rejects.toThrow(/^Command was canceled: /);
  });

  it('refuses bad names and contexts before running anything (exit code 2)', async () => {
    await expect(driver.start(ctx, '../etc')).rejects.toMatchObject({ name: 'DriverError', exitCode: 2 });
    await expect(driver.status({ ...ctx, environment: 'Prod;id' })).rejects.toMatchObject({ exitCode: 2 });
    await expect(driver.status({ ...ctx, sandboxRoot: 'relative/path' })).rejects.toMatchObject({ exitCode: 2 });
  });

  it('status is validated and typed; a none sandbox round-trips its spec', async () => {
    const port = await freePort();
    const spec = specFor('lightweight', 'none', 'plain', port, { settings: { greeting: 'hello', workers: 4, debug: true } });
    await driver.create(ctx, spec);
    try {
      const [status] = await driver.status(ctx);
      expect(status).toMatchObject({
        name: 'plain',
        service: 'none',
        driver: 'lightweight',
        running: true,
        healthy: true,
        pid: null,
        spec_hash: spec.spec_hash,
      });
      expect(status?.spec?.settings).toEqual({ greeting: 'hello', workers: 4, debug: true });
      expect(status?.data_bytes).toBe(0); // a none sandbox holds no service data
    } finally {
      await driver.destroy(ctx, 'plain');
    }
    expect(await driver.status(ctx)).toEqual([]);
  });
});

describe('createMany (none sandboxes in one call)', () => {
  it('creates valid none sandboxes, fails bad ones alone, and only the process drivers offer it', async () => {
    expect(getDriver('docker').createMany).toBeUndefined();
    const driver = getDriver('lightweight');
    expect(driver.createMany).toBeDefined();
    process.env.IACT_TEMPLATE_DIR = TEMPLATE_DIR;
    const root = tempRoot('iact-many-');
    const ctx: DriverContext = { root: root.dir, sandboxRoot: root.sandboxRoot, environment: 'development' };
    try {
      const specs = [0, 1, 2].map((i) => specFor('lightweight', 'none', `many-${i}`, 30000 + i, { settings: { i } }));
      const bad = { ...specFor('lightweight', 'none', 'many-bad', 30010), settings: { k: "a'b" } };
      const redis = specFor('lightweight', 'redis', 'many-redis', 30011);
      const results = await driver.createMany!(ctx, [...specs, bad, redis]);
      expect(results.map((r) => r.name)).toEqual(['many-0', 'many-1', 'many-2', 'many-bad', 'many-redis']);
      expect(results.slice(0, 3).every((r) => r.ok)).toBe(true);
      expect(results[3]).toMatchObject({ ok: false, message: expect.stringMatching(/quotes|';'/) });
      expect(results[4]).toMatchObject({ ok: false, message: expect.stringMatching(/only none/) });
      const status = await driver.status(ctx);
      expect(status.map((s) => s.name).sort()).toEqual(['many-0', 'many-1', 'many-2']);
      expect(status.find((s) => s.name === 'many-1')).toMatchObject({
        running: true,
        healthy: true,
        spec_hash: specs[1]!.spec_hash,
        spec: { settings: { i: 1 } },
      });
      // Idempotent like create: a second call changes nothing.
      expect((await driver.createMany!(ctx, specs)).every((r) => r.ok)).toBe(true);
      expect(await driver.status(ctx)).toHaveLength(3);
    } finally {
      root.cleanup();
    }
  });
});
