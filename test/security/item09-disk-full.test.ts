// Issue 11, item 9: a create on a filesystem without room for it (a real, small tmpfs) fails saying
// how much it needs, leaves the disk as free as it found it, and stays visible to status and destroy
// (docs/driver-protocol.md "Sandbox directories").
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, statfsSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { freePort, needs, tempRoot, type TempRoot } from '../helpers/services.js';
import { script, spec } from './driver.js';

let root: TempRoot;
let small: string;
let mounted = false;
beforeAll(() => {
  root = tempRoot('iact-sec09-');
  small = path.join(root.dir, 'small');
  mkdirSync(small, { mode: 0o711 });
});
afterAll(() => {
  if (mounted) execFileSync('umount', ['-l', small]);
  root.cleanup();
});

const freeBytes = (dir: string): number => {
  const s = statfsSync(dir);
  return s.bavail * s.bsize;
};

describe('item 9: a full disk during create', () => {
  it('says how much room it needs, frees what it wrote, and stays visible to status and destroy', async (ctx) => {
    needs(ctx, 'root', 'postgres');
    // 24 MB: less than a PostgreSQL template's copy.
    execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m,mode=0711', 'tmpfs', small]);
    mounted = true;
    // A copy needs room up front (an overlay layer does not): the disk check is about copies.
    const env = { IACT_SANDBOX_ROOT: small, IACT_STORAGE: 'copy' };
    const freeBefore = freeBytes(small);
    const port = await freePort();

    const created = await script(root, ['create', 'full', 'postgres', String(port), '--spec', '-'], {
      input: spec('full', 'postgres', port, 'pw-full'),
      env,
    });
    expect(created.exitCode).toBe(1);
    expect(created.stderr).toMatch(/not enough disk space for sandbox 'full': it needs about \d+ MB in .*, and \d+ MB are free/);
    expect(created.stderr).toContain('"kind":"io"');
    // Nearly all of it is free again: no partial copy stays behind.
    expect(freeBytes(small)).toBeGreaterThan(freeBefore - 1024 * 1024);

    const status = await script(root, ['status', '--json'], { env });
    expect(status.exitCode, status.stderr).toBe(0);
    expect(JSON.parse(status.stdout)).toEqual([
      expect.objectContaining({ name: 'full', service: 'postgres', port, running: false, spec: null }),
    ]);

    const destroyed = await script(root, ['destroy', 'full', '--yes'], { env });
    expect(destroyed.exitCode, destroyed.stderr).toBe(0);
    expect(existsSync(path.join(small, 'development', 'full'))).toBe(false);
  }, 60_000);
});
