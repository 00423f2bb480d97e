// Issue 11, item 8: a project path with blanks, quotes and the characters config formats treat
// specially works for every service and driver; a line break in it is refused before anything is
// written (docs/driver-protocol.md "Sandbox directories").
import { chmodSync, existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { client, freePort, needs, processesMentioning, TEMPLATE_DIR, type TempRoot } from '../helpers/services.js';
import { script, spec } from './driver.js';

// Each character is special somewhere: ' ends a postgresql.conf string, " an option-file value,
// a blank a redis config word, # and ; start comments, , splits lists and socat addresses.
const WEIRD = `a b'c"d#e;f,g`;

let base: string;
let root: TempRoot;
beforeAll(() => {
  base = mkdtempSync(path.join(tmpdir(), 'iact-sec08-'));
  chmodSync(base, 0o711);
  const dir = path.join(base, WEIRD);
  mkdirSync(path.join(dir, 'environments'), { recursive: true, mode: 0o711 });
  chmodSync(dir, 0o711);
  root = {
    dir,
    sandboxRoot: path.join(dir, '.iact', 'sandboxes'),
    env: { IACT_TEMPLATE_DIR: TEMPLATE_DIR, IACT_SANDBOX_ROOT: '', IACT_ENV: '', ENVIRONMENT: '', APP_ENV: '', DJANGO_ENV: '' },
    cleanup: () => undefined,
  };
});
afterAll(async () => {
  for (const [name, driver] of [['q-postgres', undefined], ['q-mysql', undefined], ['q-redis', undefined], ['q-ns', 'wasm_style_sandbox.sh']] as const) {
    await script(root, ['destroy', name, '--yes'], { driver });
  }
  for (const pid of processesMentioning(base)) process.kill(pid, 'SIGKILL');
  rmSync(base, { recursive: true, force: true });
});

const DB = { 'q-postgres': 'q_postgres', 'q-mysql': 'q_mysql', 'q-redis': '', 'q-ns': '' } as const;

describe('item 8: paths with blanks and quotes', () => {
  for (const [service, name] of [
    ['postgres', 'q-postgres'],
    ['mysql', 'q-mysql'],
    ['redis', 'q-redis'],
  ] as const) {
    it(`lightweight ${service} in a project path with blanks, quotes, # ; and , accepts its password login`, async (ctx) => {
    needs(ctx, 'root', service);
    const port = await freePort();
    const created = await script(root, ['create', name, service, String(port), '--spec', '-'], { input: spec(name, service, port, `pw-${name}`) });
    expect(created.exitCode, created.stderr).toBe(0);
    const probe = service === 'redis' ? 'PING' : 'SELECT 1';
    expect((await client(service, { port, database: DB[name], user: DB[name], password: `pw-${name}` }, probe)).out).toBe(service === 'redis' ? 'PONG' : '1');
    // The sandbox's own files stay in it: nothing was written at a path cut short by a quote.
    expect(existsSync(path.join(base, 'a'))).toBe(false);
    }, 120_000);
  }

  it('namespace redis there too (socat reaches its socket)', async (ctx) => {
    needs(ctx, 'root', 'redis', 'namespace');
    const port = await freePort();
    const created = await script(root, ['create', 'q-ns', 'redis', String(port), '--spec', '-'], {
      driver: 'wasm_style_sandbox.sh',
      input: JSON.stringify({ ...JSON.parse(spec('q-ns', 'redis', port, 'pw-q-ns')), driver: 'namespace' }),
    });
    expect(created.exitCode, created.stderr).toBe(0);
    expect((await client('redis', { port, database: '', user: '', password: 'pw-q-ns' }, 'PING')).out).toBe('PONG');
  }, 120_000);

  it('a line break in the sandbox root is refused (exit 2) before anything is written', async (ctx) => {
    needs(ctx, 'root', 'redis');
    const port = await freePort();
    const broken = path.join(base, 'line\nbreak');
    const r = await script(root, ['create', 'q-nl', 'redis', String(port), '--spec', '-'], {
      input: spec('q-nl', 'redis', port, 'pw-nl'),
      env: { IACT_SANDBOX_ROOT: broken },
    });
    expect(r.exitCode).toBe(2);
    expect(r.stderr).toContain('contains a control character');
    expect(existsSync(broken)).toBe(false);
  });
});
