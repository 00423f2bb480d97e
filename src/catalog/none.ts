// `none` in the service catalogue (docs/service-catalogue.md): a directory and an activate script, no server.
import type { ServiceEntry } from './types.js';

export const none: ServiceEntry = {
  name: 'none',
  label: 'no service',
  process: false,
  binaries: [],
  versionArgs: [],
  osUser: 'root',
  adminUsers: [],
  reloadable: [],
  // No server reads them: they are the sandbox's own metadata.
  settings: 'any',
  reserved: [],
  stopSignal: 'TERM',
  discardSignal: 'TERM',
  backup: { method: 'tar', ext: 'tar' },
  hasDatabase: false,
  needsPassword: false,
  drivers: ['lightweight', 'namespace', 'docker'],
};
