// Structured driver errors (docs/driver-protocol.md "Errors"): with IACT_DRIVER_ERRORS=json the
// last stderr line is `iact-error: {...}` with a kind from the closed set; without it, people's text only.
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { specFor } from '../helpers/lifecycle.js';
import { freePort, repoRoot, needs, tempRoot, TEMPLATE_DIR, type TempRoot } from '../helpers/services.js';

const SCRIPT = path.join(repoRoot, 'bash', 'lightweight_venv.sh');

interface IactError {
  summary: string;
  detail: string;
  fix: string;
  retryable: boolean;
  kind: string;
  exit: number;
}

function lastError(stderr: string): IactError {
  const last = stderr.trimEnd().split('\n').at(-1) ?? '';
  expect(last).toMatch(/^iact-error: \{/);
  return JSON.parse(last.slice('iact-error: '.length)) as IactError;
}

describe('structured driver errors', () => {
  let root: TempRoot;
  const run = (args: string[], opts: { input?: string; env?: Record<string, string> } = {}) =>
    execa('bash', [SCRIPT, ...args, '--env', 'development'], {
      cwd: root.dir,
      env: { ...root.env, IACT_TEMPLATE_DIR: TEMPLATE_DIR, IACT_DRIVER_ERRORS: 'json', ...opts.env },
      reject: false,
      ...(opts.input === undefined ? { stdin: 'ignore' as const } : { input: opts.input }),
    });

  beforeAll(() => {
    root = tempRoot('iact-errors-');
  });
  afterAll(() => root.cleanup());

  it('a usage error is kind usage, exit 2, not retryable', async () => {
    const r = await run(['create', 'a;b', 'redis', '20000']);
    expect(r.exitCode).toBe(2);
    expect(lastError(r.stderr)).toEqual({
      summary: "invalid sandbox name 'a;b'",
      detail: '',
      fix: expect.stringContaining('lowercase'),
      retryable: false,
      kind: 'usage',
      exit: 2,
    });
  });

  it('a missing sandbox is not-found; without IACT_DRIVER_ERRORS there is no iact-error line', async () => {
    const r = await run(['start', 'never-made']);
    expect(r.exitCode).toBe(1);
    expect(lastError(r.stderr)).toMatchObject({ kind: 'not-found', retryable: false, exit: 1 });
    const plain = await run(['start', 'never-made'], { env: { IACT_DRIVER_ERRORS: '' } });
    expect(plain.exitCode).toBe(1);
    expect(plain.stderr).toMatch(/^error: no sandbox 'never-made'/m);
    expect(plain.stderr).not.toContain('iact-error');
  });

  it('a missing binary is missing-binary with its install hint', async () => {
    const r = await execa('/bin/bash', [SCRIPT, 'create', 'no-jq', 'none', '20000', '--env', 'development'], {
      cwd: root.dir,
      env: { ...root.env, PATH: '/nonexistent', IACT_DRIVER_ERRORS: 'json' },
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(r.exitCode).toBe(1);
    expect(lastError(r.stderr)).toMatchObject({
      summary: 'jq is not installed',
      fix: 'apt-get install -y jq',
      kind: 'missing-binary',
      retryable: false,
    });
  });

  describe('with a real server', () => {
    let squatter: Server;
    let taken: number;
    beforeAll(async () => {
      taken = await freePort();
      squatter = createServer();
      await new Promise<void>((resolve) => squatter.listen(taken, '127.0.0.1', resolve));
    });
    afterAll(() => new Promise<void>((resolve) => squatter.close(() => resolve())));

    it('a port in use is port-in-use, retryable, and nothing is created', async (ctx) => {
      needs(ctx, 'redis'); // a missing binary fails with its install hint (test/helpers/services.ts)
      const spec = specFor('lightweight', 'redis', 'squatted', taken, { password: 'squat-India-9' });
      const r = await run(['create', 'squatted', 'redis', String(taken), '--spec', '-'], { input: JSON.stringify(spec) });
      expect(r.exitCode).toBe(1);
      const error = lastError(r.stderr);
      expect(error).toMatchObject({ summary: `port ${taken} is already in use`, kind: 'port-in-use', retryable: true, exit: 1 });
      expect(r.stderr).not.toContain('squat-India-9');
      expect(existsSync(path.join(root.sandboxRoot, 'development', 'squatted'))).toBe(false);
    });

    it('a failed update still ends with the error line, after its rollback: refused-setting', async (ctx) => {
      needs(ctx, 'redis'); // a missing binary fails with its install hint (test/helpers/services.ts)
      const port = await freePort();
      const spec = specFor('lightweight', 'redis', 'refuses', port, { settings: { 'maxmemory-policy': 'allkeys-lru' } });
      try {
        expect((await run(['create', 'refuses', 'redis', String(port), '--spec', '-'], { input: JSON.stringify(spec) })).exitCode).toBe(0);
        const bad = specFor('lightweight', 'redis', 'refuses', port, { settings: { 'maxmemory-policy': 'no-such-policy' } });
        const r = await run(['update', 'refuses', '--spec', '-', '--steps', 'reload'], { input: JSON.stringify(bad) });
        expect(r.exitCode).toBe(1);
        expect(r.stderr).toMatch(/back at its last applied spec/);
        expect(lastError(r.stderr)).toMatchObject({
          kind: 'refused-setting',
          retryable: false,
          exit: 1,
          summary: expect.stringContaining('maxmemory-policy'),
        });
      } finally {
        await run(['destroy', 'refuses', '--yes']);
      }
    });
  });
});
