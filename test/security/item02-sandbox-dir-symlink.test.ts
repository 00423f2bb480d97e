// Issue 11, item 2: a sandbox directory that is a symbolic link (docs/driver-protocol.md "Sandbox
// directories"): create and destroy refuse it by name, and nothing it points to is chowned or deleted.
import { existsSync, lstatSync, mkdirSync, mkdtempSync, readFileSync, rmSync, statSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, needs, portOpen, tempRoot, type TempRoot } from '../helpers/services.js';
import { script, spec } from './driver.js';

let root: TempRoot;
let elsewhere: string;
beforeAll(() => {
  root = tempRoot('iact-sec02-');
  elsewhere = mkdtempSync(path.join(tmpdir(), 'iact-sec02-elsewhere-'));
});
afterAll(() => {
  root.cleanup();
  rmSync(elsewhere, { recursive: true, force: true });
});

describe('item 2: a sandbox directory that is a symbolic link', () => {
  it('create and destroy refuse it, naming it; its target keeps its owner and data', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const port = await freePort();
    // Someone's directory with data in it, and the sandbox's name linked to it.
    mkdirSync(path.join(elsewhere, 'data'), { mode: 0o700 });
    writeFileSync(path.join(elsewhere, 'data', 'keep.txt'), 'mine\n');
    const envDir = path.join(root.sandboxRoot, 'development');
    mkdirSync(envDir, { recursive: true, mode: 0o711 });
    const link = path.join(envDir, 'linked');
    symlinkSync(elsewhere, link);

    const created = await script(root, ['create', 'linked', 'redis', String(port), '--spec', '-'], { input: spec('linked', 'redis', port, 'pw-linked') });
    expect(created.exitCode).toBe(1);
    expect(created.stderr).toContain(`${link} is a symbolic link`);
    expect(await portOpen(port)).toBe(false);

    const status = await script(root, ['status', '--json']);
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([]);

    const destroyed = await script(root, ['destroy', 'linked', '--yes']);
    expect(destroyed.exitCode).toBe(1);
    expect(destroyed.stderr).toContain(`${link} is a symbolic link; iact never deletes through one`);
    expect(lstatSync(link).isSymbolicLink()).toBe(true);

    // Nothing was chowned, made or deleted where the link points.
    expect(statSync(elsewhere).uid).toBe(0);
    expect(statSync(path.join(elsewhere, 'data')).uid).toBe(0);
    expect(readFileSync(path.join(elsewhere, 'data', 'keep.txt'), 'utf8')).toBe('mine\n');
    expect(existsSync(path.join(elsewhere, 'sandbox.json'))).toBe(false);
    expect(existsSync(path.join(elsewhere, 'conf'))).toBe(false);
  }, 60_000);
});
