// The manifest the end-to-end tests apply (development, lightweight, unless told): postgres, optionally
// mysql and redis, on the given ports, passwords from the project's .env (DB_VM_PASSWORD,
// MYSQL_VM_PASSWORD, REDIS_VM_PASSWORD). Also: a short manifest resolved as the pure core sees it.
import { resolveManifest } from '../../src/manifest/resolve.js';

/** environments/dev.yaml of a project at /project: the header, then BODY; resolved, no variables. */
export function resolveDev(body: string) {
  return resolveManifest({
    text: `apiVersion: iact/v1\nenvironment: dev\n${body}`,
    file: 'environments/dev.yaml',
    environment: 'dev',
    root: '/project',
    variables: {},
  });
}

/** The .env line for each password devManifest() reads. */
export function devEnv(passwords: { postgres: string; mysql?: string; redis?: string }): string {
  const lines = [`DB_VM_PASSWORD=${passwords.postgres}`];
  if (passwords.mysql !== undefined) lines.push(`MYSQL_VM_PASSWORD=${passwords.mysql}`);
  if (passwords.redis !== undefined) lines.push(`REDIS_VM_PASSWORD=${passwords.redis}`);
  return `${lines.join('\n')}\n`;
}

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
  /** tls: true on every sandbox. */
  tls?: boolean;
  /** The environment (default development) and the default driver (default lightweight). */
  environment?: string;
  driver?: string;
}

export function devManifest(postgresPort: number, opts: DevManifestOptions = {}): string {
  const lines = [
    'apiVersion: iact/v1',
    `environment: ${opts.environment ?? 'development'}`,
    `defaults: { driver: ${opts.driver ?? 'lightweight'} }`,
    'sandboxes:',
    '  dev-postgres:',
    '    service: postgres',
    `    port: ${postgresPort}`,
    '    database: app',
    '    user: app',
    '    password: ${DB_VM_PASSWORD}',
  ];
  const tls = opts.tls ? ['    tls: true'] : [];
  lines.push(...tls);
  if (opts.mysql !== undefined) {
    lines.push(
      '  dev-mysql:',
      '    service: mysql',
      `    port: ${opts.mysql}`,
      '    database: app',
      '    user: app',
      '    password: ${MYSQL_VM_PASSWORD}',
      ...tls,
    );
  }
  if (opts.redis !== undefined) {
    lines.push('  dev-redis:', '    service: redis', `    port: ${opts.redis}`, '    password: ${REDIS_VM_PASSWORD}', ...tls);
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
