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
  // Never: listen_addresses, include*, *_file, ssl*, archive/restore commands, log_directory, password_encryption,
  // *_preload_libraries but shared_preload_libraries (docs/manifest.md "Settings").
  settings: [
    'work_mem', 'maintenance_work_mem', 'statement_timeout', 'lock_timeout', 'idle_in_transaction_session_timeout', 'idle_session_timeout',
    'log_statement', 'log_min_duration_statement', 'log_min_messages', 'log_min_error_statement', 'log_connections', 'log_disconnections',
    'log_lock_waits', 'log_temp_files', 'log_checkpoints', 'log_line_prefix', 'log_autovacuum_min_duration',
    'search_path', 'default_transaction_isolation', 'default_transaction_read_only', 'effective_cache_size', 'random_page_cost',
    'seq_page_cost', 'timezone', 'datestyle', 'application_name', 'max_connections', 'shared_buffers', 'temp_buffers',
    'max_wal_size', 'min_wal_size', 'wal_level', 'checkpoint_timeout', 'synchronous_commit', 'fsync', 'full_page_writes',
    'max_locks_per_transaction', 'max_prepared_transactions', 'max_worker_processes', 'max_parallel_workers',
    'max_parallel_workers_per_gather', 'autovacuum', 'jit', 'track_io_timing', 'default_statistics_target',
    'shared_preload_libraries', 'pg_stat_statements.max', 'pg_stat_statements.track',
  ],
  reserved: ['port', 'listen_addresses', 'unix_socket_directories', 'data_directory', 'hba_file', 'ident_file', 'config_file', 'external_pid_file'],
  // The server's stderr (bash/lightweight_venv.sh drv::launch); logging_collector stays off.
  logFile: 'logs/server.log',
  client: {
    binary: { names: ['psql'], package: 'postgresql-client' },
    args: ['--host={host}', '--port={port}', '--username={user}', '--dbname={database}'],
    env: { PGPASSWORD: 'password' },
    tls: { args: [], env: { PGSSLMODE: 'verify-full', PGSSLROOTCERT: '{ca}' } },
  },
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
  initKinds: ['.sql', '.sh'],
  extensions: true,
  docker: { imageRepo: 'iact/postgres', port: 5432, dataPath: '/var/lib/postgresql/data' },
  drivers: ['lightweight', 'namespace', 'docker'],
  // The namespace driver reaches the server through a unix socket, where PostgreSQL speaks no TLS.
  tlsDrivers: ['lightweight'],
  ephemeralSettings: { fsync: 'off', synchronous_commit: 'off', full_page_writes: 'off' },
};
