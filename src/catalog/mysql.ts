// MariaDB's entry (service `mysql`) in the service catalogue (docs/service-catalogue.md).
import type { ServiceEntry } from './types.js';

/** Settings a running server takes on reload (docs/service-catalogue.md). */
const RELOADABLE = [
  'max_connections',
  'wait_timeout',
  'interactive_timeout',
  'long_query_time',
  'slow_query_log',
  'general_log',
  'sql_mode',
  'max_allowed_packet',
  'sort_buffer_size',
  'join_buffer_size',
];

export const mysql: ServiceEntry = {
  name: 'mysql',
  label: 'MariaDB',
  process: true,
  defaultVersion: '10.11',
  binaries: [
    { names: ['mariadbd'], package: 'mariadb-server' },
    { names: ['mariadb-install-db'], package: 'mariadb-server' },
    { names: ['mariadb'], package: 'mariadb-client' },
    { names: ['mariadb-dump'], package: 'mariadb-client' },
  ],
  versionArgs: ['--version'],
  osUser: 'mysql',
  adminUsers: ['root', 'mysql', 'mariadb.sys'],
  config: { file: 'conf/my.cnf', format: 'ini' },
  reloadable: RELOADABLE,
  // Exact names only: MariaDB also reads unique prefixes (`bind`) and loose-/skip-/maximum- forms, none of
  // which is listed. Never: bind_address, port, socket, *_file paths, log_bin, init_*, plugin_load* (docs/manifest.md "Settings").
  // The reloadable ones, then those that need a restart.
  settings: [
    ...RELOADABLE,
    'log_queries_not_using_indexes',
    'min_examined_row_limit',
    'innodb_buffer_pool_size',
    'innodb_log_file_size',
    'innodb_flush_log_at_trx_commit',
    'innodb_doublewrite',
    'innodb_file_per_table',
    'innodb_lock_wait_timeout',
    'lock_wait_timeout',
    'character_set_server',
    'collation_server',
    'default_time_zone',
    'lower_case_table_names',
    'transaction_isolation',
    'max_heap_table_size',
    'tmp_table_size',
    'table_open_cache',
    'thread_cache_size',
    'net_read_timeout',
    'net_write_timeout',
    'default_storage_engine',
    'explicit_defaults_for_timestamp',
  ],
  reserved: ['port', 'bind_address', 'socket', 'datadir', 'pid_file', 'skip_networking', 'user', 'log_error'],
  // log-error in conf/my.cnf (bash/lib/services.sh svc::write_config).
  logFile: 'logs/mariadbd.log',
  client: {
    binary: { names: ['mariadb', 'mysql'], package: 'mariadb-client' },
    args: ['{database}'],
    env: {},
    defaultsFile: { host: 'host', port: 'port', user: 'user', password: 'password' },
    tls: { args: ['--ssl', '--ssl-ca={ca}', '--ssl-verify-server-cert'], env: {} },
  },
  socket: 'run/mysqld.sock',
  pidfile: 'run/mariadbd.pid',
  stopSignal: 'TERM',
  // One process and data about to be deleted: nothing to flush.
  discardSignal: 'KILL',
  readiness: 'admin-query',
  backup: { method: 'mariadb-dump', ext: 'sql' },
  hasDatabase: true,
  needsPassword: true,
  serves: 'database',
  connection: {
    urlTemplate: 'mysql://{user}:{password}@{host}:{port}/{database}',
    env: {
      DB_HOST: 'host',
      DB_PORT: 'port',
      DB_NAME: 'database',
      DB_USER: 'user',
      DB_PASSWORD: 'password',
      DATABASE_URL: 'url',
      // The mariadb client's own variables.
      MYSQL_HOST: 'host',
      MYSQL_TCP_PORT: 'port',
      MYSQL_PWD: 'password',
      // The names client libraries' test suites and the official images read.
      MYSQL_PORT: 'port',
      MYSQL_USER: 'user',
      MYSQL_PASSWORD: 'password',
      MYSQL_DATABASE: 'database',
    },
    envFile: { MYSQL_HOST: 'host', MYSQL_PORT: 'port', MYSQL_USER: 'user', MYSQL_PASSWORD: 'password', MYSQL_DATABASE: 'database' },
    tls: { env: { DB_SSL_MODE: 'verify-full', DB_SSL_CA: '{ca}', DB_SSL_ROOT_CERT: '{ca}' } },
  },
  initKinds: ['.sql', '.sh'],
  docker: { imageRepo: 'iact/mariadb', port: 3306, dataPath: '/var/lib/mysql' },
  drivers: ['lightweight', 'namespace', 'docker'],
  tlsDrivers: ['lightweight', 'namespace', 'docker'],
  ephemeralSettings: { innodb_flush_log_at_trx_commit: 0, innodb_doublewrite: 0 },
};
