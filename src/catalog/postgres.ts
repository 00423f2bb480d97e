// PostgreSQL's entry in the service catalogue (docs/service-catalogue.md).
import type { ServiceEntry } from './types.js';

export const postgres: ServiceEntry = {
  name: 'postgres',
  label: 'PostgreSQL',
  process: true,
  defaultVersion: '15',
  binaries: [
    { names: ['postgres'], package: 'postgresql' },
    { names: ['initdb'], package: 'postgresql' },
    { names: ['pg_dump'], package: 'postgresql' },
    { names: ['psql'], package: 'postgresql' },
  ],
  binDirs: '/usr/lib/postgresql/*/bin',
  versionArgs: ['--version'],
  osUser: 'postgres',
  adminUsers: ['postgres'],
  config: { file: 'data/iact.conf', format: 'postgresql' },
  reloadable: [
    'work_mem', 'maintenance_work_mem', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout',
    'log_statement', 'log_min_duration_statement', 'log_min_messages', 'log_connections', 'log_disconnections',
    'search_path', 'default_transaction_isolation', 'effective_cache_size', 'random_page_cost', 'timezone',
  ],
  reserved: ['port', 'listen_addresses', 'unix_socket_directories', 'data_directory', 'hba_file', 'ident_file', 'config_file', 'external_pid_file'],
  socket: 'run/.s.PGSQL.%PORT%',
  pidfile: 'data/postmaster.pid',
  // Fast shutdown: does not wait for clients to leave.
  stopSignal: 'INT',
  readiness: 'pidfile-ready',
  backup: { method: 'pg_dump', ext: 'sql' },
  hasDatabase: true,
  needsPassword: true,
  serves: 'database',
  connection: {
    urlTemplate: 'postgresql://{user}:{password}@{host}:{port}/{database}',
    env: {
      DB_HOST: 'host', DB_PORT: 'port', DB_NAME: 'database', DB_USER: 'user', DB_PASSWORD: 'password', DATABASE_URL: 'url',
      // psql with no arguments reaches the sandbox too.
      PGHOST: 'host', PGPORT: 'port', PGDATABASE: 'database', PGUSER: 'user', PGPASSWORD: 'password',
    },
  },
  docker: { imageRepo: 'iact/postgres', port: 5432, dataPath: '/var/lib/postgresql/data' },
  drivers: ['lightweight', 'namespace', 'docker'],
  ephemeralSettings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
};
