// What `iact validate` says about tunnel sandboxes and a database reached through one (docs/tunnels.md).
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { loadEnvironment } from '../../src/io/load.js';
import { cleanupTemp, runCommand, tempProject } from '../manifest/helpers.js';

afterAll(cleanupTemp);

function project(yaml: string): string {
  const dir = tempProject();
  mkdirSync(path.join(dir, 'environments'));
  writeFileSync(path.join(dir, 'environments', 'development.yaml'), `apiVersion: iact/v1\nenvironment: development\n${yaml}`);
  return dir;
}

const TUNNEL = `sandboxes:
  db-tunnel:
    service: tunnel
    port: 45432
    ssh: { host: bastion.example.com, port: 2222, user: deploy, knownHosts: .ssh/known_hosts }
    remote: { host: db.internal, port: 5432 }
    checks: postgres
    database: app
    user: app_user
    password: tunnel-pw
connections:
  database:
    name: app
    user: app_user
    password: tunnel-pw
    sshTunnel: { sandbox: db-tunnel }
`;

describe('tunnel sandboxes in the manifest', () => {
  it('a valid tunnel binds the database to its local end and fills the SSH_TUNNEL_* variables', async () => {
    const dir = project(TUNNEL);
    const { resolved, diagnostics } = await loadEnvironment({ root: dir, environment: 'development', env: {} });
    expect(diagnostics.filter((d) => d.severity === 'error')).toEqual([]);
    expect(resolved!.sandboxes['db-tunnel']).toMatchObject({
      service: 'tunnel',
      ssh: { host: 'bastion.example.com', port: 2222, user: 'deploy' },
      remote: { host: 'db.internal', port: 5432 },
      checks: 'postgres',
    });
    const env = await runCommand('config', { format: 'env' }, dir, {});
    expect(env.code).toBe(0);
    expect(env.stdout).toContain("DB_HOST='127.0.0.1'\nDB_PORT='45432'");
    expect(env.stdout).toContain(
      "SSH_TUNNEL_ENABLED='true'\nSSH_TUNNEL_HOST='bastion.example.com'\nSSH_TUNNEL_PORT='2222'\nSSH_TUNNEL_USER='deploy'",
    );
    expect(env.stdout).not.toContain('tunnel-pw');
  });

  it('every mistake at once: no ssh, a login check without credentials, the wrong driver, tunnel fields elsewhere, a binding to a non-tunnel', async () => {
    const dir = project(`sandboxes:
  bad-tunnel:
    service: tunnel
    driver: docker
    port: 45433
    remote: { host: db.internal, port: 5432 }
    checks: mysql
  cache:
    service: redis
    port: 46379
    password: x-redis-pw
    checks: redis
connections:
  database:
    host: db.internal
    name: app
    user: app_user
    sshTunnel: { sandbox: cache }
`);
    const run = await runCommand('validate', {}, dir, {});
    expect(run.code).toBe(1);
    for (const expected of [
      'tunnel sandbox bad-tunnel needs ssh',
      'tunnel sandbox bad-tunnel uses driver docker',
      'tunnel sandbox bad-tunnel checks mysql through the tunnel and needs database to log in',
      'tunnel sandbox bad-tunnel checks mysql through the tunnel and needs password to log in',
      'sandbox cache sets checks, which only a tunnel has',
      'connections.database.sshTunnel is bound to sandbox cache, a redis sandbox, not a tunnel',
      'connections.database sets host and is reached through tunnel cache',
    ]) {
      expect(run.stderr).toContain(expected);
    }
    expect(run.stderr).toMatch(/development\.yaml:\d+:\d+ +error: tunnel sandbox bad-tunnel uses driver docker/);
  });

  it('ssh without knownHosts is a schema error: the host key is always checked', async () => {
    const run = await runCommand('validate', {}, project(TUNNEL.replace(', knownHosts: .ssh/known_hosts', '')), {});
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/ssh.*knownHosts/);
  });
});
