// Pure: the variables an ephemeral sandbox hands to the command it serves (docs/connection-variables.md).
export type EphemeralService = 'postgres' | 'mysql' | 'redis';

export const EPHEMERAL_SERVICES: readonly EphemeralService[] = ['postgres', 'mysql', 'redis'];

export interface SandboxConnection {
  /** The sandbox's name (run-<random>), for messages. */
  name: string;
  service: EphemeralService;
  host: string;
  port: number;
  /** Empty for redis. */
  database: string;
  /** Empty for redis. */
  user: string;
  password: string;
  /** postgresql://..., mysql://... or redis://... */
  url: string;
  /** DB_* (or REDIS_*) and DATABASE_URL / REDIS_URL, ready to merge into a child's environment. */
  env: Record<string, string>;
}

export function connectionFor(input: { name: string; service: EphemeralService; host: string; port: number; database: string; user: string; password: string }): SandboxConnection {
  const { name, service, host, port, password } = input;
  const secret = encodeURIComponent(password);
  if (service === 'redis') {
    // Redis 6+ ACL form: redis-cli sends AUTH with an empty user for `redis://:pass@`, which fails.
    const url = `redis://default:${secret}@${host}:${port}/0`;
    return {
      name,
      service,
      host,
      port,
      database: '',
      user: '',
      password,
      url,
      env: { REDIS_HOST: host, REDIS_PORT: String(port), REDIS_PASSWORD: password, REDIS_URL: url, IACT_SANDBOX: name },
    };
  }
  const { database, user } = input;
  const scheme = service === 'postgres' ? 'postgresql' : 'mysql';
  const url = `${scheme}://${encodeURIComponent(user)}:${secret}@${host}:${port}/${encodeURIComponent(database)}`;
  const env: Record<string, string> = {
    DB_HOST: host,
    DB_PORT: String(port),
    DB_NAME: database,
    DB_USER: user,
    DB_PASSWORD: password,
    DATABASE_URL: url,
    IACT_SANDBOX: name,
  };
  // The client libraries' own variables, so `psql` / `mariadb` with no arguments reach the sandbox too.
  if (service === 'postgres') Object.assign(env, { PGHOST: host, PGPORT: String(port), PGDATABASE: database, PGUSER: user, PGPASSWORD: password });
  else Object.assign(env, { MYSQL_HOST: host, MYSQL_TCP_PORT: String(port), MYSQL_PWD: password });
  return { name, service, host, port, database, user, password, url, env };
}
