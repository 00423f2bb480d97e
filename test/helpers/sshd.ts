// A real OpenSSH server in a network namespace of a test's own (docs/tunnels.md, docs/remote-engines.md):
// a host key and a client key made here, known_hosts that pins the host key, root logins by key only.
import { execFileSync } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { execa } from 'execa';
import { waitFor } from './services.js';

export interface Sshd {
  /** A file of its directory: host_key, id_ed25519 (the client's key), known_hosts, sshd_config. */
  file(name: string): string;
  stop(): Promise<void>;
}

function portOpenIn(netns: string, address: string): boolean {
  try {
    execFileSync('ip', ['netns', 'exec', netns, 'bash', '-c', `exec 3<>/dev/tcp/${address}/22`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

/** sshd on ADDRESS:22 in NETNS, its keys and config in DIR (which exists, private); `config`: more sshd_config lines. */
export async function startSshd(dir: string, netns: string, address: string, config: string[] = []): Promise<Sshd> {
  const file = (name: string) => path.join(dir, name);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('host_key')]);
  execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', file('id_ed25519')]);
  writeFileSync(file('authorized_keys'), readFileSync(file('id_ed25519.pub')));
  writeFileSync(file('known_hosts'), `${address} ${readFileSync(file('host_key.pub'), 'utf8')}`);
  writeFileSync(
    file('sshd_config'),
    [
      `ListenAddress ${address}`,
      `HostKey ${file('host_key')}`,
      `AuthorizedKeysFile ${file('authorized_keys')}`,
      `PidFile ${file('sshd.pid')}`,
      'PermitRootLogin prohibit-password',
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'UsePAM no',
      'StrictModes no',
      ...config,
      '',
    ].join('\n'),
  );
  // sshd's privilege separation directory.
  mkdirSync('/run/sshd', { recursive: true, mode: 0o755 });
  const sshd = execa('ip', ['netns', 'exec', netns, '/usr/sbin/sshd', '-D', '-e', '-f', file('sshd_config')], {
    reject: false,
    stdin: 'ignore',
  });
  const stop = async () => {
    sshd.kill('SIGTERM');
    await sshd;
  };
  if (!(await waitFor(() => portOpenIn(netns, address), 10_000))) {
    await stop();
    throw new Error(`sshd did not listen on ${address}:22 in ${netns}:\n${(await sshd).stderr}`);
  }
  return { file, stop };
}
