// Redis's entry in the service catalogue (docs/service-catalogue.md).
import type { ServiceEntry } from './types.js';

/** Settings a running server takes on reload (docs/service-catalogue.md). */
const RELOADABLE = [
  'maxmemory',
  'maxmemory-policy',
  'timeout',
  'tcp-keepalive',
  'loglevel',
  'notify-keyspace-events',
  'slowlog-log-slower-than',
  'slowlog-max-len',
  'hz',
  'appendonly',
  'save',
];

export const redis: ServiceEntry = {
  name: 'redis',
  label: 'Redis',
  process: true,
  defaultVersion: '7',
  binaries: [
    { names: ['redis-server'], package: 'redis-server' },
    { names: ['redis-cli'], package: 'redis-tools' },
  ],
  versionArgs: ['--version'],
  osUser: 'redis',
  adminUsers: [],
  config: { file: 'conf/redis.conf', format: 'redis' },
  reloadable: RELOADABLE,
  // Never: user/aclfile (ACL lines), include, rename-command, bind, dir, dbfilename, loadmodule, replicaof,
  // enable-*-command, tls-* (docs/manifest.md "Settings").
  // The reloadable ones, then those that need a restart.
  settings: [
    ...RELOADABLE,
    'maxmemory-samples',
    'dynamic-hz',
    'appendfsync',
    'databases',
    'maxclients',
    'masterauth',
    'masteruser',
    'lazyfree-lazy-eviction',
    'lazyfree-lazy-expire',
    'activerehashing',
    'activedefrag',
    'latency-monitor-threshold',
    'stop-writes-on-bgsave-error',
    'rdbcompression',
    'rdbchecksum',
    'busy-reply-threshold',
    'list-max-listpack-size',
    'hash-max-listpack-entries',
    'set-max-intset-entries',
    'zset-max-listpack-entries',
  ],
  reserved: [
    'port',
    'bind',
    'unixsocket',
    'unixsocketperm',
    'dir',
    'requirepass',
    'protected_mode',
    'pidfile',
    'logfile',
    'daemonize',
    'include',
  ],
  // logfile in conf/redis.conf (bash/lib/services.sh svc::write_config).
  logFile: 'logs/redis.log',
  client: {
    binary: { names: ['redis-cli'], package: 'redis-tools' },
    args: ['-h', '{host}', '-p', '{port}'],
    // redis-cli reads the password from REDISCLI_AUTH and then says nothing about it on stderr.
    env: { REDISCLI_AUTH: 'password' },
    tls: { args: ['--tls', '--cacert', '{ca}'], env: {} },
  },
  socket: 'run/redis.sock',
  pidfile: 'run/redis.pid',
  stopSignal: 'TERM',
  // SIGTERM would write an RDB (its save points) that destroy deletes next.
  discardSignal: 'KILL',
  readiness: 'socket-and-pidfile',
  backup: { method: 'rdb', ext: 'rdb' },
  hasDatabase: false,
  needsPassword: true,
  passwordInConfig: true,
  serves: 'cache',
  connection: {
    // Redis 6+ ACL form: redis-cli sends AUTH with an empty user for `redis://:pass@`, which fails.
    urlTemplate: 'redis://default:{password}@{host}:{port}/0',
    env: { REDIS_HOST: 'host', REDIS_PORT: 'port', REDIS_PASSWORD: 'password', REDIS_URL: 'url' },
    // rediss:// is TLS for redis-cli -u and the usual client libraries; the CA as for DB_SSL_CA.
    tls: { urlTemplate: 'rediss://default:{password}@{host}:{port}/0', env: { REDIS_SSL_MODE: 'verify-full', REDIS_SSL_CA: '{ca}' } },
  },
  initKinds: ['.redis', '.sh'],
  docker: { imageRepo: 'iact/redis', port: 6379, dataPath: '/data' },
  drivers: ['lightweight', 'namespace', 'docker'],
  // Where redis-server is built with TLS (Debian's is); the drivers refuse a build without it.
  tlsDrivers: ['lightweight', 'namespace', 'docker'],
};
