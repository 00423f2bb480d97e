// Issue 11, item 7: settings are an allow-list from the service catalogue, so an include directive,
// an option prefix or loose- form, an ACL line or a listen address is refused by iact validate (with
// its line) and again by the driver (exit 2, nothing made); and a create that fails after its server
// started stops that server.
import { existsSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { DriverSpec } from '../../src/drivers/types.js';
import { specFor } from '../helpers/lifecycle.js';
import { freePorts, makeProject, portOpen, describeNeeding, type Project } from '../helpers/iact-project.js';
import { processesMentioning, repoRoot, TEMPLATE_DIR, tempRoot, type TempRoot } from '../helpers/services.js';

const BYPASSES: Array<{ service: 'postgres' | 'mysql' | 'redis'; key: string; value: string }> = [
  { service: 'postgres', key: 'include', value: '/some/file.conf' },
  { service: 'postgres', key: 'include_dir', value: '/etc' },
  { service: 'mysql', key: 'loose-bind-address', value: '0.0.0.0' },
  { service: 'mysql', key: 'bind', value: '0.0.0.0' },
  { service: 'mysql', key: 'skip-grant-tables', value: '1' },
  { service: 'redis', key: 'user', value: 'default on nopass ~* +@all' },
  { service: 'redis', key: 'rename-command', value: 'CONFIG x' },
];

describeNeeding(
  'postgres',
  'mysql',
  'redis',
)('item 7: reserved settings cannot be bypassed', () => {
  let project: Project;
  let root: TempRoot;
  beforeAll(() => {
    project = makeProject('iact-item07-');
    root = tempRoot('iact-item07-drv-');
  });
  afterAll(async () => {
    await project?.cleanup();
    root?.cleanup();
  });
  /** The lightweight driver's create of SPEC (given on stdin) in the driver's own root. */
  const create = (spec: DriverSpec, env: Record<string, string> = {}) =>
    execa(
      'bash',
      [
        path.join(repoRoot, 'bash', 'lightweight_venv.sh'),
        'create',
        spec.name,
        spec.service,
        String(spec.port),
        '--spec',
        '-',
        '--env',
        'development',
      ],
      { cwd: root.dir, env: { ...root.env, IACT_TEMPLATE_DIR: TEMPLATE_DIR, ...env }, input: JSON.stringify(spec), reject: false },
    );

  it('iact validate names each bypass with its line', async () => {
    const lines = ['apiVersion: iact/v1', 'environment: development', 'sandboxes:'];
    BYPASSES.forEach((b, i) => {
      lines.push(`  s${i}:`, `    service: ${b.service}`, `    port: ${30000 + i}`, '    password: item07-pw');
      if (b.service !== 'redis') lines.push('    database: app', '    user: app');
      lines.push(`    settings: { '${b.key}': '${b.value}' }`);
    });
    project.writeManifest('development', `${lines.join('\n')}\n`);
    const r = await project.iact(['validate']);
    expect(r.exitCode).toBe(1);
    const out = r.stdout + r.stderr;
    for (const b of BYPASSES)
      expect(out).toMatch(
        new RegExp(`environments/development\\.yaml:\\d+:\\d+.*setting ${b.key} is not one a ${b.service} sandbox may set`),
      );
  });

  it('the driver refuses each one before anything is written or started', async () => {
    for (const [i, b] of BYPASSES.entries()) {
      const spec = specFor('lightweight', b.service, `bypass-${i}`, 31000 + i, { password: 'item07-pw', settings: { [b.key]: b.value } });
      const r = await create(spec);
      expect(r.exitCode, `${b.service} ${b.key}: ${r.stderr}`).toBe(2);
      expect(r.stderr).toContain(`setting '${b.key}' is not one a ${b.service} sandbox may set`);
      expect(existsSync(path.join(root.sandboxRoot, 'development', spec.name))).toBe(false);
    }
  });

  it('a create that fails after its server started leaves no server running', async () => {
    const [port] = (await freePorts(1)) as [number];
    // Allowed, and the server starts with it, but the user's role cannot be made in a read-only transaction.
    const spec = specFor('lightweight', 'postgres', 'read-only', port, {
      password: 'item07-pw',
      settings: { default_transaction_read_only: 'on' },
    });
    const r = await create(spec, { IACT_DRIVER_ERRORS: 'json' });
    expect(r.exitCode, r.stderr).toBe(1);
    expect(r.stderr.trimEnd().split('\n').pop()).toMatch(/^iact-error: .*could not set the credentials/);
    expect(await portOpen(port)).toBe(false);
    expect(processesMentioning(path.join(root.sandboxRoot, 'development', 'read-only'))).toEqual([]);
  }, 120_000);
});
