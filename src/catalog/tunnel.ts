// `tunnel` in the service catalogue (docs/service-catalogue.md, docs/tunnels.md): an ssh -L port
// forward to a server that lives elsewhere, kept open and checked by a real login through it.
import type { ServiceEntry } from './types.js';

export const tunnel: ServiceEntry = {
  name: 'tunnel',
  label: 'SSH tunnel',
  process: true,
  binaries: [{ names: ['ssh'], package: 'openssh-client' }],
  versionArgs: ['-V'],
  // The ssh client runs as whoever runs iact: the key and known_hosts are that user's.
  osUser: 'root',
  adminUsers: [],
  // ssh's arguments, one per NUL, made from sandbox.json (bash/lib/tunnel.sh).
  config: { file: 'conf/ssh.args', format: 'ssh-args' },
  reloadable: [],
  // ssh options: any but the reserved ones below (they run commands or undo what iact sets).
  settings: 'any',
  // ssh options iact sets itself, and those that run commands (docs/tunnels.md): a manifest may not set them.
  reserved: [
    'batchmode',
    'stricthostkeychecking',
    'userknownhostsfile',
    'globalknownhostsfile',
    'exitonforwardfailure',
    'passwordauthentication',
    'kbdinteractiveauthentication',
    'localforward',
    'remoteforward',
    'dynamicforward',
    'controlmaster',
    'controlpath',
    'proxycommand',
    'localcommand',
    'permitlocalcommand',
    'knownhostscommand',
    'remotecommand',
  ],
  pidfile: 'run/ssh.pid',
  stopSignal: 'TERM',
  discardSignal: 'TERM',
  // Nothing to keep: the data lives on the remote server.
  backup: { method: 'tar', ext: 'tar' },
  hasDatabase: false,
  needsPassword: false,
  drivers: ['lightweight'],
};
