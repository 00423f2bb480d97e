// Issue 11, item 14: .env as a FIFO, a directory or a 50 MB file (docs/manifest.md "Files"): plan
// answers at once with a diagnostic naming the file, in the CLI and in the bash drivers alike.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MAX_DOTENV_BYTES } from '../../src/manifest/dotenv.js';
import { freePorts, makeProject, repoRoot, type Project } from '../helpers/iact-project.js';
import { devManifest } from '../helpers/manifests.js';
import { tempRoot, type TempRoot } from '../helpers/services.js';
import { script } from './driver.js';

let project: Project;
let root: TempRoot;
beforeAll(async () => {
  project = makeProject('iact-sec14-');
  const [pg] = await freePorts(1);
  project.writeManifest('development', devManifest(pg!));
  root = tempRoot('iact-sec14-drv-');
});
afterAll(async () => {
  await project.cleanup();
  root.cleanup();
});

const envFile = () => path.join(project.dir, '.env');

describe('item 14: .env that is no regular file, or too large', () => {
  it('a FIFO: plan does not hang, and says what .env is', async () => {
    execFileSync('mkfifo', [envFile()]);
    try {
      const started = Date.now();
      const r = await project.iact(['plan']);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('.env:1:1  error: .env is a FIFO (named pipe), not a regular file');
      expect(r.stderr).not.toMatch(/at .*\.js:\d+/); // no stack trace
    } finally {
      rmSync(envFile());
    }
  }, 30_000);

  it('a directory: a diagnostic, not a raw EISDIR', async () => {
    mkdirSync(envFile());
    try {
      const r = await project.iact(['plan']);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toContain('.env:1:1  error: .env is a directory, not a regular file');
      expect(r.stderr).not.toContain('EISDIR');
    } finally {
      rmSync(envFile(), { recursive: true });
    }
  });

  it('50 MB: refused quickly by plan and by the drivers, never echoed', async () => {
    writeFileSync(envFile(), `DB_VM_PASSWORD=${'s3cret-'.repeat(7_500_000)}\n`);
    try {
      const started = Date.now();
      const r = await project.iact(['plan']);
      expect(Date.now() - started).toBeLessThan(15_000);
      expect(r.exitCode).toBe(1);
      expect(r.stderr).toMatch(/\.env is 50\.1 MB; the limit for \.env files is 1\.0 MB/);
      expect(r.stderr).not.toContain('s3cret-');
      writeFileSync(path.join(root.dir, '.env'), readFileSync(envFile()));
      const bashStarted = Date.now();
      const status = await script(root, ['status', '--json']);
      expect(Date.now() - bashStarted).toBeLessThan(5_000);
      expect(status.exitCode).toBe(2);
      expect(status.stderr).toContain(`.env is ${52_500_016} bytes; the limit for .env files is ${MAX_DOTENV_BYTES}`);
    } finally {
      rmSync(envFile());
      rmSync(path.join(root.dir, '.env'), { force: true });
    }
  }, 30_000);

  it('the drivers cap .env at the CLI\'s number', () => {
    expect(readFileSync(path.join(repoRoot, 'bash', 'lib', 'common.sh'), 'utf8')).toContain(`readonly IACT_DOTENV_MAX_BYTES=${MAX_DOTENV_BYTES}\n`);
  });
});
