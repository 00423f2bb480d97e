// Pure: the variables an ephemeral sandbox hands to the command it serves (docs/connection-variables.md);
// which variables each service exports is the catalogue's (docs/service-catalogue.md).
import { CATALOG, SERVER_SERVICES, connectionEnv, connectionUrl, type ServiceKind } from '../catalog/index.js';

/** A service `iact run` can start: every service of the catalogue that runs a server. */
export type EphemeralService = Exclude<ServiceKind, 'none'>;

export const EPHEMERAL_SERVICES = SERVER_SERVICES as readonly EphemeralService[];

export interface SandboxConnection {
  /** The sandbox's name (run-<random>), for messages. */
  name: string;
  service: EphemeralService;
  host: string;
  port: number;
  /** Empty for a service without a database (redis). */
  database: string;
  /** Empty for a service without a database (redis). */
  user: string;
  password: string;
  /** postgresql://..., mysql://... or redis://... */
  url: string;
  /** DB_* (or REDIS_*), the client's own variables and DATABASE_URL / REDIS_URL, ready to merge into a child's environment. */
  env: Record<string, string>;
}

export function connectionFor(input: {
  name: string;
  service: EphemeralService;
  host: string;
  port: number;
  database: string;
  user: string;
  password: string;
  /** A `tls: true` sandbox's CA file: the URL and variables then ask for verified TLS. */
  tlsCa?: string;
}): SandboxConnection {
  const { name, service, host, port, password, tlsCa } = input;
  const entry = CATALOG[service];
  const database = entry.hasDatabase ? input.database : '';
  const user = entry.hasDatabase ? input.user : '';
  const values = { host, port: String(port), database, user, password, sandbox: name };
  return {
    name,
    service,
    host,
    port,
    database,
    user,
    password,
    url: connectionUrl(entry, values, tlsCa !== undefined),
    env: connectionEnv(entry, values, tlsCa),
  };
}
