// bin/activate (docs/driver-protocol.md "Activate"): the variables `iact run` gives a command
// (src/sandbox/connection.ts), a deactivate that restores every one, and scripts that find the
// project root from any subdirectory. Real servers.
import { mkdirSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { connectionFor } from '../../src/sandbox/connection.js';
import { specFor, TRICKY_PASSWORD } from '../helpers/lifecycle.js';
import { describeNeeding, freePort, repoRoot, tempRoot, TEMPLATE_DIR, type TempRoot } from '../helpers/services.js';

const SCRIPT = path.join(repoRoot, 'bash', 'lightweight_venv.sh');
const SERVICES = ['postgres', 'mysql', 'redis'] as const;

describeNeeding(...SERVICES)('bin/activate', () => {
  let root: TempRoot;
  let sub: string;
  // No IACT_SANDBOX_ROOT: the default .iact/sandboxes of the project, found from a subdirectory.
  const env = () => ({
    IACT_TEMPLATE_DIR: TEMPLATE_DIR,
    IACT_ENV: '',
    ENVIRONMENT: '',
    APP_ENV: '',
    DJANGO_ENV: '',
    PATH: process.env.PATH ?? '',
  });
  const run = (args: string[], cwd: string, input?: string) =>
    execa('bash', [SCRIPT, ...args, '--env', 'development'], {
      cwd,
      env: env(),
      extendEnv: false,
      reject: false,
      ...(input === undefined ? { stdin: 'ignore' as const } : { input }),
    });
  const ports: Record<string, number> = {};

  beforeAll(async () => {
    root = tempRoot('iact-activate-');
    mkdirSync(path.join(root.dir, 'environments'));
    sub = path.join(root.dir, 'app', 'src');
    mkdirSync(sub, { recursive: true });
    for (const service of SERVICES) {
      ports[service] = await freePort();
      const spec = specFor('lightweight', service, `act-${service}`, ports[service] as number);
      const r = await run(['create', spec.name, service, String(spec.port), '--spec', '-'], sub, JSON.stringify(spec));
      expect(r.stderr).not.toMatch(/^error:/m);
      expect(r.exitCode).toBe(0);
    }
  }, 180_000);
  afterAll(async () => {
    for (const service of SERVICES) await run(['destroy', `act-${service}`, '--yes'], root.dir);
    root.cleanup();
  });

  it('status and activate from a subdirectory find the sandboxes of the project root', async () => {
    const status = await run(['status', '--json'], sub);
    expect(status.exitCode).toBe(0);
    expect((JSON.parse(status.stdout) as Array<{ name: string }>).map((s) => s.name).sort()).toEqual([
      'act-mysql',
      'act-postgres',
      'act-redis',
    ]);
    const activate = await run(['activate', 'act-postgres'], sub);
    expect(activate.stdout.trim()).toBe(path.join(root.dir, '.iact', 'sandboxes', 'development', 'act-postgres', 'bin', 'activate'));
  });

  it.for(SERVICES)('%s: exports what iact run exports, and deactivate restores set and unset variables alike', async (service) => {
    const expected = connectionFor({
      name: `act-${service}`,
      service,
      host: '127.0.0.1',
      port: ports[service] as number,
      database: service === 'redis' ? '' : 'appdb',
      user: service === 'redis' ? '' : 'app',
      password: TRICKY_PASSWORD,
    }).env;
    const names = Object.keys(expected);
    // Half the variables set beforehand, half unset: each must come back as it was.
    const before = Object.fromEntries(names.filter((_, i) => i % 2 === 0).map((n) => [n, `before-${n}`]));
    const script = `
      set -u
      for v in "\${@:3}"; do unset "$v"; done
      ${Object.entries(before)
        .map(([k, v]) => `export ${k}=${v}`)
        .join('; ')}
      source "$(bash "$1" activate "$2" --env development)"
      for v in "\${@:3}"; do printf 'during %s=%s\\n' "$v" "\${!v-<unset>}"; done
      printf 'during IACT_SANDBOX_DIR=%s\\n' "$IACT_SANDBOX_DIR"
      deactivate
      for v in "\${@:3}" IACT_SANDBOX_DIR; do printf 'after %s=%s\\n' "$v" "\${!v-<unset>}"; done`;
    const r = await execa('bash', ['-c', script, 'x', SCRIPT, `act-${service}`, ...names], { cwd: sub, env: env(), extendEnv: false });
    const lines = r.stdout.split('\n');
    for (const name of names) {
      expect(lines).toContain(`during ${name}=${expected[name]}`);
      expect(lines).toContain(`after ${name}=${before[name] ?? '<unset>'}`);
    }
    expect(lines).toContain(`during IACT_SANDBOX_DIR=${path.join(root.dir, '.iact', 'sandboxes', 'development', `act-${service}`)}`);
    expect(lines).toContain('after IACT_SANDBOX_DIR=<unset>');
  });

  it('a bare psql works after source "$(bash/lightweight_venv.sh activate NAME)": no password prompt', async () => {
    const r = await execa('bash', ['-c', `source "$(bash "$1" activate act-postgres)" && psql -X -w -tA -c 'select 1'`, 'x', SCRIPT], {
      cwd: sub,
      env: env(),
      extendEnv: false,
      reject: false,
      stdin: 'ignore',
    });
    expect(r.stderr).toBe('');
    expect(r.stdout.trim()).toBe('1');
  });
});
