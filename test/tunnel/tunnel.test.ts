// service: tunnel against a real OpenSSH server in a network namespace made here (a veth pair with
// 10.x addresses that exist only between it and this machine), with a real PostgreSQL sandbox behind
// it that only that namespace can reach. docs/tunnels.md.
import { execFileSync } from 'node:child_process';
import { chmodSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { freePorts, makeProject, type Project } from '../helpers/iact-project.js';
import { describeNeeding, PG_BIN, repoRoot, tempRoot, waitFor, type TempRoot } from '../helpers/services.js';
import { type Sshd, startSshd } from '../helpers/sshd.js';

const PASSWORD = 'tunnel-db-pa55word-XYZ';
// One namespace and one /30 per test run (pid-derived), so parallel runs do not meet.
const tag = process.pid % 10_000;
const NS = `iact-tun-${tag}`;
const VETH_HOST = `ivh${tag}`;
const VETH_NS = `ivn${tag}`;
const NET = `10.213.${tag % 250}`;
const HOST_ADDR = `${NET}.1`;
const SSH_ADDR = `${NET}.2`;

const run = (cmd: string, args: string[]) => execFileSync(cmd, args, { stdio: ['ignore', 'pipe', 'pipe'] });
const inNs = (args: string[]) => run('ip', ['netns', 'exec', NS, ...args]);

let keys: TempRoot;
let remote: TempRoot;
let sshd: Sshd | undefined;
let project: Project;
let pgPort: number;
let localPort: number;

const suite = describeNeeding('root', 'postgres', 'ssh-server');

suite('service: tunnel through a real sshd to a database only it can reach', () => {
  beforeAll(async () => {
    [pgPort, localPort] = (await freePorts(2)) as [number, number];
    run('ip', ['netns', 'add', NS]);
    run('ip', ['link', 'add', VETH_HOST, 'type', 'veth', 'peer', 'name', VETH_NS]);
    run('ip', ['link', 'set', VETH_NS, 'netns', NS]);
    run('ip', ['addr', 'add', `${HOST_ADDR}/30`, 'dev', VETH_HOST]);
    run('ip', ['link', 'set', VETH_HOST, 'up']);
    inNs(['ip', 'addr', 'add', `${SSH_ADDR}/30`, 'dev', VETH_NS]);
    inNs(['ip', 'link', 'set', VETH_NS, 'up']);
    inNs(['ip', 'link', 'set', 'lo', 'up']);

    // sshd answering only on the namespace's address.
    keys = tempRoot('iact-ssh-', { private: true });
    sshd = await startSshd(keys.dir, NS, SSH_ADDR, ['Port 22', 'AllowTcpForwarding yes']);
    const k = sshd.file;

    // The database elsewhere: a real postgres sandbox inside the namespace, on its loopback only.
    remote = tempRoot('iact-remote-');
    const spec = JSON.stringify({
      name: 'remote-pg',
      service: 'postgres',
      port: pgPort,
      database: 'app',
      user: 'app_user',
      password: PASSWORD,
      settings: {},
    });
    await execa(
      'ip',
      [
        'netns',
        'exec',
        NS,
        path.join(repoRoot, 'bash/lightweight_venv.sh'),
        'create',
        'remote-pg',
        'postgres',
        String(pgPort),
        '--spec',
        '-',
        '--env',
        'remote',
      ],
      {
        cwd: remote.dir,
        env: remote.env,
        input: spec,
      },
    );

    project = makeProject('iact-tunnel-');
    chmodSync(k('id_ed25519'), 0o600);
    project.writeEnv(`REMOTE_DB_PASSWORD=${PASSWORD}\n`);
    project.writeManifest(
      'e2e',
      `apiVersion: iact/v1
environment: e2e
sandboxes:
  db-tunnel:
    service: tunnel
    port: ${localPort}
    ssh: { host: ${SSH_ADDR}, user: root, identityFile: ${k('id_ed25519')}, knownHosts: ${k('known_hosts')} }
    remote: { host: 127.0.0.1, port: ${pgPort} }
    checks: postgres
    database: app
    user: app_user
    password: \${REMOTE_DB_PASSWORD}
connections:
  database:
    name: app
    user: app_user
    password: \${REMOTE_DB_PASSWORD}
    sshTunnel: { sandbox: db-tunnel }
`,
    );
  }, 180_000);

  afterAll(async () => {
    await project?.cleanup();
    if (remote) {
      await execa(
        'ip',
        ['netns', 'exec', NS, path.join(repoRoot, 'bash/lightweight_venv.sh'), 'destroy', 'remote-pg', '--yes', '--env', 'remote'],
        {
          cwd: remote.dir,
          env: remote.env,
          reject: false,
        },
      );
      remote.cleanup();
    }
    await sshd?.stop();
    keys?.cleanup();
    // Deleting the namespace deletes its end of the veth pair, and with it ours.
    execa('ip', ['netns', 'del', NS], { reject: false });
  }, 120_000);

  async function tunnelStatus(): Promise<{ running: boolean; healthy: boolean; pid: number | null }> {
    const status = await project.iact(['status', '--env', 'e2e', '--json']);
    expect(status.exitCode).toBe(0);
    const all = (JSON.parse(status.stdout) as { sandboxes: { name: string; running: boolean; healthy: boolean; pid: number | null }[] })
      .sandboxes;
    return all.find((s) => s.name === 'db-tunnel')!;
  }

  async function psqlThroughTunnel(): Promise<string> {
    const result = await execa(
      path.join(PG_BIN, 'psql'),
      ['-X', '-w', '-tA', '-h', '127.0.0.1', '-p', String(localPort), '-U', 'app_user', '-d', 'app', '-c', 'SELECT current_database()'],
      {
        env: { PGPASSWORD: PASSWORD, PGCONNECT_TIMEOUT: '5' },
        reject: false,
      },
    );
    return result.stdout.trim();
  }

  /** Every process's argv on the machine: the password must be in none of them. */
  function argvWithSecret(): string[] {
    const hits: string[] = [];
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const cmdline = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
        if (cmdline.includes(PASSWORD)) hits.push(`${entry}: ${cmdline.replace(/\0/g, ' ')}`);
      } catch {
        // exited meanwhile
      }
    }
    return hits;
  }

  it('apply opens it, status shows it healthy by a real login through it, the settings point at it', async () => {
    // Not reachable from here without the tunnel: postgres listens on the namespace's loopback.
    expect(await psqlThroughTunnel()).toBe('');
    const created = await project.iact(['plan', '--env', 'e2e']);
    // ssh: and remote: render as blocks, as settings: do.
    expect(created.stdout).toMatch(new RegExp(`\\+ ssh \\{\\n[^}]*\\+ host += "${SSH_ADDR.replaceAll('.', '\\.')}"\\n`));
    expect(created.stdout).toMatch(new RegExp(`\\+ remote \\{\\n[^}]*\\+ port += ${pgPort}\\n`));
    expect(created.stdout).not.toContain(PASSWORD);
    const apply = await project.iact(['apply', '--env', 'e2e', '--auto-approve']);
    expect(apply.stderr).not.toContain(PASSWORD);
    expect(apply.exitCode, `${apply.stdout}\n${apply.stderr}`).toBe(0);
    expect(await tunnelStatus()).toMatchObject({ running: true, healthy: true });
    expect(await psqlThroughTunnel()).toBe('app');
    const envFile = project.read('.iact/env/e2e.env');
    expect(envFile).toContain("DB_HOST='127.0.0.1'");
    expect(envFile).toContain(`DB_PORT='${localPort}'`);
    expect(envFile).toContain("SSH_TUNNEL_ENABLED='true'");
    expect(envFile).toContain(`SSH_TUNNEL_HOST='${SSH_ADDR}'`);
    expect(envFile).toContain("SSH_TUNNEL_USER='root'");
    const ssh = readFileSync(`/proc/${(await tunnelStatus()).pid}/cmdline`, 'utf8').split('\0');
    expect(ssh).toEqual(
      expect.arrayContaining(['BatchMode=yes', 'StrictHostKeyChecking=yes', '-L', `127.0.0.1:${localPort}:127.0.0.1:${pgPort}`]),
    );
    expect(argvWithSecret()).toEqual([]);
    const plan = await project.iact(['plan', '--env', 'e2e', '--detailed-exitcode']);
    expect(plan.stdout).toContain('No changes.');
    expect(plan.exitCode).toBe(0);
    // A changed check is a change of the tunnel, made by restarting ssh.
    const manifest = project.read('environments/e2e.yaml');
    project.writeManifest('e2e', manifest.replace('checks: postgres', 'checks: tcp'));
    const changed = await project.iact(['plan', '--env', 'e2e', '--detailed-exitcode']);
    expect(changed.exitCode).toBe(2);
    expect(changed.stdout).toMatch(/~ checks += "postgres" -> "tcp" # restart/);
    project.writeManifest('e2e', manifest);
  }, 120_000);

  it('a killed ssh is back within one reconcile interval, no secret in any argv meanwhile', async () => {
    const before = await tunnelStatus();
    expect(before.running).toBe(true);
    const reconcile = project.spawnIact(['reconcile', '--env', 'e2e', '--interval', '3s']);
    try {
      // Its first pass finds nothing to do; the kill lands between passes.
      await new Promise((r) => setTimeout(r, 1_500));
      process.kill(before.pid!, 'SIGKILL');
      const killedAt = Date.now();
      expect(await psqlThroughTunnel()).toBe('');
      const leaks: string[] = [];
      const back = await waitFor(async () => {
        leaks.push(...argvWithSecret());
        const now = await tunnelStatus();
        return now.running && now.healthy && now.pid !== before.pid;
      }, 15_000);
      const seconds = (Date.now() - killedAt) / 1000;
      expect(back, `tunnel not back after ${seconds}s`).toBe(true);
      // One interval (3 s) plus the pass itself.
      expect(seconds).toBeLessThan(3 + 6);
      expect(await psqlThroughTunnel()).toBe('app');
      expect(leaks).toEqual([]);
    } finally {
      reconcile.kill('SIGTERM');
      const done = await reconcile;
      expect(String(done.stdout)).not.toContain(PASSWORD);
      expect(String(done.stderr)).not.toContain(PASSWORD);
    }
  }, 120_000);

  it('a host key that is not in knownHosts keeps the tunnel shut, with the fix', async () => {
    const empty = path.join(keys.dir, 'empty_known_hosts');
    writeFileSync(empty, '');
    const [port] = (await freePorts(1)) as [number];
    const manifest = project
      .read('environments/e2e.yaml')
      .replace(/knownHosts: [^ }]+/, `knownHosts: ${empty}`)
      .replace(`port: ${localPort}`, `port: ${port}`);
    project.writeManifest(
      'e2e',
      manifest.replace('db-tunnel:', 'stranger-tunnel:').replace('sandbox: db-tunnel', 'sandbox: stranger-tunnel'),
    );
    const apply = await project.iact(['apply', '--env', 'e2e', '--auto-approve', '--allow-destroy', '--no-backup']);
    const output = `${apply.stdout}\n${apply.stderr}`;
    expect(apply.exitCode, output).toBe(1);
    expect(output).toContain("ssh tunnel 'stranger-tunnel' did not open");
    expect(output).toContain('Host key verification failed');
    expect(output).not.toContain(PASSWORD);
  }, 120_000);
});
