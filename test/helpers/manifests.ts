// The development manifest the end-to-end tests apply: postgres, optionally mysql and redis, on the
// given ports, passwords from the project's .env (DB_VM_PASSWORD, MYSQL_VM_PASSWORD, REDIS_VM_PASSWORD).

export interface DevManifestOptions {
  /** A mysql sandbox `dev-mysql` on this port. */
  mysql?: number;
  /** A redis sandbox `dev-redis` on this port (left out when undefined). */
  redis?: number;
  protectRedis?: boolean;
  /** Bind connections.cache: to dev-redis when there is one, else the memory backend. */
  cache?: boolean;
  /** More sandbox entries, indented as under `sandboxes:`. */
  extra?: string;
}

export function devManifest(postgresPort: number, opts: DevManifestOptions = {}): string {
  const lines = [
    'apiVersion: iact/v1',
    'environment: development',
    'defaults: { driver: lightweight }',
    'sandboxes:',
    '  dev-postgres:',
    '    service: postgres',
    `    port: ${postgresPort}`,
    '    database: app',
    '    user: app',
    '    password: ${DB_VM_PASSWORD}',
  ];
  if (opts.mysql !== undefined) {
    lines.push(
      '  dev-mysql:',
      '    service: mysql',
      `    port: ${opts.mysql}`,
      '    database: app',
      '    user: app',
      '    password: ${MYSQL_VM_PASSWORD}',
    );
  }
  if (opts.redis !== undefined) {
    lines.push('  dev-redis:', '    service: redis', `    port: ${opts.redis}`, '    password: ${REDIS_VM_PASSWORD}');
    if (opts.protectRedis) lines.push('    protect: true');
  }
  const extra = opts.extra ?? '';
  lines.push(`${extra}connections:`, '  database: { sandbox: dev-postgres }');
  if (opts.cache) lines.push(`  cache: { backend: ${opts.redis === undefined ? 'memory' : 'redis, sandbox: dev-redis'} }`);
  return `${lines.join('\n')}\n`;
}

/** A development manifest with one lightweight redis sandbox `cache`, its password from REDIS_PW. */
export function redisManifest(port: number): string {
  return [
    'apiVersion: iact/v1',
    'environment: development',
    'defaults: { driver: lightweight }',
    'sandboxes:',
    '  cache:',
    '    service: redis',
    `    port: ${port}`,
    '    password: ${REDIS_PW}',
    '',
  ].join('\n');
}
